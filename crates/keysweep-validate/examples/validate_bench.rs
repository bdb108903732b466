//! Validates 1,000 findings of 100 distinct secrets against a local server that answers
//! each request after a fixed delay, and prints the requests made, the wall time and the
//! peak RSS.
//!
//! ```text
//! cargo run -p keysweep-validate --example validate_bench [-- DELAY_MS]
//! ```
//!
//! Run twice over: with the default per-host pacing (25 ms between request starts to one
//! host), which bounds the run from below at 100 x 25 ms, and without pacing, which shows the
//! engine's own cost (concurrency 8 over the server's delay).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keysweep::{RuleSet, Scanner};
use keysweep_validate::{Status, Validator};

const RULE: &str = r#"
[[rule]]
id = "bench.token"
name = "Bench token"
description = "A token of a made-up provider"
keywords = ["bnk_"]
pattern = '\b(?P<secret>bnk_[A-Za-z0-9]{32})\b'
[rule.validate]
url = "https://api.bench.test/whoami"
headers = { Authorization = "Bearer {{ secret }}" }
live = { status = 200 }
invalid = { status = 401 }
identity = { account = "json:login" }
"#;

const FINDINGS: usize = 1000;
const DISTINCT: usize = 100;

fn main() {
    let delay_ms: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let served = Arc::new(AtomicU64::new(0));
    let port = serve(Duration::from_millis(delay_ms), Arc::clone(&served));

    let rules = RuleSet::from_toml(RULE, "bench").expect("the bench rule parses");
    let rule = rules.get("bench.token").expect("the bench rule");
    let scanner = Scanner::new(rules.clone()).expect("the bench rule compiles");
    // 100 distinct made-up tokens, each written 10 times.
    let mut text = String::new();
    for i in 0..FINDINGS {
        text.push_str(&format!("TOKEN={}\n", token((i % DISTINCT) as u64)));
    }
    let findings = scanner.scan(&mut scanner.scratch(), text.as_bytes());
    assert_eq!(findings.len(), FINDINGS, "every line is a finding");
    let items: Vec<_> = findings.iter().map(|f| (rule, f)).collect();

    println!(
        "validate_bench: {FINDINGS} findings, {DISTINCT} distinct secrets, server delay {delay_ms} ms, concurrency 8"
    );
    for (label, interval) in [
        ("default pacing (25 ms/host)", None),
        ("no pacing", Some(Duration::ZERO)),
    ] {
        let before = served.load(Ordering::Relaxed);
        let mut b = Validator::builder().allow_internal(true).origin_override(
            "https://api.bench.test",
            &format!("http://127.0.0.1:{port}"),
        );
        if let Some(i) = interval {
            b = b.host_interval(i);
        }
        let v = b.build().expect("the validator builds");
        let start = Instant::now();
        let out = v.validate_all(&items);
        let wall = start.elapsed();
        let live = out.iter().filter(|r| r.status == Status::Live).count();
        let invalid = out.iter().filter(|r| r.status == Status::Invalid).count();
        assert_eq!(live + invalid, FINDINGS, "every finding was judged");
        let s = v.stats();
        println!(
            "  {label:<28} requests {:>4} (server saw {:>4}), cache hits {:>4}, live {live}, invalid {invalid}, wall {:>7.1} ms",
            s.requests,
            served.load(Ordering::Relaxed) - before,
            s.cache_hits,
            wall.as_secs_f64() * 1e3,
        );
    }
    println!("  peak RSS {}", peak_rss());
}

fn token(i: u64) -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789";
    let mut x = i.wrapping_add(7);
    let mut s = String::from("bnk_");
    for _ in 0..32 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push(CHARS[((x >> 33) % CHARS.len() as u64) as usize] as char);
    }
    s
}

/// A local server: waits `delay`, then answers 200 to tokens whose last character is
/// uppercase and 401 to the rest.
fn serve(delay: Duration, served: Arc<AtomicU64>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let served = Arc::clone(&served);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&conn);
                let mut live = false;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    if line.to_ascii_lowercase().starts_with("authorization:") {
                        live = line.trim_end().ends_with(|c: char| c.is_ascii_uppercase());
                    }
                    line.clear();
                }
                served.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(delay);
                let (status, body) = if live {
                    ("200 OK", r#"{"login":"bench"}"#)
                } else {
                    ("401 Unauthorized", "{}")
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = (&conn).write_all(reply.as_bytes());
            });
        }
    });
    port
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unavailable (no /proc/self/status)".into())
}
