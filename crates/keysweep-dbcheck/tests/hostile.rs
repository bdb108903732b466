//! What servers and URLs send is untrusted: mutated server transcripts and random URLs must
//! give an answer (never a panic, never a hang past the deadline), and never echo the password.
//!
//! A deterministic mutation test rather than a cargo-fuzz target: the fuzz build would have to
//! compile aws-lc (through rustls) with the sanitizers, and the loopback server per input makes
//! libFuzzer slow anyway.

use keysweep_dbcheck::{check, DbKind, Options, Target, TlsMode};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::time::Duration;

/// xorshift64*: the same inputs on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = [0x00, 0xff, 0x7f, 0x80, b'\r', b'\n', b'+', b'-'][rng.below(8)];
            }
            2 => {
                let cut = rng.below(out.len() + 1);
                out.truncate(cut);
            }
            3 => {
                let i = rng.below(out.len() + 1);
                let junk: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
                out.splice(i..i, junk);
            }
            _ if out.len() >= 4 => {
                // Lengths are the likeliest to hurt: set four bytes to extremes.
                let i = rng.below(out.len() - 3);
                let v = [0u32, 1, 0x7fff_ffff, 0xffff_ffff, 0x0100_0000][rng.below(5)];
                out[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            _ => {}
        }
    }
    out
}

/// A server that sends `script` at once, ends its side, and reads until the client leaves.
fn serve_once(script: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(&script);
            let _ = s.shutdown(Shutdown::Write);
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let mut sink = [0u8; 4096];
            while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
        }
    });
    port
}

fn pg_message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn mysql_packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    [&[len[0], len[1], len[2], seq][..], payload].concat()
}

fn mysql_handshake() -> Vec<u8> {
    let mut p = vec![10];
    p.extend_from_slice(b"8.4.0\0\x07\0\0\0abcdefgh\0");
    p.extend_from_slice(&[0x00, 0x82, 45, 2, 0, 0x08, 0x00, 21]); // 4.1, secure conn., plugin auth
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(b"ijklmnopqrst\0caching_sha2_password\0");
    mysql_packet(0, &p)
}

fn mongo_reply(body: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + 1 + body.len();
    let mut out = Vec::new();
    for word in [len as i32, 1, 1, 2013, 0] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.push(0);
    out.extend_from_slice(body);
    out
}

/// `{conversationId: 1, done: false, payload: <server-first>, ok: 1.0}`, by hand.
fn mongo_sasl_reply() -> Vec<u8> {
    let payload = b"r=abcdefghijklmnopqrstuvwxSERVER,s=QSXCR+Q6sek8bf92,i=4096";
    let mut doc = vec![0; 4];
    doc.extend_from_slice(b"\x10conversationId\0\x01\0\0\0\x08done\0\0\x05payload\0");
    doc.extend_from_slice(&(payload.len() as i32).to_le_bytes());
    doc.push(0);
    doc.extend_from_slice(payload);
    doc.extend_from_slice(b"\x01ok\0");
    doc.extend_from_slice(&1.0f64.to_le_bytes());
    doc.push(0);
    let n = doc.len() as i32;
    doc[..4].copy_from_slice(&n.to_le_bytes());
    mongo_reply(&doc)
}

fn transcripts() -> Vec<(DbKind, Vec<u8>)> {
    let mut pg_sasl = pg_message(b'R', b"\0\0\0\x0aSCRAM-SHA-256\0\0");
    pg_sasl.extend(pg_message(
        b'R',
        b"\0\0\0\x0br=abc,s=QSXCR+Q6sek8bf92,i=4096",
    ));
    let mut pg_md5 = pg_message(b'R', b"\0\0\0\x05salt");
    pg_md5.extend(pg_message(b'R', b"\0\0\0\0"));
    pg_md5.extend(pg_message(b'S', b"server_version\x0016.1\0"));
    pg_md5.extend(pg_message(b'Z', b"I"));
    let pg_error = pg_message(b'E', b"SFATAL\0C28P01\0Mpassword authentication failed\0\0");
    let mut my_fast = mysql_handshake();
    my_fast.extend(mysql_packet(2, &[0x01, 0x03]));
    my_fast.extend(mysql_packet(3, &[0, 0, 0, 2, 0, 0, 0]));
    let mut my_switch = mysql_handshake();
    my_switch.extend(mysql_packet(
        2,
        b"\xfemysql_native_password\0abcdefghijklmnopqrst\0",
    ));
    my_switch.extend(mysql_packet(4, b"\xff\x15\x04#28000Access denied"));
    vec![
        (DbKind::Postgres, pg_sasl),
        (DbKind::Postgres, pg_md5),
        (DbKind::Postgres, pg_error),
        (DbKind::Mysql, my_fast),
        (DbKind::Mysql, my_switch),
        (DbKind::Redis, b"+OK\r\n".to_vec()),
        (
            DbKind::Redis,
            b"-WRONGPASS invalid username-password pair\r\n".to_vec(),
        ),
        (DbKind::Mongodb, mongo_sasl_reply()),
    ]
}

#[test]
fn mutated_server_transcripts() {
    let password = b"hostile-pass-93";
    let opts = Options {
        timeout: Duration::from_secs(5),
        allow_internal: true,
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut statuses = std::collections::BTreeMap::new();
    for (kind, script) in transcripts() {
        for round in 0..120 {
            let input = if round == 0 {
                script.clone()
            } else {
                mutate(&mut rng, &script)
            };
            let target = Target {
                kind,
                host: "127.0.0.1".into(),
                port: serve_once(input.clone()),
                user: Some("app".into()),
                password: Some(password.to_vec()),
                database: Some("db".into()),
                tls: TlsMode::Disable,
            };
            let outcome = check(&target, &opts);
            let text = format!("{outcome:?}");
            assert!(
                !text.contains("hostile-pass"),
                "{kind:?} leaked the password: {text}\ninput: {input:?}"
            );
            *statuses.entry((kind.name(), outcome.status())).or_insert(0) += 1;
        }
    }
    // The unmutated transcripts reach their answers, so the mutations start from real paths.
    eprintln!("{statuses:?}");
    for needed in [
        ("postgres", "live"),
        ("postgres", "invalid"),
        ("mysql", "invalid"),
        ("redis", "live"),
        ("redis", "invalid"),
    ] {
        assert!(
            statuses.contains_key(&needed),
            "{needed:?} never reached: {statuses:?}"
        );
    }
}

/// A server that puts the password it was sent into its error message: redacted.
#[test]
fn a_server_echoing_the_password_is_redacted() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).unwrap();
        let sent = String::from_utf8_lossy(&buf[..n]).into_owned();
        let password = sent.split("\r\n").nth(4).unwrap_or_default().to_string();
        let _ = s.write_all(format!("-ERR no such password {password} here\r\n").as_bytes());
    });
    let target = Target {
        kind: DbKind::Redis,
        host: "127.0.0.1".into(),
        port,
        user: None,
        password: Some(b"echo-me-4242".to_vec()),
        database: None,
        tls: TlsMode::Disable,
    };
    let opts = Options {
        timeout: Duration::from_secs(5),
        allow_internal: true,
    };
    let outcome = check(&target, &opts);
    assert_eq!(outcome.status(), "unknown", "{outcome}");
    assert!(
        outcome
            .message()
            .contains("no such password [redacted] here"),
        "{outcome}"
    );
}

#[test]
fn random_urls() {
    let mut rng = Rng(42);
    let seeds: [&[u8]; 5] = [
        b"postgres://app:secret-pass-1@db.example.com:5432/orders?sslmode=require",
        b"mysql://root:secret-pass-1@[2001:db8::1]:3306/shop",
        b"rediss://:secret-pass-1@cache.example.com/0",
        b"mongodb://u:secret-pass-1@h1,h2:27018/admin?authSource=x&tls=true",
        b"mariadb://u%40x:secret-pass-1@h/",
    ];
    for seed in seeds {
        for _ in 0..2000 {
            let url = mutate(&mut rng, seed);
            if let Err(e) = Target::from_url(&url) {
                let msg = format!("{e} {e:?}");
                assert!(
                    !msg.contains("secret-pass"),
                    "{msg} for {:?}",
                    String::from_utf8_lossy(&url)
                );
            }
        }
    }
}
