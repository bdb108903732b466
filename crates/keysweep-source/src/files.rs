//! Files, directories and streams: the walk (ignore files, path filter, size limit), reading
//! (whole for ordinary files, in overlapping segments for large files and streams), archives,
//! and binary detection.
//!
//! Large files are read, not memory-mapped: a mapped file that another process truncates
//! mid-scan (a log rotated with `copytruncate`) kills the process with `SIGBUS`, while a read
//! simply ends early and the file is reported as changed. Reading the next segment overlaps
//! scanning the current one, so the copy costs little.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keysweep::{Finding, Scanner, Scratch};
use rayon::iter::{ParallelBridge, ParallelIterator};

use crate::archive;
use crate::filter::PathFilter;
use crate::job::{Cancel, Counters, Counts, Events, Problem, ProblemKind, Severity, Sink};
use crate::location::{display_path, ArchiveEntry, Hit, Location, Source};
use crate::repo::Attribution;

/// Files larger than this are skipped unless [`PathScan::max_file_size`] says otherwise.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 << 20;

/// Files at most this large are read whole; larger ones (and streams) in segments.
const WHOLE_FILE: u64 = 16 << 20;
/// Haystacks at least this large are cut into chunks scanned in parallel.
const PARALLEL_THRESHOLD: usize = 4 << 20;
/// Bytes read per segment of a large file or stream; two segments are in memory at once.
const SEGMENT: usize = 64 << 20;

/// Scans files, directories and streams.
///
/// Directories are walked in parallel, honouring `.gitignore`, `.ignore` and git's exclude
/// files (unless [`ignore_files(false)`](PathScan::ignore_files)) as git reads them: a
/// `.gitignore` only inside a git repository, and never for a file the index tracks; hidden
/// files are scanned,
/// of a `.git` directory only `config` is (remote URLs there carry tokens). A path named
/// explicitly is always read, even when ignored, hidden or not a regular file (a FIFO,
/// `/dev/stdin`, a process substitution); special files met inside a walk are skipped and
/// counted.
///
/// ```
/// use keysweep::{RuleSet, Scanner};
/// use keysweep_source::{Collect, PathScan};
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join(".env"), "STRIPE_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc\n")?;
///
/// let scanner = Scanner::new(RuleSet::builtin())?;
/// let sink = Collect::default();
/// let counts = PathScan::new(scanner).run(&[dir.path()], &sink)?;
/// let (hits, problems) = sink.into_parts();
/// assert_eq!(counts.files, 1);
/// assert_eq!(&*hits[0].finding.rule_id, "stripe.secret_key.live");
/// assert!(hits[0].location.path.as_deref().unwrap().ends_with(".env"));
/// assert!(problems.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PathScan {
    scanner: Scanner,
    max_file_size: u64,
    ignore_files: bool,
    follow_links: bool,
    scan_binary: bool,
    archives: Option<archive::Limits>,
    filter: Option<Arc<PathFilter>>,
    threads: Option<usize>,
    counters: Arc<Counters>,
    cancel: Cancel,
    attribution: Arc<Attribution>,
    /// Bytes read per segment of a stream ([`SEGMENT`]; smaller in tests).
    segment: usize,
}

/// Why a scan could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A path named to scan does not exist or cannot be looked at.
    Path {
        /// The path as given.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A git repository could not be opened, or a revision not resolved.
    Git(keysweep_git::Error),
    /// A path named as a container image is not one (no `manifest.json` nor OCI
    /// `index.json`), or its index cannot be read.
    Image {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// An image read through [`RemoteImage`](crate::RemoteImage) (in a registry) lists no
    /// image, or its index cannot be read.
    RemoteImage {
        /// The image's name (its reference).
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// The worker threads could not be started.
    Threads(String),
    /// The job was cancelled.
    Cancelled,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Path { path, source } => {
                write!(f, "cannot read {}: {}", path.display(), io_reason(source))
            }
            Error::Git(e) => e.fmt(f),
            Error::Image { path, message } => write!(f, "{}: {message}", path.display()),
            Error::RemoteImage { name, message } => write!(f, "{name}: {message}"),
            Error::Threads(e) => write!(f, "cannot start worker threads: {e}"),
            Error::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Path { source, .. } => Some(source),
            Error::Git(e) => Some(e),
            _ => None,
        }
    }
}

impl From<keysweep_git::Error> for Error {
    fn from(e: keysweep_git::Error) -> Error {
        match e {
            keysweep_git::Error::Cancelled => Error::Cancelled,
            e => Error::Git(e),
        }
    }
}

/// The reason of an I/O error without the `(os error N)` noise.
pub fn io_reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl PathScan {
    /// A scan with `scanner`: ignore files honoured, symbolic links not followed, binary files
    /// skipped, files over 256 MiB skipped, archives opened with the default
    /// [limits](archive::Limits), on rayon's global thread pool.
    pub fn new(scanner: Scanner) -> PathScan {
        PathScan {
            scanner,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            ignore_files: true,
            follow_links: false,
            scan_binary: false,
            archives: Some(archive::Limits::default()),
            filter: None,
            threads: None,
            counters: Arc::default(),
            cancel: Cancel::new(),
            attribution: Arc::default(),
            segment: SEGMENT,
        }
    }

    /// Skips files larger than this many bytes (streams are never skipped: they are scanned
    /// in bounded memory).
    pub fn max_file_size(mut self, bytes: u64) -> PathScan {
        self.max_file_size = bytes;
        self
    }

    /// Labels the files of submodules' working trees with their submodule
    /// ([`Location::submodule`]: its path in the outermost superproject, its checked-out
    /// commit). A directory walk reads every file on disk, submodules' included, with or
    /// without this; without it, their findings name the submodule's repository
    /// ([`Location::repository`]) but not the superproject's view of it. A repository counts
    /// as a submodule when the `.gitmodules` of the repository around it lists its path.
    pub fn recurse_submodules(mut self, yes: bool) -> PathScan {
        self.attribution = Arc::new(Attribution::new(yes));
        self
    }

    /// Honours `.gitignore` (inside a git repository), `.ignore` and git exclude files while
    /// walking (default yes).
    pub fn ignore_files(mut self, yes: bool) -> PathScan {
        self.ignore_files = yes;
        self
    }

    /// Follows symbolic links while walking (loops are detected and reported as warnings).
    pub fn follow_links(mut self, yes: bool) -> PathScan {
        self.follow_links = yes;
        self
    }

    /// Scans binary files too ([`keysweep::is_binary`]).
    pub fn scan_binary(mut self, yes: bool) -> PathScan {
        self.scan_binary = yes;
        self
    }

    /// Opens archives within these limits, or (with `None`) scans them as plain files.
    pub fn archives(mut self, limits: Option<archive::Limits>) -> PathScan {
        self.archives = limits;
        self
    }

    /// Leaves out paths the filter excludes (a named root is never left out).
    pub fn filter(mut self, filter: PathFilter) -> PathScan {
        self.filter = Some(Arc::new(filter));
        self
    }

    /// Runs on a pool of `n` threads of its own instead of rayon's global pool.
    pub fn threads(mut self, n: usize) -> PathScan {
        self.threads = Some(n.max(1));
        self
    }

    /// Stops the scan when `cancel` is cancelled.
    pub fn cancel(mut self, cancel: Cancel) -> PathScan {
        self.cancel = cancel;
        self
    }

    /// Counters updated while the scan runs (for a progress display on another thread).
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// The scanner.
    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    /// Scans `paths` (files and directories), sending hits and problems to `sink`, and
    /// returns the counts. Fails before scanning anything if a path does not exist.
    pub fn run<P: AsRef<Path>>(&self, paths: &[P], sink: &dyn Sink) -> Result<Counts, Error> {
        for p in paths {
            let p = p.as_ref();
            std::fs::symlink_metadata(p).map_err(|source| Error::Path {
                path: p.to_path_buf(),
                source,
            })?;
        }
        let roots: Vec<PathBuf> = paths.iter().map(|p| p.as_ref().to_path_buf()).collect();
        self.on_pool(|| self.walk_and_scan(&roots, sink))?;
        self.finish()
    }

    /// Scans what `reader` yields (standard input, a socket) as a stream, in bounded memory,
    /// its hits located at `location` (e.g. [`Location::stdin`]).
    pub fn run_reader(
        &self,
        reader: &mut (dyn Read + Send),
        location: Location,
        sink: &dyn Sink,
    ) -> Result<Counts, Error> {
        let name = location.display();
        let result = self.on_pool(|| {
            let mut head = Vec::new();
            read_up_to(reader, &mut head, keysweep::BINARY_PROBE)?;
            self.stream(reader, head, &location, sink)
        })?;
        match result {
            Ok(Some(_)) => self.counters.files(1),
            Ok(None) => {}
            Err(e) => self.report(
                sink,
                Problem::error(ProblemKind::Unreadable, name, io_reason(&e)),
            ),
        }
        self.finish()
    }

    /// Runs [`run`](Self::run) on its own thread and returns its events as an iterator;
    /// dropping the iterator cancels the scan.
    ///
    /// ```
    /// use keysweep::{RuleSet, Scanner};
    /// use keysweep_source::{Event, PathScan};
    ///
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("a.env"), "GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\n")?;
    /// let scan = PathScan::new(Scanner::new(RuleSet::builtin())?);
    /// let mut events = scan.spawn(vec![dir.path().to_path_buf()]);
    /// let hits = events.by_ref().filter(|e| matches!(e, Event::Hit(_))).count();
    /// assert_eq!(hits, 1);
    /// assert_eq!(events.finish()?.files, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn(&self, paths: Vec<PathBuf>) -> Events<Result<Counts, Error>> {
        let scan = self.clone();
        Events::spawn(self.cancel.clone(), move |sink| scan.run(&paths, sink))
    }

    fn finish(&self) -> Result<Counts, Error> {
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        Ok(self.counters.snapshot())
    }

    fn on_pool<T: Send>(&self, work: impl FnOnce() -> T + Send) -> Result<T, Error> {
        match self.threads {
            None => Ok(work()),
            Some(n) => {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| Error::Threads(e.to_string()))?;
                Ok(pool.install(work))
            }
        }
    }

    fn report(&self, sink: &dyn Sink, p: Problem) {
        if p.severity == Severity::Error {
            self.counters.errors(1);
        }
        sink.problem(p);
    }

    fn emit(&self, sink: &dyn Sink, findings: Vec<Finding>, location: &Location) {
        self.counters.hits(findings.len() as u64);
        for finding in findings {
            sink.hit(Hit {
                finding,
                location: location.clone(),
            });
        }
    }

    /// Walks the roots in order. Named roots are always scanned; inside directories, ignore
    /// files and the path filter apply and of `.git` only `config` is scanned.
    fn walk_and_scan(&self, roots: &[PathBuf], sink: &dyn Sink) {
        if roots.is_empty() {
            return;
        }
        let mut builder = ignore::WalkBuilder::new(&roots[0]);
        for root in &roots[1..] {
            builder.add(root);
        }
        let honour = self.ignore_files;
        if honour {
            // Git versions a tracked file even when an ignore rule matches it (committed before
            // the rule, or added with `add -f`): named as a root, it is read like any other.
            // The path filter applies to them as to any file met in the walk (a named root
            // passes it unchecked).
            for root in roots.iter().filter(|r| r.is_dir()) {
                for rel in keysweep_git::tracked_but_ignored(root) {
                    let path = root.join(rel);
                    if self.filter.as_ref().is_some_and(|f| f.excludes(&path)) {
                        self.counters.excluded(1);
                    } else {
                        builder.add(path);
                    }
                }
            }
        }
        builder
            .hidden(false)
            .ignore(honour)
            .git_ignore(honour)
            .git_exclude(honour)
            .git_global(honour)
            .parents(honour)
            // As git reads them: a `.gitignore` outside a repository ignores nothing (a copied
            // tree, a backup, an unpacked archive keeps files that its `.gitignore` names).
            .require_git(true)
            .follow_links(self.follow_links);
        let filter = self.filter.clone();
        let counters = Arc::clone(&self.counters);
        builder.filter_entry(move |e| {
            // Of a repository's `.git` directory only its `config` and the messages being
            // written are read: remote URLs carry tokens (`https://user:ghp_...@github.com/...`),
            // and a message pasted into an editor and then aborted (`COMMIT_EDITMSG`,
            // `MERGE_MSG`, `SQUASH_MSG`, `TAG_EDITMSG`) is in no commit. The objects are history,
            // which `--git` scans.
            if e.file_name() == ".git" {
                return e.file_type().is_some_and(|t| t.is_dir());
            }
            if e.depth() > 0 && e.path().parent().and_then(Path::file_name) == Some(".git".as_ref())
            {
                let name = e.file_name();
                return (name == "config" || GIT_MESSAGES.iter().any(|m| name == *m))
                    && e.file_type().is_some_and(|t| t.is_file());
            }
            let excluded = e.depth() > 0 && filter.as_ref().is_some_and(|f| f.excludes(e.path()));
            if excluded {
                counters.excluded(1);
            }
            !excluded
        });
        let cancel = self.cancel.clone();
        builder
            .build()
            .take_while(|_| !cancel.is_cancelled())
            .par_bridge()
            .for_each_init(
                || (self.scanner.scratch(), Vec::new()),
                |(scratch, buf), entry| match entry {
                    Ok(e) => {
                        let named = e.depth() == 0;
                        match e.file_type() {
                            Some(t) if t.is_dir() => {}
                            // Links not followed are not scanned (their targets are, if inside).
                            Some(t) if t.is_symlink() && !named => {}
                            _ => self.scan_path(scratch, buf, e.path(), named, sink),
                        }
                    }
                    Err(err) => self.report(sink, walk_problem(&err)),
                },
            );
    }

    /// Scans one file of the walk, or a path named explicitly (`named`).
    fn scan_path(
        &self,
        scratch: &mut Scratch,
        buf: &mut Vec<u8>,
        path: &Path,
        named: bool,
        sink: &dyn Sink,
    ) {
        let location = Location::file(path);
        let unreadable = |e: io::Error| {
            Problem::error(ProblemKind::Unreadable, location.display(), io_reason(&e))
        };
        // Look before opening: opening a FIFO or a device inside a tree could block forever.
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return self.report(sink, unreadable(e)),
        };
        if !meta.is_file() {
            if named && !meta.is_dir() {
                // A FIFO, a character device, a process substitution: read what it yields.
                let result = File::open(path).and_then(|mut f| {
                    let mut head = Vec::new();
                    read_up_to(&mut f, &mut head, keysweep::BINARY_PROBE)?;
                    self.stream(&mut f, head, &self.locate(location.clone(), path), sink)
                });
                match result {
                    Ok(Some(_)) => self.counters.files(1),
                    Ok(None) => {}
                    Err(e) => self.report(sink, unreadable(e)),
                }
            } else if !meta.is_dir() {
                self.counters.skipped_special(1);
            }
            return;
        }
        let len = meta.len();
        if len > self.max_file_size {
            self.counters.skipped_large(1);
            return;
        }
        let result = File::open(path).and_then(|mut file| {
            buf.clear();
            if len <= WHOLE_FILE {
                // One byte more than its size: a file that grew shows it.
                read_up_to(&mut file, buf, len as usize + 1)?;
                if buf.len() as u64 != len {
                    self.changed(sink, &location, len, buf.len() as u64);
                }
                return Ok(self.scan_whole(scratch, buf, path, &location, sink));
            }
            read_up_to(&mut file, buf, keysweep::BINARY_PROBE)?;
            if self.archives.is_some() && archive::kind(buf).is_some() {
                read_up_to(&mut file, buf, len as usize + 1)?;
                return Ok(self.scan_whole(scratch, buf, path, &location, sink));
            }
            let head = std::mem::take(buf);
            let scanned =
                self.stream(&mut file, head, &self.locate(location.clone(), path), sink)?;
            if let Some(read) = scanned {
                if read != len {
                    self.changed(sink, &location, len, read);
                }
            }
            Ok(scanned.is_some())
        });
        match result {
            Ok(true) => self.counters.files(1),
            Ok(false) => {}
            Err(e) => self.report(sink, unreadable(e)),
        }
    }

    fn changed(&self, sink: &dyn Sink, location: &Location, expected: u64, read: u64) {
        let how = if read < expected { "shrank" } else { "grew" };
        self.report(
            sink,
            Problem::error(
                ProblemKind::Changed,
                location.display(),
                format!("changed while it was scanned ({how}: {expected} bytes when listed, {read} read); what was read is scanned"),
            ),
        );
    }

    /// The location of a file with findings: its repository attributed.
    fn locate(&self, mut location: Location, path: &Path) -> Location {
        (location.repository, location.submodule) = self.attribution.of(path);
        location
    }

    /// A file read whole: an archive is opened, a binary file skipped, anything else
    /// scanned. Returns whether it counts as a scanned file.
    fn scan_whole(
        &self,
        scratch: &mut Scratch,
        data: &[u8],
        path: &Path,
        location: &Location,
        sink: &dyn Sink,
    ) -> bool {
        if let Some(limits) = self.archives {
            if archive::kind(data).is_some() {
                self.scan_archive(scratch, data, path, location, limits, sink);
                return false;
            }
        }
        if !self.scan_binary && keysweep::is_binary(data) {
            self.counters.skipped_binary(1);
            return false;
        }
        self.counters.bytes(data.len() as u64);
        let findings = scan_bytes(&self.scanner, scratch, data, location.path.as_deref());
        if !findings.is_empty() {
            self.emit(sink, findings, &self.locate(location.clone(), path));
        }
        true
    }

    /// Scans every entry of an archive, nested archives included, within the limits.
    fn scan_archive(
        &self,
        scratch: &mut Scratch,
        data: &[u8],
        path: &Path,
        location: &Location,
        limits: archive::Limits,
        sink: &dyn Sink,
    ) {
        struct Entries<'a> {
            scan: &'a PathScan,
            scratch: &'a mut Scratch,
            sink: &'a dyn Sink,
            /// The archive's own location (repository attributed), for its entries.
            base: Location,
            file: String,
        }
        impl archive::Visitor for Entries<'_> {
            fn entry(&mut self, path: &str, entries: &[String], data: &[u8]) {
                let scan = self.scan;
                if !scan.scan_binary && keysweep::is_binary(data) {
                    scan.counters.skipped_binary(1);
                    return;
                }
                scan.counters.files(1);
                scan.counters.bytes(data.len() as u64);
                let findings = scan_bytes(&scan.scanner, self.scratch, data, Some(path));
                if findings.is_empty() {
                    return;
                }
                let mut location = self.base.clone();
                location.path = Some(path.to_string());
                location.path_base64 = None;
                location.context = crate::Context::of_path(path);
                location.archive = Some(ArchiveEntry {
                    file: self.file.clone(),
                    entries: entries.to_vec(),
                });
                scan.emit(self.sink, findings, &location);
            }
            // The archive on disk is the problem's path; the message names the entry.
            fn problem(&mut self, message: String) {
                let p = Problem::error(ProblemKind::Archive, self.file.clone(), message);
                self.scan.report(self.sink, p);
            }
            fn warning(&mut self, message: String) {
                let p = Problem::warning(ProblemKind::PathTrick, self.file.clone(), message);
                self.scan.report(self.sink, p);
            }
        }
        let file = location.display();
        let mut limits = limits;
        limits.entry = limits.entry.min(self.max_file_size);
        let mut visitor = Entries {
            scan: self,
            scratch,
            sink,
            base: self.locate(location.clone(), path),
            file: file.clone(),
        };
        archive::walk(&file, data, limits, &mut visitor);
        self.counters.archives(1);
    }

    /// Scans a stream in overlapping segments, reading the next segment while scanning the
    /// current one. `head` holds its first bytes, already read. Returns the bytes read, or
    /// `None` when the stream was skipped as binary.
    fn stream(
        &self,
        reader: &mut (dyn Read + Send),
        head: Vec<u8>,
        location: &Location,
        sink: &dyn Sink,
    ) -> io::Result<Option<u64>> {
        if !self.scan_binary && keysweep::is_binary(&head) {
            self.counters.skipped_binary(1);
            return Ok(None);
        }
        let overlap = keysweep::CHUNK_OVERLAP;
        let segment = self.segment;
        let mut buf = head;
        read_up_to(reader, &mut buf, segment)?;
        let mut eof = buf.len() < segment;
        // Two buffers take turns: one is scanned while the next segment is read into the
        // other. Reusing them keeps their pages mapped (fresh ones would be faulted in and
        // zeroed by the kernel every segment).
        let mut spare: Vec<u8> = Vec::new();
        // `buf[..owned]` was scanned before (it is context); `base` is the stream offset of
        // `buf[0]`; `line` the line number at `buf[owned]`.
        let (mut owned, mut base, mut line, mut total) = (0usize, 0u64, 1usize, 0u64);
        loop {
            if self.cancel.is_cancelled() {
                return Ok(Some(total));
            }
            let end = if eof { buf.len() } else { buf.len() - overlap };
            // What the next round needs: the last `overlap` scanned bytes as context, and the
            // bytes not scanned yet.
            let keep_from = end.saturating_sub(overlap);
            let (part, next_eof) = rayon::join(
                || {
                    let path = location.path.as_deref();
                    self.scanner
                        .scan_parallel_range(&buf, owned..end, line, path)
                },
                || -> io::Result<bool> {
                    if eof {
                        return Ok(true);
                    }
                    spare.clear();
                    spare.extend_from_slice(&buf[keep_from..]);
                    let want = spare.len() + segment;
                    read_up_to(reader, &mut spare, want)?;
                    Ok(spare.len() < want)
                },
            );
            self.counters.bytes((end - owned) as u64);
            total += (end - owned) as u64;
            line += part.newlines;
            let mut findings = part.findings;
            if !findings.is_empty() {
                for f in &mut findings {
                    let shift = base as usize;
                    f.range = f.range.start + shift..f.range.end + shift;
                    for p in &mut f.parts {
                        p.range = p.range.start + shift..p.range.end + shift;
                    }
                }
                self.emit(sink, findings, location);
            }
            if eof {
                return Ok(Some(total));
            }
            eof = next_eof?;
            base += keep_from as u64;
            owned = end - keep_from;
            std::mem::swap(&mut buf, &mut spare);
        }
    }
}

/// The messages git keeps in a `.git` directory while they are being written: a directory
/// walk reads them, and the directory's `config` (an aborted message is in no commit). Read
/// whole: with `commit --verbose` the staged diff follows the message, and stays on disk
/// whether or not that content is ever committed.
const GIT_MESSAGES: [&str; 4] = ["COMMIT_EDITMSG", "MERGE_MSG", "SQUASH_MSG", "TAG_EDITMSG"];

/// Reads until `buf` holds `limit` bytes or the reader ends; returns the bytes read.
fn read_up_to(reader: &mut dyn Read, buf: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
    let before = buf.len();
    if limit > before {
        buf.reserve_exact(limit - before);
        reader.take((limit - before) as u64).read_to_end(buf)?;
    }
    Ok(buf.len() - before)
}

/// Scans bytes on this thread, or on the pool when they are large.
/// `path`: the file's path, for rules scoped to some files.
pub(crate) fn scan_bytes(
    scanner: &Scanner,
    scratch: &mut Scratch,
    data: &[u8],
    path: Option<&str>,
) -> Vec<Finding> {
    if data.len() >= PARALLEL_THRESHOLD {
        scanner.scan_parallel_file(data, path)
    } else {
        scanner.scan_file(scratch, data, path)
    }
}

fn walk_problem(err: &ignore::Error) -> Problem {
    match err {
        ignore::Error::WithPath { path, err } => {
            let mut p = walk_problem(err);
            if p.path.is_none() {
                p.path = Some(display_path(path).0);
            }
            p
        }
        ignore::Error::Loop { child, .. } => Problem::warning(
            ProblemKind::SymlinkLoop,
            display_path(child).0,
            "symbolic link loop (not followed)",
        ),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_problem(err)
        }
        ignore::Error::Io(e) => Problem {
            severity: Severity::Error,
            kind: ProblemKind::Unreadable,
            path: None,
            message: io_reason(e),
        },
        other => Problem {
            severity: Severity::Error,
            kind: ProblemKind::Unreadable,
            path: None,
            message: other.to_string(),
        },
    }
}

impl Location {
    /// Whether this is a file on disk (not an archive entry, stream or git object).
    pub fn is_plain_file(&self) -> bool {
        self.source == Source::File && self.archive.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Collect;
    use keysweep::RuleSet;

    /// A stream scanned in segments finds exactly what one scan of the whole buffer finds,
    /// with the same offsets, lines and columns, wherever the segment boundaries fall.
    #[test]
    fn streaming_matches_one_scan_of_the_whole_input() {
        let scanner = Scanner::new(RuleSet::builtin()).unwrap();
        let secrets = [
            "GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u",
            "stripe = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'",
            "aws_access_key_id = AKIAZ4X7Q2M9R3T8V6WN",
            "data: cG9zdGdyZXM6Ly9hcHA6UzNjcjN0UGFzc3cwcmQhQGRiOjU0MzIvYXBw",
        ];
        let mut text = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        while text.len() < 600_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            match seed % 40 {
                0 => {
                    text.extend_from_slice(secrets[(seed >> 8) as usize % secrets.len()].as_bytes())
                }
                1 => text.push(b'\n'),
                _ => text.extend_from_slice(b"let value = compute(a, b) + 42; "),
            }
            if seed.is_multiple_of(7) {
                text.push(b'\n');
            }
        }
        let want = scanner.scan(&mut scanner.scratch(), &text);
        assert!(want.len() > 20, "{}", want.len());
        for segment in [keysweep::CHUNK_OVERLAP * 2 + 1, 100_003, 250_000, 1 << 20] {
            let mut scan = PathScan::new(scanner.clone());
            scan.segment = segment;
            let sink = Collect::default();
            let counts = scan
                .run_reader(&mut &text[..], Location::stdin(), &sink)
                .unwrap();
            assert_eq!(counts.bytes, text.len() as u64);
            let (mut hits, problems) = sink.into_parts();
            assert!(problems.is_empty());
            hits.sort_by_key(|h| (h.finding.range.start, h.finding.rule_index));
            let got: Vec<&Finding> = hits.iter().map(|h| &h.finding).collect();
            let want: Vec<&Finding> = want.iter().collect();
            assert_eq!(got, want, "segment {segment}");
        }
    }
}
