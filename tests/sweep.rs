//! End-to-end tests of `keysweep sweep` on repositories built with the git CLI: what it
//! reports equals `scan --git`, re-sweeps read only what changed, and an interrupted or damaged
//! sweep loses nothing.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{keysweep, Repo};
use serde_json::Value;

/// Fake credentials (right format, never issued).
const GH: &str = "ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u";
const SLACK: &str = "xoxb-4279965680133-8722359450601-SG2fdI4QYaoOc6fzlDHhRC53";
const STRIPE: &str = "sk_live_ESy7UK5YE60Mld2X2dZgxT12";

fn sweep(dir: &Path, repos: &[&str], extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "sweep",
        "--workdir",
        "work",
        "--out",
        "out",
        "--no-progress",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(repos);
    let out = keysweep(dir, &args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn jsonl(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (repository root, blob, rule, line) of each finding: what must not change between runs.
fn keys(rows: &[Value]) -> BTreeSet<(String, String, String, u64)> {
    rows.iter()
        .map(|r| {
            (
                r["repository"]["root"].as_str().unwrap_or("").to_string(),
                r["git"]["blob"].as_str().unwrap_or("").to_string(),
                r["rule_id"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn audit_of<'a>(audit: &'a [Value], repo: &str) -> &'a Value {
    audit
        .iter()
        .find(|a| a["repo"] == repo)
        .unwrap_or_else(|| panic!("no audit record for {repo}: {audit:?}"))
}

/// Three repositories: one with a secret removed in a later commit, one with two, one clean.
fn repos() -> (Repo, Repo, Repo) {
    let a = Repo::new();
    a.put(".env", &format!("GITHUB_TOKEN={GH}\n"));
    a.commit("settings");
    a.put(".env", "GITHUB_TOKEN=${GITHUB_TOKEN}\n");
    a.commit("use the environment");
    let b = Repo::new();
    b.put(
        "deploy/app.yml",
        &format!("slack: {SLACK}\nstripe: {STRIPE}\n"),
    );
    b.commit("deploy");
    b.git(&["tag", "v1"]);
    let c = Repo::new();
    c.put("README.md", "nothing to see\n");
    c.commit("readme");
    (a, b, c)
}

#[test]
fn a_sweep_matches_scan_git_and_a_resweep_reads_nothing() {
    let (a, b, c) = repos();
    let dir = tempfile::tempdir().unwrap();
    let not_git = dir.path().join("not-git");
    fs::create_dir(&not_git).unwrap();
    let paths: Vec<String> = [&a.path, &b.path, &c.path, &not_git]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let url = format!("file://{}", b.path.display());
    let mut args: Vec<&str> = paths.iter().map(String::as_str).collect();
    args.push(&url);

    let (code, stderr) = sweep(dir.path(), &args, &[]);
    assert_eq!(
        code, 2,
        "a repository that cannot be swept fails the run: {stderr}"
    );
    assert!(stderr.contains("not a git repository"), "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    assert_eq!(audit.len(), 5, "{audit:?}");
    for a in &audit {
        for field in [
            "repo",
            "status",
            "blobs_scanned",
            "blobs_cached",
            "findings",
            "seconds",
        ] {
            assert!(a.get(field).is_some(), "{field} missing in {a}");
        }
    }
    assert_eq!(audit_of(&audit, &paths[0])["status"], "swept");
    assert_eq!(audit_of(&audit, &paths[0])["findings"], 1);
    assert_eq!(audit_of(&audit, &paths[1])["findings"], 2);
    assert_eq!(audit_of(&audit, &paths[2])["findings"], 0);
    assert_eq!(audit_of(&audit, &paths[3])["status"], "failed");
    let cloned = audit_of(&audit, &url);
    assert_eq!(cloned["status"], "swept");
    assert_eq!(cloned["findings"], 2);
    assert_eq!(
        cloned["blobs_scanned"], 0,
        "the clone's blobs were scanned already, in the local repository: {cloned}"
    );
    assert!(cloned["tips"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["ref"] == "refs/tags/v1"));

    // The same findings as `scan --git`, repository by repository, and nothing revealed.
    let found = jsonl(&dir.path().join("out/findings.jsonl"));
    let text = fs::read_to_string(dir.path().join("out/findings.jsonl")).unwrap();
    assert!(
        !text.contains(GH) && !text.contains(STRIPE),
        "secrets are redacted"
    );
    for repo in [&a.path, &b.path] {
        let out = keysweep(
            Path::new("/"),
            &[
                "scan",
                "--git",
                "-f",
                "jsonl",
                "--no-progress",
                repo.to_str().unwrap(),
            ],
        );
        let scanned: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let root = scanned[0]["repository"]["root"].clone();
        let swept: Vec<Value> = found
            .iter()
            .filter(|r| r["repository"]["root"] == root)
            .cloned()
            .collect();
        assert_eq!(keys(&swept), keys(&scanned), "{}", repo.display());
    }
    let removed = found
        .iter()
        .find(|r| r["rule_id"] == "github.pat.classic")
        .unwrap();
    assert_eq!(removed["git"]["present_at_head"], false, "{removed}");
    let inventory: Value =
        serde_json::from_slice(&fs::read(dir.path().join("out/inventory.json")).unwrap()).unwrap();
    assert_eq!(
        inventory["summary"]["secrets"], 3,
        "{}",
        inventory["summary"]
    );

    // Nothing changed: every repository is taken from the cache, with the same findings.
    let (code, _) = sweep(dir.path(), &args[..3], &[]);
    assert_eq!(code, 0);
    let again = jsonl(&dir.path().join("out/audit.jsonl"));
    for a in &again {
        assert_eq!(a["mode"], "unchanged", "{a}");
        assert_eq!(a["blobs_scanned"], 0, "{a}");
    }
    let found_again = jsonl(&dir.path().join("out/findings.jsonl"));
    let local: Vec<Value> = found
        .iter()
        .filter(|r| {
            !r["repository"]["root"]
                .as_str()
                .unwrap()
                .contains("/work/repos/")
        })
        .cloned()
        .collect();
    assert_eq!(keys(&found_again), keys(&local));
}

#[test]
fn new_commits_are_swept_incrementally_and_rules_changes_scan_again() {
    let (a, b, _c) = repos();
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (a.path.display().to_string(), b.path.display().to_string());
    let (code, stderr) = sweep(dir.path(), &[&pa, &pb], &[]);
    assert_eq!(code, 0, "{stderr}");

    // One new commit in `a` that brings a secret back, one in `b` that removes one.
    a.put(
        "config/prod.env",
        &format!("# production\nGITHUB_TOKEN={GH}\n"),
    );
    a.put("docs/notes.md", "notes\n");
    a.commit("prod settings");
    b.put("deploy/app.yml", &format!("slack: {SLACK}\n"));
    b.commit("drop stripe");
    b.git(&["tag", "-a", "v2", "-m", "an annotated tag"]);
    let (code, stderr) = sweep(dir.path(), &[&pa, &pb], &[]);
    assert_eq!(code, 0, "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    let ra = audit_of(&audit, &pa);
    assert_eq!(ra["mode"], "incremental", "{ra}");
    assert_eq!(ra["blobs_scanned"], 2, "only the two new blobs: {ra}");
    let rb = audit_of(&audit, &pb);
    assert_eq!(rb["mode"], "incremental", "{rb}");
    assert_eq!(rb["blobs_scanned"], 1, "{rb}");
    let found = jsonl(&dir.path().join("out/findings.jsonl"));
    let gh: Vec<&Value> = found
        .iter()
        .filter(|r| r["rule_id"] == "github.pat.classic")
        .collect();
    assert_eq!(gh.len(), 2, "the old blob and the new one");
    assert!(
        gh.iter().all(|r| r["git"]["present_at_head"] == true),
        "{gh:?}"
    );
    let stripe = found
        .iter()
        .find(|r| r["rule_id"] == "stripe.secret_key.live")
        .unwrap();
    assert_eq!(
        stripe["git"]["present_at_head"], false,
        "removed in b's new commit"
    );

    // A full scan of the same repositories now reports the same.
    let full = tempfile::tempdir().unwrap();
    let (code, _) = sweep(full.path(), &[&pa, &pb], &[]);
    assert_eq!(code, 0);
    let fresh = jsonl(&full.path().join("out/findings.jsonl"));
    assert_eq!(keys(&fresh), keys(&found));

    // Another rule set: every blob is scanned again, and the new rule's finding appears.
    fs::write(
        dir.path().join("extra.toml"),
        r#"[[rule]]
id = "acme.notes"
name = "notes"
description = "test rule"
keywords = ["notes"]
pattern = '(?P<secret>notes)'
confidence = "low"
tags = ["misc"]
references = []
examples = [{ text = "notes", secret = "notes" }]
negative_examples = ["note"]
"#,
    )
    .unwrap();
    let (code, stderr) = sweep(dir.path(), &[&pa], &["--rules", "extra.toml"]);
    assert_eq!(code, 0, "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    assert_eq!(audit[0]["mode"], "full", "{}", audit[0]);
    assert_eq!(audit[0]["blobs_cached"], 0, "{}", audit[0]);
    let found = jsonl(&dir.path().join("out/findings.jsonl"));
    assert!(found.iter().any(|r| r["rule_id"] == "acme.notes"));
}

/// Twelve small repositories, each with one secret.
fn many(n: usize) -> Vec<Repo> {
    (0..n)
        .map(|i| {
            let r = Repo::new();
            for j in 0..30 {
                r.put(&format!("src/file{j}.txt"), &format!("line {i} {j}\n"));
            }
            r.put(".env", &format!("GITHUB_TOKEN={GH}\nREPO={i}\n"));
            r.commit("first");
            r
        })
        .collect()
}

#[test]
fn a_killed_sweep_resumes_and_loses_nothing() {
    let repos = many(12);
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<String> = repos.iter().map(|r| r.path.display().to_string()).collect();
    let list = dir.path().join("repos.txt");
    fs::write(&list, paths.join("\n")).unwrap();

    // The reference: one uninterrupted sweep in another work directory.
    let reference = tempfile::tempdir().unwrap();
    let out = keysweep(
        reference.path(),
        &[
            "sweep",
            "--workdir",
            "w",
            "--out",
            "o",
            "--no-progress",
            "--repos-from",
            list.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let expected = keys(&jsonl(&reference.path().join("o/findings.jsonl")));
    assert_eq!(expected.len(), 12);

    // kill -9 as soon as the first repository is done.
    let mut child = Command::new(env!("CARGO_BIN_EXE_keysweep"))
        .current_dir(dir.path())
        .args([
            "sweep",
            "--workdir",
            "work",
            "--out",
            "out",
            "--no-progress",
            "--threads",
            "1",
        ])
        .arg("--repos-from")
        .arg(&list)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let audit_path = dir.path().join("out/audit.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while fs::read_to_string(&audit_path).map_or(true, |t| t.lines().count() < 1) {
        assert!(
            Instant::now() < deadline,
            "the sweep never finished a repository"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    let done_before_kill = fs::read_to_string(&audit_path).unwrap().lines().count();
    assert!(
        done_before_kill < 12,
        "the sweep finished before it could be killed; the test proves nothing"
    );

    let (code, stderr) = sweep(dir.path(), &["--repos-from", list.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{stderr}");
    let audit = jsonl(&audit_path);
    assert_eq!(audit.len(), 12);
    assert!(
        audit.iter().any(|a| a["mode"] == "unchanged"),
        "what was done before the kill is not done again: {audit:?}"
    );
    let found = keys(&jsonl(&dir.path().join("out/findings.jsonl")));
    let strip = |k: &BTreeSet<(String, String, String, u64)>| -> BTreeSet<(String, String, u64)> {
        k.iter()
            .map(|(root, b, r, l)| (root.clone(), format!("{b}{r}"), *l))
            .collect()
    };
    assert_eq!(strip(&found), strip(&expected));
}

#[test]
fn a_damaged_cache_is_rebuilt_and_reported() {
    let (a, b, _c) = repos();
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (a.path.display().to_string(), b.path.display().to_string());
    assert_eq!(sweep(dir.path(), &[&pa, &pb], &[]).0, 0);
    let before = keys(&jsonl(&dir.path().join("out/findings.jsonl")));
    let cache: PathBuf = dir.path().join("work/cache.redb");
    let mut bytes = fs::read(&cache).unwrap();
    for b in bytes.iter_mut().take(4096) {
        *b ^= 0x5a;
    }
    fs::write(&cache, bytes).unwrap();
    let (code, stderr) = sweep(dir.path(), &[&pa, &pb], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("damaged"), "{stderr}");
    assert!(dir.path().join("work/cache.redb.damaged").exists());
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    assert!(audit.iter().all(|a| a["mode"] == "full"), "{audit:?}");
    assert_eq!(keys(&jsonl(&dir.path().join("out/findings.jsonl"))), before);
}

#[test]
fn two_sweeps_on_one_workdir_are_refused() {
    let (a, _b, _c) = repos();
    let dir = tempfile::tempdir().unwrap();
    let pa = a.path.display().to_string();
    assert_eq!(sweep(dir.path(), &[&pa], &[]).0, 0);
    // Another sweep holds the work directory's lock.
    let lock = fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("work/lock"))
        .unwrap();
    lock.lock().unwrap();
    let (code, stderr) = sweep(dir.path(), &[&pa], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("another sweep is using the work directory"),
        "{stderr}"
    );
    drop(lock);
    assert_eq!(sweep(dir.path(), &[&pa], &[]).0, 0);
}

/// A tiny HTTP/1.1 server on 127.0.0.1 that answers like a forge's REST API: `answer` gets the
/// request target and headers (lowercase names) and returns (status, headers, body). Requests
/// are recorded.
struct FakeApi {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Request>>>,
}

/// A request as the fake API saw it: its target and headers.
type Request = (String, Vec<(String, String)>);

type Answer = (u16, Vec<(String, String)>, String);

impl FakeApi {
    fn start(answer: impl Fn(&str, usize, &str) -> Answer + Send + 'static) -> FakeApi {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let base = url.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
                    }
                }
                log.lock().unwrap().push((target.clone(), headers));
                let (status, extra, body) = answer(&target, n, &base);
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in extra {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                let _ = stream.write_all(format!("{head}\r\n{body}").as_bytes());
            }
        });
        FakeApi { url, seen }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_github_organisation_is_listed_page_by_page_through_a_rate_limit() {
    let (a, b, c) = repos();
    let urls: Vec<String> = [&a, &b, &c]
        .iter()
        .map(|r| format!("file://{}", r.path.display()))
        .collect();
    let item = |u: &str, i: usize| {
        format!(r#"{{"full_name":"acme/r{i}","clone_url":"{u}","archived":false}}"#)
    };
    let page1 = format!("[{},{}]", item(&urls[0], 0), item(&urls[1], 1));
    let page2 = format!("[{}]", item(&urls[2], 2));
    let api = FakeApi::start(move |target, n, base| {
        if n == 0 {
            // The first answer is a rate limit that resets in a second.
            return (
                403,
                vec![
                    ("x-ratelimit-remaining".into(), "0".into()),
                    ("x-ratelimit-reset".into(), (now() + 1).to_string()),
                ],
                r#"{"message":"API rate limit exceeded"}"#.into(),
            );
        }
        if target.starts_with("/orgs/acme/repos") && !target.contains("page=2") {
            let link = format!(r#"<{base}/orgs/acme/repos?per_page=100&page=2>; rel="next""#);
            (200, vec![("link".into(), link)], page1.clone())
        } else if target.contains("page=2") {
            (200, vec![], page2.clone())
        } else {
            (404, vec![], r#"{"message":"Not Found"}"#.into())
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let token = "tok_Zq8vR2mT6pL9wX3n";
    let out = Command::new(env!("CARGO_BIN_EXE_keysweep"))
        .current_dir(dir.path())
        .env("GITHUB_TOKEN", token)
        .args([
            "sweep",
            "--workdir",
            "work",
            "--out",
            "out",
            "--no-progress",
        ])
        .args(["--github-org", "acme", "--github-api", &api.url])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("rate limited"), "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    let swept: BTreeSet<&str> = audit.iter().map(|a| a["repo"].as_str().unwrap()).collect();
    assert_eq!(swept, urls.iter().map(String::as_str).collect());
    assert!(audit.iter().all(|a| a["status"] == "swept"), "{audit:?}");
    let seen = api.seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "rate limit, page 1, page 2: {seen:?}");
    for (_, headers) in seen.iter() {
        assert!(headers
            .iter()
            .any(|(k, v)| k == "authorization" && *v == format!("Bearer {token}")));
    }
    // The token is in no output, message or clone configuration.
    for f in [
        "out/audit.jsonl",
        "out/findings.jsonl",
        "out/inventory.json",
    ] {
        assert!(
            !fs::read_to_string(dir.path().join(f))
                .unwrap()
                .contains(token),
            "{f}"
        );
    }
    assert!(!stderr.contains(token));
    for entry in fs::read_dir(dir.path().join("work/repos")).unwrap() {
        let config = fs::read_to_string(entry.unwrap().path().join("config")).unwrap();
        assert!(
            !config.contains(token) && !config.contains("extraHeader"),
            "{config}"
        );
    }
}

#[test]
fn a_gitlab_group_with_subgroups_and_a_refused_listing() {
    let (a, _b, _c) = repos();
    let url = format!("file://{}", a.path.display());
    let api = FakeApi::start(move |target, _, _| {
        if target.starts_with("/groups/acme%2Fplatform/projects") {
            if target.contains("page=2") {
                let body = format!(
                    r#"[{{"path_with_namespace":"acme/platform/sub/a","http_url_to_repo":"{url}"}}]"#
                );
                (200, vec![("x-next-page".into(), String::new())], body)
            } else {
                (200, vec![("x-next-page".into(), "2".into())], "[]".into())
            }
        } else {
            (401, vec![], r#"{"message":"401 Unauthorized"}"#.into())
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let token = "glpat-Zq8vR2mT6pL9wX3nQ4k7";
    let run = |group: &str| {
        Command::new(env!("CARGO_BIN_EXE_keysweep"))
            .current_dir(dir.path())
            .env("GITLAB_TOKEN", token)
            .args([
                "sweep",
                "--workdir",
                "work",
                "--out",
                "out",
                "--no-progress",
            ])
            .args([
                "--gitlab-group",
                group,
                "--include-subgroups",
                "--gitlab-api",
                &api.url,
            ])
            .output()
            .unwrap()
    };
    let out = run("acme/platform");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["findings"], 1);
    {
        let seen = api.seen.lock().unwrap();
        assert!(seen[0].0.contains("include_subgroups=true"), "{seen:?}");
        assert!(seen[0]
            .1
            .iter()
            .any(|(k, v)| k == "private-token" && v == token));
    }

    let out = run("other");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("token was refused"), "{stderr}");
    assert!(!stderr.contains(token), "{stderr}");
}

#[test]
fn a_full_disk_under_the_cache_loses_no_finding() {
    let (a, b, _c) = repos();
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=600k", "tmpfs"])
        .arg(&small)
        .status()
        .is_ok_and(|s| s.success());
    if !common::need(
        "tmpfs",
        mounted,
        "run the tests as root (they mount a 600 KiB tmpfs to fill the disk)",
    ) {
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(small.clone());
    // Leave about 40 KiB: the cache starts, then cannot take the second repository.
    fs::write(small.join("fill"), vec![0u8; 560 * 1024]).unwrap();
    let (pa, pb) = (a.path.display().to_string(), b.path.display().to_string());
    let workdir = small.join("work");
    let out = keysweep(
        dir.path(),
        &[
            "sweep",
            "--workdir",
            workdir.to_str().unwrap(),
            "--out",
            "out",
            "--no-progress",
            &pa,
            &pb,
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains("scanned again next time"), "{stderr}");
    let found = jsonl(&dir.path().join("out/findings.jsonl"));
    assert_eq!(found.len(), 3, "every finding is reported: {found:?}");
}

/// Everything a finding says about where it is in history, by repository id (a clone's root
/// differs between work directories; its id does not).
fn provenance(rows: &[Value]) -> BTreeSet<String> {
    rows.iter()
        .map(|r| {
            let g = &r["git"];
            format!(
                "{} {} {} {} line {} commit {} refs {} of {} at head {} path {}",
                r["repository"]["id"],
                g["blob"],
                r["rule_id"],
                r["fingerprint"],
                r["line"],
                g["commit"],
                g["refs"],
                g["refs_total"],
                g["present_at_head"],
                r["path"],
            )
        })
        .collect()
}

/// Sweeps `repos` into a new work directory: what a fresh sweep of them reports now.
fn fresh(repos: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = sweep(dir.path(), repos, &[]);
    assert_eq!(code, 0, "{stderr}");
    jsonl(&dir.path().join("out/findings.jsonl"))
}

#[test]
fn a_force_pushed_branch_loses_the_findings_of_its_abandoned_commits() {
    let src = Repo::new();
    src.put("README.md", "hello\n");
    src.commit("readme");
    src.put(".env", &format!("GITHUB_TOKEN={GH}\n"));
    src.commit("settings");
    src.put("docs/notes.md", "notes\n");
    src.commit("notes");
    let url = format!("file://{}", src.path.display());
    let path = src.path.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = sweep(dir.path(), &[&url, &path], &[]);
    assert_eq!(code, 0, "{stderr}");
    let before = jsonl(&dir.path().join("out/findings.jsonl"));
    assert_eq!(
        before
            .iter()
            .filter(|r| r["rule_id"] == "github.pat.classic")
            .count(),
        2,
        "the clone and the local repository: {before:?}"
    );

    // The settings commit is dropped from main, and main force-pushed (the clone fetches it
    // with a forced update).
    src.git(&["reset", "-q", "--hard", "HEAD~2"]);
    src.put("docs/notes.md", "notes\n");
    src.put("deploy/app.yml", &format!("slack: {SLACK}\n"));
    src.commit("notes and deploy");
    let (code, stderr) = sweep(dir.path(), &[&url, &path], &[]);
    assert_eq!(code, 0, "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    for repo in [&url, &path] {
        let a = audit_of(&audit, repo);
        assert_eq!(a["mode"], "full", "{a}");
        assert_eq!(
            a["rewritten_refs"],
            serde_json::json!(["refs/heads/main"]),
            "{a}"
        );
        let reason = a["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("refs/heads/main") && reason.contains("rewritten"),
            "{a}"
        );
    }
    let found = jsonl(&dir.path().join("out/findings.jsonl"));
    assert!(
        found.iter().all(|r| r["rule_id"] != "github.pat.classic"),
        "the abandoned commit's finding is gone: {found:?}"
    );
    assert_eq!(provenance(&found), provenance(&fresh(&[&url, &path])));
}

#[test]
fn refs_of_findings_after_a_resweep_are_those_of_a_fresh_sweep() {
    let src = Repo::new();
    src.put(".env", &format!("GITHUB_TOKEN={GH}\n"));
    src.commit("settings");
    src.git(&["branch", "topic"]);
    src.put("README.md", "hello\n");
    src.commit("readme");
    let url = format!("file://{}", src.path.display());
    let path = src.path.display().to_string();
    let repos = [url.as_str(), path.as_str()];
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(sweep(dir.path(), &repos, &[]).0, 0);

    // New refs reach the old finding's commit: a branch with a commit of its own (a new
    // finding), a tag, and main merging the branch.
    src.git(&["checkout", "-q", "-b", "feature"]);
    src.put("deploy/app.yml", &format!("slack: {SLACK}\n"));
    src.commit("deploy");
    src.git(&["checkout", "-q", "main"]);
    src.git(&["tag", "v1"]);
    let (code, stderr) = sweep(dir.path(), &repos, &[]);
    assert_eq!(code, 0, "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    for repo in repos {
        assert_eq!(audit_of(&audit, repo)["mode"], "incremental", "{audit:?}");
    }
    let found = jsonl(&dir.path().join("out/findings.jsonl"));
    let gh = found
        .iter()
        .find(|r| r["rule_id"] == "github.pat.classic")
        .unwrap();
    assert_eq!(
        gh["git"]["refs"],
        serde_json::json!([
            "refs/heads/main",
            "refs/heads/feature",
            "refs/heads/topic",
            "refs/tags/v1"
        ]),
        "{gh}"
    );
    assert_eq!(gh["git"]["refs_total"], 4, "{gh}");
    assert_eq!(provenance(&found), provenance(&fresh(&repos)));

    // A branch deleted whose commits other refs still reach: still incremental (nothing
    // leaves history), and the branch leaves the refs lists.
    src.git(&["branch", "-q", "-D", "topic"]);
    src.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    src.git(&["branch", "-q", "-D", "feature"]);
    let (code, stderr) = sweep(dir.path(), &[&path], &[]);
    assert_eq!(code, 0, "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    let a = audit_of(&audit, &path);
    assert_eq!(a["mode"], "incremental", "{a}");
    assert_eq!(
        a["deleted_refs"],
        serde_json::json!(["refs/heads/feature", "refs/heads/topic"]),
        "{a}"
    );
    let found = jsonl(&dir.path().join("out/findings.jsonl"));
    let refs_of = |rule: &str| {
        found
            .iter()
            .find(|r| r["rule_id"] == rule)
            .map(|r| r["git"]["refs"].clone())
    };
    assert_eq!(
        refs_of("github.pat.classic"),
        Some(serde_json::json!(["refs/heads/main", "refs/tags/v1"])),
        "{found:?}"
    );
    assert_eq!(
        refs_of("slack.token.bot"),
        Some(serde_json::json!(["refs/heads/main"])),
        "{found:?}"
    );
    assert_eq!(provenance(&found), provenance(&fresh(&[&path])));

    // Only a ref added (no commit, no finding): the cache keeps the refs brought up to date
    // (findings are written back only when something changed), so the next sweep, with
    // nothing changed, reports them as a fresh sweep does.
    src.git(&["tag", "v2"]);
    let (code, stderr) = sweep(dir.path(), &[&path], &[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = sweep(dir.path(), &[&path], &[]);
    assert_eq!(code, 0, "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    assert_eq!(audit_of(&audit, &path)["mode"], "unchanged", "{audit:?}");
    let found = jsonl(&dir.path().join("out/findings.jsonl"));
    assert_eq!(
        refs_of_in(&found, "github.pat.classic"),
        Some(serde_json::json!([
            "refs/heads/main",
            "refs/tags/v1",
            "refs/tags/v2"
        ])),
        "{found:?}"
    );
    assert_eq!(provenance(&found), provenance(&fresh(&[&path])));
}

fn refs_of_in(found: &[Value], rule: &str) -> Option<Value> {
    found
        .iter()
        .find(|r| r["rule_id"] == rule)
        .map(|r| r["git"]["refs"].clone())
}

#[test]
fn a_branch_from_an_old_commit_merged_later_is_swept_from_the_kept_commits() {
    // The re-sweep walks only commits its last sweep did not know (kept in the cache): a branch
    // started at an old commit (not a tip) and merged into main must still be found whole,
    // with the refs and provenance of a fresh sweep.
    let src = Repo::new();
    src.put(".env", &format!("GITHUB_TOKEN={GH}\n"));
    src.commit("settings");
    src.put("README.md", "hello\n");
    src.commit("readme");
    src.put("docs/a.md", "a\n");
    src.commit("docs");
    let path = src.path.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(sweep(dir.path(), &[&path], &[]).0, 0);

    src.git(&["checkout", "-q", "-b", "fix", "HEAD~2"]);
    src.put("deploy/app.yml", &format!("slack: {SLACK}\n"));
    src.commit("deploy");
    src.git(&["checkout", "-q", "main"]);
    src.git(&["merge", "-q", "--no-ff", "-m", "merge fix", "fix"]);
    let (code, stderr) = sweep(dir.path(), &[&path], &[]);
    assert_eq!(code, 0, "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    let a = audit_of(&audit, &path);
    assert_eq!(a["mode"], "incremental", "{a}");
    // The new blobs only: deploy/app.yml (the merge adds no blob of its own).
    assert_eq!(a["blobs_scanned"], 1, "{a}");
    let found = jsonl(&dir.path().join("out/findings.jsonl"));
    assert!(
        found.iter().any(|r| r["rule_id"] == "slack.token.bot"),
        "{found:?}"
    );
    assert_eq!(provenance(&found), provenance(&fresh(&[&path])));

    // Once more, with nothing new but a tag on an old commit: refs change, nothing is read.
    src.git(&["tag", "v0", "HEAD~1"]);
    let (code, stderr) = sweep(dir.path(), &[&path], &[]);
    assert_eq!(code, 0, "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    assert_eq!(audit_of(&audit, &path)["blobs_scanned"], 0, "{audit:?}");
    let found = jsonl(&dir.path().join("out/findings.jsonl"));
    assert_eq!(provenance(&found), provenance(&fresh(&[&path])));
}

/// Runs `keysweep` with `args` in `dir`, killing it should it run a minute (a clone that waits
/// for a password nobody types).
fn keysweep_bounded(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keysweep"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the sweep hung; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn clones_refused_for_bad_credentials_fail_alone_and_quote_no_secret() {
    // One local server is both the forge's API and its git host. The API lists a private
    // repository on it and a public one elsewhere; git's smart-HTTP `info/refs` answers 401
    // whatever the credentials.
    let (a, _b, _c) = repos();
    let public = format!("file://{}", a.path.display());
    let listing = public.clone();
    let host = FakeApi::start(move |target, _, base| {
        if target.starts_with("/orgs/acme/repos") {
            let body = format!(
                r#"[{{"full_name":"acme/private","clone_url":"{base}/acme/private.git"}},
                   {{"full_name":"acme/public","clone_url":"{listing}"}}]"#
            );
            (200, vec![], body)
        } else {
            (
                401,
                vec![("WWW-Authenticate".into(), r#"Basic realm="git""#.into())],
                String::new(),
            )
        }
    });
    let token = "tok_Wd4Kp8Nq2Rs6Tv9Y";
    let password = "pw_Hq7Zt3Lr9Xk2Vb5N";
    let authority = host.url.trim_start_matches("http://").to_string();
    // Also given by URL with a user and password: gix will not send those in clear text.
    let with_password = format!("http://bot:{password}@{authority}/acme/other.git");
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keysweep"))
        .current_dir(dir.path())
        .env("GITHUB_TOKEN", token)
        .env("NO_COLOR", "1")
        .args([
            "sweep",
            "--workdir",
            "work",
            "--out",
            "out",
            "--no-progress",
            "--github-org",
            "acme",
            "--github-api",
            &host.url,
            &with_password,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the sweep waits for credentials");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "not every repository was swept: {stderr}"
    );
    assert!(stderr.contains("2 failed"), "{stderr}");

    let seen = host.seen.lock().unwrap().clone();
    let asked: Vec<&Request> = seen
        .iter()
        .filter(|(t, _)| t.starts_with("/acme/private.git/info/refs"))
        .collect();
    assert!(
        !asked.is_empty(),
        "the private clone asked the host: {seen:?}"
    );
    let header = "Authorization: Basic ".len();
    let basic = keysweep_sweep::basic_auth("x-access-token", token);
    assert!(
        asked[0]
            .1
            .iter()
            .any(|(k, v)| k == "authorization" && v[6..] == basic[header..]),
        "with the token: {asked:?}"
    );
    assert!(
        !seen.iter().any(|(t, _)| t.contains("other.git")),
        "the password was not sent over clear-text HTTP: {seen:?}"
    );

    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    assert_eq!(audit.len(), 3, "{audit:?}");
    let private = audit_of(&audit, &format!("{}/acme/private.git", host.url));
    assert_eq!(private["status"], "failed", "{private}");
    let error = private["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("cannot clone") && error.contains("credentials") && error.contains("401"),
        "the reason says the credentials were refused: {error}"
    );
    assert!(!error.contains("terminal"), "no prompt was tried: {error}");
    let other = audit_of(&audit, &format!("http://{authority}/acme/other.git"));
    assert_eq!(other["status"], "failed", "{other}");
    assert!(
        other["error"]
            .as_str()
            .unwrap_or_default()
            .contains("clear text"),
        "{other}"
    );
    let swept = audit_of(&audit, &public);
    assert_eq!(swept["status"], "swept", "the sweep went on: {swept}");
    assert_eq!(swept["findings"], 1, "{swept}");

    let mut texts = vec![("stderr".to_string(), stderr.clone())];
    for f in [
        "out/audit.jsonl",
        "out/findings.jsonl",
        "out/inventory.json",
    ] {
        texts.push((
            f.to_string(),
            fs::read_to_string(dir.path().join(f)).unwrap(),
        ));
    }
    for (what, text) in texts {
        for secret in [token, password, &basic[header..]] {
            assert!(!text.contains(secret), "{what} quotes a credential: {text}");
        }
    }
    // Nothing half-cloned is left behind to hold the URL either: only the public clone.
    let left: Vec<String> = fs::read_dir(dir.path().join("work/repos"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.len() == 1 && left[0].starts_with("repo-"), "{left:?}");
}

#[test]
fn a_listed_repository_deleted_before_its_clone_fails_alone() {
    let (a, b, _c) = repos();
    let gone = tempfile::tempdir().unwrap();
    let gone_url = format!("file://{}/r1.git", gone.path().display());
    drop(gone); // deleted between the listing and the clone
    let urls = [
        format!("file://{}", a.path.display()),
        gone_url.clone(),
        format!("file://{}", b.path.display()),
    ];
    let body = format!(
        "[{}]",
        urls.iter()
            .enumerate()
            .map(|(i, u)| format!(r#"{{"full_name":"acme/r{i}","clone_url":"{u}"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let api = FakeApi::start(move |_, _, _| (200, vec![], body.clone()));
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = keysweep_bounded(
        dir.path(),
        &[
            "sweep",
            "--workdir",
            "work",
            "--out",
            "out",
            "--no-progress",
            "--github-org",
            "acme",
            "--github-api",
            &api.url,
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    assert_eq!(audit.len(), 3, "{audit:?}");
    let failed = audit_of(&audit, &gone_url);
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("cannot clone"), "{failed}");
    assert!(
        error.contains("r1.git") || error.to_lowercase().contains("not"),
        "the reason says what is missing: {error}"
    );
    for u in [&urls[0], &urls[2]] {
        assert_eq!(audit_of(&audit, u)["status"], "swept", "{audit:?}");
    }
    assert_eq!(jsonl(&dir.path().join("out/findings.jsonl")).len(), 3);
}

#[test]
fn the_configuration_allow_paths_leave_findings_out_of_a_sweep() {
    let (_a, b, _c) = repos();
    b.put("tests/fixtures/keys.env", &format!("GITHUB_TOKEN={GH}\n"));
    b.commit("fixtures");
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("keysweep.toml"),
        "[allow]\npaths = [\"tests/fixtures/**\"]\n",
    )
    .unwrap();
    let pb = b.path.display().to_string();
    let (code, stderr) = sweep(dir.path(), &[&pb], &["--config", "keysweep.toml"]);
    assert_eq!(code, 0, "{stderr}");
    let found = jsonl(&dir.path().join("out/findings.jsonl"));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found.iter().all(|r| r["path"] == "deploy/app.yml"),
        "{found:?}"
    );
    let audit = jsonl(&dir.path().join("out/audit.jsonl"));
    assert_eq!(audit[0]["findings"], 2, "{}", audit[0]);
    // From the cache too, and the finding comes back without the configuration.
    let (code, _) = sweep(dir.path(), &[&pb], &["--config", "keysweep.toml"]);
    assert_eq!(code, 0);
    assert_eq!(jsonl(&dir.path().join("out/findings.jsonl")).len(), 2);
    let (code, _) = sweep(dir.path(), &[&pb], &[]);
    assert_eq!(code, 0);
    assert_eq!(jsonl(&dir.path().join("out/findings.jsonl")).len(), 3);
}
