//! A local HTTP/1.1 server on 127.0.0.1 that answers like a provider and records every
//! request it gets (std only: a thread per connection, one request per connection).

#![allow(dead_code)]

pub mod sshd;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Send no Content-Length (the body ends when the connection closes).
    pub no_length: bool,
    /// Close the connection without answering.
    pub hang_up: bool,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
            no_length: false,
            hang_up: false,
        }
    }

    pub fn header(mut self, n: &str, v: &str) -> Reply {
        self.headers.push((n.to_string(), v.to_string()));
        self
    }

    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }

    pub fn no_length(mut self) -> Reply {
        self.no_length = true;
        self
    }

    pub fn hang_up() -> Reply {
        Reply {
            hang_up: true,
            ..Reply::new(500, "")
        }
    }
}

type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

pub struct Server {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    /// Starts a server; `handler` gets each request and its 0-based number.
    pub fn start(handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let l = Arc::clone(&log);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (l, h) = (Arc::clone(&l), Arc::clone(&handler));
                std::thread::spawn(move || serve(conn, &l, &*h));
            }
        });
        Server { addr, log }
    }

    /// `http://127.0.0.1:PORT`
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

fn serve(conn: TcpStream, log: &Mutex<Vec<Recorded>>, handler: &Handler) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut it = line.split_whitespace();
    let method = it.next().unwrap_or("").to_string();
    let path = it.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((n, v)) = h.trim_end().split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let req = Recorded {
        method,
        path,
        headers,
        body,
    };
    let n = {
        let mut log = log.lock().unwrap();
        log.push(req.clone());
        log.len() - 1
    };
    let reply = handler(&req, n);
    std::thread::sleep(reply.delay);
    let mut conn = conn;
    if reply.hang_up {
        let _ = conn.shutdown(std::net::Shutdown::Both);
        return;
    }
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    if !reply.no_length {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    for (n, v) in &reply.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&reply.body);
    let _ = conn.flush();
}

/// Rules for the tests. Their URLs are on made-up hosts that the validator's origin
/// override sends to the local server.
pub const RULES: &str = r#"
[[rule]]
id = "test.token"
name = "Test token"
description = "A token of a made-up provider"
keywords = ["tkn_"]
pattern = '\b(?P<secret>tkn_[A-Za-z0-9]{24})\b'
[rule.validate]
url = "https://api.provider.test/whoami?check=1"
headers = { Authorization = "Bearer {{ secret }}" }
live = { status = 200 }
invalid = [{ status = 401 }, { status = 400, json = { "error.code" = "bad_token" } }]
identity = { account = "json:user.login", team = "json:user.teams.0", teams = "json:user.teams", scopes = "header:x-scopes" }

[[rule]]
id = "test.token.twin"
name = "Test token, another rule"
description = "Another rule finding the same tokens"
keywords = ["tkn_"]
pattern = '\b(?P<secret>tkn_[A-Za-z0-9]{24})\b'
[rule.validate]
url = "https://api.provider.test/whoami"
headers = { Authorization = "Bearer {{ secret }}" }
live = { status = 200 }

[[rule]]
id = "test.account"
name = "Test account"
description = "A user and password of a made-up provider"
keywords = ["acct_"]
pattern = '(?:\b(?P<user>[a-z]{4,10})=)?(?P<secret>acct_[A-Za-z0-9]{20})\b'
parts = ["user"]
[rule.validate]
method = "POST"
url = "https://auth.provider.test/login/{{ user | urlencode }}"
headers = { Authorization = "Basic {{ user ~ ':' ~ secret | base64 }}", X-B64 = "{{ 'user' ~ ':' ~ 'pass' | base64 }}", X-B64url = "{{ '??>a' | base64url }}", X-Url = "{{ 'a b/c~d_e.f-g&h' | urlencode }}", X-Hex = "{{ 'AZ' | hex }}", X-Sha = "{{ 'abc' | sha256 | hex }}", X-Hmac = "{{ 'what do ya want for nothing?' | hmac_sha256('Jefe') | hex }}", X-Hmac-Secret = "{{ user | hmac_sha256(secret) | base64 }}", X-Case = "{{ 'MiXeD' | lower }}{{ 'MiXeD' | upper }}", X-Now = "{{ now }}|{{now_iso8601}}|{{ now_rfc1123 }}" }
body = "{\"user\":\"{{ user | json }}\",\"note\":\"{{ 'a\"b\\c\n' | json }}\"}"
live = { status = 200, words = ["welcome"] }
invalid = { status = 403 }

[rule.revoke]
method = "DELETE"
url = "https://auth.provider.test/keys/{{ user }}?sig={{ secret | sha256 | hex }}"
headers = { Authorization = "Basic {{ user ~ ':' ~ secret | base64 }}", Accept = "application/json" }
body = '{"key":"{{ secret }}"}'
done = { status = 204 }

[[rule]]
id = "test.unknown_kind"
name = "Test, kind without a validator"
description = "A rule whose validator kind nobody implements"
keywords = ["ukn_"]
pattern = '\b(?P<secret>ukn_[A-Za-z0-9]{24})\b'
[rule.validate]
kind = "carrier-pigeon"
"#;

/// The test rules.
pub fn rules() -> keysweep::RuleSet {
    keysweep::RuleSet::from_toml(RULES, "tests/support").unwrap()
}

/// A made-up token (`tkn_` + 24 characters) that differs for each `i`.
pub fn token(prefix: &str, len: usize, i: u64) -> String {
    // A small LCG: varied characters, no runs a placeholder filter would drop.
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789";
    let mut x = i
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut s = String::from(prefix);
    for _ in 0..len {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push(CHARS[((x >> 33) % CHARS.len() as u64) as usize] as char);
    }
    s
}

/// Scans `text` with the test rules (and the built-in ones when `builtin`) and returns the
/// findings of rule `id`.
pub fn find(rules: &keysweep::RuleSet, text: &str, id: &str) -> Vec<keysweep::Finding> {
    let scanner = keysweep::Scanner::new(rules.clone()).unwrap();
    let found = scanner.scan(&mut scanner.scratch(), text.as_bytes());
    found.into_iter().filter(|f| &*f.rule_id == id).collect()
}
