//! MongoDB: OP_MSG `saslStart` / `saslContinue` with SCRAM-SHA-256, or SCRAM-SHA-1 when the
//! server or the account has no SHA-256 credentials.

use crate::bson::{Doc, Value};
use crate::net::{error, invalid, live, unknown, Conn, Step};
use crate::scram::{new_nonce, ScramClient, ScramError, ScramHash};
use crate::{Outcome, Target, TlsMode};
use md5::{Digest, Md5};

const OP_MSG: i32 = 2013;
/// MongoDB's AuthenticationFailed error code.
const AUTHENTICATION_FAILED: f64 = 18.0;
const MECHANISM_UNAVAILABLE: f64 = 334.0;

pub(crate) fn check(conn: &mut Conn, target: &Target) -> Outcome {
    let outcome = authenticate(conn, target).unwrap_or_else(|o| o);
    conn.close(b"");
    outcome
}

fn encode_msg(request_id: i32, doc: &Doc) -> Vec<u8> {
    let body = doc.encode();
    let len = 16 + 4 + 1 + body.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(len as i32).to_le_bytes());
    out.extend_from_slice(&request_id.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // responseTo
    out.extend_from_slice(&OP_MSG.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // flagBits
    out.push(0); // section kind 0: the body document
    out.extend_from_slice(&body);
    out
}

/// The body document of an OP_MSG reply.
fn decode_msg(msg: &[u8]) -> Result<Doc, String> {
    let flags = msg.get(..4).ok_or("OP_MSG: no flags")?;
    let flags = u32::from_le_bytes([flags[0], flags[1], flags[2], flags[3]]);
    let mut rest = &msg[4..];
    if flags & 1 != 0 {
        rest = rest.get(..rest.len().saturating_sub(4)).unwrap_or_default(); // CRC-32C
    }
    while let Some((&kind, after)) = rest.split_first() {
        let len = after.get(..4).ok_or("OP_MSG: truncated section")?;
        let len = i32::from_le_bytes([len[0], len[1], len[2], len[3]]);
        let len = usize::try_from(len).map_err(|_| "OP_MSG: negative section length")?;
        let section = after
            .get(..len)
            .ok_or("OP_MSG: section overruns the message")?;
        if kind == 0 {
            return Doc::decode(section);
        }
        rest = &after[len..];
    }
    Err("OP_MSG: no body section".into())
}

struct Session<'a> {
    conn: &'a mut Conn,
    db: &'a str,
    next_id: i32,
}

impl Session<'_> {
    fn command(&mut self, doc: Doc, what: &str) -> Step<Doc> {
        let doc = doc.with("$db", Value::String(self.db.to_string()));
        self.next_id += 1;
        self.conn.send(&encode_msg(self.next_id, &doc))?;
        let head = self.conn.read_exact(16, what)?;
        let word = |i: usize| i32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let (len, op) = (word(0), word(12));
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l >= 16)
            .ok_or_else(|| error(format!("{what}: bad message length {len}")))?;
        let body = self.conn.read_exact(len - 16, what)?;
        if op != OP_MSG {
            return Err(error(format!(
                "{what}: reply opcode {op}, not OP_MSG (MongoDB before 3.6, or not MongoDB)"
            )));
        }
        decode_msg(&body).map_err(|e| error(format!("{what}: {e}")))
    }
}

enum Failure {
    /// The server does not offer this mechanism for this account: try the next.
    Mechanism(String),
    Final(Outcome),
}

impl From<Outcome> for Failure {
    fn from(o: Outcome) -> Failure {
        Failure::Final(o)
    }
}

fn authenticate(conn: &mut Conn, target: &Target) -> Step<Outcome> {
    let Some(user) = target.user.as_deref() else {
        return Ok(unknown("no user name given; credentials not checked"));
    };
    let Some(password) = target.password.as_deref() else {
        return Ok(unknown("no password given; credentials not checked"));
    };
    if target.tls == TlsMode::Require {
        conn.start_tls(&target.host)?;
    }
    let db = target.database.as_deref().unwrap_or("admin");
    let mut session = Session {
        conn,
        db,
        next_id: 0,
    };
    let mut tried = Vec::new();
    for hash in [ScramHash::Sha256, ScramHash::Sha1] {
        match scram(&mut session, hash, user, password) {
            Ok(outcome) => return Ok(outcome),
            Err(Failure::Final(outcome)) => return Ok(outcome),
            Err(Failure::Mechanism(why)) => tried.push(why),
        }
    }
    Ok(unknown(format!(
        "no SCRAM mechanism works: {}",
        tried.join("; ")
    )))
}

fn mechanism(hash: ScramHash) -> &'static str {
    match hash {
        ScramHash::Sha1 => "SCRAM-SHA-1",
        ScramHash::Sha256 => "SCRAM-SHA-256",
    }
}

/// What a reply with `ok: 0` means.
fn refused(reply: &Doc, hash: ScramHash) -> Failure {
    let code = reply.get_number("code").unwrap_or(0.0);
    let message = reply.get_str("errmsg").unwrap_or("no message");
    let name = reply.get_str("codeName").unwrap_or("");
    let text = format!("{message} ({name} {code})");
    let mech = mechanism(hash);
    if code == MECHANISM_UNAVAILABLE || (message.contains(mech) && hash == ScramHash::Sha256) {
        Failure::Mechanism(format!("{mech}: {text}"))
    } else if code == AUTHENTICATION_FAILED {
        Failure::Final(invalid(text))
    } else {
        Failure::Final(unknown(format!("the server refused: {text}")))
    }
}

fn is_ok(reply: &Doc) -> bool {
    reply.get_number("ok") == Some(1.0)
}

fn scram(
    session: &mut Session<'_>,
    hash: ScramHash,
    user: &str,
    password: &[u8],
) -> Result<Outcome, Failure> {
    // SCRAM-SHA-1 in MongoDB hashes the password first, as its old MONGODB-CR did.
    let secret = match hash {
        ScramHash::Sha256 => password.to_vec(),
        ScramHash::Sha1 => {
            let digest = Md5::new()
                .chain_update(user.as_bytes())
                .chain_update(b":mongo:")
                .chain_update(password)
                .finalize();
            digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into_bytes()
        }
    };
    let mut client = ScramClient::new(hash, user, &secret, new_nonce());
    let start = Doc::new()
        .with("saslStart", Value::Int32(1))
        .with("mechanism", Value::String(mechanism(hash).into()))
        .with(
            "payload",
            Value::Binary(0, client.client_first().into_bytes()),
        )
        .with("autoAuthorize", Value::Int32(1))
        .with(
            "options",
            Value::Document(Doc::new().with("skipEmptyExchange", Value::Bool(true))),
        );
    let reply = session.command(start, "saslStart")?;
    if !is_ok(&reply) {
        return Err(refused(&reply, hash));
    }
    let conversation = reply
        .get("conversationId")
        .cloned()
        .unwrap_or(Value::Int32(1));
    let server_first = reply
        .get_binary("payload")
        .ok_or_else(|| error("saslStart reply without a payload"))?;
    let fin = client.client_final(server_first).map_err(scram_failure)?;
    let next = |payload: Vec<u8>| {
        Doc::new()
            .with("saslContinue", Value::Int32(1))
            .with("conversationId", conversation.clone())
            .with("payload", Value::Binary(0, payload))
    };
    let reply = session.command(next(fin.into_bytes()), "saslContinue")?;
    if !is_ok(&reply) {
        return Err(refused(&reply, hash));
    }
    let server_final = reply
        .get_binary("payload")
        .ok_or_else(|| error("saslContinue reply without a payload"))?;
    client
        .verify_server_final(server_final)
        .map_err(scram_failure)?;
    // Servers that ignore skipEmptyExchange want one more, empty, round.
    let mut done = reply.get("done") == Some(&Value::Bool(true));
    for _ in 0..2 {
        if done {
            break;
        }
        let reply = session.command(next(Vec::new()), "saslContinue")?;
        if !is_ok(&reply) {
            return Err(refused(&reply, hash));
        }
        done = reply.get("done") == Some(&Value::Bool(true));
    }
    if !done {
        return Err(error("the server never ended the SASL conversation").into());
    }
    Ok(live(format!(
        "authenticated as {user:?} on database {:?} ({})",
        session.db,
        mechanism(hash)
    )))
}

fn scram_failure(e: ScramError) -> Failure {
    Failure::Final(match e {
        ScramError::Rejected(_) => invalid(e.to_string()),
        ScramError::Protocol(_) => error(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check, DbKind, Options, TlsMode};
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    /// MongoDB's SCRAM-SHA-1 test vector (auth spec): user "user", password "pencil".
    #[test]
    fn mongodb_sha1_vector() {
        let digest = Md5::digest(b"user:mongo:pencil");
        let secret: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let mut c = ScramClient::new(
            ScramHash::Sha1,
            "user",
            secret.as_bytes(),
            "fyko+d2lbbFgONRv9qkxdawL".into(),
        );
        let fin = c
            .client_final(b"r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000")
            .unwrap();
        assert_eq!(
            fin,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,p=MC2T8BvbmWRckDw8oWl5IVghwCY="
        );
        c.verify_server_final(b"v=UMWeI25JD1yNYZRMpZ4VHvhZ9e0=")
            .unwrap();
    }

    fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }

    /// A fake mongod on 127.0.0.1 that knows one account (`app` / `right-pass`, SCRAM-SHA-256
    /// computed here from the RFC's formulas, not with the client's code) and answers one
    /// connection as MongoDB 7 does.
    fn fake_mongod() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(2) {
                let _ = serve(stream.unwrap());
            }
        });
        port
    }

    fn read_msg(s: &mut TcpStream) -> std::io::Result<Doc> {
        let mut head = [0u8; 16];
        s.read_exact(&mut head)?;
        let len = i32::from_le_bytes(head[..4].try_into().unwrap()) as usize;
        assert_eq!(i32::from_le_bytes(head[12..].try_into().unwrap()), OP_MSG);
        let mut body = vec![0; len - 16];
        s.read_exact(&mut body)?;
        Ok(decode_msg(&body).unwrap())
    }

    fn serve(mut s: TcpStream) -> std::io::Result<()> {
        let salt = b"0123456789abcdef";
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"right-pass", salt, 15000, &mut salted);
        let start = read_msg(&mut s)?;
        assert_eq!(start.get_str("mechanism"), Some("SCRAM-SHA-256"));
        assert_eq!(start.get_str("$db"), Some("admin"));
        let client_first =
            String::from_utf8(start.get_binary("payload").unwrap().to_vec()).unwrap();
        let bare = client_first.strip_prefix("n,,").unwrap().to_string();
        let nonce = bare.split("r=").nth(1).unwrap().to_string();
        let user_ok = bare.starts_with("n=app,");
        let server_first = format!("r={nonce}SERVERNONCE,s={},i=15000", B64.encode(salt));
        let reply = Doc::new()
            .with("conversationId", Value::Int32(1))
            .with("done", Value::Bool(false))
            .with(
                "payload",
                Value::Binary(0, server_first.clone().into_bytes()),
            )
            .with("ok", Value::Double(1.0));
        s.write_all(&encode_msg(1, &reply))?;
        let cont = read_msg(&mut s)?;
        assert_eq!(cont.get("conversationId"), Some(&Value::Int32(1)));
        let client_final = String::from_utf8(cont.get_binary("payload").unwrap().to_vec()).unwrap();
        let (without_proof, proof) = client_final.split_once(",p=").unwrap();
        let auth_message = format!("{bare},{server_first},{without_proof}");
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = sha2::Sha256::digest(&client_key);
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let expected: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let reply = if user_ok && B64.decode(proof).unwrap() == expected {
            let server_sig = hmac(&hmac(&salted, b"Server Key"), auth_message.as_bytes());
            Doc::new()
                .with("conversationId", Value::Int32(1))
                .with("done", Value::Bool(true))
                .with(
                    "payload",
                    Value::Binary(0, format!("v={}", B64.encode(server_sig)).into_bytes()),
                )
                .with("ok", Value::Double(1.0))
        } else {
            Doc::new()
                .with("ok", Value::Double(0.0))
                .with("errmsg", Value::String("Authentication failed.".into()))
                .with("code", Value::Int32(18))
                .with("codeName", Value::String("AuthenticationFailed".into()))
        };
        s.write_all(&encode_msg(2, &reply))
    }

    #[test]
    fn against_a_fake_server() {
        let port = fake_mongod();
        let opts = Options {
            timeout: Duration::from_secs(10),
            allow_internal: true,
        };
        let mut target = Target {
            kind: DbKind::Mongodb,
            host: "127.0.0.1".into(),
            port,
            user: Some("app".into()),
            password: Some(b"right-pass".to_vec()),
            database: Some("admin".into()),
            tls: TlsMode::Prefer,
        };
        let out = check(&target, &opts);
        assert_eq!(out.status(), "live", "{out}");
        assert!(out.message().contains("SCRAM-SHA-256"), "{out}");
        target.password = Some(b"wrong-pass".to_vec());
        let out = check(&target, &opts);
        assert_eq!(out.status(), "invalid", "{out}");
        assert!(out.message().contains("Authentication failed"), "{out}");
        assert!(!out.message().contains("wrong-pass"));
    }
}
