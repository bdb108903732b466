//! End-to-end tests of the pre-commit and CI features: `scan --staged/--unstaged/--untracked`,
//! `install-hook`, `.keysweep.toml`, inline and baseline suppressions.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::{keysweep, Repo};
use serde_json::Value;

/// Fake credentials (right format, not real).
const STRIPE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const AWS_1: &str = "AKIAUJZDEGXDNCF32EPF";
const AWS_2: &str = "AKIAQW4RZT7MN2XKLP3V";
const AWS_3: &str = "AKIAZX5HBT2RQ7MWNK4D";

fn json_rows(out: &Output) -> Vec<Value> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}); stderr: {stderr}"));
    v.as_array().unwrap().clone()
}

/// `(path, line, change)` of each finding of a JSON scan.
fn changes(out: &Output) -> Vec<(String, u64, String)> {
    json_rows(out)
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
                r["git"]["change"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scan(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["scan", "--no-progress", "-f", "json"];
    all.extend_from_slice(args);
    keysweep(dir, &all)
}

#[test]
fn staged_unstaged_and_untracked_are_told_apart_and_only_added_lines_count() {
    let r = Repo::new();
    // Already committed: never reported by a changes scan, even when its file changes.
    r.put(
        "app/config.py",
        &format!("DEBUG = True\nOLD = \"{AWS_1}\"\n"),
    );
    r.commit("initial");

    // Staged: a new line in a tracked file.
    r.put(
        "app/config.py",
        &format!("DEBUG = True\nOLD = \"{AWS_1}\"\nSTRIPE = \"{STRIPE}\"\n"),
    );
    r.git(&["add", "app/config.py"]);
    // Unstaged: a further edit of the same file, not added.
    r.put(
        "app/config.py",
        &format!("DEBUG = True\nOLD = \"{AWS_1}\"\nSTRIPE = \"{STRIPE}\"\nNEW = \"{AWS_2}\"\n"),
    );
    // Untracked, and an ignored file that must never be scanned.
    r.put("notes.txt", &format!("key {AWS_3}\n"));
    r.put(".gitignore", "ignored.txt\n");
    r.put("ignored.txt", &format!("key {AWS_3}\n"));

    let staged = scan(&r.path, &["--staged"]);
    assert_eq!(staged.status.code(), Some(1), "{}", stderr(&staged));
    assert_eq!(
        changes(&staged),
        [("app/config.py".into(), 3, "staged".into())]
    );
    // The hook's advice: how to fix or suppress, never the secret.
    let advice = stderr(&staged);
    assert!(advice.contains("keysweep:allow"), "{advice}");
    assert!(advice.contains("baseline"), "{advice}");
    assert!(!advice.contains(STRIPE));

    let unstaged = scan(&r.path, &["--unstaged"]);
    assert_eq!(
        changes(&unstaged),
        [("app/config.py".into(), 4, "unstaged".into())]
    );
    let untracked = scan(&r.path, &["--untracked"]);
    assert_eq!(
        changes(&untracked),
        [("notes.txt".into(), 1, "untracked".into())]
    );

    // One pass covers all three; from a subdirectory, paths stay repository-relative.
    let all = scan(
        &r.path.join("app"),
        &["--staged", "--unstaged", "--untracked"],
    );
    assert_eq!(
        changes(&all),
        [
            ("app/config.py".into(), 3, "staged".into()),
            ("app/config.py".into(), 4, "unstaged".into()),
            ("notes.txt".into(), 1, "untracked".into()),
        ]
    );

    // Renaming a file with a committed secret adds no line.
    r.commit("everything");
    r.git(&["mv", "app/config.py", "app/settings.py"]);
    let moved = scan(&r.path, &["--staged"]);
    assert_eq!(moved.status.code(), Some(0), "{}", stderr(&moved));
    assert!(changes(&moved).is_empty());
}

/// A staged UTF-16 PowerShell script holding a token: the pending-changes scan uses the same
/// binary-detection policy as a file scan (UTF-16 text is text), so both find it. Regression:
/// `--staged` skipped it as binary while `scan .` found it.
#[test]
fn a_staged_utf16_file_is_scanned_like_any_file() {
    let r = Repo::new();
    r.put("README.md", "hello\n");
    r.commit("initial");
    let script = "$headers = @{ Authorization = \"token ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\" }\r\nInvoke-RestMethod -Headers $headers https://api.github.com/user\r\n";
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(script.encode_utf16().flat_map(|u| u.to_le_bytes()));
    fs::write(r.path.join("deploy.ps1"), &utf16).unwrap();
    r.git(&["add", "deploy.ps1"]);

    let staged = scan(&r.path, &["--staged", "."]);
    assert_eq!(staged.status.code(), Some(1), "{}", stderr(&staged));
    let rows = json_rows(&staged);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["rule_id"], "github.pat.classic");
    assert_eq!(rows[0]["decoded"], serde_json::json!(["utf16"]));
    assert_eq!(rows[0]["git"]["change"], "staged");

    let tree = scan(&r.path, &["."]);
    let rows = json_rows(&tree);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["path"], "deploy.ps1");
}

/// Run from a subdirectory, a staged scan covers the whole repository, as `git diff --cached`
/// does: both when the index's cache tree answers and when HEAD's tree is compared in full
/// (a staged deletion beside an addition may be a rename), which without a pathspec covered
/// only the directory the scan ran in.
#[test]
fn staged_scan_from_a_subdirectory_covers_the_repository() {
    let r = Repo::new();
    r.put("old.txt", "old\n");
    r.put("sub/a.txt", "a\n");
    r.commit("base");
    r.put("root.env", &format!("AWS_ACCESS_KEY_ID={AWS_1}\n"));
    r.git(&["add", "root.env"]);
    let sub = r.path.join("sub");
    for step in ["cache tree", "full comparison"] {
        if step == "full comparison" {
            r.git(&["rm", "-q", "old.txt"]);
        }
        let out = scan(&sub, &["--staged"]);
        assert_eq!(
            changes(&out),
            [("root.env".into(), 1, "staged".into())],
            "{step}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn staged_scan_works_before_the_first_commit() {
    let r = Repo::new();
    let clean = scan(&r.path, &["--staged"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    r.put("a.env", &format!("AWS_ACCESS_KEY_ID={AWS_1}\n"));
    r.put("b.txt", "nothing here\n");
    r.git(&["add", "a.env", "b.txt"]);
    let out = scan(&r.path, &["--staged"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(changes(&out), [("a.env".into(), 1, "staged".into())]);
    assert!(
        stderr(&out).contains("in 2 changed file(s)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_installed_hook_blocks_a_secret_and_lets_a_clean_commit_pass() {
    let r = Repo::new();
    r.put("README", "hello\n");
    r.commit("initial");
    let out = keysweep(&r.path, &["install-hook"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hook = r.path.join(".git/hooks/pre-commit");
    assert!(fs::read_to_string(&hook).unwrap().contains("scan --staged"));

    // Blocked: the commit fails, nothing is committed, the message says what to do.
    r.put("deploy.sh", &format!("export STRIPE_KEY={STRIPE}\n"));
    r.git(&["add", "deploy.sh"]);
    let blocked = r.git_output(&["commit", "-m", "add deploy"]);
    assert!(!blocked.status.success(), "the hook let a secret through");
    let msg = stderr(&blocked);
    assert!(msg.contains("stripe.secret_key.live"), "{msg}");
    assert!(msg.contains("keysweep:allow"), "{msg}");
    assert!(!msg.contains(STRIPE), "the hook printed the secret: {msg}");
    assert_eq!(r.git(&["rev-list", "--count", "HEAD"]), "1");

    // Suppressed inline: the same commit passes.
    r.put(
        "deploy.sh",
        &format!("export STRIPE_KEY={STRIPE} # keysweep:allow test key\n"),
    );
    r.git(&["add", "deploy.sh"]);
    let passed = r.git_output(&["commit", "-q", "-m", "add deploy"]);
    assert!(passed.status.success(), "{}", stderr(&passed));
    assert_eq!(r.git(&["rev-list", "--count", "HEAD"]), "2");

    // A clean change passes too.
    r.put("README", "hello\nworld\n");
    r.git(&["add", "README"]);
    assert!(r
        .git_output(&["commit", "-q", "-m", "docs"])
        .status
        .success());

    // Installing again replaces keysweep's own hook without --force.
    assert!(keysweep(&r.path, &["install-hook"]).status.success());
}

#[test]
fn install_hook_refuses_a_foreign_hook_without_force() {
    let r = Repo::new();
    let hooks = r.path.join(".git/hooks");
    fs::create_dir_all(&hooks).unwrap();
    fs::write(hooks.join("pre-commit"), "#!/bin/sh\nmake lint\n").unwrap();
    let out = keysweep(&r.path, &["install-hook"]);
    assert_eq!(out.status.code(), Some(2));
    let msg = stderr(&out);
    assert!(msg.contains("--force"), "{msg}");
    assert!(msg.contains("not written by keysweep"), "{msg}");
    assert_eq!(
        fs::read_to_string(hooks.join("pre-commit")).unwrap(),
        "#!/bin/sh\nmake lint\n"
    );
    let out = keysweep(&r.path, &["install-hook", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(hooks.join("pre-commit.keysweep-backup")).unwrap(),
        "#!/bin/sh\nmake lint\n"
    );
    assert!(fs::read_to_string(hooks.join("pre-commit"))
        .unwrap()
        .contains("keysweep"));
}

#[test]
fn config_errors_name_the_file_the_key_and_the_line() {
    let r = Repo::new();
    r.put("a.txt", "nothing\n");
    let cases = [
        ("[rules]\ndisable = []\ncolour = \"red\"\n", ":3:", "colour"),
        (
            "[allow]\nvalues = [\n  \"(unclosed\",\n]\n",
            ":3: allow.values",
            "unclosed",
        ),
        ("[allow]\npaths = [\"src/[\"]\n", ":2: allow.paths", "glob"),
        (
            "[rules]\ndisable = [\"no.such.rule\"]\n",
            ":2: rules.disable",
            "no.such.rule",
        ),
        (
            "[rules]\ndisable_tags = [\"nope\"]\n",
            ":2: rules.disable_tags",
            "nope",
        ),
        (
            "\n\n[scan]\nmax_file_size = \"huge\"\n",
            ":4: scan.max_file_size",
            "huge",
        ),
        (
            "[rules]\nmin_entropy = -1.0\n",
            ":2: rules.min_entropy",
            "outside",
        ),
        (
            "[scan]\nbaseline = \"missing.json\"\n",
            "missing.json",
            "cannot read",
        ),
        ("[rules\n", ":1:", ""),
    ];
    for (src, location, detail) in cases {
        r.put(".keysweep.toml", src);
        let out = keysweep(&r.path, &["scan", "."]);
        let msg = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{src:?}: {msg}");
        assert!(
            msg.contains(".keysweep.toml") || msg.contains("missing.json"),
            "{msg}"
        );
        assert!(msg.contains(location), "{src:?}: {msg}");
        assert!(msg.contains(detail), "{src:?}: {msg}");
    }
    // --config names another file; errors name that one.
    r.put("ci/ks.toml", "[scan]\nunknown = 1\n");
    let out = keysweep(&r.path, &["scan", "--config", "ci/ks.toml", "."]);
    assert!(stderr(&out).contains("ci/ks.toml:2:"), "{}", stderr(&out));
}

#[test]
fn config_excludes_paths_disables_rules_allows_values_and_limits_sizes() {
    let r = Repo::new();
    r.put("src/app.py", &format!("KEY = \"{AWS_1}\"\n"));
    r.put("tests/fixtures/keys.txt", &format!("{AWS_2}\n"));
    r.put("snap/x.snap", &format!("{AWS_3}\n"));
    r.put("pay.py", &format!("STRIPE = \"{STRIPE}\"\n"));
    r.put("big.txt", &format!("{}\n{AWS_3}\n", "x".repeat(4096)));
    r.put(
        "extra/rules.toml",
        &fs::read_to_string(fixture("acme.toml")).unwrap(),
    );
    r.put("acme.cfg", "acme_key = acme_q8w7e6r5t4y3u2i1\n");
    let all = json_rows(&scan(&r.path, &["."]));
    let paths: Vec<&str> = all.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"tests/fixtures/keys.txt"));

    r.put(
        ".keysweep.toml",
        "[rules]\nfiles = [\"extra/rules.toml\"]\ndisable = [\"stripe.secret_key.live\"]\n\n\
         [allow]\npaths = [\"tests/fixtures/**\", \"*.snap\", \"extra/\"]\nvalues = [\"^AKIAUJZD\"]\n\n\
         [scan]\nmax_file_size = 1024\n",
    );
    let out = scan(&r.path, &["--show-suppressed", "."]);
    let rows = json_rows(&out);
    let got: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|f| {
            (
                format!(
                    "{}:{}",
                    f["path"].as_str().unwrap(),
                    f["rule_id"].as_str().unwrap()
                ),
                f["suppressed"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("acme.cfg:acme.key".to_string(), None),
            (
                "src/app.py:aws.access_key_id".to_string(),
                Some("allowlist".to_string())
            ),
        ],
        "{}",
        stderr(&out)
    );
    let summary = stderr(&out);
    assert!(summary.contains("1 suppressed (1 allowlist"), "{summary}");
    assert!(summary.contains("3 path(s) excluded"), "{summary}");
    assert!(summary.contains("1 too large"), "{summary}");
    // --no-config ignores it all.
    assert_eq!(
        json_rows(&scan(&r.path, &["--no-config", "."])).len(),
        all.len()
    );
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

#[test]
fn inline_allow_on_the_line_or_the_line_above_optionally_per_rule() {
    let r = Repo::new();
    r.put(
        "a.py",
        &format!(
            "A = \"{AWS_1}\"  # keysweep:allow\n\
             # keysweep:allow\n\
             B = \"{AWS_2}\"\n\
             C = \"{AWS_3}\"  # keysweep:allow=stripe.secret_key.live\n\
             D = \"{STRIPE}\"  # keysweep:allow stripe.secret_key.live\n"
        ),
    );
    let out = scan(&r.path, &["--show-suppressed", "a.py"]);
    let got: Vec<(u64, Option<&str>)> = json_rows(&out)
        .iter()
        .map(|f| (f["line"].as_u64().unwrap(), f["suppressed"].as_str()))
        .map(|(l, s)| (l, s.map(|s| if s == "inline" { "inline" } else { "other" })))
        .collect();
    assert_eq!(
        got,
        [
            (1, Some("inline")),
            (3, Some("inline")),
            (4, None),
            (5, Some("inline"))
        ]
    );
    let out = scan(&r.path, &["a.py"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_rows(&out).len(), 1);
    assert!(
        stderr(&out).contains("3 suppressed (3 inline"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn baselines_are_byte_stable_and_survive_moves_and_edits() {
    let r = Repo::new();
    r.put("config/prod.env", &format!("AWS_ACCESS_KEY_ID={AWS_1}\n"));
    r.put("pay.py", &format!("# billing\nSTRIPE = \"{STRIPE}\"\n"));
    r.commit("initial");

    let create = keysweep(&r.path, &["baseline", "create", "-o", "base.json"]);
    assert!(create.status.success(), "{}", stderr(&create));
    let first = fs::read(r.path.join("base.json")).unwrap();
    // Twice on unchanged code (the baseline file itself holds no secret): the same bytes,
    // whether written to a file or printed.
    let again = keysweep(&r.path, &["baseline", "create", "-q"]);
    assert_eq!(again.stdout, first);
    let text = String::from_utf8(first.clone()).unwrap();
    assert!(!text.contains(AWS_1) && !text.contains(STRIPE));
    let base: Value = serde_json::from_str(&text).unwrap();
    let fps: Vec<&str> = base["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["fingerprint"].as_str().unwrap())
        .collect();
    let mut sorted = fps.clone();
    sorted.sort();
    assert_eq!(fps, sorted);
    assert_eq!(fps.len(), 2);

    // Move a file, edit other lines, add a new secret: only the new one is reported.
    fs::create_dir_all(r.path.join("deploy")).unwrap();
    fs::rename(
        r.path.join("config/prod.env"),
        r.path.join("deploy/prod.env"),
    )
    .unwrap();
    r.put(
        "pay.py",
        &format!("# billing\n# more lines\n\nSTRIPE = \"{STRIPE}\"\nAWS = \"{AWS_2}\"\n"),
    );
    let out = scan(&r.path, &["--baseline", "base.json", "."]);
    let rows = json_rows(&out);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["line"], 5);
    assert!(
        stderr(&out).contains("2 suppressed (2 baseline"),
        "{}",
        stderr(&out)
    );
    let shown = keysweep(
        &r.path,
        &[
            "scan",
            "--baseline",
            "base.json",
            "--show-suppressed",
            "--color",
            "never",
            ".",
        ],
    );
    let human = String::from_utf8_lossy(&shown.stdout);
    assert_eq!(
        human.matches("[suppressed: baseline]").count(),
        2,
        "{human}"
    );

    // The configuration can name the baseline; history baselines work the same way.
    r.put(".keysweep.toml", "[scan]\nbaseline = \"base.json\"\n");
    assert_eq!(json_rows(&scan(&r.path, &["."])).len(), 1);
    r.commit("moved");
    let hist = keysweep(&r.path, &["baseline", "create", "--git", "-q"]);
    assert!(hist.status.success(), "{}", stderr(&hist));
    let hist: Value = serde_json::from_slice(&hist.stdout).unwrap();
    assert_eq!(hist["secrets"].as_array().unwrap().len(), 3);

    // A baseline made under another fingerprint key is refused, not silently useless.
    let keyed = keysweep(
        &r.path,
        &[
            "scan",
            "--fingerprint-key",
            "k1",
            "--baseline",
            "base.json",
            ".",
        ],
    );
    assert_eq!(keyed.status.code(), Some(2));
    assert!(
        stderr(&keyed).contains("fingerprint key"),
        "{}",
        stderr(&keyed)
    );
    // A damaged baseline names the file and line.
    r.put(
        "bad.json",
        "{\n  \"keysweep_baseline\": 1,\n  \"oops\": []\n}\n",
    );
    let bad = keysweep(
        &r.path,
        &["scan", "--no-config", "--baseline", "bad.json", "."],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("bad.json:3:"), "{}", stderr(&bad));
}
