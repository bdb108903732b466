//! `keysweep scan`: walk paths, read or map files, scan them in parallel, print findings.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use keysweep::{Finding, Scanner, ScannerBuilder, Scratch};
use rayon::iter::{ParallelBridge, ParallelIterator};

use crate::archive;
use crate::config::{self, Config};
use crate::output::{self, Report, ScannedFile};
use crate::{
    baseline, rules, Format, InputArgs, MinConfidence, ScanArgs, EXIT_ERROR, EXIT_FINDINGS,
};

/// Files larger than this are skipped unless `--max-file-size` or the configuration says.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 << 20;

/// Files at least this large are memory-mapped instead of read.
const MMAP_THRESHOLD: u64 = 4 << 20;
/// Haystacks at least this large are cut into chunks scanned in parallel.
const PARALLEL_THRESHOLD: usize = 16 << 20;
/// Mapped files are scanned this many bytes at a time; each segment's pages are released when
/// it is done, so memory stays bounded whatever the file's size.
const SEGMENT: usize = 128 << 20;
/// A file with a NUL byte in this many leading bytes is binary.
const BINARY_PROBE: usize = 8 << 10;

/// Counters shared by the scanning threads (atomics: no lock in the parallel loop).
#[derive(Default)]
pub struct Stats {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    pub skipped_binary: AtomicU64,
    pub skipped_large: AtomicU64,
    pub errors: AtomicU64,
    /// Archives opened (their entries count as files).
    pub archives: AtomicU64,
}

enum Outcome {
    Scanned(Vec<Finding>),
    /// The findings of each entry of an archive (only entries with findings).
    Archive(Vec<(String, Vec<Finding>)>),
    Binary,
    TooLarge,
    NotAFile,
}

/// A source of work for the scanning threads.
enum Item {
    File(PathBuf),
    /// An error from the walker (unreadable directory, symlink loop, ...).
    WalkError(String),
}

/// Everything a scan runs with: the scanner (rules, allowlist, baseline) and the limits,
/// from the command line and the repository's configuration.
pub struct Setup {
    pub scanner: Scanner,
    pub max_file_size: u64,
    pub min_confidence: keysweep::Confidence,
    pub exclude: Arc<Exclude>,
}

/// Builds the scanner a scan or a baseline runs with. Every error names the file (and for the
/// configuration, the key and line) that caused it.
pub fn prepare(input: &InputArgs) -> Result<Setup, String> {
    let first = input
        .paths
        .iter()
        .find(|p| p.as_os_str() != "-")
        .map_or(Path::new("."), PathBuf::as_path);
    let config = if input.no_config {
        Config::default()
    } else if let Some(path) = &input.config {
        Config::load(path)?
    } else {
        match config::discover(first) {
            Some(path) => Config::load(&path)?,
            None => Config::default(),
        }
    };
    let ruleset = rules::load_with_config(&input.rules, &config)?;
    let mut builder = ScannerBuilder::new()
        .prefilter(!input.no_prefilter)
        .keep_suppressed(true)
        .allow_values(config.allow_values.iter().map(|a| &a.value));
    if let Some(key) = &input.fingerprint_key {
        builder = builder.fingerprint_key(key.as_bytes().to_vec());
    }
    if let Some(depth) = input.decode_depth {
        builder = builder.decode_depth(depth);
    }
    for &layer in &input.no_decode {
        builder = builder.decode(layer, false);
    }
    let baseline_file = input.baseline.as_ref().or(config.baseline.as_ref());
    if let Some(path) = baseline_file {
        let base = baseline::Baseline::load(path)?;
        base.check_key(input.fingerprint_key.as_deref(), path)?;
        builder = builder.baseline(base.fingerprints());
    }
    let scanner = builder.build(ruleset).map_err(|e| match e.allow_value() {
        Some(i) => format!(
            "{}: allow.values: {e}",
            config.locate(config.allow_values[i].line)
        ),
        None => e.to_string(),
    })?;
    if let Some(n) = input.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .map_err(|e| format!("cannot start {n} threads: {e}"))?;
    }
    let base = config::repo_root(first).or_else(|| {
        config
            .path
            .as_ref()
            .and_then(|p| std::path::absolute(p).ok()?.parent().map(Path::to_path_buf))
    });
    let exclude = Exclude::new(&config, base)?;
    Ok(Setup {
        scanner,
        max_file_size: input
            .max_file_size
            .or(config.max_file_size)
            .unwrap_or(DEFAULT_MAX_FILE_SIZE),
        min_confidence: input
            .min_confidence
            .map(MinConfidence::get)
            .or(config.min_confidence)
            .unwrap_or(keysweep::Confidence::Low),
        exclude: Arc::new(exclude),
    })
}

/// The `allow.paths` globs of the configuration, matched against paths relative to the
/// repository root.
pub struct Exclude {
    set: Option<globset::GlobSet>,
    base: Option<PathBuf>,
    cwd: PathBuf,
    /// Paths excluded so far (a pruned directory counts once).
    pub count: AtomicU64,
}

impl Exclude {
    fn new(config: &Config, base: Option<PathBuf>) -> Result<Exclude, String> {
        let set = if config.exclude.is_empty() {
            None
        } else {
            let mut b = globset::GlobSetBuilder::new();
            for g in &config.exclude {
                b.add(
                    config::glob(&g.value)
                        .map_err(|e| format!("{}: allow.paths: {e}", config.locate(g.line)))?,
                );
            }
            Some(b.build().map_err(|e| format!("allow.paths: {e}"))?)
        };
        Ok(Exclude {
            set,
            base,
            cwd: std::env::current_dir().unwrap_or_default(),
            count: AtomicU64::new(0),
        })
    }

    /// Whether a path relative to the repository root (`/`-separated) is excluded: it, or a
    /// directory above it, matches.
    pub fn relative(&self, rel: &str) -> bool {
        let Some(set) = &self.set else { return false };
        let hit = set.is_match(rel) || rel.match_indices('/').any(|(i, _)| set.is_match(&rel[..i]));
        if hit {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Whether a path on disk is excluded (never, if it is outside the repository root).
    pub fn path(&self, path: &Path) -> bool {
        let (Some(set), Some(base)) = (&self.set, &self.base) else {
            return false;
        };
        let abs = self.cwd.join(path);
        let hit = abs.strip_prefix(base).is_ok_and(|rel| set.is_match(rel));
        if hit {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_none()
    }
}

/// What one scan found (suppressed findings included), before output.
pub struct Collected {
    pub files: Vec<ScannedFile>,
    /// The mode's summary line, without the suppression counts.
    pub summary: String,
    /// Whether anything could not be read (exit status 2).
    pub errors: bool,
    /// For `--git`: the scanned histories (for `--group`).
    pub histories: Vec<keysweep_git::History>,
}

/// Scans what `input` names: files, history or pending changes.
pub fn collect(input: &InputArgs, setup: &Setup, progress: bool) -> Result<Collected, String> {
    let started = Instant::now();
    let mut collected = if input.git {
        crate::cmd_git::collect(input, setup, progress, started)?
    } else if input.changes() {
        crate::cmd_changes::collect(input, setup, started)?
    } else {
        collect_files(input, setup, progress, started)?
    };
    let min = setup.min_confidence;
    for f in &mut collected.files {
        f.retain(|x| x.confidence >= min);
    }
    collected.files.retain(|f| !f.findings.is_empty());
    for h in &mut collected.histories {
        h.findings.retain(|f| f.finding.confidence >= min);
    }
    Ok(collected)
}

pub fn run(args: ScanArgs) -> Result<u8, String> {
    let input = &args.input;
    if args.group && args.format == Format::Sarif {
        return Err("--group prints human, json or jsonl output, not sarif".into());
    }
    let setup = prepare(input)?;
    let progress = !args.no_progress && std::io::stderr().is_terminal();
    let mut collected = collect(input, &setup, progress)?;

    let counts = output::SuppressionCounts::of(&collected.files);
    if !args.show_suppressed {
        for f in &mut collected.files {
            f.retain(|x| x.suppressed.is_none());
        }
        collected.files.retain(|f| !f.findings.is_empty());
    }
    let reported: usize = collected
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .filter(|x| x.suppressed.is_none())
        .count();
    let mut summary = collected.summary.clone() + &counts.summary();
    let excluded = setup.exclude.count.load(Ordering::Relaxed);
    if excluded > 0 && !input.changes() {
        summary += &format!("; {excluded} path(s) excluded by allow.paths");
    }

    if args.group {
        for h in &mut collected.histories {
            h.findings.retain(|f| f.finding.suppressed.is_none());
        }
        crate::cmd_git::write_groups(&collected.histories, &args)?;
        if !args.quiet {
            eprintln!("{summary}");
        }
    } else {
        let report = Report {
            scanner: &setup.scanner,
            files: &collected.files,
            reveal: args.reveal,
            summary,
        };
        output::write(&report, args.format, args.color, args.quiet)?;
    }
    if input.staged && reported > 0 && !args.quiet {
        eprint!("{}", crate::cmd_hook::ADVICE);
    }
    Ok(if collected.errors {
        EXIT_ERROR
    } else if reported > 0 {
        EXIT_FINDINGS
    } else {
        0
    })
}

fn collect_files(
    input: &InputArgs,
    setup: &Setup,
    progress: bool,
    started: Instant,
) -> Result<Collected, String> {
    // Every root must exist before anything is scanned: a typo is an error, not an empty scan.
    for root in &input.paths {
        if root.as_os_str() != "-" {
            std::fs::symlink_metadata(root).map_err(|e| {
                format!("cannot read {}: {}", root.display(), output::io_reason(&e))
            })?;
        }
    }
    let scanner = &setup.scanner;
    let stats = Stats::default();
    let progress = output::Progress::new(progress);
    let mut files: Vec<ScannedFile> = Vec::new();

    if input.paths.iter().any(|p| p.as_os_str() == "-") {
        let mut data = Vec::new();
        match std::io::stdin().lock().read_to_end(&mut data) {
            Ok(_) => {
                stats.files.fetch_add(1, Ordering::Relaxed);
                stats.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                let findings = scan_bytes(scanner, &mut scanner.scratch(), &data);
                files.push(ScannedFile::new("<stdin>".into(), findings));
            }
            Err(e) => {
                eprintln!(
                    "keysweep: error: cannot read standard input: {}",
                    output::io_reason(&e)
                );
                stats.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    let roots: Vec<&PathBuf> = input
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .collect();
    if !roots.is_empty() {
        let items = walk(&roots, input, &setup.exclude);
        let found: Vec<ScannedFile> = items
            .par_bridge()
            .map_init(
                || (scanner.scratch(), Vec::new()),
                |(scratch, buf), item| {
                    let path = match item {
                        Item::WalkError(msg) => {
                            eprintln!("keysweep: error: {msg}");
                            stats.errors.fetch_add(1, Ordering::Relaxed);
                            return Vec::new();
                        }
                        Item::File(path) => path,
                    };
                    let outcome = scan_file(scanner, scratch, buf, &path, input, setup, &stats);
                    progress.tick(&stats);
                    match outcome {
                        Ok(Outcome::Scanned(findings)) if !findings.is_empty() => {
                            vec![ScannedFile::new(display_path(&path), findings)]
                        }
                        Ok(Outcome::Archive(entries)) => entries
                            .into_iter()
                            .map(|(name, findings)| ScannedFile::new(name, findings))
                            .collect(),
                        Ok(Outcome::Scanned(_)) | Ok(Outcome::NotAFile) => Vec::new(),
                        Ok(Outcome::Binary) => {
                            stats.skipped_binary.fetch_add(1, Ordering::Relaxed);
                            Vec::new()
                        }
                        Ok(Outcome::TooLarge) => {
                            stats.skipped_large.fetch_add(1, Ordering::Relaxed);
                            Vec::new()
                        }
                        Err(e) => {
                            eprintln!(
                                "keysweep: error: cannot read {}: {}",
                                display_path(&path),
                                output::io_reason(&e)
                            );
                            stats.errors.fetch_add(1, Ordering::Relaxed);
                            Vec::new()
                        }
                    }
                },
            )
            .flatten()
            .collect();
        files.extend(found);
    }
    progress.finish();
    for f in &mut files {
        f.retain(|x| x.confidence >= setup.min_confidence);
    }
    files.retain(|f| !f.findings.is_empty());
    files.sort_by(|a, b| a.path.cmp(&b.path));
    output::attribute_repositories(&mut files);
    Ok(Collected {
        summary: output::summary(&stats, &files, started.elapsed()),
        errors: stats.errors.load(Ordering::Relaxed) > 0,
        files,
        histories: Vec::new(),
    })
}

/// Walks the roots in order. Explicitly named files are always yielded; inside directories,
/// ignore files are honoured, hidden files are included and `.git/` is skipped.
fn walk(
    roots: &[&PathBuf],
    args: &InputArgs,
    exclude: &Arc<Exclude>,
) -> impl Iterator<Item = Item> + Send {
    let mut builder = ignore::WalkBuilder::new(roots[0]);
    for root in &roots[1..] {
        builder.add(root);
    }
    let honour = !args.no_ignore;
    builder
        .hidden(false)
        .ignore(honour)
        .git_ignore(honour)
        .git_exclude(honour)
        .git_global(honour)
        .parents(honour)
        .require_git(false)
        .follow_links(args.follow);
    let exclude = Arc::clone(exclude);
    // Paths excluded by the configuration's `allow.paths` are pruned (a directory with all it
    // holds); a root named on the command line is never excluded.
    builder.filter_entry(move |e| {
        e.file_name() != ".git" && (e.depth() == 0 || exclude.is_empty() || !exclude.path(e.path()))
    });
    builder.build().filter_map(move |entry| match entry {
        Ok(e) => match e.file_type() {
            Some(t) if t.is_dir() => None,
            // Symlinks that are not followed are not scanned (their targets are, if inside).
            Some(t) if t.is_symlink() => None,
            _ => Some(Item::File(e.into_path())),
        },
        Err(err) => Some(Item::WalkError(walk_error_message(&err))),
    })
}

fn walk_error_message(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { path, err } => {
            format!(
                "cannot read {}: {}",
                path.display(),
                walk_error_message(err)
            )
        }
        ignore::Error::Loop { child, .. } => {
            format!(
                "symbolic link loop at {} (not followed)",
                display_path(child)
            )
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_message(err)
        }
        ignore::Error::Io(e) => output::io_reason(e),
        other => other.to_string(),
    }
}

fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    s.strip_prefix("./")
        .map(str::to_string)
        .unwrap_or_else(|| s.into_owned())
}

fn scan_bytes(scanner: &Scanner, scratch: &mut Scratch, data: &[u8]) -> Vec<Finding> {
    if data.len() >= PARALLEL_THRESHOLD {
        scanner.scan_parallel(data)
    } else {
        scanner.scan(scratch, data)
    }
}

/// A NUL byte in the first 8 KiB, unless the file is UTF-16 text (which the scanner decodes).
fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(BINARY_PROBE)].contains(&0) && keysweep::utf16_text(data).is_none()
}

fn scan_file(
    scanner: &Scanner,
    scratch: &mut Scratch,
    buf: &mut Vec<u8>,
    path: &Path,
    args: &InputArgs,
    setup: &Setup,
    stats: &Stats,
) -> std::io::Result<Outcome> {
    // Look before opening: opening a FIFO or a device could block or never end. One stat per
    // file: its size decides too-large before the file is even opened.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Ok(Outcome::NotAFile);
    }
    let len = meta.len();
    if len > setup.max_file_size {
        return Ok(Outcome::TooLarge);
    }
    let mut file = File::open(path)?;
    let findings = if len >= MMAP_THRESHOLD {
        let map = mmap::map(&file)?;
        if !args.no_archives && archive::kind(&map).is_some() {
            return Ok(scan_archive(scanner, scratch, path, &map, args, stats));
        }
        if !args.scan_binary && is_binary(&map) {
            return Ok(Outcome::Binary);
        }
        stats.bytes.fetch_add(map.len() as u64, Ordering::Relaxed);
        if map.len() >= PARALLEL_THRESHOLD {
            scan_segments(scanner, &map)
        } else {
            scanner.scan(scratch, &map)
        }
    } else {
        buf.clear();
        file.read_to_end(buf)?;
        if !args.no_archives && archive::kind(buf).is_some() {
            return Ok(scan_archive(scanner, scratch, path, buf, args, stats));
        }
        if !args.scan_binary && is_binary(buf) {
            return Ok(Outcome::Binary);
        }
        stats.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        scan_bytes(scanner, scratch, buf)
    };
    stats.files.fetch_add(1, Ordering::Relaxed);
    Ok(Outcome::Scanned(findings))
}

/// Scans every entry of an archive, nested archives included, within the limits; problems
/// and warnings go to stderr (problems count as read errors: part of the file went unscanned).
fn scan_archive(
    scanner: &Scanner,
    scratch: &mut Scratch,
    path: &Path,
    data: &[u8],
    args: &InputArgs,
    stats: &Stats,
) -> Outcome {
    struct Collect<'a> {
        scanner: &'a Scanner,
        scratch: &'a mut Scratch,
        scan_binary: bool,
        stats: &'a Stats,
        found: Vec<(String, Vec<Finding>)>,
    }
    impl archive::Visitor for Collect<'_> {
        fn entry(&mut self, path: &str, data: &[u8]) {
            if !self.scan_binary && is_binary(data) {
                self.stats.skipped_binary.fetch_add(1, Ordering::Relaxed);
                return;
            }
            self.stats.files.fetch_add(1, Ordering::Relaxed);
            self.stats
                .bytes
                .fetch_add(data.len() as u64, Ordering::Relaxed);
            let findings = scan_bytes(self.scanner, self.scratch, data);
            if !findings.is_empty() {
                self.found.push((path.to_string(), findings));
            }
        }
        fn problem(&mut self, message: String) {
            eprintln!("keysweep: error: {message}");
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        fn warning(&mut self, message: String) {
            eprintln!("keysweep: warning: {message}");
        }
    }
    let mut limits = archive::Limits {
        entry: args.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
        ..archive::Limits::default()
    };
    if let Some(depth) = args.archive_depth {
        limits.depth = depth.max(1);
    }
    if let Some(total) = args.max_archive_size {
        limits.total = total;
    }
    if let Some(entries) = args.max_archive_entries {
        limits.entries = entries;
    }
    let mut visitor = Collect {
        scanner,
        scratch,
        scan_binary: args.scan_binary,
        stats,
        found: Vec::new(),
    };
    archive::walk(&display_path(path), data, limits, &mut visitor);
    stats.archives.fetch_add(1, Ordering::Relaxed);
    Outcome::Archive(visitor.found)
}

/// Scans a mapped file one [`SEGMENT`] at a time, in parallel within each segment.
fn scan_segments(scanner: &Scanner, map: &memmap2::Mmap) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut line = 1;
    let mut start = 0;
    while start < map.len() {
        let end = (start + SEGMENT).min(map.len());
        let part = scanner.scan_parallel_range(map, start..end, line);
        line += part.newlines;
        findings.extend(part.findings);
        mmap::release(map, start..end);
        start = end;
    }
    findings
}

/// The one place that maps files: every `unsafe` block of the CLI is here.
mod mmap {
    use std::fs::File;
    use std::ops::Range;

    pub fn map(file: &File) -> std::io::Result<memmap2::Mmap> {
        // SAFETY: the map is read-only and lives only while this file is scanned. If another
        // process truncates the file meanwhile, reads past the new end fault (SIGBUS); like
        // ripgrep, we accept that for large files, where mapping avoids copying the whole file
        // into memory. Small files are read, not mapped.
        unsafe { memmap2::Mmap::map(file) }
    }

    /// Drops the resident pages of `range` (a scanned segment) so that peak memory does not
    /// grow with the file. Best effort: an error only means the pages stay resident.
    pub fn release(map: &memmap2::Mmap, range: Range<usize>) {
        // SAFETY: MADV_DONTNEED on a read-only, file-backed mapping discards the pages; a later
        // access faults them in again from the file, so the bytes read stay the file's bytes.
        // memmap2 marks the advice unsafe because it conceptually writes to the pages; no borrow
        // of the mapping is alive here (findings own copies of their secrets), and the next
        // segment's scan, which may look back into this range, re-reads it from the file.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, range.start, range.len())
        };
    }
}
