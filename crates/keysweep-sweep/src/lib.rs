//! Sweeps of many repositories, made incremental by an on-disk cache.
//!
//! A [`Sweep`] takes repositories (local paths or URLs), clones or fetches the URLs into its
//! work directory, and scans every blob reachable from any ref, as `keysweep scan --git` does.
//! Its cache (one [redb](https://docs.rs/redb) file in the work directory) remembers:
//!
//! - for each blob, what the scan found in it, keyed by the blob id and a fingerprint of the
//!   rules and scan options ([`Sweep::fingerprint`]): a blob shared by forks, or met again after
//!   a history rewrite, is not scanned again; changing a rule or an option starts over;
//! - for each repository, the tips of its refs and its findings with their provenance: a
//!   repository whose refs did not move is not read at all, and one whose refs moved is
//!   scanned only for what the new commits introduced (the refs reaching earlier findings are
//!   worked out again), unless commits of the last sweep left every ref's history (a
//!   force-push, a deleted branch): then it is walked in full, and [`AuditRecord::reason`]
//!   says why.
//!
//! Every repository's blobs and state are committed to the cache together, when it is done: a
//! sweep killed at any point and run again loses nothing and does again only the unfinished
//! repositories. Each repository ends as one [`AuditRecord`], also when it fails.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let repo = dir.path().join("repo");
//! # std::fs::create_dir(&repo)?;
//! # let git = |args: &[&str]| std::process::Command::new("git").args(args).current_dir(&repo)
//! #     .env("GIT_AUTHOR_NAME", "a").env("GIT_AUTHOR_EMAIL", "a@b").env("GIT_COMMITTER_NAME", "a")
//! #     .env("GIT_COMMITTER_EMAIL", "a@b").output().map(|_| ());
//! # git(&["init", "-q"])?;
//! # std::fs::write(repo.join(".env"), "GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\n")?;
//! # git(&["add", "."])?;
//! # git(&["commit", "-qm", "settings"])?;
//! use keysweep::{RuleSet, Scanner};
//! use keysweep_sweep::{RepoSpec, Sweep};
//!
//! let scanner = Scanner::new(RuleSet::builtin())?;
//! let sweep = Sweep::new(scanner, dir.path().join("work"));
//! let repos = [RepoSpec::Path(repo.clone())];
//!
//! let first = sweep.run(&repos)?;
//! assert_eq!(first.repos[0].records.len(), 1);
//! assert_eq!(first.repos[0].audit.status, "swept");
//!
//! // Nothing changed: nothing is read again, and the findings are the same.
//! let again = sweep.run(&repos)?;
//! assert_eq!(again.repos[0].audit.mode, "unchanged");
//! assert_eq!(again.repos[0].audit.blobs_scanned, 0);
//! assert_eq!(again.repos[0].records, first.repos[0].records);
//! # Ok(())
//! # }
//! ```

mod acquire;
mod list;
mod store;
mod stored;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use keysweep::Scanner;
use keysweep_report::{Inventory, Record};
use keysweep_source::{Cancel, Collect, HistoryScan, Source};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use acquire::{clone_dir, without_credentials, RepoSpec};
pub use list::{Listed, Lister, GITHUB_API, GITLAB_API};
pub use store::{open_layer_cache, LayerTable, RepoState, Store, StoreError};

/// What happened to one repository: a line of `audit.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The repository as given, without credentials.
    pub repo: String,
    /// `swept` (its findings are complete), `empty` (no refs), or `failed` (see `error`).
    pub status: String,
    /// How it was swept: `full` (every blob, from the blob cache where it could),
    /// `incremental` (what commits after the last sweep introduced), `unchanged` (refs as at
    /// the last sweep: nothing read), or empty when it failed.
    pub mode: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it was walked in `full` although an earlier sweep had swept it with the same rules
    /// (a ref was force-pushed or deleted, leaving commits of the last sweep in no ref's
    /// history: their findings must go).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Refs whose tip is no longer a descendant of their tip at the last sweep (force-pushed,
    /// reset).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewritten_refs: Vec<String>,
    /// Refs of the last sweep that are gone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_refs: Vec<String>,
    /// Its refs and the commits (or objects) they named when swept.
    pub tips: Vec<Tip>,
    /// Blobs read and scanned.
    pub blobs_scanned: u64,
    /// Blobs whose findings came from the cache (for `unchanged`: every reachable blob).
    pub blobs_cached: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Findings reported for it (suppressed ones left out).
    pub findings: u64,
    /// Problems met (unreadable objects and the like; the rest was scanned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Wall time, in seconds.
    pub seconds: f64,
    /// When the sweep of this repository ended (seconds since the Unix epoch).
    pub finished_at: u64,
}

/// A ref and what it named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tip {
    /// Full ref name.
    #[serde(rename = "ref")]
    pub name: String,
    /// Object id (hex): a commit, or an annotated tag object.
    pub id: String,
}

/// One repository's result. As JSON (`{"audit": {...}, "records": [...]}`) it travels from a
/// process that swept one repository to the one that writes a sweep's results: read back, it
/// gives the same [`write_results`] output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepoResult {
    /// Its audit record.
    pub audit: AuditRecord,
    /// Its findings, secrets unredacted (redact with [`redacted`] before writing them out).
    pub records: Vec<Record>,
    /// The digest of its findings as the cache stores them (equal digests, equal findings),
    /// when it was swept with a cache that records one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_digest: Option<String>,
    /// Its findings were left out because the caller holds them already ([`Sweep::held`]):
    /// [`RepoResult::with_held`] puts them back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub records_held: bool,
}

impl RepoResult {
    /// This result as one line of JSON for another process of the same version (a Ray actor
    /// to its driver): the findings in the cache's nested form, which reads back about three
    /// times as fast as [`Record`]'s flat one. [`RepoResult::from_line`] reads it.
    pub fn to_line(&self) -> Result<String, serde_json::Error> {
        let records: Vec<stored::Stored<'_>> =
            self.records.iter().map(stored::Stored::of).collect();
        serde_json::to_string(&Line {
            digest: self.records_digest.as_deref(),
            held: self.records_held,
            audit: &self.audit,
            records,
        })
    }

    /// The [`records_digest`](RepoResult::records_digest) of a line [`RepoResult::to_line`]
    /// wrote, read from its start (the rest is not parsed).
    pub fn digest_of_line(line: &str) -> Option<&str> {
        let rest = line.strip_prefix(LINE_START)?.strip_prefix('"')?;
        let end = rest.find('"')?;
        let digest = &rest[..end];
        digest
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
            .then_some(digest)
    }

    /// Whether a line [`RepoResult::to_line`] wrote has its findings
    /// [held](RepoResult::records_held), read from its start.
    pub fn held_line(line: &str) -> bool {
        line.strip_prefix(LINE_START)
            .and_then(|rest| rest.find(",\"h\":").map(|at| &rest[at + 5..]))
            .is_some_and(|rest| rest.starts_with("true"))
    }

    /// This result (a repository whose findings were [held](RepoResult::records_held)) with
    /// the findings of `held`, an earlier result of the same repository that the caller
    /// kept: its records and its audit's count of findings. Fails when `held` does not have
    /// the findings this result stands for (another digest).
    pub fn with_held(mut self, held: RepoResult) -> Result<RepoResult, String> {
        if !self.records_held {
            return Ok(self);
        }
        if held.records_digest.is_none() || held.records_digest != self.records_digest {
            return Err(format!(
                "{}: the findings held for it are not those its cache has",
                self.audit.repo
            ));
        }
        self.records = held.records;
        self.audit.findings = held.audit.findings;
        self.records_held = false;
        Ok(self)
    }

    /// Reads what [`RepoResult::to_line`] wrote, or a `RepoResult` serialised as it is.
    pub fn from_line(line: &str) -> Result<RepoResult, serde_json::Error> {
        if !line.starts_with(LINE_START) {
            return serde_json::from_str(line);
        }
        let line: OwnedLine = serde_json::from_str(line)?;
        Ok(RepoResult {
            audit: line.audit,
            records: line
                .records
                .into_iter()
                .map(stored::Stored::into_record)
                .collect(),
            records_digest: line.digest,
            records_held: line.held,
        })
    }

    /// Only the audit record of a line [`RepoResult::to_line`] (or serde) wrote: the findings
    /// are skipped, not built.
    pub fn audit_of_line(line: &str) -> Result<AuditRecord, serde_json::Error> {
        #[derive(Deserialize)]
        struct AuditOnly {
            #[serde(alias = "audit")]
            a: AuditRecord,
        }
        serde_json::from_str::<AuditOnly>(line).map(|l| l.a)
    }
}

/// How [`RepoResult::to_line`] starts, with the digest first so that it is read without the
/// rest (a serialised `RepoResult` starts with `{"audit":`).
const LINE_START: &str = "{\"d\":";

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "d")]
    digest: Option<&'a str>,
    #[serde(rename = "h")]
    held: bool,
    #[serde(rename = "a")]
    audit: &'a AuditRecord,
    #[serde(rename = "r")]
    records: Vec<stored::Stored<'a>>,
}

#[derive(Deserialize)]
struct OwnedLine {
    #[serde(rename = "d")]
    digest: Option<String>,
    #[serde(default, rename = "h")]
    held: bool,
    #[serde(rename = "a")]
    audit: AuditRecord,
    #[serde(rename = "r")]
    records: Vec<stored::Stored<'static>>,
}

/// What a sweep did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Each repository, in the order given.
    pub repos: Vec<RepoResult>,
    /// Notes about the sweep itself (a damaged cache that was rebuilt).
    pub notes: Vec<String>,
}

impl Outcome {
    /// Whether every repository was swept (none failed).
    pub fn complete(&self) -> bool {
        self.repos.iter().all(|r| r.audit.status != "failed")
    }
}

/// Why a sweep could not start.
#[derive(Debug)]
pub enum Error {
    /// Another sweep uses the work directory.
    Busy(PathBuf),
    /// The work directory or its cache cannot be used.
    Workdir(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Busy(dir) => write!(
                f,
                "another sweep is using the work directory {} (wait for it, or give another --workdir)",
                dir.display()
            ),
            Error::Workdir(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// Live counts of a running sweep, for progress displays.
#[derive(Debug, Default)]
pub struct Progress {
    /// Repositories to sweep.
    pub repos_total: AtomicUsize,
    /// Repositories done (swept or failed).
    pub repos_done: AtomicUsize,
    /// Blobs scanned in finished repositories.
    pub blobs: AtomicU64,
    /// Bytes scanned in finished repositories.
    pub bytes: AtomicU64,
    /// Findings in finished repositories.
    pub findings: AtomicU64,
    /// Counters of the repositories being scanned now.
    pub active: Mutex<Vec<Arc<keysweep_source::Counters>>>,
}

impl Progress {
    /// (repositories done, total, blobs, bytes, findings), counting the repositories being
    /// scanned.
    pub fn snapshot(&self) -> (usize, usize, u64, u64, u64) {
        let (mut blobs, mut bytes) = (
            self.blobs.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        );
        for c in self.active.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let s = c.snapshot();
            blobs += s.files;
            bytes += s.bytes;
        }
        (
            self.repos_done.load(Ordering::Relaxed),
            self.repos_total.load(Ordering::Relaxed),
            blobs,
            bytes,
            self.findings.load(Ordering::Relaxed),
        )
    }
}

/// Configures and runs sweeps over one work directory.
pub struct Sweep {
    scanner: Scanner,
    workdir: PathBuf,
    options: String,
    jobs: usize,
    threads: Option<usize>,
    max_blob_size: u64,
    scan_binary: bool,
    audit: Option<PathBuf>,
    headers: Vec<(String, String)>,
    allow_paths: Option<Arc<keysweep_source::PathFilter>>,
    progress: Arc<Progress>,
    cancel: Cancel,
    /// Repository key → digest of the findings the caller holds for it.
    held: HashMap<String, String>,
}

impl Sweep {
    /// A sweep with `scanner`, keeping clones and the cache in `workdir`: one repository at a
    /// time on every core, binary blobs and blobs over 256 MiB skipped.
    pub fn new(scanner: Scanner, workdir: impl Into<PathBuf>) -> Sweep {
        Sweep {
            scanner,
            workdir: workdir.into(),
            options: String::new(),
            jobs: 1,
            threads: None,
            max_blob_size: keysweep_source::DEFAULT_MAX_FILE_SIZE,
            scan_binary: false,
            audit: None,
            headers: Vec::new(),
            allow_paths: None,
            progress: Arc::default(),
            cancel: Cancel::new(),
            held: HashMap::new(),
        }
    }

    /// Describes the scanner's options that shape its findings (allowlists, decoding, a
    /// baseline...), as the caller built it: part of the cache's key, so that changing one
    /// scans again. The rules themselves are always part of it.
    pub fn options_key(mut self, key: impl Into<String>) -> Sweep {
        self.options = key.into();
        self
    }

    /// Repositories swept at once (default 1); each uses `threads / jobs` scan threads.
    pub fn jobs(mut self, n: usize) -> Sweep {
        self.jobs = n.max(1);
        self
    }

    /// Scan threads in all (default: one per core).
    pub fn threads(mut self, n: usize) -> Sweep {
        self.threads = Some(n.max(1));
        self
    }

    /// Skips blobs larger than this many bytes.
    pub fn max_blob_size(mut self, bytes: u64) -> Sweep {
        self.max_blob_size = bytes;
        self
    }

    /// Scans binary blobs too.
    pub fn scan_binary(mut self, yes: bool) -> Sweep {
        self.scan_binary = yes;
        self
    }

    /// Appends each repository's [`AuditRecord`] to this JSON Lines file as soon as it is
    /// done (the file is started afresh by each run).
    pub fn audit_log(mut self, path: impl Into<PathBuf>) -> Sweep {
        self.audit = Some(path.into());
        self
    }

    /// Sends `header` (`Authorization: Basic …`) with every clone and fetch from `host`: how a
    /// token reaches private repositories. It is kept in memory, never written to a clone's
    /// configuration, and never shown.
    pub fn http_header(mut self, host: impl Into<String>, header: impl Into<String>) -> Sweep {
        self.headers.push((host.into(), header.into()));
        self
    }

    /// Suppresses (as allowlisted) the findings at paths `filter` excludes, matched against the
    /// path in the repository: a configuration's `allow.paths`. Applied to what the cache
    /// gives back too, so it needs no part in the cache's key.
    pub fn allow_paths(mut self, filter: keysweep_source::PathFilter) -> Sweep {
        self.allow_paths = Some(Arc::new(filter));
        self
    }

    /// Says that the caller holds findings of `repo` from an earlier sweep, those whose
    /// [`RepoResult::records_digest`] is `digest`. If `repo` turns out unchanged and its
    /// cache has those very findings, its result leaves them out
    /// ([`RepoResult::records_held`]): they are neither read nor sent again. A Ray driver
    /// keeps each repository's last result, so that a re-sweep moves audit records only.
    pub fn held(mut self, repo: &RepoSpec, digest: impl Into<String>) -> Sweep {
        self.held.insert(repo.key(), digest.into());
        self
    }

    /// Stops the sweep (between and inside repositories) when `cancel` is cancelled.
    pub fn cancel(mut self, cancel: Cancel) -> Sweep {
        self.cancel = cancel;
        self
    }

    /// Live counts, for a progress display.
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    /// The fingerprint of the rules and options: the cache's key besides the blob id.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"keysweep-sweep 2\0");
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        // Every rule and scanner setting, computed once per scanner (a worker sweeping one
        // repository at a time with one scanner asks for it each time).
        h.update(self.scanner.settings_digest().as_bytes());
        h.update(b"\0");
        h.update(self.options.as_bytes());
        h.update(format!("\0{}\0{}", self.max_blob_size, self.scan_binary).as_bytes());
        h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Takes the work directory's lock (held while the file lives; released by the system if
    /// the process dies) and opens its cache: one sweep per work directory.
    fn open(&self) -> Result<(std::fs::File, Store, Option<String>), Error> {
        let lock_path = self.workdir.join("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::Workdir(format!("cannot open {}: {e}", lock_path.display())))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Busy(self.workdir.clone()))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::Workdir(format!(
                    "cannot lock {}: {e}",
                    lock_path.display()
                )))
            }
        }
        let (store, note) = Store::open(&self.workdir).map_err(|e| match e {
            store::StoreError::Busy(d) => Error::Busy(d),
            store::StoreError::Other(m) => Error::Workdir(m),
        })?;
        Ok((lock, store, note))
    }

    /// Which of `repos` this work directory's cache holds, swept with these rules and
    /// options: a sweep of them reads only what changed. For a scheduler that sends each
    /// repository where its cache is (`keysweep.ray_sweep`). Reads no findings; a work
    /// directory without a cache knows none.
    pub fn known(&self, repos: &[RepoSpec]) -> Result<Vec<bool>, Error> {
        if !self.workdir.join("cache.redb").exists() {
            return Ok(vec![false; repos.len()]);
        }
        let (_lock, store, _) = self.open()?;
        let fingerprint = self.fingerprint();
        repos
            .iter()
            .map(|r| {
                store
                    .swept_with(&r.key(), &fingerprint)
                    .map_err(Error::Workdir)
            })
            .collect()
    }

    /// Sweeps `repos`. Each repository ends as an [`AuditRecord`], also when it fails; an
    /// error means the sweep could not start (the work directory is in use or unusable).
    pub fn run(&self, repos: &[RepoSpec]) -> Result<Outcome, Error> {
        std::fs::create_dir_all(&self.workdir).map_err(|e| {
            Error::Workdir(format!(
                "cannot create the work directory {}: {e}",
                self.workdir.display()
            ))
        })?;
        let (lock, store, note) = self.open()?;
        let fingerprint = self.fingerprint();
        store
            .drop_other_rules(&fingerprint)
            .map_err(Error::Workdir)?;
        let audit = match &self.audit {
            Some(path) => Some(Mutex::new(std::fs::File::create(path).map_err(|e| {
                Error::Workdir(format!(
                    "cannot write the audit log {}: {e}",
                    path.display()
                ))
            })?)),
            None => None,
        };
        let progress = &self.progress;
        progress.repos_total.store(repos.len(), Ordering::Relaxed);
        progress.repos_done.store(0, Ordering::Relaxed);
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<RepoResult>>> = Mutex::new(vec![None; repos.len()]);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (self.threads.unwrap_or(cores) / self.jobs).max(1);
        std::thread::scope(|s| {
            for _ in 0..self.jobs.min(repos.len().max(1)) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= repos.len() {
                        break;
                    }
                    let result = self.sweep_one(&store, &repos[i], &fingerprint, threads);
                    progress.repos_done.fetch_add(1, Ordering::Relaxed);
                    progress
                        .blobs
                        .fetch_add(result.audit.blobs_scanned, Ordering::Relaxed);
                    progress
                        .bytes
                        .fetch_add(result.audit.bytes_scanned, Ordering::Relaxed);
                    progress
                        .findings
                        .fetch_add(result.audit.findings, Ordering::Relaxed);
                    if let Some(file) = &audit {
                        if let Ok(line) = serde_json::to_string(&result.audit) {
                            let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
                            let _ = writeln!(f, "{line}");
                            let _ = f.flush();
                        }
                    }
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                });
            }
        });
        let repos = results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .flatten()
            .collect();
        drop(store);
        drop(lock);
        Ok(Outcome {
            repos,
            notes: note.into_iter().collect(),
        })
    }

    fn sweep_one(
        &self,
        store: &Store,
        spec: &RepoSpec,
        fingerprint: &str,
        threads: usize,
    ) -> RepoResult {
        let started = Instant::now();
        let mut audit = AuditRecord {
            repo: spec.display(),
            status: "failed".into(),
            mode: String::new(),
            error: None,
            reason: None,
            rewritten_refs: Vec::new(),
            deleted_refs: Vec::new(),
            tips: Vec::new(),
            blobs_scanned: 0,
            blobs_cached: 0,
            bytes_scanned: 0,
            findings: 0,
            problems: Vec::new(),
            seconds: 0.0,
            finished_at: 0,
        };
        let result = self.sweep_repo(store, spec, fingerprint, threads, &mut audit);
        let (mut records_digest, mut records_held) = (None, false);
        let records = match result {
            Ok(Swept {
                mut records,
                digest,
                held,
            }) => {
                records_digest = digest;
                records_held = held;
                if let Some(filter) = &self.allow_paths {
                    for r in &mut records {
                        if r.suppressed.is_none()
                            && r.location
                                .path
                                .as_deref()
                                .is_some_and(|p| filter.excludes_relative(p))
                        {
                            r.suppressed = Some(keysweep::Suppression::Allowlist);
                        }
                    }
                }
                records
            }
            Err(e) => {
                audit.status = "failed".into();
                audit.error = Some(e);
                Vec::new()
            }
        };
        audit.findings = records.iter().filter(|r| r.suppressed.is_none()).count() as u64;
        audit.seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        audit.finished_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        RepoResult {
            audit,
            records,
            records_digest,
            records_held,
        }
    }

    fn sweep_repo(
        &self,
        store: &Store,
        spec: &RepoSpec,
        fingerprint: &str,
        threads: usize,
        audit: &mut AuditRecord,
    ) -> Result<Swept, String> {
        if self.cancel.is_cancelled() {
            return Err("the sweep was interrupted".into());
        }
        let key = spec.key();
        let path = acquire::acquire(spec, &self.workdir, self.cancel.flag(), &self.headers)?;
        let tips = keysweep_git::ref_tips(&path).map_err(|e| e.to_string())?;
        audit.tips = tips
            .iter()
            .map(|t| Tip {
                name: t.name.clone(),
                id: t.id.to_string(),
            })
            .collect();
        let tip_pairs: Vec<(String, String)> = audit
            .tips
            .iter()
            .map(|t| (t.name.clone(), t.id.clone()))
            .collect();
        if tips.is_empty() {
            audit.status = "empty".into();
            audit.mode = "full".into();
            return Ok(Swept::default());
        }
        let state = store.state(&key)?.filter(|s| s.rules == fingerprint);
        let unchanged = state.as_ref().is_some_and(|s| s.tips == tip_pairs);
        // An unchanged repository's findings are those stored, not even read when the caller
        // holds them already (same digest).
        let held = unchanged
            && state
                .as_ref()
                .and_then(|s| s.records_digest.as_ref())
                .is_some_and(|d| self.held.get(&key) == Some(d));
        let records = match &state {
            Some(_) if held => Some(Vec::new()),
            Some(_) => store.records(&key)?,
            None => None,
        };
        // A state without its findings is as good as none.
        let previous = match (state, records) {
            (Some(st), Some(records)) => Some(RepoState {
                rules: st.rules,
                tips: st.tips,
                records,
                reachable_blobs: st.reachable_blobs,
                records_digest: st.records_digest,
            }),
            _ => None,
        };
        let previous = match previous {
            Some(prev) if unchanged => {
                audit.status = "swept".into();
                audit.mode = "unchanged".into();
                audit.blobs_cached = prev.reachable_blobs;
                // Nothing else needs the state: its records are the result, not a copy.
                return Ok(Swept {
                    records: prev.records,
                    digest: prev.records_digest,
                    held,
                });
            }
            other => other,
        };
        // Refs that moved are scanned for what their new commits introduced, as long as every
        // commit of the last sweep is still in some ref's history; otherwise (a ref
        // force-pushed or deleted) everything is walked again, with the blob cache: what was
        // scanned before is not scanned again.
        // The commits the refs reached last time: the walks below then read only new ones.
        let known = match &previous {
            Some(_) => store.known_commits(&key)?.map(Arc::new),
            None => None,
        };
        let mut known_now = None;
        // The refs reaching each earlier finding's commit now, when the walk is incremental.
        let incremental = match &previous {
            Some(prev) => match plan(&path, prev, &tip_pairs, known.as_deref(), audit) {
                Ok((refs, now)) => {
                    known_now = now;
                    Some(refs)
                }
                Err(why) => {
                    audit.reason = Some(why);
                    None
                }
            },
            None => None,
        };
        let blobs = store.blobs(fingerprint)?;
        let mut scan = HistoryScan::new(self.scanner.clone())
            .threads(threads)
            .max_blob_size(self.max_blob_size)
            .scan_binary(self.scan_binary)
            .cancel(self.cancel.clone())
            .blob_cache(blobs.clone());
        if let (Some(_), Some(prev)) = (&incremental, &previous) {
            let old: Vec<keysweep_git::ObjectId> = prev
                .tips
                .iter()
                .filter_map(|(_, id)| keysweep_git::ObjectId::from_hex(id.as_bytes()).ok())
                .collect();
            scan = scan.after_tips(old);
            if let Some(known) = &known {
                scan = scan.known_commits(Arc::clone(known));
            }
        }
        let counters = scan.counters();
        self.progress
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&counters));
        let sink = Collect::default();
        let outcome = scan.run(&path, &sink);
        self.progress
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|c| !Arc::ptr_eq(c, &counters));
        let summary = outcome.map_err(|e| e.to_string())?;
        let (hits, problems) = sink.into_parts();
        audit.problems = problems.iter().map(|p| p.to_string()).collect();
        audit.blobs_scanned = summary.counts.files;
        audit.bytes_scanned = summary.counts.bytes;
        audit.blobs_cached = summary.blobs_cached;
        let rules = self.scanner.rules();
        let found: Vec<Record> = hits
            .iter()
            .map(|h| Record::new(h, &rules[h.finding.rule_index], true))
            .collect();
        let mut previous_digest = None;
        let (records, reachable, records_changed) = match (incremental, previous) {
            (Some(refs), Some(prev)) => {
                audit.mode = "incremental".into();
                previous_digest = prev.records_digest;
                // Updated in place, noting whether anything changed: the findings are written
                // back only then (tens of MB in repositories with thousands of findings).
                let mut records = prev.records;
                let mut changed = set_refs(&mut records, &refs);
                changed |= merge(&mut records, found);
                changed |= set_present_at_head(&path, &mut records)?;
                (
                    records,
                    prev.reachable_blobs + summary.reachable_blobs,
                    changed,
                )
            }
            _ => {
                audit.mode = "full".into();
                (found, summary.reachable_blobs, true)
            }
        };
        // Kept for the next sweep. After a full walk (or an incremental one without them), the
        // commits are read once more, commits only; a repository that cannot give them is
        // walked in full next time, which costs time, not findings.
        let known_now = match known_now {
            Some(k) => Some(k),
            None => keysweep_git::KnownCommits::read(&path).ok(),
        };
        let mut state = RepoState {
            rules: fingerprint.to_string(),
            tips: tip_pairs,
            records,
            reachable_blobs: reachable,
            records_digest: previous_digest,
        };
        // The findings are complete whether or not the cache takes them: a cache that cannot be
        // written (a full disk) costs the next sweep a scan, not this one its results.
        if let Err(e) = store.commit(
            &key,
            &mut state,
            &blobs,
            known_now.as_ref(),
            records_changed,
        ) {
            audit.problems.push(format!(
                "{e}; the findings are complete, but this repository will be scanned again next time"
            ));
            state.records_digest = None;
        }
        audit.status = "swept".into();
        Ok(Swept {
            records: state.records,
            digest: state.records_digest,
            held: false,
        })
    }
}

/// What [`Sweep::sweep_repo`] gives [`Sweep::sweep_one`].
#[derive(Default)]
struct Swept {
    records: Vec<Record>,
    /// The digest of `records` as stored.
    digest: Option<String>,
    /// `records` left out: the caller holds them.
    held: bool,
}

/// Whether the repository at `path` can be swept incrementally from `prev`, and if so the refs
/// reaching now each commit that `prev`'s findings name. It can when every tip of the last
/// sweep is still in the history of some ref: the commits then only grew, and what the new ones
/// introduced is all there is to add. Refs rewritten or deleted are noted in `audit`; the error
/// says why a full walk is needed.
fn plan(
    path: &Path,
    prev: &RepoState,
    now: &[(String, String)],
    known: Option<&keysweep_git::KnownCommits>,
    audit: &mut AuditRecord,
) -> Result<(RefsNow, Option<keysweep_git::KnownCommits>), String> {
    let now: HashMap<&str, &str> = now.iter().map(|(n, i)| (n.as_str(), i.as_str())).collect();
    // The tips of the last sweep that moved or are gone: are they still in some ref's history?
    let moved: Vec<(&str, &str)> = prev
        .tips
        .iter()
        .filter(|(name, id)| now.get(name.as_str()) != Some(&id.as_str()))
        .map(|(n, i)| (n.as_str(), i.as_str()))
        .collect();
    let commits: Vec<String> = {
        let mut c: Vec<String> = prev
            .records
            .iter()
            .filter_map(|r| match &r.location.source {
                Source::History { git } => git.commit.as_ref().map(|c| c.id.clone()),
                _ => None,
            })
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let parse = |hex: &str| {
        keysweep_git::ObjectId::from_hex(hex.as_bytes()).map_err(|e| {
            format!("the cache names an object {hex:?} that is not an id ({e}): walked in full")
        })
    };
    let mut objects = Vec::with_capacity(moved.len() + commits.len());
    for (_, id) in &moved {
        objects.push(parse(id)?);
    }
    for id in &commits {
        objects.push(parse(id)?);
    }
    let read_error = |e: keysweep_git::Error| {
        format!("the refs' history could not be read ({e}): walked in full")
    };
    let (reach, known_now) = match known {
        Some(known) => {
            let (reach, now) =
                keysweep_git::refs_reaching_known(path, known, &objects).map_err(read_error)?;
            (reach, Some(now))
        }
        None => (
            keysweep_git::refs_reaching(path, &objects).map_err(read_error)?,
            None,
        ),
    };
    let mut lost = Vec::new();
    for (i, (name, _)) in moved.iter().enumerate() {
        if !now.contains_key(name) {
            audit.deleted_refs.push(name.to_string());
        } else if !reach.refs(i).any(|r| r == *name) {
            audit.rewritten_refs.push(name.to_string());
        }
        if reach.count(i) == 0 {
            lost.push(*name);
        }
    }
    if !lost.is_empty() {
        let mut why = Vec::new();
        let rewritten: Vec<&String> = audit
            .rewritten_refs
            .iter()
            .filter(|r| lost.contains(&r.as_str()))
            .collect();
        let deleted: Vec<&String> = audit
            .deleted_refs
            .iter()
            .filter(|r| lost.contains(&r.as_str()))
            .collect();
        if !rewritten.is_empty() {
            why.push(format!(
                "rewritten (force-pushed or reset): {}",
                join(&rewritten)
            ));
        }
        if !deleted.is_empty() {
            why.push(format!("deleted: {}", join(&deleted)));
        }
        return Err(format!(
            "commits of the last sweep are in no ref's history any more, refs {}: walked in full so that their findings go",
            why.join("; refs ")
        ));
    }
    let at = commits
        .into_iter()
        .enumerate()
        .map(|(i, c)| (c, moved.len() + i))
        .collect();
    Ok((RefsNow { reach, at }, known_now))
}

/// The refs that reach each commit of an earlier sweep's findings now.
struct RefsNow {
    reach: keysweep_git::Reaching,
    /// Commit id (hex) → its index in `reach`.
    at: HashMap<String, usize>,
}

fn join(names: &[&String]) -> String {
    names
        .iter()
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Gives `records` the refs that reach their commits now, listed as a history scan lists
/// them; whether any record changed.
fn set_refs(records: &mut [Record], refs: &RefsNow) -> bool {
    let mut changed = false;
    for r in records {
        if let Source::History { git } = &mut r.location.source {
            if let Some(&i) = git.commit.as_ref().and_then(|c| refs.at.get(&c.id)) {
                let total = refs.reach.count(i);
                let shown = refs.reach.refs(i).take(keysweep_source::MAX_REFS);
                if git.refs_total != total || !git.refs.iter().map(String::as_str).eq(shown.clone())
                {
                    git.refs = shown.map(str::to_string).collect();
                    git.refs_total = total;
                    changed = true;
                }
            }
        }
    }
    changed
}

/// Adds to the findings of an earlier sweep those of the commits since: a blob already
/// reported keeps its earlier provenance (the commit that first introduced it). Whether any
/// was added.
fn merge(records: &mut Vec<Record>, new: Vec<Record>) -> bool {
    fn key(r: &Record) -> (&str, &str, usize) {
        let blob = match &r.location.source {
            Source::History { git } => git.blob.as_str(),
            _ => "",
        };
        (blob, r.rule_id.as_str(), r.byte_start)
    }
    let seen: HashSet<(&str, &str, usize)> = records.iter().map(key).collect();
    let fresh: Vec<Record> = new
        .into_iter()
        .filter(|r| !seen.contains(&key(r)))
        .collect();
    drop(seen);
    let added = !fresh.is_empty();
    records.extend(fresh);
    added
}

/// Sets `present_at_head` from the blobs of `HEAD`'s tree now: a secret is present when a
/// finding with its fingerprint is in one of them. Whether any record changed.
fn set_present_at_head(repo: &Path, records: &mut [Record]) -> Result<bool, String> {
    let head = head_blobs(repo)?;
    let present: HashSet<keysweep::Fingerprint> = records
        .iter()
        .filter(|r| match &r.location.source {
            Source::History { git } => head.contains(&git.blob),
            _ => false,
        })
        .map(|r| r.fingerprint)
        .collect();
    let mut changed = false;
    for r in records {
        if let Source::History { git } = &mut r.location.source {
            let now = present.contains(&r.fingerprint);
            changed |= git.present_at_head != now;
            git.present_at_head = now;
        }
    }
    Ok(changed)
}

fn head_blobs(repo: &Path) -> Result<HashSet<String>, String> {
    let repo = gix::discover(repo).map_err(|e| e.to_string())?;
    let Ok(commit) = repo.head_commit() else {
        return Ok(HashSet::new()); // unborn or detached at nothing: no HEAD tree
    };
    let tree = commit
        .tree()
        .map_err(|e| format!("HEAD's tree cannot be read: {e}"))?;
    let mut recorder = gix::traverse::tree::Recorder::default();
    tree.traverse()
        .breadthfirst(&mut recorder)
        .map_err(|e| format!("HEAD's tree cannot be walked: {e}"))?;
    Ok(recorder
        .records
        .into_iter()
        .filter(|e| e.mode.is_blob())
        .map(|e| e.oid.to_string())
        .collect())
}

/// `Authorization: Basic base64(user:token)`: the header git hosts accept for a token over
/// HTTPS (GitHub with user `x-access-token`, GitLab with `oauth2`).
pub fn basic_auth(user: &str, token: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let data = format!("{user}:{token}").into_bytes();
    let mut out = String::from("Authorization: Basic ");
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `record` as it may be written out: its secret and secret parts redacted.
pub fn redacted(record: &Record) -> Record {
    let mut r = record.clone();
    redact(&mut r);
    r
}

/// Redacts `record` in place, as [`redacted`] does a copy.
pub fn redact(r: &mut Record) {
    if !r.redacted {
        r.secret = keysweep_report::redact(r.secret.as_bytes());
        r.redacted = true;
    }
    for p in &mut r.parts {
        if !p.redacted && (p.rule_id.is_some() || !keysweep_report::public_part(&p.name)) {
            p.value = keysweep_report::redact(p.value.as_bytes());
            p.redacted = true;
        }
    }
}

/// Writes a sweep's results into `out`: `findings.jsonl` (every finding, redacted unless
/// `reveal`) and the inventory, one entry per distinct secret, always redacted, as
/// `inventory.json`, `inventory.csv` and `inventory.html`; each file replaced atomically. `audit.jsonl` is written by the sweep as it goes.
pub fn write_results(
    out: &Path,
    outcome: &Outcome,
    reveal: bool,
    as_of: i64,
) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let records = || outcome.repos.iter().flat_map(|repo| &repo.records);
    // findings.jsonl and the inventory are independent: written side by side.
    let findings = || -> std::io::Result<()> {
        let mut findings = Vec::new();
        for r in records() {
            if reveal {
                serde_json::to_writer(&mut findings, r)
            } else {
                serde_json::to_writer(&mut findings, &redacted(r))
            }
            .map_err(std::io::Error::other)?;
            findings.push(b'\n');
        }
        keysweep_report::write_output(&out.join("findings.jsonl"), &findings)
    };
    let inventory = || -> std::io::Result<()> {
        // The inventory is always redacted (it redacts what it keeps).
        let mut inventory = Inventory::new(20);
        for r in records() {
            inventory.add(r);
        }
        let mut doc = inventory.finish(as_of, &mut keysweep_report::codeowners::read);
        let json = serde_json::to_vec_pretty(&doc).map_err(std::io::Error::other)?;
        keysweep_report::write_output(&out.join("inventory.json"), &json)?;
        let csv = keysweep_report::inventory::csv(&doc);
        keysweep_report::write_output(&out.join("inventory.csv"), csv.as_bytes())?;
        let html = keysweep_report::inventory::html(&mut doc);
        keysweep_report::write_output(&out.join("inventory.html"), html.as_bytes())
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(findings);
        let b = inventory();
        (a.join(), b)
    });
    a.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    b
}

/// Counts per status, for a summary line.
pub fn status_counts(outcome: &Outcome) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for r in &outcome.repos {
        *m.entry(r.audit.status.clone()).or_default() += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_auth_is_base64_of_user_and_token() {
        assert_eq!(
            super::basic_auth("a", "bc"),
            "Authorization: Basic YTpiYw=="
        );
        assert_eq!(
            super::basic_auth("ab", "c"),
            "Authorization: Basic YWI6Yw=="
        );
        assert_eq!(
            super::basic_auth("x", "yz1"),
            "Authorization: Basic eDp5ejE="
        );
    }

    #[test]
    fn a_result_line_reads_back_whole_and_its_audit_alone() {
        let record = r#"{"rule_id":"github.pat.classic","path":".env","source":"history","git":{"blob":"b1","commit":"c1","author_name":"Ada","author_email":"ada@example.com","date":"2020-09-13T14:26:40+02:00","summary":"add","refs":["refs/heads/main"],"refs_total":1,"present_at_head":true,"reachable":true},"line":1,"column":14,"secret":"ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u","redacted":false,"fingerprint":"0123456789abcdef0123456789abcdef","confidence":"high"}"#;
        let audit = r#"{"repo":"github.com/a/b","status":"swept","mode":"full","tips":[],"blobs_scanned":3,"blobs_cached":0,"bytes_scanned":10,"findings":1,"problems":[],"seconds":0.5,"finished_at":1}"#;
        let result = super::RepoResult {
            audit: serde_json::from_str(audit).unwrap(),
            records: vec![serde_json::from_str(record).unwrap()],
            records_digest: Some("0a1b".repeat(16)),
            records_held: false,
        };
        let line = result.to_line().unwrap();
        assert!(!line.contains('\n') && line.starts_with(super::LINE_START));
        assert_eq!(
            super::RepoResult::digest_of_line(&line),
            result.records_digest.as_deref()
        );
        // The same repository later, its findings held by the caller: they come back whole.
        let mut later = result.clone();
        later.records.clear();
        later.records_held = true;
        later.audit.findings = 0;
        later.audit.seconds = 2.5;
        let later_line = later.to_line().unwrap();
        assert!(super::RepoResult::held_line(&later_line));
        assert!(!super::RepoResult::held_line(&line));
        let later = super::RepoResult::from_line(&later_line).unwrap();
        assert!(later.records_held && later.records.is_empty());
        let whole = later.clone().with_held(result.clone()).unwrap();
        assert_eq!(whole.records, result.records);
        assert_eq!(whole.audit.findings, result.audit.findings);
        assert_eq!(whole.audit.seconds, 2.5);
        assert!(!whole.records_held);
        // Findings of another digest are not taken for them.
        let mut other = result.clone();
        other.records_digest = Some("ff".repeat(32));
        assert!(later.with_held(other).is_err());
        let no_digest = super::RepoResult {
            records_digest: None,
            ..result.clone()
        };
        assert_eq!(
            super::RepoResult::digest_of_line(&no_digest.to_line().unwrap()),
            None
        );
        assert_eq!(super::RepoResult::from_line(&line).unwrap(), result);
        assert_eq!(
            super::RepoResult::audit_of_line(&line).unwrap(),
            result.audit
        );
        // A result serialised as it is reads too.
        let plain = serde_json::to_string(&result).unwrap();
        assert_eq!(super::RepoResult::from_line(&plain).unwrap(), result);
        assert_eq!(
            super::RepoResult::audit_of_line(&plain).unwrap(),
            result.audit
        );
        assert!(super::RepoResult::from_line("{}").is_err());
    }
}
