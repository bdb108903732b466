//! Redis: `AUTH [user] password` in RESP, then `QUIT`.

use crate::net::{error, invalid, live, unknown, Conn, Step};
use crate::{Outcome, Target, TlsMode};

const QUIT: &[u8] = b"*1\r\n$4\r\nQUIT\r\n";

pub(crate) fn check(conn: &mut Conn, target: &Target) -> Outcome {
    let outcome = authenticate(conn, target).unwrap_or_else(|o| o);
    conn.close(QUIT);
    outcome
}

fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn authenticate(conn: &mut Conn, target: &Target) -> Step<Outcome> {
    if target.tls == TlsMode::Require {
        conn.start_tls(&target.host)?;
    }
    let user = target.user.as_deref();
    let Some(password) = target.password.as_deref() else {
        // Nothing to check but whether the server is open to anyone.
        conn.send(&command(&[b"PING"]))?;
        let reply = conn.read_line("reading the reply to PING")?;
        return Ok(match reply.first() {
            Some(b'+') => live("no password given and none needed: the server is open to anyone"),
            Some(b'-') if reply.starts_with(b"-NOAUTH") => {
                unknown("the server requires a password and none was given")
            }
            _ => unknown(format!(
                "unexpected reply to PING: {}",
                String::from_utf8_lossy(&reply)
            )),
        });
    };
    let auth = match user {
        Some(user) => command(&[b"AUTH", user.as_bytes(), password]),
        None => command(&[b"AUTH", password]),
    };
    conn.send(&auth)?;
    let reply = conn.read_line("reading the reply to AUTH")?;
    Ok(interpret(&reply, user))
}

fn interpret(reply: &[u8], user: Option<&str>) -> Outcome {
    let text = String::from_utf8_lossy(reply);
    let who = match user {
        Some(u) => format!("user {u:?}"),
        None => "the default user".to_string(),
    };
    match reply.first() {
        Some(b'+') => live(format!("authenticated as {who}")),
        Some(b'-') => {
            let lower = text.to_ascii_lowercase();
            if text.starts_with("-WRONGPASS") || lower.starts_with("-err invalid password") {
                invalid(format!("{who}: {}", &text[1..]))
            } else if lower.contains("without any password configured")
                || lower.contains("no password is set")
            {
                unknown(format!(
                    "the server has no password set, so anyone can connect; the password was not checked ({})",
                    &text[1..]
                ))
            } else if lower.contains("wrong number of arguments") {
                unknown(format!(
                    "the server predates ACL users (Redis < 6) and cannot check {who}: {}",
                    &text[1..]
                ))
            } else {
                unknown(format!("the server refused: {}", &text[1..]))
            }
        }
        _ => error(format!(
            "unexpected reply to AUTH (is this a Redis server?): {text}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        let table: [(&[u8], Option<&str>, &str); 7] = [
            (b"+OK", None, "live"),
            (b"-WRONGPASS invalid username-password pair or user is disabled.", Some("app"), "invalid"),
            (b"-ERR invalid password", None, "invalid"),
            (b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?", None, "unknown"),
            (b"-ERR Client sent AUTH, but no password is set", None, "unknown"),
            (b"-ERR wrong number of arguments for 'auth' command", Some("app"), "unknown"),
            (b"HTTP/1.1 400 Bad Request", None, "error"),
        ];
        for (reply, user, status) in table {
            let out = interpret(reply, user);
            assert_eq!(
                out.status(),
                status,
                "{}: {out}",
                String::from_utf8_lossy(reply)
            );
        }
    }

    #[test]
    fn resp_encoding() {
        assert_eq!(
            command(&[b"AUTH", b"p w"]),
            b"*2\r\n$4\r\nAUTH\r\n$3\r\np w\r\n"
        );
    }
}
