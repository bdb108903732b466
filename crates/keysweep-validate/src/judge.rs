//! Reading a response: matchers, identity, and scrubbing what is shown of it.

use keysweep::{JsonValue, Matcher, ValidateSpec};

use crate::typed::HttpResponse;
use crate::{Status, Validation};

/// The longest identity value kept (in characters, before scrubbing adds markers).
pub(crate) const MAX_IDENTITY_CHARS: usize = 200;
/// The longest body excerpt put in a reason.
pub(crate) const MAX_EXCERPT_CHARS: usize = 80;

/// Values that must not appear in anything shown: the secret, its parts and every rendered
/// expression derived from them (an encoded `Authorization` value echoed back).
pub(crate) struct Scrubber {
    needles: Vec<Vec<u8>>,
}

impl Scrubber {
    pub(crate) fn new(secret: &[u8], parts: &[(&str, &[u8])], derived: Vec<Vec<u8>>) -> Scrubber {
        let mut needles: Vec<Vec<u8>> = Vec::new();
        if !secret.is_empty() {
            needles.push(secret.to_vec());
        }
        // A one- or two-byte part (a port, `db`) would shred any text it was scrubbed from.
        needles.extend(
            parts
                .iter()
                .filter(|(_, v)| v.len() >= 3)
                .map(|(_, v)| v.to_vec()),
        );
        needles.extend(derived.into_iter().filter(|v| v.len() >= 3));
        // Longest first, so that a value containing another is replaced whole.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        Scrubber { needles }
    }

    /// `text` with every needle replaced by `[REDACTED]`.
    pub(crate) fn bytes(&self, text: &[u8]) -> Vec<u8> {
        let mut out = text.to_vec();
        for n in &self.needles {
            out = replace_all(&out, n, crate::REDACTED.as_bytes());
        }
        out
    }

    pub(crate) fn text(&self, text: &str) -> String {
        String::from_utf8_lossy(&self.bytes(text.as_bytes())).into_owned()
    }
}

/// Replaces every ASCII-case-insensitive occurrence (a host name comes back lowercased).
fn replace_all(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay.len() - i >= needle.len() && hay[i..i + needle.len()].eq_ignore_ascii_case(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// A short, printable, scrubbed excerpt of a body. Scrubbed before it is cut, so that a
/// secret across the cut cannot leave half of itself.
pub(crate) fn excerpt(body: &[u8], scrub: &Scrubber) -> String {
    let clean = scrub.bytes(body);
    let text = String::from_utf8_lossy(&clean);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_EXCERPT_CHARS)
        .collect();
    if text.chars().count() > MAX_EXCERPT_CHARS {
        out.push('…');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Applies a template validator's matchers (`live` first) and reads its identity.
pub(crate) fn judge(spec: &ValidateSpec, resp: &HttpResponse, scrub: &Scrubber) -> Validation {
    decide(&spec.live, &spec.invalid, &spec.identity, resp, scrub)
}

/// `live` if a `live` matcher holds, else `invalid` if an `invalid` one does, else
/// `unknown`; identity is read only from a live answer.
pub(crate) fn decide(
    live: &[Matcher],
    invalid: &[Matcher],
    identity_sources: &[(String, String)],
    resp: &HttpResponse,
    scrub: &Scrubber,
) -> Validation {
    let json: Option<serde_json::Value> = serde_json::from_slice(&resp.body).ok();
    let holds = |m: &Matcher| matches(m, resp, json.as_ref());
    let (status, reason) = if live.iter().any(holds) {
        (Status::Live, format!("HTTP {}: live", resp.status))
    } else if resp.status == 429 && !invalid.iter().any(holds) {
        (Status::Unknown, "HTTP 429: rate limited".to_string())
    } else if invalid.iter().any(holds) {
        (Status::Invalid, format!("HTTP {}: invalid", resp.status))
    } else {
        let ex = excerpt(&resp.body, scrub);
        let reason = if ex.is_empty() {
            format!("HTTP {}: matched neither live nor invalid", resp.status)
        } else {
            format!(
                "HTTP {}: matched neither live nor invalid: {ex}",
                resp.status
            )
        };
        (Status::Unknown, reason)
    };
    let identity = if status == Status::Live {
        identity(identity_sources, resp, json.as_ref(), scrub)
    } else {
        Vec::new()
    };
    Validation {
        status,
        reason,
        identity,
    }
}

fn matches(m: &Matcher, resp: &HttpResponse, json: Option<&serde_json::Value>) -> bool {
    (m.status.is_empty() || m.status.contains(&resp.status))
        && m.headers.iter().all(|(name, sub)| {
            resp.headers
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(name) && v.contains(sub.as_str()))
        })
        && m.words.iter().all(|w| contains(&resp.body, w.as_bytes()))
        && m.json.iter().all(|(path, want)| {
            let Some(got) = json.and_then(|j| json_path(j, path)) else {
                return false;
            };
            match want {
                JsonValue::Present => !got.is_null(),
                JsonValue::String(s) => got.as_str() == Some(s.as_str()),
                JsonValue::Bool(b) => got.as_bool() == Some(*b),
                JsonValue::Integer(i) => got.as_i64() == Some(*i),
            }
        })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// The value at a dotted path (`data.user.login`, `items.0.id`).
pub(crate) fn json_path<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(v, |cur, key| match cur {
        serde_json::Value::Object(o) => o.get(key),
        serde_json::Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// Reads `(field, source)` pairs; a source that finds nothing is left out.
pub(crate) fn identity(
    sources: &[(String, String)],
    resp: &HttpResponse,
    json: Option<&serde_json::Value>,
    scrub: &Scrubber,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (field, source) in sources {
        let raw = if let Some(path) = source.strip_prefix("json:") {
            json.and_then(|j| json_path(j, path)).and_then(|v| match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                // A list of scalars (scopes, roles) reads as `a, b`.
                serde_json::Value::Array(a)
                    if a.iter().all(|v| !v.is_array() && !v.is_object()) =>
                {
                    Some(
                        a.iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                }
                other => Some(other.to_string()),
            })
        } else if let Some(name) = source.strip_prefix("header:") {
            let vals: Vec<&str> = resp
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect();
            (!vals.is_empty()).then(|| vals.join(", "))
        } else {
            None
        };
        if let Some(v) = raw {
            out.push((field.clone(), identity_value(&v, scrub)));
        }
    }
    out
}

/// Scrubbed (before it is cut), control characters dropped, at most
/// [`MAX_IDENTITY_CHARS`] characters.
pub(crate) fn identity_value(v: &str, scrub: &Scrubber) -> String {
    let clean = scrub.text(v);
    let mut out: String = clean
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_IDENTITY_CHARS)
        .collect();
    if clean.chars().count() > MAX_IDENTITY_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_scrubbing() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"a":{"b":[{"c":"x"},{"c":7}]}}"#).unwrap();
        assert_eq!(json_path(&v, "a.b.1.c"), Some(&serde_json::json!(7)));
        assert_eq!(json_path(&v, "a.b.x"), None);
        let s = Scrubber::new(
            b"tok_secret",
            &[("user", b"alice"), ("port", b"5")],
            vec![b"dG9r".to_vec()],
        );
        assert_eq!(
            s.text("alice tok_secret dG9r 5"),
            "[REDACTED] [REDACTED] [REDACTED] 5"
        );
        let long = format!("{} tok_secret", "x".repeat(75));
        let e = excerpt(long.as_bytes(), &s);
        assert!(!e.contains("tok_"), "{e}");
        assert!(e.chars().count() <= MAX_EXCERPT_CHARS + 1);
    }
}
