//! End-to-end tests of `keysweep scan --git` on small repositories built with the git CLI
//! (at test time only: keysweep itself reads repositories with gix).

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{keysweep, Repo};
use serde_json::Value;

/// Fake AWS access key ids (the format is checked, the keys do not exist).
const KEY_A: &str = "AKIAUJZDEGXDNCF32EPF";
const KEY_B: &str = "AKIAQW4RZT7MN2XKLP3V";
const KEY_C: &str = "AKIAZX5HBT2RQ7MWNK4D";
const KEY_D: &str = "AKIAMV3KQ7TZX2RWBN5H";

fn scan(repo: &Path, extra: &[&str]) -> (Vec<Value>, String, i32) {
    let mut args = vec!["scan", "--git", "-f", "json", "--no-progress"];
    args.extend_from_slice(extra);
    let repo = repo.to_str().unwrap();
    args.push(repo);
    let out = keysweep(Path::new("/"), &args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let rows: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}); stderr: {stderr}"));
    (
        rows.as_array().unwrap().clone(),
        stderr,
        out.status.code().unwrap(),
    )
}

/// The fingerprint keysweep gives `secret` (scanned on stdin).
fn fingerprint_of(secret: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keysweep"))
        .current_dir(std::env::temp_dir())
        .args(["scan", "-f", "json", "-q", "-"])
        .env_remove("KEYSWEEP_FINGERPRINT_KEY")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "AWS_ACCESS_KEY_ID={secret}").unwrap();
    let out = child.wait_with_output().unwrap();
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    rows[0]["fingerprint"].as_str().unwrap().to_string()
}

fn by_fingerprint<'a>(rows: &'a [Value], fp: &str) -> Vec<&'a Value> {
    rows.iter().filter(|r| r["fingerprint"] == fp).collect()
}

#[test]
fn a_secret_added_then_deleted_is_found_with_its_commit() {
    let r = Repo::new();
    r.put("README.md", "hello\n");
    r.commit("initial");
    r.put("deploy/aws.env", &format!("AWS_ACCESS_KEY_ID={KEY_A}\n"));
    let added = r.commit("add deploy settings");
    fs::remove_file(r.path.join("deploy/aws.env")).unwrap();
    r.commit("remove the key");

    let (rows, stderr, code) = scan(&r.path, &[]);
    assert_eq!(code, 1, "{stderr}");
    let fp = fingerprint_of(KEY_A);
    let found = by_fingerprint(&rows, &fp);
    assert_eq!(found.len(), 1, "{rows:#?}");
    let f = found[0];
    assert_eq!(f["rule_id"], "aws.access_key_id");
    assert_eq!(f["path"], "deploy/aws.env");
    assert_eq!(f["line"], 1);
    let g = &f["git"];
    assert_eq!(g["commit"], added.as_str());
    assert_eq!(g["author_name"], "Ada Dev");
    assert_eq!(g["author_email"], "ada@example.com");
    assert_eq!(g["summary"], "add deploy settings");
    assert_eq!(g["date"], "2020-09-13T14:26:40+00:00");
    assert_eq!(g["present_at_head"], false);
    assert_eq!(g["reachable"], true);
    assert_eq!(g["refs"], serde_json::json!(["refs/heads/main"]));
    assert_eq!(g["refs_total"], 1);
    // Redacted by default.
    assert!(!String::from_utf8_lossy(&serde_json::to_vec(&rows).unwrap()).contains(KEY_A));
}

#[test]
fn one_secret_in_two_files_on_two_branches_is_grouped() {
    let r = Repo::new();
    r.put("a.env", &format!("AWS_ACCESS_KEY_ID={KEY_B}\n"));
    let first = r.commit("key in a");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.put("b.env", &format!("# copy\nAWS_ACCESS_KEY_ID={KEY_B}\n"));
    let second = r.commit("key in b");
    r.git(&["checkout", "-q", "main"]);

    let fp = fingerprint_of(KEY_B);
    let (rows, _, _) = scan(&r.path, &[]);
    let found = by_fingerprint(&rows, &fp);
    assert_eq!(found.len(), 2, "two blobs: {rows:#?}");
    assert_eq!(found[0]["path"], "a.env");
    assert_eq!(found[0]["git"]["commit"], first.as_str());
    assert_eq!(
        found[0]["git"]["refs"],
        serde_json::json!(["refs/heads/main", "refs/heads/feature"])
    );
    assert_eq!(found[1]["path"], "b.env");
    assert_eq!(found[1]["git"]["commit"], second.as_str());
    assert_eq!(
        found[1]["git"]["refs"],
        serde_json::json!(["refs/heads/feature"])
    );
    // HEAD (main) still has a.env: the secret is present at HEAD, whichever blob.
    assert!(found.iter().all(|f| f["git"]["present_at_head"] == true));

    let out = keysweep(
        Path::new("/"),
        &[
            "scan",
            "--git",
            "--group",
            "-f",
            "json",
            "-q",
            r.path.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let groups = doc["secrets"].as_array().unwrap();
    let g: Vec<&Value> = groups.iter().filter(|g| g["fingerprint"] == fp).collect();
    assert_eq!(g.len(), 1, "{groups:#?}");
    // --group is the inventory of this one history.
    let g = g[0];
    assert_eq!(g["locations_total"], 2);
    assert_eq!(g["paths"], serde_json::json!(["a.env", "b.env"]));
    assert_eq!(g["first_introduced"]["commit"], first.as_str());
    assert_eq!(g["last_seen"]["commit"], second.as_str());
    assert_eq!(
        g["refs"],
        serde_json::json!(["refs/heads/feature", "refs/heads/main"])
    );
    assert_eq!(g["present_at_head"], true);
    assert_eq!(g["secret"], "AKIA*****");
}

#[test]
fn a_renamed_file_keeps_its_origin_and_a_blob_is_scanned_once() {
    let r = Repo::new();
    let content = format!("AWS_ACCESS_KEY_ID={KEY_C}\n");
    r.put("old/name.env", &content);
    let added = r.commit("add");
    fs::create_dir(r.path.join("new")).unwrap();
    r.git(&["mv", "old/name.env", "new/name.env"]);
    r.commit("rename");
    // The same content again, at a third path and on another commit.
    r.put("copy.env", &content);
    r.commit("copy");

    let (rows, _, _) = scan(&r.path, &[]);
    let fp = fingerprint_of(KEY_C);
    let found = by_fingerprint(&rows, &fp);
    assert_eq!(found.len(), 1, "one blob, one finding: {rows:#?}");
    assert_eq!(found[0]["path"], "old/name.env");
    assert_eq!(found[0]["git"]["commit"], added.as_str());
    assert_eq!(found[0]["git"]["present_at_head"], true);
}

#[test]
fn a_merge_commit_that_introduces_a_blob_is_its_origin() {
    let r = Repo::new();
    r.put("conf.env", "MODE=dev\n");
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.put("conf.env", "MODE=side\n");
    r.commit("side change");
    r.git(&["checkout", "-q", "main"]);
    r.put("conf.env", "MODE=main\n");
    r.commit("main change");
    // A conflicting merge resolved by hand with a new secret.
    let out = Command::new("git")
        .current_dir(&r.path)
        .args(["merge", "-q", "side"])
        .env("GIT_AUTHOR_NAME", "Ada Dev")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Dev")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the merge should conflict");
    r.put(
        "conf.env",
        &format!("MODE=merged\nAWS_ACCESS_KEY_ID={KEY_D}\n"),
    );
    let merge = r.commit("merge side");
    assert_eq!(
        r.git(&["rev-list", "--parents", "-n1", "HEAD"])
            .split(' ')
            .count(),
        3
    );

    let (rows, _, _) = scan(&r.path, &[]);
    let found = by_fingerprint(&rows, &fingerprint_of(KEY_D));
    assert_eq!(found.len(), 1, "{rows:#?}");
    assert_eq!(found[0]["git"]["commit"], merge.as_str());
    assert_eq!(found[0]["git"]["summary"], "merge side");
    assert_eq!(found[0]["line"], 2);
}

#[test]
fn tags_stash_and_unreachable_blobs() {
    let r = Repo::new();
    r.put("README.md", "hello\n");
    r.commit("initial");
    // A commit reachable only through a tag.
    r.git(&["checkout", "-q", "-b", "tmp"]);
    r.put("release.env", &format!("AWS_ACCESS_KEY_ID={KEY_A}\n"));
    let tagged = r.commit("release settings");
    r.git(&["tag", "-a", "-m", "v1", "v1.0"]);
    r.git(&["checkout", "-q", "main"]);
    r.git(&["branch", "-q", "-D", "tmp"]);
    // A tag on a blob.
    r.put("blob.txt", &format!("AWS_ACCESS_KEY_ID={KEY_B}\n"));
    let blob = r.git(&["hash-object", "-w", "blob.txt"]);
    fs::remove_file(r.path.join("blob.txt")).unwrap();
    r.git(&["tag", "blob-tag", &blob]);
    // A stashed change.
    r.put("README.md", &format!("hello\nAWS_ACCESS_KEY_ID={KEY_C}\n"));
    r.clock.set(r.clock.get() + 3600);
    r.git(&["stash", "-q"]);
    // A blob no ref reaches.
    r.put("loose.txt", &format!("AWS_ACCESS_KEY_ID={KEY_D}\n"));
    let loose = r.git(&["hash-object", "-w", "loose.txt"]);
    fs::remove_file(r.path.join("loose.txt")).unwrap();

    let (rows, stderr, _) = scan(&r.path, &[]);
    let a = by_fingerprint(&rows, &fingerprint_of(KEY_A));
    assert_eq!(a.len(), 1, "{rows:#?}");
    assert_eq!(a[0]["git"]["commit"], tagged.as_str());
    assert_eq!(a[0]["git"]["refs"], serde_json::json!(["refs/tags/v1.0"]));
    assert_eq!(a[0]["git"]["present_at_head"], false);

    let b = by_fingerprint(&rows, &fingerprint_of(KEY_B));
    assert_eq!(b.len(), 1, "{rows:#?}");
    assert_eq!(b[0]["git"]["blob"], blob.as_str());
    assert_eq!(b[0]["git"]["commit"], Value::Null);

    let c = by_fingerprint(&rows, &fingerprint_of(KEY_C));
    assert_eq!(c.len(), 1, "{rows:#?}");
    assert_eq!(c[0]["path"], "README.md");
    assert_eq!(c[0]["git"]["refs"], serde_json::json!(["refs/stash"]));

    let d_fp = fingerprint_of(KEY_D);
    assert!(by_fingerprint(&rows, &d_fp).is_empty());
    assert!(
        stderr.contains("1 finding(s) in unreachable blobs not shown"),
        "{stderr}"
    );
    let (rows, _, _) = scan(&r.path, &["--unreachable"]);
    let d = by_fingerprint(&rows, &d_fp);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["git"]["blob"], loose.as_str());
    assert_eq!(d[0]["git"]["reachable"], false);
}

#[test]
fn since_and_branch_scan_only_what_the_range_introduced() {
    let r = Repo::new();
    r.put("one.env", &format!("AWS_ACCESS_KEY_ID={KEY_A}\n"));
    let base = r.commit("one");
    r.put("two.env", &format!("AWS_ACCESS_KEY_ID={KEY_B}\n"));
    let two = r.commit("two");
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.put("three.env", &format!("AWS_ACCESS_KEY_ID={KEY_C}\n"));
    r.commit("three");
    r.git(&["checkout", "-q", "main"]);

    let (rows, stderr, code) = scan(&r.path, &["--since", &base]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["path"], "two.env");
    assert_eq!(rows[0]["git"]["commit"], two.as_str());

    let (rows, _, _) = scan(&r.path, &["--since", &format!("{two}..topic")]);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["path"], "three.env");

    let (rows, _, _) = scan(&r.path, &["--branch", "topic"]);
    let mut paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    paths.sort();
    assert_eq!(paths, ["one.env", "three.env", "two.env"]);

    let out = keysweep(&r.path, &["scan", "--git", "--since", "no-such-rev", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-rev"));
}

#[test]
fn bare_shallow_worktree_and_submodules() {
    let r = Repo::new();
    r.put("a.env", &format!("AWS_ACCESS_KEY_ID={KEY_A}\n"));
    r.commit("one");
    r.put("b.env", &format!("AWS_ACCESS_KEY_ID={KEY_B}\n"));
    r.commit("two");
    // A gitlink, as `git submodule add` would record it.
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        "160000,1111111111111111111111111111111111111111,vendor/lib",
    ]);
    r.git(&["commit", "-q", "-m", "submodule"]);

    let parent = r.path.parent().unwrap();
    let bare = parent.join("bare.git");
    r.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let (rows, stderr, code) = scan(&bare, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(stderr.contains("1 submodule(s) not scanned"), "{stderr}");
    assert!(stderr.contains("vendor/lib"), "{stderr}");

    let shallow = parent.join("shallow");
    let url = format!("file://{}", r.path.display());
    r.git(&[
        "clone",
        "-q",
        "--depth",
        "1",
        &url,
        shallow.to_str().unwrap(),
    ]);
    let (rows, stderr, _) = scan(&shallow, &[]);
    assert!(stderr.contains("shallow clone"), "{stderr}");
    // Both files are in the one commit the clone has.
    assert_eq!(rows.len(), 2, "{rows:#?}");

    let wt = parent.join("wt");
    r.git(&["worktree", "add", "-q", wt.to_str().unwrap()]);
    let (rows, stderr, code) = scan(&wt, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(rows.len(), 2, "{rows:#?}");
}

#[test]
fn a_corrupt_loose_object_is_reported_and_the_rest_scanned() {
    let r = Repo::new();
    r.put("good.env", &format!("AWS_ACCESS_KEY_ID={KEY_A}\n"));
    r.put("bad.env", &format!("AWS_ACCESS_KEY_ID={KEY_B}\n"));
    r.commit("two files");
    let bad = r.git(&["rev-parse", "HEAD:bad.env"]);
    let file = r.path.join(".git/objects").join(&bad[..2]).join(&bad[2..]);
    let bytes = fs::read(&file).unwrap();
    let mut perms = fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&file, perms).unwrap();
    fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();

    let (rows, stderr, code) = scan(&r.path, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&bad), "names the object: {stderr}");
    assert!(
        stderr.contains(&file.display().to_string()),
        "names the file: {stderr}"
    );
    assert!(!stderr.contains(KEY_B), "never prints secret bytes");
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["path"], "good.env");
}

#[test]
fn a_corrupt_pack_is_reported_and_the_rest_scanned() {
    let r = Repo::new();
    // Enough distinct files that some survive the damage.
    for i in 0..40 {
        r.put(
            &format!("f{i:02}.txt"),
            &format!("file {i}\n{}\n", "lorem ipsum ".repeat(50 + i)),
        );
    }
    r.put("z.env", &format!("AWS_ACCESS_KEY_ID={KEY_A}\n"));
    r.commit("many files");
    r.git(&["gc", "-q"]);
    let pack_dir = r.path.join(".git/objects/pack");
    let pack = fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .unwrap();
    let idx = pack.with_extension("idx");
    // Find the pack offset of one blob and damage its compressed data.
    let victim = r.git(&["rev-parse", "HEAD:f07.txt"]);
    let verify = r.git(&["verify-pack", "-v", idx.to_str().unwrap()]);
    let offset: usize = verify
        .lines()
        .find(|l| l.starts_with(&victim))
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap()
        .parse()
        .unwrap();
    let mut bytes = fs::read(&pack).unwrap();
    let mut perms = fs::metadata(&pack).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&pack, perms).unwrap();
    for b in &mut bytes[offset + 4..offset + 20] {
        *b ^= 0x5a;
    }
    fs::write(&pack, &bytes).unwrap();

    let (rows, stderr, code) = scan(&r.path, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&victim), "names the object: {stderr}");
    assert!(
        stderr.contains(&pack.display().to_string()),
        "names the pack: {stderr}"
    );
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["path"], "z.env");
}

/// Regression: in a damaged repository, a secret reached only through a commit that could not
/// be read was counted as "unreachable" and not shown. It is reported with its blob and its
/// path in a tree that holds it, marked as found in damaged history.
#[test]
fn a_secret_behind_an_unreadable_commit_is_shown_with_its_path() {
    let r = Repo::new();
    r.put("readme.txt", "hello\n");
    r.put("deploy/keys.env", &format!("AWS_ACCESS_KEY_ID={KEY_C}\n"));
    let first = r.commit("add keys");
    r.git(&["rm", "-q", "deploy/keys.env"]);
    r.commit("remove keys");
    // Damage the commit that introduced the file (loose objects: no gc ran).
    let file = r
        .path
        .join(".git/objects")
        .join(&first[..2])
        .join(&first[2..]);
    let bytes = fs::read(&file).unwrap();
    let mut perms = fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&file, perms).unwrap();
    fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();

    let (rows, stderr, code) = scan(&r.path, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&first), "names the commit: {stderr}");
    let found = by_fingerprint(&rows, &fingerprint_of(KEY_C));
    assert_eq!(found.len(), 1, "{rows:#?}");
    assert_eq!(found[0]["path"], "deploy/keys.env");
    assert_eq!(found[0]["git"]["damaged"], true);
    assert!(found[0]["git"].get("commit").is_none());
    assert!(found[0]["git"]["blob"].as_str().unwrap().len() == 40);

    let human = keysweep(Path::new("/"), &["scan", "--git", r.path.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&human.stdout);
    assert!(out.contains("deploy/keys.env:1:19"), "{out}");
    assert!(out.contains("the repository is damaged"), "{out}");
}

#[test]
fn not_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = keysweep(dir.path(), &["scan", "--git", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a git repository"));
    let out = keysweep(dir.path(), &["scan", "--since", "HEAD", "."]);
    assert_eq!(out.status.code(), Some(2), "--since needs --git");
}

#[test]
fn human_output_is_compact_and_redacted() {
    let r = Repo::new();
    r.put("x.env", &format!("AWS_ACCESS_KEY_ID={KEY_A}\n"));
    r.commit("add x");
    let out = keysweep(&r.path, &["scan", "--git", "--no-progress", "."]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("x.env:1:19  aws.access_key_id  AKIA*****  high"),
        "{text}"
    );
    assert!(
        text.contains("by Ada Dev <ada@example.com>: add x; refs main; still at HEAD"),
        "{text}"
    );
    assert!(!text.contains(KEY_A));
}

#[test]
fn a_credential_file_in_history_is_judged_by_its_path() {
    let r = Repo::new();
    let line = "db.internal:5432:app:deploy:Vq9!zR4mKp2xTq\n";
    r.put("README.md", "hello\n");
    r.commit("initial");
    // The same bytes as a credential file and as notes: only the first is a finding.
    r.put("home/ada/.pgpass", line);
    r.put("notes/hosts.txt", &format!("{line}# old hosts\n"));
    let added = r.commit("add pgpass");
    fs::remove_file(r.path.join("home/ada/.pgpass")).unwrap();
    r.commit("remove it");

    for extra in [&[][..], &["--since", "HEAD~2"][..]] {
        let (rows, stderr, code) = scan(&r.path, extra);
        assert_eq!(code, 1, "{extra:?}: {stderr}");
        let pgpass: Vec<_> = rows
            .iter()
            .filter(|f| f["rule_id"] == "postgres.pgpass")
            .collect();
        assert_eq!(pgpass.len(), 1, "{extra:?}: {rows:#?}");
        assert_eq!(pgpass[0]["path"], "home/ada/.pgpass");
        assert_eq!(pgpass[0]["git"]["commit"], added.as_str());
        assert!(
            rows.iter().all(|f| f["path"] != "notes/hosts.txt"),
            "{extra:?}: {rows:#?}"
        );
    }
}

/// Runs git with file-protocol submodules allowed (local submodules in tests).
fn git_sub(r: &Repo, args: &[&str]) -> String {
    let mut all = vec!["-c", "protocol.file.allow=always"];
    all.extend_from_slice(args);
    r.git(&all)
}

/// A superproject with a submodule `vendor/lib` whose history held a secret (committed, then
/// removed), which has a nested submodule `deps/inner` with a secret of its own in history,
/// and a gitlink `vendor/missing` with no repository. Returns (superproject, lib, inner, the
/// lib commit that added its secret, the lib commit the superproject records).
fn superproject() -> (Repo, Repo, Repo, String, String) {
    let inner = Repo::new();
    inner.put("README.md", "inner\n");
    inner.commit("inner: start");
    inner.put("inner.env", &format!("AWS_ACCESS_KEY_ID={KEY_C}\n"));
    inner.commit("inner: add settings");
    fs::remove_file(inner.path.join("inner.env")).unwrap();
    inner.commit("inner: remove settings");

    let lib = Repo::new();
    lib.put("README.md", "lib\n");
    lib.commit("lib: start");
    lib.put("config.env", &format!("AWS_ACCESS_KEY_ID={KEY_A}\n"));
    let added = lib.commit("lib: add config");
    fs::remove_file(lib.path.join("config.env")).unwrap();
    lib.commit("lib: remove config");
    git_sub(
        &lib,
        &[
            "submodule",
            "add",
            "-q",
            inner.path.to_str().unwrap(),
            "deps/inner",
        ],
    );
    let recorded = lib.commit("lib: add inner");

    let sup = Repo::new();
    sup.put("README.md", "app\n");
    sup.commit("app: start");
    git_sub(
        &sup,
        &[
            "submodule",
            "add",
            "-q",
            lib.path.to_str().unwrap(),
            "vendor/lib",
        ],
    );
    sup.commit("app: vendor lib");
    git_sub(
        &sup,
        &["submodule", "update", "-q", "--init", "--recursive"],
    );
    sup.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        "160000,1111111111111111111111111111111111111111,vendor/missing",
    ]);
    // Not `commit`: `add -A` would drop a gitlink with nothing on disk.
    sup.git(&["commit", "-q", "-m", "app: a submodule nobody initialised"]);
    (sup, lib, inner, added, recorded)
}

#[test]
fn recurse_submodules_scans_the_history_of_initialised_submodules() {
    let (sup, lib, _inner, added, recorded) = superproject();
    let (fa, fc) = (fingerprint_of(KEY_A), fingerprint_of(KEY_C));

    // Without the flag: submodules are listed, their history is not read.
    let (rows, stderr, code) = scan(&sup.path, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(by_fingerprint(&rows, &fa).is_empty(), "{rows:#?}");
    assert!(
        stderr.contains("2 submodule(s) not scanned") && stderr.contains("vendor/lib"),
        "{stderr}"
    );

    let (rows, stderr, code) = scan(&sup.path, &["--recurse-submodules"]);
    assert_eq!(code, 1, "{stderr}");
    let found = by_fingerprint(&rows, &fa);
    assert_eq!(found.len(), 1, "{rows:#?}");
    let f = found[0];
    assert_eq!(f["path"], "vendor/lib/config.env");
    assert_eq!(f["source"], "history");
    assert_eq!(f["git"]["commit"], added.as_str());
    assert_eq!(f["git"]["summary"], "lib: add config");
    assert_eq!(f["git"]["present_at_head"], false);
    assert_eq!(f["submodule"]["path"], "vendor/lib");
    assert_eq!(f["submodule"]["commit"], recorded.as_str());
    assert_eq!(f["submodule"]["depth"], 1);
    assert_eq!(f["repository"]["path"], "config.env");
    assert_ne!(
        f["repository"]["root"],
        sup.path.to_str().unwrap(),
        "names the submodule's repository"
    );
    let _ = lib;

    // The nested submodule's history, under its whole path.
    let found = by_fingerprint(&rows, &fc);
    assert_eq!(found.len(), 1, "{rows:#?}");
    assert_eq!(found[0]["path"], "vendor/lib/deps/inner/inner.env");
    assert_eq!(found[0]["submodule"]["path"], "vendor/lib/deps/inner");
    assert_eq!(found[0]["submodule"]["depth"], 2);
    assert_eq!(found[0]["git"]["summary"], "inner: add settings");

    // The gitlink without a repository is listed, not an error.
    assert!(
        stderr.contains("1 submodule(s) not scanned (not initialised")
            && stderr.contains("vendor/missing"),
        "{stderr}"
    );
    assert!(!stderr.contains("vendor/lib,"), "{stderr}");

    // Human output names the submodule.
    let out = keysweep(
        Path::new("/"),
        &[
            "scan",
            "--git",
            "--recurse-submodules",
            "--no-progress",
            sup.path.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("vendor/lib/config.env:1:")
            && text.contains(&format!("in submodule vendor/lib ({})", &recorded[..10])),
        "{text}"
    );

    // SARIF carries it in the result's properties.
    let out = keysweep(
        Path::new("/"),
        &[
            "scan",
            "--git",
            "--recurse-submodules",
            "-f",
            "sarif",
            "--no-progress",
            sup.path.to_str().unwrap(),
        ],
    );
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["properties"]["submodule"]["path"] == "vendor/lib"),
        "{sarif:#}"
    );
}

#[test]
fn a_recorded_submodule_commit_its_repository_lacks_is_a_warning() {
    let (sup, _lib, _inner, _added, _recorded) = superproject();
    sup.git(&[
        "update-index",
        "--cacheinfo",
        "160000,2222222222222222222222222222222222222222,vendor/lib",
    ]);
    sup.git(&["commit", "-q", "-m", "app: point lib at a commit it lacks"]);
    let (rows, stderr, code) = scan(&sup.path, &["--recurse-submodules"]);
    assert_eq!(code, 1, "scanned, findings, no error: {stderr}");
    assert!(
        stderr.contains("submodule `vendor/lib`: 1 commit(s)") && stderr.contains("222222222222"),
        "{stderr}"
    );
    // What it does have is still scanned.
    assert_eq!(by_fingerprint(&rows, &fingerprint_of(KEY_A)).len(), 1);
}

#[test]
fn recurse_submodules_labels_files_of_submodule_working_trees() {
    let (sup, _lib, _inner, _added, recorded) = superproject();
    sup.put(
        "vendor/lib/local.env",
        &format!("AWS_ACCESS_KEY_ID={KEY_B}\n"),
    );
    let fb = fingerprint_of(KEY_B);
    let files = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec!["scan", "-f", "json", "--no-progress"];
        args.extend_from_slice(extra);
        args.push(".");
        let out = keysweep(&sup.path, &args);
        let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
        rows.as_array().unwrap().clone()
    };
    // A directory walk reads submodules' files either way; only the label differs.
    let rows = files(&[]);
    let found = by_fingerprint(&rows, &fb);
    assert_eq!(found.len(), 1, "{rows:#?}");
    assert_eq!(found[0]["path"], "vendor/lib/local.env");
    assert_eq!(found[0]["repository"]["path"], "local.env");
    assert!(found[0].get("submodule").is_none(), "{:#?}", found[0]);

    let rows = files(&["--recurse-submodules"]);
    let found = by_fingerprint(&rows, &fb);
    assert_eq!(found.len(), 1, "{rows:#?}");
    assert_eq!(found[0]["submodule"]["path"], "vendor/lib");
    assert_eq!(found[0]["submodule"]["commit"], recorded.as_str());
    assert_eq!(found[0]["submodule"]["depth"], 1);

    // Pending-change scans do not take it.
    let out = keysweep(
        &sup.path,
        &["scan", "--staged", "--recurse-submodules", "."],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_submodule_name_leading_out_of_git_modules_is_refused_not_scanned() {
    // Another repository on the machine, with a secret in its history.
    let other = Repo::new();
    other.put("other.env", &format!("AWS_ACCESS_KEY_ID={KEY_D}\n"));
    let first = other.commit("other: settings");
    other.put("README.md", "other\n");
    let second = other.commit("other: readme");
    let other_git = other.path.join(".git");
    // The same repository reached with `..` from the superproject's .git/modules (both
    // temporary directories are in the same directory).
    let other_tmp = other.path.parent().unwrap().file_name().unwrap();
    let dotdot = format!("../../../../{}/repo/.git", other_tmp.to_str().unwrap());

    let sup = Repo::new();
    sup.put("README.md", "app\n");
    sup.put(
        ".gitmodules",
        &format!(
            "[submodule \"{}\"]\n\tpath = vendor/abs\n\turl = ./abs\n\
             [submodule \"{dotdot}\"]\n\tpath = vendor/up\n\turl = ./up\n",
            other_git.display()
        ),
    );
    sup.commit("app: start");
    for (commit, path) in [(first, "vendor/abs"), (second, "vendor/up")] {
        sup.git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{commit},{path}"),
        ]);
    }
    sup.git(&[
        "commit",
        "-q",
        "-m",
        "app: submodules named outside .git/modules",
    ]);
    // As when another submodule is initialised (a path through it needs it to exist).
    fs::create_dir_all(sup.path.join(".git/modules")).unwrap();
    assert!(sup.path.join(".git/modules").join(&dotdot).exists());

    let (rows, stderr, code) = scan(&sup.path, &["--recurse-submodules"]);
    assert_eq!(code, 0, "{stderr}: {rows:#?}");
    assert!(
        by_fingerprint(&rows, &fingerprint_of(KEY_D)).is_empty(),
        "the other repository was scanned: {rows:#?}"
    );
    for path in ["vendor/abs", "vendor/up"] {
        assert!(
            stderr.contains(&format!("submodule `{path}` not scanned: its name")),
            "{stderr}"
        );
    }
    assert!(
        stderr.contains(&other_git.display().to_string()),
        "{stderr}"
    );
}

/// Points the submodule at `path` in `sup` to `commit` of its origin and commits that.
fn record_submodule(sup: &Repo, path: &str, commit: &str, message: &str) {
    git_sub(sup, &["-C", path, "fetch", "-q", "origin"]);
    sup.git(&["-C", path, "checkout", "-q", commit]);
    sup.git(&["add", path]);
    sup.git(&["commit", "-q", "-m", message]);
}

/// With `--since`, a submodule is scanned for what the new gitlinks added only (not its
/// history before, nor a nested submodule the range leaves alone); a submodule moved to
/// another path reports each secret under the path that first recorded it.
#[test]
fn recurse_submodules_with_since_and_a_moved_submodule() {
    let (sup, lib, _inner, added, recorded) = superproject();
    let base = sup.git(&["rev-parse", "HEAD"]);
    lib.put("new.env", &format!("AWS_ACCESS_KEY_ID={KEY_B}\n"));
    let newer = lib.commit("lib: new settings");
    record_submodule(&sup, "vendor/lib", &newer, "app: lib update");
    let (fa, fb, fc, fd) = (
        fingerprint_of(KEY_A),
        fingerprint_of(KEY_B),
        fingerprint_of(KEY_C),
        fingerprint_of(KEY_D),
    );

    let (rows, stderr, code) = scan(&sup.path, &["--recurse-submodules", "--since", &base]);
    assert_eq!(code, 1, "{stderr}");
    let b = by_fingerprint(&rows, &fb);
    assert_eq!(b.len(), 1, "{rows:#?}");
    assert_eq!(b[0]["path"], "vendor/lib/new.env");
    assert_eq!(b[0]["git"]["commit"], newer.as_str());
    assert_eq!(b[0]["submodule"]["commit"], newer.as_str());
    assert!(
        by_fingerprint(&rows, &fa).is_empty(),
        "before --since: {rows:#?}"
    );
    assert!(
        by_fingerprint(&rows, &fc).is_empty(),
        "nested, unchanged: {rows:#?}"
    );
    assert_eq!(rows.len(), 1, "{rows:#?}");

    // Moved, then a new secret recorded at the new path.
    fs::create_dir(sup.path.join("third_party")).unwrap();
    sup.git(&["mv", "vendor/lib", "third_party/lib"]);
    sup.git(&["commit", "-q", "-m", "app: move lib"]);
    lib.put("later.env", &format!("AWS_ACCESS_KEY_ID={KEY_D}\n"));
    let later = lib.commit("lib: later settings");
    record_submodule(&sup, "third_party/lib", &later, "app: lib later");
    let (rows, stderr, code) = scan(&sup.path, &["--recurse-submodules"]);
    assert_eq!(code, 1, "{stderr}");
    for (fp, path, commit, recorded_by) in [
        (&fa, "vendor/lib/config.env", &added, &recorded),
        (&fb, "vendor/lib/new.env", &newer, &newer),
        (&fd, "third_party/lib/later.env", &later, &later),
    ] {
        let found = by_fingerprint(&rows, fp);
        assert_eq!(found.len(), 1, "{path}: {rows:#?}");
        assert_eq!(found[0]["path"], path, "{rows:#?}");
        assert_eq!(found[0]["git"]["commit"], commit.as_str());
        assert_eq!(
            found[0]["submodule"]["path"],
            path.rsplit_once('/').unwrap().0,
            "{path}"
        );
        assert_eq!(
            found[0]["submodule"]["commit"],
            recorded_by.as_str(),
            "{path}"
        );
    }
    // Since the move: only the new secret, at the new path.
    let moved = sup.git(&["rev-parse", "HEAD~1"]);
    let (rows, stderr, _) = scan(&sup.path, &["--recurse-submodules", "--since", &moved]);
    assert_eq!(rows.len(), 1, "{stderr}\n{rows:#?}");
    assert_eq!(rows[0]["path"], "third_party/lib/later.env");
}
