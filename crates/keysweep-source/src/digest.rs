//! Content digests as OCI descriptors write them (`ALGORITHM:HEX`), for the algorithms the
//! image specification registers: `sha256` and `sha512`.

use std::fmt;

use sha2::{Digest as _, Sha256, Sha512};

/// A digest algorithm this crate can verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// SHA-256 (64 hex digits), what almost every image uses.
    Sha256,
    /// SHA-512 (128 hex digits).
    Sha512,
}

impl Algorithm {
    /// The algorithm `name` (`"sha256"`, `"sha512"`), if it is one this crate verifies.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// Its name in a digest.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// The digest of `bytes` with this algorithm.
    pub fn digest(self, bytes: &[u8]) -> ContentDigest {
        let mut h = Hasher::new(self);
        h.update(bytes);
        h.finish()
    }
}

/// A well-formed digest of a known algorithm: `sha256:` and 64 lowercase hex digits, or
/// `sha512:` and 128.
///
/// ```
/// use keysweep_source::{Algorithm, ContentDigest};
///
/// let d = ContentDigest::parse("sha512:".to_string() + &"ab".repeat(64)).unwrap();
/// assert_eq!(d.algorithm(), Algorithm::Sha512);
/// assert!(ContentDigest::parse("sha512:abcd").is_none()); // too short
/// assert!(ContentDigest::parse("md5:d41d8cd98f00b204e9800998ecf8427e").is_none());
///
/// let of_hello = Algorithm::Sha256.digest(b"hello");
/// assert!(of_hello.matches(b"hello"));
/// assert!(!of_hello.matches(b"hello!"));
/// assert!(of_hello.to_string().starts_with("sha256:2cf24dba"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContentDigest {
    algorithm: Algorithm,
    hex: String,
}

impl ContentDigest {
    /// Parses `ALGORITHM:HEX`; `None` for an unknown algorithm or a hex part of the wrong
    /// length or alphabet.
    pub fn parse(digest: impl AsRef<str>) -> Option<ContentDigest> {
        let (algorithm, hex) = digest.as_ref().split_once(':')?;
        ContentDigest::from_parts(algorithm, hex)
    }

    /// The digest a blob path names (`blobs/ALGORITHM/HEX`, as in an OCI image layout).
    pub fn of_blob_path(path: &str) -> Option<ContentDigest> {
        let (algorithm, hex) = path.strip_prefix("blobs/")?.split_once('/')?;
        ContentDigest::from_parts(algorithm, hex)
    }

    fn from_parts(algorithm: &str, hex: &str) -> Option<ContentDigest> {
        let algorithm = Algorithm::from_name(algorithm)?;
        let ok = hex.len() == algorithm.hex_len()
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| ContentDigest {
            algorithm,
            hex: hex.to_string(),
        })
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Its hex digits.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Whether `bytes` have this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.algorithm.digest(bytes) == *self
    }
}

impl fmt::Display for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

/// A digest computed as bytes stream through.
#[derive(Clone)]
pub struct Hasher(State);

#[derive(Clone)]
enum State {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    /// Starts a digest with `algorithm`.
    pub fn new(algorithm: Algorithm) -> Hasher {
        Hasher(match algorithm {
            Algorithm::Sha256 => State::Sha256(Sha256::new()),
            Algorithm::Sha512 => State::Sha512(Sha512::new()),
        })
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            State::Sha256(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of everything added.
    pub fn finish(self) -> ContentDigest {
        let (algorithm, bytes) = match self.0 {
            State::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec()),
            State::Sha512(h) => (Algorithm::Sha512, h.finalize().to_vec()),
        };
        ContentDigest {
            algorithm,
            hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors_and_shapes() {
        // FIPS 180-2 test vectors for "abc".
        assert_eq!(
            Algorithm::Sha256.digest(b"abc").to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            Algorithm::Sha512.digest(b"abc").to_string(),
            "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        let mut h = Hasher::new(Algorithm::Sha512);
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish(), Algorithm::Sha512.digest(b"abc"));

        let sha512 = format!("sha512:{}", "0".repeat(128));
        assert!(ContentDigest::parse(&sha512).is_some());
        assert!(ContentDigest::parse(format!("sha256:{}", "0".repeat(128))).is_none());
        assert!(ContentDigest::parse(format!("sha256:{}", "A".repeat(64))).is_none());
        assert!(ContentDigest::parse("sha256").is_none());
        assert_eq!(
            ContentDigest::of_blob_path(&format!("blobs/sha512/{}", "0".repeat(128))),
            ContentDigest::parse(&sha512)
        );
        assert!(ContentDigest::of_blob_path(&format!("blobs/blake3/{}", "0".repeat(64))).is_none());
    }
}
