//! `keysweep inventory`: one entry per distinct secret across saved scan results and
//! repositories scanned now.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use keysweep_report::{inventory, Inventory, Record};

use crate::args::{InventoryArgs, InventoryFormat};
use crate::cmd::EXIT_ERROR;
use crate::collect::{collect, Ui};
use crate::plan::{Job, Plan};
use crate::{messages, stdout};

pub fn run(args: InventoryArgs) -> Result<u8, String> {
    let as_of = args.as_of.unwrap_or_else(keysweep_source::dates::today);
    let mut inv = Inventory::new(args.max_locations.max(1));
    let mut problems = 0usize;

    // A file that cannot be read is reported and the others are still used.
    for file in &args.results {
        if let Err(e) = read_results(file, &mut inv, &mut problems) {
            messages::error(&e);
            problems += 1;
        }
    }
    let plan = Plan::for_inventory(&args)?;
    args.validate.check(plan.validate)?;
    let mut validated = String::new();
    if matches!(plan.job, Job::Nothing) && args.results.is_empty() {
        return Err("nothing to inventory: give saved results (--results FILE), paths or repositories to scan (--git, --repos-from FILE)".into());
    }
    if !matches!(plan.job, Job::Nothing) {
        let ui = Ui {
            progress: !args.quiet.no_progress,
            verbose: args.quiet.verbose,
        };
        let collected = collect(&plan, ui)?;
        if collected.errors {
            problems += 1;
        }
        let rules = plan.scanner.rules();
        let mut answers = Vec::new();
        if args.validate.enabled() || plan.validate {
            let (a, summary) =
                crate::validation::validate_hits(&args.validate, rules, &collected.hits)?;
            answers = a;
            validated = summary;
        }
        for (i, h) in collected.hits.iter().enumerate() {
            let mut record = Record::new(h, &rules[h.finding.rule_index], false);
            record.validation = answers.get(i).cloned().flatten();
            let live = record
                .validation
                .as_ref()
                .is_some_and(|v| v.status == "live");
            if args.validate.only_live && !live {
                continue;
            }
            inv.add(&record);
        }
    }

    let mut doc = inv.finish(as_of, &mut keysweep_report::codeowners::read);
    let body = match args.format {
        InventoryFormat::Json => {
            serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n"
        }
        InventoryFormat::Csv => inventory::csv(&doc),
        InventoryFormat::Html => inventory::html(&mut doc),
    };
    match &args.output {
        Some(path) => keysweep_report::write_output(path, body.as_bytes()).map_err(|e| {
            format!(
                "cannot write {}: {}",
                path.display(),
                messages::io_reason(&e)
            )
        })?,
        None => stdout::write(|w| w.write_all(body.as_bytes()))?,
    }
    if !args.quiet.quiet {
        let sum = &doc.summary;
        messages::summary(&(format!(
            "inventory: {} secret(s) ({} at HEAD, {} history only) in {} repositor{} from {} finding(s){}{}",
            sum.secrets,
            sum.present_at_head,
            sum.history_only,
            sum.repositories,
            if sum.repositories == 1 { "y" } else { "ies" },
            sum.findings_read,
            if sum.suppressed_skipped > 0 {
                format!("; {} suppressed finding(s) left out", sum.suppressed_skipped)
            } else {
                String::new()
            },
            if problems > 0 {
                format!("; {problems} problem(s) reported above")
            } else {
                String::new()
            },
        ) + &validated));
    }
    Ok(if problems > 0 { EXIT_ERROR } else { 0 })
}

/// Reads one results file (JSON Lines, or a JSON array) into the inventory; a line that is
/// not a finding is reported (never quoted: it may hold a secret) and counted in `problems`.
fn read_results(path: &Path, inv: &mut Inventory, problems: &mut usize) -> Result<(), String> {
    let stdin = path.as_os_str() == "-";
    let name = if stdin {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let reader: Box<dyn Read> = if stdin {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(path)
                .map_err(|e| format!("cannot read {name}: {}", messages::io_reason(&e)))?,
        )
    };
    keysweep_report::read_records(
        reader,
        &name,
        |record| inv.add(&record),
        |message| {
            messages::error(&message);
            *problems += 1;
        },
    )
    .map_err(|e| format!("cannot read {name}: {}", messages::io_reason(&e)))
}
