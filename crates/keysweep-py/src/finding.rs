//! `keysweep.Finding`: one finding record, its secret redacted unless revealed.

use keysweep_report::Record;
use keysweep_source::Source;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// One secret found, with where it is. Attributes follow the JSON record of
/// `keysweep scan --format jsonl` (`to_dict()` is that record). `secret` is redacted
/// (`ghp_*****`) unless the scan was asked to reveal secrets; `reveal()` returns it in full.
/// Neither `repr()` nor any error message ever shows the secret.
#[pyclass(module = "keysweep", frozen, eq)]
pub struct Finding {
    /// The record as shown: redacted unless revealed.
    record: Record,
    /// The secret in full, when this process has it (a sweep result read back from another
    /// process has it only when that process revealed it).
    full: Option<String>,
    /// What validation and revocation send (the secret's bytes and the parts of a multi-part
    /// credential), never shown to Python: `None` when this process never had the secret.
    credential: Option<keysweep::Finding>,
}

/// Two findings are equal when they show the same record and hold the same secret (the
/// credential kept for validation follows from those).
impl PartialEq for Finding {
    fn eq(&self, other: &Finding) -> bool {
        self.record == other.record && self.full == other.full
    }
}

impl Finding {
    /// A finding of `record` (a sweep's, made with the secret and parts revealed, or read back
    /// from JSON), shown redacted unless `reveal`.
    pub fn new(record: Record, reveal: bool) -> Finding {
        let credential = credential_of(&record);
        Finding::with_credential(record, credential, reveal)
    }

    /// A finding of a scan: `record` made with the secret revealed, and the engine's finding
    /// it was made from (the secret's exact bytes and the parts, for validation).
    pub fn scanned(record: Record, finding: keysweep::Finding, reveal: bool) -> Finding {
        Finding::with_credential(record, Some(finding), reveal)
    }

    fn with_credential(
        record: Record,
        credential: Option<keysweep::Finding>,
        reveal: bool,
    ) -> Finding {
        let full = (!record.redacted).then(|| record.secret.clone());
        let record = if reveal {
            record
        } else {
            keysweep_sweep::redacted(&record)
        };
        Finding {
            record,
            full,
            credential,
        }
    }

    /// The record as shown (secret redacted unless revealed).
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The engine's finding, secret and parts in full, for the validator; the error says why
    /// it is missing (this process never had the secret).
    pub fn credential(&self) -> Result<&keysweep::Finding, String> {
        self.credential.as_ref().ok_or_else(|| {
            format!(
                "the secret of this {} finding (fingerprint {}) is not available: it was read \
                 back redacted from another process (sweep with reveal=True to carry secrets)",
                self.record.rule_id, self.record.fingerprint
            )
        })
    }

    fn image_origin(&self) -> Option<&keysweep_source::ImageOrigin> {
        match &self.record.location.source {
            Source::Image { image } => Some(image),
            _ => None,
        }
    }

    fn image_layer(&self) -> Option<&keysweep_source::ImageLayer> {
        self.image_origin().and_then(|i| i.layer.as_ref())
    }

    fn git_commit(&self) -> Option<&keysweep_source::CommitInfo> {
        match &self.record.location.source {
            Source::History { git } => git.commit.as_ref(),
            _ => None,
        }
    }
}

/// The engine's finding of a record whose secret and parts are in full (a sweep's records
/// are), for validation; `None` when the secret or a secret part is redacted. The engine's
/// `Finding` is built from outside its crate through its serde form.
fn credential_of(record: &Record) -> Option<keysweep::Finding> {
    if record.redacted || record.parts.iter().any(|p| p.redacted) {
        return None;
    }
    let parts: Vec<serde_json::Value> = record
        .parts
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "range": { "start": 0, "end": 0 },
                "value": p.value.as_bytes(),
                "rule_id": p.rule_id,
            })
        })
        .collect();
    let value = serde_json::json!({
        "rule_id": record.rule_id,
        "rule_index": 0,
        "range": { "start": record.byte_start, "end": record.byte_end },
        "line": record.line,
        "column": record.column,
        "end_line": record.end_line,
        "end_column": record.end_column,
        "secret": record.secret.as_bytes(),
        "fingerprint": record.fingerprint,
        "entropy": record.entropy,
        "confidence": record.confidence,
        "check_passed": record.check_passed,
        "suppressed": null,
        "decoded": record.decoded,
        "parts": parts,
    });
    serde_json::from_value(value).ok()
}

/// `s` quoted as Python's `repr()` quotes a string (near enough for display).
pub fn quoted(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push('"'),
            c => out.extend(c.escape_debug()),
        }
    }
    out.push('\'');
    out
}

/// JSON text as Python objects (`json.loads`).
pub fn to_python<'py>(py: Python<'py>, json: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (json,))
}

#[pymethods]
impl Finding {
    /// The rule that found it (`stripe.secret_key.live`).
    #[getter]
    fn rule_id(&self) -> &str {
        &self.record.rule_id
    }

    /// The rule's name.
    #[getter]
    fn rule_name(&self) -> &str {
        &self.record.rule_name
    }

    /// The path (a file as walked or named, the path in its commit for history), if any.
    #[getter]
    fn path(&self) -> Option<&str> {
        self.record.location.path.as_deref()
    }

    /// 1-based line of the secret's first byte.
    #[getter]
    fn line(&self) -> usize {
        self.record.line
    }

    /// 1-based column, in bytes.
    #[getter]
    fn column(&self) -> usize {
        self.record.column
    }

    /// 1-based line of the credential's last byte (the secret's, or a part's after it).
    #[getter]
    fn end_line(&self) -> usize {
        self.record.end_line
    }

    /// 1-based column just past the secret (exclusive).
    #[getter]
    fn end_column(&self) -> usize {
        self.record.end_column
    }

    /// Byte offset of the secret in the file.
    #[getter]
    fn byte_start(&self) -> usize {
        self.record.byte_start
    }

    /// Byte offset just past it.
    #[getter]
    fn byte_end(&self) -> usize {
        self.record.byte_end
    }

    /// The secret value's fingerprint (32 hex digits), the same wherever the secret is.
    #[getter]
    fn fingerprint(&self) -> String {
        self.record.fingerprint.to_string()
    }

    /// Shannon entropy of the secret, bits per byte.
    #[getter]
    fn entropy(&self) -> f64 {
        self.record.entropy
    }

    /// `low`, `medium` or `high`.
    #[getter]
    fn confidence(&self) -> &'static str {
        self.record.confidence.as_str()
    }

    /// Whether the secret passed its format's checksum (None without one).
    #[getter]
    fn check_passed(&self) -> Option<bool> {
        self.record.check_passed
    }

    /// The rule's tags.
    #[getter]
    fn tags(&self) -> Vec<String> {
        self.record.tags.clone()
    }

    /// Decoding layers the secret was found behind, outermost first (`["base64"]`).
    #[getter]
    fn decoded(&self) -> Vec<&'static str> {
        self.record.decoded.iter().map(|e| e.as_str()).collect()
    }

    /// `file`, `stdin`, `history`, `change` or `image`.
    #[getter]
    fn source(&self) -> &'static str {
        match self.record.location.source {
            Source::File => "file",
            Source::Stdin => "stdin",
            Source::History { .. } => "history",
            Source::Change { .. } => "change",
            Source::Image { .. } => "image",
        }
    }

    /// Where in a project the file sits (`source`, `test`, `config`, ...), from its path.
    #[getter]
    fn context(&self) -> &'static str {
        self.record.location.context.as_str()
    }

    /// The repository's id (origin URL without scheme and credentials, or its root).
    #[getter]
    fn repository(&self) -> Option<&str> {
        self.record
            .location
            .repository
            .as_ref()
            .map(|r| r.id.as_str())
    }

    /// History: the blob's object id.
    #[getter]
    fn blob(&self) -> Option<&str> {
        match &self.record.location.source {
            Source::History { git } => Some(&git.blob),
            Source::Change { git } => git.blob.as_deref(),
            _ => None,
        }
    }

    /// History: the commit that introduced the blob.
    #[getter]
    fn commit(&self) -> Option<&str> {
        self.git_commit().map(|c| c.id.as_str())
    }

    /// History: that commit's author.
    #[getter]
    fn author_name(&self) -> Option<&str> {
        self.git_commit().map(|c| c.author_name.as_str())
    }

    /// History: that commit's author's email.
    #[getter]
    fn author_email(&self) -> Option<&str> {
        self.git_commit().map(|c| c.author_email.as_str())
    }

    /// History: that commit's author date (ISO 8601).
    #[getter]
    fn date(&self) -> Option<String> {
        self.git_commit().map(|c| c.date.to_string())
    }

    /// History: that commit's summary line.
    #[getter]
    fn summary(&self) -> Option<&str> {
        self.git_commit().map(|c| c.summary.as_str())
    }

    /// History: refs that reach the commit (at most 100).
    #[getter]
    fn refs(&self) -> Vec<String> {
        self.record
            .location
            .history()
            .map(|g| g.refs.clone())
            .unwrap_or_default()
    }

    /// Whether the secret is in the current code (always true outside history).
    #[getter]
    fn present_at_head(&self) -> bool {
        self.record.location.present_at_head()
    }

    /// For a file of a submodule (a scan with submodules): the submodule's path in the
    /// superproject.
    #[getter]
    fn submodule(&self) -> Option<&str> {
        self.record
            .location
            .submodule
            .as_ref()
            .map(|s| s.path.as_str())
    }

    /// Image: the image as named to the scan (the archive or layout path).
    #[getter]
    fn image(&self) -> Option<&str> {
        self.image_origin().map(|i| i.name.as_str())
    }

    /// Image: its tags (`RepoTags`, or the OCI `ref.name` annotation).
    #[getter]
    fn image_tags(&self) -> Vec<String> {
        self.image_origin()
            .map(|i| i.tags.clone())
            .unwrap_or_default()
    }

    /// Image: `layer` (a file in a layer), `config` or `manifest`.
    #[getter]
    fn image_part(&self) -> Option<&'static str> {
        self.image_origin().map(|i| i.part.as_str())
    }

    /// Image: the configuration or manifest field (`config.Env[0]`), for those parts.
    #[getter]
    fn image_field(&self) -> Option<&str> {
        self.image_origin().and_then(|i| i.field.as_deref())
    }

    /// Image: the digest of the layer the file is in (`sha256:...`).
    #[getter]
    fn layer_digest(&self) -> Option<&str> {
        self.image_layer().map(|l| l.digest.as_str())
    }

    /// Image: the layer's position, from 1 (the base) up.
    #[getter]
    fn layer_index(&self) -> Option<usize> {
        self.image_layer().map(|l| l.index)
    }

    /// Image: how many layers the image has.
    #[getter]
    fn layer_count(&self) -> Option<usize> {
        self.image_layer().map(|l| l.count)
    }

    /// Image: the layer that deletes the file (a whiteout), if a later one does; the file is
    /// still in the image for anyone who pulls it.
    #[getter]
    fn removed_in(&self) -> Option<usize> {
        self.image_layer().and_then(|l| l.removed_in)
    }

    /// A pending change: `staged`, `unstaged` or `untracked`.
    #[getter]
    fn change(&self) -> Option<&'static str> {
        match &self.record.location.source {
            Source::Change { git } => Some(git.change.as_str()),
            _ => None,
        }
    }

    /// The secret: redacted (`ghp_*****`) unless the scan revealed it.
    #[getter]
    fn secret(&self) -> &str {
        &self.record.secret
    }

    /// Whether `secret` is redacted.
    #[getter]
    fn redacted(&self) -> bool {
        self.record.redacted
    }

    /// The secret in full. Handle with care: never log it.
    fn reveal(&self) -> PyResult<&str> {
        self.full.as_deref().ok_or_else(|| {
            PyValueError::new_err(
                "the secret is not available: this finding was read back redacted from another \
                 process (sweep with reveal=True to carry secrets)",
            )
        })
    }

    /// The JSON record of `keysweep scan --format jsonl`, as a dict (secret as shown).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let json = serde_json::to_string(&self.record)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(to_python(py, &json)?.cast_into::<PyDict>()?)
    }

    fn __repr__(&self) -> String {
        let path = match &self.record.location.path {
            Some(p) => quoted(p),
            None => "None".into(),
        };
        format!(
            "Finding(rule_id={}, path={path}, line={}, column={}, confidence='{}', fingerprint='{}', source='{}')",
            quoted(&self.record.rule_id),
            self.record.line,
            self.record.column,
            self.record.confidence.as_str(),
            self.record.fingerprint,
            self.source(),
        )
    }
}
