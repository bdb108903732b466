//! `keysweep revoke`: scan, then revoke the found credentials whose provider lets a
//! credential revoke itself (`[rule.revoke]`), after confirmation.

use std::io::{BufRead, IsTerminal, Write};

use keysweep_report::shown;
use keysweep_validate::RevokeOutcome;

use crate::args::RevokeArgs;
use crate::cmd::{EXIT_ERROR, EXIT_FINDINGS};
use crate::collect::{collect, Ui};
use crate::messages;
use crate::plan::Plan;

pub fn run(args: RevokeArgs) -> Result<u8, String> {
    let scan = &args.scan;
    let plan = Plan::for_scan(scan)?;
    let ui = Ui {
        progress: !scan.output.quiet.no_progress,
        verbose: scan.output.quiet.verbose,
    };
    let collected = collect(&plan, ui)?;
    let rules = plan.scanner.rules();
    let validator = scan.validate.validator()?;
    let wanted = |h: &keysweep_source::Hit| {
        let f = &h.finding;
        f.suppressed.is_none()
            && (args.fingerprint.is_empty()
                || args
                    .fingerprint
                    .iter()
                    .any(|fp| *fp == f.fingerprint.to_string()))
            && (args.rule.is_empty() || args.rule.iter().any(|r| **r == *f.rule_id))
    };
    // One revocation per distinct credential, whatever the number of its findings.
    let mut seen = std::collections::HashSet::new();
    let mut candidates = Vec::new();
    let mut unsupported = 0usize;
    for h in collected.hits.iter().filter(|h| wanted(h)) {
        if rules[h.finding.rule_index].revoke.is_none() {
            unsupported += 1;
            continue;
        }
        if seen.insert((h.finding.rule_id.clone(), h.finding.fingerprint)) {
            candidates.push(h);
        }
    }
    if candidates.is_empty() {
        messages::summary(&format!(
            "revoke: nothing to revoke ({unsupported} matching finding(s) of rules whose provider offers no self-revocation)"
        ));
        return Ok(if collected.errors { EXIT_ERROR } else { 0 });
    }
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !args.dry_run && !interactive {
        return Err(format!(
            "{} credential(s) to revoke, and no terminal to confirm on: pass --yes (or --dry-run to see the requests)",
            candidates.len()
        ));
    }
    let mut stdin = std::io::stdin().lock();
    let (mut revoked, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    for h in candidates {
        let f = &h.finding;
        let rule = &rules[f.rule_index];
        let what = format!(
            "{}:{}  {}  {}",
            keysweep_report::terminal_safe(&h.location.display()),
            f.line,
            f.rule_id,
            shown(&f.secret, false)
        );
        if args.dry_run {
            match validator.revoke(rule, f, true) {
                RevokeOutcome::DryRun(req) => {
                    println!("{what}\n  would send:\n{}", indent(&req.to_string()))
                }
                other => println!("{what}\n  cannot revoke: {}", reason(&other)),
            }
            continue;
        }
        if !args.yes {
            eprint!("revoke {what}? [y/N] ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            if stdin.read_line(&mut answer).is_err() || !answer.trim().eq_ignore_ascii_case("y") {
                skipped += 1;
                continue;
            }
        }
        match validator.revoke(rule, f, false) {
            RevokeOutcome::Revoked { reason } => {
                revoked += 1;
                println!("{what}  revoked ({reason})");
            }
            other => {
                failed += 1;
                println!("{what}  NOT revoked: {}", reason(&other));
            }
        }
    }
    if !args.dry_run {
        messages::summary(&format!(
            "revoke: {revoked} revoked, {failed} not revoked, {skipped} skipped; {unsupported} matching finding(s) of rules without self-revocation"
        ));
    }
    Ok(if collected.errors {
        EXIT_ERROR
    } else if failed > 0 {
        EXIT_FINDINGS
    } else {
        0
    })
}

fn reason(o: &RevokeOutcome) -> String {
    match o {
        RevokeOutcome::Revoked { reason }
        | RevokeOutcome::NotRevoked { reason }
        | RevokeOutcome::Unsupported { reason }
        | RevokeOutcome::Error { reason } => reason.clone(),
        RevokeOutcome::DryRun(_) => "dry run".into(),
        _ => "no answer".into(),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
