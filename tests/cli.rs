//! End-to-end tests of the `keysweep` binary: exit codes, output shapes, redaction, bad input.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const SECRET: &str = "q8Xv2LmZ7pRt4YwK9sNb3Jd6";

fn keysweep() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keysweep"));
    // Outside this repository: its own `.keysweep.toml` allows the fake secrets tests use.
    cmd.current_dir(std::env::temp_dir())
        .env_remove("KEYSWEEP_FINGERPRINT_KEY")
        .env("NO_COLOR", "1");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    keysweep().current_dir(dir).args(args).output().unwrap()
}

/// Writes `content` to `rel` under `dir`, creating its directories.
fn put(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// Runs keysweep in `dir` and parses its JSON output.
/// Runs git in `dir` with a fixed identity and no signing; panics if it fails.
fn git_in(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=A",
            "-c",
            "user.email=a@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
}

fn scan_json(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_slice(&run(dir, args).stdout).unwrap()
}

/// The `path` of every finding of a JSON report, in its order.
fn finding_paths(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A temporary tree with one secret in `config/app.env` and a clean `src/main.rs`.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "config/app.env",
        format!("# settings\nAPI_KEY=\"{SECRET}\"\n"),
    );
    put(
        dir.path(),
        "src/main.rs",
        "fn main() { println!(\"hi\"); }\n",
    );
    dir
}

#[test]
fn exit_status_is_0_without_findings_1_with_findings_2_on_error() {
    let dir = tree();
    assert_eq!(run(dir.path(), &["scan", "src"]).status.code(), Some(0));
    assert_eq!(run(dir.path(), &["scan"]).status.code(), Some(1));
    let missing = run(dir.path(), &["scan", "does-not-exist"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("cannot read does-not-exist"),
        "{}",
        stderr(&missing)
    );
    assert_eq!(
        run(dir.path(), &["scan", "--format", "xml"]).status.code(),
        Some(2)
    );
    assert_eq!(run(dir.path(), &["frobnicate"]).status.code(), Some(2));
}

#[test]
fn human_output_names_path_line_column_rule_and_redacts() {
    let dir = tree();
    let o = run(dir.path(), &["scan", "--color", "never"]);
    let out = stdout(&o);
    assert_eq!(
        out,
        "config/app.env:2:10  generic.secret.quoted  q8Xv*****  low  [config]\n"
    );
    assert!(!out.contains(SECRET));
    assert!(!stderr(&o).contains(SECRET));
    let summary = stderr(&o);
    assert!(summary.contains("1 finding(s) in 2 file(s)"), "{summary}");
    assert!(summary.contains("MB/s"), "{summary}");
}

#[test]
fn reveal_prints_the_secret() {
    let dir = tree();
    let out = stdout(&run(dir.path(), &["scan", "--reveal"]));
    assert!(out.contains(SECRET), "{out}");
}

#[test]
fn color_always_paints_and_never_does_not() {
    let dir = tree();
    assert!(stdout(&run(dir.path(), &["scan", "--color", "always"])).contains("\x1b["));
    assert!(!stdout(&run(dir.path(), &["scan", "--color", "never"])).contains("\x1b["));
}

#[test]
fn json_output_has_the_documented_shape_and_redacts() {
    let dir = tree();
    let o = run(dir.path(), &["scan", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    let f = &arr[0];
    for key in [
        "rule_id",
        "rule_name",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "secret",
        "fingerprint",
        "entropy",
        "confidence",
    ] {
        assert!(f.get(key).is_some(), "missing {key} in {f}");
    }
    assert_eq!(f["rule_id"], "generic.secret.quoted");
    assert_eq!(f["path"], "config/app.env");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(2), Some(10))
    );
    assert_eq!(
        (f["end_line"].as_u64(), f["end_column"].as_u64()),
        (Some(2), Some(34))
    );
    assert_eq!(f["secret"], "q8Xv*****");
    assert_eq!(f["fingerprint"].as_str().unwrap().len(), 32);
    assert!(!stdout(&o).contains(SECRET));

    let revealed: Value = scan_json(dir.path(), &["scan", "-f", "json", "--reveal"]);
    assert_eq!(revealed[0]["secret"], SECRET);
    assert_eq!(revealed[0]["fingerprint"], f["fingerprint"]);
}

#[test]
fn jsonl_is_one_object_per_line() {
    let dir = tree();
    put(
        dir.path(),
        "src/more.py",
        format!("TOKEN = '{SECRET}'\nx = 1\n"),
    );
    let out = stdout(&run(dir.path(), &["scan", "--format", "jsonl"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    let objs: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Same secret in two files: same fingerprint.
    assert_eq!(objs[0]["fingerprint"], objs[1]["fingerprint"]);
    assert_ne!(objs[0]["path"], objs[1]["path"]);
}

#[test]
fn sarif_has_the_shape_github_code_scanning_accepts() {
    let dir = tree();
    let o = run(dir.path(), &["scan", "--format", "sarif"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run0 = &v["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "keysweep");
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["id"], "generic.secret.quoted");
    assert!(rules[0]["shortDescription"]["text"].is_string());
    let r = &run0["results"][0];
    assert_eq!(r["ruleId"], "generic.secret.quoted");
    assert_eq!(r["ruleIndex"], 0);
    assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
    assert!(r["message"]["text"].is_string());
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "config/app.env");
    assert_eq!(loc["region"]["startLine"], 2);
    assert_eq!(loc["region"]["startColumn"], 10);
    assert!(r["partialFingerprints"].as_object().unwrap().len() == 1);
    assert!(!stdout(&o).contains(SECRET));
}

#[test]
fn stdin_is_scanned_with_dash() {
    let mut child = keysweep()
        .args(["scan", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("line one\nsecret_token: '{SECRET}'\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["source"], "stdin");
    assert!(v[0].get("path").is_none(), "no sentinel path: {}", v[0]);
    assert_eq!(v[0]["line"], 2);
}

#[test]
fn gitignored_files_are_skipped_hidden_files_scanned_dot_git_skipped_but_its_config() {
    let dir = tree();
    put(dir.path(), ".gitignore", "ignored.txt\n");
    put(
        dir.path(),
        "ignored.txt",
        format!("api_key = \"{SECRET}\"\n"),
    );
    fs::create_dir_all(dir.path().join(".git")).unwrap();
    put(
        dir.path(),
        ".git/config",
        format!("api_key = \"{SECRET}\"\n"),
    );
    // Git's own files are not read, but for `config`: remote URLs there carry tokens.
    put(
        dir.path(),
        ".git/description",
        format!("api_key = \"{SECRET}\"\n"),
    );
    fs::create_dir_all(dir.path().join(".git/hooks")).unwrap();
    put(
        dir.path(),
        ".git/hooks/pre-push",
        format!("api_key = \"{SECRET}\"\n"),
    );
    put(
        dir.path(),
        ".env.local",
        format!("api_key = \"{SECRET}\"\n"),
    );
    let v: Value = scan_json(dir.path(), &["scan", "-f", "json"]);
    let mut paths = finding_paths(&v);
    paths.sort();
    assert_eq!(paths, [".env.local", ".git/config", "config/app.env"]);
    // --no-ignore brings the ignored file back; the rest of .git stays skipped.
    let v: Value = scan_json(dir.path(), &["scan", "-f", "json", "--no-ignore"]);
    assert_eq!(v.as_array().unwrap().len(), 4);
}

/// Inside a repository a tracked file stays scanned when a `.gitignore` rule written after its
/// commit matches it (git still versions it); an untracked ignored file stays skipped.
#[test]
fn tracked_files_matched_by_gitignore_are_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let git = |args: &[&str]| git_in(repo, args);
    git(&["init", "-q"]);
    put(repo, "config/.env", format!("api_key = \"{SECRET}\"\n"));
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "add"]);
    put(repo, ".gitignore", ".env\nlocal.env\n");
    put(repo, "local.env", format!("api_key = \"{SECRET}\"\n"));
    let v: Value = scan_json(repo, &["scan", "-f", "json"]);
    let mut paths = finding_paths(&v);
    paths.sort();
    assert_eq!(paths, ["config/.env"]);
    // `allow.paths` still applies to such a file.
    put(repo, ".keysweep.toml", "[allow]\npaths = [\"config/**\"]\n");
    let v: Value = scan_json(repo, &["scan", "-f", "json"]);
    assert_eq!(v.as_array().unwrap().len(), 0, "{v}");
}

/// Outside a git repository a `.gitignore` ignores nothing, as in git: a copied tree, a backup
/// or an unpacked archive keeps the `.env` files its `.gitignore` names, and they are read.
#[test]
fn gitignore_outside_a_repository_ignores_nothing() {
    let dir = tree();
    put(dir.path(), ".gitignore", ".env\n.env.*\n");
    put(
        dir.path(),
        ".env.production",
        format!("api_key = \"{SECRET}\"\n"),
    );
    let v: Value = scan_json(dir.path(), &["scan", "-f", "json"]);
    let paths = finding_paths(&v);
    assert!(paths.contains(&".env.production"), "{paths:?}");
}

#[test]
fn binary_empty_and_invalid_utf8_files() {
    let dir = tree();
    put(
        dir.path(),
        "blob.bin",
        [
            b"\x7fELF\x02\x01\0\0".as_slice(),
            format!("api_key = \"{SECRET}\"").as_bytes(),
        ]
        .concat(),
    );
    put(dir.path(), "empty.txt", "");
    let mut latin1 = b"caf\xe9 \xff\xfe\n".to_vec();
    latin1.extend_from_slice(format!("secret = \"{SECRET}\"\n").as_bytes());
    put(dir.path(), "latin1.cfg", latin1);
    let o = run(dir.path(), &["scan", "-f", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let paths = finding_paths(&v);
    assert_eq!(paths, ["config/app.env", "latin1.cfg"]);
    assert_eq!(v[1]["line"], 2);
    let summary = stderr(&o);
    assert!(
        summary.contains("skipped 1 binary, 0 too large"),
        "{summary}"
    );
    assert!(summary.contains("in 4 file(s)"), "{summary}");
    // --scan-binary scans it too.
    let v: Value = scan_json(dir.path(), &["scan", "-f", "json", "--scan-binary"]);
    assert_eq!(v.as_array().unwrap().len(), 3);
}

#[test]
fn huge_sparse_file_is_skipped_by_size_and_counted() {
    let dir = tree();
    let f = fs::File::create(dir.path().join("huge.img")).unwrap();
    f.set_len(3 << 30).unwrap(); // 3 GiB, sparse: no disk used
    let o = run(dir.path(), &["scan"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("skipped 0 binary, 1 too large"),
        "{}",
        stderr(&o)
    );
    // With the limit raised it is mapped, found binary (NULs) and skipped as such, not read.
    let o = run(dir.path(), &["scan", "--max-file-size", "4G"]);
    assert!(
        stderr(&o).contains("skipped 1 binary, 0 too large"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn large_file_is_mapped_and_scanned_in_chunks_with_correct_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = Vec::with_capacity(20 << 20);
    let mut line = 0;
    while data.len() < 18 << 20 {
        data.extend_from_slice(b"let value = compute(alpha, beta); // ordinary source\n");
        line += 1;
    }
    data.extend_from_slice(format!("api_key = \"{SECRET}\"\n").as_bytes());
    put(dir.path(), "big.js", &data);
    let v: Value = scan_json(dir.path(), &["scan", "-f", "json"]);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["line"], line + 1);
}

#[test]
fn fifo_in_the_tree_does_not_hang_the_scan() {
    let dir = tree();
    let fifo = dir.path().join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo unavailable; skipping");
        return;
    }
    let mut child = keysweep()
        .current_dir(dir.path())
        .args(["scan", "-q"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(1));
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("scan hung on a FIFO");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn symlink_loop_is_reported_and_the_rest_is_scanned() {
    let dir = tree();
    fs::create_dir_all(dir.path().join("a/b")).unwrap();
    std::os::unix::fs::symlink("../..", dir.path().join("a/b/up")).unwrap();
    // Not following links: the loop is never entered.
    let o = run(dir.path(), &["scan"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // Following links: the loop is detected and reported as a warning (nothing the user must
    // fix, nothing went unscanned), and the scan still finds the secret.
    let o = run(dir.path(), &["scan", "--follow", "-f", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: a/b/up: symbolic link loop"),
        "{}",
        stderr(&o)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == "config/app.env"));
}

#[test]
fn unreadable_file_is_reported_and_the_rest_is_scanned() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tree();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let locked = dir.path().join("config/locked.env");
    fs::write(&locked, format!("api_key = \"{SECRET}\"\n")).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let mut cmd = keysweep();
    if fs::read(&locked).is_ok() {
        // Root reads anything: drop to an unprivileged user for this run.
        if !Command::new("setpriv")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            eprintln!("running as root without setpriv; skipping");
            return;
        }
        cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_keysweep"),
        ]);
    }
    let o = cmd
        .current_dir(dir.path())
        .args(["scan", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot read config/locked.env: Permission denied"),
        "{}",
        stderr(&o)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["path"], "config/app.env");
}

#[test]
fn user_rule_files_extend_and_malformed_ones_are_errors() {
    let dir = tree();
    let rules = dir.path().join("team.toml");
    fs::write(&rules, include_str!("fixtures/acme.toml")).unwrap();
    put(dir.path(), "src/acme.txt", "k = acme_q8w7e6r5t4y3u2i1\n");
    let v: Value = serde_json::from_slice(
        &run(
            dir.path(),
            &["scan", "src", "-f", "json", "--rules", "team.toml"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(v[0]["rule_id"], "acme.key");
    assert_eq!(
        run(dir.path(), &["rules", "check", "team.toml"])
            .status
            .code(),
        Some(0)
    );

    fs::write(
        &rules,
        fs::read_to_string(&rules)
            .unwrap()
            .replace("\"high\"", "\"sure\""),
    )
    .unwrap();
    let o = run(dir.path(), &["scan", "--rules", "team.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("team.toml") && e.contains("`acme.key`") && e.contains("`confidence`"),
        "{e}"
    );
}

#[test]
fn rules_check_reports_failing_examples_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "bad.toml",
        r#"
[[rule]]
id = "acme.key"
name = "Acme key"
description = "An Acme key."
keywords = ["acme_"]
pattern = '\b(?P<secret>acme_[a-z0-9]{16})\b'
examples = [{ text = "k = acme_SHOUTING", secret = "acme_SHOUTING" }]
negative_examples = ["k = acme_q8w7e6r5t4y3u2i1"]

[[rule]]
id = "acme.slow"
name = "Acme slow"
description = "No keywords, unbounded."
pattern = 'acme-[a-z]+'
examples = [{ text = "acme-abc", secret = "acme-abc" }]
negative_examples = ["nothing"]
"#,
    );
    let o = run(dir.path(), &["rules", "check", "bad.toml"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("FAIL acme.key: example #1"), "{out}");
    assert!(out.contains("FAIL acme.key: negative example #1"), "{out}");
    assert!(out.contains("warning acme.slow: no keywords"), "{out}");
    assert!(out.contains("checked 2 rules"), "{out}");
}

#[test]
fn rules_list_json_lists_every_builtin_rule() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["rules", "list", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules = v.as_array().unwrap();
    assert!(rules.len() >= 200, "{}", rules.len());
    assert!(rules
        .iter()
        .all(|r| r["id"].is_string() && r["confidence"].is_string()));
    let human = stdout(&run(dir.path(), &["rules", "list"]));
    assert_eq!(human.lines().count(), rules.len());
}

#[test]
fn min_confidence_filters_findings() {
    let dir = tree();
    assert_eq!(
        run(dir.path(), &["scan", "--min-confidence", "medium"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(dir.path(), &["scan", "--min-confidence", "low"])
            .status
            .code(),
        Some(1)
    );
}

/// Regression: names from scanned data went raw to the terminal: a file named with an escape
/// sequence retitled the terminal, a newline forged a finding line. Human output escapes them;
/// JSON keeps the exact name (and its bytes, when they are not UTF-8).
#[test]
fn names_cannot_inject_terminal_escapes_or_forge_lines() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let evil = "esc\u{1b}]0;PWNED\u{7}.env";
    fs::write(dir.path().join(evil), format!("token: '{SECRET}'\n")).unwrap();
    let forged = "a\nfake.env:1:1  aws.access_key_id  AKIA*****  high\n.env";
    fs::write(dir.path().join(forged), format!("token: '{SECRET}'\n")).unwrap();
    let raw = std::ffi::OsStr::from_bytes(b"caf\xe9.env");
    fs::write(dir.path().join(raw), format!("token: '{SECRET}'\n")).unwrap();

    let o = run(dir.path(), &["scan", "--color", "never", "."]);
    let out = stdout(&o);
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("esc\\x1b]0;PWNED\\x07.env:1:"), "{out}");
    assert!(
        out.contains("a\\x0afake.env:1:1  aws.access_key_id"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 3, "one line per finding: {out}");

    let o = run(dir.path(), &["scan", "-f", "json", "."]);
    let rows: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert!(
        paths.contains(&evil) && paths.contains(&forged),
        "{paths:?}"
    );
    let latin = rows
        .iter()
        .find(|r| r.get("path_base64").is_some())
        .unwrap();
    assert_eq!(latin["path"], "caf\u{fffd}.env");
    assert_eq!(latin["path_base64"], "Y2Fm6S5lbnY=");
}

#[test]
fn completions_and_man_page_come_from_the_command_line_definitions() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(dir.path(), &["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(
            text.contains("keysweep") && text.contains("min-confidence"),
            "{shell}"
        );
    }
    let o = run(dir.path(), &["completions", "man"]);
    let man = stdout(&o);
    assert!(
        man.starts_with(".ie") || man.contains(".TH keysweep"),
        "{man}"
    );
}

#[test]
fn each_subcommand_lists_only_its_own_options() {
    let dir = tempfile::tempdir().unwrap();
    let scan = stdout(&run(dir.path(), &["scan", "--help"]));
    let inventory = stdout(&run(dir.path(), &["inventory", "--help"]));
    assert!(scan.contains("--staged") && !scan.contains("--results") && !scan.contains("--as-of"));
    assert!(inventory.contains("--results") && !inventory.contains("--staged"));
    assert!(!inventory.contains("--group") && scan.contains("--group"));
}

#[test]
fn decode_depth_beyond_eight_is_an_error_not_a_silent_cap() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["scan", "--decode-depth", "9", "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--decode-depth"), "{}", stderr(&o));
    let o = run(dir.path(), &["scan", "--decode-depth", "8", "."]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Regression: one bad line of `--repos-from` (a path that does not exist, a directory that
/// is no repository) aborted the whole run before the good repositories were scanned.
#[test]
fn a_bad_line_in_repos_from_is_reported_and_the_rest_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    fs::create_dir(&good).unwrap();
    let git = |args: &[&str]| git_in(&good, args);
    git(&["init", "-q"]);
    fs::write(good.join("app.env"), format!("token: '{SECRET}'\n")).unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "add"]);
    let plain = dir.path().join("not-a-repo");
    fs::create_dir(&plain).unwrap();
    fs::write(
        dir.path().join("repos.txt"),
        format!(
            "/nonexistent/repo\n{}\n{}\n",
            plain.display(),
            good.display()
        ),
    )
    .unwrap();
    for args in [
        vec!["scan", "--git", "-f", "json", "--repos-from", "repos.txt"],
        vec!["inventory", "--git", "--repos-from", "repos.txt"],
    ] {
        let o = run(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("/nonexistent/repo"), "{err}");
        assert!(
            err.contains("not-a-repo") && err.contains("not a git repository"),
            "{err}"
        );
        assert!(
            stdout(&o).contains("app.env"),
            "{args:?}: the good repository was scanned"
        );
    }
}
