//! The plan of a run, built once from the command line and the repository's configuration:
//! the compiled scanner and the job to run. Below this module no clap type is seen.

use std::path::{Path, PathBuf};

use keysweep::{Scanner, ScannerBuilder};
use keysweep_report::Baseline;
use keysweep_source::{archive, ChangeScan, HistoryScan, ImageScan, PathFilter, PathScan};

use crate::args::{
    BaselineArgs, ChangeArgs, GitArgs, InventoryArgs, RegistryArgs, ReposArgs, ScanArgs,
    ScanOptions,
};
use crate::config::{self, Config};
use crate::gitleaks::{self, Suppress};

/// What to scan, as the command line says it (before the configuration is read).
struct Target<'a> {
    paths: Vec<PathBuf>,
    repos_from: Option<&'a Path>,
    /// Without paths: scan `.` (false when something else says what to read).
    default_to_cwd: bool,
    git: &'a GitArgs,
    changes: Option<&'a ChangeArgs>,
    /// Container images (`--image`).
    images: &'a [PathBuf],
    /// How images in registries are pulled.
    registry: Option<&'a RegistryArgs>,
}

/// A run's plan: the scanner and the job.
pub struct Plan {
    pub scanner: Scanner,
    pub job: Job,
    /// Paths from `--repos-from` that do not exist: reported, and the run ends with status 2.
    pub missing: Vec<PathBuf>,
    /// The fingerprint key (baselines record a check of it).
    pub fingerprint_key: Option<String>,
    /// Report only findings in these contexts (empty: all).
    pub contexts: Vec<keysweep_source::Context>,
    /// The configuration asks for validation (`scan.validate = true`).
    pub validate: bool,
    /// What gitleaks files suppress after the scan (global allowlist paths, `.gitleaksignore`).
    pub suppress: Suppress,
}

/// The job a plan runs.
pub enum Job {
    /// Files and directories, and standard input when `stdin`.
    Files {
        scan: PathScan,
        paths: Vec<PathBuf>,
        stdin: bool,
    },
    /// The history of each repository.
    History {
        scan: HistoryScan,
        repos: Vec<PathBuf>,
    },
    /// One repository's pending changes.
    Changes { scan: ChangeScan, repo: PathBuf },
    /// Container images.
    Images {
        scan: ImageScan,
        /// Each a file or directory, or else a registry reference.
        images: Vec<PathBuf>,
        /// Pulls the images that are references.
        puller: keysweep_registry::Puller,
        /// The directory of the layer cache (`--cache`).
        cache: Option<PathBuf>,
    },
    /// Nothing (an inventory of saved results only).
    Nothing,
}

impl Plan {
    pub fn for_scan(args: &ScanArgs) -> Result<Plan, String> {
        Plan::scan_like(
            &args.paths,
            (&args.image, Some(&args.registry)),
            &args.repos,
            &args.git,
            &args.changes,
            &args.options,
            args.output.show_suppressed,
        )
    }

    pub fn for_baseline(args: &BaselineArgs) -> Result<Plan, String> {
        Plan::scan_like(
            &args.paths,
            (&[], None),
            &args.repos,
            &args.git,
            &args.changes,
            &args.options,
            false,
        )
    }

    /// `scan` and `baseline create` take the same inputs: paths (default `.`), repositories,
    /// history or pending changes.
    fn scan_like(
        paths: &[PathBuf],
        (images, registry): (&[PathBuf], Option<&RegistryArgs>),
        repos: &ReposArgs,
        git: &GitArgs,
        changes: &ChangeArgs,
        options: &ScanOptions,
        keep_dropped: bool,
    ) -> Result<Plan, String> {
        let target = Target {
            paths: paths.to_vec(),
            repos_from: repos.repos_from.as_deref(),
            default_to_cwd: images.is_empty(),
            git,
            changes: Some(changes),
            images,
            registry,
        };
        Plan::new(target, options, keep_dropped)
    }

    pub fn for_inventory(args: &InventoryArgs) -> Result<Plan, String> {
        let target = Target {
            paths: args.paths.clone(),
            repos_from: args.repos.repos_from.as_deref(),
            default_to_cwd: args.results.is_empty(),
            git: &args.git,
            changes: None,
            images: &[],
            registry: None,
        };
        Plan::new(target, &args.options, false)
    }

    fn new(target: Target<'_>, opts: &ScanOptions, keep_dropped: bool) -> Result<Plan, String> {
        let mut paths = target.paths;
        let mut missing = Vec::new();
        if let Some(file) = target.repos_from {
            for line in read_list(file)? {
                let p = PathBuf::from(line);
                // One bad line must not stop the others: it is reported when the run starts.
                if std::fs::symlink_metadata(&p).is_ok() {
                    paths.push(p);
                } else {
                    missing.push(p);
                }
            }
        } else if paths.is_empty() && target.default_to_cwd {
            paths.push(PathBuf::from("."));
        }
        let first = paths
            .iter()
            .find(|p| p.as_os_str() != "-")
            .map_or(Path::new("."), PathBuf::as_path)
            .to_path_buf();
        let config = if opts.no_config {
            Config::default()
        } else if let Some(path) = &opts.config {
            Config::load(path)?
        } else {
            match config::discover(&first) {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            }
        };
        let (scanner, allowed_paths) = build_scanner(opts, &config, keep_dropped)?;
        let ignore_roots = if opts.no_config {
            Vec::new()
        } else {
            gitleaks::roots(&paths)
        };
        let suppress = Suppress::new(allowed_paths, &ignore_roots, scanner.rules())?;
        if let Some(n) = opts.threads {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build_global()
                .map_err(|e| format!("cannot start {n} threads: {e}"))?;
        }
        let filter = path_filter(&config, &first)?;
        let max_file_size = opts
            .max_file_size
            .or(config.max_file_size)
            .unwrap_or(keysweep_source::DEFAULT_MAX_FILE_SIZE);

        let changes = target.changes.filter(|c| c.any());
        let limits = (!opts.no_archives).then(|| archive_limits(opts));
        if target.git.recurse_submodules && (!target.images.is_empty() || changes.is_some()) {
            return Err(
                "--recurse-submodules applies to --git and to directory scans, not to --image, --staged, --unstaged or --untracked".into(),
            );
        }
        let job = if !target.images.is_empty() {
            // Layers are archives: --no-archives does not apply to images (an archive nested
            // past the depth limit would be an error, not a plain file).
            let mut scan = ImageScan::new(scanner.clone())
                .max_file_size(max_file_size)
                .scan_binary(opts.scan_binary)
                .limits(archive_limits(opts));
            if let Some(n) = opts.threads {
                scan = scan.threads(n);
            }
            Job::Images {
                scan,
                images: target.images.to_vec(),
                puller: puller(target.registry)?,
                cache: target.registry.and_then(|r| r.cache.clone()),
            }
        } else if target.git.git {
            if paths.iter().any(|p| p.as_os_str() == "-") {
                return Err("--git scans repositories, not standard input".into());
            }
            let mut scan = HistoryScan::new(scanner.clone())
                .archives(limits)
                .unreachable(target.git.unreachable)
                .recurse_submodules(target.git.recurse_submodules)
                .scan_binary(opts.scan_binary)
                .max_blob_size(max_file_size);
            if let Some(n) = opts.threads {
                scan = scan.threads(n);
            }
            if let Some(rev) = &target.git.since {
                scan = scan.since(rev.clone());
            }
            if let Some(b) = &target.git.branch {
                scan = scan.branch(b.clone());
            }
            if let Some(f) = filter {
                scan = scan.filter(f);
            }
            Job::History { scan, repos: paths }
        } else if let Some(c) = changes {
            let repo = match paths.as_slice() {
                [one] if one.as_os_str() != "-" => one.clone(),
                _ => {
                    return Err(
                        "--staged, --unstaged and --untracked take one repository path".into(),
                    )
                }
            };
            let mut scan = ChangeScan::new(scanner.clone())
                .staged(c.staged)
                .unstaged(c.unstaged)
                .untracked(c.untracked)
                .scan_binary(opts.scan_binary)
                .max_size(max_file_size);
            if let Some(f) = filter {
                scan = scan.filter(f);
            }
            Job::Changes { scan, repo }
        } else if paths.is_empty() {
            Job::Nothing
        } else {
            let stdin = paths.iter().any(|p| p.as_os_str() == "-");
            paths.retain(|p| p.as_os_str() != "-");
            let archives = limits;
            let mut scan = PathScan::new(scanner.clone())
                .max_file_size(max_file_size)
                .ignore_files(!opts.no_ignore)
                .follow_links(opts.follow)
                .scan_binary(opts.scan_binary)
                .recurse_submodules(target.git.recurse_submodules)
                .archives(archives);
            if let Some(f) = filter {
                scan = scan.filter(f);
            }
            Job::Files { scan, paths, stdin }
        };
        let contexts = if opts.context.is_empty() {
            config.contexts.clone()
        } else {
            opts.context.clone()
        };
        Ok(Plan {
            scanner,
            job,
            missing,
            fingerprint_key: opts.fingerprint_key.clone(),
            validate: config.validate,
            contexts,
            suppress,
        })
    }
}

/// The archive limits of the command line (`--archive-depth`, `--max-archive-size`,
/// `--max-archive-entries`) over the defaults.
fn archive_limits(opts: &ScanOptions) -> archive::Limits {
    let mut limits = archive::Limits::default();
    if let Some(depth) = opts.archive_depth {
        limits.depth = depth.max(1);
    }
    if let Some(total) = opts.max_archive_size {
        limits.total = total;
    }
    if let Some(entries) = opts.max_archive_entries {
        limits.entries = entries;
    }
    limits
}

/// The lines of a `--repos-from` file, trimmed, without blank lines and `#` comments.
pub fn read_list(file: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        format!(
            "cannot read {}: {}",
            file.display(),
            keysweep_source::io_reason(&e)
        )
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// What shapes a run's scanner, whichever command it comes from.
pub struct ScannerSettings<'a> {
    pub rules: &'a crate::args::RuleArgs,
    pub min_confidence: Option<keysweep::Confidence>,
    pub fingerprint_key: Option<&'a str>,
    pub decode_depth: Option<u8>,
    pub no_decode: &'a [keysweep::Encoding],
    pub baseline: Option<&'a Path>,
    pub prefilter: bool,
    /// `--show-suppressed` in `scan`: also the matches dropped as not secrets, with why.
    pub keep_dropped: bool,
}

impl<'a> ScannerSettings<'a> {
    fn of(opts: &'a ScanOptions) -> ScannerSettings<'a> {
        ScannerSettings {
            rules: &opts.rules,
            min_confidence: opts.min_confidence.map(|m| m.get()),
            fingerprint_key: opts.fingerprint_key.as_deref(),
            decode_depth: opts.decode_depth,
            no_decode: &opts.no_decode,
            baseline: opts.baseline.as_deref(),
            prefilter: !opts.no_prefilter,
            keep_dropped: false,
        }
    }
}

fn build_scanner(
    opts: &ScanOptions,
    config: &Config,
    keep_dropped: bool,
) -> Result<(Scanner, Option<keysweep_gitleaks::PathMatcher>), String> {
    let mut settings = ScannerSettings::of(opts);
    settings.keep_dropped = keep_dropped;
    scanner_for(&settings, config)
}

/// The scanner a run uses: rules, decoding, allowlist, baseline and minimum confidence, from
/// the command line and the configuration; and the paths the global allowlists of gitleaks
/// configurations allow. Errors name the file (and for the configuration, the key and line)
/// at fault.
pub fn scanner_for(
    opts: &ScannerSettings<'_>,
    config: &Config,
) -> Result<(Scanner, Option<keysweep_gitleaks::PathMatcher>), String> {
    let loaded = crate::rules::load(opts.rules.no_builtin, &opts.rules.files, config)?;
    let allowed_paths = loaded
        .gitleaks_allow
        .path_matcher()
        .map_err(|e| format!("gitleaks allowlist paths: {e}"))?;
    let ruleset = loaded.rules;
    let min_confidence = opts
        .min_confidence
        .or(config.min_confidence)
        .unwrap_or(keysweep::Confidence::Low);
    let mut builder = ScannerBuilder::new()
        .prefilter(opts.prefilter)
        .keep_suppressed(true)
        .keep_dropped(opts.keep_dropped)
        .min_confidence(min_confidence)
        .allow_values(config.allow_values.iter().map(|a| &a.value))
        .allow_values(&loaded.gitleaks_allow.values);
    if let Some(key) = opts.fingerprint_key {
        builder = builder.fingerprint_key(key.as_bytes().to_vec());
    }
    if let Some(depth) = opts.decode_depth {
        builder = builder.decode_depth(depth.into());
    }
    for &layer in opts.no_decode {
        builder = builder.decode(layer, false);
    }
    if let Some(path) = opts.baseline.or(config.baseline.as_deref()) {
        let base = Baseline::load(path).map_err(|e| e.to_string())?;
        base.check_key(opts.fingerprint_key, path)
            .map_err(|e| e.to_string())?;
        builder = builder.baseline(base.fingerprints());
    }
    let scanner = builder.build(ruleset).map_err(|e| match e.allow_value() {
        Some(i) if i >= config.allow_values.len() => format!(
            "gitleaks allowlist: {:?} does not compile: {}",
            loaded.gitleaks_allow.values[i - config.allow_values.len()],
            e.reason()
        ),
        Some(i) => format!(
            "{}: allow.values: {:?} does not compile: {}",
            config.locate(config.allow_values[i].line),
            config.allow_values[i].value,
            e.reason()
        ),
        None => e.to_string(),
    })?;
    Ok((scanner, allowed_paths))
}

/// The configuration's `allow.paths`, relative to the repository root of the first path (or
/// the configuration file's directory).
fn path_filter(config: &Config, first: &Path) -> Result<Option<PathFilter>, String> {
    if config.exclude.is_empty() {
        return Ok(None);
    }
    let base = keysweep_source::repo_root(first).or_else(|| {
        config
            .path
            .as_ref()
            .and_then(|p| std::path::absolute(p).ok()?.parent().map(Path::to_path_buf))
    });
    PathFilter::new(config.exclude.iter().map(|g| &g.value), base)
        .map(Some)
        .map_err(|e| {
            format!(
                "{}: allow.paths: {}",
                config.locate(config.exclude[e.index].line),
                e.reason
            )
        })
}

/// The registry client `--platform`, `--all-platforms` and `--insecure-registry` describe;
/// credentials from the files `docker login` and `podman login` write.
fn puller(args: Option<&RegistryArgs>) -> Result<keysweep_registry::Puller, String> {
    let mut puller = keysweep_registry::Puller::new();
    if let Some(args) = args {
        if let Some(p) = &args.platform {
            puller = puller.platform(p.parse().map_err(|e| format!("--platform: {e}"))?);
        }
        puller = puller
            .all_platforms(args.all_platforms)
            .insecure(args.insecure_registry.iter().cloned());
    }
    Ok(puller)
}
