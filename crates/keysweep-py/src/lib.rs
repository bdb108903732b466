//! `keysweep._keysweep`, the extension module of the `keysweep` Python package: a compiled
//! [`keysweep::Scanner`] behind a Python class, the source layer's jobs (paths, history,
//! staged changes) and the sweep of many repositories.
//!
//! The compiled scanner is immutable and shared by `Arc`; buffer scans borrow a scratch space
//! from a small pool, so any number of Python threads may scan with one `Scanner` at once.
//! Every scan runs with the GIL released.
#![deny(missing_docs)]

mod errors;
mod finding;
mod settings;
mod sweep;
mod validate;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use keysweep::{Confidence, Scratch};
use keysweep_report::Record;
use keysweep_source::{
    ChangeScan, Collect, HistoryScan, Hit, ImageScan, Location, PathScan, Problem, Severity,
};
use pyo3::exceptions::{PyOSError, PyTypeError, PyUserWarning, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::errors::{io_error, job_error};
use crate::finding::{quoted, Finding};
use crate::settings::{Compiled, FingerprintKey, RuleSource, Rules, Settings};
use crate::sweep::SweepResult;
use crate::validate::{Revocation, Validation};

pyo3::create_exception!(
    keysweep,
    ScanWarning,
    PyUserWarning,
    "Something a scan could not read or that looked wrong (an unreadable file, a damaged git \
     object, an archive limit); the rest was scanned."
);

/// Scratch spaces kept for reuse at most (one per thread scanning at once, in practice).
const POOL: usize = 16;

/// A compiled rule set and its settings. Immutable: share one between threads.
#[pyclass(module = "keysweep", frozen)]
struct Scanner {
    settings: Settings,
    compiled: Arc<Compiled>,
    scratch: Mutex<Vec<Scratch>>,
}

fn read_source(path: &Path) -> PyResult<RuleSource> {
    read_text(path, "rule file")
}

fn read_text(path: &Path, what: &str) -> PyResult<RuleSource> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        io_error(
            &e,
            format!(
                "cannot read {what} {}: {}",
                path.display(),
                keysweep_source::io_reason(&e)
            ),
            Some(path),
        )
    })?;
    Ok(RuleSource {
        origin: path.display().to_string(),
        text,
    })
}

fn parse_confidence(s: &str) -> PyResult<Confidence> {
    Confidence::parse(s).ok_or_else(|| {
        PyValueError::new_err(format!(
            "min_confidence: {s:?} is not one of \"low\", \"medium\", \"high\""
        ))
    })
}

/// Python's `rules` argument: None, a path (str or os.PathLike), or an iterable of rule ids.
fn rules_arg(py: Python<'_>, rules: Option<&Bound<'_, PyAny>>) -> PyResult<Rules> {
    let Some(obj) = rules else {
        return Ok(Rules::Builtin);
    };
    let pathlike = py.import("os")?.getattr("PathLike")?;
    if obj.is_instance_of::<PyString>() || obj.is_instance(&pathlike)? {
        return Ok(Rules::File(read_source(&obj.extract::<PathBuf>()?)?));
    }
    let ids = obj
        .try_iter()
        .and_then(|it| {
            it.map(|id| id?.extract::<String>())
                .collect::<PyResult<Vec<_>>>()
        })
        .map_err(|_| {
            PyTypeError::new_err(
                "rules: expected None, a rule file path, or an iterable of rule ids (str)",
            )
        })?;
    if ids.is_empty() {
        return Err(PyValueError::new_err(
            "rules: an empty list of rule ids runs no rule",
        ));
    }
    Ok(Rules::Only(ids))
}

fn warn_problems(py: Python<'_>, problems: &[Problem]) -> PyResult<()> {
    let category = py.get_type::<ScanWarning>();
    for p in problems.iter().filter(|p| p.severity >= Severity::Warning) {
        let text = p.to_string().replace('\0', "\\0");
        let msg = CString::new(text).unwrap_or_default();
        PyErr::warn(py, &category, &msg, 1)?;
    }
    Ok(())
}

impl Scanner {
    fn from_settings(py: Python<'_>, settings: Settings) -> PyResult<Scanner> {
        let compiled = py
            .detach(|| settings.compile())
            .map_err(PyValueError::new_err)?;
        Ok(Scanner {
            settings,
            compiled: Arc::new(compiled),
            scratch: Mutex::new(Vec::new()),
        })
    }

    /// Findings of `hits` as Python sees them: suppressed ones left out (and those the global
    /// allowlist paths of gitleaks configurations allow, as the CLI leaves them out), ordered
    /// by path, position, rule and blob (jobs report them from their worker threads in no
    /// particular order).
    /// Each comes with the engine's finding it was made from (what validation sends).
    fn records(&self, mut hits: Vec<Hit>) -> Vec<(Record, keysweep::Finding)> {
        let rules = self.compiled.scanner.rules();
        let allowed = |h: &Hit| match (&self.compiled.allowed_paths, h.location.path.as_deref()) {
            (Some(m), Some(p)) => m.is_match(p),
            _ => false,
        };
        hits.retain(|h| h.finding.suppressed.is_none() && !allowed(h));
        let key = |h: &Hit| {
            (
                h.location.path.clone(),
                h.finding.range.start,
                h.finding.rule_id.clone(),
                h.location.history().map(|g| g.blob.clone()),
            )
        };
        hits.sort_by_cached_key(key);
        hits.into_iter()
            .map(|h| {
                (
                    Record::new(&h, &rules[h.finding.rule_index], true),
                    h.finding,
                )
            })
            .collect()
    }

    /// Runs a job without the GIL; its problems become `ScanWarning`s.
    fn run_job(
        &self,
        py: Python<'_>,
        reveal: bool,
        job: impl FnOnce(&Collect) -> Result<(), keysweep_source::Error> + Send,
        path: &Path,
    ) -> PyResult<Vec<Finding>> {
        let (records, problems) = py
            .detach(|| {
                let sink = Collect::default();
                job(&sink)?;
                let (hits, problems) = sink.into_parts();
                Ok((self.records(hits), problems))
            })
            .map_err(|e| job_error(e, path))?;
        warn_problems(py, &problems)?;
        Ok(records
            .into_iter()
            .map(|(r, f)| Finding::scanned(r, f, reveal))
            .collect())
    }

    fn settings_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let source = |s: &RuleSource| -> PyResult<Bound<'py, PyDict>> {
            let f = PyDict::new(py);
            f.set_item("origin", &s.origin)?;
            f.set_item("text", &s.text)?;
            Ok(f)
        };
        d.set_item("version", 1)?;
        match &self.settings.rules {
            Rules::Builtin => d.set_item("rules", py.None())?,
            Rules::Only(ids) => d.set_item("rules", PyList::new(py, ids)?)?,
            Rules::File(s) => d.set_item("rules", source(s)?)?,
        }
        let extra = self
            .settings
            .extra
            .iter()
            .map(source)
            .collect::<PyResult<Vec<_>>>()?;
        d.set_item("extra_rule_files", PyList::new(py, extra)?)?;
        d.set_item("min_confidence", self.settings.min_confidence.as_str())?;
        d.set_item("decode", self.settings.decode)?;
        d.set_item(
            "fingerprint_key",
            self.settings.fingerprint_key.as_ref().map(|k| k.0.as_str()),
        )?;
        match &self.settings.baseline {
            Some(b) => d.set_item("baseline", source(b)?)?,
            None => d.set_item("baseline", py.None())?,
        }
        d.set_item(
            "allow_values",
            PyList::new(py, &self.settings.allow_values)?,
        )?;
        d.set_item("allow_paths", PyList::new(py, &self.settings.allow_paths)?)?;
        Ok(d)
    }
}

fn source_of(obj: &Bound<'_, PyAny>) -> PyResult<RuleSource> {
    Ok(RuleSource {
        origin: obj.get_item("origin")?.extract()?,
        text: obj.get_item("text")?.extract()?,
    })
}

#[pymethods]
impl Scanner {
    /// Compiles a scanner.
    ///
    /// `rules`: None for the built-in rules; a list of rule ids to run only those (of the
    /// built-in rules and `extra_rule_files`); or the path of a rule file (keysweep or gitleaks
    /// TOML) whose rules replace the built-in ones. `extra_rule_files` add rules, as
    /// `keysweep scan --rules FILE` does (a gitleaks configuration without
    /// `[extend] useDefault = true` is a complete rule set: the built-in rules then do not run).
    ///
    /// As the command line's options and `.keysweep.toml` do: `fingerprint_key` keys the
    /// fingerprints (`--fingerprint-key`, `KEYSWEEP_FINGERPRINT_KEY`; never shown);
    /// `baseline`, the path of a baseline from `keysweep baseline create` (`--baseline`): the
    /// secrets it records are not reported (it must have been made with the same fingerprint
    /// key); `allow_values`, regexes over secret values never reported (`allow.values`);
    /// `allow_paths`, globs of paths whose findings are left out (`allow.paths`: relative to the
    /// repository root, or to the scanned directory outside a repository).
    #[new]
    #[pyo3(signature = (rules = None, extra_rule_files = Vec::new(), min_confidence = "low", decode = true, *, fingerprint_key = None, baseline = None, allow_values = Vec::new(), allow_paths = Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        rules: Option<&Bound<'_, PyAny>>,
        extra_rule_files: Vec<PathBuf>,
        min_confidence: &str,
        decode: bool,
        fingerprint_key: Option<String>,
        baseline: Option<PathBuf>,
        allow_values: Vec<String>,
        allow_paths: Vec<String>,
    ) -> PyResult<Scanner> {
        if fingerprint_key.as_deref().is_some_and(str::is_empty) {
            return Err(PyValueError::new_err(
                "fingerprint_key: an empty key (give None for unkeyed fingerprints)",
            ));
        }
        let settings = Settings {
            rules: rules_arg(py, rules)?,
            extra: extra_rule_files
                .iter()
                .map(|p| read_source(p))
                .collect::<PyResult<_>>()?,
            min_confidence: parse_confidence(min_confidence)?,
            decode,
            fingerprint_key: fingerprint_key.map(FingerprintKey),
            baseline: baseline
                .as_deref()
                .map(|p| read_text(p, "baseline"))
                .transpose()?,
            allow_values,
            allow_paths,
        };
        Scanner::from_settings(py, settings)
    }

    /// A scanner from `settings()` (what a pickle carries): rule files come with their text.
    #[staticmethod]
    fn from_settings_dict(py: Python<'_>, settings: &Bound<'_, PyDict>) -> PyResult<Scanner> {
        let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
            settings
                .get_item(k)?
                .ok_or_else(|| PyValueError::new_err(format!("scanner settings: {k} is missing")))
        };
        let version: u32 = get("version")?.extract()?;
        if version != 1 {
            return Err(PyValueError::new_err(format!(
                "scanner settings: version {version} is not known to this keysweep"
            )));
        }
        let rules = get("rules")?;
        let rules = if rules.is_none() {
            Rules::Builtin
        } else if let Ok(d) = rules.cast::<PyDict>() {
            Rules::File(source_of(d.as_any())?)
        } else {
            Rules::Only(rules.extract()?)
        };
        let extra = get("extra_rule_files")?
            .try_iter()?
            .map(|s| source_of(&s?))
            .collect::<PyResult<_>>()?;
        // Keys a dict of an older keysweep lacks take their defaults.
        let optional = |k: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
            Ok(settings.get_item(k)?.filter(|v| !v.is_none()))
        };
        let settings = Settings {
            rules,
            extra,
            min_confidence: parse_confidence(&get("min_confidence")?.extract::<String>()?)?,
            decode: get("decode")?.extract()?,
            fingerprint_key: optional("fingerprint_key")?
                .map(|k| k.extract::<String>().map(FingerprintKey))
                .transpose()?,
            baseline: optional("baseline")?.map(|b| source_of(&b)).transpose()?,
            allow_values: optional("allow_values")?
                .map(|v| v.extract())
                .transpose()?
                .unwrap_or_default(),
            allow_paths: optional("allow_paths")?
                .map(|v| v.extract())
                .transpose()?
                .unwrap_or_default(),
        };
        Scanner::from_settings(py, settings)
    }

    /// The settings this scanner was built from, rule files with their text: pickling a
    /// scanner carries these, and unpickling compiles them again.
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.settings_dict(py)
    }

    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.settings_dict(py)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let rebuild = slf.get_type().getattr("from_settings_dict")?;
        let state = slf.get().settings_dict(py)?;
        PyTuple::new(py, [rebuild, PyTuple::new(py, [state])?.into_any()])
    }

    /// The ids of the rules this scanner runs.
    #[getter]
    fn rule_ids(&self) -> Vec<String> {
        self.compiled
            .scanner
            .rules()
            .iter()
            .map(|r| r.id.to_string())
            .collect()
    }

    /// Scans `data` (the content of the file at `path`, when given: rules scoped to file
    /// names such as `.pgpass` run where it matches).
    #[pyo3(signature = (data, path = None, *, reveal = false))]
    fn scan_bytes(
        &self,
        py: Python<'_>,
        data: &[u8],
        path: Option<String>,
        reveal: bool,
    ) -> Vec<Finding> {
        if let (Some(f), Some(p)) = (&self.compiled.excluded, &path) {
            if f.excludes_relative(p) {
                return Vec::new();
            }
        }
        let records = py.detach(|| {
            let scanner = &self.compiled.scanner;
            let pooled = self.scratch.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut scratch = pooled.unwrap_or_else(|| scanner.scratch());
            let findings = scanner.scan_file(&mut scratch, data, path.as_deref());
            let mut pool = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
            if pool.len() < POOL {
                pool.push(scratch);
            }
            drop(pool);
            let location = match &path {
                Some(p) => Location::file(Path::new(p)),
                None => Location::new(None, keysweep_source::Source::File),
            };
            let hits = findings
                .into_iter()
                .map(|finding| Hit {
                    finding,
                    location: location.clone(),
                })
                .collect();
            self.records(hits)
        });
        records
            .into_iter()
            .map(|(r, f)| Finding::scanned(r, f, reveal))
            .collect()
    }

    /// Scans a file or a directory (recursively, `.gitignore` honoured, archives opened), as
    /// `keysweep scan PATH` does. What could not be read is a `ScanWarning`.
    #[pyo3(signature = (path, *, reveal = false))]
    fn scan_path(&self, py: Python<'_>, path: PathBuf, reveal: bool) -> PyResult<Vec<Finding>> {
        let mut scan = PathScan::new(self.compiled.scanner.clone());
        // allow_paths are relative to the repository root, or to the directory scanned.
        let base = keysweep_source::repo_root(&path).or_else(|| {
            let abs = std::path::absolute(&path).ok()?;
            Some(if abs.is_dir() {
                abs
            } else {
                abs.parent()?.to_path_buf()
            })
        });
        if let Some(f) = self.compiled.path_filter(base) {
            scan = scan.filter(f);
        }
        self.run_job(py, reveal, |sink| scan.run(&[&path], sink).map(drop), &path)
    }

    /// Scans a repository's history: every blob reachable from any ref, once, each finding
    /// with the commit that introduced it (`since`: only what commits after that revision
    /// introduced), as `keysweep scan --git` does. With `recurse_submodules`, the
    /// repositories of initialised submodules are scanned too, over the history the
    /// superproject records (findings carry `submodule`), as `--recurse-submodules` does.
    #[pyo3(signature = (path, since = None, *, reveal = false, recurse_submodules = false))]
    fn scan_repo(
        &self,
        py: Python<'_>,
        path: PathBuf,
        since: Option<String>,
        reveal: bool,
        recurse_submodules: bool,
    ) -> PyResult<Vec<Finding>> {
        let mut scan =
            HistoryScan::new(self.compiled.scanner.clone()).recurse_submodules(recurse_submodules);
        if let Some(rev) = since {
            scan = scan.since(rev);
        }
        if let Some(f) = self.compiled.path_filter(None) {
            scan = scan.filter(f);
        }
        self.run_job(py, reveal, |sink| scan.run(&path, sink).map(drop), &path)
    }

    /// Scans a container image, as `keysweep scan --image` does: a `docker save` or
    /// `podman save` archive, an OCI archive, or an OCI image layout directory. Every layer is
    /// read once; a file a later layer deletes is still reported (`removed_in`), and the image
    /// configuration (environment, labels, command, history) is scanned too. Findings carry
    /// `image`, `layer_digest`, `layer_index`, `removed_in` (and `image_field` for the
    /// configuration). What could not be read is a `ScanWarning`; an image that cannot be
    /// opened at all raises `OSError`.
    ///
    /// When no file or directory `path` exists and it reads as an image reference (it names a
    /// registry host, or has a `:tag` or `@digest`, or no file extension: `alpine:3.20`,
    /// `ghcr.io/acme/app@sha256:…`), the image is pulled from its registry as the CLI pulls it:
    /// layers streamed, never written to disk, each verified against its digest; credentials
    /// from Docker's and Podman's configuration; `platform` (`"linux/arm64"`) or
    /// `all_platforms` for an index; plain HTTP only for the hosts in `insecure_registries`.
    /// A pull that fails raises `OSError` naming the image (never a credential).
    ///
    /// With `cache` (a directory; a sweep's `workdir` works, it is the same cache file), what
    /// each layer holds is kept by digest: a layer seen before, in this image or another, is
    /// neither downloaded nor read again. A cache another sweep or scan has open is a
    /// `ScanWarning`, and the scan goes on without it.
    #[pyo3(signature = (path, *, reveal = false, platform = None, all_platforms = false, insecure_registries = Vec::new(), cache = None))]
    #[allow(clippy::too_many_arguments)]
    fn scan_image(
        &self,
        py: Python<'_>,
        path: PathBuf,
        reveal: bool,
        platform: Option<String>,
        all_platforms: bool,
        insecure_registries: Vec<String>,
        cache: Option<PathBuf>,
    ) -> PyResult<Vec<Finding>> {
        let mut scan = ImageScan::new(self.compiled.scanner.clone());
        let mut table = None;
        if let Some(dir) = &cache {
            let opened =
                py.detach(|| keysweep_sweep::open_layer_cache(dir, &scan.cache_fingerprint()));
            let warning = match opened {
                Ok((t, note)) => {
                    scan = scan.layer_cache(t.clone() as Arc<dyn keysweep_source::LayerCache>);
                    table = Some(t);
                    note
                }
                Err(e) => Some(format!("{e}; every layer is read (no cache)")),
            };
            if let Some(w) = warning {
                let p = keysweep_source::Problem::warning(
                    keysweep_source::ProblemKind::Image,
                    dir.display().to_string(),
                    w,
                );
                warn_problems(py, &[p])?;
            }
        }
        let stored = |py: Python<'_>| -> PyResult<()> {
            match table.as_ref().and_then(|t| t.error()) {
                Some(e) => warn_problems(
                    py,
                    &[keysweep_source::Problem::warning(
                        keysweep_source::ProblemKind::Image,
                        "cache",
                        format!("layers could not be stored in the cache: {e}"),
                    )],
                ),
                None => Ok(()),
            }
        };
        let local = std::fs::symlink_metadata(&path).is_ok();
        let reference = path.to_str().filter(|t| keysweep_registry::is_reference(t));
        if local || reference.is_none() {
            let found = self.run_job(py, reveal, |sink| scan.run(&path, sink).map(drop), &path);
            stored(py)?;
            return found;
        }
        let mut puller = keysweep_registry::Puller::new()
            .all_platforms(all_platforms)
            .insecure(insecure_registries);
        if let Some(p) = platform {
            puller = puller.platform(
                p.parse()
                    .map_err(|e| PyValueError::new_err(format!("platform: {e}")))?,
            );
        }
        let (records, problems) = py
            .detach(|| {
                let sink = Collect::default();
                keysweep_registry::scan_image(&scan, &puller, &path, &sink)?;
                let (hits, problems) = sink.into_parts();
                Ok::<_, String>((self.records(hits), problems))
            })
            .map_err(|e| {
                // Name the image, as the CLI's error line does.
                let name = path.display().to_string();
                PyOSError::new_err(if e.contains(&name) {
                    e
                } else {
                    format!("{name}: {e}")
                })
            })?;
        warn_problems(py, &problems)?;
        stored(py)?;
        Ok(records
            .into_iter()
            .map(|(r, f)| Finding::scanned(r, f, reveal))
            .collect())
    }

    /// Scans what the next commit of `repo` would add (staged files against HEAD, findings on
    /// added lines), as `keysweep scan --staged` does.
    #[pyo3(signature = (repo, *, reveal = false))]
    fn scan_staged(&self, py: Python<'_>, repo: PathBuf, reveal: bool) -> PyResult<Vec<Finding>> {
        let mut scan = ChangeScan::new(self.compiled.scanner.clone()).staged(true);
        if let Some(f) = self.compiled.path_filter(None) {
            scan = scan.filter(f);
        }
        self.run_job(py, reveal, |sink| scan.run(&repo, sink).map(drop), &repo)
    }

    /// Sweeps repositories (paths or git URLs) as `keysweep sweep` does: URLs are cloned or
    /// fetched into `workdir`, whose cache makes the next sweep read only what changed; a
    /// repository named twice is swept once. With `out`, writes `findings.jsonl`,
    /// `audit.jsonl` and the inventory (`inventory.json`, `.csv`, `.html`) there.
    #[pyo3(signature = (repos, workdir, out = None, jobs = 1, *, reveal = false))]
    fn sweep(
        &self,
        py: Python<'_>,
        repos: Vec<Bound<'_, PyAny>>,
        workdir: PathBuf,
        out: Option<PathBuf>,
        jobs: usize,
        reveal: bool,
    ) -> PyResult<SweepResult> {
        let mut specs = repos
            .iter()
            .map(sweep::repo_spec)
            .collect::<PyResult<Vec<_>>>()?;
        // A repository named twice is swept once, as `keysweep sweep` does.
        let mut seen = std::collections::HashSet::new();
        specs.retain(|s| seen.insert(s.key()));
        sweep::run(py, &self.compiled, specs, workdir, out, jobs, reveal)
    }

    /// Sweeps one repository in `workdir` and returns its result as one line of JSON (records
    /// redacted unless `reveal`), for `SweepResult.from_json` in another process; `threads`
    /// scan threads (default: one per core). `held` is the digest of the findings the caller
    /// kept from an earlier result (`SweepResult.digest_of`): if the repository is unchanged
    /// and its cache has those, the line leaves them out, and `SweepResult.from_json` takes
    /// them from the kept result.
    #[pyo3(signature = (repo, workdir, *, threads = None, reveal = false, held = None))]
    fn _sweep_repo(
        &self,
        py: Python<'_>,
        repo: &Bound<'_, PyAny>,
        workdir: PathBuf,
        threads: Option<usize>,
        reveal: bool,
        held: Option<String>,
    ) -> PyResult<String> {
        let spec = sweep::repo_spec(repo)?;
        sweep::run_one(py, &self.compiled, spec, workdir, threads, reveal, held)
    }

    /// Which of `repos` the cache in `workdir` holds, swept with this scanner's settings (a
    /// sweep of them reads only what changed): for a scheduler that sends each repository
    /// where its cache is.
    fn _known_repos(
        &self,
        py: Python<'_>,
        repos: Vec<Bound<'_, PyAny>>,
        workdir: PathBuf,
    ) -> PyResult<Vec<bool>> {
        let specs = repos
            .iter()
            .map(sweep::repo_spec)
            .collect::<PyResult<Vec<_>>>()?;
        py.detach(|| sweep::new_sweep(&self.compiled, &workdir, 1).known(&specs))
            .map_err(sweep::sweep_error)
    }

    /// Asks each finding's provider whether its credential still works, with the rules'
    /// validators (an HTTP request to the provider's identity endpoint, a signed request,
    /// a database login). **This sends each secret to its provider**; nothing is sent
    /// otherwise. Returns one `Validation` per finding, in order; a finding whose rule has no
    /// validator is `unknown`, "no validator for this rule"; so is an SSH private key (trying
    /// one logs in to the hosts named in its file: only the command line's `--validate-ssh`
    /// does).
    ///
    /// One request per distinct credential (rule, secret and parts) among `findings`: pass
    /// them all in one call. The requests run `concurrency` at a time, each within `timeout`
    /// seconds, with the GIL released. Loopback, private, link-local and metadata addresses
    /// are refused (status `error`) unless `allow_internal`. `origins` sends requests meant
    /// for an origin elsewhere (`{"https://api.github.com": "https://ghe.example.com/api/v3"}`,
    /// for self-hosted providers). The findings must come from a scanner with the same rules
    /// (a rule id this scanner lacks is a ValueError), and hold their secret (a sweep result
    /// read back from another process without `reveal=True` does not: ValueError).
    #[pyo3(signature = (findings, *, allow_internal = false, origins = None, concurrency = 8, timeout = 10.0))]
    fn validate(
        &self,
        py: Python<'_>,
        findings: &Bound<'_, PyAny>,
        allow_internal: bool,
        origins: Option<BTreeMap<String, String>>,
        concurrency: usize,
        timeout: f64,
    ) -> PyResult<Vec<Validation>> {
        let validator = validate::validator(allow_internal, origins, concurrency, timeout)?;
        validate::validate_findings(py, self.compiled.scanner.rules(), findings, &validator)
    }

    /// Revokes a finding's credential with its provider's self-revocation API (GitHub,
    /// GitLab, Slack, ...: the rules with `[rule.revoke]`). By default a dry run: nothing is
    /// sent, and the result's `request` shows what would be, secret redacted. With
    /// `dry_run=False` the credential is revoked for good: there is no confirmation here.
    /// `allow_internal`, `origins` and `timeout` are as for `validate`.
    #[pyo3(signature = (finding, *, dry_run = true, allow_internal = false, origins = None, timeout = 10.0))]
    fn revoke(
        &self,
        py: Python<'_>,
        finding: &Bound<'_, Finding>,
        dry_run: bool,
        allow_internal: bool,
        origins: Option<BTreeMap<String, String>>,
        timeout: f64,
    ) -> PyResult<Revocation> {
        let validator = validate::validator(allow_internal, origins, 1, timeout)?;
        validate::revoke_finding(
            py,
            self.compiled.scanner.rules(),
            finding.get(),
            &validator,
            dry_run,
        )
    }

    fn __repr__(&self) -> String {
        let list = |items: &mut dyn Iterator<Item = &String>| {
            let items: Vec<String> = items.map(|s| quoted(s)).collect();
            format!("[{}]", items.join(", "))
        };
        let rules = match &self.settings.rules {
            Rules::Builtin => "None".to_string(),
            Rules::Only(ids) => list(&mut ids.iter()),
            Rules::File(s) => quoted(&s.origin),
        };
        let mut more = String::new();
        if self.settings.fingerprint_key.is_some() {
            more.push_str(" fingerprint_key=<set>");
        }
        if let Some(b) = &self.settings.baseline {
            more.push_str(&format!(" baseline={}", quoted(&b.origin)));
        }
        if !self.settings.allow_values.is_empty() {
            more.push_str(&format!(
                " allow_values={}",
                list(&mut self.settings.allow_values.iter())
            ));
        }
        if !self.settings.allow_paths.is_empty() {
            more.push_str(&format!(
                " allow_paths={}",
                list(&mut self.settings.allow_paths.iter())
            ));
        }
        format!(
            "<Scanner rules={rules} extra_rule_files={} min_confidence='{}' decode={}{more}: {} rules>",
            list(&mut self.settings.extra.iter().map(|s| &s.origin)),
            self.settings.min_confidence.as_str(),
            if self.settings.decode {
                "True"
            } else {
                "False"
            },
            self.compiled.scanner.rules().len()
        )
    }
}

/// keysweep's engine for Python.
#[pymodule]
fn _keysweep(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Scanner>()?;
    m.add_class::<Finding>()?;
    m.add_class::<SweepResult>()?;
    m.add_class::<Validation>()?;
    m.add_class::<Revocation>()?;
    m.add("ScanWarning", m.py().get_type::<ScanWarning>())?;
    m.add_function(wrap_pyfunction!(sweep::failed_result, m)?)?;
    Ok(())
}
