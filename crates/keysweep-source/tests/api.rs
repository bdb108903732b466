//! The library API of the source layer: callbacks and iterators, cancellation, counters, and
//! one scanner shared by jobs on many threads.

use std::path::Path;
use std::sync::Arc;

use keysweep::{RuleSet, Scanner};
use keysweep_source::{Cancel, Collect, Event, PathScan, Source};

const TOKEN: &str = "ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u";

fn tree(files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..files {
        let sub = dir.path().join(format!("d{}", i % 7));
        std::fs::create_dir_all(&sub).unwrap();
        let body = if i % 3 == 0 {
            format!("line\nGITHUB_TOKEN={TOKEN}\n")
        } else {
            "nothing here\n".to_string()
        };
        std::fs::write(sub.join(format!("f{i}.env")), body).unwrap();
    }
    dir
}

fn hits_of(scan: &PathScan, root: &Path) -> Vec<(String, usize)> {
    let sink = Collect::default();
    scan.run(&[root], &sink).unwrap();
    let (hits, problems) = sink.into_parts();
    assert!(problems.is_empty(), "{problems:?}");
    let mut v: Vec<(String, usize)> = hits
        .into_iter()
        .map(|h| (h.location.path.unwrap(), h.finding.line))
        .collect();
    v.sort();
    v
}

#[test]
fn one_scanner_many_threads_same_results() {
    let dir = tree(60);
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    let want = hits_of(&PathScan::new(scanner.clone()), dir.path());
    assert_eq!(want.len(), 20);
    let results: Vec<Vec<(String, usize)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let scan = PathScan::new(scanner.clone()).threads(2);
                let root = dir.path();
                s.spawn(move || hits_of(&scan, root))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in results {
        assert_eq!(r, want);
    }
}

#[test]
fn events_iterate_and_counters_add_up() {
    let dir = tree(30);
    let scan = PathScan::new(Scanner::new(RuleSet::builtin()).unwrap());
    let counters = scan.counters();
    let events = scan.spawn(vec![dir.path().to_path_buf()]);
    let mut hits = 0;
    for event in events {
        match event {
            Event::Hit(h) => {
                assert_eq!(h.location.source, Source::File);
                hits += 1;
            }
            Event::Problem(p) => panic!("{p}"),
        }
    }
    assert_eq!(hits, 10);
    let c = counters.snapshot();
    assert_eq!((c.files, c.hits), (30, 10));
}

#[test]
fn dropping_the_iterator_cancels_the_job() {
    let dir = tree(300);
    let cancel = Cancel::new();
    let scan = PathScan::new(Scanner::new(RuleSet::builtin()).unwrap()).cancel(cancel.clone());
    let mut events = scan.spawn(vec![dir.path().to_path_buf()]);
    assert!(events.next().is_some());
    drop(events); // joins the job thread after cancelling it
    assert!(cancel.is_cancelled());
}

#[test]
fn a_cancelled_scan_says_so() {
    let dir = tree(10);
    let cancel = Cancel::new();
    cancel.cancel();
    let scan = PathScan::new(Scanner::new(RuleSet::builtin()).unwrap()).cancel(cancel);
    let err = scan.run(&[dir.path()], &Collect::default()).unwrap_err();
    assert!(matches!(err, keysweep_source::Error::Cancelled), "{err}");
}

#[test]
fn counters_are_shared_with_a_reader_thread() {
    let dir = tree(40);
    let scan = PathScan::new(Scanner::new(RuleSet::builtin()).unwrap());
    let counters: Arc<keysweep_source::Counters> = scan.counters();
    let reader = std::thread::spawn(move || {
        let mut last = 0;
        for _ in 0..50 {
            let now = counters.snapshot().files;
            assert!(now >= last, "counters only grow");
            last = now;
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
    scan.run(&[dir.path()], &Collect::default()).unwrap();
    reader.join().unwrap();
}

#[test]
fn of_a_git_directory_only_its_config_and_messages_are_scanned() {
    // A token in a remote URL of `.git/config` and one pasted into a commit message being
    // written (or in the staged diff below it) are found; objects, hooks and logs are not
    // read (history is what `--git` scans).
    let dir = tempfile::tempdir().unwrap();
    let git = dir.path().join("repo/.git");
    std::fs::create_dir_all(git.join("logs")).unwrap();
    std::fs::write(
        git.join("config"),
        format!("[remote \"origin\"]\n\turl = https://ci:{TOKEN}@github.com/acme/app.git\n"),
    )
    .unwrap();
    std::fs::write(
        git.join("COMMIT_EDITMSG"),
        // With `commit --verbose`, the staged diff follows the scissors line: on disk too.
        format!(
            "Hardcode the token until CI has it\n\nGITHUB_TOKEN={TOKEN}\n\
             # ------------------------ >8 ------------------------\n\
             +GITHUB_TOKEN={TOKEN}\n"
        ),
    )
    .unwrap();
    std::fs::write(git.join("logs/HEAD"), format!("GITHUB_TOKEN={TOKEN}\n")).unwrap();
    std::fs::write(git.join("description"), format!("GITHUB_TOKEN={TOKEN}\n")).unwrap();
    // A `.git` file (a worktree's or submodule's link) is no directory to look into.
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("sub/.git"),
        "gitdir: ../repo/.git/modules/sub\n",
    )
    .unwrap();
    let scan = PathScan::new(Scanner::new(RuleSet::builtin()).unwrap());
    let hits = hits_of(&scan, dir.path());
    let config = git.join("config").to_string_lossy().into_owned();
    let message = git.join("COMMIT_EDITMSG").to_string_lossy().into_owned();
    let mut want = vec![(config, 2), (message.clone(), 3), (message, 5)];
    want.sort();
    assert_eq!(hits, want);
}
