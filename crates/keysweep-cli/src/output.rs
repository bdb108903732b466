//! Output formats (human, JSON, JSON Lines, SARIF 2.1.0), redaction, summary and progress.

use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keysweep::{Finding, Scanner, Suppression};
use serde_json::{json, Value};

use crate::cmd_scan::Stats;
use crate::{ColorChoice, Format};

/// One file's findings.
pub struct ScannedFile {
    pub path: String,
    pub findings: Vec<Finding>,
    /// Where each finding came from, for findings in git history: empty, or one per finding.
    pub provenance: Vec<Provenance>,
    /// The repository the file is in, and its path there.
    pub repo: Option<(Arc<Repo>, String)>,
}

/// A repository, as scan output names it so that findings from many runs and machines can be
/// put together (`keysweep inventory`).
#[derive(Debug)]
pub struct Repo {
    /// The origin remote's URL without scheme, credentials or `.git`
    /// (`github.com/acme/api`), or the local root when there is no origin.
    pub id: String,
    /// The working tree (or bare repository) on this machine.
    pub root: PathBuf,
}

impl Repo {
    pub fn at(root: &Path) -> Repo {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        let id = keysweep_git::repository_info(&root)
            .and_then(|info| info.origin_url)
            .map(|url| keysweep_git::normalize_remote_url(&url))
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| root.display().to_string());
        Repo { id, root }
    }

    pub fn json(&self, path: &str) -> Value {
        json!({ "id": self.id, "root": self.root.display().to_string(), "path": path })
    }
}

/// Names the repository of each file scanned from the file system: the nearest enclosing
/// directory with a `.git`, looked up once per directory.
pub fn attribute_repositories(files: &mut [ScannedFile]) {
    let mut by_dir: HashMap<PathBuf, Option<Arc<Repo>>> = HashMap::new();
    let mut by_root: HashMap<PathBuf, Arc<Repo>> = HashMap::new();
    for file in files.iter_mut().filter(|f| f.repo.is_none()) {
        if file.path == "<stdin>" {
            continue;
        }
        let Ok(abs) = std::path::absolute(&file.path) else {
            continue;
        };
        let Some(dir) = abs.parent() else { continue };
        let repo = by_dir
            .entry(dir.to_path_buf())
            .or_insert_with(|| {
                let root = crate::config::repo_root(dir)?;
                Some(Arc::clone(
                    by_root
                        .entry(root.clone())
                        .or_insert_with(|| Arc::new(Repo::at(&root))),
                ))
            })
            .clone();
        if let Some(repo) = repo {
            if let Ok(rel) = abs.strip_prefix(&repo.root) {
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                file.repo = Some((repo, rel));
            }
        }
    }
}

impl ScannedFile {
    pub fn new(path: String, findings: Vec<Finding>) -> ScannedFile {
        ScannedFile {
            path,
            findings,
            provenance: Vec::new(),
            repo: None,
        }
    }

    /// Keeps the findings (and their provenance) for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Finding) -> bool) {
        if self.provenance.is_empty() {
            self.findings.retain(keep);
            return;
        }
        let mut i = 0;
        let flags: Vec<bool> = self.findings.iter().map(&mut keep).collect();
        self.findings.retain(|_| {
            i += 1;
            flags[i - 1]
        });
        let mut i = 0;
        self.provenance.retain(|_| {
            i += 1;
            flags[i - 1]
        });
    }
}

/// How many findings each mechanism suppressed.
#[derive(Debug, Default)]
pub struct SuppressionCounts {
    counts: [usize; Suppression::ALL.len()],
}

impl SuppressionCounts {
    pub fn of(files: &[ScannedFile]) -> SuppressionCounts {
        let mut c = SuppressionCounts::default();
        for f in files.iter().flat_map(|f| &f.findings) {
            if let Some(s) = f.suppressed {
                if let Some(i) = Suppression::ALL.iter().position(|&x| x == s) {
                    c.counts[i] += 1;
                }
            }
        }
        c
    }

    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// `; 3 suppressed (1 inline, 2 baseline)`, or nothing.
    pub fn summary(&self) -> String {
        if self.total() == 0 {
            return String::new();
        }
        let parts: Vec<String> = Suppression::ALL
            .iter()
            .zip(self.counts)
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        format!(
            "; {} suppressed ({}; --show-suppressed lists them)",
            self.total(),
            parts.join(", ")
        )
    }
}

/// A finding's origin beyond its path: a JSON object (the `git` field of JSON output and the
/// `git` property of a SARIF result) and a compact line for human output.
pub struct Provenance {
    pub json: Value,
    pub human: String,
}

/// Everything a format needs to print a scan.
pub struct Report<'a> {
    pub scanner: &'a Scanner,
    pub files: &'a [ScannedFile],
    pub reveal: bool,
    /// The line printed on stderr after the findings (unless quiet).
    pub summary: String,
}

/// The reason of an I/O error without the `(os error N)` noise.
pub fn io_reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A secret as it may be shown without `--reveal`: at most its first 4 bytes (a quarter of it
/// for short secrets, none below 8), then a fixed mask that hides the length.
pub fn redact(secret: &[u8]) -> String {
    let keep = if secret.len() < 8 {
        0
    } else {
        (secret.len() / 4).min(4)
    };
    let prefix: String = secret[..keep]
        .iter()
        .take_while(|b| b.is_ascii_graphic())
        .map(|&b| b as char)
        .collect();
    format!("{prefix}*****")
}

/// The secret as printed: in full with `--reveal` (lossy UTF-8), otherwise redacted.
fn shown(secret: &[u8], reveal: bool) -> String {
    if reveal {
        String::from_utf8_lossy(secret).into_owned()
    } else {
        redact(secret)
    }
}

pub fn write(
    report: &Report<'_>,
    format: Format,
    color: ColorChoice,
    quiet: bool,
) -> Result<(), String> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = match format {
        Format::Human => {
            let color = match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            write_human(&mut out, report, color)
        }
        Format::Json => {
            let rows: Vec<Value> = findings(report)
                .map(|(p, f, g)| finding_json(report, p, f, g))
                .collect();
            serde_json::to_writer_pretty(&mut out, &rows)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
        }
        Format::Jsonl => findings(report).try_for_each(|(p, f, g)| {
            serde_json::to_writer(&mut out, &finding_json(report, p, f, g))?;
            writeln!(out)
        }),
        Format::Sarif => serde_json::to_writer_pretty(&mut out, &sarif(report))
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out)),
    };
    let result = result.and_then(|()| out.flush());
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(format!("cannot write output: {}", io_reason(&e))),
        Ok(()) => {}
    }
    if !quiet {
        eprintln!("{}", report.summary);
    }
    Ok(())
}

/// Every finding with its file and, for history findings, its provenance.
fn findings<'a>(
    report: &'a Report<'_>,
) -> impl Iterator<Item = (&'a ScannedFile, &'a Finding, Option<&'a Provenance>)> {
    report.files.iter().flat_map(|file| {
        file.findings
            .iter()
            .enumerate()
            .map(move |(i, f)| (file, f, file.provenance.get(i)))
    })
}

/// The JSON (and JSON Lines) form of every finding of a report.
pub fn json_rows<'a>(report: &'a Report<'_>) -> impl Iterator<Item = Value> + 'a {
    findings(report).map(|(p, f, g)| finding_json(report, p, f, g))
}

fn finding_json(
    report: &Report<'_>,
    file: &ScannedFile,
    f: &Finding,
    prov: Option<&Provenance>,
) -> Value {
    let path = file.path.as_str();
    let rule = &report.scanner.rules()[f.rule_index];
    let mut row = json!({
        "rule_id": &*f.rule_id,
        "rule_name": rule.name,
        "path": path,
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line,
        "end_column": f.end_column,
        "byte_start": f.range.start,
        "byte_end": f.range.end,
        "secret": shown(&f.secret, report.reveal),
        "redacted": !report.reveal,
        "fingerprint": f.fingerprint.to_string(),
        "entropy": (f.entropy * 1000.0).round() / 1000.0,
        "confidence": f.confidence.as_str(),
        "check_passed": f.check_passed,
        "tags": rule.tags,
        "suppressed": f.suppressed.map(Suppression::as_str),
        "decoded": f.decoded.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
    });
    if let Some((repo, rel)) = &file.repo {
        row["repository"] = repo.json(rel);
    }
    if let Some(p) = prov {
        row["git"] = p.json.clone();
    }
    row
}

fn write_human(out: &mut impl Write, report: &Report<'_>, color: bool) -> io::Result<()> {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    for (file, f, prov) in findings(report) {
        let path = file.path.as_str();
        let secret = shown(&f.secret, report.reveal)
            .replace('\r', "\\r")
            .replace('\n', "\\n");
        let conf_color = match f.confidence {
            keysweep::Confidence::High => "1;31",
            keysweep::Confidence::Medium => "33",
            keysweep::Confidence::Low => "2",
        };
        let mut suppressed = f
            .suppressed
            .map(|s| format!("  {}", paint("2", &format!("[suppressed: {s}]"))))
            .unwrap_or_default();
        if !f.decoded.is_empty() {
            let chain: Vec<&str> = f.decoded.iter().map(|e| e.as_str()).collect();
            suppressed = format!("  [decoded: {}]{suppressed}", chain.join(" > "));
        }
        writeln!(
            out,
            "{}:{}:{}  {}  {}  {}{}",
            paint("35", path),
            paint("32", &f.line.to_string()),
            f.column,
            paint("1;36", &f.rule_id),
            secret,
            paint(conf_color, f.confidence.as_str()),
            suppressed,
        )?;
        if let Some(p) = prov {
            writeln!(out, "    {}", paint("2", &p.human))?;
        }
    }
    Ok(())
}

/// The summary line of a file scan.
pub fn summary(stats: &Stats, files: &[ScannedFile], elapsed: Duration) -> String {
    let s = stats;
    let count = files
        .iter()
        .flat_map(|f| &f.findings)
        .filter(|f| f.suppressed.is_none())
        .count();
    let files = s.files.load(Ordering::Relaxed);
    let bytes = s.bytes.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    let mb = bytes as f64 / 1e6;
    let mut line = format!(
        "keysweep: {count} finding(s) in {files} file(s), {mb:.1} MB in {secs:.2} s ({:.0} MB/s)",
        if secs > 0.0 { mb / secs } else { 0.0 }
    );
    let (bin, large, errors) = (
        s.skipped_binary.load(Ordering::Relaxed),
        s.skipped_large.load(Ordering::Relaxed),
        s.errors.load(Ordering::Relaxed),
    );
    let archives = s.archives.load(Ordering::Relaxed);
    if archives > 0 {
        line += &format!(" (entries of {archives} archive(s) included)");
    }
    if bin + large > 0 {
        line += &format!("; skipped {bin} binary, {large} too large");
    }
    if errors > 0 {
        line += &format!("; {errors} error(s), see above");
    }
    line
}

fn sarif(report: &Report<'_>) -> Value {
    let rules = report.scanner.rules();
    // Only the rules with results, in first-seen order; results point at them by index.
    let mut used: Vec<usize> = Vec::new();
    let mut index_of = vec![usize::MAX; rules.len()];
    let mut results = Vec::new();
    for (file, f, prov) in findings(report) {
        let path = file.path.as_str();
        if index_of[f.rule_index] == usize::MAX {
            index_of[f.rule_index] = used.len();
            used.push(f.rule_index);
        }
        let rule = &rules[f.rule_index];
        let mut properties = json!({ "confidence": f.confidence.as_str(), "entropy": (f.entropy * 1000.0).round() / 1000.0 });
        if !f.decoded.is_empty() {
            properties["decoded"] = json!(f.decoded.iter().map(|e| e.as_str()).collect::<Vec<_>>());
        }
        if let Some(p) = prov {
            properties["git"] = p.json.clone();
        }
        if let Some((repo, rel)) = &file.repo {
            properties["repository"] = repo.json(rel);
        }
        let mut result = json!({
            "ruleId": &*f.rule_id,
            "ruleIndex": index_of[f.rule_index],
            "level": sarif_level(f.confidence),
            "message": { "text": format!("{} ({}): {}", rule.name, f.confidence, shown(&f.secret, report.reveal)) },
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": { "uri": uri_reference(path), "uriBaseId": "%SRCROOT%" },
                    "region": {
                        "startLine": f.line,
                        "startColumn": f.column,
                        "endLine": f.end_line,
                        "endColumn": f.end_column,
                    }
                }
            }],
            "partialFingerprints": { "keysweep/fingerprint/v1": f.fingerprint.to_string() },
            "properties": properties,
        });
        if let Some(s) = f.suppressed {
            // SARIF's own suppression object: code scanning shows these as dismissed.
            let (kind, why) = match s {
                Suppression::Inline => ("inSource", "keysweep:allow comment"),
                Suppression::Baseline => ("external", "in the keysweep baseline"),
                Suppression::Allowlist => (
                    "external",
                    "value allowlisted in the keysweep configuration",
                ),
                Suppression::Placeholder => ("external", "placeholder or example value"),
                _ => ("external", "suppressed"),
            };
            result["suppressions"] =
                json!([{ "kind": kind, "status": "accepted", "justification": why }]);
        }
        results.push(result);
    }
    let driver_rules: Vec<Value> = used
        .iter()
        .map(|&i| {
            let r = &rules[i];
            let mut tags = vec!["security".to_string(), "secret".to_string()];
            tags.extend(r.tags.iter().cloned());
            json!({
                "id": &*r.id,
                "name": r.name,
                "shortDescription": { "text": r.name },
                "fullDescription": { "text": if r.description.is_empty() { &r.name } else { &r.description } },
                "help": { "text": format!("{} Rotate the secret, then remove it from the code and its history.", r.description) },
                "helpUri": r.references.first().cloned().unwrap_or_else(|| env!("CARGO_PKG_REPOSITORY").to_string()),
                "defaultConfiguration": { "level": sarif_level(r.confidence) },
                "properties": {
                    "tags": tags,
                    "precision": match r.confidence { keysweep::Confidence::High => "high", keysweep::Confidence::Medium => "medium", keysweep::Confidence::Low => "low" },
                    "security-severity": match r.confidence { keysweep::Confidence::High => "9.0", keysweep::Confidence::Medium => "7.0", keysweep::Confidence::Low => "5.0" },
                }
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "keysweep",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": driver_rules,
            }},
            "results": results,
        }]
    })
}

fn sarif_level(c: keysweep::Confidence) -> &'static str {
    match c {
        keysweep::Confidence::High | keysweep::Confidence::Medium => "error",
        keysweep::Confidence::Low => "warning",
    }
}

/// A relative URI reference for a path: `/` separators, RFC 3986 unreserved bytes kept,
/// everything else percent-encoded.
fn uri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            b'\\' => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// How often the progress bar may redraw.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(120);

/// A spinner with counts on stderr, drawn only when stderr is a terminal.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    /// Milliseconds after `started` of the last redraw; threads race for the next one with a
    /// compare-exchange, so the scanning loop takes no lock.
    last_ms: AtomicU64,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        let bar = enabled.then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} scanning: {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    /// Updates the message at most every [`PROGRESS_INTERVAL`]; never blocks a scanning thread.
    pub fn tick(&self, stats: &Stats) {
        let Some(bar) = &self.bar else { return };
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_ms.load(Ordering::Relaxed);
        if now < last + PROGRESS_INTERVAL.as_millis() as u64
            || self
                .last_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        bar.set_message(format!(
            "{} files, {:.1} MB",
            stats.files.load(Ordering::Relaxed),
            stats.bytes.load(Ordering::Relaxed) as f64 / 1e6
        ));
        bar.tick();
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_all_but_a_short_prefix() {
        assert_eq!(
            redact(b"ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u"),
            "ghp_*****"
        );
        assert_eq!(redact(b"hunter2"), "*****");
        assert_eq!(redact(b"Vq7!rT2#pLx9"), "Vq7*****");
        assert_eq!(redact(b"-----BEGIN\nabc"), "---*****");
    }

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(uri_reference("src/a b.rs"), "src/a%20b.rs");
        assert_eq!(uri_reference("dir\\x#1"), "dir/x%231");
    }
}
