//! What every scan job shares: the [`Sink`] that receives hits and problems, progress
//! [`Counters`] readable while a job runs, [`Cancel`] tokens, and [`Events`], the iterator form
//! of a job running on its own thread.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::location::Hit;

/// Receives what a job finds. Called from the job's worker threads, in no particular order.
pub trait Sink: Sync {
    /// A finding with its location.
    fn hit(&self, hit: Hit);
    /// Something could not be read or was cut short (an unreadable file, a damaged object, an
    /// archive limit), or something suspicious that did not stop the scan.
    fn problem(&self, problem: Problem);
}

/// A [`Sink`] that keeps everything, for callers that want all results at the end.
///
/// ```
/// use keysweep_source::{Collect, Sink};
/// let sink = Collect::default();
/// let (hits, problems) = sink.into_parts();
/// assert!(hits.is_empty() && problems.is_empty());
/// ```
#[derive(Debug, Default)]
pub struct Collect {
    hits: Mutex<Vec<Hit>>,
    problems: Mutex<Vec<Problem>>,
}

impl Collect {
    /// The hits and problems received.
    pub fn into_parts(self) -> (Vec<Hit>, Vec<Problem>) {
        (
            self.hits.into_inner().unwrap_or_else(|e| e.into_inner()),
            self.problems
                .into_inner()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }
}

impl Sink for Collect {
    fn hit(&self, hit: Hit) {
        self.hits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(hit);
    }

    fn problem(&self, problem: Problem) {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(problem);
    }
}

/// How serious a [`Problem`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; nothing went unscanned (a shallow clone, submodules not scanned).
    Note,
    /// Suspicious, but scanned (an archive entry named `../../etc/passwd`, a symlink loop).
    Warning,
    /// Something went unscanned: exit status 2 in the command-line tool.
    Error,
}

/// What a problem is about, for callers that treat kinds differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A file or directory could not be read (the message is the reason).
    Unreadable,
    /// A file changed (shrank or grew) while it was being scanned.
    Changed,
    /// An archive limit was hit (size, entries, ratio, depth) or an archive is damaged. The
    /// path is the archive on disk; the message names the entry and starts with it.
    Archive,
    /// A git object or ref could not be read.
    Git,
    /// A symbolic link loop (not followed).
    SymlinkLoop,
    /// An archive entry's name climbs out of the archive (the message names it, as for
    /// [`ProblemKind::Archive`]).
    PathTrick,
    /// Part of a repository was not scanned (shallow history, submodules).
    Incomplete,
    /// A repository could not be opened or scanned at all.
    Repository,
    /// Part of a container image could not be read (a missing blob, a manifest or
    /// configuration that is not valid JSON); its other parts are scanned. Problems inside a
    /// layer's stream are [`ProblemKind::Archive`].
    Image,
}

/// Something a scan could not do, or noticed. Messages name the path or object, never the
/// bytes of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// How serious.
    pub severity: Severity,
    /// What about.
    pub kind: ProblemKind,
    /// The file, archive entry, object or repository concerned, when there is one.
    pub path: Option<String>,
    /// What happened.
    pub message: String,
}

impl Problem {
    /// An error about `path`.
    pub fn error(
        kind: ProblemKind,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Error,
            kind,
            path: Some(path.into()),
            message: message.into(),
        }
    }

    /// A warning about `path`.
    pub fn warning(
        kind: ProblemKind,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(kind, path, message)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Counts a job keeps while it runs; any thread may read them ([`Counters::snapshot`]) for a
/// progress display. Updated with relaxed atomics: no lock on the scanning path.
#[derive(Debug, Default)]
pub struct Counters {
    files: AtomicU64,
    bytes: AtomicU64,
    skipped_binary: AtomicU64,
    skipped_large: AtomicU64,
    skipped_special: AtomicU64,
    archives: AtomicU64,
    excluded: AtomicU64,
    hits: AtomicU64,
    errors: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Files (archive entries, blobs, changed files) scanned.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Skipped as binary ([`keysweep::is_binary`]).
    pub skipped_binary: u64,
    /// Skipped as larger than the size limit.
    pub skipped_large: u64,
    /// Special files (FIFOs, sockets, devices) met inside a directory walk and skipped.
    pub skipped_special: u64,
    /// Archives opened (their entries count as files).
    pub archives: u64,
    /// Paths left out by the path filter (a pruned directory counts once).
    pub excluded: u64,
    /// Hits reported (suppressed findings included, when the scanner keeps them).
    pub hits: u64,
    /// Problems of [`Severity::Error`] reported.
    pub errors: u64,
}

macro_rules! counter {
    ($($name:ident),*) => {
        impl Counters {
            $(
                pub(crate) fn $name(&self, n: u64) {
                    self.$name.fetch_add(n, Ordering::Relaxed);
                }
            )*

            /// The counts now.
            pub fn snapshot(&self) -> Counts {
                Counts { $($name: self.$name.load(Ordering::Relaxed)),* }
            }
        }
    };
}

counter!(
    files,
    bytes,
    skipped_binary,
    skipped_large,
    skipped_special,
    archives,
    excluded,
    hits,
    errors
);

/// Stops a running job from any thread; jobs look at it between files, blobs and segments.
///
/// ```
/// let cancel = keysweep_source::Cancel::new();
/// let other = cancel.clone();
/// other.cancel();
/// assert!(cancel.is_cancelled());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A token nobody has cancelled yet.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks every job holding this token (or a clone) to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`cancel`](Cancel::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The flag itself, for APIs that take an `AtomicBool` (a clone or fetch).
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

/// One thing a job reports, in the iterator form ([`Events`]).
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // nearly every event is a hit: boxing them would cost more
pub enum Event {
    /// A finding with its location.
    Hit(Hit),
    /// A problem.
    Problem(Problem),
}

/// A job running on its own thread, as an iterator of [`Event`]s (a bounded channel: the job
/// waits when the consumer falls behind, so memory stays bounded). Dropping it cancels the
/// job; [`finish`](Events::finish) waits for the job's result.
pub struct Events<T: Send + 'static> {
    rx: Receiver<Event>,
    cancel: Cancel,
    handle: Option<JoinHandle<T>>,
}

/// Events waiting in an [`Events`] channel before the job blocks.
const EVENT_BUFFER: usize = 1024;

struct ChannelSink {
    tx: SyncSender<Event>,
    cancel: Cancel,
}

impl ChannelSink {
    fn send(&self, event: Event) {
        if self.tx.send(event).is_err() {
            // The consumer went away: nobody wants the rest.
            self.cancel.cancel();
        }
    }
}

impl Sink for ChannelSink {
    fn hit(&self, hit: Hit) {
        self.send(Event::Hit(hit));
    }

    fn problem(&self, problem: Problem) {
        self.send(Event::Problem(problem));
    }
}

impl<T: Send + 'static> Events<T> {
    /// Runs `job` on a new thread with a sink feeding this iterator. `cancel` must be the token
    /// the job watches.
    pub(crate) fn spawn(
        cancel: Cancel,
        job: impl FnOnce(&dyn Sink) -> T + Send + 'static,
    ) -> Events<T> {
        let (tx, rx) = sync_channel(EVENT_BUFFER);
        let sink = ChannelSink {
            tx,
            cancel: cancel.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("keysweep-job".into())
            .spawn(move || job(&sink))
            .expect("keysweep: cannot start a job thread");
        Events {
            rx,
            cancel,
            handle: Some(handle),
        }
    }

    /// Stops the job, drops the events not read yet, and returns its result.
    pub fn cancel(mut self) -> T {
        self.cancel.cancel();
        while self.rx.recv().is_ok() {}
        self.join()
    }

    /// Reads the remaining events (dropping them) and returns the job's result.
    pub fn finish(mut self) -> T {
        while self.rx.recv().is_ok() {}
        self.join()
    }

    fn join(&mut self) -> T {
        let handle = self.handle.take().expect("joined once");
        match handle.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl<T: Send + 'static> Iterator for Events<T> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.rx.recv().ok()
    }
}

impl<T: Send + 'static> Drop for Events<T> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.cancel.cancel();
            while self.rx.recv().is_ok() {}
            let _ = handle.join();
        }
    }
}
