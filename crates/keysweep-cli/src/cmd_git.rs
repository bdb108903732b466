//! `keysweep scan --git`: scan repositories' history, print findings with provenance.

use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::time::Instant;

use keysweep_git::{group, History, HistoryScan};
use serde_json::json;

use crate::cmd_scan::{Collected, Setup, Stats};
use crate::output::{self, Provenance, ScannedFile};
use crate::{Format, InputArgs, ScanArgs};

/// Refs listed per finding in JSON; the total is always given.
const MAX_REFS_JSON: usize = 100;
/// Refs listed per finding in human output.
const MAX_REFS_HUMAN: usize = 3;

/// Scans the history of every repository in `input.paths`.
pub fn collect(
    input: &InputArgs,
    setup: &Setup,
    progress: bool,
    started: Instant,
) -> Result<Collected, String> {
    let stats = Stats::default();
    let progress = output::Progress::new(progress);
    let tick = |blobs: u64, bytes: u64| {
        stats.files.store(blobs, Ordering::Relaxed);
        stats.bytes.store(bytes, Ordering::Relaxed);
        progress.tick(&stats);
    };
    let mut histories = Vec::new();
    let mut problems = 0usize;
    for path in &input.paths {
        if path.as_os_str() == "-" {
            return Err("--git scans repositories, not standard input".into());
        }
        let mut scan = HistoryScan::new(&setup.scanner)
            .include_unreachable(input.unreachable)
            .scan_binary(input.scan_binary)
            .max_blob_size(setup.max_file_size)
            .progress(&tick);
        if let Some(n) = input.threads {
            scan = scan.threads(n);
        }
        if let Some(rev) = &input.since {
            scan = scan.since(rev.clone());
        }
        if let Some(b) = &input.branch {
            scan = scan.branch(b.clone());
        }
        let mut history = scan.run(path).map_err(|e| e.to_string())?;
        for p in &history.problems {
            eprintln!("keysweep: error: {}: {p}", history.repository.display());
        }
        problems += history.problems.len();
        if history.shallow {
            eprintln!(
                "keysweep: warning: {} is a shallow clone: history before its boundary was not scanned",
                history.repository.display()
            );
        }
        if !history.submodules.is_empty() {
            let names: Vec<&str> = history.submodules.iter().map(|s| s.path.as_str()).collect();
            eprintln!(
                "keysweep: note: {} submodule(s) not scanned (scan their repositories separately): {}",
                names.len(),
                names.join(", ")
            );
        }
        let min = setup.min_confidence;
        history.findings.retain(|f| f.finding.confidence >= min);
        if !setup.exclude.is_empty() {
            history
                .findings
                .retain(|f| !f.path.as_deref().is_some_and(|p| setup.exclude.relative(p)));
        }
        histories.push(history);
    }
    progress.finish();
    let files: Vec<ScannedFile> = histories
        .iter()
        .flat_map(|h| scanned_files(h, input.paths.len() > 1))
        .collect();
    Ok(Collected {
        files,
        summary: summary(&histories, problems, started),
        errors: problems > 0,
        histories,
    })
}

/// One entry per finding, with its provenance.
fn scanned_files(h: &History, name_repo: bool) -> Vec<ScannedFile> {
    let repo = std::sync::Arc::new(output::Repo::at(&h.repository));
    h.findings
        .iter()
        .map(|f| {
            let path = match &f.path {
                Some(p) if name_repo => format!("{}:{p}", h.repository.display()),
                Some(p) => p.clone(),
                None => format!("<unreachable blob {}>", f.blob),
            };
            ScannedFile {
                path,
                findings: vec![f.finding.clone()],
                provenance: vec![provenance(h, f)],
                repo: f.path.as_ref().map(|p| (repo.clone(), p.clone())),
            }
        })
        .collect()
}

fn provenance(h: &History, f: &keysweep_git::BlobFinding) -> Provenance {
    let commit = f.commit.map(|c| &h.commits[c]);
    let refs: Vec<&str> = commit
        .map(|c| {
            c.refs
                .iter()
                .take(MAX_REFS_JSON)
                .map(|&r| h.refs[r as usize].as_str())
                .collect()
        })
        .unwrap_or_default();
    let refs_total = commit.map_or(0, |c| c.refs.len());
    let json = json!({
        "repository": h.repository.display().to_string(),
        "blob": f.blob.to_string(),
        "commit": commit.map(|c| c.id.to_string()),
        "author_name": commit.map(|c| c.author_name.as_str()),
        "author_email": commit.map(|c| c.author_email.as_str()),
        "date": commit.map(|c| iso_date(c.time, c.offset)),
        "summary": commit.map(|c| c.summary.as_str()),
        "refs": refs,
        "refs_total": refs_total,
        "present_at_head": f.present_at_head,
        "reachable": f.path.is_some(),
    });
    let mut human = match commit {
        Some(c) => format!(
            "introduced in {} {} by {} <{}>: {}",
            short(&c.id),
            &iso_date(c.time, c.offset)[..10],
            c.author_name,
            c.author_email,
            c.summary
        ),
        None if f.path.is_some() => "reachable only through a tag on a tree or blob".into(),
        None => "in no ref's history (unreachable)".into(),
    };
    if !refs.is_empty() {
        human += &format!("; refs {}", short_list(&refs, refs_total));
    }
    human += if f.present_at_head {
        "; still at HEAD"
    } else {
        "; not at HEAD (history only)"
    };
    Provenance { json, human }
}

fn short(id: &keysweep_git::ObjectId) -> String {
    id.to_hex_with_len(10).to_string()
}

fn short_list(refs: &[&str], total: usize) -> String {
    let mut s = refs
        .iter()
        .take(MAX_REFS_HUMAN)
        .map(|r| r.strip_prefix("refs/heads/").unwrap_or(r))
        .collect::<Vec<_>>()
        .join(", ");
    if total > MAX_REFS_HUMAN {
        s += &format!(" (+{} more)", total - MAX_REFS_HUMAN);
    }
    s
}

pub fn write_groups(histories: &[History], args: &ScanArgs) -> Result<(), String> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut rows = Vec::new();
    let mut human = String::new();
    for h in histories {
        for g in group(h) {
            let first = &h.findings[g.first];
            let last = &h.findings[g.last];
            let commit_json = |f: &keysweep_git::BlobFinding| {
                f.commit.map(|c| {
                    let c = &h.commits[c];
                    json!({
                        "commit": c.id.to_string(),
                        "author_name": c.author_name,
                        "author_email": c.author_email,
                        "date": iso_date(c.time, c.offset),
                        "summary": c.summary,
                        "path": f.path,
                    })
                })
            };
            let refs: Vec<&str> = g
                .refs
                .iter()
                .take(MAX_REFS_JSON)
                .map(|&r| h.refs[r as usize].as_str())
                .collect();
            let secret = if args.reveal {
                String::from_utf8_lossy(&first.finding.secret).into_owned()
            } else {
                output::redact(&first.finding.secret)
            };
            rows.push(json!({
                "repository": h.repository.display().to_string(),
                "fingerprint": g.fingerprint.to_string(),
                "rule_id": &*g.rule_id,
                "confidence": g.confidence.as_str(),
                "secret": secret,
                "redacted": !args.reveal,
                "first_seen": commit_json(first),
                "last_seen": commit_json(last),
                "findings": g.findings.len(),
                "blobs": g.blobs,
                "paths": g.paths,
                "refs": refs,
                "refs_total": g.refs.len(),
                "present_at_head": g.present_at_head,
            }));
            let when = |f: &keysweep_git::BlobFinding| {
                f.commit.map_or("unreachable".to_string(), |c| {
                    let c = &h.commits[c];
                    format!("{} {}", short(&c.id), &iso_date(c.time, c.offset)[..10])
                })
            };
            human += &format!(
                "{}  {}  {}  {} blob(s), {} path(s)  first {}  last {}{}\n    paths: {}\n",
                g.rule_id,
                secret,
                g.confidence.as_str(),
                g.blobs,
                g.paths.len(),
                when(first),
                when(last),
                if g.present_at_head {
                    "  still at HEAD"
                } else {
                    "  history only"
                },
                g.paths
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
                    + &if g.paths.len() > 5 {
                        format!(" (+{} more)", g.paths.len() - 5)
                    } else {
                        String::new()
                    },
            );
            if !refs.is_empty() {
                human += &format!("    refs: {}\n", short_list(&refs, g.refs.len()));
            }
        }
    }
    let result = match args.format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &rows)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out)),
        Format::Jsonl => rows.iter().try_for_each(|r| {
            serde_json::to_writer(&mut out, r)?;
            writeln!(out)
        }),
        _ => out.write_all(human.as_bytes()),
    };
    match result.and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write output: {}", output::io_reason(&e))),
        Ok(()) => Ok(()),
    }
}

fn summary(histories: &[History], problems: usize, started: Instant) -> String {
    let reported = |h: &'_ History| {
        h.findings
            .iter()
            .filter(|f| f.finding.suppressed.is_none())
            .count()
    };
    let findings: usize = histories.iter().map(reported).sum();
    let secrets: usize = histories
        .iter()
        .map(|h| {
            h.findings
                .iter()
                .filter(|f| f.finding.suppressed.is_none())
                .map(|f| f.finding.fingerprint)
                .collect::<std::collections::HashSet<_>>()
                .len()
        })
        .sum();
    let (mut blobs, mut bytes, mut commits, mut objects, mut dropped) = (0, 0, 0, 0, 0);
    let (mut read, mut walk) = (0.0, 0.0);
    for h in histories {
        read += h.stats.read_time.as_secs_f64();
        walk += h.stats.walk_time.as_secs_f64();
        blobs += h.stats.blobs_scanned;
        bytes += h.stats.blob_bytes;
        commits += h.stats.commits;
        objects += h.stats.objects;
        dropped += h.stats.unreachable_findings_dropped;
    }
    let secs = started.elapsed().as_secs_f64();
    let mb = bytes as f64 / 1e6;
    let mut line = format!(
        "keysweep: {findings} finding(s) of {secrets} distinct secret(s) in {blobs} blob(s) of {commits} commit(s) ({objects} objects read), {mb:.1} MB in {secs:.2} s ({:.0} MB/s; reading {read:.2} s, history walk {walk:.2} s)",
        if secs > 0.0 { mb / secs } else { 0.0 }
    );
    if dropped > 0 {
        line += &format!("; {dropped} finding(s) in unreachable blobs not shown (--unreachable)");
    }
    if problems > 0 {
        line += &format!("; {problems} object(s) or file(s) could not be read, see above");
    }
    line
}

/// `YYYY-MM-DDTHH:MM:SS±HH:MM` in the author's own offset.
fn iso_date(seconds: i64, offset: i32) -> String {
    let local = seconds + i64::from(offset);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = crate::inventory::civil_from_days(days);
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        off / 3600,
        off % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::iso_date;

    #[test]
    fn dates() {
        assert_eq!(iso_date(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso_date(951_782_400, 0), "2000-02-29T00:00:00+00:00");
        assert_eq!(iso_date(1_700_000_000, 3600), "2023-11-14T23:13:20+01:00");
        assert_eq!(
            iso_date(1_700_000_000, -5 * 3600 - 1800),
            "2023-11-14T16:43:20-05:30"
        );
    }
}
