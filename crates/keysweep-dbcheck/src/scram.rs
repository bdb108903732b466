//! The client side of SCRAM (RFC 5802, RFC 7677) without channel binding, for PostgreSQL
//! (SCRAM-SHA-256) and MongoDB (SCRAM-SHA-256, SCRAM-SHA-1).
//!
//! The password is used as given (no SASLprep): for ASCII passwords that is the same; a
//! non-ASCII password that SASLprep would change may be reported invalid wrongly.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Servers announcing more iterations are not followed: the work is done before any deadline
/// can interrupt it (PostgreSQL uses 4096, MongoDB 15000 for SHA-256 and 10000 for SHA-1).
const MAX_ITERATIONS: u32 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => {
                let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha256 => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => {
                let mut out = [0u8; 20];
                pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out);
                out.to_vec()
            }
            ScramHash::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }
}

/// Why a SCRAM exchange stopped. `Rejected` carries the server's `e=` error; the others mean
/// the server did not follow the protocol (or is not who it claims).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ScramError {
    Rejected(String),
    Protocol(String),
}

impl std::fmt::Display for ScramError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScramError::Rejected(e) => write!(f, "the server rejected the SCRAM exchange: {e}"),
            ScramError::Protocol(e) => write!(f, "SCRAM: {e}"),
        }
    }
}

pub(crate) struct ScramClient {
    hash: ScramHash,
    password: Vec<u8>,
    nonce: String,
    client_first_bare: String,
    server_signature: Option<Vec<u8>>,
}

/// A fresh client nonce: 18 random bytes in base64.
pub(crate) fn new_nonce() -> String {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    B64.encode(bytes)
}

impl ScramClient {
    /// `user` may be empty (PostgreSQL takes the user from the startup message).
    pub(crate) fn new(hash: ScramHash, user: &str, password: &[u8], nonce: String) -> ScramClient {
        let user = user.replace('=', "=3D").replace(',', "=2C");
        let client_first_bare = format!("n={user},r={nonce}");
        ScramClient {
            hash,
            password: password.to_vec(),
            nonce,
            client_first_bare,
            server_signature: None,
        }
    }

    /// The client-first message (GS2 header `n,,`: no channel binding, no authzid).
    pub(crate) fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// The client-final message, from the server-first message.
    pub(crate) fn client_final(&mut self, server_first: &[u8]) -> Result<String, ScramError> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| ScramError::Protocol("server-first message is not UTF-8".into()))?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in server_first.split(',') {
            match attr.split_at_checked(2) {
                Some(("r=", v)) => nonce = Some(v),
                Some(("s=", v)) => salt = Some(v),
                Some(("i=", v)) => iterations = Some(v),
                Some(("e=", v)) => return Err(ScramError::Rejected(v.to_string())),
                Some(("m=", _)) => {
                    return Err(ScramError::Protocol(
                        "server requires an unknown extension".into(),
                    ))
                }
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(ScramError::Protocol(
                "server-first message lacks r=, s= or i=".into(),
            ));
        };
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(ScramError::Protocol(
                "server nonce does not extend the client nonce".into(),
            ));
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| ScramError::Protocol("salt is not base64".into()))?;
        let iterations: u32 = iterations.parse().ok().filter(|&i| i >= 1).ok_or_else(|| {
            ScramError::Protocol("iteration count is not a positive number".into())
        })?;
        if iterations > MAX_ITERATIONS {
            return Err(ScramError::Protocol(format!(
                "server asks for {iterations} iterations, more than the {MAX_ITERATIONS} allowed"
            )));
        }
        let h = self.hash;
        let salted = h.salted_password(&self.password, &salt, iterations);
        let client_key = h.hmac(&salted, b"Client Key");
        let stored_key = h.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = h.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = h.hmac(&salted, b"Server Key");
        self.server_signature = Some(h.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    /// Checks the server-final message: the server proves it knows the password too.
    pub(crate) fn verify_server_final(&self, server_final: &[u8]) -> Result<(), ScramError> {
        let text = std::str::from_utf8(server_final)
            .map_err(|_| ScramError::Protocol("server-final message is not UTF-8".into()))?;
        let Some(expected) = &self.server_signature else {
            return Err(ScramError::Protocol(
                "server-final before server-first".into(),
            ));
        };
        for attr in text.split(',') {
            if let Some(e) = attr.strip_prefix("e=") {
                return Err(ScramError::Rejected(e.to_string()));
            }
            if let Some(v) = attr.strip_prefix("v=") {
                let got = B64
                    .decode(v)
                    .map_err(|_| ScramError::Protocol("server signature is not base64".into()))?;
                return if &got == expected {
                    Ok(())
                } else {
                    Err(ScramError::Protocol(
                        "the server's signature is wrong: it does not know the password (impostor?)".into(),
                    ))
                };
            }
        }
        Err(ScramError::Protocol("server-final message lacks v=".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3.
    #[test]
    fn rfc7677_sha256_vector() {
        let mut c = ScramClient::new(
            ScramHash::Sha256,
            "user",
            b"pencil",
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        assert_eq!(c.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let fin = c
            .client_final(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        assert_eq!(
            fin,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(matches!(
            c.verify_server_final(b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(ScramError::Protocol(_))
        ));
        assert_eq!(
            c.verify_server_final(b"e=invalid-proof"),
            Err(ScramError::Rejected("invalid-proof".into()))
        );
    }

    /// RFC 5802 section 5.
    #[test]
    fn rfc5802_sha1_vector() {
        let mut c = ScramClient::new(
            ScramHash::Sha1,
            "user",
            b"pencil",
            "fyko+d2lbbFgONRv9qkxdawL".into(),
        );
        let fin = c
            .client_final(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
            .unwrap();
        assert_eq!(
            fin,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        c.verify_server_final(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")
            .unwrap();
    }

    #[test]
    fn hostile_server_first_messages() {
        let table: [(&[u8], &str); 6] = [
            (b"r=othernonce,s=QSXCR+Q6sek8bf92,i=4096", "nonce"),
            (b"r=abc,s=QSXCR+Q6sek8bf92,i=4096", "nonce"),
            (b"r=abcdef,s=***,i=4096", "base64"),
            (b"r=abcdef,s=QSXCR+Q6sek8bf92,i=0", "positive"),
            (b"r=abcdef,s=QSXCR+Q6sek8bf92,i=2000000000", "iterations"),
            (b"r=abcdef,i=4096", "lacks"),
        ];
        for (msg, words) in table {
            let mut c = ScramClient::new(ScramHash::Sha256, "", b"pw", "abc".into());
            let err = c.client_final(msg).unwrap_err().to_string();
            assert!(
                err.contains(words),
                "{}: {err}",
                String::from_utf8_lossy(msg)
            );
        }
        let c = ScramClient::new(ScramHash::Sha256, "", b"pw", "abc".into());
        assert!(
            c.verify_server_final(b"v=AAAA").is_err(),
            "no server-first yet"
        );
    }

    #[test]
    fn user_names_are_escaped_and_nonces_differ() {
        let c = ScramClient::new(ScramHash::Sha256, "a=b,c", b"", "n".into());
        assert_eq!(c.client_first(), "n,,n=a=3Db=2Cc,r=n");
        assert_ne!(new_nonce(), new_nonce());
        assert_eq!(new_nonce().len(), 24);
    }
}
