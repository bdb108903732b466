//! MySQL and MariaDB: handshake v10, HandshakeResponse41, auth switch, COM_QUIT.

use crate::net::{error, invalid, live, unknown, Conn, Step};
use crate::{Outcome, Target, TlsMode};
use sha1::Sha1;
use sha2::{Digest, Sha256};

const COM_QUIT: &[u8] = &[1, 0, 0, 0, 0x01];

const CLIENT_LONG_PASSWORD: u32 = 0x1;
const CLIENT_LONG_FLAG: u32 = 0x4;
const CLIENT_CONNECT_WITH_DB: u32 = 0x8;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_SSL: u32 = 0x800;
const CLIENT_TRANSACTIONS: u32 = 0x2000;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_PLUGIN_AUTH: u32 = 0x8_0000;

const NATIVE: &str = "mysql_native_password";
const CACHING_SHA2: &str = "caching_sha2_password";
const CLEAR: &str = "mysql_clear_password";

pub(crate) fn check(conn: &mut Conn, target: &Target) -> Outcome {
    let outcome = authenticate(conn, target).unwrap_or_else(|o| o);
    conn.close(COM_QUIT);
    outcome
}

struct Packet {
    seq: u8,
    payload: Vec<u8>,
}

fn read_packet(conn: &mut Conn, what: &str) -> Step<Packet> {
    let head = conn.read_exact(4, what)?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
    let payload = conn.read_exact(len, what)?;
    Ok(Packet {
        seq: head[3],
        payload,
    })
}

fn send_packet(conn: &mut Conn, seq: u8, payload: &[u8]) -> Step<()> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut out = vec![len[0], len[1], len[2], seq];
    out.extend_from_slice(payload);
    conn.send(&out)
}

/// The server's handshake, as far as authentication needs it.
#[derive(Debug, PartialEq, Eq)]
struct Handshake {
    version: String,
    capabilities: u32,
    scramble: Vec<u8>,
    plugin: String,
}

/// A NUL-terminated string at the start of `data`, and what follows the NUL (the whole rest
/// when there is none).
fn cstr(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(n) => (&data[..n], &data[n + 1..]),
        None => (data, &[]),
    }
}

fn parse_handshake(p: &[u8]) -> Result<Handshake, String> {
    let short = || "the server's handshake is truncated".to_string();
    let (&proto, rest) = p.split_first().ok_or_else(short)?;
    if proto != 10 {
        return Err(format!(
            "handshake protocol {proto}, not 10 (is this a MySQL server?)"
        ));
    }
    let (version, rest) = cstr(rest);
    let rest = rest.get(4..).ok_or_else(short)?; // connection id
    let part1 = rest.get(..8).ok_or_else(short)?;
    let rest = rest.get(9..).ok_or_else(short)?; // part 1 and a filler byte
    let cap_low = rest.get(..2).ok_or_else(short)?;
    let mut capabilities = u16::from_le_bytes([cap_low[0], cap_low[1]]) as u32;
    let mut scramble = part1.to_vec();
    let mut plugin = String::new();
    if let Some(more) = rest.get(2..) {
        if more.len() >= 16 {
            // charset (1), status (2), capabilities high (2), auth data length (1), reserved (10)
            capabilities |= (u16::from_le_bytes([more[3], more[4]]) as u32) << 16;
            let auth_len = more[5] as usize;
            let rest = &more[16..];
            if capabilities & CLIENT_SECURE_CONNECTION != 0 {
                let n = auth_len.saturating_sub(8).max(13).min(rest.len());
                let part2 = &rest[..n];
                let part2 = part2.strip_suffix(&[0]).unwrap_or(part2);
                scramble.extend_from_slice(part2);
                if capabilities & CLIENT_PLUGIN_AUTH != 0 {
                    plugin = String::from_utf8_lossy(cstr(&rest[n..]).0).into_owned();
                }
            }
        }
    }
    Ok(Handshake {
        version: String::from_utf8_lossy(version).into_owned(),
        capabilities,
        scramble,
        plugin,
    })
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

/// The auth response of `plugin`, or `None` for a plugin not implemented.
fn auth_response(plugin: &str, password: &[u8], scramble: &[u8]) -> Option<Vec<u8>> {
    if password.is_empty() {
        return matches!(plugin, NATIVE | CACHING_SHA2).then(Vec::new);
    }
    let scramble = &scramble[..scramble.len().min(20)];
    match plugin {
        // SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password)))
        NATIVE => {
            let stage1 = Sha1::digest(password);
            let stage2 = Sha1::digest(stage1);
            let mix = Sha1::new()
                .chain_update(scramble)
                .chain_update(stage2)
                .finalize();
            Some(xor(&stage1, &mix))
        }
        // SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble)
        CACHING_SHA2 => {
            let stage1 = Sha256::digest(password);
            let stage2 = Sha256::digest(stage1);
            let mix = Sha256::new()
                .chain_update(stage2)
                .chain_update(scramble)
                .finalize();
            Some(xor(&stage1, &mix))
        }
        _ => None,
    }
}

fn server_error(p: &[u8]) -> (u16, String) {
    let code = p
        .get(1..3)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .unwrap_or(0);
    let rest = p.get(3..).unwrap_or_default();
    // `#` and a five-character SQLSTATE precede the message in protocol 4.1.
    let message = match rest.strip_prefix(b"#") {
        Some(r) if r.len() >= 5 => &r[5..],
        _ => rest,
    };
    (code, String::from_utf8_lossy(message).into_owned())
}

/// `MariaDB 10.11.14-...` or `MySQL 8.4.0`; MariaDB prefixes its version with `5.5.5-` for
/// old replication clients.
fn server_name(version: &str) -> String {
    match version.strip_prefix("5.5.5-") {
        Some(v) if v.contains("MariaDB") => format!("MariaDB {v}"),
        _ if version.contains("MariaDB") => format!("MariaDB {version}"),
        _ => format!("MySQL {version}"),
    }
}

fn not_implemented(plugin: &str) -> Outcome {
    unknown(format!(
        "the account uses authentication plugin {plugin:?}, which is not implemented"
    ))
}

fn authenticate(conn: &mut Conn, target: &Target) -> Step<Outcome> {
    let Some(user) = target.user.as_deref() else {
        return Ok(unknown("no user name given; credentials not checked"));
    };
    let password = target.password.as_deref().unwrap_or_default();
    let first = read_packet(conn, "reading the server's handshake")?;
    if first.payload.first() == Some(&0xff) {
        let (code, message) = server_error(&first.payload);
        return Ok(unknown(format!(
            "the server refused the connection before authentication: {code} {message}"
        )));
    }
    let hs = parse_handshake(&first.payload).map_err(error)?;
    let needed = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION;
    if hs.capabilities & needed != needed {
        return Ok(unknown(format!(
            "server {} predates protocol 4.1 authentication",
            hs.version
        )));
    }
    let use_tls = target.tls != TlsMode::Disable && hs.capabilities & CLIENT_SSL != 0;
    if target.tls == TlsMode::Require && !use_tls {
        return Ok(unknown(
            "TLS is required and the server does not offer it; credentials not checked",
        ));
    }
    let plugin = if hs.plugin == CACHING_SHA2 {
        CACHING_SHA2
    } else {
        NATIVE
    };
    let mut caps = CLIENT_LONG_PASSWORD
        | CLIENT_LONG_FLAG
        | CLIENT_PROTOCOL_41
        | CLIENT_TRANSACTIONS
        | CLIENT_SECURE_CONNECTION
        | (hs.capabilities & CLIENT_PLUGIN_AUTH);
    if target.database.is_some() {
        caps |= CLIENT_CONNECT_WITH_DB;
    }
    if use_tls {
        caps |= CLIENT_SSL;
    }
    let auth = auth_response(plugin, password, &hs.scramble).unwrap_or_default();
    let mut resp = Vec::with_capacity(64 + user.len() + auth.len());
    resp.extend_from_slice(&(caps & (hs.capabilities | CLIENT_CONNECT_WITH_DB)).to_le_bytes());
    resp.extend_from_slice(&(16u32 << 20).to_le_bytes()); // max packet size
    resp.push(45); // utf8mb4_general_ci
    resp.extend_from_slice(&[0; 23]);
    resp.extend_from_slice(user.as_bytes());
    resp.push(0);
    resp.push(auth.len() as u8);
    resp.extend_from_slice(&auth);
    if let Some(db) = &target.database {
        resp.extend_from_slice(db.as_bytes());
        resp.push(0);
    }
    if caps & CLIENT_PLUGIN_AUTH != 0 {
        resp.extend_from_slice(plugin.as_bytes());
        resp.push(0);
    }
    let mut seq = first.seq.wrapping_add(1);
    if use_tls {
        // SSLRequest: the response's first 32 bytes, then TLS, then the whole response.
        send_packet(conn, seq, &resp[..32])?;
        conn.start_tls(&target.host)?;
        seq = seq.wrapping_add(1);
    }
    send_packet(conn, seq, &resp)?;

    let server = server_name(&hs.version);
    let mut plugin = plugin.to_string();
    for _ in 0..6 {
        let reply = read_packet(conn, "reading the authentication result")?;
        let next = reply.seq.wrapping_add(1);
        match reply.payload.first() {
            Some(0x00) => return Ok(live(format!("authenticated as {user:?} ({plugin}), {server}"))),
            Some(0xff) => {
                let (code, message) = server_error(&reply.payload);
                let text = format!("{code} {message}");
                return Ok(match code {
                    1045 => invalid(text),
                    // After a successful authentication: the account works, the database not.
                    1044 | 1049 => live(format!(
                        "authenticated as {user:?}, {server}; then the server refused the database: {text}"
                    )),
                    _ => unknown(format!("the server refused: {text}")),
                });
            }
            Some(0xfe) => {
                // Auth switch request: another plugin, with a fresh scramble.
                let (name, data) = cstr(&reply.payload[1..]);
                if reply.payload.len() == 1 {
                    return Ok(not_implemented("mysql_old_password"));
                }
                plugin = String::from_utf8_lossy(name).into_owned();
                let scramble = data.strip_suffix(&[0]).unwrap_or(data);
                if plugin == CLEAR && conn.is_tls() {
                    send_packet(conn, next, &[password, b"\0"].concat())?;
                    continue;
                }
                let Some(auth) = auth_response(&plugin, password, scramble) else {
                    return Ok(not_implemented(&plugin));
                };
                send_packet(conn, next, &auth)?;
            }
            Some(0x01) if plugin == CACHING_SHA2 => match reply.payload.get(1) {
                Some(3) => continue, // fast authentication succeeded; OK follows
                // Full authentication: the password itself, which only TLS may carry.
                Some(4) if conn.is_tls() => {
                    send_packet(conn, next, &[password, b"\0"].concat())?;
                }
                Some(4) => {
                    return Ok(unknown(
                        "caching_sha2_password wants full authentication (the server has not cached this account), which needs TLS (not offered) or RSA (not implemented)",
                    ))
                }
                _ => return Err(error("unexpected caching_sha2_password data")),
            },
            _ => return Err(error("unexpected packet during authentication")),
        }
    }
    Err(error("too many authentication round trips"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Expected values computed with Python's hashlib from the formulas in MySQL's manual.
    #[test]
    fn scrambles() {
        let scramble: Vec<u8> = (1..=20).collect();
        let native = auth_response(NATIVE, b"pencil", &scramble).unwrap();
        assert_eq!(hex(&native), "cf61fc4b84338d2884baac2131c29caedc133246");
        let sha2 = auth_response(CACHING_SHA2, b"pencil", &scramble).unwrap();
        assert_eq!(
            hex(&sha2),
            "804b188f4565dae5617113370e156183c91cfef6dd4714585f8d465f2150b271"
        );
        assert_eq!(auth_response(NATIVE, b"", &scramble), Some(vec![]));
        assert_eq!(auth_response("client_ed25519", b"pencil", &scramble), None);
    }

    /// A v10 handshake with this version, 20-byte scramble and default plugin.
    fn handshake(version: &str, scramble: &[u8], plugin: &str) -> Vec<u8> {
        let mut p = vec![10];
        p.extend_from_slice(version.as_bytes());
        p.push(0);
        p.extend_from_slice(&[7, 0, 0, 0]);
        p.extend_from_slice(&scramble[..8]);
        p.push(0);
        let caps: u32 = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
        p.extend_from_slice(&caps.to_le_bytes()[..2]);
        p.extend_from_slice(&[45, 2, 0]);
        p.extend_from_slice(&caps.to_le_bytes()[2..]);
        p.push(21);
        p.extend_from_slice(&[0; 10]);
        p.extend_from_slice(&scramble[8..]);
        p.push(0);
        p.extend_from_slice(plugin.as_bytes());
        p.push(0);
        p
    }

    #[test]
    fn handshake_parsing() {
        let caps: u32 = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
        let p = handshake("10.11.14-MariaDB", b"abcdefghijklmnopqrst", NATIVE);
        let hs = parse_handshake(&p).unwrap();
        assert_eq!(hs.version, "10.11.14-MariaDB");
        assert_eq!(hs.capabilities, caps);
        assert_eq!(hs.scramble, b"abcdefghijklmnopqrst");
        assert_eq!(hs.plugin, NATIVE);
        // Every truncation parses or fails, never panics; one cut inside the fixed part fails.
        for n in 0..p.len() {
            let _ = parse_handshake(&p[..n]);
        }
        assert!(parse_handshake(&p[..20]).is_err());
        assert!(parse_handshake(b"\x09junk").is_err());
    }

    #[test]
    fn server_names() {
        assert_eq!(
            server_name("5.5.5-10.11.14-MariaDB-0+deb12u2"),
            "MariaDB 10.11.14-MariaDB-0+deb12u2"
        );
        assert_eq!(server_name("11.4.2-MariaDB"), "MariaDB 11.4.2-MariaDB");
        assert_eq!(server_name("8.4.0"), "MySQL 8.4.0");
    }

    #[test]
    fn error_packets() {
        let mut p = vec![0xff];
        p.extend_from_slice(&1045u16.to_le_bytes());
        p.extend_from_slice(b"#28000Access denied for user 'u'@'localhost' (using password: YES)");
        let (code, msg) = server_error(&p);
        assert_eq!(code, 1045);
        assert!(msg.starts_with("Access denied"), "{msg}");
    }

    /// What the fake server does after reading the client's handshake response.
    enum Script {
        /// caching_sha2_password: fast authentication succeeded, then OK.
        FastAuth,
        /// caching_sha2_password: the account is not cached.
        FullAuth,
        /// Switch to mysql_native_password with the same scramble, then OK if right.
        SwitchToNative,
        /// Access denied.
        Denied,
    }

    /// A MySQL 8 lookalike serving one connection: checks the client's scrambles against
    /// values computed with Python's hashlib (password `pencil`, scramble bytes 1..=20).
    fn fake_mysql(script: Script) -> (u16, std::thread::JoinHandle<()>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let scramble: Vec<u8> = (1..=20).collect();
            let send = |s: &mut std::net::TcpStream, seq: u8, p: &[u8]| {
                let len = (p.len() as u32).to_le_bytes();
                s.write_all(&[len[0], len[1], len[2], seq]).unwrap();
                s.write_all(p).unwrap();
            };
            let recv = |s: &mut std::net::TcpStream| {
                let mut head = [0u8; 4];
                s.read_exact(&mut head).unwrap();
                let mut p = vec![0; u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize];
                s.read_exact(&mut p).unwrap();
                (head[3], p)
            };
            send(&mut s, 0, &handshake("8.4.0", &scramble, CACHING_SHA2));
            let (seq, resp) = recv(&mut s);
            assert_eq!(seq, 1);
            let user_end = 32 + resp[32..].iter().position(|&b| b == 0).unwrap();
            assert_eq!(&resp[32..user_end], b"app");
            let auth_len = resp[user_end + 1] as usize;
            let auth = &resp[user_end + 2..user_end + 2 + auth_len];
            assert!(resp.ends_with(b"caching_sha2_password\0"));
            let sha2_ok =
                hex(auth) == "804b188f4565dae5617113370e156183c91cfef6dd4714585f8d465f2150b271";
            let ok = [0u8, 0, 0, 2, 0, 0, 0];
            let mut denied = vec![0xff, 0x15, 0x04];
            denied.extend_from_slice(
                b"#28000Access denied for user 'app'@'127.0.0.1' (using password: YES)",
            );
            match script {
                Script::FastAuth if sha2_ok => {
                    send(&mut s, 2, &[0x01, 0x03]);
                    send(&mut s, 3, &ok);
                }
                Script::FullAuth => send(&mut s, 2, &[0x01, 0x04]),
                Script::SwitchToNative => {
                    let mut switch = vec![0xfe];
                    switch.extend_from_slice(b"mysql_native_password\0");
                    switch.extend_from_slice(&scramble);
                    switch.push(0);
                    send(&mut s, 2, &switch);
                    let (seq, auth) = recv(&mut s);
                    assert_eq!(seq, 3);
                    if hex(&auth) == "cf61fc4b84338d2884baac2131c29caedc133246" {
                        send(&mut s, 4, &ok);
                    } else {
                        send(&mut s, 4, &denied);
                    }
                }
                _ => send(&mut s, 2, &denied),
            }
            // The client says goodbye with COM_QUIT.
            let (seq, quit) = recv(&mut s);
            assert_eq!((seq, quit.as_slice()), (0, &[0x01][..]));
        });
        (port, server)
    }

    #[test]
    fn against_a_fake_mysql8() {
        use crate::{check, DbKind, Options, TlsMode};
        let table = [
            (
                Script::FastAuth,
                "pencil",
                "live",
                "caching_sha2_password), MySQL 8.4.0",
            ),
            (Script::FastAuth, "crayon", "invalid", "1045 Access denied"),
            (Script::FullAuth, "pencil", "unknown", "full authentication"),
            (
                Script::SwitchToNative,
                "pencil",
                "live",
                "(mysql_native_password)",
            ),
            (Script::SwitchToNative, "crayon", "invalid", "1045"),
            (Script::Denied, "pencil", "invalid", "1045"),
        ];
        for (script, password, status, words) in table {
            let (port, server) = fake_mysql(script);
            let target = Target {
                kind: DbKind::Mysql,
                host: "127.0.0.1".into(),
                port,
                user: Some("app".into()),
                password: Some(password.as_bytes().to_vec()),
                database: None,
                tls: TlsMode::Prefer,
            };
            let opts = Options {
                timeout: std::time::Duration::from_secs(10),
                allow_internal: true,
            };
            let out = check(&target, &opts);
            assert_eq!(out.status(), status, "{password}: {out}");
            assert!(out.message().contains(words), "{out}");
            assert!(!out.message().contains(password), "{out}");
            server.join().expect("the fake server saw what it expected");
        }
    }
}
