//! `keysweep baseline create`.

use keysweep_report::Baseline;

use crate::args::BaselineArgs;
use crate::cmd::EXIT_ERROR;
use crate::collect::{collect, Ui};
use crate::plan::Plan;
use crate::{messages, stdout};

pub fn create(args: BaselineArgs) -> Result<u8, String> {
    let plan = Plan::for_baseline(&args)?;
    let ui = Ui {
        progress: !args.quiet.no_progress,
        verbose: args.quiet.verbose,
    };
    let collected = collect(&plan, ui)?;
    let base = Baseline::from_hits(&collected.hits, plan.fingerprint_key.as_deref());
    let bytes = base.to_bytes();
    match &args.output {
        Some(path) => keysweep_report::write_output(path, &bytes).map_err(|e| {
            format!(
                "cannot write {}: {}",
                path.display(),
                messages::io_reason(&e)
            )
        })?,
        None => stdout::write(|w| w.write_all(&bytes))?,
    }
    if !args.quiet.quiet {
        messages::summary(&format!(
            "keysweep: baseline of {} secret(s){}",
            base.len(),
            args.output
                .as_ref()
                .map_or(String::new(), |p| format!(" written to {}", p.display()))
        ));
    }
    if collected.errors {
        messages::error(
            "some inputs could not be read (see above); the baseline may be incomplete",
        );
        return Ok(EXIT_ERROR);
    }
    Ok(0)
}
