//! Scan a git repository's whole history with a [`keysweep::Scanner`]: every blob reachable from
//! any ref, each scanned once, with the provenance of every finding.
//!
//! A full scan reads the object database in two passes:
//!
//! 1. **Every object once, in pack order.** Each pack is decoded with gix's delta-tree traversal
//!    (a base is inflated once and its deltas are applied from it, on every core), loose objects
//!    one by one. Blobs are scanned as they are decoded; commits are kept in a compact form and
//!    trees as lists of dense child ids (4 bytes an entry, no names).
//! 2. **The history walk.** Commits are put in topological order, oldest first, and the tree
//!    table is walked once, meeting each object once; no tree is decoded again. The first commit
//!    whose tree holds a blob with findings is the commit that introduced it; its path there
//!    (rebuilt by reading only the trees on it) is the finding's path. Refs reaching that commit and
//!    whether the same secret is still in the tree of `HEAD` are worked out from there.
//!
//! Blobs that no ref reaches are scanned in pass 1 but reported only when asked
//! ([`HistoryScan::include_unreachable`]).
//!
//! An incremental scan ([`HistoryScan::since`], [`HistoryScan::branch`]) walks only the commits
//! of a range and scans the blobs they introduced, reading them by id.
//!
//! Damaged or missing objects do not stop a scan: each is reported as a [`Problem`] with its id
//! and file, and the rest is scanned.
//!
//! # Example
//!
//! ```no_run
//! use keysweep::{RuleSet, Scanner};
//! use keysweep_git::HistoryScan;
//!
//! let scanner = Scanner::new(RuleSet::builtin()).unwrap();
//! let history = HistoryScan::new(&scanner).run("path/to/repo").unwrap();
//! for f in &history.findings {
//!     let commit = f.commit.map(|c| &history.commits[c]);
//!     println!(
//!         "{} in {} at {:?}, introduced by {:?}, still at HEAD: {}",
//!         f.finding.rule_id,
//!         f.blob,
//!         f.path,
//!         commit.map(|c| &c.summary),
//!         f.present_at_head,
//!     );
//! }
//! for problem in &history.problems {
//!     eprintln!("{problem}");
//! }
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod changes;
mod identity;
mod known;
mod objects;
mod submodule;
mod table;
mod walk;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use gix::objs::Find;
use std::time::{Duration, Instant};

pub use gix::ObjectId;
use keysweep::{Finding, Fingerprint, Scanner};
pub use known::KnownCommits;

pub use changes::{
    added_lines, hooks_dir, Change, ChangeFinding, ChangeScan, ChangeStats, Changes,
};
pub use identity::{
    normalize_remote_url, read_head_file, repository_info, tracked_but_ignored, RepositoryInfo,
};
use objects::{BlobPolicy, Collected, Counters, Shared};
pub use submodule::{
    find_submodule, head_commit, submodule_paths, SubmoduleRepository, UnsafeSubmodule,
};
use table::Dense;
use walk::{Graph, Tip, TreeWalker};

/// Rebuilds paths from the walk's parent links, reading the few trees on them by id.
struct Paths<'a> {
    repo: &'a gix::Repository,
    dense: &'a Dense<'a>,
    parent: &'a [u32],
}

impl Paths<'_> {
    /// The path of object `id` (dense) whose object id is `oid`.
    fn of(&self, id: u32, oid: &ObjectId) -> Vec<u8> {
        match self.parent.get(id as usize) {
            Some(&p) if p != u32::MAX => self.child(p, oid),
            _ => Vec::new(),
        }
    }

    /// The path of the entry of tree `tree` (dense) that points at `oid`.
    fn child(&self, tree: u32, oid: &ObjectId) -> Vec<u8> {
        let mut names: Vec<Vec<u8>> = Vec::new();
        let (mut tree, mut target) = (tree, *oid);
        let mut buf = Vec::new();
        loop {
            let tree_oid = self.dense.oid(tree);
            let name = match self.repo.objects.try_find(&tree_oid, &mut buf) {
                Ok(Some(data)) => {
                    gix::objs::TreeRefIter::from_bytes(data.data, self.repo.object_hash())
                        .filter_map(Result::ok)
                        .find(|e| e.oid == target.as_ref())
                        .map(|e| e.filename.to_vec())
                }
                _ => None,
            };
            names.push(
                name.unwrap_or_else(|| format!("<{}>", target.to_hex_with_len(10)).into_bytes()),
            );
            match self.parent.get(tree as usize) {
                // A damaged table could link in a circle: no real path is this deep.
                Some(&p) if p != u32::MAX && names.len() < 4096 => {
                    target = tree_oid;
                    tree = p;
                }
                _ => break,
            }
        }
        names.reverse();
        names.join(&b'/')
    }
}

/// A callback for progress: blobs scanned so far and their bytes. Called from worker threads.
pub type Progress<'a> = dyn Fn(u64, u64) + Sync + 'a;

/// A store of what scans of blobs found, shared across scans that use the same rules and
/// options (the caller keys it by their fingerprint): a blob met again is not scanned again.
///
/// Only findings of the rules that run without a path are stored: a blob at a path that a
/// path-scoped rule applies to is always scanned with that path.
pub trait BlobCache: Sync {
    /// What an earlier scan found in `blob` (possibly nothing), or `None` when it has not been
    /// scanned with these rules and options.
    fn get(&self, blob: &gix::oid) -> Option<Vec<Finding>>;
    /// Records what a scan of `blob` found (possibly nothing).
    fn put(&self, blob: &gix::oid, findings: &[Finding]);
}

/// A ref and the object it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefTip {
    /// The ref's full name (`refs/heads/main`, `HEAD` when detached).
    pub name: String,
    /// The object it names (for an annotated tag, the tag object).
    pub id: ObjectId,
}

/// The refs of the repository at `path` and the objects they name (an annotated tag's own id,
/// not peeled), in listing order (`HEAD`, branches, tags, remotes, stash, others): what a later
/// [`HistoryScan::after_tips`] starts from.
pub fn ref_tips(path: impl AsRef<Path>) -> Result<Vec<RefTip>, Error> {
    let path = path.as_ref();
    let repo = gix::discover(path).map_err(|e| Error::Open {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let mut problems = Vec::new();
    // Not peeled: reading refs only, no object (a repository with thousands of tags answers in
    // milliseconds). `after_tips` peels what it is given.
    let tips = tips(&repo, &|_| Peel::NotATag, &mut problems);
    if let Some(p) = problems.first() {
        return Err(Error::Open {
            path: path.to_owned(),
            message: p.to_string(),
        });
    }
    Ok(tips
        .into_iter()
        .map(|t| RefTip {
            name: t.name,
            id: t.id,
        })
        .collect())
}

/// For each of `objects` (commits, or annotated tags, which are peeled to their commit), the
/// refs of the repository at `path` whose history holds it now, in listing order (as
/// [`ref_tips`] and [`History::refs`] order them): empty for an object that no ref reaches, that
/// is missing, or that is not a commit.
///
/// Only commits are read, no tree: this is how a sweep brings the refs of findings it found
/// earlier up to date after refs moved, and tells whether an earlier tip is still in some ref's
/// history (a ref force-pushed or deleted leaves it out).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("keysweep-refs-reaching-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # std::fs::create_dir_all(&dir)?;
/// # let git = |args: &[&str]| std::process::Command::new("git").current_dir(&dir)
/// #     .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"])
/// #     .args(args).output().map(|o| assert!(o.status.success(), "{o:?}"));
/// # git(&["init", "-q", "-b", "main"])?;
/// # git(&["commit", "-q", "--allow-empty", "-m", "first"])?;
/// # git(&["branch", "feature"])?;
/// # git(&["commit", "-q", "--allow-empty", "-m", "second"])?;
/// let tips = keysweep_git::ref_tips(&dir)?;
/// let main = tips.iter().find(|t| t.name == "refs/heads/main").unwrap().id;
/// let feature = tips.iter().find(|t| t.name == "refs/heads/feature").unwrap().id;
/// let reach = keysweep_git::refs_reaching(&dir, &[main, feature])?;
/// assert_eq!(reach.refs(0).collect::<Vec<_>>(), ["refs/heads/main"]);
/// assert_eq!(reach.refs(1).collect::<Vec<_>>(), ["refs/heads/main", "refs/heads/feature"]);
/// assert_eq!(reach.count(1), 2);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn refs_reaching(path: impl AsRef<Path>, objects: &[ObjectId]) -> Result<Reaching, Error> {
    let path = path.as_ref();
    let open_error = |message: String| Error::Open {
        path: path.to_owned(),
        message,
    };
    let repo = gix::discover(path).map_err(|e| open_error(e.to_string()))?;
    let mut problems = Vec::new();
    let tips = tips(&repo, &|_| Peel::Unknown, &mut problems);
    if let Some(p) = problems.first() {
        return Err(open_error(p.to_string()));
    }
    let starts: Vec<ObjectId> = tips
        .iter()
        .map(|t| t.id)
        .filter(|id| repo.find_commit(*id).is_ok())
        .collect();
    let graph = Graph::commits_only(&repo, &starts)
        .map_err(|e| open_error(format!("the commit graph cannot be walked: {e}")))?;
    Ok(reaching(&repo, &graph, &tips, objects))
}

/// [`refs_reaching`] from the commits `known` holds (every commit the refs reached when it was
/// made) plus those the refs reach now that it does not: only the new commits are read. Returns
/// the answer and `known` brought up to date, to keep for the next run.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("keysweep-refs-known-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # std::fs::create_dir_all(&dir)?;
/// # let git = |args: &[&str]| std::process::Command::new("git").current_dir(&dir)
/// #     .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"])
/// #     .args(args).output().map(|o| assert!(o.status.success(), "{o:?}"));
/// # git(&["init", "-q", "-b", "main"])?;
/// # git(&["commit", "-q", "--allow-empty", "-m", "first"])?;
/// let known = keysweep_git::KnownCommits::read(&dir)?;
/// let first = keysweep_git::ref_tips(&dir)?[0].id;
/// # git(&["checkout", "-q", "-b", "feature"])?;
/// # git(&["commit", "-q", "--allow-empty", "-m", "second"])?;
/// // A new branch with a new commit since `known` was read.
/// let (reach, now) = keysweep_git::refs_reaching_known(&dir, &known, &[first])?;
/// // HEAD's branch (feature) is listed first.
/// assert_eq!(reach.refs(0).collect::<Vec<_>>(), ["refs/heads/feature", "refs/heads/main"]);
/// assert_eq!((known.len(), now.len()), (1, 2));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn refs_reaching_known(
    path: impl AsRef<Path>,
    known: &KnownCommits,
    objects: &[ObjectId],
) -> Result<(Reaching, KnownCommits), Error> {
    let path = path.as_ref();
    let repo = gix::discover(path).map_err(|e| Error::Open {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let mut now = known.clone();
    let tips = now.extend(&repo, path)?;
    let graph = now.graph(&repo);
    Ok((reaching(&repo, &graph, &tips, objects), now))
}

/// For each object of a question ([`refs_reaching`]), the refs whose history holds it, as
/// positions in one list of names: a commit of a mirror can be reached by thousands of refs
/// (`refs/pull/*`), and thousands of commits may be asked about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reaching {
    names: Vec<String>,
    of: Vec<Vec<u32>>,
}

impl Reaching {
    /// How many objects were asked about.
    pub fn len(&self) -> usize {
        self.of.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.of.is_empty()
    }

    /// The refs reaching the `i`th object asked about, in listing order; none for an index
    /// beyond those asked.
    pub fn refs(&self, i: usize) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        self.of
            .get(i)
            .map_or(&[][..], |v| v.as_slice())
            .iter()
            .map(|&t| self.names[t as usize].as_str())
    }

    /// How many refs reach the `i`th object.
    pub fn count(&self, i: usize) -> usize {
        self.of.get(i).map_or(0, Vec::len)
    }
}

/// For each of `objects`, peeled to a commit, the refs among `tips` whose history in `graph`
/// holds it.
fn reaching(repo: &gix::Repository, graph: &Graph, tips: &[Tip], objects: &[ObjectId]) -> Reaching {
    let peel = |id: &ObjectId| -> Option<ObjectId> {
        let object = repo.find_object(*id).ok()?;
        Some(object.peel_to_kind(gix::object::Kind::Commit).ok()?.id)
    };
    let mut out = vec![Vec::new(); objects.len()];
    let mut asked = Vec::new();
    let mut positions = Vec::new();
    for (i, id) in objects.iter().enumerate() {
        // A commit of the graph needs no reading; anything else may be a tag to peel.
        let position = graph
            .position
            .get(id)
            .copied()
            .or_else(|| peel(id).and_then(|c| graph.position.get(&c).copied()));
        if let Some(p) = position {
            asked.push(i);
            positions.push(p);
        }
    }
    for (i, reaching) in asked.into_iter().zip(graph.tips_reaching(&positions, tips)) {
        out[i] = reaching;
    }
    Reaching {
        names: tips.iter().map(|t| t.name.clone()).collect(),
        of: out,
    }
}

/// Opens a blob that is an archive: given the blob's id and bytes, returns `None` when it is
/// not one (it is scanned as usual), or the findings in its entries (the caller keeps which
/// entry each is in). Called from worker threads, before binary detection.
pub type ArchiveHook<'a> = dyn Fn(ObjectId, &[u8]) -> Option<Vec<Finding>> + Sync + 'a;

/// Configures and runs a history scan.
pub struct HistoryScan<'s> {
    cache: Option<&'s dyn BlobCache>,
    archives: Option<&'s ArchiveHook<'s>>,
    after: Option<Vec<ObjectId>>,
    known: Option<&'s KnownCommits>,
    scanner: &'s Scanner,
    threads: usize,
    include_unreachable: bool,
    policy: BlobPolicy,
    since: Option<String>,
    branch: Option<String>,
    tips: Option<Vec<ObjectId>>,
    /// With `tips`: commits whose history is left out.
    hide: Vec<ObjectId>,
    progress: Option<&'s Progress<'s>>,
    cancel: Option<&'s AtomicBool>,
}

/// The flag of a scan nobody can cancel.
static NEVER: AtomicBool = AtomicBool::new(false);

impl<'s> HistoryScan<'s> {
    /// A full-history scan with `scanner`, on every core, skipping binary blobs and blobs over
    /// 256 MiB.
    pub fn new(scanner: &'s Scanner) -> Self {
        HistoryScan {
            cache: None,
            archives: None,
            after: None,
            known: None,
            scanner,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            include_unreachable: false,
            policy: BlobPolicy {
                scan_binary: false,
                max_blob_size: 256 << 20,
            },
            since: None,
            branch: None,
            tips: None,
            hide: Vec::new(),
            progress: None,
            cancel: None,
        }
    }

    /// Hands every blob to `open` before binary detection: the archives it opens are not
    /// scanned as blobs, their entries' findings are the blob's (see [`ArchiveHook`]).
    /// Findings of archives do not go through the blob cache.
    pub fn archives(mut self, open: &'s ArchiveHook<'s>) -> Self {
        self.archives = Some(open);
        self
    }

    /// Worker threads (at least one).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// Also report findings in blobs that no ref reaches (they have no commit or path).
    pub fn include_unreachable(mut self, yes: bool) -> Self {
        self.include_unreachable = yes;
        self
    }

    /// Also scan binary blobs (those with a NUL byte in their first 8 KiB).
    pub fn scan_binary(mut self, yes: bool) -> Self {
        self.policy.scan_binary = yes;
        self
    }

    /// Skip blobs larger than this many bytes.
    pub fn max_blob_size(mut self, bytes: u64) -> Self {
        self.policy.max_blob_size = bytes;
        self
    }

    /// Scan only what the commits after `rev` introduced: `REV` means `REV..HEAD` (or
    /// `REV..BRANCH` with [`branch`](Self::branch)); `A..B` names both ends.
    pub fn since(mut self, rev: impl Into<String>) -> Self {
        self.since = Some(rev.into());
        self
    }

    /// Takes the findings of blobs scanned before (with the same rules and options) from
    /// `cache`, and records there what is scanned now.
    pub fn blob_cache(mut self, cache: &'s dyn BlobCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Scans only what the commits that every ref now reaches, but none of `tips` does,
    /// introduced: an incremental re-scan after [`ref_tips`] was taken. Tips the repository no
    /// longer has are ignored (their history is walked again).
    pub fn after_tips(mut self, tips: Vec<ObjectId>) -> Self {
        self.after = Some(tips);
        self
    }

    /// With [`after_tips`](Self::after_tips): every commit those tips reached (what
    /// [`refs_reaching_known`] returned when they were taken). The walk then stops
    /// at known commits and reads only the new ones; without it, it marks what the old tips
    /// reach, which reads their whole history again.
    pub fn known_commits(mut self, known: &'s KnownCommits) -> Self {
        self.known = Some(known);
        self
    }

    /// Walk only the history of this branch (or any rev) instead of every ref.
    pub fn branch(mut self, name: impl Into<String>) -> Self {
        self.branch = Some(name.into());
        self
    }

    /// Walk only the history of these commits (and their ancestors) instead of every ref: what
    /// a superproject's gitlinks point to in a submodule's repository. The scan reads blobs by
    /// id, as an incremental scan does. Commits the repository does not have are listed in
    /// [`History::absent_tips`], not reported as problems; the refs of the result
    /// ([`History::refs`]) are these commits, by hex id, in the order given, so that
    /// [`CommitInfo::refs`] says which of them reach a finding. Takes precedence over
    /// [`since`](Self::since), [`branch`](Self::branch) and [`after_tips`](Self::after_tips).
    pub fn tips(mut self, commits: Vec<ObjectId>) -> Self {
        self.tips = Some(commits);
        self
    }

    /// With [`tips`](Self::tips): leaves out the history of these commits (those the
    /// repository does not have are ignored), so that only what the tips added since is
    /// scanned: a submodule's [`Submodule::base`] in an incremental scan of its superproject.
    pub fn hide(mut self, commits: Vec<ObjectId>) -> Self {
        self.hide = commits;
        self
    }

    /// Report progress while blobs are scanned.
    pub fn progress(mut self, f: &'s Progress<'s>) -> Self {
        self.progress = Some(f);
        self
    }

    /// Stop as soon as possible once `flag` is set (from any thread): [`run`](Self::run) then
    /// returns [`Error::Cancelled`].
    pub fn cancel(mut self, flag: &'s AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Opens the repository at `path` (a working tree, a `.git` directory, a bare repository, or
    /// a directory inside one of them) and scans it.
    pub fn run(&self, path: impl AsRef<Path>) -> Result<History, Error> {
        let started = Instant::now();
        let path = path.as_ref();
        let repo = gix::discover(path).map_err(|e| Error::Open {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let mut history = if self.since.is_some()
            || self.branch.is_some()
            || self.after.is_some()
            || self.tips.is_some()
        {
            self.run_range(&repo)?
        } else {
            self.run_full(&repo)
        };
        if self.cancelled() {
            return Err(Error::Cancelled);
        }
        history.repository = repo.workdir().unwrap_or_else(|| repo.git_dir()).to_owned();
        history.stats.elapsed = started.elapsed();
        Ok(history)
    }

    fn run_full(&self, repo: &gix::Repository) -> History {
        let mut problems = Vec::new();
        let sources = objects::sources(repo, &mut problems);
        let dense = Dense::new(&sources.packs, sources.loose_ids());
        let counters = Counters::default();
        let shared = Shared {
            scanner: self.scanner,
            policy: self.policy,
            counters: &counters,
            progress: self.progress,
            hash_kind: repo.object_hash(),
            dense: &dense,
            collected: Mutex::new(Collected::default()),
            cancel: self.cancel.unwrap_or(&NEVER),
            cache: self.cache,
            archives: self.archives,
        };
        let read_started = Instant::now();
        objects::read_all(&shared, &sources, self.threads);
        let read_time = read_started.elapsed();
        let walk_started = Instant::now();
        let mut collected = shared
            .collected
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        problems.append(&mut collected.problems);

        // Pass 1 saw every object: what is not in its tag list is not a tag.
        let tips = tips(
            repo,
            &|id| {
                collected
                    .tags
                    .get(id)
                    .map_or(Peel::NotATag, |t| Peel::Tag(*t))
            },
            &mut problems,
        );
        let shallow = shallow_commits(repo);
        let graph = Graph::from_commits(&collected.commits, &tips, &shallow, &mut problems);

        // Walk history over the tree table, oldest commit first: the first commit to reach a
        // blob with findings introduced it.
        // Blobs under a name a path-scoped rule may apply to are walked too, to learn their path.
        let targets: HashMap<u32, ObjectId> = collected
            .findings
            .keys()
            .filter_map(|oid| dense.id(oid).map(|d| (d, *oid)))
            .chain(collected.scoped.iter().map(|&d| (d, dense.oid(d))))
            .collect();
        let mut roots = Vec::with_capacity(graph.len());
        for c in 0..graph.len() {
            match dense.id(&graph.trees[c]) {
                Some(t) => roots.push((Some(c as u32), t, true)),
                None => problems.push(Problem::object(
                    &graph.trees[c],
                    format!("tree is missing (the root of commit {})", graph.ids[c]),
                )),
            }
        }
        // Tags that point at trees or blobs directly.
        for tip in &tips {
            if !collected.commits.contains_key(&tip.id) {
                if let Some(d) = dense.id(&tip.id) {
                    roots.push((None, d, collected.trees.get(d).is_some()));
                }
            }
        }
        let tw = table::walk(&collected.trees, dense.len(), roots.into_iter(), |id| {
            targets.contains_key(&id)
        });
        let paths = Paths {
            repo,
            dense: &dense,
            parent: &tw.parent,
        };
        let commit_name = |c: Option<u32>| c.map(|c| graph.ids[c as usize]);
        let mut origins: HashMap<ObjectId, (Option<u32>, Vec<u8>)> = HashMap::new();
        for &(blob, commit) in &tw.found {
            let oid = targets[&blob];
            origins.insert(oid, (commit, paths.of(blob, &oid)));
        }
        // Pass 1 scanned blobs without their paths, so without the rules scoped to some files:
        // a blob that first appeared at such a path is scanned again with it.
        let rescan: Vec<(ObjectId, String)> = collected
            .scoped
            .iter()
            .filter_map(|&d| {
                let oid = targets[&d];
                let (_, path) = origins.get(&oid)?;
                let path = String::from_utf8_lossy(path);
                self.scanner
                    .path_has_scoped_rules(&path)
                    .then(|| (oid, path.into_owned()))
            })
            .collect();
        for (oid, found) in self.rescan(repo, &rescan, &mut problems) {
            if found.is_empty() {
                collected.findings.remove(&oid);
            } else {
                collected.findings.insert(oid, found);
            }
        }
        for &(tree, commit) in &tw.unread {
            let oid = dense.oid(tree);
            problems.push(walk::tree_problem(
                &oid,
                &paths.of(tree, &oid),
                commit_name(commit).as_ref(),
                "tree could not be read".into(),
            ));
        }
        let mut submodules: HashMap<Vec<u8>, Submodule> = HashMap::new();
        let mut missing = HashSet::new();
        for (met, &(tree, special, commit)) in tw.specials.iter().enumerate() {
            match &collected.trees.specials[special as usize] {
                // Each missing object once, where the walk first met it.
                table::Special::Missing(oid) if !missing.insert(*oid) => {}
                table::Special::Missing(oid) => problems.push(walk::tree_problem(
                    oid,
                    &paths.child(tree, oid),
                    commit_name(commit).as_ref(),
                    "object is missing".into(),
                )),
                table::Special::Gitlink(oid) => {
                    let path = paths.child(tree, oid);
                    submodules
                        .entry(path.clone())
                        .or_insert_with(|| Submodule::new(String::from_utf8_lossy(&path).into()))
                        .record(*oid, met as u64);
                }
            }
        }
        let submodules: Vec<Submodule> = submodules.into_values().collect();
        // In a damaged repository, blobs with findings that the walk did not reach get a path
        // from any tree that lists them.
        let mut damaged: HashMap<ObjectId, Vec<u8>> = HashMap::new();
        if !problems.is_empty() {
            let unreached: HashMap<u32, ObjectId> = targets
                .iter()
                .filter(|(_, oid)| !origins.contains_key(*oid))
                .map(|(&d, &oid)| (d, oid))
                .collect();
            if !unreached.is_empty() {
                let parent = table::holders(&collected.trees, dense.len());
                let paths = Paths {
                    repo,
                    dense: &dense,
                    parent: &parent,
                };
                for (d, oid) in unreached {
                    damaged.insert(oid, paths.of(d, &oid));
                }
            }
        }
        let stats = HistoryStats {
            commits: graph.len() as u64,
            trees_read: tw.trees,
            reachable_blobs: tw.blobs,
            read_time,
            walk_time: walk_started.elapsed(),
            ..counters.into_stats()
        };
        drop(tw);
        drop(collected.trees);

        let mut blobs: Vec<(ObjectId, Vec<Finding>)> = collected.findings.into_iter().collect();
        blobs.sort_by_key(|(id, _)| *id);
        let mut unreachable_dropped = 0;
        let mut found = Vec::new();
        for (blob, mut findings) in blobs {
            // Blobs were scanned before their paths were known: rules that skip some files
            // (`allow_paths`) drop their findings in blobs at such a path.
            let path = origins
                .get(&blob)
                .map(|(_, p)| p)
                .or_else(|| damaged.get(&blob))
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default();
            findings.retain(|f| self.scanner.rule_applies(f.rule_index, &path));
            if findings.is_empty() {
                origins.remove(&blob);
                continue;
            }
            match origins.remove(&blob) {
                Some((commit, path)) => found.push(Found::new(blob, findings, commit, Some(path))),
                // A damaged repository: the commit that reaches it may be the one that could
                // not be read. Reported, with a path from a tree that holds it.
                None if damaged.contains_key(&blob) => found.push(Found {
                    path: damaged.remove(&blob),
                    damaged: true,
                    ..Found::new(blob, findings, None, None)
                }),
                None if self.include_unreachable => {
                    found.push(Found::new(blob, findings, None, None))
                }
                None => unreachable_dropped += findings.len() as u64,
            }
        }
        let mut history = finish(repo, &graph, &tips, found, problems, submodules);
        drop(sources);
        history.stats = HistoryStats {
            unreachable_findings_dropped: unreachable_dropped,
            ..stats
        };
        history.shallow = graph.truncated || !shallow.is_empty();
        history
    }

    /// Scans `blobs` again, each with its path, for the rules scoped to some files. A blob that
    /// cannot be read keeps what pass 1 found (and is reported).
    fn rescan(
        &self,
        repo: &gix::Repository,
        blobs: &[(ObjectId, String)],
        problems: &mut Vec<Problem>,
    ) -> Vec<(ObjectId, Vec<Finding>)> {
        let mut scratch = self.scanner.scratch();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for (oid, path) in blobs {
            if self.cancelled() {
                break;
            }
            let data = match repo.objects.try_find(oid, &mut buf) {
                Ok(Some(d)) => d,
                Ok(None) => continue, // read in pass 1, gone since: keeps what pass 1 found
                Err(e) => {
                    problems.push(Problem::object(oid, format!("blob could not be read: {e}")));
                    continue;
                }
            };
            if data.data.len() as u64 > self.policy.max_blob_size
                || (!self.policy.scan_binary && keysweep::is_binary(data.data))
            {
                continue; // skipped and counted in pass 1
            }
            out.push((
                *oid,
                self.scanner.scan_file(&mut scratch, data.data, Some(path)),
            ));
        }
        out
    }

    fn run_range(&self, repo: &gix::Repository) -> Result<History, Error> {
        let mut problems = Vec::new();
        let resolve = |spec: &str| -> Result<ObjectId, Error> {
            repo.rev_parse_single(format!("{spec}^{{commit}}").as_str())
                .map(|id| id.detach())
                .map_err(|e| Error::Revision {
                    spec: spec.to_owned(),
                    message: e.to_string(),
                })
        };
        let tip = self.branch.as_deref().unwrap_or("HEAD");
        let tag_target = |id: &ObjectId| self.known.map_or(Peel::Unknown, |k| k.peel(id));
        let mut absent_tips = Vec::new();
        // The refs as listed for `after_tips`, kept for the end (listing peels tags).
        let mut listed = None;
        let (include, exclude) = if let Some(given) = &self.tips {
            let mut present = Vec::new();
            for id in given {
                match repo.find_commit(*id) {
                    Ok(_) => present.push(*id),
                    Err(_) => absent_tips.push(*id),
                }
            }
            if present.is_empty() {
                return Ok(History {
                    absent_tips,
                    ..History::default()
                });
            }
            let hidden = self
                .hide
                .iter()
                .filter(|id| repo.find_commit(**id).is_ok())
                .copied()
                .collect();
            (present, hidden)
        } else if let Some(after) = &self.after {
            let mut seen = Vec::new();
            let now = tips(repo, &tag_target, &mut seen);
            let known_commit = |id: &ObjectId| self.known.is_some_and(|k| k.contains(id));
            // A known commit needs no reading (mirrors carry thousands of refs).
            let before: Vec<ObjectId> = after
                .iter()
                .filter_map(|id| {
                    if known_commit(id) {
                        return Some(*id);
                    }
                    let object = repo.find_object(*id).ok()?;
                    Some(object.peel_to_kind(gix::object::Kind::Commit).ok()?.id)
                })
                .collect();
            problems.append(&mut seen);
            // A ref that still names a commit of `before` adds nothing: all it reaches is
            // hidden. Starting only from the tips that moved keeps the walk to the new commits
            // (mirrors of hosted repositories carry thousands of refs, most never moving).
            let old: HashSet<ObjectId> = before.iter().copied().collect();
            let mut moved: Vec<ObjectId> = now
                .iter()
                .map(|t| t.id)
                .filter(|id| {
                    !old.contains(id) && !known_commit(id) && repo.find_commit(*id).is_ok()
                })
                .collect();
            listed = Some(now);
            moved.sort_unstable();
            moved.dedup();
            (moved, before)
        } else {
            match self.since.as_deref() {
                Some(spec) => match spec.split_once("..") {
                    Some((a, b)) => {
                        let a = if a.is_empty() { "HEAD" } else { a };
                        let b = if b.is_empty() { "HEAD" } else { b };
                        (vec![resolve(b)?], vec![resolve(a)?])
                    }
                    None => (vec![resolve(tip)?], vec![resolve(spec)?]),
                },
                None => (vec![resolve(tip)?], Vec::new()),
            }
        };
        // Known commits describe the refs' history that `after_tips` names, nothing else.
        let known = self
            .known
            .filter(|_| self.tips.is_none() && self.after.is_some());
        let graph = Graph::range(repo, &include, &exclude, known, &mut problems).map_err(|e| {
            Error::Revision {
                spec: self.since.clone().unwrap_or_else(|| tip.to_owned()),
                message: e.to_string(),
            }
        })?;
        let walk_started = Instant::now();
        let mut walker = TreeWalker::new(repo);
        walker.boundary = true;
        for boundary in &graph.boundary {
            match repo
                .find_commit(*boundary)
                .and_then(|c| c.tree_id().map(|t| t.detach()))
            {
                Ok(tree) => walker.walk(tree, Some(boundary), &mut |_, _| {}),
                Err(e) => problems.push(Problem::object(
                    boundary,
                    format!("commit could not be read: {e}"),
                )),
            }
        }
        walker.boundary = false;
        let mut introduced: Vec<(ObjectId, u32, Vec<u8>)> = Vec::new();
        for c in 0..graph.len() {
            let commit = graph.ids[c];
            walker.walk(graph.trees[c], Some(&commit), &mut |blob, path| {
                introduced.push((*blob, c as u32, path.to_vec()));
            });
        }
        problems.append(&mut walker.problems);
        let submodules = std::mem::take(&mut walker.submodules)
            .into_values()
            .collect();

        let walk_time = walk_started.elapsed();
        let counters = Counters::default();
        let read_started = Instant::now();
        let scanned = self.scan_by_id(repo, &introduced, &counters);
        let read_time = read_started.elapsed();
        let mut found = Vec::new();
        for ((blob, commit, path), result) in introduced.into_iter().zip(scanned) {
            match result {
                Ok(findings) if !findings.is_empty() => {
                    found.push(Found::new(blob, findings, Some(commit), Some(path)))
                }
                Ok(_) => {}
                Err(p) => problems.push(p),
            }
        }
        let tips = match &self.tips {
            Some(given) => given
                .iter()
                .map(|id| Tip {
                    name: id.to_string(),
                    id: *id,
                })
                .collect(),
            None => match listed {
                Some(listed) => listed,
                None => tips(repo, &tag_target, &mut problems),
            },
        };
        let mut history = finish(repo, &graph, &tips, found, problems, submodules);
        history.absent_tips = absent_tips;
        history.stats = HistoryStats {
            commits: graph.len() as u64,
            trees_read: walker.trees_read,
            reachable_blobs: walker.blobs_seen() as u64,
            read_time,
            walk_time,
            ..counters.into_stats()
        };
        history.shallow = repo.is_shallow().unwrap_or(false);
        Ok(history)
    }

    /// Reads and scans blobs by id, in parallel (the incremental path).
    fn scan_by_id(
        &self,
        repo: &gix::Repository,
        blobs: &[(ObjectId, u32, Vec<u8>)],
        counters: &Counters,
    ) -> Vec<Result<Vec<Finding>, Problem>> {
        use gix::objs::Find;
        use rayon::prelude::*;
        let sync = repo.clone().into_sync();
        let policy = self.policy;
        let work = || {
            blobs
                .par_iter()
                .map_init(
                    || (sync.to_thread_local(), self.scanner.scratch(), Vec::new()),
                    |(repo, scratch, buf), (blob, _, path)| {
                        if self.cancelled() {
                            return Ok(Vec::new());
                        }
                        let path_str = String::from_utf8_lossy(path);
                        let scoped = self.scanner.path_has_scoped_rules(&path_str);
                        if let (Some(cache), false) = (self.cache, scoped) {
                            if let Some(mut found) = cache.get(blob) {
                                counters.cached.fetch_add(1, Ordering::Relaxed);
                                found
                                    .retain(|f| self.scanner.rule_applies(f.rule_index, &path_str));
                                return Ok(found);
                            }
                        }
                        let data = match repo.objects.try_find(blob, buf) {
                            Ok(Some(d)) => d,
                            Ok(None) => {
                                return Err(Problem::object(
                                    blob,
                                    format!(
                                        "blob is missing (at `{}`)",
                                        String::from_utf8_lossy(path)
                                    ),
                                ))
                            }
                            Err(e) => {
                                return Err(Problem::object(
                                    blob,
                                    format!("blob could not be read: {e}"),
                                ))
                            }
                        };
                        counters.objects.fetch_add(1, Ordering::Relaxed);
                        if data.data.len() as u64 > policy.max_blob_size {
                            counters.skipped_large.fetch_add(1, Ordering::Relaxed);
                            return Ok(Vec::new());
                        }
                        if let Some(open) = self.archives {
                            if let Some(found) = open(*blob, data.data) {
                                counters.blobs.fetch_add(1, Ordering::Relaxed);
                                return Ok(found);
                            }
                        }
                        if !policy.scan_binary && keysweep::is_binary(data.data) {
                            counters.skipped_binary.fetch_add(1, Ordering::Relaxed);
                            return Ok(Vec::new());
                        }
                        counters.blobs.fetch_add(1, Ordering::Relaxed);
                        counters
                            .blob_bytes
                            .fetch_add(data.data.len() as u64, Ordering::Relaxed);
                        let found = match self.cache {
                            // What the cache holds is what a scan without a path finds.
                            Some(cache) if !scoped => {
                                let mut found = self.scanner.scan_file(scratch, data.data, None);
                                cache.put(blob, &found);
                                found
                                    .retain(|f| self.scanner.rule_applies(f.rule_index, &path_str));
                                found
                            }
                            _ => self.scanner.scan_file(scratch, data.data, Some(&path_str)),
                        };
                        Ok(found)
                    },
                )
                .collect()
        };
        match rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
        {
            Ok(pool) => pool.install(work),
            Err(_) => work(),
        }
    }
}

/// What pass 1 knows of an object, for peeling refs without reading objects again.
enum Peel {
    Tag(ObjectId),
    NotATag,
    Unknown,
}

/// The refs of the repository (and `HEAD` when detached, and older stash entries), each peeled
/// to the object it finally names, ordered for listing: `HEAD`, branches, tags, remotes, stash,
/// then the rest.
fn tips(
    repo: &gix::Repository,
    tag_target: &dyn Fn(&ObjectId) -> Peel,
    problems: &mut Vec<Problem>,
) -> Vec<Tip> {
    let mut tips = Vec::new();
    let peel = |mut id: ObjectId| -> ObjectId {
        for _ in 0..64 {
            let next = match tag_target(&id) {
                Peel::Tag(t) => Some(t),
                Peel::NotATag => None,
                Peel::Unknown => match repo.try_find_object(id) {
                    Ok(Some(o)) if o.kind == gix::objs::Kind::Tag => o
                        .try_into_tag()
                        .ok()
                        .and_then(|t| t.target_id().ok())
                        .map(|t| t.detach()),
                    _ => None,
                },
            };
            match next {
                Some(t) => id = t,
                None => break,
            }
        }
        id
    };
    let mut peel_cache: HashMap<ObjectId, ObjectId> = HashMap::new();
    // Read once: following each ref on its own checks the packed-refs file for changes every
    // time (a `stat` per ref; mirrors carry thousands).
    let packed = repo.refs.cached_packed_buffer();
    let platform = repo.references();
    match platform
        .as_ref()
        .map_err(|e| e.to_string())
        .and_then(|p| p.all().map_err(|e| e.to_string()))
    {
        Ok(iter) => {
            for r in iter {
                let mut r = match r {
                    Ok(r) => r,
                    Err(e) => {
                        problems.push(Problem::file(
                            repo.common_dir(),
                            format!("a ref could not be read: {e}"),
                        ));
                        continue;
                    }
                };
                let name = r.name().as_bstr().to_string();
                let followed = match &packed {
                    Ok(p) => r.follow_to_object_packed(p.as_ref().map(|p| &***p)),
                    // Unreadable: each ref then says why it cannot be followed.
                    Err(_) => r.follow_to_object(),
                };
                match followed {
                    Ok(id) => {
                        let id = id.detach();
                        let peeled = match tag_target(&id) {
                            Peel::NotATag => id,
                            _ => *peel_cache.entry(id).or_insert_with(|| peel(id)),
                        };
                        tips.push(Tip { name, id: peeled });
                    }
                    Err(e) => problems.push(Problem::file(
                        repo.common_dir(),
                        format!("ref {name} could not be resolved: {e}"),
                    )),
                }
            }
        }
        Err(e) => problems.push(Problem::file(
            repo.common_dir(),
            format!("refs could not be listed: {e}"),
        )),
    }
    // Older stash entries live only in the stash's reflog.
    if let Ok(Some(stash)) = repo.try_find_reference("refs/stash") {
        let mut log = stash.log_iter();
        if let Ok(Some(lines)) = log.all() {
            let ids: Vec<ObjectId> = lines.filter_map(|l| l.ok().map(|l| l.new_oid())).collect();
            let n = ids.len();
            for (i, id) in ids.into_iter().enumerate() {
                // The log runs oldest to newest; stash@{0} is the ref itself.
                let k = n - 1 - i;
                if k > 0 {
                    tips.push(Tip {
                        name: format!("stash@{{{k}}}"),
                        id,
                    });
                }
            }
        }
    }
    let head_ref = repo
        .head_name()
        .ok()
        .flatten()
        .map(|n| n.as_bstr().to_string());
    if head_ref.is_none() {
        if let Ok(Some(id)) = repo.head_id().map(|id| Some(id.detach())) {
            tips.push(Tip {
                name: "HEAD".into(),
                id,
            });
        }
    }
    let class = |name: &str| -> u8 {
        if Some(name) == head_ref.as_deref() || name == "HEAD" {
            0
        } else if name.starts_with("refs/heads/") {
            1
        } else if name.starts_with("refs/tags/") {
            2
        } else if name.starts_with("refs/remotes/") {
            3
        } else if name.starts_with("refs/stash") || name.starts_with("stash@") {
            4
        } else {
            5
        }
    };
    tips.sort_by(|a, b| (class(&a.name), &a.name).cmp(&(class(&b.name), &b.name)));
    tips
}

fn shallow_commits(repo: &gix::Repository) -> gix::hashtable::HashSet<ObjectId> {
    match repo.shallow_commits() {
        Ok(Some(commits)) => commits.iter().copied().collect(),
        _ => Default::default(),
    }
}

/// A blob with findings and where history has it.
struct Found {
    blob: ObjectId,
    findings: Vec<Finding>,
    /// Position of the commit that introduced it.
    commit: Option<u32>,
    path: Option<Vec<u8>>,
    /// Reached by no readable commit in a damaged repository; `path` is its path in a tree.
    damaged: bool,
}

impl Found {
    fn new(
        blob: ObjectId,
        findings: Vec<Finding>,
        commit: Option<u32>,
        path: Option<Vec<u8>>,
    ) -> Found {
        Found {
            blob,
            findings,
            commit,
            path,
            damaged: false,
        }
    }
}

/// Builds the [`History`]: commit details of the commits findings name, refs reaching them,
/// and presence at `HEAD`.
fn finish(
    repo: &gix::Repository,
    graph: &Graph,
    tips: &[Tip],
    found: Vec<Found>,
    problems: Vec<Problem>,
    submodules: Vec<Submodule>,
) -> History {
    // Commits named by findings, in history order.
    let mut positions: Vec<u32> = found.iter().filter_map(|f| f.commit).collect();
    positions.sort_unstable();
    positions.dedup();
    let reaching = graph.tips_reaching(&positions, tips);
    // Which refs are named at all: keep the listing order of `tips`.
    let mut used: Vec<u32> = reaching.iter().flatten().copied().collect();
    used.sort_unstable();
    used.dedup();
    let ref_index: HashMap<u32, u32> = used
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, i as u32))
        .collect();
    let refs: Vec<String> = used
        .iter()
        .map(|&t| tips[t as usize].name.clone())
        .collect();
    let commits: Vec<CommitInfo> = positions
        .iter()
        .zip(&reaching)
        .map(|(&p, tips)| {
            let mut c = commit_info(repo, graph.ids[p as usize], p);
            c.refs = tips.iter().map(|t| ref_index[t]).collect();
            c
        })
        .collect();
    let commit_index: HashMap<u32, usize> =
        positions.iter().enumerate().map(|(i, &p)| (p, i)).collect();

    let head = repo.head_id().ok().map(|id| id.detach());
    let head_blobs = head
        .and_then(|h| repo.find_commit(h).ok()?.tree_id().ok().map(|t| t.detach()))
        .map(|tree| walk::blobs_of_tree(repo, tree))
        .unwrap_or_default();
    let at_head: HashSet<Fingerprint> = found
        .iter()
        .filter(|f| head_blobs.contains(&f.blob))
        .flat_map(|f| f.findings.iter().map(|x| x.fingerprint))
        .collect();

    let mut findings = Vec::new();
    for f in found {
        let ci = f.commit.map(|p| commit_index[&p]);
        let path = f.path.map(|p| String::from_utf8_lossy(&p).into_owned());
        for finding in f.findings {
            findings.push(BlobFinding {
                present_at_head: at_head.contains(&finding.fingerprint),
                finding,
                blob: f.blob,
                path: path.clone(),
                commit: ci,
                damaged: f.damaged,
            });
        }
    }
    // History order, then path and position: stable across runs.
    findings.sort_by(|a, b| {
        (
            a.commit.is_none(),
            a.commit,
            &a.path,
            a.finding.range.start,
            &a.finding.rule_id,
        )
            .cmp(&(
                b.commit.is_none(),
                b.commit,
                &b.path,
                b.finding.range.start,
                &b.finding.rule_id,
            ))
    });
    let mut submodules: Vec<Submodule> = submodules;
    // Only in the boundary, or recording nothing the boundary did not: unchanged by the range.
    submodules.retain(|s| s.commits.iter().any(|c| !s.base.contains(c)));
    submodules.sort_by(|a, b| a.path.cmp(&b.path));
    for s in &mut submodules {
        let mut seen = HashSet::new();
        let (commits, met): (Vec<ObjectId>, Vec<u64>) = s
            .commits
            .iter()
            .zip(&s.met)
            .filter(|(c, _)| seen.insert(**c))
            .map(|(c, m)| (*c, *m))
            .unzip();
        (s.commits, s.met) = (commits, met);
        let mut seen = HashSet::new();
        s.base.retain(|c| seen.insert(*c));
    }
    History {
        findings,
        commits,
        refs,
        problems,
        stats: HistoryStats::default(),
        shallow: false,
        submodules,
        absent_tips: Vec::new(),
        head,
        repository: PathBuf::new(),
    }
}

fn commit_info(repo: &gix::Repository, id: ObjectId, rank: u32) -> CommitInfo {
    let mut info = CommitInfo {
        id,
        rank,
        author_name: String::new(),
        author_email: String::new(),
        time: 0,
        offset: 0,
        summary: String::new(),
        refs: Vec::new(),
    };
    if let Ok(commit) = repo.find_commit(id) {
        if let Ok(author) = commit.author() {
            info.author_name = author.name.to_string();
            info.author_email = author.email.to_string();
            if let Ok(t) = author.time() {
                info.time = t.seconds;
                info.offset = t.offset;
            }
        }
        if let Ok(message) = commit.message() {
            info.summary = message.summary().to_string();
        }
    }
    info
}

/// The result of a history scan.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct History {
    /// Every finding, one per blob it is in, in history order.
    pub findings: Vec<BlobFinding>,
    /// The commits that findings name ([`BlobFinding::commit`] indexes this).
    pub commits: Vec<CommitInfo>,
    /// The refs that reach the commits of findings ([`CommitInfo::refs`] indexes this), in
    /// listing order:
    /// `HEAD`'s branch, branches, tags, remotes, stash, others.
    pub refs: Vec<String>,
    /// Objects or files that could not be read; the rest was scanned.
    pub problems: Vec<Problem>,
    /// Counts and time.
    pub stats: HistoryStats,
    /// The repository is a shallow clone: history before its boundary was not scanned.
    pub shallow: bool,
    /// Submodules met in the walk (by path, with the commits recorded there): not scanned.
    pub submodules: Vec<Submodule>,
    /// With [`HistoryScan::tips`]: the commits given that the repository does not have (not
    /// walked).
    pub absent_tips: Vec<ObjectId>,
    /// The commit `HEAD` points at, if any.
    pub head: Option<ObjectId>,
    /// The repository's working tree, or its git directory when bare.
    pub repository: PathBuf,
}

/// A finding in one blob of history.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BlobFinding {
    /// What the scanner found, with line and column within the blob.
    pub finding: Finding,
    /// The blob it is in.
    pub blob: ObjectId,
    /// The blob's path in the commit that introduced it (`None` when unreachable).
    pub path: Option<String>,
    /// The commit that introduced the blob (index into [`History::commits`]); `None` when the
    /// blob is unreachable or only reachable through a tag on a tree or blob.
    pub commit: Option<usize>,
    /// The same secret (by fingerprint) is in some blob of `HEAD`'s tree.
    pub present_at_head: bool,
    /// The repository is damaged and no readable commit reaches the blob (the one that does
    /// may be unreadable): it is reported anyway, `path` being its path in a tree that holds
    /// it, `commit` `None`.
    pub damaged: bool,
}

/// A commit that introduced a blob with findings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CommitInfo {
    /// The commit id.
    pub id: ObjectId,
    /// Its position in the walk's topological order (oldest first).
    pub rank: u32,
    /// Author name.
    pub author_name: String,
    /// Author email.
    pub author_email: String,
    /// Author time, seconds since the Unix epoch.
    pub time: i64,
    /// The author's UTC offset, in seconds.
    pub offset: i32,
    /// The first line of the message.
    pub summary: String,
    /// The refs whose history holds this commit (indices into [`History::refs`], in listing
    /// order).
    pub refs: Vec<u32>,
}

/// A submodule (gitlink) met in history. Its repository is not read by the scan that met it:
/// [`find_submodule`] locates it and [`HistoryScan::tips`] scans the commits recorded here.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Submodule {
    /// Its path in the tree.
    pub path: String,
    /// The commit it pointed at where first met.
    pub commit: ObjectId,
    /// Every distinct commit the history records at this path, in the order the walk met them
    /// (oldest commit of the parent first); `commit` is the first.
    pub commits: Vec<ObjectId>,
    /// For each of `commits`, when the walk met it, on one count over all the submodules of
    /// the history (oldest commit of the parent first): orders the commits of a submodule
    /// recorded at several paths (one that moved).
    pub met: Vec<u64>,
    /// For an incremental scan ([`HistoryScan::since`], [`HistoryScan::after_tips`]): the
    /// commits recorded at this path before the range (in the boundary commits' trees).
    /// What the range added to the submodule is the history of `commits` without that of
    /// `base` ([`HistoryScan::hide`]). A submodule the range does not change is not listed.
    pub base: Vec<ObjectId>,
}

impl Submodule {
    fn new(path: String) -> Submodule {
        Submodule {
            path,
            commit: ObjectId::null(gix::hash::Kind::Sha1),
            commits: Vec::new(),
            met: Vec::new(),
            base: Vec::new(),
        }
    }

    /// Adds a commit recorded at this path, the `met`th gitlink of the walk (duplicates are
    /// dropped by [`finish`]).
    fn record(&mut self, commit: ObjectId, met: u64) {
        if self.commits.is_empty() {
            self.commit = commit;
        }
        self.commits.push(commit);
        self.met.push(met);
    }
}

/// Counts of a history scan.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct HistoryStats {
    /// Objects read (pass 1: every object of the database; incremental: blobs read by id).
    pub objects: u64,
    /// Commits walked.
    pub commits: u64,
    /// Distinct trees read in the walk.
    pub trees_read: u64,
    /// Distinct blobs the walk met (reachable blobs).
    pub reachable_blobs: u64,
    /// Blobs scanned.
    pub blobs_scanned: u64,
    /// Bytes of the blobs scanned.
    pub blob_bytes: u64,
    /// Blobs whose findings came from the [`BlobCache`] instead of a scan.
    pub blobs_cached: u64,
    /// Blobs skipped as binary.
    pub skipped_binary: u64,
    /// Blobs skipped as too large.
    pub skipped_large: u64,
    /// Findings in unreachable blobs, not reported.
    pub unreachable_findings_dropped: u64,
    /// Wall time of reading every object (a full scan's first pass), or of reading the
    /// introduced blobs (an incremental scan).
    pub read_time: Duration,
    /// Wall time of the history walk.
    pub walk_time: Duration,
    /// Wall time in all.
    pub elapsed: Duration,
}

/// An object or file that could not be read.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The object, when one is concerned.
    pub object: Option<ObjectId>,
    /// The file (pack, loose object, directory), when known.
    pub file: Option<PathBuf>,
    /// What went wrong. Never holds blob contents.
    pub message: String,
}

impl Problem {
    fn object(id: &gix::oid, message: impl Into<String>) -> Problem {
        Problem {
            object: Some(id.to_owned()),
            file: None,
            message: message.into(),
        }
    }

    fn file(path: &Path, message: impl Into<String>) -> Problem {
        Problem {
            object: None,
            file: Some(path.to_owned()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.object, &self.file) {
            (Some(o), Some(p)) => write!(f, "object {o} in {}: {}", p.display(), self.message),
            (Some(o), None) => write!(f, "object {o}: {}", self.message),
            (None, Some(p)) => write!(f, "{}: {}", p.display(), self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Why a history scan could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No repository could be opened at the path.
    Open {
        /// The path given.
        path: PathBuf,
        /// gix's explanation.
        message: String,
    },
    /// A revision (`--since`, `--branch`) did not resolve to a commit.
    Revision {
        /// The revision as given.
        spec: String,
        /// gix's explanation.
        message: String,
    },
    /// The scan was cancelled ([`HistoryScan::cancel`], [`ChangeScan::cancel`]).
    Cancelled,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Open { path, message } => {
                write!(f, "{}: not a git repository ({message})", path.display())
            }
            Error::Revision { spec, message } => write!(f, "revision `{spec}`: {message}"),
            Error::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for Error {}
