//! `keysweep inventory`: built from the scan results of several real repositories that share
//! some secrets, and by scanning them directly. All secrets here are fake.

mod common;

use std::fs;
use std::path::Path;

use common::{keysweep, Repo};
use serde_json::Value;

const AWS: &str = "AKIAZ4X7Q2M9R3T8V6WN";
const STRIPE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const GITHUB: &str = "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";
const SLACK: &str = "xoxb-4279965680133-8722359450601-SG2fdI4QYaoOc6fzlDHhRC53";

fn commit_as(repo: &Repo, message: &str, author: &str) -> String {
    repo.clock.set(repo.clock.get() + 86_400);
    repo.git(&["add", "-A"]);
    repo.git(&[
        "commit",
        "-q",
        "--allow-empty",
        "--author",
        author,
        "-m",
        message,
    ]);
    repo.git(&["rev-parse", "HEAD"])
}

/// Three repositories:
/// - `api` (origin with credentials in its URL): the AWS key since day 1 (still there), the
///   Stripe key added day 2 and deleted day 3 (history only), CODEOWNERS for config/;
/// - `web`: the same AWS key, committed later by someone else (day 11), still there; the
///   Stripe key, still there (so present at HEAD somewhere);
/// - `tools`: a GitHub token added and removed (history only), no origin.
struct Fleet {
    api: Repo,
    web: Repo,
    tools: Repo,
    aws_commit: String,
}

fn fleet() -> Fleet {
    let api = Repo::new();
    api.git(&[
        "remote",
        "add",
        "origin",
        "https://deploy:hunter2token@git.example.com/acme/api.git",
    ]);
    api.put(
        ".github/CODEOWNERS",
        "*  @acme/all\n/config/ @acme/security\n",
    );
    api.put("config/aws.ini", &format!("aws_access_key_id = {AWS}\n"));
    let aws_commit = commit_as(&api, "aws", "Alice <alice@example.com>");
    api.put("billing.py", &format!("STRIPE = \"{STRIPE}\"\n"));
    commit_as(&api, "stripe", "Bob <bob@example.com>");
    fs::remove_file(api.path.join("billing.py")).unwrap();
    commit_as(&api, "remove stripe", "Bob <bob@example.com>");

    let web = Repo::new();
    web.git(&[
        "remote",
        "add",
        "origin",
        "git@git.example.com:acme/web.git",
    ]);
    web.clock.set(api.clock.get() + 7 * 86_400);
    web.put(
        "deploy/env.sh",
        &format!("export AWS_ACCESS_KEY_ID={AWS}\n"),
    );
    web.put("src/pay.js", &format!("const key = \"{STRIPE}\";\n"));
    commit_as(&web, "deploy", "Carol <carol@example.com>");

    let tools = Repo::new();
    tools.put("ci.sh", &format!("GITHUB_TOKEN={GITHUB}\n"));
    commit_as(&tools, "ci", "Dan <dan@example.com>");
    tools.put("ci.sh", "GITHUB_TOKEN=$GITHUB_TOKEN\n");
    commit_as(&tools, "use the secret store", "Dan <dan@example.com>");
    Fleet {
        api,
        web,
        tools,
        aws_commit,
    }
}

fn scan_jsonl(dir: &Path, args: &[&str]) -> String {
    let out = keysweep(dir, args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn inventory(dir: &Path, args: &[&str]) -> (Value, String) {
    let out = keysweep(
        dir,
        &[&["inventory", "--as-of", "2026-12-01"], args].concat(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

fn secret<'a>(doc: &'a Value, rule: &str) -> &'a Value {
    doc["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["rule_ids"][0] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {doc:#}"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

#[test]
fn inventory_from_saved_results_of_several_repositories() {
    let f = fleet();
    let work = tempfile::tempdir().unwrap();
    for (name, repo) in [("api", &f.api), ("web", &f.web), ("tools", &f.tools)] {
        let jsonl = scan_jsonl(&repo.path, &["scan", "--git", "--format", "jsonl"]);
        fs::write(work.path().join(format!("{name}.jsonl")), jsonl).unwrap();
    }
    let (doc, stderr) = inventory(
        work.path(),
        &[
            "--results",
            "api.jsonl",
            "--results",
            "web.jsonl",
            "--results",
            "tools.jsonl",
        ],
    );
    assert!(
        stderr.contains("3 secret(s) (2 at HEAD, 1 history only) in 3 repositories"),
        "{stderr}"
    );
    let summary = &doc["summary"];
    assert_eq!(summary["secrets"], 3);
    assert_eq!(summary["present_at_head"], 2);
    assert_eq!(summary["history_only"], 1);

    // One entry per secret across repositories; the remote URL names the repository, without
    // the credentials it was configured with.
    let aws = secret(&doc, "aws.access_key_id");
    assert_eq!(
        strings(&aws["repositories"]),
        ["git.example.com/acme/api", "git.example.com/acme/web"]
    );
    assert_eq!(aws["locations_total"], 2);
    assert_eq!(strings(&aws["paths"]), ["config/aws.ini", "deploy/env.sh"]);
    assert!(!doc.to_string().contains("hunter2token"));
    // First introduced: in api by Alice, a week before web had it.
    let first = &aws["first_introduced"];
    assert_eq!(first["repository"], "git.example.com/acme/api");
    assert_eq!(first["commit"], f.aws_commit.as_str());
    assert_eq!(first["author_name"], "Alice");
    assert_eq!(first["path"], "config/aws.ini");
    assert_eq!(aws["last_seen"]["author_name"], "Carol");
    assert_eq!(aws["present_at_head"], true);
    // 2020-09-14 (the first commit) to 2026-12-01.
    assert_eq!(aws["exposure_days"], 2269);
    // Owners: the introducing authors in order, and the CODEOWNERS owners of the api path
    // (web has no CODEOWNERS).
    assert_eq!(
        strings(&aws["owners"]["authors"]),
        ["Alice <alice@example.com>", "Carol <carol@example.com>"]
    );
    assert_eq!(strings(&aws["owners"]["codeowners"]), ["@acme/security"]);
    assert_eq!(aws["secret"], "AKIA*****");
    assert!(!doc.to_string().contains(AWS));

    // Removed from api, still in web: present at HEAD.
    let stripe = secret(&doc, "stripe.secret_key.live");
    assert_eq!(stripe["present_at_head"], true);
    let at_head: Vec<(String, bool)> = stripe["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["repository"].as_str().unwrap().to_string(),
                l["present_at_head"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        at_head,
        [
            ("git.example.com/acme/api".to_string(), false),
            ("git.example.com/acme/web".to_string(), true)
        ]
    );
    assert_eq!(stripe["first_introduced"]["author_name"], "Bob");
    assert_eq!(strings(&stripe["owners"]["codeowners"]), ["@acme/all"]);

    // Removed everywhere: history only; a repository without origin is named by its path.
    let github = secret(&doc, "github.pat.classic");
    assert_eq!(github["present_at_head"], false);
    let tools_root = fs::canonicalize(&f.tools.path).unwrap();
    let named = github["repositories"][0].as_str().unwrap();
    assert_eq!(fs::canonicalize(named).unwrap(), tools_root);

    // Priority: present, high confidence, two places and old first; the history-only token
    // last. Ranks follow.
    let order: Vec<&str> = doc["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rule_ids"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "aws.access_key_id",
            "stripe.secret_key.live",
            "github.pat.classic"
        ]
    );
    let ranks: Vec<u64> = doc["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, [1, 2, 3]);

    // Deterministic: the same inputs in another order give byte-identical output, and reading
    // a results file twice (the same findings again) changes nothing.
    let run = |args: &[&str]| {
        let out = keysweep(
            work.path(),
            &[&["inventory", "--as-of", "2026-12-01"], args].concat(),
        );
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let a = run(&[
        "--results",
        "api.jsonl",
        "--results",
        "web.jsonl",
        "--results",
        "tools.jsonl",
    ]);
    let b = run(&[
        "--results",
        "tools.jsonl",
        "--results",
        "web.jsonl",
        "--results",
        "api.jsonl",
    ]);
    assert_eq!(a, b);
    let twice = run(&[
        "--results",
        "api.jsonl",
        "--results",
        "web.jsonl",
        "--results",
        "tools.jsonl",
        "--results",
        "web.jsonl",
    ]);
    let twice: Value = serde_json::from_str(&twice).unwrap();
    assert_eq!(twice["secrets"], doc["secrets"]);
    assert_eq!(twice["summary"]["locations"], doc["summary"]["locations"]);

    // Scanning the repositories directly gives the same inventory as the saved results, and so
    // does --repos-from.
    let api = f.api.path.to_str().unwrap();
    let web = f.web.path.to_str().unwrap();
    let tools = f.tools.path.to_str().unwrap();
    assert_eq!(run(&["--git", api, web, tools]), a);
    fs::write(
        work.path().join("repos.txt"),
        format!("# the fleet\n{api}\n\n{web}\n{tools}\n"),
    )
    .unwrap();
    assert_eq!(run(&["--git", "--repos-from", "repos.txt"]), a);

    // CSV: a header and one row per secret, in the same order.
    let csv = run(&[
        "--results",
        "api.jsonl",
        "--results",
        "web.jsonl",
        "--results",
        "tools.jsonl",
        "--format",
        "csv",
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("rank,priority,context,fingerprint,provider,rule_ids,"));
    assert!(lines[1].starts_with("1,") && lines[1].contains(",aws,aws.access_key_id,high,"));
    assert!(lines[3].starts_with("3,") && lines[3].contains(",github,"));
    assert!(!csv.contains(AWS));
}

#[test]
fn working_tree_findings_are_present_and_named_by_repository() {
    let f = fleet();
    let (doc, _) = inventory(&f.web.path, &["."]);
    assert_eq!(doc["summary"]["secrets"], 2);
    for s in doc["secrets"].as_array().unwrap() {
        assert_eq!(s["present_at_head"], true);
        assert_eq!(strings(&s["repositories"]), ["git.example.com/acme/web"]);
        // No commit: nothing known about introduction.
        assert!(s["first_introduced"].is_null());
        assert!(s["exposure_days"].is_null());
    }
    // Scan output names the repository and the path inside it, from a subdirectory too.
    let out = keysweep(&f.web.path.join("src"), &["scan", "--format", "jsonl", "."]);
    let row: Value =
        serde_json::from_slice(out.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(row["repository"]["id"], "git.example.com/acme/web");
    assert_eq!(row["repository"]["path"], "src/pay.js");
}

#[test]
fn bad_lines_are_reported_without_their_content_and_the_rest_is_used() {
    let f = fleet();
    let work = tempfile::tempdir().unwrap();
    let good = scan_jsonl(&f.api.path, &["scan", "--git", "--format", "jsonl"]);
    let mut text = String::new();
    text += "{\"not\": \"a finding\"}\n";
    text += &format!("{{\"rule_id\": \"x\", \"path\": \"p\", \"fingerprint\": 5, \"confidence\": \"{SLACK}\"}}\n");
    text += &format!("garbage {SLACK}\n");
    text += &good;
    // A suppressed finding is left out of the inventory.
    let mut suppressed: Value = serde_json::from_str(good.lines().next().unwrap()).unwrap();
    suppressed["fingerprint"] = "00112233445566778899aabbccddeeff".into();
    suppressed["suppressed"] = "baseline".into();
    text += &format!("{suppressed}\n");
    fs::write(work.path().join("mixed.jsonl"), text).unwrap();
    let out = keysweep(
        work.path(),
        &[
            "inventory",
            "--results",
            "mixed.jsonl",
            "--results",
            "missing.jsonl",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read missing.jsonl"), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["summary"]["secrets"], 2,
        "the readable file is still used"
    );

    let out = keysweep(work.path(), &["inventory", "--results", "mixed.jsonl"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("mixed.jsonl:1: missing field `rule_id`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("mixed.jsonl:2: not a keysweep finding"),
        "{stderr}"
    );
    assert!(stderr.contains("mixed.jsonl:3: not valid JSON"), "{stderr}");
    assert!(!stderr.contains("xoxb-"), "{stderr}");
    assert!(
        stderr.contains("1 suppressed finding(s) left out"),
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["secrets"], 2);

    // Nothing to read is an error, not an empty inventory of the current directory.
    let out = keysweep(work.path(), &["inventory", "--as-of", "2026-13-01", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a date"));
}

/// 100,000 findings of 5,000 secrets in 40 repositories: every count exact, locations capped
/// per secret, and the JSON array form read as well as JSON Lines. (Speed is measured by
/// benches/inventory.sh, not here.)
#[test]
fn a_large_sweep() {
    let work = tempfile::tempdir().unwrap();
    let mut text = String::with_capacity(100_000 * 400);
    for i in 0..100_000u64 {
        let secret = i % 5000;
        let repo = i % 40;
        let present = i % 3 != 0;
        let day = 1 + (i % 28);
        text += &format!(
            concat!(
                "{{\"rule_id\":\"acme.key.v{}\",\"path\":\"src/f{}.py\",\"line\":{},\"column\":3,",
                "\"secret\":\"acme*****\",\"redacted\":true,\"fingerprint\":\"{:032x}\",",
                "\"confidence\":\"{}\",\"repository\":{{\"id\":\"git.example.com/r{}\",\"root\":\"/src/r\",\"path\":\"src/f{}.py\"}},",
                "\"source\":\"history\",\"git\":{{\"blob\":\"00\",\"commit\":\"{:040x}\",\"author_name\":\"Dev {}\",\"author_email\":\"d{}@example.com\",",
                "\"date\":\"2024-03-{:02}T12:00:00+00:00\",\"summary\":\"s\",\"refs\":[\"refs/heads/main\"],\"present_at_head\":{},\"reachable\":true}}}}\n"
            ),
            secret % 7,
            i % 1000,
            i / 1000 + 1,
            secret,
            ["low", "medium", "high"][(secret % 3) as usize],
            repo,
            i % 1000,
            i,
            i % 17,
            i % 17,
            day,
            present,
        );
    }
    fs::write(work.path().join("sweep.jsonl"), &text).unwrap();
    let out = keysweep(
        work.path(),
        &[
            "inventory",
            "--results",
            "sweep.jsonl",
            "--as-of",
            "2026-12-01",
            "--max-locations",
            "10",
            "-o",
            "inv.json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value =
        serde_json::from_slice(&fs::read(work.path().join("inv.json")).unwrap()).unwrap();
    assert_eq!(doc["summary"]["secrets"], 5000);
    assert_eq!(doc["summary"]["locations"], 100_000);
    assert_eq!(doc["summary"]["repositories"], 40);
    assert_eq!(doc["summary"]["findings_read"], 100_000);
    let secrets = doc["secrets"].as_array().unwrap();
    for s in secrets {
        assert_eq!(s["locations_total"], 20);
        assert_eq!(s["locations"].as_array().unwrap().len(), 10);
        assert_eq!(
            s["first_introduced"]["date"].as_str().unwrap().get(..8),
            Some("2024-03-")
        );
    }
    // Priorities never increase down the list.
    let p: Vec<f64> = secrets
        .iter()
        .map(|s| s["priority"].as_f64().unwrap())
        .collect();
    assert!(p.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(secrets[0]["confidence"], "high");

    // The same findings as one JSON array (`--format json`) give the same inventory.
    let rows: Vec<Value> = text
        .lines()
        .take(20_000)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    fs::write(
        work.path().join("part.json"),
        serde_json::to_vec(&rows).unwrap(),
    )
    .unwrap();
    let lines: String = text
        .lines()
        .take(20_000)
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(work.path().join("part.jsonl"), lines).unwrap();
    let a = keysweep(
        work.path(),
        &[
            "inventory",
            "--results",
            "part.json",
            "--as-of",
            "2026-12-01",
        ],
    );
    let b = keysweep(
        work.path(),
        &[
            "inventory",
            "--results",
            "part.jsonl",
            "--as-of",
            "2026-12-01",
        ],
    );
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
}

/// The HTML report in real headless Chromium, driven through chromedriver's WebDriver API:
/// the table's rows against the JSON, the text and status filters, paging, the detail view,
/// and a screenshot kept as a test artifact (`target/test-artifacts/inventory-report.png`).
/// Without Chromium and chromedriver it fails saying what to install, unless KEYSWEEP_SKIP
/// names `chromium` (then it says SKIPPED); KEYSWEEP_REQUIRE_BROWSER (set by `.ci/run`, which
/// installs both) makes even that a failure.
#[test]
fn html_report_in_headless_chromium() {
    let Some(browser) = webdriver::Browser::start() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    // 180 secrets in 12 repositories, three kinds, some only in history; one path tries to
    // inject markup.
    let mut text = String::new();
    for i in 0..600u64 {
        let secret = i % 180;
        let kind = ["alpha.key", "beta.token", "gamma.secret"][(secret % 3) as usize];
        let confidence = ["high", "medium", "low"][(secret % 3) as usize];
        let path = if secret == 7 {
            "<img src=x onerror=document.title='pwned'>.py".to_string()
        } else {
            format!("src/m{}.py", i % 50)
        };
        let row = serde_json::json!({
            "rule_id": kind, "path": path, "line": 1 + i / 180, "column": 5,
            "secret": "abcd*****", "redacted": true,
            "fingerprint": format!("{secret:032x}"),
            "confidence": confidence,
            "repository": {"id": format!("git.example.com/team/r{}", secret % 12),
                           "root": "/src", "path": path},
            "source": "history",
            "git": {"blob": "00", "commit": format!("{i:040x}"), "author_name": format!("Dev {}", i % 5),
                    "author_email": format!("dev{}@example.com", i % 5),
                    "date": format!("2025-0{}-1{}T08:00:00+00:00", 1 + i % 9, i % 10),
                    "summary": "change", "refs": ["refs/heads/main"],
                    "present_at_head": secret % 4 != 0, "reachable": true}
        });
        text += &format!("{row}\n");
    }
    fs::write(work.path().join("sweep.jsonl"), text).unwrap();
    let out = keysweep(
        work.path(),
        &[
            "inventory",
            "--results",
            "sweep.jsonl",
            "--as-of",
            "2026-12-01",
            "-o",
            "inv.json",
        ],
    );
    assert!(out.status.success());
    let out = keysweep(
        work.path(),
        &[
            "inventory",
            "--results",
            "sweep.jsonl",
            "--as-of",
            "2026-12-01",
            "--format",
            "html",
            "-o",
            "inv.html",
        ],
    );
    assert!(out.status.success());
    let doc: Value =
        serde_json::from_slice(&fs::read(work.path().join("inv.json")).unwrap()).unwrap();
    let secrets = doc["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 180);
    let fingerprints = |range: std::ops::Range<usize>| -> Vec<String> {
        secrets[range]
            .iter()
            .map(|s| s["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };

    let page = browser.open(&work.path().join("inv.html"));
    let shown = |page: &webdriver::Page| -> Vec<String> {
        let v = page.eval(
            "return [...document.querySelectorAll('#secrets tbody tr[data-fingerprint]')]\
             .map(tr => tr.dataset.fingerprint)",
        );
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    let count = |page: &webdriver::Page| -> u64 {
        page.eval("return document.getElementById('match-count').textContent")
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    // The first page is the first 50 entries of the JSON, in priority order, and each row
    // shows that entry's rank, provider and locations.
    assert_eq!(shown(&page), fingerprints(0..50));
    assert_eq!(count(&page), 180);
    let cells = page.eval(
        "return [...document.querySelectorAll('#secrets tbody tr')[0].cells].map(c => c.textContent)",
    );
    assert_eq!(cells[0], "1");
    assert_eq!(cells[2], secrets[0]["provider"].as_str().unwrap());
    assert_eq!(cells[6], secrets[0]["locations_total"].to_string().as_str());
    // The injected path stayed text.
    assert_eq!(
        page.eval("return document.title"),
        "keysweep secret inventory"
    );

    // Filter by text: only gamma secrets, as many as the JSON has.
    page.element("#filter").send_keys("gamma");
    let gamma: Vec<String> = secrets
        .iter()
        .filter(|s| s["rule_ids"][0] == "gamma.secret")
        .map(|s| s["fingerprint"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(count(&page), gamma.len() as u64);
    assert_eq!(shown(&page), gamma[..50.min(gamma.len())]);
    // And by status: history-only gamma secrets.
    page.eval(
        "const s = document.getElementById('status-filter'); s.value = 'history';\
         s.dispatchEvent(new Event('change')); return null",
    );
    let gamma_history = secrets
        .iter()
        .filter(|s| s["rule_ids"][0] == "gamma.secret" && s["present_at_head"] == false)
        .count();
    assert!(gamma_history > 0);
    assert_eq!(count(&page), gamma_history as u64);
    page.element("#filter").clear();
    page.eval(
        "const s = document.getElementById('status-filter'); s.value = '';\
         s.dispatchEvent(new Event('change')); return null",
    );
    assert_eq!(count(&page), 180);

    // Paging: the next page holds entries 51 to 100.
    page.element("#next").click();
    assert_eq!(shown(&page), fingerprints(50..100));
    page.element("#prev").click();

    // The detail view of the first secret lists every location.
    page.element("#secrets tbody tr").click();
    assert_eq!(
        page.eval("return document.getElementById('detail').hidden"),
        false
    );
    let rows = page.eval("return document.querySelectorAll('#locations tbody tr').length");
    assert_eq!(rows, secrets[0]["locations"].as_array().unwrap().len());
    assert_eq!(
        page.eval("return document.getElementById('detail-fingerprint').textContent"),
        secrets[0]["fingerprint"]
    );

    let png = page.screenshot();
    assert!(png.starts_with(b"\x89PNG"));
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../test-artifacts");
    fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("inventory-report.png");
    fs::write(&shot, png).unwrap();
    eprintln!("screenshot: {}", shot.display());
}

/// Just enough of the W3C WebDriver protocol (JSON over HTTP/1.1) to drive chromedriver.
mod webdriver {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    pub struct Browser {
        driver: Child,
        port: u16,
        session: String,
        _profile: tempfile::TempDir,
    }

    pub struct Page<'a> {
        browser: &'a Browser,
    }

    pub struct Element<'a> {
        browser: &'a Browser,
        id: String,
    }

    fn find(names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| {
            if n.starts_with('/') {
                Path::new(n).is_file().then(|| n.to_string())
            } else {
                let out = Command::new("sh")
                    .args(["-c", &format!("command -v {n}")])
                    .output()
                    .ok()?;
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
            }
        })
    }

    impl Browser {
        pub fn start() -> Option<Browser> {
            let chromium = std::env::var("KEYSWEEP_CHROMIUM")
                .ok()
                .or_else(|| find(&["chromium", "chromium-browser", "google-chrome"]));
            let driver = std::env::var("KEYSWEEP_CHROMEDRIVER")
                .ok()
                .or_else(|| find(&["chromedriver"]));
            let (Some(chromium), Some(driver)) = (chromium, driver) else {
                assert!(
                    std::env::var_os("KEYSWEEP_REQUIRE_BROWSER").is_none(),
                    "KEYSWEEP_REQUIRE_BROWSER is set but chromium or chromedriver is missing"
                );
                crate::common::need(
                    "chromium",
                    false,
                    "install Debian's chromium and chromium-driver (apt install chromium chromium-driver)",
                );
                return None;
            };
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(driver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver");
            let profile = tempfile::tempdir().unwrap();
            let mut browser = Browser {
                driver: child,
                port,
                session: String::new(),
                _profile: profile,
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            while browser.request("GET", "/status", None).is_err() {
                assert!(Instant::now() < deadline, "chromedriver did not start");
                std::thread::sleep(Duration::from_millis(100));
            }
            let args = [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1400,1000",
                &format!("--user-data-dir={}", browser._profile.path().display()),
            ];
            let caps = json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args}
            }}});
            let v = browser
                .request("POST", "/session", Some(caps))
                .expect("new session");
            browser.session = v["sessionId"].as_str().expect("a session id").to_string();
            Some(browser)
        }

        pub fn open(&self, file: &Path) -> Page<'_> {
            let url = format!("file://{}", file.display());
            self.call("POST", "url", json!({ "url": url }));
            let page = Page { browser: self };
            let deadline = Instant::now() + Duration::from_secs(20);
            while page.eval("return document.readyState") != "complete" {
                assert!(Instant::now() < deadline, "page did not load");
                std::thread::sleep(Duration::from_millis(50));
            }
            page
        }

        fn call(&self, method: &str, path: &str, body: Value) -> Value {
            let path = format!("/session/{}/{path}", self.session);
            let body = (method == "POST").then_some(body);
            match self.request(method, &path, body) {
                Ok(v) => v,
                Err(e) => panic!("webdriver {method} {path}: {e}"),
            }
        }

        /// One HTTP/1.1 request; returns the response's `value`.
        fn request(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
            let mut stream =
                TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
            stream
                .set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            let body = body.map(|b| b.to_string()).unwrap_or_default();
            write!(
                stream,
                "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                self.port,
                body.len()
            )
            .map_err(|e| e.to_string())?;
            // chromedriver may keep the connection open: read the header, then exactly
            // Content-Length bytes.
            let mut response = Vec::new();
            let mut buf = [0u8; 8192];
            let split = loop {
                if let Some(i) = response.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i;
                }
                let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("connection closed before the HTTP header ended".into());
                }
                response.extend_from_slice(&buf[..n]);
            };
            let head = String::from_utf8_lossy(&response[..split]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .ok_or_else(|| format!("no Content-Length: {head}"))?;
            let mut payload = response[split + 4..].to_vec();
            while payload.len() < length {
                let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("connection closed in the HTTP body".into());
                }
                payload.extend_from_slice(&buf[..n]);
            }
            let v: Value =
                serde_json::from_slice(&payload[..length]).map_err(|e| format!("{e}: {head}"))?;
            if !head.starts_with("HTTP/1.1 200") {
                return Err(format!("{head}\n{}", v["value"]));
            }
            Ok(v["value"].clone())
        }
    }

    impl Drop for Browser {
        fn drop(&mut self) {
            if !self.session.is_empty() {
                let _ = self.request("DELETE", &format!("/session/{}", self.session), None);
            }
            let _ = self.driver.kill();
            let _ = self.driver.wait();
        }
    }

    impl Page<'_> {
        pub fn eval(&self, script: &str) -> Value {
            self.browser.call(
                "POST",
                "execute/sync",
                json!({ "script": script, "args": [] }),
            )
        }

        pub fn element(&self, css: &str) -> Element<'_> {
            let v = self.browser.call(
                "POST",
                "element",
                json!({ "using": "css selector", "value": css }),
            );
            let id = v["element-6066-11e4-a52e-4f735466cecf"]
                .as_str()
                .unwrap_or_else(|| panic!("no element {css}"))
                .to_string();
            Element {
                browser: self.browser,
                id,
            }
        }

        pub fn screenshot(&self) -> Vec<u8> {
            let v = self.browser.call("GET", "screenshot", Value::Null);
            base64_decode(v.as_str().expect("base64 PNG"))
        }
    }

    impl Element<'_> {
        pub fn send_keys(&self, text: &str) {
            self.browser.call(
                "POST",
                &format!("element/{}/value", self.id),
                json!({ "text": text }),
            );
        }

        pub fn clear(&self) {
            self.browser
                .call("POST", &format!("element/{}/clear", self.id), json!({}));
        }

        pub fn click(&self) {
            self.browser
                .call("POST", &format!("element/{}/click", self.id), json!({}));
        }
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len() * 3 / 4);
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => continue,
            };
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }
}
