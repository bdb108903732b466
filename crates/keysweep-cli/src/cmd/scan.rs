//! `keysweep scan`.

use std::io::IsTerminal;

use keysweep::Suppression;
use keysweep_report::{inventory, Format, Inventory, Report};

use crate::args::{ColorChoice, ScanArgs};
use crate::cmd::{EXIT_ERROR, EXIT_FINDINGS};
use crate::collect::{collect, Ui};
use crate::plan::{Job, Plan};
use crate::{messages, stdout, validation};

/// Printed on stderr when a staged scan finds something: how to fix or suppress it.
const ADVICE: &str = "\
keysweep: the commit would add the secret(s) above.
  fix:      remove the secret from the file (read it from the environment or a secret
            manager instead), `git add` the file again, and rotate the secret if it was
            ever pushed or shared.
  suppress: if it is not a secret (a test fixture, a public key), add a comment with
            `keysweep:allow` (or `keysweep:allow=RULE_ID`) on that line or the line above;
            or record it in a baseline: keysweep baseline create -o .keysweep-baseline.json
            (then set `baseline` in .keysweep.toml, or pass --baseline).
  bypass:   git commit --no-verify (once; the secret still lands in history).
";

pub fn run(args: ScanArgs) -> Result<u8, String> {
    let out = &args.output;
    if args.group && out.format == crate::args::Format::Sarif {
        return Err("--group prints human, json or jsonl output, not sarif".into());
    }
    let plan = Plan::for_scan(&args)?;
    args.validate.check(plan.validate)?;
    let ui = Ui {
        progress: !out.quiet.no_progress,
        verbose: out.quiet.verbose,
    };
    let mut collected = collect(&plan, ui)?;

    let counts = suppression_counts(&collected.hits);
    if !out.show_suppressed {
        collected.hits.retain(|h| h.finding.suppressed.is_none());
    }
    let mut validations = Vec::new();
    let mut validated = String::new();
    if args.validate.enabled() || plan.validate {
        (validations, validated) =
            validation::validate_hits(&args.validate, plan.scanner.rules(), &collected.hits)?;
        if args.validate.only_live {
            validation::only_live(&mut collected.hits, &mut validations);
        }
    }
    let reported = collected
        .hits
        .iter()
        .filter(|h| h.finding.suppressed.is_none())
        .count();
    let mut summary = collected.summary.clone() + &counts + &validated;
    let changes = matches!(plan.job, Job::Changes { .. });
    if collected.excluded > 0 && !changes {
        summary += &format!("; {} path(s) excluded by allow.paths", collected.excluded);
    }

    if args.group {
        // One history's inventory: one entry per distinct secret.
        let mut inv = Inventory::new(200);
        let rules = plan.scanner.rules();
        for (i, h) in collected.hits.iter().enumerate() {
            if h.finding.suppressed.is_some() {
                continue;
            }
            let mut record = keysweep_report::Record::new(h, &rules[h.finding.rule_index], false);
            record.validation = validations.get(i).cloned().flatten();
            inv.add(&record);
        }
        let doc = inv.finish(
            keysweep_source::dates::today(),
            &mut keysweep_report::codeowners::read,
        );
        stdout::write(|w| match out.format {
            crate::args::Format::Json => {
                serde_json::to_writer_pretty(&mut *w, &doc)?;
                writeln!(w)
            }
            crate::args::Format::Jsonl => doc.secrets.iter().try_for_each(|s| {
                serde_json::to_writer(&mut *w, s)?;
                writeln!(w)
            }),
            _ => w.write_all(inventory::human(&doc).as_bytes()),
        })?;
    } else {
        let color = match out.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let name_repositories = matches!(&plan.job, Job::History { repos, .. } if repos.len() > 1);
        let report = Report {
            scanner: &plan.scanner,
            hits: &collected.hits,
            reveal: out.reveal,
            color,
            name_repositories,
            validations: &validations,
        };
        let format = match out.format {
            crate::args::Format::Human => Format::Human,
            crate::args::Format::Json => Format::Json,
            crate::args::Format::Jsonl => Format::Jsonl,
            crate::args::Format::Sarif => Format::Sarif,
        };
        stdout::write(|w| report.write(w, format))?;
    }
    if !out.quiet.quiet && !summary.is_empty() {
        messages::summary(&summary);
    }
    let staged = matches!(&plan.job, Job::Changes { scan, .. } if scan.kinds().contains(&"staged"));
    if staged && reported > 0 && !out.quiet.quiet {
        eprint!("{ADVICE}");
    }
    let status = if collected.errors {
        EXIT_ERROR
    } else if reported > 0 {
        EXIT_FINDINGS
    } else {
        0
    };
    // The process exits with this status: freeing the rules compiled during the scan, one
    // by one, would only delay that (about 2 % of a scan of the rails tree, callgrind).
    std::mem::forget(plan);
    Ok(status)
}

/// `; 3 suppressed (1 inline, 2 baseline; --show-suppressed lists them)`, or nothing.
pub fn suppression_counts(hits: &[keysweep_source::Hit]) -> String {
    let mut counts = [0usize; Suppression::ALL.len()];
    for h in hits {
        if let Some(s) = h.finding.suppressed {
            if let Some(i) = Suppression::ALL.iter().position(|&x| x == s) {
                counts[i] += 1;
            }
        }
    }
    let total: usize = counts.iter().sum();
    if total == 0 {
        return String::new();
    }
    let parts: Vec<String> = Suppression::ALL
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    format!(
        "; {total} suppressed ({}; --show-suppressed lists them)",
        parts.join(", ")
    )
}
