//! `keysweep completions SHELL|man`: generated from the clap definitions, so they never drift.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::args::{Cli, CompletionTarget};
use crate::stdout;

pub fn run(target: CompletionTarget) -> Result<u8, String> {
    let mut cmd = Cli::command();
    let shell = match target {
        CompletionTarget::Bash => Shell::Bash,
        CompletionTarget::Zsh => Shell::Zsh,
        CompletionTarget::Fish => Shell::Fish,
        CompletionTarget::Elvish => Shell::Elvish,
        CompletionTarget::Powershell => Shell::PowerShell,
        CompletionTarget::Man => {
            let man = clap_mangen::Man::new(cmd);
            stdout::write(|w| man.render(w))?;
            return Ok(0);
        }
    };
    stdout::write(|w| {
        clap_complete::generate(shell, &mut cmd, "keysweep", w);
        Ok(())
    })?;
    Ok(0)
}
