//! Baselines: the findings a team has triaged, keyed by secret fingerprint.
//!
//! A baseline lists each distinct secret once, by fingerprint, with its rules and the paths
//! it was seen at, sorted. Lines are not recorded, so editing other lines or moving a file
//! neither changes what a baseline suppresses nor (for unchanged code) its bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use keysweep::{Fingerprint, Suppression};
use keysweep_source::Hit;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The format version written and understood.
const VERSION: u32 = 1;

/// Hashed under the scan's fingerprint key and stored, so a baseline used with another key
/// (whose fingerprints could never match) is an error instead of a silent no-op.
const KEY_CHECK: &[u8] = b"keysweep baseline key check";

/// A baseline file (schema: `docs/schema/baseline.json`).
///
/// ```
/// use keysweep_report::Baseline;
///
/// let base = Baseline::from_hits(&[], None);
/// let bytes = base.to_bytes();
/// let again = Baseline::parse(&bytes, "baseline.json".as_ref()).unwrap();
/// assert_eq!(again.len(), 0);
/// assert!(again.check_key(None, "baseline.json".as_ref()).is_ok());
/// assert!(again.check_key(Some("team-key"), "baseline.json".as_ref()).is_err());
/// ```
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "keysweep baseline",
    description = "Triaged secrets, by fingerprint: `keysweep baseline create` writes it, `--baseline` reads it."
)]
pub struct Baseline {
    /// The format version (1).
    keysweep_baseline: u32,
    /// The fingerprint of a fixed text under the fingerprint key used: baselines made under
    /// another key are refused.
    fingerprint_check: String,
    /// One entry per secret, sorted by fingerprint.
    secrets: Vec<Entry>,
}

/// One triaged secret.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// The secret's fingerprint.
    fingerprint: String,
    /// The rules that found it.
    rules: Vec<String>,
    /// Where it was seen.
    paths: Vec<String>,
}

/// Why a baseline could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum BaselineError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a keysweep baseline of a version this keysweep reads.
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
    /// The baseline was made under another fingerprint key.
    Key {
        /// The file.
        path: PathBuf,
        /// Whether this scan has a key.
        keyed: bool,
    },
}

impl fmt::Display for BaselineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaselineError::Read { path, source } => write!(
                f,
                "cannot read baseline {}: {}",
                path.display(),
                keysweep_source::io_reason(source)
            ),
            BaselineError::Invalid { path, message } => write!(f, "{}{message}", path.display()),
            BaselineError::Key { path, keyed } => write!(
                f,
                "baseline {} was created with {} fingerprint key than this scan (KEYSWEEP_FINGERPRINT_KEY); its fingerprints cannot match",
                path.display(),
                if *keyed { "another" } else { "a" }
            ),
        }
    }
}

impl std::error::Error for BaselineError {}

fn key_check(key: Option<&str>) -> String {
    Fingerprint::of(KEY_CHECK, key.map(str::as_bytes)).to_string()
}

impl Baseline {
    /// A baseline of `hits`: those reported and those an older baseline suppressed (inline,
    /// allowlisted and placeholder findings stay out).
    pub fn from_hits(hits: &[Hit], key: Option<&str>) -> Baseline {
        let mut by_fp: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for hit in hits {
            let f = &hit.finding;
            if !matches!(f.suppressed, None | Some(Suppression::Baseline)) {
                continue;
            }
            let e = by_fp.entry(f.fingerprint.to_string()).or_default();
            e.0.insert(f.rule_id.to_string());
            e.1.insert(hit.location.display());
        }
        Baseline {
            keysweep_baseline: VERSION,
            fingerprint_check: key_check(key),
            secrets: by_fp
                .into_iter()
                .map(|(fingerprint, (rules, paths))| Entry {
                    fingerprint,
                    rules: rules.into_iter().collect(),
                    paths: paths.into_iter().collect(),
                })
                .collect(),
        }
    }

    /// Secrets in the baseline.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether it holds no secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The file's bytes: pretty JSON, sorted, with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a baseline serialises");
        out.push(b'\n');
        out
    }

    /// Reads and checks a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let bytes = std::fs::read(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::parse(&bytes, path)
    }

    /// Parses and checks a baseline's bytes (`path` names it in errors).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Baseline, BaselineError> {
        let invalid = |message: String| BaselineError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let base: Baseline = serde_json::from_slice(bytes).map_err(|e| {
            invalid(format!(
                ":{}: not a keysweep baseline: {}",
                e.line().max(1),
                crate::safe_json_error(&e)
            ))
        })?;
        if base.keysweep_baseline != VERSION {
            return Err(invalid(format!(
                ": baseline format {} is not supported (this keysweep reads {VERSION})",
                base.keysweep_baseline
            )));
        }
        for (i, e) in base.secrets.iter().enumerate() {
            e.fingerprint
                .parse::<Fingerprint>()
                .map_err(|err| invalid(format!(": secrets[{i}].fingerprint: {err}")))?;
        }
        Ok(base)
    }

    /// Fails when the baseline was made under another fingerprint key than `key`.
    pub fn check_key(&self, key: Option<&str>, path: &Path) -> Result<(), BaselineError> {
        if self.fingerprint_check == key_check(key) {
            return Ok(());
        }
        Err(BaselineError::Key {
            path: path.to_path_buf(),
            keyed: key.is_some(),
        })
    }

    /// The fingerprints it suppresses.
    pub fn fingerprints(&self) -> impl Iterator<Item = Fingerprint> + '_ {
        self.secrets
            .iter()
            .filter_map(|e| e.fingerprint.parse().ok())
    }
}
