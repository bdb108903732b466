//! A repository's result read back from JSON (as a worker process hands it to the process that
//! merges a sweep) writes the same results as the sweep that made it.

use std::path::{Path, PathBuf};
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

/// A repository in a new temporary directory (`dir/repo`) with one commit of a `.env` holding
/// the fake token.
fn repo_with_token() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join(".env"), format!("GITHUB_TOKEN={GH}\n")).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "settings"]);
    (dir, repo)
}

#[test]
fn a_result_read_back_from_json_writes_the_same_results() {
    let (dir, repo) = repo_with_token();

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
    let (dir, repo) = repo_with_token();
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

#[test]
fn findings_the_caller_holds_are_not_sent_again_while_the_repository_is_unchanged() {
    let (dir, repo) = repo_with_token();
    let spec = RepoSpec::Path(repo.clone());
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    let work = dir.path().join("work");

    let first = Sweep::new(scanner.clone(), &work)
        .run(std::slice::from_ref(&spec))
        .unwrap();
    let first = first.repos.into_iter().next().unwrap();
    let digest = first
        .records_digest
        .clone()
        .expect("a swept repository has a digest");
    assert!(!first.records_held && first.records.len() == 1);

    // Unchanged, its findings held: none come back, and the held ones complete the result.
    let held = Sweep::new(scanner.clone(), &work)
        .held(&spec, digest.clone())
        .run(std::slice::from_ref(&spec))
        .unwrap();
    let held = held.repos.into_iter().next().unwrap();
    assert_eq!(held.audit.mode, "unchanged");
    assert!(held.records_held && held.records.is_empty());
    assert_eq!(held.records_digest.as_deref(), Some(digest.as_str()));
    let whole = held.with_held(first.clone()).unwrap();
    assert_eq!(whole.records, first.records);
    assert_eq!(whole.audit.findings, 1);

    // Held findings of another digest, or a repository that changed: the findings come back.
    let other = Sweep::new(scanner.clone(), &work)
        .held(&spec, "00".repeat(32))
        .run(std::slice::from_ref(&spec))
        .unwrap();
    assert!(!other.repos[0].records_held && other.repos[0].records == first.records);
    std::fs::write(repo.join("more.txt"), "nothing here\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "more"]);
    let changed = Sweep::new(scanner.clone(), &work)
        .held(&spec, digest.clone())
        .run(std::slice::from_ref(&spec))
        .unwrap();
    let changed = &changed.repos[0];
    assert_eq!(changed.audit.mode, "incremental");
    assert!(!changed.records_held && changed.records.len() == 1);
    // The findings did not change (only the refs' commits did not either): same digest.
    assert_eq!(changed.records_digest.as_deref(), Some(digest.as_str()));

    // A new secret: new findings, a new digest, and the old one no longer holds them.
    std::fs::write(repo.join("deploy.env"), format!("API_TOKEN={GH}\n")).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "another"]);
    let grown = Sweep::new(scanner, &work)
        .held(&spec, digest.clone())
        .run(&[spec])
        .unwrap();
    let grown = &grown.repos[0];
    assert!(!grown.records_held && grown.records.len() == 2);
    assert_ne!(grown.records_digest.as_deref(), Some(digest.as_str()));
}
