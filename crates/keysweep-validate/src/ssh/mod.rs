//! SSH private keys: is a found key accepted by the hosts its file names?
//!
//! A rule with `[rule.validate] kind = "ssh"` (the built-in OpenSSH, PKCS#1 RSA, SEC1 EC and
//! PKCS#8 private-key rules) is checked by logging in: for each [`SshTarget`] the caller
//! gives ([`Validator::validate_at`](crate::Validator::validate_at), usually
//! [`targets_in`] of the file the key was found in), connect, exchange keys, authenticate
//! with the key (`publickey`) as the named user, and disconnect. No channel is opened and no
//! command runs. The first host that accepts the key makes it `live`, with the identity
//! `account = user@host:port` and the key's public `fingerprint` (`SHA256:...`).
//!
//! - **The host key is not verified.** The check only learns whether the host accepts the
//!   key; a host that impersonates the named one learns the public key and a signature
//!   bound to that one session, nothing that lets it log in elsewhere.
//! - The SSRF guard and the deadline are the engine's ([`NetPolicy`](crate::NetPolicy)):
//!   each host is resolved first and loopback, private, link-local and metadata addresses
//!   are refused unless internal addresses are allowed; the targets share the deadline.
//! - Verdicts: `live` when a host accepts the key (also when it then asks for a second
//!   factor); `invalid` when every named host refused it (the reason says how many);
//!   `error` when a host could not be reached and none accepted it; `unknown` when no host
//!   is named, or the key is encrypted ("encrypted; passphrase not known"), or of a type
//!   the check does not read (DSA, PuTTY).
//! - User names come from the file only, never guessed; at most [`MAX_TARGETS`] hosts are
//!   tried per key. No reason or identity holds any byte of the private key.
//!
//! Keys read: OpenSSH (Ed25519, RSA, ECDSA P-256/384/521), PKCS#1 RSA, PKCS#8 and SEC1 EC
//! PEM blocks, multi-line or JSON-escaped on one line.

mod client;
mod targets;

pub use targets::{targets_in, SshTarget, MAX_TARGETS};

use crate::protocol::NetPolicy;
use crate::Validation;

/// The check of one key: read it, then try it on the targets.
pub(crate) fn validate(secret: &[u8], targets: &[SshTarget], net: &NetPolicy) -> Validation {
    let key = match client::read_key(secret) {
        Ok(k) => k,
        Err(why) => return Validation::unknown(why),
    };
    if targets.is_empty() {
        return Validation::unknown("no host named in the file");
    }
    client::try_key(&key, targets, net)
}
