//! `keysweep`: find secrets in files, directories and standard input.

mod archive;
mod baseline;
mod cmd_changes;
mod cmd_git;
mod cmd_hook;
mod cmd_inventory;
mod cmd_rules;
mod cmd_scan;
mod codeowners;
mod config;
mod inventory;
mod output;
mod rules;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Find secrets (API keys, tokens, private keys, passwords) in files, directories and stdin.
#[derive(Parser, Debug)]
#[command(name = "keysweep", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan files, directories (recursively), `-` (standard input), git history, or the staged,
    /// unstaged and untracked changes of a repository for secrets.
    Scan(ScanArgs),
    /// Record the current findings so that later scans (`--baseline FILE`) suppress them.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Install a git pre-commit hook that blocks commits adding secrets.
    InstallHook(HookArgs),
    /// One entry per distinct secret across scan results and repositories: where it is, since
    /// when, who introduced it, who owns it, whether it is still at HEAD, and what to rotate
    /// first. Reads saved results (--results, from `scan --format jsonl`), scans PATHS (with
    /// --git: their history) or the repositories of --repos-from, or both.
    Inventory(InventoryArgs),
    /// List or check rules.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// With --git: one entry per distinct secret (fingerprint), with first and last commit,
    /// blobs, paths and refs.
    #[arg(long, requires = "git")]
    pub group: bool,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Print secrets in full instead of redacted.
    #[arg(long)]
    pub reveal: bool,
    /// Also print suppressed findings, each with the mechanism that suppressed it (inline
    /// comment, baseline, config allowlist, placeholder filter). They never fail the scan.
    #[arg(long)]
    pub show_suppressed: bool,
    /// When to colour human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Do not print the summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Saved scan results to read: `keysweep scan --format jsonl` (or `json`) output of any
    /// number of runs and repositories; `-` reads standard input. Repeatable. With it, nothing
    /// is scanned unless PATHS or --repos-from are given.
    #[arg(long = "results", value_name = "FILE")]
    pub results: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = InventoryFormat::Json)]
    pub format: InventoryFormat,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The day exposure ages are counted to (YYYY-MM-DD, UTC) [default: today].
    #[arg(long, value_name = "DATE", value_parser = parse_as_of)]
    pub as_of: Option<i64>,
    /// Locations kept per secret for the detail lists; memory follows the locations kept, so
    /// it bounds memory per secret (counts, first and last sighting and authors stay exact).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_locations: usize,
    /// Do not print the summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

fn parse_layer(s: &str) -> Result<keysweep::Encoding, String> {
    keysweep::Encoding::parse(s).ok_or_else(|| {
        let names: Vec<&str> = keysweep::Encoding::ALL.iter().map(|e| e.as_str()).collect();
        format!("{s:?} is not a decoding layer ({})", names.join(", "))
    })
}

fn parse_as_of(s: &str) -> Result<i64, String> {
    inventory::parse_day(s).ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    Json,
    Csv,
    /// One self-contained page (no network): summary, sortable and filterable table, details.
    Html,
}

/// What to scan and with which rules: shared by `scan`, `baseline create` and `inventory`.
#[derive(Args, Debug)]
pub struct InputArgs {
    /// Files or directories to scan; `-` reads standard input. With --git: repositories; with
    /// --staged, --unstaged or --untracked: one repository. Default `.`, unless --repos-from
    /// (or, for inventory, --results) says what to read.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Also scan the repositories listed in FILE, one path per line (blank lines and lines
    /// starting with `#` are skipped; relative paths are relative to the current directory).
    #[arg(long, value_name = "FILE")]
    pub repos_from: Option<PathBuf>,
    /// Scan the git history of the repositories at PATHS (working tree, .git directory or bare
    /// repository): every blob reachable from any ref, once, with the commit that introduced it.
    #[arg(long, conflicts_with_all = ["staged", "unstaged", "untracked"])]
    pub git: bool,
    /// With --git: only what the commits after REV introduced (REV..HEAD, or A..B).
    #[arg(long, value_name = "REV", requires = "git")]
    pub since: Option<String>,
    /// With --git: only the history of this branch (or rev) instead of every ref.
    #[arg(long, value_name = "NAME", requires = "git")]
    pub branch: Option<String>,
    /// With --git: also report blobs that no ref reaches.
    #[arg(long, requires = "git")]
    pub unreachable: bool,
    /// Scan what the next commit would add: staged files against HEAD, findings on added
    /// lines only (the pre-commit check). Combines with --unstaged and --untracked.
    #[arg(long)]
    pub staged: bool,
    /// Scan changes in the working tree not yet staged (against the index), added lines only.
    #[arg(long)]
    pub unstaged: bool,
    /// Scan files git does not track and does not ignore.
    #[arg(long)]
    pub untracked: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Read the configuration from FILE instead of `.keysweep.toml` at the repository root.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any `.keysweep.toml`.
    #[arg(long)]
    pub no_config: bool,
    /// Suppress the findings recorded in this baseline (from `keysweep baseline create`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Report only findings with at least this confidence.
    #[arg(long, value_enum)]
    pub min_confidence: Option<MinConfidence>,
    /// Skip files larger than this (bytes; suffixes K, M, G accepted) [default: 256M].
    #[arg(long, value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Also scan binary files (those with a NUL byte in their first 8 KiB).
    #[arg(long)]
    pub scan_binary: bool,
    /// Do not honour .gitignore, .ignore and git exclude files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Follow symbolic links while walking (loops are detected and reported).
    #[arg(long, short = 'L')]
    pub follow: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    /// Key for fingerprints (HMAC-SHA-256); or set KEYSWEEP_FINGERPRINT_KEY.
    #[arg(long, env = "KEYSWEEP_FINGERPRINT_KEY", hide_env_values = true)]
    pub fingerprint_key: Option<String>,
    /// Scan archives (zip, jar, war, whl, apk, nupkg, tar, tar.gz, gz) as files, not their
    /// entries.
    #[arg(long)]
    pub no_archives: bool,
    /// Open archives nested up to N deep (1: only archives on disk) [default: 3].
    #[arg(long, value_name = "N")]
    pub archive_depth: Option<usize>,
    /// Stop reading an archive after it inflated this much, nested archives included
    /// (bytes; suffixes K, M, G) [default: 1G].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_archive_size: Option<u64>,
    /// Stop reading an archive after this many entries, nested archives included
    /// [default: 100000].
    #[arg(long, value_name = "N")]
    pub max_archive_entries: Option<usize>,
    /// How many encoding layers to see through (base64 inside a JSON string is two); 0 scans
    /// only the bytes as written [default: 2].
    #[arg(long, value_name = "N")]
    pub decode_depth: Option<usize>,
    /// Do not decode this layer: base64, hex, percent, escape, json or utf16 (repeatable, or
    /// comma-separated).
    #[arg(long, value_name = "LAYER", value_delimiter = ',', value_parser = parse_layer)]
    pub no_decode: Vec<keysweep::Encoding>,
    /// Run every rule over the whole input, skipping the keyword prefilter (slow; debugging).
    #[arg(long, hide = true)]
    pub no_prefilter: bool,
}

impl InputArgs {
    /// Whether this scans a repository's pending changes.
    pub fn changes(&self) -> bool {
        self.staged || self.unstaged || self.untracked
    }
}

#[derive(Subcommand, Debug)]
enum BaselineCommand {
    /// Scan (as `keysweep scan` would) and write one entry per distinct secret, keyed by its
    /// fingerprint and sorted, to FILE or standard output. Unchanged code gives a
    /// byte-identical baseline; moving files or editing other lines does not change it.
    Create {
        #[command(flatten)]
        input: InputArgs,
        /// Write the baseline to FILE instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Do not print the summary.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
}

#[derive(Args, Debug)]
pub struct HookArgs {
    /// The repository (any directory inside its working tree).
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    /// Replace an existing pre-commit hook that keysweep did not write (it is kept as
    /// `pre-commit.keysweep-backup`).
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct RuleArgs {
    /// Load extra rules from a TOML file (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Do not load the built-in rules.
    #[arg(long)]
    pub no_builtin: bool,
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// List the rules.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Run every rule's examples and negative examples (the built-in rules, or FILEs).
    Check {
        /// Rule files to check instead of the built-in rules.
        files: Vec<PathBuf>,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Jsonl,
    Sarif,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum MinConfidence {
    Low,
    Medium,
    High,
}

impl MinConfidence {
    pub fn get(self) -> keysweep::Confidence {
        match self {
            MinConfidence::Low => keysweep::Confidence::Low,
            MinConfidence::Medium => keysweep::Confidence::Medium,
            MinConfidence::High => keysweep::Confidence::High,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a size (e.g. 1048576, 512K, 256M, 2G)"))
}

/// Exit statuses: 0 nothing found, 1 findings (or failed rule checks), 2 error.
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// Applies what clap cannot express: PATHS default to `.` only when nothing else says what
/// to read, and --repos-from adds its repositories.
fn resolve_inputs(
    input: &mut InputArgs,
    matches: Option<&ArgMatches>,
    other_source: bool,
) -> Result<(), String> {
    let defaulted =
        matches.is_some_and(|m| m.value_source("paths") == Some(ValueSource::DefaultValue));
    if defaulted && (other_source || input.repos_from.is_some()) {
        input.paths.clear();
    }
    if let Some(file) = &input.repos_from {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {}", file.display(), output::io_reason(&e)))?;
        for line in text.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') {
                input.paths.push(PathBuf::from(line));
            }
        }
    }
    Ok(())
}

/// The matches of the innermost subcommand.
fn leaf(matches: &ArgMatches) -> &ArgMatches {
    match matches.subcommand() {
        Some((_, sub)) => leaf(sub),
        None => matches,
    }
}

fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { 0 });
        }
    };
    let sub = Some(leaf(&matches));
    let result = match cli.command {
        Command::Scan(mut args) => {
            resolve_inputs(&mut args.input, sub, false).and_then(|()| cmd_scan::run(args))
        }
        Command::Baseline(BaselineCommand::Create {
            mut input,
            output,
            quiet,
        }) => resolve_inputs(&mut input, sub, false)
            .and_then(|()| baseline::create(&input, output.as_deref(), quiet)),
        Command::Inventory(mut args) => {
            let results = !args.results.is_empty();
            resolve_inputs(&mut args.input, sub, results).and_then(|()| cmd_inventory::run(args))
        }
        Command::InstallHook(args) => cmd_hook::install(&args),
        Command::Rules(RulesCommand::List { rules, format }) => cmd_rules::list(&rules, format),
        Command::Rules(RulesCommand::Check { files }) => cmd_rules::check(&files),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("keysweep: error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("4K").unwrap(), 4096);
        assert_eq!(parse_size("2g").unwrap(), 2 << 30);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }
}
