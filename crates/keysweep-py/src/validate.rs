//! `Scanner.validate` and `Scanner.revoke` (keysweep-validate): asking each finding's
//! provider whether its credential works, and revoking one, with the answers as
//! `keysweep.Validation` and `keysweep.Revocation`.
//!
//! The scanner does it because the validators are part of its rules (a rule file's
//! `[rule.validate]` runs as the built-in ones do). One `Validator` serves one call: its cache
//! makes one request per distinct credential among the call's findings.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use keysweep::Rule;
use keysweep_validate::{RevokeOutcome, Status, Validator};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::finding::{quoted, Finding};

/// The reason given for a finding whose rule has no validator (as the CLI says it).
const NO_VALIDATOR: &str = "no validator for this rule";

/// The reason given for an SSH private key: trying one logs in to the hosts named in its
/// file, which only the CLI's `--validate-ssh` does (a finding here has no file to read).
const SSH_NOT_HERE: &str =
    "SSH keys are not tried from Python (the command line's --validate-ssh tries them on the hosts named in their file)";

/// A reason as Python callers should read it: the option to pass is `allow_internal=True`,
/// not the CLI's flag.
fn for_python(reason: String) -> String {
    if reason.contains("--allow-internal") {
        reason.replace("--allow-internal", "allow_internal=True")
    } else {
        reason
    }
}

/// A validator with these options; the errors name the argument at fault.
pub fn validator(
    allow_internal: bool,
    origins: Option<BTreeMap<String, String>>,
    concurrency: usize,
    timeout: f64,
) -> PyResult<Validator> {
    if concurrency == 0 {
        return Err(PyValueError::new_err(
            "concurrency: at least 1 request must be allowed in flight",
        ));
    }
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(PyValueError::new_err(format!(
            "timeout: {timeout} is not a positive number of seconds"
        )));
    }
    let mut b = Validator::builder()
        .allow_internal(allow_internal)
        .concurrency(concurrency)
        .timeout(Duration::from_secs_f64(timeout.min(86_400.0)));
    for (from, to) in origins.iter().flatten() {
        b = b.origin_override(from, to);
    }
    b.build()
        .map_err(|e| PyValueError::new_err(format!("cannot set up validation: {e}")))
}

/// The rules of a scanner by id.
fn by_id(rules: &[Rule]) -> HashMap<&str, &Rule> {
    rules.iter().map(|r| (&*r.id, r)).collect()
}

/// The rule of `finding` among `rules` (the scanner's); the error names the finding.
fn rule_of<'r>(
    rules: &HashMap<&str, &'r Rule>,
    finding: &Finding,
    what: &str,
) -> PyResult<&'r Rule> {
    let id = &finding.record().rule_id;
    rules.get(id.as_str()).copied().ok_or_else(|| {
        PyValueError::new_err(format!(
            "{what}: its rule {id:?} is not one of this scanner's rules (validate \
             with the scanner that found it, or one with the same rules)"
        ))
    })
}

/// `Scanner.validate`: the answers in the order of `findings`.
pub fn validate_findings(
    py: Python<'_>,
    rules: &[Rule],
    findings: &Bound<'_, PyAny>,
    validator: &Validator,
) -> PyResult<Vec<Validation>> {
    let findings = findings
        .try_iter()
        .map_err(|_| PyTypeError::new_err("findings: expected an iterable of keysweep.Finding"))?
        .enumerate()
        .map(|(i, f)| {
            let f = f?;
            f.cast_into::<Finding>().map_err(|e| {
                PyTypeError::new_err(format!(
                    "findings[{i}]: expected a keysweep.Finding, got {}",
                    e.into_inner()
                        .get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_else(|_| "?".into())
                ))
            })
        })
        .collect::<PyResult<Vec<Bound<'_, Finding>>>>()?;
    let rules = by_id(rules);
    let mut answers: Vec<Option<Validation>> = vec![None; findings.len()];
    let mut items = Vec::new();
    let mut at = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let f = f.get();
        let rule = rule_of(&rules, f, &format!("findings[{i}]"))?;
        if rule.validate.is_none() {
            answers[i] = Some(Validation {
                status: Status::Unknown,
                reason: NO_VALIDATOR.to_string(),
                identity: Vec::new(),
            });
            continue;
        }
        if rule.validate.as_ref().is_some_and(|v| v.kind == "ssh") {
            answers[i] = Some(Validation {
                status: Status::Unknown,
                reason: SSH_NOT_HERE.to_string(),
                identity: Vec::new(),
            });
            continue;
        }
        let credential = f
            .credential()
            .map_err(|e| PyValueError::new_err(format!("findings[{i}]: {e}")))?;
        items.push((rule, credential));
        at.push(i);
    }
    let done = py.detach(|| validator.validate_all(&items));
    for (i, v) in at.into_iter().zip(done) {
        answers[i] = Some(Validation {
            status: v.status,
            reason: for_python(v.reason),
            identity: v.identity,
        });
    }
    Ok(answers.into_iter().flatten().collect())
}

/// `Scanner.revoke`.
pub fn revoke_finding(
    py: Python<'_>,
    rules: &[Rule],
    finding: &Finding,
    validator: &Validator,
    dry_run: bool,
) -> PyResult<Revocation> {
    let rule = rule_of(&by_id(rules), finding, "finding")?;
    let credential = finding.credential().map_err(PyValueError::new_err)?;
    let outcome = py.detach(|| validator.revoke(rule, credential, dry_run));
    let (status, reason, request) = match outcome {
        RevokeOutcome::DryRun(req) => (
            "dry_run",
            "dry run: nothing was sent".to_string(),
            Some(req.to_string()),
        ),
        RevokeOutcome::Revoked { reason } => ("revoked", reason, None),
        RevokeOutcome::NotRevoked { reason } => ("not_revoked", reason, None),
        RevokeOutcome::Unsupported { reason } => ("unsupported", reason, None),
        RevokeOutcome::Error { reason } => ("error", for_python(reason), None),
        _ => ("error", "no answer".to_string(), None),
    };
    Ok(Revocation {
        status,
        reason,
        request,
    })
}

/// What a credential's provider said of it (`Scanner.validate`). `status` is `live` (the
/// provider accepted it), `invalid` (refused it), `unknown` (the answer said neither, or the
/// rule has no validator) or `error` (no answer: refused address, timeout, connection
/// failed); `reason` says why in a few words; `identity` is what the provider said about the
/// credential (`account`, `scopes`, `expiry`, ...). None of them ever holds the secret.
#[pyclass(module = "keysweep", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct Validation {
    status: Status,
    reason: String,
    identity: Vec<(String, String)>,
}

#[pymethods]
impl Validation {
    /// `live`, `invalid`, `unknown` or `error`.
    #[getter]
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    /// Why, in a few words (`HTTP 401: invalid`).
    #[getter]
    fn reason(&self) -> &str {
        &self.reason
    }

    /// Who the credential belongs to and what it may do, as the provider said.
    #[getter]
    fn identity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.identity {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// `{"status": ..., "reason": ..., "identity": {...}}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("status", self.status.as_str())?;
        d.set_item("reason", &self.reason)?;
        d.set_item("identity", self.identity(py)?)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let identity: Vec<String> = self
            .identity
            .iter()
            .map(|(k, v)| format!("{}: {}", quoted(k), quoted(v)))
            .collect();
        format!(
            "Validation(status='{}', reason={}, identity={{{}}})",
            self.status.as_str(),
            quoted(&self.reason),
            identity.join(", ")
        )
    }
}

/// What `Scanner.revoke` did. `status` is `dry_run` (nothing sent; `request` is the request
/// that would be sent, secret and parts replaced by `[REDACTED]`), `revoked` (the provider
/// confirmed), `not_revoked` (it answered otherwise), `unsupported` (the rule's provider
/// offers no self-revocation, or the finding lacks a part it needs) or `error` (no answer).
#[pyclass(module = "keysweep", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct Revocation {
    status: &'static str,
    reason: String,
    request: Option<String>,
}

#[pymethods]
impl Revocation {
    /// `dry_run`, `revoked`, `not_revoked`, `unsupported` or `error`.
    #[getter]
    fn status(&self) -> &'static str {
        self.status
    }

    /// Why, in a few words; never holds the secret.
    #[getter]
    fn reason(&self) -> &str {
        &self.reason
    }

    /// A dry run: the request as text (method and URL, headers, body), secret redacted.
    #[getter]
    fn request(&self) -> Option<&str> {
        self.request.as_deref()
    }

    /// `{"status": ..., "reason": ..., "request": ...}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("status", self.status)?;
        d.set_item("reason", &self.reason)?;
        d.set_item("request", &self.request)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "Revocation(status='{}', reason={})",
            self.status,
            quoted(&self.reason)
        )
    }
}
