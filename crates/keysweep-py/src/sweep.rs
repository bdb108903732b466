//! Sweeps from Python: `Scanner.sweep` (many repositories in this process, as `keysweep sweep`
//! does), `Scanner._sweep_repo` (one repository, its result as JSON for another process to
//! merge) and `SweepResult` (what a sweep found, written out as the command line writes it).

use std::path::{Path, PathBuf};

use keysweep_gitleaks::PathMatcher;
use keysweep_sweep::{AuditRecord, Outcome, RepoResult, RepoSpec, Sweep};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::errors::io_error;
use crate::finding::{to_python, Finding};
use crate::settings::Compiled;

/// A repository as Python names it: a URL or path string, or an `os.PathLike`.
pub fn repo_spec(obj: &Bound<'_, PyAny>) -> PyResult<RepoSpec> {
    if let Ok(s) = obj.extract::<String>() {
        return Ok(RepoSpec::parse(&s));
    }
    Ok(RepoSpec::Path(obj.extract::<PathBuf>()?))
}

/// What `keysweep sweep` does to a repository's records before writing them: the global
/// allowlist paths of gitleaks configurations suppress, and suppressed records are left out.
fn settle(result: &mut RepoResult, allowed: Option<&PathMatcher>) {
    if let Some(m) = allowed {
        for rec in &mut result.records {
            if rec.suppressed.is_none()
                && rec.location.path.as_deref().is_some_and(|p| m.is_match(p))
            {
                rec.suppressed = Some(keysweep::Suppression::Allowlist);
            }
        }
    }
    result.records.retain(|r| r.suppressed.is_none());
}

pub fn sweep_error(e: keysweep_sweep::Error) -> PyErr {
    PyOSError::new_err(e.to_string())
}

pub fn new_sweep(compiled: &Compiled, workdir: &Path, jobs: usize) -> Sweep {
    let sweep = Sweep::new(compiled.scanner.clone(), workdir)
        .options_key(compiled.options_key.clone())
        .jobs(jobs);
    match compiled.path_filter(None) {
        Some(f) => sweep.allow_paths(f),
        None => sweep,
    }
}

/// Sweeps `repos` with the work directory `workdir`; with `out`, writes `audit.jsonl` as each
/// repository ends and `findings.jsonl` and the inventory (`inventory.json`, `.csv`, `.html`)
/// at the end, as `keysweep sweep` does. Runs without the GIL.
pub fn run(
    py: Python<'_>,
    compiled: &Compiled,
    repos: Vec<RepoSpec>,
    workdir: PathBuf,
    out: Option<PathBuf>,
    jobs: usize,
    reveal: bool,
) -> PyResult<SweepResult> {
    let outcome = py.detach(|| -> PyResult<Outcome> {
        let mut sweep = new_sweep(compiled, &workdir, jobs);
        if let Some(out) = &out {
            std::fs::create_dir_all(out)
                .map_err(|e| io_error(&e, format!("cannot create {}", out.display()), Some(out)))?;
            sweep = sweep.audit_log(out.join("audit.jsonl"));
        }
        let mut outcome = sweep.run(&repos).map_err(sweep_error)?;
        for r in &mut outcome.repos {
            settle(r, compiled.allowed_paths.as_ref());
        }
        Ok(outcome)
    })?;
    let result = SweepResult { outcome, reveal };
    if let Some(out) = out {
        result.write(py, out, None)?;
    }
    Ok(result)
}

/// Sweeps one repository in `workdir` and returns its [`RepoResult`] as one line of JSON,
/// records redacted unless `reveal`, and left out when `held` is their digest and the
/// repository is unchanged ([`Sweep::held`]). A repository that fails is a result too (its
/// audit record says why); only a work directory that cannot be used is an error.
pub fn run_one(
    py: Python<'_>,
    compiled: &Compiled,
    repo: RepoSpec,
    workdir: PathBuf,
    threads: Option<usize>,
    reveal: bool,
    held: Option<String>,
) -> PyResult<String> {
    py.detach(|| {
        let mut sweep = new_sweep(compiled, &workdir, 1);
        if let Some(n) = threads {
            sweep = sweep.threads(n);
        }
        if let Some(digest) = held {
            sweep = sweep.held(&repo, digest);
        }
        let mut outcome = sweep.run(&[repo]).map_err(sweep_error)?;
        let mut result = outcome
            .repos
            .pop()
            .ok_or_else(|| PyValueError::new_err("the sweep returned no result"))?;
        settle(&mut result, compiled.allowed_paths.as_ref());
        if !reveal {
            result.records.iter_mut().for_each(keysweep_sweep::redact);
        }
        result
            .to_line()
            .map_err(|e| PyValueError::new_err(e.to_string()))
    })
}

/// The result of a repository that could not be swept at all (its worker kept dying), as
/// `Scanner._sweep_repo` would return it: an audit record with status `failed` and `error`.
#[pyfunction]
pub fn failed_result(repo: &Bound<'_, PyAny>, error: String) -> PyResult<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let result = RepoResult {
        audit: AuditRecord {
            repo: repo_spec(repo)?.display(),
            status: "failed".into(),
            mode: String::new(),
            error: Some(error),
            reason: None,
            rewritten_refs: Vec::new(),
            deleted_refs: Vec::new(),
            tips: Vec::new(),
            blobs_scanned: 0,
            blobs_cached: 0,
            bytes_scanned: 0,
            findings: 0,
            problems: Vec::new(),
            seconds: 0.0,
            finished_at: now,
        },
        records: Vec::new(),
        records_digest: None,
        records_held: false,
    };
    result
        .to_line()
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// A result line as `SweepResult.from_json` takes it: alone, or with the kept result whose
/// findings it holds.
#[derive(FromPyObject)]
pub enum ResultLine {
    One(String),
    Held(String, Kept),
}

/// A kept result: text, or its UTF-8 bytes as read from a file (not decoded by Python).
#[derive(FromPyObject)]
pub enum Kept {
    Text(String),
    Bytes(Vec<u8>),
}

/// What a sweep found: one audit record per repository and the findings of all of them.
#[pyclass(module = "keysweep", frozen)]
pub struct SweepResult {
    outcome: Outcome,
    /// Whether findings show their secrets.
    reveal: bool,
}

#[pymethods]
impl SweepResult {
    /// The results of repositories swept one by one elsewhere (each a `Scanner._sweep_repo`
    /// JSON line), in the order to report them. A result whose findings were held (left out
    /// because the caller kept them) comes as a pair: the line, and the kept earlier result
    /// of the same repository whose findings it stands for.
    #[staticmethod]
    #[pyo3(signature = (results, reveal = false))]
    fn from_json(py: Python<'_>, results: Vec<ResultLine>, reveal: bool) -> PyResult<SweepResult> {
        use rayon::prelude::*;
        // Lines are read on every core, without the GIL: a sweep's results are tens of MB.
        let read = |i: usize, line: &str| {
            RepoResult::from_line(line)
                .map_err(|e| format!("result {i} is not a repository's result: {e}"))
        };
        let repos = py
            .detach(|| {
                results
                    .par_iter()
                    .enumerate()
                    .map(|(i, r)| match r {
                        ResultLine::One(line) => {
                            let result = read(i, line)?;
                            if result.records_held {
                                return Err(format!(
                                    "result {i} ({}) left its findings out for the caller to add: pass it with the kept result, as (line, kept)",
                                    result.audit.repo
                                ));
                            }
                            Ok(result)
                        }
                        ResultLine::Held(line, kept) => {
                            let result = read(i, line)?;
                            if !result.records_held {
                                return Ok(result);
                            }
                            let kept = match kept {
                                Kept::Text(t) => read(i, t)?,
                                Kept::Bytes(b) => read(
                                    i,
                                    std::str::from_utf8(b).map_err(|e| {
                                        format!("result {i}: the kept result is not UTF-8: {e}")
                                    })?,
                                )?,
                            };
                            result.with_held(kept)
                        }
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .map_err(PyValueError::new_err)?;
        Ok(SweepResult {
            outcome: Outcome {
                repos,
                notes: Vec::new(),
            },
            reveal,
        })
    }

    /// One audit record per repository (the lines of `audit.jsonl`, as dicts): `repo`,
    /// `status` (`swept`, `empty`, `failed`), `mode` (`full`, `incremental`, `unchanged`),
    /// `error`, `reason` (why a repository swept before was walked in full), `rewritten_refs`,
    /// `deleted_refs`, `tips`, `blobs_scanned`, `blobs_cached`, `bytes_scanned`, `findings`,
    /// `problems`, `seconds`, `finished_at`.
    #[getter]
    fn audit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let json = serde_json::to_string(
            &self
                .outcome
                .repos
                .iter()
                .map(|r| &r.audit)
                .collect::<Vec<_>>(),
        )
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(to_python(py, &json)?.cast_into::<PyList>()?)
    }

    /// The audit record of one result (a `Scanner._sweep_repo` line) as a line of
    /// `audit.jsonl` (without newline), without reading its findings. For a result whose
    /// findings were held, `findings` is their count (the kept result's).
    #[staticmethod]
    #[pyo3(signature = (result, findings = None))]
    fn audit_line(result: &str, findings: Option<u64>) -> PyResult<String> {
        let mut audit = RepoResult::audit_of_line(result)
            .map_err(|e| PyValueError::new_err(format!("not a repository's result: {e}")))?;
        if let Some(n) = findings {
            if RepoResult::held_line(result) {
                audit.findings = n;
            }
        }
        serde_json::to_string(&audit).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The digest of the findings of a result (a `Scanner._sweep_repo` line), read from its
    /// start: what to pass as `held` to sweep that repository again while keeping this result.
    /// `None` when its cache records none.
    #[staticmethod]
    fn digest_of(result: &str) -> Option<String> {
        RepoResult::digest_of_line(result).map(str::to_owned)
    }

    /// Whether a result (a `Scanner._sweep_repo` line) left its findings out because the
    /// caller holds them.
    #[staticmethod]
    fn is_held(result: &str) -> bool {
        RepoResult::held_line(result)
    }

    /// The audit records as the lines of `audit.jsonl` (without newlines).
    fn audit_lines(&self) -> PyResult<Vec<String>> {
        self.outcome
            .repos
            .iter()
            .map(|r| {
                serde_json::to_string(&r.audit).map_err(|e| PyValueError::new_err(e.to_string()))
            })
            .collect()
    }

    /// Every finding, repository by repository (suppressed findings left out).
    #[getter]
    fn findings(&self) -> Vec<Finding> {
        self.outcome
            .repos
            .iter()
            .flat_map(|r| &r.records)
            .map(|r| Finding::new(r.clone(), self.reveal))
            .collect()
    }

    /// Notes about the sweep itself (a damaged cache that was rebuilt).
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.outcome.notes.clone()
    }

    /// Whether every repository was swept (none failed).
    #[getter]
    fn complete(&self) -> bool {
        self.outcome.complete()
    }

    /// Writes `findings.jsonl` (secrets redacted unless the sweep revealed them) and the
    /// inventory (always redacted: `inventory.json`, `inventory.csv`, `inventory.html`) into
    /// `out`, as `keysweep sweep --out` does;
    /// `as_of` (`YYYY-MM-DD`, default today) dates the inventory's exposure ages.
    #[pyo3(signature = (out, as_of = None))]
    fn write(&self, py: Python<'_>, out: PathBuf, as_of: Option<&str>) -> PyResult<()> {
        let as_of = match as_of {
            None => keysweep_source::dates::today(),
            Some(s) => keysweep_source::dates::parse_day(s).ok_or_else(|| {
                PyValueError::new_err(format!("as_of: {s:?} is not a YYYY-MM-DD date"))
            })?,
        };
        py.detach(|| {
            keysweep_sweep::write_results(&out, &self.outcome, self.reveal, as_of).map_err(|e| {
                io_error(
                    &e,
                    format!(
                        "cannot write the results into {}: {}",
                        out.display(),
                        keysweep_source::io_reason(&e)
                    ),
                    Some(&out),
                )
            })
        })
    }

    fn __len__(&self) -> usize {
        self.outcome.repos.len()
    }

    fn __repr__(&self) -> String {
        let failed = self
            .outcome
            .repos
            .iter()
            .filter(|r| r.audit.status == "failed")
            .count();
        let findings: usize = self.outcome.repos.iter().map(|r| r.records.len()).sum();
        format!(
            "SweepResult(repositories={}, failed={failed}, findings={findings})",
            self.outcome.repos.len()
        )
    }
}
