//! PostgreSQL, frontend/backend protocol v3: StartupMessage, authentication, Terminate.

use crate::net::{error, invalid, live, unknown, Conn, Step};
use crate::scram::{new_nonce, ScramClient, ScramError, ScramHash};
use crate::{Outcome, Target, TlsMode};
use md5::{Digest, Md5};

const TERMINATE: &[u8] = &[b'X', 0, 0, 0, 4];

pub(crate) fn check(conn: &mut Conn, target: &Target) -> Outcome {
    let outcome = authenticate(conn, target).unwrap_or_else(|o| o);
    conn.close(TERMINATE);
    outcome
}

/// A backend message: its type byte and body.
struct Message {
    tag: u8,
    body: Vec<u8>,
}

fn read_message(conn: &mut Conn, what: &str) -> Step<Message> {
    let head = conn.read_exact(5, what)?;
    let tag = head[0];
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len < 4 {
        return Err(error(format!("{what}: message length {len} is too short")));
    }
    let body = conn.read_exact(len - 4, what)?;
    Ok(Message { tag, body })
}

fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(tag);
    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn startup(user: &str, database: Option<&str>) -> Vec<u8> {
    let mut body = 196608u32.to_be_bytes().to_vec(); // protocol 3.0
    for (k, v) in [
        ("user", Some(user)),
        ("database", database),
        ("application_name", Some("keysweep")),
    ] {
        if let Some(v) = v {
            body.extend_from_slice(k.as_bytes());
            body.push(0);
            body.extend_from_slice(v.as_bytes());
            body.push(0);
        }
    }
    body.push(0);
    let mut out = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// An ErrorResponse's SQLSTATE and message.
fn error_fields(body: &[u8]) -> (String, String) {
    let (mut code, mut message) = (String::new(), String::new());
    for field in body.split(|&b| b == 0) {
        match field.split_first() {
            Some((b'C', v)) => code = String::from_utf8_lossy(v).into_owned(),
            Some((b'M', v)) => message = String::from_utf8_lossy(v).into_owned(),
            _ => {}
        }
    }
    (code, message)
}

/// What an ErrorResponse before authentication succeeded means.
fn rejected(body: &[u8]) -> Outcome {
    let (code, message) = error_fields(body);
    let text = format!("{code} {message}");
    match code.as_str() {
        // Also 28000 "no pg_hba.conf entry ... no encryption" / "SSL off": the server refuses
        // this client (or plaintext) before looking at any password.
        "28000" if message.contains("pg_hba.conf") => unknown(format!(
            "the server refuses this connection before checking the password (its pg_hba.conf does not admit this host, user or encryption): {text}"
        )),
        "28P01" | "28000" => invalid(text),
        _ => unknown(format!("the server refused the connection before authentication: {text}")),
    }
}

fn password_message(password: &[u8]) -> Vec<u8> {
    let mut body = password.to_vec();
    body.push(0);
    frame(b'p', &body)
}

/// `md5` + hex(md5(hex(md5(password + user)) + salt)).
fn md5_password(user: &str, password: &[u8], salt: &[u8]) -> Vec<u8> {
    let inner = hex(&Md5::new()
        .chain_update(password)
        .chain_update(user.as_bytes())
        .finalize());
    let outer = hex(&Md5::new()
        .chain_update(inner.as_bytes())
        .chain_update(salt)
        .finalize());
    format!("md5{outer}").into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn authenticate(conn: &mut Conn, target: &Target) -> Step<Outcome> {
    let Some(user) = target.user.as_deref() else {
        return Ok(unknown("no user name given; credentials not checked"));
    };
    let password = target.password.as_deref();
    if target.tls != TlsMode::Disable {
        // SSLRequest: the server answers one byte, `S` (go on in TLS) or `N`.
        conn.send(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])?;
        match conn.read_exact(1, "reading the answer to SSLRequest")?[0] {
            b'S' => conn.start_tls(&target.host)?,
            b'N' if target.tls == TlsMode::Require => {
                return Ok(unknown(
                    "TLS is required and the server does not offer it; credentials not checked",
                ))
            }
            b'N' => {}
            other => {
                return Err(error(format!(
                    "unexpected answer {:?} to SSLRequest (is this a PostgreSQL server?)",
                    other as char
                )))
            }
        }
    }
    conn.send(&startup(user, target.database.as_deref()))?;
    let mut scram: Option<ScramClient> = None;
    let mut asked = false;
    loop {
        let msg = read_message(conn, "reading the authentication request")?;
        match msg.tag {
            b'E' => return Ok(rejected(&msg.body)),
            b'N' | b'v' => continue, // notice, NegotiateProtocolVersion
            b'R' => {}
            other => {
                return Err(error(format!(
                    "unexpected message {:?} during authentication (is this a PostgreSQL server?)",
                    other as char
                )))
            }
        }
        let Some((code, data)) = msg.body.split_first_chunk::<4>() else {
            return Err(error("authentication request too short"));
        };
        let need_password =
            || password.ok_or_else(|| unknown("the server asks for a password and none was given"));
        match u32::from_be_bytes(*code) {
            0 => {
                if scram.is_some() {
                    return Err(error("SCRAM: authentication ended before the server proved its identity"));
                }
                return match (asked, password) {
                    (true, _) => after_authentication(conn, user, "authenticated"),
                    (false, None) => after_authentication(conn, user, "no password needed (trust)"),
                    // As Redis without a password: the access is open, the password unchecked.
                    (false, Some(_)) => Ok(unknown(format!(
                        "the server asks no password of {user:?} (trust authentication): anyone can connect as that user; the password was not checked"
                    ))),
                };
            }
            3 => {
                asked = true;
                conn.send(&password_message(need_password()?))?;
            }
            5 => {
                asked = true;
                let salt = data.get(..4).ok_or_else(|| error("MD5 request without a salt"))?;
                conn.send(&password_message(&md5_password(user, need_password()?, salt)))?;
            }
            10 => {
                let mechanisms: Vec<&[u8]> = data.split(|&b| b == 0).filter(|m| !m.is_empty()).collect();
                if !mechanisms.contains(&&b"SCRAM-SHA-256"[..]) {
                    return Ok(unknown(format!(
                        "the server offers only SASL mechanisms {:?}, not SCRAM-SHA-256",
                        mechanisms.iter().map(|m| String::from_utf8_lossy(m)).collect::<Vec<_>>()
                    )));
                }
                // PostgreSQL ignores the SCRAM user name and uses the startup message's.
                let client = ScramClient::new(ScramHash::Sha256, "", need_password()?, new_nonce());
                let first = client.client_first();
                let mut body = b"SCRAM-SHA-256\0".to_vec();
                body.extend_from_slice(&(first.len() as u32).to_be_bytes());
                body.extend_from_slice(first.as_bytes());
                conn.send(&frame(b'p', &body))?;
                scram = Some(client);
            }
            11 => {
                let client = scram.as_mut().ok_or_else(|| error("SASLContinue without SASL"))?;
                let fin = client.client_final(data).map_err(scram_failure)?;
                conn.send(&frame(b'p', fin.as_bytes()))?;
            }
            12 => {
                let client = scram.take().ok_or_else(|| error("SASLFinal without SASL"))?;
                client.verify_server_final(data).map_err(scram_failure)?;
                let ok = read_message(conn, "reading the end of authentication")?;
                return match (ok.tag, ok.body.as_slice()) {
                    (b'R', [0, 0, 0, 0]) => after_authentication(conn, user, "authenticated with SCRAM-SHA-256"),
                    (b'E', body) => Ok(rejected(body)),
                    _ => Err(error("unexpected message after SASLFinal")),
                };
            }
            2 | 7 | 8 | 9 => {
                return Ok(unknown(
                    "the server asks for Kerberos, GSSAPI or SSPI authentication, which is not implemented",
                ))
            }
            other => return Ok(unknown(format!("unknown authentication request {other}"))),
        }
    }
}

fn scram_failure(e: ScramError) -> Outcome {
    match e {
        ScramError::Rejected(_) => invalid(e.to_string()),
        ScramError::Protocol(_) => error(e.to_string()),
    }
}

/// After AuthenticationOk the password is known to be right; the server may still refuse the
/// session (no such database, too many clients): live either way, with that as detail.
fn after_authentication(conn: &mut Conn, user: &str, how: &str) -> Step<Outcome> {
    let mut version = String::new();
    loop {
        let msg = read_message(conn, "reading the session start")?;
        match msg.tag {
            b'S' => {
                let mut parts = msg.body.split(|&b| b == 0);
                if parts.next() == Some(b"server_version") {
                    version =
                        String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
                }
            }
            b'Z' => {
                let server = if version.is_empty() {
                    String::new()
                } else {
                    format!(", PostgreSQL {version}")
                };
                return Ok(live(format!("{how} as {user:?}{server}")));
            }
            b'E' => {
                let (code, message) = error_fields(&msg.body);
                return Ok(live(format!(
                    "{how} as {user:?}; then the server refused the session: {code} {message}"
                )));
            }
            _ => {} // BackendKeyData, notices
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_postgres() {
        // md5("postgres" || "postgres") is the well-known stored hash
        // md53175bce1d3201d16594cebf9d7eb3f9d; the answer to salt 01020304 was computed with
        // Python's hashlib.
        assert_eq!(
            hex(&Md5::digest(b"postgrespostgres")),
            "3175bce1d3201d16594cebf9d7eb3f9d"
        );
        let got = md5_password("postgres", b"postgres", &[1, 2, 3, 4]);
        assert_eq!(got, b"md568be9ed08db75f318087ab337aaea044");
    }

    #[test]
    fn error_responses() {
        let body = b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \"u\"\0\0";
        assert_eq!(rejected(body).status(), "invalid");
        let body = b"SFATAL\0C28000\0Mno pg_hba.conf entry for host \"1.2.3.4\", user \"u\", database \"d\", no encryption\0\0";
        let out = rejected(body);
        assert_eq!(out.status(), "unknown");
        assert!(
            out.message().contains("pg_hba.conf does not admit"),
            "{out}"
        );
        assert_eq!(
            rejected(b"SFATAL\0C28000\0Mrole \"x\" does not exist\0\0").status(),
            "invalid"
        );
        assert_eq!(
            rejected(b"SFATAL\0C53300\0Msorry, too many clients already\0\0").status(),
            "unknown"
        );
    }

    #[test]
    fn startup_message_layout() {
        let msg = startup("app", Some("orders"));
        assert_eq!(
            u32::from_be_bytes(msg[..4].try_into().unwrap()) as usize,
            msg.len()
        );
        assert_eq!(&msg[4..8], &[0, 3, 0, 0]);
        assert!(msg.ends_with(b"keysweep\0\0"));
        assert!(msg.windows(16).any(|w| w == b"database\0orders\0"));
    }

    /// A server that reads the SSLRequest and answers `answer` in one write.
    fn answering(answer: &'static [u8]) -> u16 {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = [0u8; 8];
            s.read_exact(&mut req).unwrap();
            assert_eq!(req, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
            s.write_all(answer).unwrap();
            let _ = s.read(&mut [0u8; 64]);
        });
        port
    }

    #[test]
    fn ssl_request_answers() {
        use crate::{check, DbKind, Options, TlsMode};
        let target = |port, tls| Target {
            kind: DbKind::Postgres,
            host: "127.0.0.1".into(),
            port,
            user: Some("app".into()),
            password: Some(b"pw-1234".to_vec()),
            database: None,
            tls,
        };
        let opts = Options {
            timeout: std::time::Duration::from_secs(5),
            allow_internal: true,
        };
        // Bytes after `S` and before the TLS handshake would pass as encrypted: refused.
        let out = check(
            &target(answering(b"SR\0\0\0\x08\0\0\0\0"), TlsMode::Prefer),
            &opts,
        );
        assert_eq!(out.status(), "error", "{out}");
        assert!(out.message().contains("unrequested data"), "{out}");
        let out = check(&target(answering(b"N"), TlsMode::Require), &opts);
        assert_eq!(out.status(), "unknown", "{out}");
        assert!(out.message().contains("does not offer"), "{out}");
    }
}
