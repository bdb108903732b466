//! `keysweep scan`: walk paths, read or map files, scan them in parallel, print findings.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use keysweep::{Finding, Scanner, ScannerBuilder, Scratch};
use rayon::iter::{ParallelBridge, ParallelIterator};

use crate::output::{self, Report, ScannedFile};
use crate::{rules, ScanArgs, EXIT_ERROR, EXIT_FINDINGS};

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
}

enum Outcome {
    Scanned(Vec<Finding>),
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

pub fn run(args: ScanArgs) -> Result<u8, String> {
    let started = Instant::now();
    let ruleset = rules::load(&args.rules)?;
    let mut builder = ScannerBuilder::new().prefilter(!args.no_prefilter);
    if let Some(key) = &args.fingerprint_key {
        builder = builder.fingerprint_key(key.as_bytes().to_vec());
    }
    let scanner = builder.build(ruleset).map_err(|e| e.to_string())?;
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .map_err(|e| format!("cannot start {n} threads: {e}"))?;
    }
    if args.git {
        return crate::cmd_git::run(&args, &scanner, started);
    }
    // Every root must exist before anything is scanned: a typo is an error, not an empty scan.
    for root in &args.paths {
        if root.as_os_str() != "-" {
            std::fs::symlink_metadata(root).map_err(|e| {
                format!("cannot read {}: {}", root.display(), output::io_reason(&e))
            })?;
        }
    }

    let stats = Stats::default();
    let progress = output::Progress::new(!args.no_progress && std::io::stderr().is_terminal());
    let mut files: Vec<ScannedFile> = Vec::new();

    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        let mut data = Vec::new();
        match std::io::stdin().lock().read_to_end(&mut data) {
            Ok(_) => {
                stats.files.fetch_add(1, Ordering::Relaxed);
                stats.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                let findings = scan_bytes(&scanner, &mut scanner.scratch(), &data);
                files.push(ScannedFile {
                    path: "<stdin>".into(),
                    findings,
                    provenance: Vec::new(),
                });
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

    let roots: Vec<&PathBuf> = args.paths.iter().filter(|p| p.as_os_str() != "-").collect();
    if !roots.is_empty() {
        let items = walk(&roots, &args);
        let found: Vec<ScannedFile> = items
            .par_bridge()
            .map_init(
                || (scanner.scratch(), Vec::new()),
                |(scratch, buf), item| {
                    let path = match item {
                        Item::WalkError(msg) => {
                            eprintln!("keysweep: error: {msg}");
                            stats.errors.fetch_add(1, Ordering::Relaxed);
                            return None;
                        }
                        Item::File(path) => path,
                    };
                    let outcome = scan_file(&scanner, scratch, buf, &path, &args, &stats);
                    progress.tick(&stats);
                    match outcome {
                        Ok(Outcome::Scanned(findings)) if !findings.is_empty() => {
                            Some(ScannedFile {
                                path: display_path(&path),
                                findings,
                                provenance: Vec::new(),
                            })
                        }
                        Ok(Outcome::Scanned(_)) | Ok(Outcome::NotAFile) => None,
                        Ok(Outcome::Binary) => {
                            stats.skipped_binary.fetch_add(1, Ordering::Relaxed);
                            None
                        }
                        Ok(Outcome::TooLarge) => {
                            stats.skipped_large.fetch_add(1, Ordering::Relaxed);
                            None
                        }
                        Err(e) => {
                            eprintln!(
                                "keysweep: error: cannot read {}: {}",
                                display_path(&path),
                                output::io_reason(&e)
                            );
                            stats.errors.fetch_add(1, Ordering::Relaxed);
                            None
                        }
                    }
                },
            )
            .flatten()
            .collect();
        files.extend(found);
    }
    progress.finish();

    let min = args.min_confidence.get();
    for f in &mut files {
        f.findings.retain(|x| x.confidence >= min);
    }
    files.retain(|f| !f.findings.is_empty());
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let report = Report {
        scanner: &scanner,
        files: &files,
        reveal: args.reveal,
        summary: output::summary(&stats, &files, started.elapsed()),
    };
    output::write(&report, args.format, args.color, args.quiet)?;

    let findings: usize = files.iter().map(|f| f.findings.len()).sum();
    Ok(if stats.errors.load(Ordering::Relaxed) > 0 {
        EXIT_ERROR
    } else if findings > 0 {
        EXIT_FINDINGS
    } else {
        0
    })
}

/// Walks the roots in order. Explicitly named files are always yielded; inside directories,
/// ignore files are honoured, hidden files are included and `.git/` is skipped.
fn walk<'a>(roots: &[&PathBuf], args: &ScanArgs) -> impl Iterator<Item = Item> + Send + 'a {
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
        .follow_links(args.follow)
        .filter_entry(|e| e.file_name() != ".git");
    builder.build().filter_map(|entry| match entry {
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

fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(BINARY_PROBE)].contains(&0)
}

fn scan_file(
    scanner: &Scanner,
    scratch: &mut Scratch,
    buf: &mut Vec<u8>,
    path: &Path,
    args: &ScanArgs,
    stats: &Stats,
) -> std::io::Result<Outcome> {
    // Look before opening: opening a FIFO or a device could block or never end. One stat per
    // file: its size decides too-large before the file is even opened.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Ok(Outcome::NotAFile);
    }
    let len = meta.len();
    if len > args.max_file_size {
        return Ok(Outcome::TooLarge);
    }
    let mut file = File::open(path)?;
    let findings = if len >= MMAP_THRESHOLD {
        let map = mmap::map(&file)?;
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
        if !args.scan_binary && is_binary(buf) {
            return Ok(Outcome::Binary);
        }
        stats.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        scan_bytes(scanner, scratch, buf)
    };
    stats.files.fetch_add(1, Ordering::Relaxed);
    Ok(Outcome::Scanned(findings))
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
