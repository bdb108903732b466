//! A scanner's settings, as Python gives them and as they are pickled: which rules (with the
//! text of every rule file, read once, so that a worker on another machine needs no file),
//! the minimum confidence and decoding. Compiling them gives the `keysweep::Scanner`.

use std::path::Path;

use keysweep::{Confidence, Scanner, ScannerBuilder};
use keysweep_gitleaks::{PathMatcher, RuleFile};
use keysweep_report::Baseline;
use keysweep_source::PathFilter;
use sha2::{Digest, Sha256};

/// A rule file: where it was read from (named in errors and rule origins; an `[extend] path` of
/// a gitleaks configuration is read relative to it) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSource {
    pub origin: String,
    pub text: String,
}

/// Which rules a scanner runs, before `extra_rule_files` are added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rules {
    /// The built-in rules.
    Builtin,
    /// Only the rules with these ids (among the built-in rules and the extra files).
    Only(Vec<String>),
    /// This file's rules instead of the built-in ones (a gitleaks configuration with
    /// `[extend] useDefault = true` keeps them).
    File(RuleSource),
}

/// The key of keyed fingerprints (`KEYSWEEP_FINGERPRINT_KEY` of the CLI): never shown, not even
/// by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerprintKey(pub String);

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(***)")
    }
}

/// Everything that shapes a scanner: what `Scanner(...)` takes, and what a pickle carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub rules: Rules,
    pub extra: Vec<RuleSource>,
    pub min_confidence: Confidence,
    pub decode: bool,
    /// Fingerprints keyed with this (HMAC), as `keysweep --fingerprint-key` makes them.
    pub fingerprint_key: Option<FingerprintKey>,
    /// A baseline (`keysweep baseline create`): its file name and text; its secrets are
    /// suppressed.
    pub baseline: Option<RuleSource>,
    /// Regexes over secret values never reported (a configuration's `allow.values`).
    pub allow_values: Vec<String>,
    /// Globs of paths whose findings are left out (a configuration's `allow.paths`).
    pub allow_paths: Vec<String>,
}

/// Settings compiled: the scanner, and what the global allowlists of gitleaks configurations
/// suppress after the scan (paths; their values are in the scanner).
pub struct Compiled {
    pub scanner: Scanner,
    pub allowed_paths: Option<PathMatcher>,
    /// What besides the rules shapes findings, for a sweep's cache key.
    pub options_key: String,
    /// `allow_paths`, compiled (relative paths; no base directory).
    pub excluded: Option<PathFilter>,
    /// `allow_paths` as given, for filters with a base directory.
    pub allow_paths: Vec<String>,
}

impl Compiled {
    /// `allow_paths` for paths on disk under `base` (None when there are none).
    pub fn path_filter(&self, base: Option<std::path::PathBuf>) -> Option<PathFilter> {
        if self.allow_paths.is_empty() {
            return None;
        }
        PathFilter::new(&self.allow_paths, base).ok()
    }
}

fn parse(src: &RuleSource) -> Result<RuleFile, String> {
    RuleFile::parse(&src.text, Path::new(&src.origin))
}

impl Settings {
    /// Compiles the settings. Errors name the file, rule and field, or the rule id, at fault;
    /// none quotes scanned data.
    ///
    /// The rules are loaded as `keysweep scan --rules FILE...` loads them: the built-in rules
    /// unless `rules` is a file or a gitleaks configuration without `useDefault` is among the
    /// files, with the built-in rules that gitleaks `disabledRules` name turned off, then every
    /// file's rules.
    pub fn compile(&self) -> Result<Compiled, String> {
        let mut files = Vec::new();
        if let Rules::File(src) = &self.rules {
            files.push(parse(src)?);
        }
        for src in &self.extra {
            files.push(parse(src)?);
        }
        let file_keeps_builtin = match (&self.rules, files.first()) {
            (Rules::File(_), Some(RuleFile::Gitleaks(c))) => c.use_default,
            (Rules::File(_), _) => false,
            _ => true,
        };
        let (mut set, allow) = keysweep_gitleaks::combine(files, file_keeps_builtin)?;
        if let Rules::Only(ids) = &self.rules {
            for id in ids {
                if set.get(id).is_none() {
                    return Err(format!(
                        "rules: no rule has the id {id:?} (Scanner().rule_ids lists the built-in rules)"
                    ));
                }
            }
            set.retain(|r| ids.iter().any(|id| **id == *r.id));
        }
        if set.is_empty() {
            return Err("no rules to run (a rule file without rules, or a gitleaks \
                        configuration without useDefault and without rules of its own)"
                .into());
        }
        let rules = allow.apply_matches(set).map_err(|e| e.to_string())?;
        let allowed_paths = allow
            .path_matcher()
            .map_err(|e| format!("gitleaks allowlist paths: {e}"))?;
        let mut builder = ScannerBuilder::new()
            // Suppressed findings are kept so that a sweep caches what `keysweep sweep`
            // caches; scans and sweeps drop them before they reach Python.
            .keep_suppressed(true)
            .min_confidence(self.min_confidence)
            .allow_values(&self.allow_values)
            .allow_values(&allow.values);
        if !self.decode {
            builder = builder.decode_depth(0);
        }
        let key = self.fingerprint_key.as_ref().map(|k| k.0.as_str());
        if let Some(k) = key {
            builder = builder.fingerprint_key(k.as_bytes().to_vec());
        }
        if let Some(src) = &self.baseline {
            // As `keysweep scan --baseline` reads one: the same checks, the same errors.
            let path = Path::new(&src.origin);
            let base = Baseline::parse(src.text.as_bytes(), path).map_err(|e| e.to_string())?;
            base.check_key(key, path).map_err(|e| e.to_string())?;
            builder = builder.baseline(base.fingerprints());
        }
        let excluded = if self.allow_paths.is_empty() {
            None
        } else {
            Some(PathFilter::new(&self.allow_paths, None).map_err(|e| {
                format!("allow_paths: {:?}: {}", self.allow_paths[e.index], e.reason)
            })?)
        };
        let user_values = self.allow_values.len();
        let scanner = builder.build(rules).map_err(|e| match e.allow_value() {
            Some(i) if i < user_values => format!(
                "allow_values: {:?} does not compile: {}",
                self.allow_values[i],
                e.reason()
            ),
            _ => format!("gitleaks allowlist: {e}"),
        })?;
        let mut h = Sha256::new();
        h.update(format!(
            "keysweep-py 1\0{}\0{}\0{:?}\0{:?}\0{:?}",
            self.min_confidence, self.decode, allow.paths, allow.values, allow.matches
        ));
        // What a keyed fingerprint, a baseline and allowlists change (the key itself only as
        // a hash).
        h.update(format!(
            "\0{:?}\0{:?}\0{:?}\0",
            self.allow_values,
            self.allow_paths,
            self.baseline.as_ref().map(|b| &b.text)
        ));
        if let Some(k) = key {
            h.update(Sha256::digest(k.as_bytes()));
        }
        let options_key = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Compiled {
            scanner,
            allowed_paths,
            options_key,
            excluded,
            allow_paths: self.allow_paths.clone(),
        })
    }
}
