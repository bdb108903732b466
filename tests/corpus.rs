//! The fixture corpus: every file type the issue names, with fake secrets planted on known
//! lines (corpus/expected.tsv) and files that must stay silent (corpus/negatives/).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// (path, line, rule id, decoding layers joined by `,`: empty for a secret as written).
type Key = (String, u64, String, String);

fn corpus() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpus"))
}

fn expected() -> BTreeSet<Key> {
    let text = std::fs::read_to_string(corpus().join("expected.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let decoded = f.get(3).copied().unwrap_or("");
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].to_string(),
                decoded.to_string(),
            )
        })
        .collect()
}

fn scan(extra: &[&str]) -> Vec<Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_keysweep"))
        .current_dir(corpus())
        .args(["scan", ".", "--no-config", "--format", "json", "--reveal"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn keys(findings: &[Value]) -> BTreeSet<Key> {
    findings
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_string(),
                f["decoded"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(","),
            )
        })
        .collect()
}

#[test]
fn corpus_findings_are_exactly_the_expected_ones() {
    let found = scan(&[]);
    let got = keys(&found);
    let want = expected();
    let missing: Vec<_> = want.difference(&got).collect();
    let unexpected: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing {missing:?}\nunexpected {unexpected:?}"
    );
    assert_eq!(
        found.len(),
        want.len(),
        "one finding per expected line and rule"
    );
    // Every file type the issue lists is represented.
    for dir in [
        "env",
        "k8s",
        "json",
        "notebooks",
        "src",
        "infra",
        "config",
        "docs",
        "data",
        "logs",
        "web",
        "windows",
        "keys",
    ] {
        assert!(
            want.iter().any(|(p, _, _, _)| p.starts_with(dir)),
            "no expectation under {dir}/"
        );
    }
}

#[test]
fn corpus_gives_the_same_findings_without_the_prefilter() {
    assert_eq!(keys(&scan(&[])), keys(&scan(&["--no-prefilter"])));
}

#[test]
fn negatives_and_ci_references_stay_silent() {
    let found = scan(&[]);
    for f in &found {
        let p = f["path"].as_str().unwrap();
        assert!(!p.starts_with("negatives/") && !p.starts_with("ci/"), "{f}");
    }
}

#[test]
fn crlf_lines_do_not_leak_carriage_returns_into_secrets() {
    let found = scan(&[]);
    let ini: Vec<&Value> = found
        .iter()
        .filter(|f| f["path"] == "windows/settings.ini")
        .collect();
    assert_eq!(ini.len(), 2);
    for f in ini {
        assert!(!f["secret"].as_str().unwrap().contains('\r'), "{f}");
    }
    let raw = std::fs::read(corpus().join("windows/settings.ini")).unwrap();
    assert!(
        raw.windows(2).any(|w| w == b"\r\n"),
        "the fixture must keep its CRLF endings"
    );
}

#[test]
fn minified_js_finding_has_its_column_on_one_long_line() {
    let found = scan(&[]);
    let f = found
        .iter()
        .find(|f| f["path"] == "web/bundle.min.js")
        .unwrap();
    let raw = std::fs::read(corpus().join("web/bundle.min.js")).unwrap();
    let secret = f["secret"].as_str().unwrap().as_bytes();
    let col = f["column"].as_u64().unwrap() as usize;
    assert!(col > 100_000);
    assert_eq!(&raw[col - 1..col - 1 + secret.len()], secret);
}
