//! Helpers shared by the end-to-end tests: temporary git repositories built with the git CLI
//! (at test time only: keysweep itself reads repositories with gix) and running the binary.
#![allow(dead_code)] // each test crate uses a different part

pub mod oci;
pub mod registry;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Repo {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    /// Seconds of the next commit's author and committer date.
    pub clock: std::cell::Cell<i64>,
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repo");
        fs::create_dir(&path).unwrap();
        let r = Repo {
            _dir: dir,
            path,
            clock: std::cell::Cell::new(1_600_000_000),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    /// Runs git; returns its output whatever its exit status.
    pub fn git_output(&self, args: &[&str]) -> Output {
        let t = self.clock.get();
        let date = format!("{t} +0000");
        Command::new("git")
            .current_dir(&self.path)
            .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
            .args(args)
            .env("GIT_AUTHOR_NAME", "Ada Dev")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada Dev")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self._dir.path())
            .output()
            .unwrap()
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_output(args);
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn put(&self, rel: &str, content: &str) {
        let p = self.path.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }

    /// Stages everything and commits; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        self.clock.set(self.clock.get() + 3600);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}

pub fn keysweep(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keysweep"))
        .current_dir(dir)
        .env_remove("KEYSWEEP_FINGERPRINT_KEY")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

mod need;
pub use need::need;

/// Whether `program` runs (`program --version` starts).
pub fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}
