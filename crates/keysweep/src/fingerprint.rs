//! Fingerprints: stable, non-reversible identities of secret values.

use std::fmt;

use sha2::{Digest, Sha256};

/// A 128-bit identity of a secret's value: the truncated SHA-256 of the value under a fixed
/// domain tag, or HMAC-SHA-256 under a user key.
///
/// The same secret gets the same fingerprint in every file, run and machine, so findings can be
/// deduplicated and baselined without storing the secret. Without a key, a short or guessable
/// secret can be confirmed by hashing candidates; supply a key
/// ([`ScannerBuilder::fingerprint_key`](crate::ScannerBuilder::fingerprint_key)) when fingerprints
/// leave the team.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    /// Fingerprint of `secret`, keyed if `key` is given.
    ///
    /// ```
    /// use keysweep::Fingerprint;
    /// let a = Fingerprint::of(b"s3cr3t-value", None);
    /// assert_eq!(a, Fingerprint::of(b"s3cr3t-value", None));
    /// assert_ne!(a, Fingerprint::of(b"s3cr3t-value", Some(b"team-key")));
    /// assert_eq!(a.to_string().len(), 32);
    /// ```
    pub fn of(secret: &[u8], key: Option<&[u8]>) -> Fingerprint {
        let digest = match key {
            None => {
                let mut h = Sha256::new();
                h.update(b"keysweep-fingerprint-v1\0");
                h.update(secret);
                h.finalize()
            }
            Some(key) => hmac_sha256(key, secret),
        };
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Fingerprint(out)
    }
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> sha2::digest::Output<Sha256> {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; BLOCK];
    let mut opad = [0x5cu8; BLOCK];
    for i in 0..BLOCK {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A string that is not a fingerprint (32 hexadecimal digits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFingerprintError;

impl fmt::Display for ParseFingerprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fingerprint is 32 hexadecimal digits")
    }
}

impl std::error::Error for ParseFingerprintError {}

impl std::str::FromStr for Fingerprint {
    type Err = ParseFingerprintError;

    /// Parses the [`Display`](fmt::Display) form (either case).
    ///
    /// ```
    /// use keysweep::Fingerprint;
    /// let fp = Fingerprint::of(b"s3cr3t-value", None);
    /// assert_eq!(fp.to_string().parse::<Fingerprint>(), Ok(fp));
    /// assert!("xyz".parse::<Fingerprint>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Fingerprint, ParseFingerprintError> {
        let s = s.as_bytes();
        if s.len() != 32 {
            return Err(ParseFingerprintError);
        }
        let digit = |b: u8| (b as char).to_digit(16).ok_or(ParseFingerprintError);
        let mut out = [0u8; 16];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            out[i] = (digit(pair[0])? << 4 | digit(pair[1])?) as u8;
        }
        Ok(Fingerprint(out))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn fingerprint_is_stable_across_releases() {
        // Baselines depend on this value never changing.
        let fp = Fingerprint::of(b"hunter2-but-longer", None).to_string();
        // sha256(b"keysweep-fingerprint-v1\0hunter2-but-longer")[..16], computed independently.
        let expected = "f5baf04367eabf631c2bf17a47245cc3";
        assert_eq!(fp, expected);
    }
}
