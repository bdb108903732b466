//! Moving from gitleaks or betterleaks with one flag: `--rules .gitleaks.toml` runs the
//! repository's gitleaks configuration, and `.gitleaksignore` at its root is honoured. Every
//! secret here is fake.

mod common;

use std::path::Path;

use common::{keysweep, Repo};
use serde_json::Value;

/// The realistic configuration of `tests/fixtures/gitleaks/.gitleaks.toml`.
const CONFIG: &str = include_str!("fixtures/gitleaks/.gitleaks.toml");

const LIVE: &str = "acme_live_q8w7e6r5t4y3u2i1o9p0z8x7";
const REVIEWED: &str = "acme_live_m3n8b2v7c1x6z5l4k9j0h2g3";
const AWS: &str = "AKIAUJZDEGXDNCF32EPF";

/// A repository configured for gitleaks: its config, secrets its custom rules and the
/// default rules find, vendored code, a generic password (the config disables the generic
/// rule) and a `.gitleaksignore` with reviewed findings.
fn repository() -> Repo {
    let r = Repo::new();
    r.put(".gitleaks.toml", CONFIG);
    r.put(
        "config/prod.env",
        "APP=1\nDATABASE_URL=acmedb://svc:Zq8vR2mT6pL9wX3n@db.internal/app\n",
    );
    r.put(
        "docs/setup.md",
        "Connect with acmedb://svc:Zq8vR2mT6pL9wX3n@db.internal/app\n",
    );
    r.put(
        "src/client.py",
        &format!(
            "import os\n\nTOKEN = \"{LIVE}\"\nOTHER = \"{REVIEWED}\"\nTEST = \"acme_test_m3n8b2v7c1x6z5l4k9j0h2g3\"\nGUIDE = \"acme_live_sampletokenq8w7e6r5t4y3u\"\n"
        ),
    );
    r.put(
        "src/aws.py",
        &format!("AWS_KEY = \"{AWS}\"\npassword = \"Vq7rT2pLx9Wm\"\n"),
    );
    r.put("vendor/acme/sdk.py", &format!("T = \"{LIVE}\"\n"));
    r.put(
        ".gitleaksignore",
        "# reviewed in SEC-1234\nsrc/client.py:acme-internal-token:4\n\n# a test key, reviewed under gitleaks' own rule\nsrc/aws.py:aws-access-token:1\n",
    );
    r
}

fn records(dir: &Path, args: &[&str]) -> (Vec<Value>, i32) {
    let out = keysweep(dir, args);
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (rows, code)
}

/// (path, line, rule, suppression) of each record, sorted.
fn summary(rows: &[Value]) -> Vec<(String, u64, String, String)> {
    let mut out: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
                r["rule_id"].as_str().unwrap().to_string(),
                r["suppressed"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn row(path: &str, line: u64, rule: &str, why: &str) -> (String, u64, String, String) {
    (path.into(), line, rule.into(), why.into())
}

#[test]
fn a_gitleaks_config_and_its_ignore_file_run_as_they_are() {
    let r = repository();
    let args = [
        "scan",
        "--rules",
        ".gitleaks.toml",
        "--format",
        "jsonl",
        "--show-suppressed",
        "-q",
        ".",
    ];
    let (rows, code) = records(&r.path, &args);
    assert_eq!(code, 1);
    assert_eq!(
        summary(&rows),
        [
            // The custom rule scoped to config files: not in docs/setup.md.
            row("config/prod.env", 2, "acme-db-password", "-"),
            // useDefault: keysweep's built-in rules stand in for gitleaks' defaults. An
            // entry under gitleaks' own rule id (not loaded here) suppresses that line.
            row("src/aws.py", 1, "aws.access_key_id", "ignorefile"),
            row("src/client.py", 3, "acme-internal-token", "-"),
            row("src/client.py", 4, "acme-internal-token", "ignorefile"),
            // A test key the rule's own conditions reject: no finding, listed with why.
            row("src/client.py", 5, "acme-internal-token", "rejected"),
            // The rule's stopword.
            row("src/client.py", 6, "acme-internal-token", "allowlist"),
            // The global allowlist's paths.
            row("vendor/acme/sdk.py", 1, "acme-internal-token", "allowlist"),
        ]
    );
    // The secret the rule's secret group (its first group) holds.
    let db = rows
        .iter()
        .find(|r| r["rule_id"] == "acme-db-password")
        .unwrap();
    assert_eq!(db["column"], 27);
    assert_eq!(db["end_column"], 43);
    let origin = keysweep(
        &r.path,
        &["rules", "list", "--rules", ".gitleaks.toml", "-f", "json"],
    );
    let listed: Value = serde_json::from_slice(&origin.stdout).unwrap();
    let custom = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "acme-internal-token")
        .unwrap();
    assert_eq!(custom["origin"], "gitleaks:.gitleaks.toml");
    // disabledRules = ["generic-api-key"]: the built-in generic rules are off.
    assert!(!listed
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"].as_str().unwrap().starts_with("generic.")));

    // Without the configuration, the built-in rules report the password and the AWS key;
    // the .gitleaksignore entry names a gitleaks rule no loaded rule has, so it still applies.
    let (rows, _) = records(
        &r.path,
        &["scan", "--format", "jsonl", "--show-suppressed", "-q", "."],
    );
    let s = summary(&rows);
    assert!(
        s.contains(&row("src/aws.py", 1, "aws.access_key_id", "ignorefile")),
        "{s:?}"
    );
    assert!(
        s.iter().any(|(p, l, rule, why)| p == "src/aws.py"
            && *l == 2
            && rule.starts_with("generic.")
            && why == "-"),
        "{s:?}"
    );

    // --no-config: no .gitleaksignore either.
    let (rows, _) = records(&r.path, &[&args[..7], &["--no-config", "."]].concat());
    assert!(summary(&rows).contains(&row("src/client.py", 4, "acme-internal-token", "-")));

    // The human summary counts them by reason.
    let out = keysweep(&r.path, &["scan", "--rules", ".gitleaks.toml", "."]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("4 suppressed (2 allowlist, 2 ignorefile;"),
        "{err}"
    );
}

#[test]
fn a_config_without_use_default_is_a_complete_rule_set() {
    let r = repository();
    let own = CONFIG
        .replace("useDefault = true\n", "")
        .replace("disabledRules = [\"generic-api-key\"]\n", "");
    r.put(".gitleaks.toml", &own);
    let (rows, _) = records(
        &r.path,
        &[
            "scan",
            "--rules",
            ".gitleaks.toml",
            "--format",
            "jsonl",
            "-q",
            ".",
        ],
    );
    let rules: Vec<&str> = rows
        .iter()
        .map(|r| r["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["acme-db-password", "acme-internal-token"]);
    let help = keysweep(&r.path, &["scan", "--help"]);
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("gitleaks"), "{help}");
    assert!(help.contains("useDefault"), "{help}");
}

#[test]
fn history_entries_need_their_commit_and_follow_the_secret_into_later_versions() {
    let r = repository();
    r.put(".gitleaksignore", "");
    let first = r.commit("add the client");
    // A later version of the file: the secret moves from line 3 to line 5.
    r.put(
        "src/client.py",
        &format!("import os\nimport sys\n\n# the token\nTOKEN = \"{LIVE}\"\n"),
    );
    let second = r.commit("edit the client");
    r.put(
        ".gitleaksignore",
        &format!("{first}:src/client.py:acme-internal-token:3\n"),
    );
    let args = [
        "scan",
        "--git",
        "--rules",
        ".gitleaks.toml",
        "--format",
        "jsonl",
        "--show-suppressed",
        "-q",
        ".",
    ];
    let (rows, _) = records(&r.path, &args);
    let mut client: Vec<(String, u64, String)> = rows
        .iter()
        .filter(|x| x["path"] == "src/client.py")
        .map(|x| {
            (
                x["git"]["commit"].as_str().unwrap().to_string(),
                x["line"].as_u64().unwrap(),
                x["suppressed"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    client.sort_by_key(|(c, l, _)| (*c != first, *l));
    let entry = |c: &str, l: u64, why: &str| (c.to_string(), l, why.to_string());
    assert_eq!(
        client,
        [
            entry(&first, 3, "ignorefile"),
            // Another secret of that file and commit.
            entry(&first, 4, "-"),
            entry(&first, 5, "rejected"),
            entry(&first, 6, "allowlist"),
            // The same secret in the next version of the file, on another line.
            entry(&second, 5, "ignorefile"),
        ]
    );

    // The same entry for another commit suppresses nothing.
    r.put(
        ".gitleaksignore",
        "0000000000000000000000000000000000000000:src/client.py:acme-internal-token:3\n",
    );
    let (rows, _) = records(&r.path, &args);
    assert!(rows.iter().all(|x| x["suppressed"] != "ignorefile"));
}

#[test]
fn a_malformed_ignore_file_stops_the_run_naming_file_and_line() {
    let r = repository();
    r.put(
        ".gitleaksignore",
        "# ok\nsrc/client.py:acme-internal-token:4\nsrc/client.py:4\n",
    );
    let out = keysweep(&r.path, &["scan", "--rules", ".gitleaks.toml", "."]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(".gitleaksignore:3: expected `file:rule-id:line`"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn untranslatable_configs_are_errors_naming_file_rule_and_field() {
    let r = repository();
    r.put(
        "commits.toml",
        "[[rules]]\nid = \"acme\"\nregex = '''acme_[a-z]{10}'''\nkeywords = [\"acme_\"]\n[[rules.allowlists]]\ncommits = [\"abc123\"]\n",
    );
    for cmd in [
        &["scan", "--rules", "commits.toml", "."][..],
        &["rules", "check", "commits.toml"][..],
        &["rules", "list", "--rules", "commits.toml"][..],
    ] {
        let out = keysweep(&r.path, cmd);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("commits.toml:6: rule `acme`: field `allowlists[1].commits`"),
            "{cmd:?}: {err}"
        );
    }

    // `rules check` on a good configuration: translated and compiled, no examples to run.
    let out = keysweep(&r.path, &["rules", "check", ".gitleaks.toml"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("checked 2 rules: 0 failure(s)"), "{text}");
    assert!(
        text.contains("2 rule(s) from gitleaks configurations have no examples"),
        "{text}"
    );
}
