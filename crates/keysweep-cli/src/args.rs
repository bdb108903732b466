//! The command line: clap definitions only. [`crate::plan`] turns them into a plan once; no
//! clap type travels below it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::units::parse_size;

/// Find secrets (API keys, tokens, private keys, passwords) in files, directories, standard
/// input and git history.
#[derive(Parser, Debug)]
#[command(name = "keysweep", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan files, directories (recursively), `-` (standard input), git history (--git), or a
    /// repository's staged, unstaged and untracked changes for secrets.
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
    /// Sweep many repositories (local paths or git URLs): clone or fetch each into --workdir,
    /// scan every blob reachable from any ref, and write findings.jsonl, audit.jsonl and
    /// inventory.json into --out. A cache in the work directory makes the next sweep read only
    /// what changed; a sweep that was interrupted resumes where it stopped.
    Sweep(SweepArgs),
    /// Scan like `scan`, then revoke the found credentials whose provider lets a credential
    /// revoke itself (GitHub, GitLab, Slack, ...: rules with a revocation request). Asks before
    /// each one unless --yes; --dry-run shows each request with the secret redacted.
    Revoke(RevokeArgs),
    /// List or check rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) or the man page
    /// (`man`) to standard output.
    Completions {
        /// The shell, or `man` for the manual page (roff).
        shell: CompletionTarget,
    },
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input. With --git: repositories; with
    /// --staged, --unstaged or --untracked: one repository [default: .].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Scan a container image: a `docker save` or `podman save` archive (decompressed), an OCI
    /// archive, an OCI image layout directory, or, when no such file exists, an image in a
    /// registry (`[registry[:port]/]repository[:tag][@sha256:...]`, Docker Hub by default),
    /// pulled over HTTPS with the credentials of `docker login` or `podman login`
    /// (repeatable). A REF that is not a file is pulled only if it names a registry host
    /// (first component with `.` or `:`, or `localhost`), has a `:tag` or `@digest`, or has
    /// no `.` in its last component (`app`, `acme/app`); anything else (`out/app.tar`,
    /// `./app`, `/srv/app`) is an error: no such file. Every layer is read once as a stream (gzip, zstd or plain tar; the
    /// archive limits apply to each layer) and verified against its digest, with the image
    /// configuration (environment, labels, command, and the history's `created_by` lines,
    /// where RUN commands and build arguments leak) and the manifests' annotations. A file
    /// that a later layer deletes is reported as removed in that layer: it is still in the
    /// image for anyone who pulls it. --no-archives does not apply to images.
    #[arg(long, value_name = "REF", conflicts_with_all = ["paths", "git", "staged", "unstaged", "untracked", "repos_from"])]
    pub image: Vec<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub repos: ReposArgs,
    #[command(flatten)]
    pub git: GitArgs,
    #[command(flatten)]
    pub changes: ChangeArgs,
    /// With --git: one entry per distinct secret (the inventory of that history: first and
    /// last commit, paths, refs, still at HEAD).
    #[arg(long, requires = "git")]
    pub group: bool,
    #[command(flatten)]
    pub options: ScanOptions,
    #[command(flatten)]
    pub validate: crate::validation::ValidateArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How `--image` pulls from a registry.
#[derive(Args, Debug)]
pub struct RegistryArgs {
    /// With --image from a registry: the platform to scan from a multi-platform image
    /// (os/architecture[/variant], such as linux/arm64/v8) [default: linux/amd64].
    #[arg(
        long,
        value_name = "PLATFORM",
        requires = "image",
        conflicts_with = "all_platforms"
    )]
    pub platform: Option<String>,
    /// With --image from a registry: scan every platform of a multi-platform image.
    #[arg(long, requires = "image")]
    pub all_platforms: bool,
    /// With --image: speak plain HTTP to this registry (host or host:port, as the reference
    /// names it; repeatable). Credentials sent to it travel unencrypted.
    #[arg(long, value_name = "HOST[:PORT]", requires = "image")]
    pub insecure_registry: Vec<String>,
    /// With --image: keep what each layer holds in DIR/cache.redb, by digest, so that a layer
    /// seen before (in this image or any other, such as a shared base) is neither downloaded
    /// nor read again. A `keysweep sweep --workdir` directory works: it is the same cache
    /// file. Layers are stored only when read whole without a problem and verified against
    /// their digest; changing the rules or scan options starts a new cache table.
    #[arg(long, value_name = "DIR", requires = "image")]
    pub cache: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Only the secret with this fingerprint (from `scan --format json`). Repeatable.
    #[arg(long, value_name = "FINGERPRINT")]
    pub fingerprint: Vec<String>,
    /// Only findings of this rule. Repeatable.
    #[arg(long, value_name = "RULE_ID")]
    pub rule: Vec<String>,
    /// Print the request each revocation would send (the secret redacted) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Revoke without asking.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Print secrets in full instead of redacted.
    #[arg(long)]
    pub reveal: bool,
    /// Also print suppressed findings, each with the mechanism that suppressed it (inline
    /// comment, baseline, config allowlist, placeholder filter, .gitleaksignore entry), and the
    /// matches dropped as not secrets, with why (rejected by the rule's key or shape
    /// conditions, below its minimum entropy, code rather than a literal). They never fail the
    /// scan.
    #[arg(long)]
    pub show_suppressed: bool,
    /// When to colour human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub quiet: QuietArgs,
}

#[derive(Args, Debug)]
pub struct QuietArgs {
    /// Do not print the summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Never show a progress display.
    #[arg(long)]
    pub no_progress: bool,
    /// Print every problem in full (each archive limit hit, each unreadable object), not only
    /// a summary line per archive.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

#[derive(Args, Debug)]
pub struct ReposArgs {
    /// Also scan the paths (with --git: repositories) listed in FILE, one per line (blank lines
    /// and lines starting with `#` are skipped; relative paths are relative to the current
    /// directory). A path that cannot be scanned is reported and the others are scanned.
    #[arg(long, value_name = "FILE")]
    pub repos_from: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct GitArgs {
    /// Scan the git history of the repositories at PATHS (working tree, .git directory or bare
    /// repository): every blob reachable from any ref, once, with the commit that introduced
    /// it.
    #[arg(long)]
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
    /// With --git: also scan the history of initialised submodules (every commit the
    /// repository's gitlinks record, and its ancestors; nested submodules too), findings
    /// labelled with the submodule. Without --git: label findings in submodules' working trees
    /// with the submodule (a directory walk scans them either way).
    #[arg(long)]
    pub recurse_submodules: bool,
}

#[derive(Args, Debug)]
pub struct ChangeArgs {
    /// Scan what the next commit would add: staged files against HEAD, findings on added
    /// lines only (the pre-commit check). Combines with --unstaged and --untracked.
    #[arg(long, conflicts_with = "git")]
    pub staged: bool,
    /// Scan changes in the working tree not yet staged (against the index), added lines only.
    #[arg(long, conflicts_with = "git")]
    pub unstaged: bool,
    /// Scan files git does not track and does not ignore.
    #[arg(long, conflicts_with = "git")]
    pub untracked: bool,
}

impl ChangeArgs {
    /// Whether any kind of pending change is asked for.
    pub fn any(&self) -> bool {
        self.staged || self.unstaged || self.untracked
    }
}

/// How to scan: rules, configuration, suppressions, limits. Shared by `scan`, `baseline
/// create` and `inventory`.
#[derive(Args, Debug)]
pub struct ScanOptions {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Read the configuration from FILE instead of `.keysweep.toml` at the repository root.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any `.keysweep.toml`, and the `.gitleaksignore` of scanned repositories.
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
    /// Also scan binary files (those with a NUL byte in their first 8 KiB that are not UTF-16
    /// text).
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
    /// How many encoding layers to see through (base64 inside a JSON string is two), 0 to 8;
    /// 0 scans only the bytes as written [default: 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=keysweep::MAX_DECODE_DEPTH as i64))]
    pub decode_depth: Option<u8>,
    /// Do not decode this layer: base64, hex, percent, escape, json, utf16,
    /// quoted-printable or joined (repeatable, or comma-separated).
    #[arg(long, value_name = "LAYER", value_delimiter = ',', value_parser = parse_layer)]
    pub no_decode: Vec<keysweep::Encoding>,
    /// Report only findings in files of these contexts (comma-separated): config, deployment,
    /// source, generated, vendored, docs, example, test, fixture. Each finding's context is
    /// judged from its path and shown in every output [default: all].
    #[arg(long, value_name = "CONTEXT", value_delimiter = ',', value_parser = parse_context)]
    pub context: Vec<keysweep_source::Context>,
    /// Run every rule over the whole input, skipping the keyword prefilter (slow; debugging).
    #[arg(long, hide = true)]
    pub no_prefilter: bool,
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Paths to scan now (with --git: repositories). Nothing is scanned without PATHS or
    /// --repos-from unless no --results are given [default: .].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Saved scan results to read: `keysweep scan --format jsonl` (or `json`) output of any
    /// number of runs and repositories; `-` reads standard input. Repeatable.
    #[arg(long = "results", value_name = "FILE")]
    pub results: Vec<PathBuf>,
    #[command(flatten)]
    pub repos: ReposArgs,
    #[command(flatten)]
    pub git: GitArgs,
    #[command(flatten)]
    pub validate: crate::validation::ValidateArgs,
    #[command(flatten)]
    pub options: ScanOptions,
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
    #[command(flatten)]
    pub quiet: QuietArgs,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Repositories: paths on this machine (scanned where they are) or URLs (https://,
    /// ssh://, git://, file://, user@host:path; cloned bare into --workdir).
    #[arg(value_name = "REPO")]
    pub repos: Vec<String>,
    /// Also sweep the repositories listed in FILE, one per line (blank lines and lines
    /// starting with `#` are skipped).
    #[arg(long, value_name = "FILE")]
    pub repos_from: Option<PathBuf>,
    #[command(flatten)]
    pub validate: crate::validation::ValidateArgs,
    /// Also sweep every repository of this GitHub organisation (or user), listed through the
    /// REST API with the token in GITHUB_TOKEN (or GH_TOKEN), which also clones private ones
    /// (repeatable).
    #[arg(long, value_name = "ORG")]
    pub github_org: Vec<String>,
    /// The GitHub API to list from (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(long, value_name = "URL", default_value = keysweep_sweep::GITHUB_API)]
    pub github_api: String,
    /// Also sweep every project of this GitLab group, listed through the REST API with the
    /// token in GITLAB_TOKEN, which also clones private ones (repeatable).
    #[arg(long, value_name = "GROUP")]
    pub gitlab_group: Vec<String>,
    /// With --gitlab-group: the projects of its subgroups too.
    #[arg(long)]
    pub include_subgroups: bool,
    /// The GitLab API to list from (self-managed: https://HOST/api/v4).
    #[arg(long, value_name = "URL", default_value = keysweep_sweep::GITLAB_API)]
    pub gitlab_api: String,
    /// Where clones and the cache are kept, and reused by the next sweep. One sweep at a time
    /// may use it.
    #[arg(long, value_name = "DIR")]
    pub workdir: PathBuf,
    /// Where findings.jsonl, audit.jsonl and inventory.json are written.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Repositories swept at once; the scan threads (--threads) are shared among them.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Read the configuration (rules, allowlists, baseline) from FILE; a sweep reads no
    /// `.keysweep.toml` from the repositories.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Suppress the findings recorded in this baseline.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Report only findings with at least this confidence.
    #[arg(long, value_enum)]
    pub min_confidence: Option<MinConfidence>,
    /// Skip blobs larger than this (bytes; suffixes K, M, G accepted) [default: 256M].
    #[arg(long, value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Also scan binary blobs.
    #[arg(long)]
    pub scan_binary: bool,
    /// Scan threads in all (default: one per core).
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    /// Key for fingerprints (HMAC-SHA-256); or set KEYSWEEP_FINGERPRINT_KEY.
    #[arg(long, env = "KEYSWEEP_FINGERPRINT_KEY", hide_env_values = true)]
    pub fingerprint_key: Option<String>,
    /// How many encoding layers to see through, 0 to 8 [default: 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=keysweep::MAX_DECODE_DEPTH as i64))]
    pub decode_depth: Option<u8>,
    /// Write secrets in full to findings.jsonl instead of redacted (the inventory is always
    /// redacted).
    #[arg(long)]
    pub reveal: bool,
    /// Also write suppressed findings to findings.jsonl.
    #[arg(long)]
    pub show_suppressed: bool,
    /// The day exposure ages are counted to in the inventory (YYYY-MM-DD, UTC) [default: today].
    #[arg(long, value_name = "DATE", value_parser = parse_as_of)]
    pub as_of: Option<i64>,
    #[command(flatten)]
    pub quiet: QuietArgs,
}

#[derive(Subcommand, Debug)]
pub enum BaselineCommand {
    /// Scan (as `keysweep scan` would) and write one entry per distinct secret, keyed by its
    /// fingerprint and sorted, to FILE or standard output. Unchanged code gives a
    /// byte-identical baseline; moving files or editing other lines does not change it.
    Create(BaselineArgs),
}

#[derive(Args, Debug)]
pub struct BaselineArgs {
    /// Files or directories to scan (with --git: repositories; with --staged: one repository)
    /// [default: .].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub repos: ReposArgs,
    #[command(flatten)]
    pub git: GitArgs,
    #[command(flatten)]
    pub changes: ChangeArgs,
    #[command(flatten)]
    pub options: ScanOptions,
    /// Write the baseline to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub quiet: QuietArgs,
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
    /// Load extra rules from a TOML file (repeatable): a keysweep rule file, or a gitleaks or
    /// betterleaks configuration (told apart by content). A gitleaks configuration is a
    /// complete rule set, so the built-in rules do not run (as with --no-builtin), unless it
    /// says `[extend] useDefault = true`: keysweep's built-in rules then stand in for
    /// gitleaks' defaults.
    #[arg(long = "rules", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Do not load the built-in rules.
    #[arg(long)]
    pub no_builtin: bool,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// List the rules.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Run every rule's examples and negative examples (the built-in rules, or FILEs).
    /// A gitleaks or betterleaks configuration is translated and its patterns compiled (it has
    /// no examples to run).
    Check {
        /// Rule files (keysweep, gitleaks or betterleaks) to check instead of the built-in
        /// rules.
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
pub enum InventoryFormat {
    Json,
    Csv,
    /// One self-contained page (no network): summary, sortable and filterable table, details.
    Html,
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

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompletionTarget {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
    /// The manual page (roff), for `man -l -` or installing as keysweep.1.
    Man,
}

fn parse_layer(s: &str) -> Result<keysweep::Encoding, String> {
    keysweep::Encoding::parse(s).ok_or_else(|| {
        let names: Vec<&str> = keysweep::Encoding::ALL.iter().map(|e| e.as_str()).collect();
        format!("{s:?} is not a decoding layer ({})", names.join(", "))
    })
}

fn parse_context(s: &str) -> Result<keysweep_source::Context, String> {
    keysweep_source::Context::parse(s).ok_or_else(|| {
        let names: Vec<&str> = keysweep_source::Context::ALL
            .iter()
            .map(|c| c.as_str())
            .collect();
        format!("{s:?} is not a context ({})", names.join(", "))
    })
}

fn parse_as_of(s: &str) -> Result<i64, String> {
    keysweep_source::dates::parse_day(s).ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
}
