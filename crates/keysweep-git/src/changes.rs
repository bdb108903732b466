//! Pending changes: what the next commit would add (staged), what is modified in the working
//! tree but not staged, and files git does not track. The pre-commit check.
//!
//! Each changed file is scanned whole (so multi-line secrets and line numbers are right), and a
//! finding is kept only when one of its lines was added: a line diff (histogram) of the old
//! content (HEAD's blob for staged changes, the index's blob for unstaged ones, nothing for
//! new files) against the new content. A renamed file is compared with its source, so moving
//! a file adds nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use gix::bstr::ByteSlice;
use gix::diff::blob::{Algorithm, Diff, InternedInput};
use gix::index::entry::Mode;
use gix::ObjectId;
use keysweep::{Finding, Scanner};
use rayon::prelude::*;

use crate::Error;

/// The directory git runs hooks from for the repository containing `path`: `core.hooksPath`
/// if set (relative to the working tree), else the `hooks` directory of the common git
/// directory (shared by linked worktrees, as git does).
pub fn hooks_dir(path: impl AsRef<Path>) -> Result<PathBuf, Error> {
    let path = path.as_ref();
    let repo = gix::discover(path).map_err(|e| Error::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let configured = repo
        .config_snapshot()
        .trusted_path("core.hooksPath")
        .ok()
        .flatten();
    Ok(match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => repo.workdir().unwrap_or_else(|| repo.git_dir()).join(p),
        None => repo.common_dir().join("hooks"),
    })
}

/// Which kind of pending change a finding was added by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// Staged: in the index, not in HEAD.
    Staged,
    /// In the working tree, not in the index.
    Unstaged,
    /// In a file git does not track (and does not ignore).
    Untracked,
}

impl Change {
    /// `staged`, `unstaged` or `untracked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Staged => "staged",
            Change::Unstaged => "unstaged",
            Change::Untracked => "untracked",
        }
    }
}

/// A finding on an added line.
#[derive(Clone, Debug)]
pub struct ChangeFinding {
    /// The finding; its lines and columns are those of the new content.
    pub finding: Finding,
    /// Path relative to the repository's working tree, `/`-separated.
    pub path: String,
    /// The change that added it.
    pub change: Change,
    /// The staged blob, for staged changes.
    pub blob: Option<ObjectId>,
}

/// Counters of a [`ChangeScan`].
#[derive(Clone, Debug, Default)]
pub struct ChangeStats {
    /// Changed files scanned.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Changed files skipped as binary.
    pub skipped_binary: u64,
    /// Changed files skipped as too large.
    pub skipped_large: u64,
    /// Changed files skipped by the path filter.
    pub excluded: u64,
}

/// The result of [`ChangeScan::run`].
#[derive(Debug)]
pub struct Changes {
    /// Findings on added lines, sorted by path, then position.
    pub findings: Vec<ChangeFinding>,
    /// Files or objects that could not be read; the rest was scanned.
    pub problems: Vec<String>,
    /// Counters.
    pub stats: ChangeStats,
    /// The working tree's root.
    pub workdir: PathBuf,
}

/// One changed file to scan.
struct Job {
    path: String,
    change: Change,
    old: Option<ObjectId>,
    new: Source,
}

impl Job {
    /// A staged file: its blob in the index, and the blob it is compared with (HEAD's, or a
    /// rename's source), if any.
    fn staged(path: &gix::bstr::BStr, old: Option<ObjectId>, new: ObjectId) -> Job {
        Job {
            path: path.to_str_lossy().into_owned(),
            change: Change::Staged,
            old,
            new: Source::Blob(new),
        }
    }
}

enum Source {
    Blob(ObjectId),
    File(PathBuf),
}

/// A scan of a repository's pending changes.
///
/// ```no_run
/// use keysweep::{RuleSet, Scanner};
/// use keysweep_git::ChangeScan;
///
/// let scanner = Scanner::new(RuleSet::builtin()).unwrap();
/// let changes = ChangeScan::new(&scanner).staged(true).run(".").unwrap();
/// for f in &changes.findings {
///     println!("{}:{} {}", f.path, f.finding.line, f.finding.rule_id);
/// }
/// ```
pub struct ChangeScan<'a> {
    scanner: &'a Scanner,
    staged: bool,
    unstaged: bool,
    untracked: bool,
    scan_binary: bool,
    max_size: u64,
    exclude: Option<&'a (dyn Fn(&str) -> bool + Sync)>,
    cancel: Option<&'a AtomicBool>,
}

impl<'a> ChangeScan<'a> {
    /// A scan of nothing yet: choose [`staged`](Self::staged), [`unstaged`](Self::unstaged),
    /// [`untracked`](Self::untracked), or several.
    pub fn new(scanner: &'a Scanner) -> ChangeScan<'a> {
        ChangeScan {
            scanner,
            staged: false,
            unstaged: false,
            untracked: false,
            scan_binary: false,
            max_size: u64::MAX,
            exclude: None,
            cancel: None,
        }
    }

    /// Scans staged changes (the index against HEAD; everything staged if there is no commit).
    pub fn staged(mut self, yes: bool) -> Self {
        self.staged = yes;
        self
    }

    /// Scans unstaged changes (the working tree against the index).
    pub fn unstaged(mut self, yes: bool) -> Self {
        self.unstaged = yes;
        self
    }

    /// Scans untracked files that are not ignored.
    pub fn untracked(mut self, yes: bool) -> Self {
        self.untracked = yes;
        self
    }

    /// Also scans files with a NUL byte in their first 8 KiB.
    pub fn scan_binary(mut self, yes: bool) -> Self {
        self.scan_binary = yes;
        self
    }

    /// Skips changed files larger than this.
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// Skips the files (repository-relative, `/`-separated paths) for which `exclude` is true.
    pub fn exclude(mut self, exclude: &'a (dyn Fn(&str) -> bool + Sync)) -> Self {
        self.exclude = Some(exclude);
        self
    }

    /// Stop as soon as possible once `flag` is set (from any thread): [`run`](Self::run) then
    /// returns [`Error::Cancelled`].
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Scans the repository whose working tree contains `path`.
    pub fn run(&self, path: impl AsRef<Path>) -> Result<Changes, Error> {
        let path = path.as_ref();
        let open = |message: String| Error::Open {
            path: path.to_path_buf(),
            message,
        };
        let repo = gix::discover(path).map_err(|e| open(e.to_string()))?;
        let workdir = repo
            .workdir()
            .ok_or_else(|| open("a bare repository has no staged or working-tree changes".into()))?
            .to_path_buf();
        let mut jobs = Vec::new();
        if self.staged {
            staged_jobs(&repo, &mut jobs).map_err(open)?;
        }
        if self.unstaged || self.untracked {
            self.worktree_jobs(&repo, &workdir, &mut jobs)
                .map_err(open)?;
        }
        let mut stats = ChangeStats::default();
        if let Some(exclude) = self.exclude {
            let before = jobs.len();
            jobs.retain(|j| !exclude(&j.path));
            stats.excluded = (before - jobs.len()) as u64;
        }

        let repo = repo.into_sync();
        let scan = |local: &mut (gix::Repository, keysweep::Scratch), job: &Job| {
            if self.cancelled() {
                return Ok(Outcome::Gone);
            }
            self.scan_job(&local.0, &mut local.1, job)
        };
        let init = || (repo.to_thread_local(), self.scanner.scratch());
        let outcomes: Vec<Result<Outcome, String>> = if jobs.len() > 1 {
            jobs.par_iter().map_init(init, scan).collect()
        } else {
            let mut local = init();
            jobs.iter().map(|j| scan(&mut local, j)).collect()
        };

        if self.cancelled() {
            return Err(Error::Cancelled);
        }
        let mut findings = Vec::new();
        let mut problems = Vec::new();
        for (job, outcome) in jobs.iter().zip(outcomes) {
            match outcome {
                Ok(Outcome::Scanned { bytes, found }) => {
                    stats.files += 1;
                    stats.bytes += bytes;
                    let blob = match job.new {
                        Source::Blob(id) => Some(id),
                        Source::File(_) => None,
                    };
                    findings.extend(found.into_iter().map(|finding| ChangeFinding {
                        finding,
                        path: job.path.clone(),
                        change: job.change,
                        blob,
                    }));
                }
                Ok(Outcome::Binary) => stats.skipped_binary += 1,
                Ok(Outcome::TooLarge) => stats.skipped_large += 1,
                Ok(Outcome::Gone) => {}
                Err(message) => {
                    problems.push(format!("{} ({}): {message}", job.path, job.change.as_str()))
                }
            }
        }
        findings.sort_by(|a, b| {
            (&a.path, a.change, a.finding.range.start).cmp(&(
                &b.path,
                b.change,
                b.finding.range.start,
            ))
        });
        Ok(Changes {
            findings,
            problems,
            stats,
            workdir,
        })
    }

    /// Unstaged modifications and untracked files, from one status pass.
    fn worktree_jobs(
        &self,
        repo: &gix::Repository,
        workdir: &Path,
        jobs: &mut Vec<Job>,
    ) -> Result<(), String> {
        use gix::status::index_worktree::Item;
        use gix::status::UntrackedFiles;
        use gix_status_types::{Change as WtChange, EntryStatus};

        let status = repo
            .status(gix::progress::Discard)
            .map_err(|e| format!("cannot compute the status: {e}"))?
            .untracked_files(if self.untracked {
                UntrackedFiles::Files
            } else {
                UntrackedFiles::None
            })
            .index_worktree_rewrites(None)
            .index_worktree_submodules(None);
        let iter = status
            .into_index_worktree_iter(Vec::new())
            .map_err(|e| format!("cannot compute the status: {e}"))?;
        for item in iter {
            let item = item.map_err(|e| format!("cannot compute the status: {e}"))?;
            match item {
                Item::Modification {
                    entry,
                    rela_path,
                    status,
                    ..
                } if self.unstaged && is_file(entry.mode) => {
                    let old = match status {
                        EntryStatus::Change(WtChange::Modification {
                            content_change: Some(()),
                            ..
                        }) => Some(entry.id),
                        // `git add --intent-to-add`: tracked, but nothing staged yet.
                        EntryStatus::IntentToAdd => None,
                        _ => continue,
                    };
                    let path = rela_path.to_str_lossy().into_owned();
                    jobs.push(Job {
                        new: Source::File(worktree_path(workdir, rela_path.as_bstr())),
                        path,
                        change: Change::Unstaged,
                        old,
                    });
                }
                Item::DirectoryContents { entry, .. }
                    if self.untracked
                        && entry.status == gix::dir::entry::Status::Untracked
                        && entry.disk_kind == Some(gix::dir::entry::Kind::File) =>
                {
                    jobs.push(Job {
                        new: Source::File(worktree_path(workdir, entry.rela_path.as_bstr())),
                        path: entry.rela_path.to_str_lossy().into_owned(),
                        change: Change::Untracked,
                        old: None,
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn scan_job(
        &self,
        repo: &gix::Repository,
        scratch: &mut keysweep::Scratch,
        job: &Job,
    ) -> Result<Outcome, String> {
        let new = match &job.new {
            Source::Blob(id) => {
                let header = repo
                    .find_header(*id)
                    .map_err(|e| format!("cannot read staged blob {id}: {e}"))?;
                if header.size() > self.max_size {
                    return Ok(Outcome::TooLarge);
                }
                read_blob(repo, *id)?
            }
            Source::File(path) => {
                let meta = match std::fs::symlink_metadata(path) {
                    Ok(m) => m,
                    // Deleted since the status was taken.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Outcome::Gone),
                    Err(e) => return Err(format!("cannot read: {}", io_reason(&e))),
                };
                if !meta.is_file() {
                    return Ok(Outcome::Gone);
                }
                if meta.len() > self.max_size {
                    return Ok(Outcome::TooLarge);
                }
                std::fs::read(path).map_err(|e| format!("cannot read: {}", io_reason(&e)))?
            }
        };
        if !self.scan_binary && keysweep::is_binary(&new) {
            return Ok(Outcome::Binary);
        }
        let mut found = self.scanner.scan_file(scratch, &new, Some(&job.path));
        if !found.is_empty() {
            if let Some(old) = job.old {
                let old = read_blob(repo, old)?;
                let added = added_lines(&old, &new);
                found.retain(|f| (f.line..=f.end_line).any(|l| added.get(l - 1) == Some(&true)));
            }
        }
        Ok(Outcome::Scanned {
            bytes: new.len() as u64,
            found,
        })
    }
}

enum Outcome {
    Scanned { bytes: u64, found: Vec<Finding> },
    Binary,
    TooLarge,
    Gone,
}

// `gix` re-exports the status crate's entry types under this path.
mod gix_status_types {
    pub use gix::status::plumbing::index_as_worktree::{Change, EntryStatus};
}

/// The lines of `data` without their line ends.
fn lines(data: &[u8]) -> Vec<&[u8]> {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    data.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// The file at repository-relative `rela` in the working tree.
fn worktree_path(workdir: &Path, rela: &gix::bstr::BStr) -> PathBuf {
    match gix::path::from_bstr(rela) {
        Ok(p) => workdir.join(p),
        Err(_) => workdir.join(rela.to_str_lossy().as_ref()),
    }
}

fn is_file(mode: Mode) -> bool {
    mode == Mode::FILE || mode == Mode::FILE_EXECUTABLE
}

fn read_blob(repo: &gix::Repository, id: ObjectId) -> Result<Vec<u8>, String> {
    let obj = repo
        .find_object(id)
        .map_err(|e| format!("cannot read blob {id}: {e}"))?;
    Ok(obj.detach().data)
}

fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Staged changes: the index against HEAD's tree (every staged file without a commit).
fn staged_jobs(repo: &gix::Repository, jobs: &mut Vec<Job>) -> Result<(), String> {
    let index = repo
        .index_or_empty()
        .map_err(|e| format!("cannot read the index: {e}"))?;
    let head = repo.head().map_err(|e| format!("cannot read HEAD: {e}"))?;
    if head.is_unborn() {
        for entry in index.entries() {
            if entry.stage_raw() == 0 && is_file(entry.mode) {
                jobs.push(Job::staged(entry.path(&index), None, entry.id));
            }
        }
        return Ok(());
    }
    let tree = repo
        .head_tree_id()
        .map_err(|e| format!("cannot read HEAD's tree: {e}"))?;
    match staged_by_cache_tree(repo, &index, tree.detach())? {
        Some((found, _)) => jobs.extend(found),
        None => staged_by_comparison(repo, &index, tree.detach(), jobs)?,
    }
    Ok(())
}

/// Staged changes: HEAD's whole tree compared with the index, renames paired with their
/// source as configured.
fn staged_by_comparison(
    repo: &gix::Repository,
    index: &gix::index::State,
    tree: ObjectId,
    jobs: &mut Vec<Job>,
) -> Result<(), String> {
    // The whole index: without a pathspec gix limits the comparison to the directory the
    // process runs in (`repo.prefix()`), and a scan of staged changes covers the repository.
    let mut pathspec = repo
        .pathspec(
            false,
            None::<&str>,
            true,
            index,
            gix::worktree::stack::state::attributes::Source::IdMapping,
        )
        .map_err(|e| format!("cannot compare the index with HEAD: {e}"))?;
    repo.tree_index_status(
        &tree,
        index,
        Some(&mut pathspec),
        gix::status::tree_index::TrackRenames::AsConfigured,
        |change, _, _| {
            use gix::diff::index::ChangeRef;
            let (location, mode, id, old) = match change {
                ChangeRef::Addition {
                    location,
                    entry_mode,
                    id,
                    ..
                } => (location, entry_mode, id, None),
                ChangeRef::Modification {
                    location,
                    entry_mode,
                    id,
                    previous_id,
                    ..
                } => (location, entry_mode, id, Some(previous_id.into_owned())),
                ChangeRef::Rewrite {
                    location,
                    entry_mode,
                    id,
                    source_id,
                    ..
                } => (location, entry_mode, id, Some(source_id.into_owned())),
                ChangeRef::Deletion { .. } => return Ok(std::ops::ControlFlow::Continue(())),
            };
            if is_file(mode) {
                jobs.push(Job::staged(&location, old, id.into_owned()));
            }
            Ok(std::ops::ControlFlow::Continue(()))
        },
    )
    .map_err(|e| format!("cannot compare the index with HEAD: {e}"))?;
    Ok(())
}

/// Staged changes found with the index's cache tree (its `TREE` extension), as git finds
/// them for `git commit` and `git diff --cached`: a directory whose cache-tree entry is valid,
/// counts as many entries as the index holds under it and names HEAD's tree for that
/// directory holds no staged change, and is not read. After `git add` only the directories on
/// the paths of added files are invalid, so a pre-commit check of a large repository reads a
/// few trees, not all of HEAD's (which comparing HEAD's whole tree with the index does).
///
/// With the jobs, how many of HEAD's trees were read. `None` where this cannot stand for the
/// full comparison ([`staged_jobs`]): no cache tree, a
/// sparse index, unmerged entries, or a change that deletes one path and adds another, which
/// may be a rename (the full comparison pairs it with its source, so that moving a file adds
/// no line).
fn staged_by_cache_tree(
    repo: &gix::Repository,
    index: &gix::index::State,
    head_tree: ObjectId,
) -> Result<Option<(Vec<Job>, usize)>, String> {
    let Some(cache) = index.tree() else {
        return Ok(None);
    };
    if index.is_sparse() || index.entries().iter().any(|e| e.stage_raw() != 0) {
        return Ok(None);
    }
    // Copies pair an added path with a source that may be unchanged: only the full comparison
    // finds those.
    let config = repo.config_snapshot();
    let copies = ["status.renames", "diff.renames"].iter().any(|key| {
        config
            .string(*key)
            .is_some_and(|v| v.to_ascii_lowercase().starts_with(b"cop"))
    });
    let mut walk = CacheTreeWalk {
        repo,
        index,
        jobs: Vec::new(),
        added: false,
        deleted: false,
        trees: 0,
    };
    walk.dir(b"", 0..index.entries().len(), Some(head_tree), Some(cache))?;
    Ok((!(walk.added && (walk.deleted || copies))).then_some((walk.jobs, walk.trees)))
}

/// The walk of [`staged_by_cache_tree`]: HEAD's trees beside the index's entries, directory
/// by directory, into the directories the cache tree does not vouch for.
struct CacheTreeWalk<'a> {
    repo: &'a gix::Repository,
    index: &'a gix::index::State,
    jobs: Vec<Job>,
    /// A path the index has and HEAD has not.
    added: bool,
    /// A path HEAD has and the index has not.
    deleted: bool,
    /// HEAD's trees read.
    trees: usize,
}

impl CacheTreeWalk<'_> {
    /// The directory `prefix` (empty, or ending in `/`): the index's entries under it are
    /// `range`; `head` is its tree in HEAD (if HEAD has it), `cache` its cache-tree entry.
    fn dir(
        &mut self,
        prefix: &[u8],
        range: std::ops::Range<usize>,
        head: Option<ObjectId>,
        cache: Option<&gix::index::extension::Tree>,
    ) -> Result<(), String> {
        if let (Some(head), Some(cache)) = (head, cache) {
            let count = cache.num_entries.map(|n| n as usize);
            if cache.id == head && count == Some(range.len()) {
                return Ok(());
            }
        }
        let mut head_entries = std::collections::HashMap::new();
        if let Some(id) = head {
            self.trees += 1;
            let tree = self
                .repo
                .find_object(id)
                .map_err(|e| format!("cannot read tree {id}: {e}"))?
                .try_into_tree()
                .map_err(|e| format!("cannot read tree {id}: {e}"))?;
            let decoded = tree
                .decode()
                .map_err(|e| format!("cannot decode tree {id}: {e}"))?;
            for e in decoded.entries {
                head_entries.insert(e.filename.to_vec(), (e.mode, e.oid.to_owned(), false));
            }
        }
        let entries = self.index.entries();
        let mut i = range.start;
        while i < range.end {
            let entry = &entries[i];
            let path = entry.path(self.index);
            let rel = &path[prefix.len()..];
            match rel.find_byte(b'/') {
                // `git add -N`: a path recorded with no content yet, which the full comparison
                // leaves out (nothing is staged there; HEAD's file, if any, is not deleted).
                None if entry
                    .flags
                    .contains(gix::index::entry::Flags::INTENT_TO_ADD) =>
                {
                    if let Some((_, _, seen)) = head_entries.get_mut(rel.as_bytes()) {
                        *seen = true;
                    }
                    i += 1;
                }
                None => {
                    i += 1;
                    let old = match head_entries.get_mut(rel.as_bytes()) {
                        Some((mode, id, seen)) if !mode.is_tree() => {
                            *seen = true;
                            // By kind: a tree may hold a mode such as 100664 from old history,
                            // which the index (and the full comparison) reads as 100644.
                            let same_mode = entry
                                .mode
                                .to_tree_entry_mode()
                                .is_some_and(|m| m.kind() == mode.kind());
                            if *id == entry.id && same_mode {
                                continue;
                            }
                            Some(*id)
                        }
                        _ => {
                            self.added = true;
                            None
                        }
                    };
                    if is_file(entry.mode) {
                        self.jobs.push(Job::staged(path, old, entry.id));
                    }
                }
                Some(slash) => {
                    let name = rel[..slash].to_vec();
                    let sub_prefix = [prefix, &name, b"/"].concat();
                    // The entries under it follow each other (the index is sorted by path).
                    let end = i + entries[i..range.end]
                        .partition_point(|e| e.path(self.index).starts_with(&sub_prefix));
                    let sub_head = match head_entries.get_mut(&name) {
                        Some((mode, id, seen)) if mode.is_tree() => {
                            *seen = true;
                            Some(*id)
                        }
                        _ => None,
                    };
                    let sub_cache =
                        cache.and_then(|c| c.children.iter().find(|t| t.name.as_slice() == name));
                    self.dir(&sub_prefix, i..end, sub_head, sub_cache)?;
                    i = end;
                }
            }
        }
        if head_entries.values().any(|(_, _, seen)| !seen) {
            self.deleted = true;
        }
        Ok(())
    }
}

/// Which lines of `new` (0-based) a line diff from `old` marks as added. Line ends (`\n`,
/// `\r\n`) are ignored, so a file whose line endings a checkout filter changed adds nothing.
pub fn added_lines(old: &[u8], new: &[u8]) -> Vec<bool> {
    let (old_lines, new_lines) = (lines(old), lines(new));
    let mut input: InternedInput<&[u8]> = InternedInput::default();
    input.update_before(old_lines.into_iter());
    input.update_after(new_lines.iter().copied());
    let diff = Diff::compute(Algorithm::Histogram, &input);
    (0..new_lines.len() as u32)
        .map(|i| diff.is_added(i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::added_lines;

    /// The cache-tree walk finds the staged changes the full comparison finds, or gives way to
    /// it (only where a path is added and another deleted): random edits, additions, deletions,
    /// moves and mode changes, staged in part or in whole, with commits and a soft reset between
    /// them (a cache tree valid for the index but not for HEAD), in a real repository.
    #[test]
    fn cache_tree_walk_finds_what_the_full_comparison_finds() {
        use std::process::Command;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .args([
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@t",
                    "-c",
                    "commit.gpgsign=false",
                ])
                .args(args)
                .current_dir(root)
                .output()
                .expect("the tests need the git binary");
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        git(&["init", "-q"]);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let dirs = ["", "a/", "a/b/", "a/b/c/", "d/", "d/e/", "f-g/", "a.b/"];
        let mut files: Vec<String> = Vec::new();
        let write = |path: &str, text: &str| {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        for i in 0..40 {
            let path = format!("{}f{i}.txt", dirs[i % dirs.len()]);
            write(&path, &format!("line {i}\n"));
            files.push(path);
        }
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "base"]);
        let (mut fast, mut rounds) = (0, 0);
        for round in 0..40 {
            for _ in 0..1 + rand(4) {
                match rand(6) {
                    0 | 1 if !files.is_empty() => {
                        let f = &files[rand(files.len())];
                        write(f, &format!("changed in {round}\n"));
                    }
                    2 => {
                        let path = format!("{}n{round}x{}.txt", dirs[rand(dirs.len())], rand(1000));
                        write(&path, "new\n");
                        files.push(path);
                    }
                    3 if files.len() > 5 => {
                        let f = files.swap_remove(rand(files.len()));
                        std::fs::remove_file(root.join(f)).unwrap();
                    }
                    4 if !files.is_empty() => {
                        use std::os::unix::fs::PermissionsExt;
                        let f = root.join(&files[rand(files.len())]);
                        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755))
                            .unwrap();
                    }
                    _ => {
                        let path = format!("new{round}/deep/x.txt");
                        write(&path, "deep\n");
                        files.push(path);
                    }
                }
            }
            if rand(3) == 0 && !files.is_empty() {
                // Part of the work staged.
                let f = files[rand(files.len())].clone();
                git(&["add", "-A", "--", &f]);
            } else {
                git(&["add", "-A"]);
            }
            if rand(5) == 0 {
                // A path recorded with `git add -N`: nothing staged there yet.
                let path = format!("{}ita{round}.txt", dirs[rand(dirs.len())]);
                write(&path, "intent\n");
                git(&["add", "-N", "--", &path]);
                files.push(path);
            }
            let repo = gix::open(root).unwrap();
            let index = repo.index_or_empty().unwrap();
            let tree = repo.head_tree_id().unwrap().detach();
            let key = |jobs: &[super::Job]| {
                let mut v: Vec<(String, Option<gix::ObjectId>, gix::ObjectId)> = jobs
                    .iter()
                    .map(|j| match j.new {
                        super::Source::Blob(id) => (j.path.clone(), j.old, id),
                        super::Source::File(_) => unreachable!("staged jobs are blobs"),
                    })
                    .collect();
                v.sort();
                v
            };
            let mut full = Vec::new();
            super::staged_by_comparison(&repo, &index, tree, &mut full).unwrap();
            if let Some((walked, _)) = super::staged_by_cache_tree(&repo, &index, tree).unwrap() {
                assert_eq!(key(&walked), key(&full), "round {round}");
                fast += 1;
            }
            rounds += 1;
            match rand(4) {
                0 => git(&["commit", "-q", "--allow-empty", "-m", &format!("r{round}")]),
                1 if round > 2 => {
                    git(&["commit", "-q", "--allow-empty", "-m", &format!("r{round}")]);
                    git(&["reset", "-q", "--soft", "HEAD~1"]);
                }
                _ => {}
            }
        }
        assert!(
            fast * 5 >= rounds,
            "the walk stood for the comparison in {fast} of {rounds} rounds"
        );
        // After a commit, one staged edit three directories down reads the trees on its path
        // and no other.
        git(&["add", "-A"]);
        git(&["commit", "-q", "--allow-empty", "-m", "last"]);
        write("a/b/c/f3.txt", "edited\n");
        git(&["add", "a/b/c/f3.txt"]);
        let repo = gix::open(root).unwrap();
        let index = repo.index_or_empty().unwrap();
        let tree = repo.head_tree_id().unwrap().detach();
        let (jobs, trees) = super::staged_by_cache_tree(&repo, &index, tree)
            .unwrap()
            .unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].path, "a/b/c/f3.txt");
        assert_eq!(trees, 4, "root, a, a/b and a/b/c");
    }

    #[test]
    fn added_lines_of_a_diff() {
        assert_eq!(added_lines(b"", b"a\nb\n"), [true, true]);
        assert_eq!(added_lines(b"a\nb\n", b"a\nx\nb\n"), [false, true, false]);
        assert_eq!(added_lines(b"a\nb\n", b"b\n"), [false]);
        // A duplicated line is added once.
        assert_eq!(added_lines(b"a\nb\n", b"a\nb\nb\n"), [false, false, true]);
        // Line endings alone add nothing.
        assert_eq!(added_lines(b"a\nb\n", b"a\r\nb\r\n"), [false, false]);
        assert_eq!(added_lines(b"a\nb", b"a\nb\n"), [false, false]);
    }
}
