//! Archives in the file walker: zip/jar, tar, tar.gz, gz, nested, and the limits that keep a
//! zip bomb or a hostile tar harmless. Archives are built at test time with Python's zipfile
//! and tarfile (python3 is needed by the FFI tests too). All secrets are fake.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::keysweep;
use serde_json::Value;

const STRIPE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const GITHUB: &str = "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";

/// Runs a Python script in `dir` with helpers `z(name, {path: bytes})`, `t(name, {path:
/// bytes}, gz=False)`.
fn python(dir: &Path, script: &str) {
    let prelude = r#"
import io, gzip, tarfile, zipfile
def zbytes(files):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            z.writestr(n, d)
    return b.getvalue()
def tbytes(files, gz=False):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz" if gz else "w") as t:
        for n, d in files.items():
            i = tarfile.TarInfo(n); i.size = len(d); t.addfile(i, io.BytesIO(d))
    return b.getvalue()
def w(name, data):
    open(name, "wb").write(data)
"#;
    let out = Command::new("python3")
        .current_dir(dir)
        .arg("-c")
        .arg(format!("{prelude}\n{script}"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scan(dir: &Path, extra: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let out = keysweep(dir, &[&["scan", ".", "--format", "json"], extra].concat());
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        out.status.code(),
        findings.as_array().unwrap().clone(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn paths(findings: &[Value]) -> Vec<(String, u64, String)> {
    let mut v: Vec<(String, u64, String)> = findings
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn zip_tar_gz_and_nesting_name_the_path_inside() {
    let dir = tempfile::tempdir().unwrap();
    python(
        dir.path(),
        &format!(
            r##"
props = b"# app\nserver.port=8080\nstripe.key={STRIPE}\n"
w("app.jar", zbytes({{"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "config/application.properties": props}}))
w("pkg-1.0-py3-none-any.whl", zbytes({{"pkg/settings.py": b"GITHUB_TOKEN = '{GITHUB}'\n"}}))
w("site.tar", tbytes({{"etc/app.env": b"\nSTRIPE_KEY={STRIPE}\n"}}))
inner_jar = zbytes({{"config/secrets.env": b"token={GITHUB}\n"}})
w("release.tgz", tbytes({{"lib/app.jar": inner_jar, "README": b"hello\n"}}, gz=True))
w("dump.sql.gz", gzip.compress(b"-- dump\nINSERT INTO keys VALUES ('{STRIPE}');\n"))
"##
        ),
    );
    let (code, findings, stderr) = scan(dir.path(), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        paths(&findings),
        [
            (
                "app.jar!/config/application.properties".into(),
                3,
                "stripe.secret_key.live".into()
            ),
            (
                "dump.sql.gz!/dump.sql".into(),
                2,
                "stripe.secret_key.live".into()
            ),
            (
                "pkg-1.0-py3-none-any.whl!/pkg/settings.py".into(),
                1,
                "github.pat.classic".into()
            ),
            (
                "release.tgz!/lib/app.jar!/config/secrets.env".into(),
                1,
                "github.pat.classic".into()
            ),
            (
                "site.tar!/etc/app.env".into(),
                2,
                "stripe.secret_key.live".into()
            ),
        ]
    );
    assert!(stderr.contains("archive(s) included"), "{stderr}");

    // --no-archives: archives are binary files, skipped.
    let out = keysweep(dir.path(), &["scan", ".", "--no-archives"]);
    assert_eq!(out.status.code(), Some(0));

    // --archive-depth 1: the jar inside the tarball is not opened, and that is reported.
    let (code, findings, stderr) = scan(dir.path(), &["--archive-depth", "1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!findings
        .iter()
        .any(|f| f["path"].as_str().unwrap().contains("release.tgz")));
    assert!(
        stderr
            .contains("release.tgz!/lib/app.jar: archive nested deeper than 1 levels, not opened"),
        "{stderr}"
    );
}

#[test]
fn a_zip_bomb_is_reported_and_the_rest_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    python(
        dir.path(),
        &format!(
            r##"
w("bomb.zip", zbytes({{"a/zeros.bin": b"\0" * (8 << 20), "b/config.env": b"STRIPE_KEY={STRIPE}\n"}}))
w("many.zip", zbytes({{("part%d.txt" % i): b"x" * 60000 for i in range(6)}}))
w("ok.env", b"token={GITHUB}\n")
"##
        ),
    );
    let (code, findings, stderr) = scan(dir.path(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    // 8 MiB of zeros from a few KiB: over the 200:1 ratio, never held whole (its start is
    // scanned, and found binary).
    assert!(
        stderr.contains(
            "bomb.zip!/a/zeros.bin: inflates more than 200:1 (a zip bomb?); only its first 1600 KiB are scanned"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("many.zip"), "{stderr}");
    assert_eq!(
        paths(&findings),
        [
            (
                "bomb.zip!/b/config.env".into(),
                1,
                "stripe.secret_key.live".into()
            ),
            ("ok.env".into(), 1, "github.pat.classic".into()),
        ]
    );
    assert!(!stderr.contains(STRIPE) && !stderr.contains(GITHUB));

    // An entry count limit stops the archive and says so; the entries before it are scanned.
    // (--verbose: without it, an archive's first problem is shown and the others counted.)
    let (code, findings, stderr) = scan(dir.path(), &["--max-archive-entries", "1", "-v"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("bomb.zip: more than 1 entries; the rest of the archive is not scanned"),
        "{stderr}"
    );
    assert!(!findings
        .iter()
        .any(|f| f["path"].as_str().unwrap().starts_with("bomb.zip")));

    // Six 60 KB entries pass 200 KiB in all: the rest of that archive is left, and said so.
    let (code, _, stderr) = scan(dir.path(), &["--max-archive-size", "200K"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "many.zip: more than 200 KiB inflated; the rest of the archive is not scanned (the first"
        ),
        "{stderr}"
    );
}

#[test]
fn tar_entries_climbing_out_are_reported_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let scan_dir = dir.path().join("scan");
    fs::create_dir(&scan_dir).unwrap();
    python(
        &scan_dir,
        &format!(
            r##"
w("evil.tar", tbytes({{"../../escaped.env": b"STRIPE_KEY={STRIPE}\n", "/etc/abs.env": b"token={GITHUB}\n"}}))
"##
        ),
    );
    let (code, findings, stderr) = scan(&scan_dir, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        paths(&findings),
        [
            (
                "evil.tar!/escaped.env".into(),
                1,
                "stripe.secret_key.live".into()
            ),
            (
                "evil.tar!/etc/abs.env".into(),
                1,
                "github.pat.classic".into()
            ),
        ]
    );
    assert!(
        stderr.contains(r#"entry "../../escaped.env" points outside the archive"#),
        "{stderr}"
    );
    assert!(stderr.contains(r#"entry "/etc/abs.env" points outside the archive"#));
    // Nothing was extracted anywhere.
    assert!(!dir.path().join("escaped.env").exists());
    assert_eq!(fs::read_dir(&scan_dir).unwrap().count(), 1);
}

#[test]
fn a_corrupt_archive_is_reported_and_other_files_scanned() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("broken.zip"),
        b"PK\x03\x04 this is not really a zip",
    )
    .unwrap();
    fs::write(
        dir.path().join("broken.tgz"),
        [0x1f, 0x8b, 0x08, 0x00, 1, 2, 3],
    )
    .unwrap();
    fs::write(dir.path().join("ok.env"), format!("token={GITHUB}\n")).unwrap();
    let (code, findings, stderr) = scan(dir.path(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("broken.zip: not a readable zip archive"),
        "{stderr}"
    );
    assert!(stderr.contains("broken.tgz"), "{stderr}");
    assert_eq!(findings.len(), 1);
}

/// Regression: padding an entry past the inflation ratio, or truncating a `.gz`, hid the
/// secret at its start. What was inflated before the limit or the break is scanned, and the
/// limit or the damage is reported (exit status 2).
#[test]
fn a_limit_or_a_truncation_does_not_hide_what_came_before_it() {
    let dir = tempfile::tempdir().unwrap();
    python(
        dir.path(),
        &format!(
            r##"
w("padded.zip", zbytes({{"config.env": b"STRIPE_KEY={STRIPE}\n" + b" " * (2 << 20)}}))
import gzip, random
rnd = random.Random(7)
body = b"GITHUB_TOKEN={GITHUB}\n" + bytes(rnd.choice(b"abcdefghij \n") for _ in range(300000))
whole = gzip.compress(body)
w("cut.env.gz", whole[: len(whole) // 2])
"##
        ),
    );
    let (code, findings, stderr) = scan(dir.path(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "padded.zip!/config.env: inflates more than 200:1 (a zip bomb?); only its first"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("cut.env.gz!/cut.env: cannot read past byte"),
        "{stderr}"
    );
    assert_eq!(
        paths(&findings),
        [
            ("cut.env.gz!/cut.env".into(), 1, "github.pat.classic".into()),
            (
                "padded.zip!/config.env".into(),
                1,
                "stripe.secret_key.live".into()
            ),
        ]
    );
}

/// Regression: a nested zip bomb (42.zip-like) printed one error line per entry, thousands of
/// them. Each archive shows its first problem and how many more there are; --verbose lists all.
#[test]
fn many_problems_in_one_archive_are_summarised() {
    let dir = tempfile::tempdir().unwrap();
    python(
        dir.path(),
        r##"
inner = zbytes({("z%d.bin" % i): b"\0" * (2 << 20) for i in range(40)})
w("bombs.zip", zbytes({("lib%d.zip" % i): inner for i in range(3)}))
"##,
    );
    let (code, _, stderr) = scan(dir.path(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(
        errors[1].contains("bombs.zip: 119 more problem(s) in this archive (--verbose lists them)"),
        "{stderr}"
    );
    let (_, _, verbose) = scan(dir.path(), &["--verbose"]);
    assert_eq!(
        verbose
            .lines()
            .filter(|l| l.contains("inflates more than"))
            .count(),
        120
    );
}
