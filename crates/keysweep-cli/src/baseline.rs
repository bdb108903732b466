//! Baselines: the findings a team has triaged, keyed by secret fingerprint.
//!
//! A baseline lists each distinct secret once, by fingerprint, with its rules and the paths
//! it was seen at, sorted. Lines are not recorded, so editing other lines or moving a file
//! neither changes what a baseline suppresses nor (for unchanged code) its bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use keysweep::{Fingerprint, Suppression};
use serde::{Deserialize, Serialize};

use crate::cmd_scan::{self, Collected};
use crate::{InputArgs, EXIT_ERROR};

/// The format version written and understood.
const VERSION: u32 = 1;

/// Hashed under the scan's fingerprint key and stored, so a baseline used with another key
/// (whose fingerprints could never match) is an error instead of a silent no-op.
const KEY_CHECK: &[u8] = b"keysweep baseline key check";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    keysweep_baseline: u32,
    fingerprint_check: String,
    secrets: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    fingerprint: String,
    rules: Vec<String>,
    paths: Vec<String>,
}

fn key_check(key: Option<&str>) -> String {
    Fingerprint::of(KEY_CHECK, key.map(str::as_bytes)).to_string()
}

impl Baseline {
    /// Builds a baseline from a scan's findings: the reported ones and those an older baseline
    /// suppressed (inline, allowlisted and placeholder findings stay out).
    fn from_findings(collected: &Collected, key: Option<&str>) -> Baseline {
        let mut by_fp: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for file in &collected.files {
            for f in &file.findings {
                if !matches!(f.suppressed, None | Some(Suppression::Baseline)) {
                    continue;
                }
                let e = by_fp.entry(f.fingerprint.to_string()).or_default();
                e.0.insert(f.rule_id.to_string());
                e.1.insert(file.path.clone());
            }
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

    /// The file's bytes: pretty JSON, sorted, with a final newline.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a baseline serialises");
        out.push(b'\n');
        out
    }

    /// Reads and checks a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let name = path.display();
        let bytes = std::fs::read(path).map_err(|e| {
            format!(
                "cannot read baseline {name}: {}",
                crate::output::io_reason(&e)
            )
        })?;
        let base: Baseline = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{name}:{}: not a keysweep baseline: {e}", e.line().max(1)))?;
        if base.keysweep_baseline != VERSION {
            return Err(format!(
                "{name}: baseline format {} is not supported (this keysweep reads {VERSION})",
                base.keysweep_baseline
            ));
        }
        for (i, e) in base.secrets.iter().enumerate() {
            e.fingerprint.parse::<Fingerprint>().map_err(|err| {
                format!(
                    "{name}: secrets[{i}].fingerprint {:?}: {err}",
                    e.fingerprint
                )
            })?;
        }
        Ok(base)
    }

    /// Fails when the baseline was made under another fingerprint key than `key`.
    pub fn check_key(&self, key: Option<&str>, path: &Path) -> Result<(), String> {
        if self.fingerprint_check == key_check(key) {
            return Ok(());
        }
        Err(format!(
            "baseline {} was created with {} fingerprint key than this scan (KEYSWEEP_FINGERPRINT_KEY); its fingerprints cannot match",
            path.display(),
            if key.is_some() { "another" } else { "a" }
        ))
    }

    pub fn fingerprints(&self) -> impl Iterator<Item = Fingerprint> + '_ {
        self.secrets
            .iter()
            .filter_map(|e| e.fingerprint.parse().ok())
    }
}

/// `keysweep baseline create`.
pub fn create(input: &InputArgs, output: Option<&Path>, quiet: bool) -> Result<u8, String> {
    let setup = cmd_scan::prepare(input)?;
    let collected = cmd_scan::collect(input, &setup, false)?;
    let base = Baseline::from_findings(&collected, input.fingerprint_key.as_deref());
    let bytes = base.to_bytes();
    match output {
        Some(path) => write_atomically(path, &bytes).map_err(|e| {
            format!(
                "cannot write {}: {}",
                path.display(),
                crate::output::io_reason(&e)
            )
        })?,
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(&bytes).and_then(|()| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => {
                    return Err(format!(
                        "cannot write output: {}",
                        crate::output::io_reason(&e)
                    ))
                }
                Ok(()) => {}
            }
        }
    }
    if !quiet {
        eprintln!(
            "keysweep: baseline of {} secret(s){}",
            base.secrets.len(),
            output.map_or(String::new(), |p| format!(" written to {}", p.display()))
        );
    }
    if collected.errors {
        eprintln!("keysweep: error: some inputs could not be read (see above); the baseline may be incomplete");
        return Ok(EXIT_ERROR);
    }
    Ok(0)
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`: a reader
/// never sees half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.keysweep-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
