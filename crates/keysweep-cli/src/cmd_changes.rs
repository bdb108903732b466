//! `keysweep scan --staged/--unstaged/--untracked`: a repository's pending changes, findings
//! on added lines only.

use std::time::Instant;

use keysweep_git::ChangeScan;
use serde_json::json;

use crate::cmd_scan::{Collected, Setup};
use crate::output::{Provenance, ScannedFile};
use crate::InputArgs;

pub fn collect(input: &InputArgs, setup: &Setup, started: Instant) -> Result<Collected, String> {
    let repo = match input.paths.as_slice() {
        [one] if one.as_os_str() != "-" => one,
        _ => return Err("--staged, --unstaged and --untracked take one repository path".into()),
    };
    let exclude = |path: &str| setup.exclude.relative(path);
    let mut scan = ChangeScan::new(&setup.scanner)
        .staged(input.staged)
        .unstaged(input.unstaged)
        .untracked(input.untracked)
        .scan_binary(input.scan_binary)
        .max_size(setup.max_file_size);
    if !setup.exclude.is_empty() {
        scan = scan.exclude(&exclude);
    }
    let changes = scan.run(repo).map_err(|e| e.to_string())?;
    for p in &changes.problems {
        eprintln!("keysweep: error: {p}");
    }

    let repo = std::sync::Arc::new(crate::output::Repo::at(&changes.workdir));
    let mut files: Vec<ScannedFile> = Vec::new();
    for f in changes.findings {
        if f.finding.confidence < setup.min_confidence {
            continue;
        }
        let mut git = json!({ "change": f.change.as_str() });
        if let Some(blob) = f.blob {
            git["blob"] = json!(blob.to_string());
        }
        let prov = Provenance {
            json: git,
            human: format!("{} change", f.change.as_str()),
        };
        match files.last_mut() {
            Some(last) if last.path == f.path => {
                last.findings.push(f.finding);
                last.provenance.push(prov);
            }
            _ => files.push(ScannedFile {
                repo: Some((repo.clone(), f.path.clone())),
                path: f.path,
                findings: vec![f.finding],
                provenance: vec![prov],
            }),
        }
    }

    let kinds: Vec<&str> = [
        (input.staged, "staged"),
        (input.unstaged, "unstaged"),
        (input.untracked, "untracked"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| *name)
    .collect();
    let reported = files
        .iter()
        .flat_map(|f| &f.findings)
        .filter(|f| f.suppressed.is_none())
        .count();
    let s = &changes.stats;
    let mut summary = format!(
        "keysweep: {reported} finding(s) on added lines in {} changed file(s) ({}), {:.1} KB in {:.3} s",
        s.files,
        kinds.join(", "),
        s.bytes as f64 / 1e3,
        started.elapsed().as_secs_f64()
    );
    if s.skipped_binary + s.skipped_large > 0 {
        summary += &format!(
            "; skipped {} binary, {} too large",
            s.skipped_binary, s.skipped_large
        );
    }
    if s.excluded > 0 {
        summary += &format!("; {} excluded by allow.paths", s.excluded);
    }
    if !changes.problems.is_empty() {
        summary += &format!("; {} error(s), see above", changes.problems.len());
    }
    Ok(Collected {
        files,
        summary,
        errors: !changes.problems.is_empty(),
        histories: Vec::new(),
    })
}
