//! Opt-in validation of found credentials: is a secret keysweep found still live?
//!
//! A rule's `[rule.validate]` table (parsed by the core into [`keysweep::ValidateSpec`])
//! describes an HTTP request as templates over the secret and the finding's parts, and
//! matchers on the answer; typed validators ([`typed`]) cover requests that must be signed;
//! [`ProtocolValidator`]s plug in other protocols (databases); [`ssh`] tries private keys on
//! the SSH hosts named beside them, when asked ([`Validator::validate_at`]). The [`Validator`] sends each
//! distinct credential's request once and shares the answer ([`Validation`]: `live`,
//! `invalid`, `unknown` or `error`, a short reason, and who the credential belongs to).
//!
//! **Validation sends the secret to its provider.** It is never done unless asked for.
//!
//! The network policy, in one place ([`ValidatorBuilder`]):
//! - one request per distinct (rule id, secret, parts), cached for the validator's life
//!   under a SHA-256 of those (never the plain secret); concurrent callers of one credential
//!   wait for the first instead of sending again; two rules never share an answer;
//!   optionally kept on disk between runs for a time to live ([`AnswerStore`]);
//! - at most [`concurrency`](ValidatorBuilder::concurrency) requests in flight; a minimum
//!   interval between requests to one host, widened by a 429;
//! - retries with exponential backoff only after 408, 429 (honouring `Retry-After` in
//!   seconds or as a date, up to [`MAX_RETRY_AFTER`]), 5xx and reset connections;
//! - a deadline for the whole exchange, a cap on the response size, no redirects;
//! - an SSRF guard: loopback, private, link-local, metadata, CGNAT, multicast and
//!   unspecified addresses are refused after DNS resolution (by the resolver the HTTP client
//!   connects through, and for IP-literal URLs) unless
//!   [`allow_internal`](ValidatorBuilder::allow_internal);
//! - proxies from the environment, HTTPS with rustls;
//! - secrets never in reasons, identities, errors or `Debug` output: reasons carry at most a
//!   short excerpt of an answer with the secret, its parts and every value rendered from them
//!   replaced by `[REDACTED]`.
//!
//! Rule templates are checked without any network by [`check_rule`]; a revocation can be
//! previewed with a dry run, which shows the request with the secret replaced:
//!
//! ```
//! use keysweep::{RuleSet, Scanner};
//! use keysweep_validate::{check_rule, RevokeOutcome, Validator};
//!
//! let rules = RuleSet::builtin();
//! let rule = rules.get("github.pat.classic").unwrap();
//! check_rule(rule).unwrap();
//!
//! let scanner = Scanner::new(RuleSet::builtin()).unwrap();
//! // keysweep:allow (a made-up token)
//! let text = "GITHUB_TOKEN=ghp_R8bXq2LwT5nV9cZk3MfJ7aPyD1sHgE4uQ0Wi\n";
//! let findings = scanner.scan(&mut scanner.scratch(), text.as_bytes());
//! assert_eq!(&*findings[0].rule_id, "github.pat.classic");
//!
//! let validator = Validator::builder().build().unwrap();
//! let RevokeOutcome::DryRun(req) = validator.revoke(rule, &findings[0], true) else {
//!     panic!("a dry run sends nothing")
//! };
//! assert_eq!(req.method, "POST");
//! assert_eq!(req.url, "https://api.github.com/credentials/revoke");
//! assert_eq!(req.body, r#"{"credentials":["[REDACTED]"]}"#);
//! assert!(!req.to_string().contains("ghp_"));
//! assert_eq!(validator.stats().requests, 0);
//! ```
//!
//! # Templates
//!
//! Inside any template string (`url`, header values, `body`), `{{ expr }}` is replaced:
//!
//! ```text
//! expr   := term ('~' term)* ('|' filter)*
//! term   := NAME | 'single-quoted literal'      (no escapes)
//! filter := base64 | base64url | urlencode | hex | sha256 | hmac_sha256(term)
//!         | lower | upper | json
//! ```
//!
//! Names: `secret`, the rule's `parts` (`key_id`, `user`, ...), `now` (Unix seconds),
//! `now_iso8601` (`20261202T120000Z`) and `now_rfc1123` (`Wed, 02 Dec 2026 12:00:00 GMT`).
//! `~` concatenates. `base64url` has no padding; `urlencode` keeps only RFC 3986's
//! unreserved characters; `sha256` and `hmac_sha256` give raw digest bytes (chain `| hex` or
//! `| base64`); `hmac_sha256(KEY)` takes the piped value as the message; `json` escapes for
//! the inside of a JSON string. A finding that lacks a part its template names is `unknown`,
//! "missing part NAME".

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod builder;
mod db;
mod engine;
mod judge;
mod net;
mod protocol;
pub mod ssh;
mod store;
mod template;
mod transport;
pub mod typed;

pub use builder::{Error, ErrorKind, ValidatorBuilder};
pub use db::{databases, Database};
pub use engine::{RedactedRequest, RevokeOutcome, Stats, Validator};
pub use net::is_internal;
pub use protocol::{NetPolicy, ProtocolValidator};
pub use store::{AnswerStore, StoreError, StoreErrorKind};
pub use transport::MAX_RETRY_AFTER;

/// What replaces a secret wherever something about it is shown.
pub const REDACTED: &str = "[REDACTED]";

/// What a validation found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The provider accepted the credential.
    Live,
    /// The provider rejected it.
    Invalid,
    /// The answer said neither (or the check could not be made: no validator, a missing
    /// part, a redirect, an oversized answer, rate limited).
    Unknown,
    /// The check failed: refused by the SSRF guard, timed out, connection failed.
    Error,
}

impl Status {
    /// `live`, `invalid`, `unknown` or `error`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Live => "live",
            Status::Invalid => "invalid",
            Status::Unknown => "unknown",
            Status::Error => "error",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of validating one credential.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validation {
    /// What the check found.
    pub status: Status,
    /// A short reason (`HTTP 401: invalid`), never holding the secret.
    pub reason: String,
    /// What the provider said about the credential (`account`, `user`, `scopes`, `expiry`,
    /// ...), truncated and scrubbed of the secret.
    pub identity: Vec<(String, String)>,
}

impl Validation {
    pub(crate) fn unknown(reason: impl Into<String>) -> Validation {
        Validation {
            status: Status::Unknown,
            reason: reason.into(),
            identity: Vec::new(),
        }
    }

    pub(crate) fn error(reason: impl Into<String>) -> Validation {
        Validation {
            status: Status::Error,
            reason: reason.into(),
            identity: Vec::new(),
        }
    }
}

/// Checks a rule's `[rule.validate]` and `[rule.revoke]` templates: each parses and names
/// only `secret`, the rule's `parts` and `now`, `now_iso8601`, `now_rfc1123`; identity
/// sources are `json:PATH` or `header:NAME`. The error names the field
/// (`validate.headers.Authorization: ...`).
///
/// ```
/// let rules = keysweep::RuleSet::from_toml(r#"
/// [[rule]]
/// id = "acme.key"
/// name = "Acme key"
/// description = "An Acme API key and its id"
/// keywords = ["acme_"]
/// pattern = 'acme_(?P<key_id>[a-z0-9]{8}):(?P<secret>[a-z0-9]{32})'
/// parts = ["key_id"]
/// [rule.validate]
/// url = "https://api.acme.test/whoami"
/// headers = { Authorization = "Basic {{ key_id ~ ':' ~ secret | base64 }}" }
/// live = { status = 200 }
/// "#, "acme.toml").unwrap();
/// keysweep_validate::check_rule(&rules.rules()[0]).unwrap();
/// ```
pub fn check_rule(rule: &keysweep::Rule) -> Result<(), String> {
    let known = |name: &str| {
        name == "secret"
            || rule.parts.iter().any(|p| p == name)
            || template::TIME_NAMES.contains(&name)
    };
    let check =
        |field: String, src: &str| -> Result<(), String> {
            let t = template::Template::parse(src).map_err(|e| format!("{field}: {e}"))?;
            for n in t.names() {
                if !known(n) {
                    return Err(format!(
                    "{field}: unknown name `{n}` (known: secret, {}now, now_iso8601, now_rfc1123)",
                    rule.parts.iter().map(|p| format!("{p}, ")).collect::<String>()
                ));
                }
            }
            Ok(())
        };
    let check_request = |prefix: &str, r: &keysweep::RequestSpec| -> Result<(), String> {
        check(format!("{prefix}.url"), &r.url)?;
        for (name, value) in &r.headers {
            check(format!("{prefix}.headers.{name}"), value)?;
        }
        if let Some(b) = &r.body {
            check(format!("{prefix}.body"), b)?;
        }
        Ok(())
    };
    if let Some(v) = &rule.validate {
        if let Some(r) = &v.request {
            check_request("validate", r)?;
        }
        for (field, source) in &v.identity {
            let ok = source
                .strip_prefix("json:")
                .is_some_and(|p| !p.is_empty() && !p.split('.').any(str::is_empty))
                || source
                    .strip_prefix("header:")
                    .is_some_and(|h| !h.is_empty());
            if !ok {
                return Err(format!(
                    "validate.identity.{field}: {source:?} must be json:DOTTED.PATH or header:NAME"
                ));
            }
        }
    }
    if let Some(r) = &rule.revoke {
        check_request("revoke", &r.request)?;
    }
    Ok(())
}
