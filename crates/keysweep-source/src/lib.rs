//! Everything between a path and keysweep findings, as a library: directory walks, files,
//! standard input and other streams, archives, git history and pending changes. Each input
//! yields [`Hit`]s: a [`keysweep::Finding`] and its typed [`Location`] (a file in a repository,
//! an archive entry chain, standard input, a history blob with the commit that introduced it,
//! a pending change).
//!
//! Every job ([`PathScan`], [`HistoryScan`], [`ChangeScan`]) is a builder that owns its
//! [`keysweep::Scanner`] (cheap to clone) and settings, so it can be sent to another thread
//! and run any number of times, concurrently. A job streams what it finds to a [`Sink`]
//! (callbacks from its worker threads) or, with `spawn`, to an iterator of [`Event`]s; it
//! updates [`Counters`] that another thread may read for progress, and stops when its
//! [`Cancel`] token is cancelled.
//!
//! ```
//! use keysweep::{RuleSet, Scanner};
//! use keysweep_source::{Collect, PathScan, Source};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("settings.py"), "SLACK = 'xoxb-7362617288-2817363719361-Qm3tXkL9pV2rN8cW5yZ1jH4d'\n")?;
//!
//! let scan = PathScan::new(Scanner::new(RuleSet::builtin())?);
//! let sink = Collect::default();
//! scan.run(&[dir.path()], &sink)?;
//! let (hits, problems) = sink.into_parts();
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].location.source, Source::File);
//! assert_eq!((hits[0].finding.line, hits[0].finding.column), (1, 10));
//! assert!(problems.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Binary detection is one policy for every input ([`keysweep::is_binary`]: a NUL byte in the
//! first 8 KiB, unless the data is UTF-16 text). Large files and streams are read in
//! overlapping segments, never memory-mapped (see [`PathScan`]), so memory stays bounded and a
//! file truncated during the scan is reported, not fatal.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use keysweep_archive as archive;
mod context;
pub mod dates;
pub mod digest;
mod files;
mod filter;
mod history;
mod image;
mod job;
mod location;
mod repo;

pub use context::Context;
pub use dates::GitTime;
pub use digest::{Algorithm, ContentDigest};
pub use files::{io_reason, Error, PathScan, DEFAULT_MAX_FILE_SIZE};
pub use filter::{GlobError, PathFilter};
pub use history::{ChangeScan, HistoryScan, HistorySummary, MAX_REFS, MAX_SUBMODULE_DEPTH};
pub use image::{ImageScan, ImageSummary, LayerCache, RemoteImage};
pub use job::{
    Cancel, Collect, Counters, Counts, Event, Events, Problem, ProblemKind, Severity, Sink,
};
pub use location::{
    ArchiveEntry, ChangeKind, ChangeOrigin, CommitInfo, HistoryOrigin, Hit, ImageLayer,
    ImageOrigin, ImagePart, Location, Repository, Source, SubmoduleOrigin,
};
pub use repo::{read_repository_file, repo_root, repository_id};

/// The README's Rust examples run as doc tests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;
