//! Typed validators: credentials whose check needs a signed request rather than a template.
//!
//! Each validator is two pure functions, no I/O: [`TypedHttp::prepare`] turns a finding's
//! secret and parts into a signed [`PreparedRequest`], and [`TypedHttp::judge`] reads the
//! provider's [`HttpResponse`] into a [`Validation`](crate::Validation). The engine sends the
//! request (with its SSRF guard, deadline, size cap and cache); a rule names its validator
//! with `[rule.validate] kind = "aws"` and [`typed_http`] finds it.
//!
//! | kind | request | secret | parts |
//! |---|---|---|---|
//! | `aws` | SigV4-signed `sts:GetCallerIdentity` | secret access key | `key_id`, optional `session_token` |
//! | `gcp-service-account` | RS256 JWT exchanged at Google's token endpoint | `private_key_id` (or the PEM key itself) | `private_key`, `client_email` |
//! | `azure-storage` | SharedKey-signed `List Containers` (one result) | account key | `account_name`, optional `endpoint_suffix` |
//!
//! Neither an `Err` of `prepare` nor a reason of `judge` ever holds the secret or a part:
//! errors name what is missing or malformed, and text taken from a response is
//! [scrubbed](scrub) of anything that looks like a token.
//!
//! ```
//! use keysweep_validate::typed::{typed_http, Credential, HttpResponse};
//! use keysweep_validate::Status;
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! let aws = typed_http("aws").unwrap();
//! // A made-up key pair (the secret is the documentation example of AWS's test suite).
//! let cred = Credential {
//!     secret: b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
//!     parts: vec![("key_id", b"AKIDEXAMPLE".as_slice())],
//! };
//! let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
//! let req = aws.prepare(&cred, &[], now).unwrap();
//! assert_eq!((req.method.as_str(), req.url.as_str()), ("POST", "https://sts.amazonaws.com/"));
//! // Debug output never shows headers or body.
//! assert_eq!(format!("{req:?}"), "POST https://sts.amazonaws.com");
//!
//! let missing = Credential { secret: cred.secret, parts: vec![] };
//! assert_eq!(aws.prepare(&missing, &[], now).unwrap_err(), "missing part key_id");
//!
//! let denied = HttpResponse {
//!     status: 403,
//!     headers: vec![],
//!     body: b"<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>".to_vec(),
//! };
//! assert_eq!(aws.judge(&denied).status, Status::Invalid);
//! ```
#![deny(missing_docs)]

mod aws;
mod azure;
mod clock;
mod gcp;

use crate::{Status, Validation};
use std::fmt;

/// A finding's credential as a typed validator sees it: the secret and the other parts of the
/// same credential (`key_id`, `private_key`, `client_email`, `account_name`), by part name.
pub struct Credential<'a> {
    /// The finding's secret.
    pub secret: &'a [u8],
    /// The finding's parts, `(name, value)`.
    pub parts: Vec<(&'a str, &'a [u8])>,
}

/// A request ready to send. Its headers and body carry the credential (a signature, a signed
/// assertion), so its `Debug` shows only the method and the URL's scheme and host.
pub struct PreparedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The full `https://` URL. The signature covers its host: a transport that sends the
    /// request elsewhere (a test server) gets a request the provider would refuse.
    pub url: String,
    /// Headers to send, in order, beside those the transport adds (`Host`,
    /// `Content-Length`).
    pub headers: Vec<(String, String)>,
    /// The body (empty for `GET`).
    pub body: Vec<u8>,
}

/// The provider's answer, as the transport received it (no redirects followed).
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// Response headers, names as received.
    pub headers: Vec<(String, String)>,
    /// The (size-capped) body.
    pub body: Vec<u8>,
}

/// A validator whose request is built and read in code: it signs the request with the
/// credential and decides from the response whether the credential works.
pub trait TypedHttp: Send + Sync {
    /// The `kind` that names it in `[rule.validate]`.
    fn kind(&self) -> &'static str;
    /// Builds the signed request for `cred` at time `now` (signatures and assertions carry
    /// it). `options` are the rule's `[rule.validate] options`. An `Err` says which part is
    /// missing or malformed (`"missing part key_id"`) and never holds a secret; the engine
    /// reports it as `unknown`.
    fn prepare(
        &self,
        cred: &Credential<'_>,
        options: &[(String, String)],
        now: std::time::SystemTime,
    ) -> Result<PreparedRequest, String>;
    /// Reads the provider's response: `live`, `invalid`, or `unknown` when the response does
    /// not say (an outage, a throttle, a clock skew). Never keeps tokens the response grants.
    fn judge(&self, resp: &HttpResponse) -> crate::Validation;
    /// What the credential itself says about whom it belongs to, for a response that does not
    /// (Google's token endpoint does not name the service account). The engine adds these to
    /// a `live` validation's identity. None by default.
    fn identity(&self, cred: &Credential<'_>) -> Vec<(String, String)> {
        let _ = cred;
        Vec::new()
    }
}

/// The typed validator of a `kind` (`aws`, `gcp-service-account`, `azure-storage`); `None`
/// for `http` and for kinds that are not a signed HTTP request.
pub fn typed_http(kind: &str) -> Option<&'static dyn TypedHttp> {
    match kind {
        "aws" => Some(&aws::Aws),
        "gcp-service-account" => Some(&gcp::GcpServiceAccount),
        "azure-storage" => Some(&azure::AzureStorage),
        _ => None,
    }
}

/// Every typed HTTP kind, for `rules check` and tests.
pub const TYPED_HTTP_KINDS: &[&str] = &["aws", "gcp-service-account", "azure-storage"];

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, origin(&self.url))
    }
}

/// `scheme://host[:port]` of a URL, without user info, path, query or fragment.
fn origin(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".to_string();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    format!("{scheme}://{host}")
}

impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.parts.iter().map(|(n, _)| *n).collect();
        write!(
            f,
            "Credential {{ secret: <{} bytes>, parts: {names:?} }}",
            self.secret.len()
        )
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HttpResponse {{ status: {}, body: <{} bytes> }}",
            self.status,
            self.body.len()
        )
    }
}

/// The value of part `name`, if the finding has it and it is not empty.
fn part<'a>(cred: &Credential<'a>, name: &str) -> Option<&'a [u8]> {
    cred.parts
        .iter()
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| *v)
}

/// Part `name` as text; `Err("missing part NAME")` when absent.
fn text_part<'a>(cred: &Credential<'a>, name: &str) -> Result<&'a str, String> {
    let v = part(cred, name).ok_or_else(|| format!("missing part {name}"))?;
    std::str::from_utf8(v).map_err(|_| format!("part {name} is not UTF-8 text"))
}

/// The value of option `name`.
fn option<'a>(options: &'a [(String, String)], name: &str) -> Option<&'a str> {
    options
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A DNS label or dotted name made of `[a-z0-9-.]` (a region, an endpoint suffix): safe to
/// put in a host name and to quote in an error.
fn is_host_word(s: &str, dots: bool) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (dots && b == b'.')
        })
        && !s.starts_with(['-', '.'])
        && !s.ends_with(['-', '.'])
}

fn validation(status: Status, reason: impl Into<String>) -> Validation {
    Validation {
        status,
        reason: reason.into(),
        identity: Vec::new(),
    }
}

/// Text from a response made safe for a reason: printable ASCII on one line, at most 160
/// characters, and every run of 20 or more token characters (`[A-Za-z0-9+/=_-]`, the
/// alphabet of keys, tokens and signatures) replaced by `[redacted]`, unless the run is
/// CamelCase words (`AuthorizationPermissionMismatch`, an error code). A provider that
/// echoes part of a request cannot make a reason carry a secret.
pub fn scrub(text: &str) -> String {
    const MIN_RUN: usize = 20;
    const MAX_LEN: usize = 160;
    let token = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-');
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= MIN_RUN && !camel_case_words(run) {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if token(c) {
            run.push(c);
            continue;
        }
        flush(&mut run, &mut out);
        let c = if c.is_ascii_graphic() { c } else { ' ' };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    let out = out.trim();
    if out.len() > MAX_LEN {
        // ASCII only, so any index is a char boundary.
        format!("{}...", &out[..MAX_LEN])
    } else {
        out.to_string()
    }
}

/// `Word` repeated: an uppercase letter then 1 to 15 lowercase ones, at most 64 letters. A
/// random token of 20 letters or more is almost never this shape (two capitals in a row,
/// a long lowercase run or a digit give it away).
fn camel_case_words(run: &str) -> bool {
    let b = run.as_bytes();
    if b.len() > 64 || !b.first().is_some_and(u8::is_ascii_uppercase) {
        return false;
    }
    b.split(u8::is_ascii_uppercase)
        .skip(1)
        .all(|w| (1..=15).contains(&w.len()) && w.iter().all(u8::is_ascii_lowercase))
}

/// The text between `<tag>` and `</tag>` (the first such element), entity-decoded. Enough
/// for the flat, known answers of STS and Azure Storage; not a general XML reader.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&close)?;
    let raw = body[start..start + len].trim();
    Some(
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// The value of response header `name` (case-insensitive).
fn header<'a>(resp: &'a HttpResponse, name: &str) -> Option<&'a str> {
    resp.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_each_validator_by_its_kind() {
        for kind in TYPED_HTTP_KINDS {
            assert_eq!(typed_http(kind).unwrap().kind(), *kind);
        }
        assert!(typed_http("http").is_none());
        assert!(typed_http("postgres").is_none());
    }

    #[test]
    fn debug_of_a_request_shows_method_and_origin_only() {
        let r = PreparedRequest {
            method: "POST".into(),
            url: "https://user:pw@example.com:8443/path?q=secretvalue#f".into(),
            headers: vec![("Authorization".into(), "Bearer hunter2".into())],
            body: b"password=hunter2".to_vec(),
        };
        assert_eq!(format!("{r:?}"), "POST https://example.com:8443");
        let c = Credential {
            secret: b"hunter2",
            parts: vec![("key_id", b"AKIDEXAMPLE".as_slice())],
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("AKIDEXAMPLE"),
            "{shown}"
        );
        assert!(shown.contains("key_id"));
    }

    #[test]
    fn scrub_redacts_token_runs_and_keeps_prose() {
        assert_eq!(scrub("Invalid JWT Signature."), "Invalid JWT Signature.");
        assert_eq!(
            scrub("bad key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY here"),
            "bad key [redacted] here"
        );
        assert_eq!(scrub("line\none\t\u{7}two"), "line one two");
        assert_eq!(scrub("caf\u{e9} ok"), "caf ok");
        assert_eq!(
            scrub("403 AuthorizationPermissionMismatch"),
            "403 AuthorizationPermissionMismatch"
        );
        assert_eq!(scrub("x AbCDefGhijKlmnOpqrSt"), "x [redacted]");
        assert_eq!(scrub("x Abcdefghijklmnopqrst"), "x [redacted]");
        let long = "word ".repeat(100);
        assert!(scrub(&long).len() <= 163);
        // 19 token characters stay (an account number, a request id fragment).
        assert_eq!(scrub("id 1234567890123456789"), "id 1234567890123456789");
    }

    #[test]
    fn xml_text_reads_the_first_element() {
        let b = "<a><Code>X&amp;Y</Code><Code>Z</Code></a>";
        assert_eq!(xml_text(b, "Code").as_deref(), Some("X&Y"));
        assert_eq!(xml_text(b, "Nope"), None);
        assert_eq!(xml_text("<Code>unterminated", "Code"), None);
    }
}
