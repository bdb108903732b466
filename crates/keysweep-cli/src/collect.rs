//! Running a plan's job: the one place that gathers hits, prints problems as they come, and
//! writes the summary line. Filtering by confidence is the scanner's (its builder); filtering
//! by path is the job's; what is left here is only what the output needs.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use keysweep_source::{Counts, Hit, ImageScan, Location, PathScan, Problem, ProblemKind, Sink};

use crate::messages;
use crate::plan::{Job, Plan};
use crate::progress::Progress;

/// How a run talks to the user while it collects.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    /// A progress display (only shown when stderr is a terminal).
    pub progress: bool,
    /// Every problem in full, not a few per archive.
    pub verbose: bool,
}

/// Problems printed per archive without `--verbose`.
const ARCHIVE_PROBLEMS_SHOWN: usize = 1;

/// What one run found (suppressed findings included), sorted, before output.
pub struct Collected {
    pub hits: Vec<Hit>,
    /// The job's summary line, without the suppression counts.
    pub summary: String,
    /// Whether anything could not be read (exit status 2).
    pub errors: bool,
    /// Paths left out by `allow.paths`.
    pub excluded: u64,
}

/// Gathers hits and prints problems as they arrive (from the job's threads).
struct Gather {
    hits: Mutex<Vec<Hit>>,
    /// Keep only hits in these contexts (empty: all).
    contexts: Vec<keysweep_source::Context>,
    errors: AtomicBool,
    verbose: bool,
    /// Problems per archive, to print only the first few of a zip bomb's thousands.
    per_archive: Mutex<HashMap<String, usize>>,
}

impl Sink for Gather {
    fn hit(&self, hit: Hit) {
        if self.contexts.is_empty() || self.contexts.contains(&hit.location.context) {
            self.hits
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(hit);
        }
    }

    fn problem(&self, p: Problem) {
        if p.severity == keysweep_source::Severity::Error {
            self.errors.store(true, Ordering::Relaxed);
        }
        if p.kind == ProblemKind::Archive && !self.verbose {
            if let Some(file) = &p.path {
                let mut counts = self.per_archive.lock().unwrap_or_else(|e| e.into_inner());
                let n = counts.entry(file.clone()).or_default();
                *n += 1;
                if *n > ARCHIVE_PROBLEMS_SHOWN {
                    return;
                }
            }
        }
        messages::problem(&p);
    }
}

impl Gather {
    fn new(verbose: bool, contexts: Vec<keysweep_source::Context>) -> Gather {
        Gather {
            hits: Mutex::default(),
            contexts,
            errors: AtomicBool::new(false),
            verbose,
            per_archive: Mutex::default(),
        }
    }

    /// Applies what gitleaks files suppress, once every hit is in.
    fn suppress(&self, suppress: &crate::gitleaks::Suppress) {
        suppress.apply(&mut self.hits.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn finish(self) -> (Vec<Hit>, bool) {
        let per_archive = self
            .per_archive
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let mut cut: Vec<(String, usize)> = per_archive
            .into_iter()
            .filter(|(_, n)| *n > ARCHIVE_PROBLEMS_SHOWN)
            .collect();
        cut.sort();
        for (file, n) in cut {
            messages::error(&format!(
                "{file}: {} more problem(s) in this archive (--verbose lists them)",
                n - ARCHIVE_PROBLEMS_SHOWN
            ));
        }
        (
            self.hits.into_inner().unwrap_or_else(|e| e.into_inner()),
            self.errors.into_inner(),
        )
    }
}

/// Runs the plan's job.
pub fn collect(plan: &Plan, ui: Ui) -> Result<Collected, String> {
    let started = Instant::now();
    let progress = ui.progress && std::io::stderr().is_terminal();
    let sink = Gather::new(ui.verbose, plan.contexts.clone());
    for path in &plan.missing {
        sink.problem(Problem::error(
            ProblemKind::Unreadable,
            path.display().to_string(),
            "no such file or directory",
        ));
    }
    let (summary, excluded) = match &plan.job {
        Job::Files { scan, paths, stdin } => {
            let display = Progress::start(scan.counters(), "files", progress);
            let counts = run_files(scan, paths, *stdin, &sink)?;
            display.finish();
            sink.suppress(&plan.suppress);
            (files_summary(&counts, &sink, started), counts.excluded)
        }
        Job::History { scan, repos } => {
            let display = Progress::start(scan.counters(), "blobs", progress);
            let mut totals = HistoryTotals::default();
            for repo in repos {
                match scan.run(repo, &sink) {
                    Ok(s) => totals.add(&s),
                    Err(e) => sink.problem(Problem::error(
                        ProblemKind::Repository,
                        repo.display().to_string(),
                        e.to_string(),
                    )),
                }
            }
            display.finish();
            sink.suppress(&plan.suppress);
            let counts = scan.counters().snapshot();
            (
                history_summary(&counts, &totals, &sink, started),
                counts.excluded,
            )
        }
        Job::Changes { scan, repo } => {
            let counts = scan.run(repo, &sink).map_err(|e| e.to_string())?;
            sink.suppress(&plan.suppress);
            (changes_summary(&counts, &scan.kinds(), &sink, started), 0)
        }
        Job::Images {
            scan,
            images,
            puller,
            cache,
        } => {
            let (scan, layers) = match cache {
                Some(dir) => with_layer_cache(scan, dir, &sink),
                None => (scan.clone(), None),
            };
            let display = Progress::start(scan.counters(), "files", progress);
            let mut totals = ImageTotals::default();
            for image in images {
                match scan_image(&scan, puller, image, &sink) {
                    Ok(s) => totals.add(&s),
                    Err(e) => sink.problem(Problem::error(
                        ProblemKind::Image,
                        image.display().to_string(),
                        e,
                    )),
                }
            }
            display.finish();
            if let Some(e) = layers.and_then(|l| l.error()) {
                sink.problem(Problem::warning(
                    ProblemKind::Image,
                    "--cache",
                    format!("layers could not be stored in the cache: {e}"),
                ));
            }
            sink.suppress(&plan.suppress);
            let counts = scan.counters().snapshot();
            (images_summary(&counts, &totals, &sink, started), 0)
        }
        Job::Nothing => (String::new(), 0),
    };
    let (mut hits, errors) = sink.finish();
    sort(&mut hits);
    Ok(Collected {
        hits,
        summary,
        errors,
        excluded,
    })
}

/// `scan` with the layer cache in `dir` (`--cache`), and the cache's table. A cache that
/// cannot be used (another sweep or scan has it open, it cannot be created) is a warning and
/// the scan goes on without it; a damaged one is moved aside and rebuilt, with a warning.
fn with_layer_cache(
    scan: &ImageScan,
    dir: &std::path::Path,
    sink: &Gather,
) -> (
    ImageScan,
    Option<std::sync::Arc<keysweep_sweep::LayerTable>>,
) {
    let warn = |message: String| {
        sink.problem(Problem::warning(
            ProblemKind::Image,
            dir.display().to_string(),
            message,
        ))
    };
    let opened =
        keysweep_sweep::open_layer_cache(dir, &scan.cache_fingerprint()).map(|(table, note)| {
            if let Some(note) = note {
                warn(note);
            }
            table
        });
    match opened {
        Ok(table) => {
            let cache: std::sync::Arc<dyn keysweep_source::LayerCache> = table.clone();
            (scan.clone().layer_cache(cache), Some(table))
        }
        Err(e) => {
            warn(format!("{e}; every layer is read (no cache)"));
            (scan.clone(), None)
        }
    }
}

/// Scans `image`: the file or directory if one is there, else the registry image it names
/// (see [`keysweep_registry::scan_image`]).
fn scan_image(
    scan: &ImageScan,
    puller: &keysweep_registry::Puller,
    image: &std::path::Path,
    sink: &Gather,
) -> Result<keysweep_source::ImageSummary, String> {
    keysweep_registry::scan_image(scan, puller, image, sink)
}

fn run_files(
    scan: &PathScan,
    paths: &[std::path::PathBuf],
    stdin: bool,
    sink: &Gather,
) -> Result<Counts, String> {
    let mut counts = Counts::default();
    if stdin {
        let mut input = std::io::stdin();
        counts = scan
            .run_reader(&mut input, Location::stdin(), sink)
            .map_err(|e| e.to_string())?;
    }
    if !paths.is_empty() {
        counts = scan.run(paths, sink).map_err(|e| e.to_string())?;
    }
    Ok(counts)
}

/// Output order: by repository, path, position, rule; never by thread timing.
fn sort(hits: &mut [Hit]) {
    hits.sort_by(|a, b| {
        let key = |h: &Hit| {
            (
                h.location.repository.as_ref().map(|r| r.root.clone()),
                h.location.display(),
                h.finding.range.start,
                h.finding.rule_index,
                h.location.history().map(|g| g.blob.clone()),
            )
        };
        key(a).cmp(&key(b))
    });
}

fn reported(sink: &Gather) -> usize {
    sink.hits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|h| h.finding.suppressed.is_none())
        .count()
}

fn rate(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        bytes as f64 / 1e6 / secs
    } else {
        0.0
    }
}

fn files_summary(c: &Counts, sink: &Gather, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    let mut line = format!(
        "keysweep: {} finding(s) in {} file(s), {:.1} MB in {secs:.2} s ({:.0} MB/s)",
        reported(sink),
        c.files,
        c.bytes as f64 / 1e6,
        rate(c.bytes, secs)
    );
    if c.archives > 0 {
        line += &format!(" (entries of {} archive(s) included)", c.archives);
    }
    if c.skipped_binary + c.skipped_large > 0 {
        line += &format!(
            "; skipped {} binary, {} too large",
            c.skipped_binary, c.skipped_large
        );
    }
    if c.skipped_special > 0 {
        line += &format!(
            "; {} special file(s) (FIFO, socket, device) skipped",
            c.skipped_special
        );
    }
    if c.errors > 0 {
        line += &format!("; {} error(s), see above", c.errors);
    }
    line
}

#[derive(Default)]
struct HistoryTotals {
    commits: u64,
    objects: u64,
    read: f64,
    walk: f64,
    dropped: u64,
}

impl HistoryTotals {
    fn add(&mut self, s: &keysweep_source::HistorySummary) {
        self.commits += s.commits;
        self.objects += s.objects;
        self.read += s.read_time.as_secs_f64();
        self.walk += s.walk_time.as_secs_f64();
        self.dropped += s.unreachable_dropped;
    }
}

fn history_summary(c: &Counts, t: &HistoryTotals, sink: &Gather, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    let secrets = sink
        .hits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|h| h.finding.suppressed.is_none())
        .map(|h| h.finding.fingerprint)
        .collect::<HashSet<_>>()
        .len();
    let mut line = format!(
        "keysweep: {} finding(s) of {secrets} distinct secret(s) in {} blob(s) of {} commit(s) ({} objects read), {:.1} MB in {secs:.2} s ({:.0} MB/s; reading {:.2} s, history walk {:.2} s)",
        reported(sink),
        c.files,
        t.commits,
        t.objects,
        c.bytes as f64 / 1e6,
        rate(c.bytes, secs),
        t.read,
        t.walk,
    );
    if t.dropped > 0 {
        line += &format!(
            "; {} finding(s) in unreachable blobs not shown (--unreachable)",
            t.dropped
        );
    }
    if c.errors > 0 || sink.errors.load(Ordering::Relaxed) {
        line += "; some objects, files or repositories could not be read, see above";
    }
    line
}

#[derive(Default)]
struct ImageTotals {
    images: usize,
    layers: usize,
    shared: usize,
    cached: usize,
    fields: u64,
}

impl ImageTotals {
    fn add(&mut self, s: &keysweep_source::ImageSummary) {
        self.images += s.images;
        self.layers += s.layers;
        self.shared += s.layers_shared;
        self.cached += s.layers_cached;
        self.fields += s.fields;
    }
}

fn images_summary(c: &Counts, t: &ImageTotals, sink: &Gather, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    let mut line = format!(
        "keysweep: {} finding(s) in {} image(s): {} layer(s) ({} file(s)), {} configuration and annotation field(s), {:.1} MB in {secs:.2} s ({:.0} MB/s)",
        reported(sink),
        t.images,
        t.layers,
        c.files,
        t.fields,
        c.bytes as f64 / 1e6,
        rate(c.bytes, secs)
    );
    if t.shared > 0 {
        line += &format!("; {} layer(s) shared between images read once", t.shared);
    }
    if t.cached > 0 {
        line += &format!("; {} layer(s) taken from the cache, not read", t.cached);
    }
    if c.skipped_binary > 0 {
        line += &format!("; skipped {} binary", c.skipped_binary);
    }
    if c.errors > 0 || sink.errors.load(Ordering::Relaxed) {
        line += "; some layers or parts could not be read, see above";
    }
    line
}

fn changes_summary(c: &Counts, kinds: &[&str], sink: &Gather, started: Instant) -> String {
    let mut line = format!(
        "keysweep: {} finding(s) on added lines in {} changed file(s) ({}), {:.1} KB in {:.3} s",
        reported(sink),
        c.files,
        kinds.join(", "),
        c.bytes as f64 / 1e3,
        started.elapsed().as_secs_f64()
    );
    if c.skipped_binary + c.skipped_large > 0 {
        line += &format!(
            "; skipped {} binary, {} too large",
            c.skipped_binary, c.skipped_large
        );
    }
    if c.excluded > 0 {
        line += &format!("; {} excluded by allow.paths", c.excluded);
    }
    if c.errors > 0 {
        line += &format!("; {} error(s), see above", c.errors);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache another sweep or scan holds open is a warning: the scan goes on without it.
    /// Free again, it is used.
    #[test]
    fn a_busy_layer_cache_is_a_warning_and_the_scan_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let scanner = keysweep::Scanner::new(keysweep::RuleSet::builtin()).unwrap();
        let scan = ImageScan::new(scanner);
        let held = keysweep_sweep::Store::open(dir.path()).ok().unwrap();
        let sink = Gather::new(false, Vec::new());
        let (_, table) = with_layer_cache(&scan, dir.path(), &sink);
        assert!(table.is_none());
        assert!(
            !sink.errors.load(Ordering::Relaxed),
            "a warning, not an error"
        );
        drop(held);
        let (_, table) = with_layer_cache(&scan, dir.path(), &sink);
        assert!(table.is_some());
    }
}
