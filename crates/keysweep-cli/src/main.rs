//! `keysweep`: find secrets in files, directories, standard input and git history.
//!
//! Imports point one way: `main` parses and dispatches to a command (`cmd/`); commands build a
//! [`plan`] once from their arguments, [`collect`] runs it, and the report crate writes the
//! output. Below the plan no clap type is seen; every message goes through [`messages`].

mod args;
mod cmd;
mod collect;
mod config;
mod gitleaks;
mod messages;
mod plan;
mod progress;
mod rules;
mod stdout;
mod units;
mod validation;

use std::process::ExitCode;

use clap::Parser;

use args::{BaselineCommand, Cli, Command, RulesCommand};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { cmd::EXIT_ERROR } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Scan(args) => cmd::scan::run(args),
        Command::Baseline(BaselineCommand::Create(args)) => cmd::baseline::create(args),
        Command::Inventory(args) => cmd::inventory::run(args),
        Command::Sweep(args) => cmd::sweep::run(args),
        Command::Revoke(args) => cmd::revoke::run(args),
        Command::InstallHook(args) => cmd::hook::install(&args),
        Command::Rules(RulesCommand::List { rules, format }) => cmd::rules::list(&rules, format),
        Command::Rules(RulesCommand::Check { files }) => cmd::rules::check(&files),
        Command::Completions { shell } => cmd::completions::run(shell),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            messages::error(&e);
            ExitCode::from(cmd::EXIT_ERROR)
        }
    }
}
