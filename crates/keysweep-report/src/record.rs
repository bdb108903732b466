//! The finding record: one [`Hit`] as JSON and JSON Lines output write it and as saved results
//! are read back (one type for both directions; its schema is `docs/schema/finding.json`).

use keysweep::{Confidence, Encoding, Fingerprint, Rule, Suppression};
use keysweep_source::{Hit, Location};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One finding with its location, as written to JSON and JSON Lines and read back.
///
/// ```
/// use keysweep::{RuleSet, Scanner};
/// use keysweep_report::Record;
/// use keysweep_source::{Hit, Location};
///
/// let scanner = Scanner::new(RuleSet::builtin()).unwrap();
/// let text = b"GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\n";
/// let finding = scanner.scan(&mut scanner.scratch(), text).remove(0);
/// let rule = &scanner.rules()[finding.rule_index];
/// let hit = Hit { finding, location: Location::file(".env".as_ref()) };
///
/// let record = Record::new(&hit, rule, false);
/// assert_eq!(record.secret, "ghp_*****"); // redacted unless revealed
/// let json = serde_json::to_string(&record).unwrap();
/// let back: Record = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, record);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "keysweep finding",
    description = "One finding with its location: a line of `keysweep scan --format jsonl`, an element of `--format json`."
)]
pub struct Record {
    /// The rule that found it.
    pub rule_id: String,
    /// The rule's name.
    #[serde(default)]
    pub rule_name: String,
    /// Where it is.
    #[serde(flatten)]
    pub location: Location,
    /// 1-based line of the secret's first byte (for a decoded secret, of the encoded text).
    pub line: usize,
    /// 1-based column, in bytes.
    pub column: usize,
    /// 1-based line of the credential's last byte (the secret's, or a part's after it).
    #[serde(default)]
    pub end_line: usize,
    /// 1-based column just past the credential's last byte (exclusive).
    #[serde(default)]
    pub end_column: usize,
    /// Byte offset of the secret in the file (for a decoded secret, of the encoded text).
    #[serde(default)]
    pub byte_start: usize,
    /// Byte offset just past it.
    #[serde(default)]
    pub byte_end: usize,
    /// The secret, redacted (at most its first four bytes, then `*****`) unless `redacted`
    /// is false.
    pub secret: String,
    /// Whether `secret` is redacted.
    pub redacted: bool,
    /// The secret value's 128-bit fingerprint (32 hex digits): the same secret gets the same
    /// fingerprint everywhere.
    #[schemars(with = "FingerprintSchema")]
    pub fingerprint: Fingerprint,
    /// Shannon entropy of the secret, bits per byte.
    #[serde(default)]
    pub entropy: f64,
    /// How sure the rule is.
    #[schemars(with = "ConfidenceSchema")]
    pub confidence: Confidence,
    /// Whether the secret passed its format's structural check (absent without one).
    #[serde(default)]
    pub check_passed: Option<bool>,
    /// The rule's tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Why the finding is suppressed (only with `--show-suppressed`).
    #[serde(default)]
    #[schemars(with = "Option<SuppressionSchema>")]
    pub suppressed: Option<Suppression>,
    /// Layers decoded to find the secret, outermost first.
    #[serde(default)]
    #[schemars(with = "Vec<EncodingSchema>")]
    pub decoded: Vec<Encoding>,
    /// The other parts of a multi-part credential (a service-account file's private key and
    /// client email, an AWS key pair's key id); absent for a single-part secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<RecordPart>,
    /// What the provider said of the credential (only with `--validate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<RecordValidation>,
}

/// The answer of a credential's provider to `--validate`, in a [`Record`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecordValidation {
    /// `live` (the credential works), `invalid` (the provider refused it), `unknown` (the
    /// answer did not say, or no validator), `error` (no answer: network, refused address).
    #[schemars(regex(pattern = r"^(live|invalid|unknown|error)$"))]
    pub status: String,
    /// Why, in a few words; never holds the secret.
    pub reason: String,
    /// Who the credential belongs to and what it may do, as the provider said (`account`,
    /// `user`, `scopes`, `expiry`, ...), in the provider's words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity: Vec<IdentityField>,
}

/// One thing a provider said about a credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IdentityField {
    /// `account`, `user`, `scopes`, `expiry`, or a name of the rule's.
    pub name: String,
    /// The value.
    pub value: String,
}

impl RecordValidation {
    /// `live: account octocat, scopes repo`, or `invalid (401)`.
    pub fn summary(&self) -> String {
        let mut s = self.status.clone();
        if !self.identity.is_empty() {
            let ids: Vec<String> = self
                .identity
                .iter()
                .map(|f| format!("{} {}", f.name, f.value))
                .collect();
            s += &format!(": {}", ids.join(", "));
        } else if !self.reason.is_empty() && self.status != "live" {
            s += &format!(" ({})", self.reason);
        }
        s
    }
}

/// One part of a multi-part credential in a [`Record`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecordPart {
    /// The part's name (`private_key`, `client_email`, `key_id`, `user`, `host`).
    pub name: String,
    /// Its value: redacted like the secret unless revealed, when it is a secret itself (it is
    /// what another rule reports, or its name is not one of the public kinds: user, email,
    /// host, account, project, id, region).
    pub value: String,
    /// Whether `value` is redacted.
    pub redacted: bool,
    /// The rule that reports this part on its own (`pem.pkcs8_private_key`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
}

impl RecordPart {
    /// The record of a finding's part; its value in full only when `reveal` or when it is
    /// public metadata.
    pub fn of(part: &keysweep::Part, reveal: bool) -> RecordPart {
        let hide = !reveal && (part.rule_id.is_some() || !public_part(&part.name));
        RecordPart {
            name: part.name.to_string(),
            value: shown(&part.value, !hide),
            redacted: hide,
            rule_id: part.rule_id.as_deref().map(str::to_string),
        }
    }
}

/// Whether a part named `name` holds public metadata rather than secret material.
pub fn public_part(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "user", "username", "login", "email", "host", "hostname", "port", "account", "project",
        "region", "tenant", "database", "url",
    ]
    .iter()
    .any(|p| name == *p || name.ends_with(&format!("_{p}")))
        || name == "id"
        || name.ends_with("_id") && name != "key_id" && !name.contains("secret")
}

impl Record {
    /// The record of `hit`, found by `rule`; the secret in full only when `reveal`.
    pub fn new(hit: &Hit, rule: &Rule, reveal: bool) -> Record {
        let f = &hit.finding;
        Record {
            rule_id: f.rule_id.to_string(),
            rule_name: rule.name.clone(),
            location: hit.location.clone(),
            line: f.line,
            column: f.column,
            end_line: f.end_line,
            end_column: f.end_column,
            byte_start: f.range.start,
            byte_end: f.range.end,
            secret: shown(&f.secret, reveal),
            redacted: !reveal,
            fingerprint: f.fingerprint,
            entropy: (f.entropy * 1000.0).round() / 1000.0,
            confidence: f.confidence,
            check_passed: f.check_passed,
            tags: rule.tags.clone(),
            suppressed: f.suppressed,
            decoded: f.decoded.clone(),
            parts: f.parts.iter().map(|p| RecordPart::of(p, reveal)).collect(),
            validation: None,
        }
    }

    /// The secret as the inventory and other summaries show it: always redacted.
    pub fn redacted_secret(&self) -> String {
        if self.redacted {
            self.secret.clone()
        } else {
            redact(self.secret.as_bytes())
        }
    }
}

/// A secret as it may be shown without `--reveal`: at most its first 4 bytes (a quarter of it
/// for short secrets, none below 8), then a fixed mask that hides the length.
///
/// ```
/// use keysweep_report::redact;
/// assert_eq!(redact(b"ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u"), "ghp_*****");
/// assert_eq!(redact(b"hunter2"), "*****");
/// ```
pub fn redact(secret: &[u8]) -> String {
    let keep = if secret.len() < 8 {
        0
    } else {
        (secret.len() / 4).min(4)
    };
    let prefix: String = secret[..keep]
        .iter()
        .take_while(|b| b.is_ascii_graphic())
        .map(|&b| b as char)
        .collect();
    format!("{prefix}*****")
}

/// The secret as printed: in full when revealed (lossy UTF-8), otherwise redacted.
pub fn shown(secret: &[u8], reveal: bool) -> String {
    if reveal {
        String::from_utf8_lossy(secret).into_owned()
    } else {
        redact(secret)
    }
}

// Schemas of the core types, which serialise as strings.

#[derive(JsonSchema)]
#[schemars(rename = "Fingerprint")]
#[allow(dead_code)]
struct FingerprintSchema(#[schemars(regex(pattern = r"^[0-9a-f]{32}$"))] String);

#[derive(JsonSchema)]
#[schemars(rename = "Confidence")]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ConfidenceSchema {
    Low,
    Medium,
    High,
}

#[derive(JsonSchema)]
#[schemars(rename = "Suppression")]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum SuppressionSchema {
    Placeholder,
    Allowlist,
    Inline,
    Baseline,
    IgnoreFile,
    Rejected,
    Entropy,
    Code,
}

#[derive(JsonSchema)]
#[schemars(rename = "Encoding")]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum EncodingSchema {
    Base64,
    Hex,
    Percent,
    Escape,
    Json,
    Utf16,
    #[serde(rename = "quoted-printable")]
    QuotedPrintable,
    Joined,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_all_but_a_short_prefix() {
        assert_eq!(
            redact(b"ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u"),
            "ghp_*****"
        );
        assert_eq!(redact(b"hunter2"), "*****");
        assert_eq!(redact(b"Vq7!rT2#pLx9"), "Vq7*****");
        assert_eq!(redact(b"-----BEGIN\nabc"), "---*****");
    }

    #[test]
    fn schemas_cover_every_core_value() {
        // The mirrored enums must list exactly the core's names.
        let names = |v: serde_json::Value| -> Vec<String> {
            v["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        };
        let c = schemars::schema_for!(ConfidenceSchema);
        assert_eq!(names(c.to_value()), ["low", "medium", "high"]);
        let s = schemars::schema_for!(SuppressionSchema);
        let all: Vec<&str> = Suppression::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names(s.to_value()), all);
        let e = schemars::schema_for!(EncodingSchema);
        let all: Vec<&str> = Encoding::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(names(e.to_value()), all);
    }
}
