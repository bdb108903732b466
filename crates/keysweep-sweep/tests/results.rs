//! A repository's result read back from JSON (as a worker process hands it to the process that
//! merges a sweep) writes the same results as the sweep that made it.

use std::path::Path;
use std::process::Command;

use keysweep::{RuleSet, Scanner};
use keysweep_sweep::{write_results, Outcome, RepoResult, RepoSpec, Sweep};

/// A fake token (right format, never issued).
const GH: &str = "ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u";

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(repo)
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .env("GIT_AUTHOR_NAME", "Ada Dev")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Dev")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "1600000000 +0000")
        .env("GIT_COMMITTER_DATE", "1600000000 +0000")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_result_read_back_from_json_writes_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join(".env"), format!("GITHUB_TOKEN={GH}\n")).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "settings"]);

    let sweep = Sweep::new(
        Scanner::new(RuleSet::builtin()).unwrap(),
        dir.path().join("work"),
    );
    let outcome = sweep
        .run(&[
            RepoSpec::Path(repo),
            RepoSpec::Path(dir.path().join("nope")),
        ])
        .unwrap();
    assert_eq!(outcome.repos[0].records.len(), 1);
    assert_eq!(outcome.repos[1].audit.status, "failed");

    let back = Outcome {
        repos: outcome
            .repos
            .iter()
            .map(|r| {
                let json = serde_json::to_string(r).unwrap();
                assert!(!json.contains('\n'), "one line per repository");
                serde_json::from_str::<RepoResult>(&json).unwrap()
            })
            .collect(),
        notes: Vec::new(),
    };
    assert_eq!(back.repos, outcome.repos);

    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    write_results(&a, &outcome, false, 20_000).unwrap();
    write_results(&b, &back, false, 20_000).unwrap();
    for file in ["findings.jsonl", "inventory.json"] {
        let (x, y) = (
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
        );
        assert!(!x.is_empty());
        assert_eq!(x, y, "{file} differs");
    }
}

/// `Sweep::known` says which repositories the work directory's cache holds for these rules:
/// none before a sweep, the swept ones after, none for a sweep with other options.
#[test]
fn known_repositories_are_those_the_cache_holds_for_these_rules() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join(".env"), format!("GITHUB_TOKEN={GH}\n")).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "settings"]);
    let specs = [
        RepoSpec::Path(repo.clone()),
        RepoSpec::Path(dir.path().join("other")),
    ];
    let sweep = || {
        Sweep::new(
            Scanner::new(RuleSet::builtin()).unwrap(),
            dir.path().join("work"),
        )
    };
    assert_eq!(sweep().known(&specs).unwrap(), [false, false]);
    sweep().run(&specs[..1]).unwrap();
    assert_eq!(sweep().known(&specs).unwrap(), [true, false]);
    let other = sweep().options_key("another baseline");
    assert_eq!(other.known(&specs).unwrap(), [false, false]);
}
