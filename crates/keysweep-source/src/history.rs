//! Git history and pending changes as sources of [`Hit`]s: the git engine
//! ([`keysweep_git`]) does the reading; this module gives its findings the shared location
//! vocabulary.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use keysweep::{Finding, Scanner};

use crate::archive;
use crate::location::ArchiveEntry;

use crate::dates::GitTime;
use crate::files::Error;
use crate::filter::PathFilter;
use crate::job::{Cancel, Counters, Counts, Events, Problem, ProblemKind, Severity, Sink};
use crate::location::{
    ChangeOrigin, CommitInfo, HistoryOrigin, Hit, Location, Source, SubmoduleOrigin,
};
use crate::repo::Named;

/// Refs listed per finding ([`HistoryOrigin::refs`], the first ones in listing order); the
/// total is always given ([`HistoryOrigin::refs_total`]).
pub const MAX_REFS: usize = 100;

/// Scans a repository's history: every blob reachable from any ref, each once, every finding
/// with the commit that introduced it ([`HistoryOrigin`]).
///
/// ```
/// use keysweep::{RuleSet, Scanner};
/// use keysweep_source::{Collect, HistoryScan, Source};
/// # let dir = tempfile::tempdir()?;
/// # let git = |args: &[&str]| std::process::Command::new("git").current_dir(dir.path())
/// #     .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"])
/// #     .args(args).output().map(|o| assert!(o.status.success(), "{o:?}"));
/// # git(&["init", "-q"])?;
/// # std::fs::write(dir.path().join("deploy.env"), "AWS_ACCESS_KEY_ID=AKIAZ4X7Q2M9R3T8V6WN\n")?;
/// # git(&["add", "."])?;
/// # git(&["commit", "-q", "-m", "add deploy settings"])?;
/// # git(&["rm", "-q", "deploy.env"])?;
/// # git(&["commit", "-q", "-m", "remove them"])?;
/// # let repo = dir.path();
/// // `repo`: a repository where deploy.env was committed, then removed.
/// let scanner = Scanner::new(RuleSet::builtin())?;
/// let sink = Collect::default();
/// let summary = HistoryScan::new(scanner).run(repo, &sink)?;
/// let (hits, _problems) = sink.into_parts();
/// let Source::History { git } = &hits[0].location.source else { unreachable!() };
/// assert_eq!(git.commit.as_ref().unwrap().summary, "add deploy settings");
/// assert!(!git.present_at_head); // removed, but still in history
/// assert_eq!(summary.commits, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct HistoryScan {
    scanner: Scanner,
    threads: Option<usize>,
    unreachable: bool,
    scan_binary: bool,
    max_blob_size: u64,
    since: Option<String>,
    branch: Option<String>,
    filter: Option<Arc<PathFilter>>,
    counters: Arc<Counters>,
    cancel: Cancel,
    cache: Option<Arc<dyn keysweep_git::BlobCache + Send>>,
    after: Option<Vec<keysweep_git::ObjectId>>,
    known: Option<Arc<keysweep_git::KnownCommits>>,
    archives: Option<archive::Limits>,
    recurse_submodules: bool,
}

/// How deep [`HistoryScan::recurse_submodules`] goes: submodules of submodules, down to this
/// many levels below the scanned repository.
pub const MAX_SUBMODULE_DEPTH: usize = 8;

/// What a history scan did, beyond the shared [`Counts`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct HistorySummary {
    /// Blobs scanned, bytes, skips, hits and errors (of all runs of this scan).
    pub counts: Counts,
    /// Commits in the history walked.
    pub commits: u64,
    /// Objects read from the object database.
    pub objects: u64,
    /// Findings in blobs no ref reaches, not reported (see [`HistoryScan::unreachable`]).
    pub unreachable_dropped: u64,
    /// Time spent reading and scanning objects.
    pub read_time: Duration,
    /// Time spent walking history.
    pub walk_time: Duration,
    /// Blobs whose findings came from the blob cache instead of a scan.
    pub blobs_cached: u64,
    /// Distinct blobs the history walk met.
    pub reachable_blobs: u64,
    /// The repository is a shallow clone (history before its boundary was not scanned).
    pub shallow: bool,
    /// Submodule paths met in history whose repositories were not scanned: all of them
    /// without [`HistoryScan::recurse_submodules`]; with it, those not initialised (or deeper
    /// than [`MAX_SUBMODULE_DEPTH`], or named in `.gitmodules` so that their repository would
    /// be outside `.git/modules`: absolute, with `..`). Nested ones by their whole path.
    pub submodules: Vec<String>,
    /// Submodule paths whose repositories were scanned ([`HistoryScan::recurse_submodules`]).
    pub submodules_scanned: Vec<String>,
    /// The repository's root (working tree, or the git directory of a bare repository).
    pub root: std::path::PathBuf,
}

impl HistoryScan {
    /// A full-history scan: every ref, binary blobs and blobs over 256 MiB skipped, on every
    /// core.
    pub fn new(scanner: Scanner) -> HistoryScan {
        HistoryScan {
            scanner,
            threads: None,
            unreachable: false,
            scan_binary: false,
            max_blob_size: crate::files::DEFAULT_MAX_FILE_SIZE,
            since: None,
            branch: None,
            filter: None,
            counters: Arc::default(),
            cancel: Cancel::new(),
            cache: None,
            after: None,
            known: None,
            archives: Some(archive::Limits::default()),
            recurse_submodules: false,
        }
    }

    /// Also scans the repositories of the submodules history records, where they are
    /// initialised (`.git/modules/<name>` of the superproject, or a repository in the
    /// submodule's working tree): the history of every commit the superproject's gitlinks
    /// point to (and their ancestors), each submodule repository once. The submodule's own refs
    /// are not walked: what the superproject never recorded is not part of its history (scan
    /// the submodule's repository itself for that). Nested submodules are scanned too, down to
    /// [`MAX_SUBMODULE_DEPTH`] levels. Findings carry [`Location::submodule`] and their path in
    /// the superproject (`vendor/lib/config.env`); their `git.refs` are empty (the oldest
    /// commit the superproject records that reaches the finding is `submodule.commit`) and
    /// `present_at_head` refers to the submodule repository's `HEAD`. A submodule that moved
    /// is scanned once; each finding is under the path that recorded that commit (a secret
    /// from before the move under the old path). A submodule not initialised is listed as a
    /// note; a recorded commit the submodule's repository does not have is a warning. Without
    /// this, submodules are listed as not scanned. With [`since`](Self::since),
    /// [`branch`](Self::branch) or [`after_tips`](Self::after_tips), the gitlinks are those of
    /// the commits walked, and a submodule is scanned for what they added to it only: its
    /// history without that of the commits recorded before the range.
    pub fn recurse_submodules(mut self, yes: bool) -> HistoryScan {
        self.recurse_submodules = yes;
        self
    }

    /// Opens blobs that are archives (zip, jar, whl, tar, gz, ...) within these limits, as
    /// the directory walk does: findings in their entries carry the blob's provenance and the
    /// entry chain (`lib/x.jar!/config.properties`). With `None`, archives are blobs like
    /// any other (binary ones skipped). Default: the default limits.
    pub fn archives(mut self, limits: Option<archive::Limits>) -> HistoryScan {
        self.archives = limits;
        self
    }

    /// Takes the findings of blobs scanned before from `cache` and records new ones there
    /// (see [`keysweep_git::BlobCache`]; the caller keys it by the rules and options).
    pub fn blob_cache(mut self, cache: Arc<dyn keysweep_git::BlobCache + Send>) -> HistoryScan {
        self.cache = Some(cache);
        self
    }

    /// Scans only what commits that no ref in `tips` reached introduced (see
    /// [`keysweep_git::HistoryScan::after_tips`] and [`keysweep_git::ref_tips`]).
    pub fn after_tips(mut self, tips: Vec<keysweep_git::ObjectId>) -> HistoryScan {
        self.after = Some(tips);
        self
    }

    /// With [`after_tips`](Self::after_tips): every commit those tips reached, so that the walk
    /// reads only the commits added since (see [`keysweep_git::HistoryScan::known_commits`]).
    /// Applies to the repository itself, not to its submodules.
    pub fn known_commits(mut self, known: Arc<keysweep_git::KnownCommits>) -> HistoryScan {
        self.known = Some(known);
        self
    }

    /// Worker threads (default: one per core).
    pub fn threads(mut self, n: usize) -> HistoryScan {
        self.threads = Some(n.max(1));
        self
    }

    /// Also reports blobs that no ref reaches (they have no commit or path).
    pub fn unreachable(mut self, yes: bool) -> HistoryScan {
        self.unreachable = yes;
        self
    }

    /// Scans binary blobs too.
    pub fn scan_binary(mut self, yes: bool) -> HistoryScan {
        self.scan_binary = yes;
        self
    }

    /// Skips blobs larger than this many bytes.
    pub fn max_blob_size(mut self, bytes: u64) -> HistoryScan {
        self.max_blob_size = bytes;
        self
    }

    /// Scans only what the commits after `rev` introduced (`REV` means `REV..HEAD`, `A..B`
    /// names both ends).
    pub fn since(mut self, rev: impl Into<String>) -> HistoryScan {
        self.since = Some(rev.into());
        self
    }

    /// Walks only this branch's (or rev's) history instead of every ref.
    pub fn branch(mut self, name: impl Into<String>) -> HistoryScan {
        self.branch = Some(name.into());
        self
    }

    /// Drops findings whose path (in the repository) the filter excludes.
    pub fn filter(mut self, filter: PathFilter) -> HistoryScan {
        self.filter = Some(Arc::new(filter));
        self
    }

    /// Stops the scan when `cancel` is cancelled.
    pub fn cancel(mut self, cancel: Cancel) -> HistoryScan {
        self.cancel = cancel;
        self
    }

    /// Counters updated while the scan runs.
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Scans the history of the repository at `repo` (a working tree, a `.git` directory, a
    /// bare repository, or a directory inside one). Objects that cannot be read are reported
    /// to `sink` and the rest is scanned; an error means nothing was scanned.
    pub fn run(&self, repo: &Path, sink: &dyn Sink) -> Result<HistorySummary, Error> {
        let mut summary = HistorySummary::default();
        let history = self.run_one(repo, None, sink, &mut summary)?;
        summary.root = history.repository.clone();
        let root = history.repository.display().to_string();
        let mut too_deep = Vec::new();
        let mut refused = Vec::new();
        if self.recurse_submodules {
            let mut visited = HashSet::new();
            visited.insert(git_dir_key(repo));
            let mut walk = Recursion {
                visited: &mut visited,
                too_deep: &mut too_deep,
                refused: &mut refused,
                sink,
                summary: &mut summary,
            };
            self.recurse(&history, repo, None, &mut walk)?;
        } else {
            summary.submodules = history.submodules.iter().map(|s| s.path.clone()).collect();
        }
        if !summary.submodules.is_empty() {
            let why = if self.recurse_submodules {
                "not initialised (no repository in .git/modules or in their working tree)"
            } else {
                "scan their repositories separately, or recurse into submodules"
            };
            sink.problem(Problem {
                severity: Severity::Note,
                kind: ProblemKind::Incomplete,
                path: Some(root.clone()),
                message: format!(
                    "{} submodule(s) not scanned ({why}): {}",
                    summary.submodules.len(),
                    summary.submodules.join(", ")
                ),
            });
        }
        if !too_deep.is_empty() {
            sink.problem(Problem {
                severity: Severity::Warning,
                kind: ProblemKind::Incomplete,
                path: Some(root),
                message: format!(
                    "{} submodule(s) not scanned (nested more than {MAX_SUBMODULE_DEPTH} levels deep): {}",
                    too_deep.len(),
                    too_deep.join(", ")
                ),
            });
            summary.submodules.extend(too_deep);
        }
        summary.submodules.extend(refused);
        summary.counts = self.counters.snapshot();
        Ok(summary)
    }

    /// Scans the repositories of the submodules `history` met (of the repository at
    /// `superproject`), then theirs. `within` is the submodule `history` belongs to (`None` for
    /// the scanned repository).
    fn recurse(
        &self,
        history: &keysweep_git::History,
        superproject: &Path,
        within: Option<&Within>,
        walk: &mut Recursion<'_>,
    ) -> Result<(), Error> {
        let depth = within.map_or(1, |w| w.depth + 1);
        // One scan per repository: a submodule moved to another path keeps its repository.
        let mut found: Vec<Found> = Vec::new();
        for s in &history.submodules {
            let path = match within {
                Some(w) => format!("{}/{}", w.path, s.path),
                None => s.path.clone(),
            };
            if depth > MAX_SUBMODULE_DEPTH {
                walk.too_deep.push(path);
                continue;
            }
            let sub = match keysweep_git::find_submodule(superproject, &s.path) {
                Ok(Some(sub)) => sub,
                Ok(None) => {
                    walk.summary.submodules.push(path);
                    continue;
                }
                Err(refused) => {
                    // Its name would lead out of .git/modules: never scanned, said so.
                    walk.sink.problem(Problem {
                        severity: Severity::Warning,
                        kind: ProblemKind::Incomplete,
                        path: Some(superproject.display().to_string()),
                        message: match within {
                            Some(w) => format!("in submodule `{}`: {refused}", w.path),
                            None => refused.to_string(),
                        },
                    });
                    walk.refused.push(path);
                    continue;
                }
            };
            let i = match found.iter().position(|f| f.repo.git_dir == sub.git_dir) {
                Some(i) => i,
                None => {
                    let within = Within {
                        path: path.clone(),
                        depth,
                        paths: HashMap::new(),
                    };
                    found.push(Found {
                        repo: sub,
                        within,
                        recorded: Vec::new(),
                        base: Vec::new(),
                    });
                    found.len() - 1
                }
            };
            let f = &mut found[i];
            f.recorded.extend(
                s.commits
                    .iter()
                    .zip(&s.met)
                    .map(|(c, m)| (*m, *c, path.clone())),
            );
            f.base.extend(s.base.iter().copied());
        }
        for Found {
            repo: sub,
            mut within,
            mut recorded,
            base,
        } in found
        {
            if !walk.visited.insert(git_dir_key(&sub.git_dir)) {
                continue;
            }
            // Oldest first: the scan's refs follow this order, and a commit recorded at two
            // paths (where the submodule moved) belongs to the first.
            recorded.sort_by_key(|(met, ..)| *met);
            let mut commits = Vec::new();
            for (_, commit, path) in recorded {
                if let std::collections::hash_map::Entry::Vacant(e) =
                    within.paths.entry(commit.to_string())
                {
                    e.insert(path);
                    commits.push(commit);
                }
            }
            // Where it moved: named (nested submodules included) by its oldest path.
            if let Some(first) = commits.first() {
                within.path = within.paths[&first.to_string()].clone();
            }
            let (sink, summary) = (walk.sink, &mut *walk.summary);
            let nested =
                match self.run_one(&sub.git_dir, Some((&within, commits, base)), sink, summary) {
                    Ok(h) => h,
                    Err(Error::Cancelled) => return Err(Error::Cancelled),
                    Err(e) => {
                        self.counters.errors(1);
                        sink.problem(Problem::error(
                            ProblemKind::Repository,
                            sub.git_dir.display().to_string(),
                            format!("submodule `{}` could not be scanned: {e}", within.path),
                        ));
                        continue;
                    }
                };
            summary.submodules_scanned.push(within.path.clone());
            self.recurse(&nested, &sub.git_dir, Some(&within), walk)?;
        }
        Ok(())
    }

    /// Scans one repository: the scanned one (`sub` is `None`), or a submodule's, walking only
    /// the history of the commits its superproject records. Adds to `summary`.
    fn run_one(
        &self,
        repo: &Path,
        sub: Option<(
            &Within,
            Vec<keysweep_git::ObjectId>,
            Vec<keysweep_git::ObjectId>,
        )>,
        sink: &dyn Sink,
        summary: &mut HistorySummary,
    ) -> Result<keysweep_git::History, Error> {
        let counters = &self.counters;
        let (last_files, last_bytes) = (AtomicU64::new(0), AtomicU64::new(0));
        let tick = |blobs: u64, bytes: u64| {
            let prev = last_files.fetch_max(blobs, Ordering::Relaxed);
            counters.files(blobs.saturating_sub(prev));
            let prev = last_bytes.fetch_max(bytes, Ordering::Relaxed);
            counters.bytes(bytes.saturating_sub(prev));
        };
        let mut scan = keysweep_git::HistoryScan::new(&self.scanner)
            .include_unreachable(self.unreachable)
            .scan_binary(self.scan_binary)
            .max_blob_size(self.max_blob_size)
            .progress(&tick)
            .cancel(self.cancel.flag());
        if let Some(n) = self.threads {
            scan = scan.threads(n);
        }
        if let Some(rev) = &self.since {
            scan = scan.since(rev.clone());
        }
        if let Some(b) = &self.branch {
            scan = scan.branch(b.clone());
        }
        if let Some(cache) = &self.cache {
            scan = scan.blob_cache(&**cache);
        }
        if let Some(after) = &self.after {
            scan = scan.after_tips(after.clone());
        }
        if let (Some(known), None) = (&self.known, &sub) {
            scan = scan.known_commits(known);
        }
        let within = sub.as_ref().map(|(w, ..)| *w);
        if let Some((_, commits, base)) = sub {
            scan = scan.tips(commits).hide(base);
        }
        let opened = Opened::default();
        let open = |id: keysweep_git::ObjectId, data: &[u8]| self.open_archive(id, data, &opened);
        if self.archives.is_some() {
            scan = scan.archives(&open);
        }
        let history = scan.run(repo)?;
        let Opened { chains, problems } = opened;
        let mut chains = chains.into_inner().unwrap_or_else(|e| e.into_inner());
        let stats = &history.stats;
        counters.files(stats.blobs_scanned.saturating_sub(last_files.into_inner()));
        counters.bytes(stats.blob_bytes.saturating_sub(last_bytes.into_inner()));
        counters.skipped_binary(stats.skipped_binary);
        counters.skipped_large(stats.skipped_large);

        let root = history.repository.display().to_string();
        for p in &history.problems {
            counters.errors(1);
            sink.problem(Problem::error(
                ProblemKind::Git,
                root.clone(),
                p.to_string(),
            ));
        }
        for message in problems.into_inner().unwrap_or_else(|e| e.into_inner()) {
            counters.errors(1);
            sink.problem(Problem::error(ProblemKind::Archive, root.clone(), message));
        }
        let shallow = history.shallow;
        if shallow {
            sink.problem(Problem {
                severity: Severity::Note,
                kind: ProblemKind::Incomplete,
                path: Some(root.clone()),
                message: "a shallow clone: history before its boundary was not scanned".into(),
            });
        }
        if let Some(w) = within {
            if !history.absent_tips.is_empty() {
                let ids: Vec<String> = history
                    .absent_tips
                    .iter()
                    .map(|id| id.to_hex_with_len(12).to_string())
                    .collect();
                sink.problem(Problem {
                    severity: Severity::Warning,
                    kind: ProblemKind::Incomplete,
                    path: Some(root.clone()),
                    message: format!(
                        "submodule `{}`: {} commit(s) the superproject records are not in its repository (not scanned; fetch them to scan them): {}",
                        w.path,
                        ids.len(),
                        ids.join(", ")
                    ),
                });
            }
        }
        let named = Named::at(&history.repository);
        let recorded = within.map(|w| RecordedPaths::new(w, &history));
        for f in &history.findings {
            let origin = recorded.as_ref().map(|r| r.origin(&history, f));
            let full = match (&origin, &f.path) {
                (Some((s, _)), Some(p)) => Some(format!("{s}/{p}")),
                _ => f.path.clone(),
            };
            if let (Some(filter), Some(p)) = (&self.filter, &full) {
                if filter.excludes_relative(p) {
                    counters.excluded(1);
                    continue;
                }
            }
            counters.hits(1);
            let mut location = history_location(&history, f, &named);
            if let (Some(w), Some((sub_path, commit))) = (within, origin) {
                in_submodule(&mut location, w, sub_path, commit, full);
            }
            if let Some(chain) = chains.get_mut(&f.blob).and_then(|found| {
                let i = found.iter().position(|(x, _)| *x == f.finding)?;
                Some(found.remove(i).1)
            }) {
                in_archive(&mut location, &f.blob, chain);
            }
            sink.hit(Hit {
                finding: f.finding.clone(),
                location,
            });
        }
        summary.commits += stats.commits;
        summary.objects += stats.objects;
        summary.unreachable_dropped += stats.unreachable_findings_dropped;
        summary.read_time += stats.read_time;
        summary.walk_time += stats.walk_time;
        summary.blobs_cached += stats.blobs_cached;
        summary.reachable_blobs += stats.reachable_blobs;
        summary.shallow |= shallow;
        Ok(history)
    }

    /// Runs [`run`](Self::run) on its own thread and returns its events as an iterator.
    pub fn spawn(&self, repo: std::path::PathBuf) -> Events<Result<HistorySummary, Error>> {
        let scan = self.clone();
        Events::spawn(self.cancel.clone(), move |sink| scan.run(&repo, sink))
    }
}

/// Findings in archive blobs with their entry chains, by blob.
type Chains = HashMap<keysweep_git::ObjectId, Vec<(Finding, Vec<String>)>>;

/// What archive blobs held, and the problems met opening them.
#[derive(Default)]
struct Opened {
    chains: Mutex<Chains>,
    problems: Mutex<Vec<String>>,
}

impl HistoryScan {
    /// Expands a blob that is an archive and scans its entries (see
    /// [`keysweep_git::ArchiveHook`]); `None` when it is not one.
    fn open_archive(
        &self,
        id: keysweep_git::ObjectId,
        data: &[u8],
        opened: &Opened,
    ) -> Option<Vec<Finding>> {
        let mut limits = self.archives?;
        archive::kind(data)?;
        limits.entry = limits.entry.min(self.max_blob_size);
        let mut entries = BlobEntries {
            scan: self,
            scratch: self.scanner.scratch(),
            found: Vec::new(),
            problems: Vec::new(),
        };
        let name = format!("blob {}", id.to_hex_with_len(12));
        archive::walk(&name, data, limits, &mut entries);
        self.counters.archives(1);
        if !entries.problems.is_empty() {
            opened
                .problems
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(entries.problems);
        }
        let flat = entries.found.iter().map(|(f, _)| f.clone()).collect();
        if !entries.found.is_empty() {
            opened
                .chains
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, entries.found);
        }
        Some(flat)
    }
}

/// Scans the entries of an archive blob.
struct BlobEntries<'a> {
    scan: &'a HistoryScan,
    scratch: keysweep::Scratch,
    found: Vec<(Finding, Vec<String>)>,
    problems: Vec<String>,
}

impl archive::Visitor for BlobEntries<'_> {
    fn entry(&mut self, _path: &str, entries: &[String], data: &[u8]) {
        let scan = self.scan;
        if !scan.scan_binary && keysweep::is_binary(data) {
            scan.counters.skipped_binary(1);
            return;
        }
        scan.counters.files(1);
        scan.counters.bytes(data.len() as u64);
        let path = entries.join("!/");
        let findings =
            crate::files::scan_bytes(&scan.scanner, &mut self.scratch, data, Some(&path));
        self.found
            .extend(findings.into_iter().map(|f| (f, entries.to_vec())));
    }

    fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    // An entry named `../x` cannot write anywhere: nothing is extracted from history.
    fn warning(&mut self, _message: String) {}
}

/// Names the archive entry a history finding is in: `lib/x.jar!/config.properties`.
fn in_archive(location: &mut Location, blob: &keysweep_git::ObjectId, chain: Vec<String>) {
    let file = location
        .path
        .clone()
        .unwrap_or_else(|| format!("<blob {}>", blob.to_hex_with_len(12)));
    let path = format!("{file}!/{}", chain.join("!/"));
    location.context = crate::Context::of_path(&path);
    location.path = Some(path);
    location.archive = Some(ArchiveEntry {
        file,
        entries: chain,
    });
}

/// What a walk through submodules carries along.
struct Recursion<'a> {
    /// Git directories scanned so far.
    visited: &'a mut HashSet<std::path::PathBuf>,
    /// Submodules nested deeper than [`MAX_SUBMODULE_DEPTH`], not scanned.
    too_deep: &'a mut Vec<String>,
    /// Submodules whose name in `.gitmodules` leads out of `.git/modules`, not scanned.
    refused: &'a mut Vec<String>,
    sink: &'a dyn Sink,
    summary: &'a mut HistorySummary,
}

/// A submodule repository met in history, to be scanned once.
struct Found {
    repo: keysweep_git::SubmoduleRepository,
    within: Within,
    /// The commits recorded: when the walk met each (oldest first), and at which path.
    recorded: Vec<(u64, keysweep_git::ObjectId, String)>,
    /// In an incremental scan, the commits recorded before the range.
    base: Vec<keysweep_git::ObjectId>,
}

/// The submodule a history scan is in: its path in the scanned repository and its depth.
struct Within {
    /// Its path (the oldest, where it moved).
    path: String,
    depth: usize,
    /// Recorded commit (hex) → the path that recorded it first: a submodule moved to another
    /// path records its later commits there.
    paths: HashMap<String, String>,
}

/// For a submodule's history: per ref of the scan (a recorded commit, oldest first), the path
/// that records it.
struct RecordedPaths<'a> {
    by_ref: Vec<Option<&'a str>>,
    fallback: &'a str,
}

impl<'a> RecordedPaths<'a> {
    fn new(within: &'a Within, h: &keysweep_git::History) -> RecordedPaths<'a> {
        RecordedPaths {
            by_ref: h
                .refs
                .iter()
                .map(|name| within.paths.get(name).map(String::as_str))
                .collect(),
            fallback: &within.path,
        }
    }

    /// The submodule's path for a finding and the recorded commit it is reported under: the
    /// oldest recorded commit reaching the finding's commit, and the path that records it (a
    /// secret added before the submodule moved is under its old path).
    fn origin(
        &self,
        h: &keysweep_git::History,
        f: &keysweep_git::BlobFinding,
    ) -> (&'a str, Option<String>) {
        let refs = f.commit.map_or(&[][..], |c| &h.commits[c].refs[..]);
        let oldest = refs
            .iter()
            .filter_map(|&r| Some((r, self.by_ref.get(r as usize).copied().flatten()?)))
            .min_by_key(|(r, _)| *r);
        match oldest {
            Some((r, path)) => (path, Some(h.refs[r as usize].clone())),
            None => (
                self.fallback,
                refs.first().map(|&r| h.refs[r as usize].clone()),
            ),
        }
    }
}

/// A repository's git directory as a key: the same repository reached twice is scanned once.
fn git_dir_key(path: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Turns the location of a finding in a submodule's history into one in the superproject's:
/// its path there, the submodule and its recorded commit; the submodule scan's "refs" are the
/// recorded commits, not refs.
fn in_submodule(
    location: &mut Location,
    within: &Within,
    sub_path: &str,
    recorded: Option<String>,
    full: Option<String>,
) {
    if let Source::History { git } = &mut location.source {
        git.refs.clear();
        git.refs_total = 0;
    }
    if let Some(p) = &full {
        location.context = crate::Context::of_path(p);
    }
    location.path = full;
    location.submodule = Some(SubmoduleOrigin {
        path: sub_path.to_string(),
        commit: recorded,
        depth: within.depth,
    });
}

fn history_location(
    h: &keysweep_git::History,
    f: &keysweep_git::BlobFinding,
    named: &Named,
) -> Location {
    let commit = f.commit.map(|c| &h.commits[c]);
    let refs: Vec<String> = commit
        .map(|c| {
            c.refs
                .iter()
                .take(MAX_REFS)
                .map(|&r| h.refs[r as usize].clone())
                .collect()
        })
        .unwrap_or_default();
    let mut location = Location::new(
        f.path.clone(),
        Source::History {
            git: HistoryOrigin {
                blob: f.blob.to_string(),
                commit: commit.map(|c| CommitInfo {
                    id: c.id.to_string(),
                    author_name: c.author_name.clone(),
                    author_email: c.author_email.clone(),
                    date: GitTime {
                        seconds: c.time,
                        offset: c.offset,
                    },
                    summary: c.summary.clone(),
                }),
                refs,
                refs_total: commit.map_or(0, |c| c.refs.len()),
                present_at_head: f.present_at_head,
                reachable: f.path.is_some() && !f.damaged,
                damaged: f.damaged,
            },
        },
    );
    location.repository = Some(named.with_path(f.path.clone()));
    location
}

/// Scans a repository's pending changes: staged (the index against `HEAD`), unstaged (the
/// working tree against the index) and untracked files, reporting findings on added lines only:
/// the pre-commit check.
///
/// ```no_run
/// use keysweep::{RuleSet, Scanner};
/// use keysweep_source::{ChangeScan, Collect};
///
/// let sink = Collect::default();
/// let counts = ChangeScan::new(Scanner::new(RuleSet::builtin())?)
///     .staged(true)
///     .run(".".as_ref(), &sink)?;
/// let (hits, _) = sink.into_parts();
/// println!("{} finding(s) in {} staged file(s)", hits.len(), counts.files);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ChangeScan {
    scanner: Scanner,
    staged: bool,
    unstaged: bool,
    untracked: bool,
    scan_binary: bool,
    max_size: u64,
    filter: Option<Arc<PathFilter>>,
    counters: Arc<Counters>,
    cancel: Cancel,
}

impl ChangeScan {
    /// A scan of nothing yet: choose [`staged`](Self::staged), [`unstaged`](Self::unstaged),
    /// [`untracked`](Self::untracked), or several.
    pub fn new(scanner: Scanner) -> ChangeScan {
        ChangeScan {
            scanner,
            staged: false,
            unstaged: false,
            untracked: false,
            scan_binary: false,
            max_size: crate::files::DEFAULT_MAX_FILE_SIZE,
            filter: None,
            counters: Arc::default(),
            cancel: Cancel::new(),
        }
    }

    /// Scans staged changes (everything staged before the first commit).
    pub fn staged(mut self, yes: bool) -> ChangeScan {
        self.staged = yes;
        self
    }

    /// Scans changes in the working tree that are not staged.
    pub fn unstaged(mut self, yes: bool) -> ChangeScan {
        self.unstaged = yes;
        self
    }

    /// Scans files git neither tracks nor ignores.
    pub fn untracked(mut self, yes: bool) -> ChangeScan {
        self.untracked = yes;
        self
    }

    /// Scans binary files too.
    pub fn scan_binary(mut self, yes: bool) -> ChangeScan {
        self.scan_binary = yes;
        self
    }

    /// Skips changed files larger than this many bytes.
    pub fn max_size(mut self, bytes: u64) -> ChangeScan {
        self.max_size = bytes;
        self
    }

    /// Skips files (repository-relative paths) the filter excludes.
    pub fn filter(mut self, filter: PathFilter) -> ChangeScan {
        self.filter = Some(Arc::new(filter));
        self
    }

    /// Stops the scan when `cancel` is cancelled.
    pub fn cancel(mut self, cancel: Cancel) -> ChangeScan {
        self.cancel = cancel;
        self
    }

    /// Counters updated by the scan.
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Which kinds of change this scan looks at, by name.
    pub fn kinds(&self) -> Vec<&'static str> {
        [
            (self.staged, "staged"),
            (self.unstaged, "unstaged"),
            (self.untracked, "untracked"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect()
    }

    /// Scans the pending changes of the repository whose working tree contains `repo`.
    pub fn run(&self, repo: &Path, sink: &dyn Sink) -> Result<Counts, Error> {
        let filter = self.filter.clone();
        let exclude = move |path: &str| filter.as_ref().is_some_and(|f| f.excludes_relative(path));
        let mut scan = keysweep_git::ChangeScan::new(&self.scanner)
            .staged(self.staged)
            .unstaged(self.unstaged)
            .untracked(self.untracked)
            .scan_binary(self.scan_binary)
            .max_size(self.max_size)
            .cancel(self.cancel.flag());
        if self.filter.is_some() {
            scan = scan.exclude(&exclude);
        }
        let changes = scan.run(repo)?;
        let c = &self.counters;
        let s = &changes.stats;
        c.files(s.files);
        c.bytes(s.bytes);
        c.skipped_binary(s.skipped_binary);
        c.skipped_large(s.skipped_large);
        c.excluded(s.excluded);
        for p in &changes.problems {
            c.errors(1);
            sink.problem(Problem {
                severity: Severity::Error,
                kind: ProblemKind::Unreadable,
                path: None,
                message: p.clone(),
            });
        }
        let named = Named::at(&changes.workdir);
        for f in changes.findings {
            c.hits(1);
            let mut location = Location::new(
                Some(f.path.clone()),
                Source::Change {
                    git: ChangeOrigin {
                        change: f.change.into(),
                        blob: f.blob.map(|b| b.to_string()),
                    },
                },
            );
            location.repository = Some(named.with_path(Some(f.path)));
            sink.hit(Hit {
                finding: f.finding,
                location,
            });
        }
        Ok(c.snapshot())
    }

    /// Runs [`run`](Self::run) on its own thread and returns its events as an iterator.
    pub fn spawn(&self, repo: std::path::PathBuf) -> Events<Result<Counts, Error>> {
        let scan = self.clone();
        Events::spawn(self.cancel.clone(), move |sink| scan.run(&repo, sink))
    }
}
