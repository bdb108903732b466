//! `keysweep sweep`: many repositories, an incremental cache, an audit log.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keysweep_sweep::{RepoSpec, Sweep};
use sha2::{Digest, Sha256};

use crate::args::SweepArgs;
use crate::cmd::EXIT_ERROR;
use crate::config::Config;
use crate::messages;
use crate::plan::{read_list, scanner_for, ScannerSettings};

pub fn run(args: SweepArgs) -> Result<u8, String> {
    let mut specs: Vec<RepoSpec> = args.repos.iter().map(|r| RepoSpec::parse(r)).collect();
    if let Some(file) = &args.repos_from {
        specs.extend(read_list(file)?.iter().map(|l| RepoSpec::parse(l)));
    }
    let mut listing_failed = false;
    let mut headers: Vec<(String, String)> = Vec::new();
    let env_token = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    };
    let mut list = |found: Result<Vec<keysweep_sweep::Listed>, String>,
                    token: &Option<String>,
                    user: &str,
                    specs: &mut Vec<RepoSpec>| match found {
        Ok(found) => {
            for repo in &found {
                if let (Some(t), Some(host)) = (token, host_of(&repo.clone_url)) {
                    if !headers.iter().any(|(h, _)| *h == host) {
                        headers.push((host, keysweep_sweep::basic_auth(user, t)));
                    }
                }
            }
            specs.extend(found.into_iter().map(|r| RepoSpec::Url(r.clone_url)));
        }
        Err(e) => {
            messages::error(&e);
            listing_failed = true;
        }
    };
    if !args.github_org.is_empty() {
        let token = env_token(&["GITHUB_TOKEN", "GH_TOKEN"]);
        let lister =
            keysweep_sweep::Lister::new(&args.github_api, token.clone()).quiet(args.quiet.quiet);
        for org in &args.github_org {
            list(lister.github_org(org), &token, "x-access-token", &mut specs);
        }
    }
    if !args.gitlab_group.is_empty() {
        let token = env_token(&["GITLAB_TOKEN"]);
        let lister =
            keysweep_sweep::Lister::new(&args.gitlab_api, token.clone()).quiet(args.quiet.quiet);
        for group in &args.gitlab_group {
            list(
                lister.gitlab_group(group, args.include_subgroups),
                &token,
                "oauth2",
                &mut specs,
            );
        }
    }
    // A repository named twice (in a list and an organisation) is swept once.
    let mut seen = std::collections::HashSet::new();
    specs.retain(|s| seen.insert(s.key()));
    if specs.is_empty() {
        if listing_failed {
            return Ok(EXIT_ERROR);
        }
        return Err("nothing to sweep: give repositories (paths or URLs), --repos-from FILE, --github-org or --gitlab-group".into());
    }
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let settings = ScannerSettings {
        rules: &args.rules,
        min_confidence: args.min_confidence.map(|m| m.get()),
        fingerprint_key: args.fingerprint_key.as_deref(),
        decode_depth: args.decode_depth,
        no_decode: &[],
        baseline: args.baseline.as_deref(),
        prefilter: true,
        keep_dropped: false,
    };
    let (scanner, gitleaks_paths) = scanner_for(&settings, &config)?;
    args.validate.check(false)?;
    // The rules, kept for --validate (the scanner moves into the sweep).
    let rules: Vec<keysweep::Rule> = if args.validate.enabled() {
        scanner.rules().to_vec()
    } else {
        Vec::new()
    };
    let max_file_size = args
        .max_file_size
        .or(config.max_file_size)
        .unwrap_or(keysweep_source::DEFAULT_MAX_FILE_SIZE);
    let mut sweep = Sweep::new(scanner, &args.workdir)
        .options_key(options_key(&args, &config)?)
        .jobs(args.jobs)
        .max_blob_size(max_file_size)
        .scan_binary(args.scan_binary)
        .audit_log(args.out.join("audit.jsonl"));
    if let Some(n) = args.threads {
        sweep = sweep.threads(n);
    }
    // The configuration's allow.paths, against paths in each repository.
    if !config.exclude.is_empty() {
        let filter =
            keysweep_source::PathFilter::new(config.exclude.iter().map(|g| &g.value), None)
                .map_err(|e| {
                    format!(
                        "{}: allow.paths: {}",
                        config.locate(config.exclude[e.index].line),
                        e.reason
                    )
                })?;
        sweep = sweep.allow_paths(filter);
    }
    for (host, header) in headers {
        sweep = sweep.http_header(host, header);
    }
    std::fs::create_dir_all(&args.out).map_err(|e| {
        format!(
            "cannot create {}: {}",
            args.out.display(),
            keysweep_source::io_reason(&e)
        )
    })?;

    let show = !args.quiet.no_progress && !args.quiet.quiet && std::io::stderr().is_terminal();
    let done = Arc::new(AtomicBool::new(false));
    let ticker = show.then(|| {
        let progress = sweep.progress();
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let started = Instant::now();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(250));
                let (n, total, blobs, bytes, findings) = progress.snapshot();
                let eta = if n > 0 && n < total {
                    let per = started.elapsed().as_secs_f64() / n as f64;
                    format!(", ETA {}", human_secs(per * (total - n) as f64))
                } else {
                    String::new()
                };
                eprint!(
                    "\r\x1b[2Ksweep: {n}/{total} repositories, {blobs} blobs, {:.1} MB, {findings} finding(s){eta}",
                    bytes as f64 / 1e6
                );
            }
            eprint!("\r\x1b[2K");
        })
    });
    let outcome = sweep.run(&specs);
    done.store(true, Ordering::Relaxed);
    if let Some(t) = ticker {
        let _ = t.join();
    }
    let outcome = outcome.map_err(|e| e.to_string())?;
    for note in &outcome.notes {
        messages::warning(note);
    }
    let as_of = args.as_of.unwrap_or_else(keysweep_source::dates::today);
    let mut outcome = outcome;
    let complete = outcome.complete();
    // The global allowlist paths of a gitleaks configuration, as `scan` applies them.
    if let Some(m) = &gitleaks_paths {
        for r in &mut outcome.repos {
            for rec in &mut r.records {
                if rec.suppressed.is_none()
                    && rec.location.path.as_deref().is_some_and(|p| m.is_match(p))
                {
                    rec.suppressed = Some(keysweep::Suppression::Allowlist);
                }
            }
        }
    }
    if !args.show_suppressed {
        for r in &mut outcome.repos {
            r.records.retain(|rec| rec.suppressed.is_none());
        }
    }
    let validated = if args.validate.enabled() {
        crate::validation::validate_records(
            &args.validate,
            Some(args.workdir.join("validation.redb")),
            &rules,
            &mut outcome.repos,
        )?
    } else {
        String::new()
    };
    keysweep_sweep::write_results(&args.out, &outcome, args.reveal, as_of).map_err(|e| {
        format!(
            "cannot write the results into {}: {}",
            args.out.display(),
            keysweep_source::io_reason(&e)
        )
    })?;
    let mut failed = 0;
    let (mut scanned, mut cached, mut findings) = (0, 0, 0);
    for r in &outcome.repos {
        let a = &r.audit;
        scanned += a.blobs_scanned;
        cached += a.blobs_cached;
        findings += a.findings;
        if let Some(e) = &a.error {
            failed += 1;
            messages::error(&format!("{}: {e}", a.repo));
        }
        for p in &a.problems {
            // A cache that cannot be written is always said; other problems (unreadable
            // objects) with --verbose, as `scan --git` does.
            if args.quiet.verbose || p.starts_with("cache ") {
                messages::warning(&format!("{}: {p}", a.repo));
            }
        }
    }
    if !args.quiet.quiet {
        messages::summary(&(format!(
            "sweep: {} of {} repositor{} swept ({} failed), {} finding(s); {} blob(s) scanned, {} from the cache; results in {}",
            outcome.repos.len() - failed,
            outcome.repos.len(),
            if outcome.repos.len() == 1 { "y" } else { "ies" },
            failed,
            findings,
            scanned,
            cached,
            args.out.display()
        ) + &validated));
    }
    // The process ends right after this: freeing every finding of every repository one by one
    // (tens of thousands of records, each a dozen strings) would cost a re-sweep a tenth of its
    // time.
    std::mem::forget(outcome);
    Ok(if complete && !listing_failed {
        0
    } else {
        EXIT_ERROR
    })
}

/// What besides the rules shapes the findings, for the cache key: a hash of the files and
/// settings (never the fingerprint key itself).
fn options_key(args: &SweepArgs, config: &Config) -> Result<String, String> {
    let mut h = Sha256::new();
    let file = |h: &mut Sha256, p: Option<&Path>| -> Result<(), String> {
        if let Some(p) = p {
            let bytes = std::fs::read(p).map_err(|e| {
                format!(
                    "cannot read {}: {}",
                    p.display(),
                    keysweep_source::io_reason(&e)
                )
            })?;
            h.update(&bytes);
        }
        h.update(b"\0");
        Ok(())
    };
    file(&mut h, args.config.as_deref())?;
    file(
        &mut h,
        args.baseline.as_deref().or(config.baseline.as_deref()),
    )?;
    h.update(format!(
        "{:?}\0{:?}\0{}\0",
        args.min_confidence.map(|m| m.get()),
        args.decode_depth,
        args.fingerprint_key.is_some()
    ));
    if let Some(k) = &args.fingerprint_key {
        h.update(Sha256::digest(k.as_bytes()));
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The lowercase host of an `http(s)://` URL.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let host = authority.rsplit('@').next()?;
    Some(host.split(':').next()?.to_ascii_lowercase())
}

fn human_secs(s: f64) -> String {
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
