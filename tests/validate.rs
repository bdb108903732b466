//! `--validate`, `--only-live` and `keysweep revoke` through the binary: a stand-in for
//! GitHub's API on 127.0.0.1 (this machine cannot reach the real one; the base URL is
//! overridden with --validate-origin, as for GitHub Enterprise), and a real Redis server for
//! a database credential.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::{keysweep, need, runs};
use serde_json::Value;

// Fake tokens with valid checksums (the GitHub PAT rule's own examples).
const LIVE: &str = "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";
const DEAD: &str = "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";

/// A stand-in for api.github.com: `/user` answers 200 for LIVE and 401 otherwise;
/// `/credentials/revoke` answers 202. Records each request line and headers.
struct Github {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

fn github() -> Github {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let request = head + &String::from_utf8_lossy(&body);
            let (status, extra, answer) = if request.starts_with("GET /user ") {
                if request.contains(&format!("token {LIVE}")) {
                    (
                        "200 OK",
                        "x-oauth-scopes: repo, read:org\r\n",
                        r#"{"login":"octocat","id":1}"#,
                    )
                } else {
                    ("401 Unauthorized", "", r#"{"message":"Bad credentials"}"#)
                }
            } else if request.starts_with("POST /credentials/revoke ") {
                ("202 Accepted", "", "")
            } else {
                ("404 Not Found", "", "")
            };
            log.lock().unwrap().push(request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    Github { port, requests }
}

fn tokens_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deploy.env"),
        format!("GITHUB_TOKEN={LIVE}\nOLD_TOKEN={DEAD}\n"),
    )
    .unwrap();
    // The live token a second time: one request for both findings.
    std::fs::write(dir.path().join("ci.env"), format!("GH={LIVE}\n")).unwrap();
    dir
}

fn origin(gh: &Github) -> String {
    format!("https://api.github.com=http://127.0.0.1:{}", gh.port)
}

fn json(out: &std::process::Output) -> Vec<Value> {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn no_secret(out: &std::process::Output) {
    for text in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(text);
        assert!(!text.contains(LIVE) && !text.contains(DEAD), "{text}");
    }
}

#[test]
fn validate_reports_live_and_invalid_with_identity_and_one_request_per_secret() {
    let gh = github();
    let dir = tokens_dir();
    let o = origin(&gh);
    let out = keysweep(
        dir.path(),
        &[
            "scan",
            ".",
            "--no-config",
            "--format",
            "json",
            "--validate",
            "--allow-internal",
            "--validate-origin",
            &o,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_secret(&out);
    let found = json(&out);
    assert_eq!(found.len(), 3);
    let mut statuses: Vec<(String, String)> = found
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["validation"]["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [
            ("ci.env".to_string(), "live".to_string()),
            ("deploy.env".to_string(), "invalid".to_string()),
            ("deploy.env".to_string(), "live".to_string()),
        ]
    );
    let live = found
        .iter()
        .find(|f| f["validation"]["status"] == "live")
        .unwrap();
    let identity = &live["validation"]["identity"];
    assert!(
        identity
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "account" && f["value"] == "octocat"),
        "{identity}"
    );
    // Two distinct tokens, two requests: the second finding of LIVE came from the cache.
    let requests = gh.requests.lock().unwrap();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests
        .iter()
        .all(|r| r.contains("user-agent: keysweep") || r.contains("User-Agent: keysweep")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 live, 1 invalid"), "{stderr}");
}

#[test]
fn only_live_keeps_the_live_ones_and_sarif_carries_the_answer() {
    let gh = github();
    let dir = tokens_dir();
    let o = origin(&gh);
    let out = keysweep(
        dir.path(),
        &[
            "scan",
            "deploy.env",
            "--no-config",
            "--format",
            "sarif",
            "--only-live",
            "--allow-internal",
            "--validate-origin",
            &o,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    no_secret(&out);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["properties"]["validation"]["status"], "live");
}

#[test]
fn internal_addresses_are_refused_without_allow_internal() {
    let gh = github();
    let dir = tokens_dir();
    let o = origin(&gh);
    let out = keysweep(
        dir.path(),
        &[
            "scan",
            "deploy.env",
            "--no-config",
            "--format",
            "json",
            "--validate",
            "--validate-origin",
            &o,
        ],
    );
    no_secret(&out);
    for f in json(&out) {
        assert_eq!(f["validation"]["status"], "error", "{f}");
        assert!(f["validation"]["reason"]
            .as_str()
            .unwrap()
            .contains("internal address refused"));
    }
    assert!(gh.requests.lock().unwrap().is_empty());
}

#[test]
fn inventory_puts_live_secrets_first() {
    let gh = github();
    let dir = tokens_dir();
    let o = origin(&gh);
    let out = keysweep(
        dir.path(),
        &[
            "inventory",
            ".",
            "--no-config",
            "--validate",
            "--allow-internal",
            "--validate-origin",
            &o,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_secret(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let secrets = doc["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    assert_eq!(secrets[0]["validation"]["status"], "live");
    assert_eq!(secrets[1]["validation"]["status"], "invalid");
    assert!(secrets[0]["priority"].as_f64() > secrets[1]["priority"].as_f64());
}

#[test]
fn revoke_dry_run_shows_the_request_redacted_and_yes_revokes() {
    let gh = github();
    let dir = tokens_dir();
    let o = origin(&gh);
    let out = keysweep(
        dir.path(),
        &[
            "revoke",
            "deploy.env",
            "--no-config",
            "--dry-run",
            "--allow-internal",
            "--validate-origin",
            &o,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_secret(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("/credentials/revoke") && text.contains("[REDACTED]"),
        "{text}"
    );
    assert!(
        gh.requests.lock().unwrap().is_empty(),
        "a dry run sends nothing"
    );

    // No terminal and no --yes: refuses rather than revoking unasked.
    let out = Command::new(env!("CARGO_BIN_EXE_keysweep"))
        .current_dir(dir.path())
        .args([
            "revoke",
            "deploy.env",
            "--no-config",
            "--allow-internal",
            "--validate-origin",
            &o,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));

    let out = keysweep(
        dir.path(),
        &[
            "revoke",
            "deploy.env",
            "--no-config",
            "--yes",
            "--allow-internal",
            "--validate-origin",
            &o,
            "--rule",
            "github.pat.classic",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_secret(&out);
    let requests = gh.requests.lock().unwrap();
    assert_eq!(requests.len(), 2, "one revocation per token: {requests:?}");
    assert!(requests.iter().any(|r| r.contains(LIVE)) && requests.iter().any(|r| r.contains(DEAD)));
}

/// A real Redis server on a free loopback port, with a password.
struct Redis(Child, u16);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis(password: &str) -> Option<Redis> {
    if !need(
        "redis",
        runs("redis-server"),
        "apt-get install redis-server",
    ) {
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Redis(
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--requirepass", password])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        port,
    );
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("redis-server exited: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("redis-server did not start on port {port}");
}

#[test]
fn a_database_url_is_checked_against_the_real_server() {
    let right = "Xk9fQ2vLm7Pz";
    let Some(server) = redis(right) else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = server.1;
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("settings.env"),
        format!(
            "CACHE_URL=redis://:{right}@127.0.0.1:{port}/0\nOLD_CACHE_URL=redis://:Wq3nB8sT5yRc@127.0.0.1:{port}/0\nGONE_URL=redis://:Pz4mK7vX2qLs@127.0.0.1:{closed}/0\n"
        ),
    )
    .unwrap();
    let out = keysweep(
        dir.path(),
        &[
            "scan",
            ".",
            "--no-config",
            "--format",
            "json",
            "--validate",
            "--allow-internal",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(right) && !String::from_utf8_lossy(&out.stderr).contains(right));
    let found = json(&out);
    let status = |needle: &str| {
        found
            .iter()
            .find(|f| f["line"] == needle.parse::<u64>().unwrap())
            .map(|f| f["validation"]["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status("1").as_deref(), Some("live"), "{text}");
    assert_eq!(status("2").as_deref(), Some("invalid"), "{text}");
    assert_eq!(status("3").as_deref(), Some("error"), "{text}");
}

#[test]
fn a_sweep_validates_what_it_found_in_history() {
    let gh = github();
    let repo = common::Repo::new();
    repo.put("deploy.env", &format!("GITHUB_TOKEN={LIVE}\n"));
    repo.commit("add the deploy token");
    repo.put("deploy.env", "GITHUB_TOKEN=${GITHUB_TOKEN}\n");
    repo.commit("read it from the environment");
    let work = tempfile::tempdir().unwrap();
    let o = origin(&gh);
    let repo_path = repo.path.to_str().unwrap().to_string();
    let workdir = work.path().join("work");
    let outdir = work.path().join("out");
    let args = [
        "sweep",
        &repo_path,
        "--workdir",
        workdir.to_str().unwrap(),
        "--out",
        outdir.to_str().unwrap(),
        "--no-progress",
        "--validate",
        "--allow-internal",
        "--validate-origin",
        &o,
    ];
    let out = keysweep(work.path(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_secret(&out);
    let findings = std::fs::read_to_string(outdir.join("findings.jsonl")).unwrap();
    assert!(!findings.contains(LIVE), "redacted in the results");
    let first: Value = serde_json::from_str(findings.lines().next().unwrap()).unwrap();
    assert_eq!(first["validation"]["status"], "live", "{first}");
    let inventory: Value =
        serde_json::from_slice(&std::fs::read(outdir.join("inventory.json")).unwrap()).unwrap();
    assert_eq!(inventory["secrets"][0]["validation"]["status"], "live");
    assert_eq!(gh.requests.lock().unwrap().len(), 1);

    // The next sweep takes the answer from the workdir's answer store: no request.
    let store = std::fs::read(workdir.join("validation.redb")).unwrap();
    assert!(!store.windows(LIVE.len()).any(|w| w == LIVE.as_bytes()));
    let again = keysweep(work.path(), &args);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let findings = std::fs::read_to_string(outdir.join("findings.jsonl")).unwrap();
    let first: Value = serde_json::from_str(findings.lines().next().unwrap()).unwrap();
    assert_eq!(first["validation"]["status"], "live", "{first}");
    assert!(
        first["validation"]["reason"]
            .as_str()
            .unwrap()
            .contains("stored answer"),
        "{first}"
    );
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("1 from the answer store"), "{stderr}");
    assert_eq!(gh.requests.lock().unwrap().len(), 1, "no second request");
}

#[test]
fn a_scan_answers_from_its_store_until_the_answer_expires() {
    let gh = github();
    let dir = tokens_dir();
    let o = origin(&gh);
    let store = tempfile::tempdir().unwrap();
    let file = store.path().join("answers.redb");
    let run = |ttl: &str| {
        let out = keysweep(
            dir.path(),
            &[
                "scan",
                ".",
                "--no-config",
                "--format",
                "json",
                "--validate",
                "--allow-internal",
                "--validate-origin",
                &o,
                "--validate-store",
                file.to_str().unwrap(),
                "--validate-ttl",
                ttl,
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        no_secret(&out);
        let mut statuses: Vec<String> = json(&out)
            .iter()
            .map(|f| f["validation"]["status"].as_str().unwrap().to_string())
            .collect();
        statuses.sort();
        assert_eq!(statuses, ["invalid", "live", "live"]);
    };
    run("1h");
    assert_eq!(gh.requests.lock().unwrap().len(), 2);
    // Both answers (live and invalid) are kept: no request.
    run("1h");
    assert_eq!(gh.requests.lock().unwrap().len(), 2);
    // A time to live of 0 trusts nothing stored.
    run("0");
    assert_eq!(gh.requests.lock().unwrap().len(), 4);
    // A bad duration is refused by name.
    let out = keysweep(
        dir.path(),
        &["scan", ".", "--validate", "--validate-ttl", "soon"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a duration"));
}

#[test]
fn the_configuration_can_turn_validation_on() {
    let gh = github();
    let dir = tokens_dir();
    let o = origin(&gh);
    let plain = keysweep(dir.path(), &["scan", "deploy.env", "--format", "json"]);
    assert!(json(&plain).iter().all(|f| f.get("validation").is_none()));
    assert!(gh.requests.lock().unwrap().is_empty(), "off unless asked");
    std::fs::write(
        dir.path().join(".keysweep.toml"),
        "[scan]\nvalidate = true\n",
    )
    .unwrap();
    let out = keysweep(
        dir.path(),
        &[
            "scan",
            "deploy.env",
            "--config",
            ".keysweep.toml",
            "--format",
            "json",
            "--allow-internal",
            "--validate-origin",
            &o,
        ],
    );
    no_secret(&out);
    assert!(json(&out)
        .iter()
        .all(|f| f["validation"]["status"].is_string()));
    assert_eq!(gh.requests.lock().unwrap().len(), 2);
}

#[path = "../crates/keysweep-validate/tests/support/sshd.rs"]
mod sshd;

/// An SSH key is tried on the host its file names only with --validate-ssh: a real sshd
/// lets it in then; without the flag nothing connects.
#[test]
fn an_ssh_key_is_tried_on_the_host_its_file_names_only_when_asked() {
    if !sshd::need_sshd() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key = sshd::keygen(keys.path(), "id_ed25519", "ed25519", &[], "");
    let server = sshd::Sshd::start(keys.path(), &[&key.public]);
    let user = sshd::current_user();
    std::fs::write(
        dir.path().join("deploy.sh"),
        format!(
            "#!/bin/sh\ncat > /tmp/k <<'KEY'\n{}KEY\nssh -i /tmp/k -p {} {user}@127.0.0.1 'systemctl restart app'\n",
            key.private, server.port
        ),
    )
    .unwrap();
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", ".", "--no-config", "--format", "json"];
        args.extend_from_slice(extra);
        let out = keysweep(dir.path(), &args);
        let shown = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        for line in key.private.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!shown.contains(line.trim()), "key material shown: {shown}");
        }
        let found = json(&out);
        assert_eq!(found.len(), 1, "{shown}");
        (found[0]["validation"].clone(), shown)
    };

    let (v, shown) = scan(&["--validate", "--allow-internal"]);
    assert_eq!(v["status"], "unknown", "{shown}");
    assert!(
        v["reason"].as_str().unwrap().contains("--validate-ssh"),
        "{v}"
    );
    assert!(shown.contains("1 SSH key(s) not tried"), "{shown}");
    assert_eq!(server.connections(), 0, "{}", server.log_text());

    let (v, shown) = scan(&["--validate", "--validate-ssh"]);
    assert_eq!(v["status"], "error", "{shown}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("internal address refused"),
        "{v}"
    );
    assert_eq!(server.connections(), 0, "{}", server.log_text());

    let (v, shown) = scan(&["--validate", "--validate-ssh", "--allow-internal"]);
    assert_eq!(v["status"], "live", "{shown}\n{}", server.log_text());
    let identity = v["identity"].as_array().unwrap();
    let account = format!("{user}@127.0.0.1:{}", server.port);
    assert!(
        identity
            .iter()
            .any(|f| f["name"] == "account" && f["value"] == account.as_str()),
        "{v}"
    );
    assert!(
        identity
            .iter()
            .any(|f| f["name"] == "fingerprint" && f["value"] == key.fingerprint.as_str()),
        "{v}"
    );
    assert_eq!(server.connections(), 1, "{}", server.log_text());

    // --validate-ssh alone would validate nothing: it says so.
    let out = keysweep(dir.path(), &["scan", ".", "--no-config", "--validate-ssh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add --validate"));
}
