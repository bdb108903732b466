//! Trying a private key on SSH hosts: connect, key exchange, `publickey` authentication,
//! disconnect. No channel is opened and nothing runs. The host key is accepted unchecked: the
//! check learns only whether the host accepts the key, and sends nothing but a signature
//! made with it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::client::{self, AuthResult, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg};
use russh::Disconnect;

use super::SshTarget;
use crate::protocol::NetPolicy;
use crate::{Status, Validation};

/// The longest piece of an SSH library error put in a reason.
const MAX_ERROR_CHARS: usize = 100;

/// The PEM block as OpenSSH writes it: real newlines (a key in a JSON string has `\n`
/// escapes), no indentation, no blank lines.
fn normalized(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let text = text.replace("\\r\\n", "\n").replace("\\n", "\n");
    let mut out = String::with_capacity(text.len());
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Reads the key: OpenSSH (`BEGIN OPENSSH PRIVATE KEY`: Ed25519, RSA, ECDSA), PKCS#1 RSA,
/// PKCS#8 and SEC1 EC PEM blocks. An encrypted key is never tried (no passphrase is guessed).
/// `Err` is why the key cannot be tried (the reason of an `unknown`).
pub(crate) fn read_key(text: &[u8]) -> Result<Arc<PrivateKey>, String> {
    let pem = normalized(text);
    if pem.contains("Proc-Type: 4,ENCRYPTED")
        || pem.contains("Proc-Type:4,ENCRYPTED")
        || pem.contains("BEGIN ENCRYPTED PRIVATE KEY")
        || pem.contains("BEGIN SSH2 ENCRYPTED PRIVATE KEY")
    {
        return Err(ENCRYPTED.to_string());
    }
    match russh::keys::decode_secret_key(&pem, None) {
        Ok(k) if k.is_encrypted() => Err(ENCRYPTED.to_string()),
        Ok(k) => Ok(Arc::new(k)),
        Err(russh::keys::Error::KeyIsEncrypted) => Err(ENCRYPTED.to_string()),
        Err(russh::keys::Error::UnsupportedKeyType {
            key_type_string, ..
        }) => Err(format!(
            "not a key type the SSH check supports ({})",
            short(&key_type_string)
        )),
        // The error names the format problem; never the key.
        Err(e) => Err(format!(
            "not a private key the SSH check can read: {}",
            short(&e.to_string())
        )),
    }
}

const ENCRYPTED: &str = "encrypted; passphrase not known";

/// `SHA256:...` of the key's public half (public: it is in `authorized_keys` files).
pub(crate) fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

fn short(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_CHARS)
        .collect();
    if s.chars().count() > MAX_ERROR_CHARS {
        out.push('…');
    }
    out
}

/// What one host said.
enum Attempt {
    Accepted { partial: bool },
    Refused,
    Failed(String),
}

/// Tries `key` on each target in turn until one accepts it. The deadline is shared: each
/// target gets an equal share of what is left.
pub(crate) fn try_key(key: &Arc<PrivateKey>, targets: &[SshTarget], net: &NetPolicy) -> Validation {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(r) => r,
        Err(e) => return Validation::error(format!("cannot start the SSH client: {}", e.kind())),
    };
    let fp = fingerprint(key);
    let mut refused = 0usize;
    let mut failures: Vec<String> = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let left = net.deadline().saturating_duration_since(Instant::now());
        if left.is_zero() {
            failures.push(format!("{target}: not tried (the deadline passed)"));
            continue;
        }
        let share = left / (targets.len() - i) as u32;
        let addrs = match net.resolve(&target.host, target.port) {
            Ok(a) if a.is_empty() => {
                failures.push(format!("{target}: the host has no address"));
                continue;
            }
            Ok(a) => a,
            Err(v) => {
                failures.push(format!("{target}: {}", v.reason));
                continue;
            }
        };
        let attempt = runtime.block_on(async {
            match tokio::time::timeout(share, attempt(key, &target.user, &addrs)).await {
                Ok(a) => a,
                Err(_) => Attempt::Failed(format!("timed out after {}", secs(share))),
            }
        });
        match attempt {
            Attempt::Accepted { partial } => {
                return Validation {
                    status: Status::Live,
                    reason: if partial {
                        format!("{target} accepted the key (and asks for a second factor)")
                    } else {
                        format!("{target} accepted the key")
                    },
                    identity: vec![
                        ("account".to_string(), target.to_string()),
                        ("fingerprint".to_string(), fp),
                    ],
                };
            }
            Attempt::Refused => refused += 1,
            Attempt::Failed(why) => failures.push(format!("{target}: {why}")),
        }
    }
    let tried = targets.len();
    if failures.is_empty() {
        return Validation {
            status: Status::Invalid,
            reason: format!(
                "refused by {}",
                if tried == 1 {
                    "the one host named in the file".to_string()
                } else {
                    format!("all {tried} hosts named in the file")
                }
            ),
            identity: Vec::new(),
        };
    }
    let mut reason = if refused > 0 {
        format!(
            "refused by {refused} of {tried} hosts named in the file; not reached: {}",
            failures.join("; ")
        )
    } else if tried == 1 {
        format!("the host was not reached: {}", failures.join("; "))
    } else {
        format!(
            "none of the {tried} hosts was reached: {}",
            failures.join("; ")
        )
    };
    if reason.chars().count() > 400 {
        reason = reason.chars().take(400).collect::<String>() + "…";
    }
    Validation::error(reason)
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The client side of the handshake: accepts any host key (nothing is sent that the host
/// could misuse: the key's signature covers this session only).
struct AnyHostKey;

impl client::Handler for AnyHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// Connects to the first address that answers, then authenticates and disconnects.
async fn attempt(key: &Arc<PrivateKey>, user: &str, addrs: &[SocketAddr]) -> Attempt {
    let mut last = String::from("no address");
    for addr in addrs {
        let stream = match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => s,
            Err(e) => {
                last = format!("cannot connect: {}", io_reason(&e));
                continue;
            }
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: None,
            ..Default::default()
        });
        let mut handle = match client::connect_stream(config, stream, AnyHostKey).await {
            Ok(h) => h,
            Err(e) => {
                return Attempt::Failed(format!("SSH handshake failed: {}", short(&e.to_string())))
            }
        };
        let outcome = authenticate(&mut handle, key, user).await;
        // Best effort: the host closes the connection anyway when it goes.
        let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
        return outcome;
    }
    Attempt::Failed(last)
}

async fn authenticate(
    handle: &mut Handle<AnyHostKey>,
    key: &Arc<PrivateKey>,
    user: &str,
) -> Attempt {
    let hash = if key.algorithm().is_rsa() {
        // What the host's `server-sig-algs` allows; rsa-sha2-256 when it does not say.
        match handle.best_supported_rsa_hash().await {
            Ok(Some(h)) => h,
            Ok(None) => Some(HashAlg::Sha256),
            Err(e) => {
                return Attempt::Failed(format!("SSH handshake failed: {}", short(&e.to_string())))
            }
        }
    } else {
        None
    };
    match handle
        .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::clone(key), hash))
        .await
    {
        Ok(AuthResult::Success) => Attempt::Accepted { partial: false },
        Ok(AuthResult::Failure {
            partial_success: true,
            ..
        }) => Attempt::Accepted { partial: true },
        Ok(AuthResult::Failure { .. }) => Attempt::Refused,
        Err(e) => Attempt::Failed(format!("authentication failed: {}", short(&e.to_string()))),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        std::io::ErrorKind::TimedOut => "timed out".to_string(),
        k => short(&k.to_string()),
    }
}
