//! The template language of `[rule.validate]` and `[rule.revoke]` requests.
//!
//! ```text
//! template := (literal text | '{{' expr '}}')*
//! expr     := term ('~' term)* ('|' filter)*
//! term     := NAME | 'single-quoted literal'          (no escapes)
//! filter   := base64 | base64url | urlencode | hex | sha256 | hmac_sha256(term)
//!           | lower | upper | json
//! ```
//!
//! Values are bytes: `sha256` and `hmac_sha256` yield raw digests (chain `| hex` or
//! `| base64` to print them). `~` concatenates.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Names every template may use besides `secret` and the rule's parts.
pub(crate) const TIME_NAMES: &[&str] = &["now", "now_iso8601", "now_rfc1123"];

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Expr {
    terms: Vec<Term>,
    filters: Vec<Filter>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    Name(String),
    Literal(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Filter {
    Base64,
    Base64Url,
    UrlEncode,
    Hex,
    Sha256,
    HmacSha256(Term),
    Lower,
    Upper,
    Json,
}

const FILTERS: &str =
    "base64, base64url, urlencode, hex, sha256, hmac_sha256(KEY), lower, upper, json";

impl Template {
    /// Parses a template; the error says what is wrong and at which byte.
    pub(crate) fn parse(src: &str) -> Result<Template, String> {
        let mut segments = Vec::new();
        let mut rest = src;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                segments.push(Segment::Literal(rest[..open].to_string()));
            }
            let inner_start = open + 2;
            let Some(close) = rest[inner_start..].find("}}") else {
                return Err(format!("`{{{{` at byte {} is never closed", offset + open));
            };
            let inner = &rest[inner_start..inner_start + close];
            let expr = parse_expr(inner)
                .map_err(|e| format!("in `{{{{{inner}}}}}` at byte {}: {e}", offset + open))?;
            segments.push(Segment::Expr(expr));
            let consumed = inner_start + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if rest.contains("}}") {
            return Err(format!(
                "`}}}}` at byte {} closes nothing",
                offset + rest.find("}}").unwrap_or(0)
            ));
        }
        if !rest.is_empty() {
            segments.push(Segment::Literal(rest.to_string()));
        }
        Ok(Template { segments })
    }

    /// Every name the template uses, in order of appearance (with repeats).
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().flat_map(|s| {
            let mut out = Vec::new();
            if let Segment::Expr(e) = s {
                e.names(&mut out);
            }
            out
        })
    }

    /// Renders the template. `secret_names` are the names whose values are secret
    /// (`secret` and the parts): with `redact`, an expression that uses one renders as
    /// `[REDACTED]`. Every rendered expression that uses one is pushed to `sensitive`, so
    /// that an echo of it can be scrubbed from what the provider answers.
    pub(crate) fn render(
        &self,
        ctx: &Context<'_>,
        redact: bool,
        sensitive: &mut Vec<Vec<u8>>,
    ) -> Result<Vec<u8>, RenderError> {
        let mut out = Vec::new();
        for s in &self.segments {
            match s {
                Segment::Literal(l) => out.extend_from_slice(l.as_bytes()),
                Segment::Expr(e) => {
                    let mut names = Vec::new();
                    e.names(&mut names);
                    let is_sensitive = names.iter().any(|n| !TIME_NAMES.contains(n));
                    let value = e.eval(ctx)?;
                    if is_sensitive && redact {
                        out.extend_from_slice(crate::REDACTED.as_bytes());
                    } else {
                        out.extend_from_slice(&value);
                    }
                    if is_sensitive && !value.is_empty() {
                        sensitive.push(value);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Why a template could not be rendered for a finding.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RenderError {
    /// The finding has no part of this name.
    MissingPart(String),
}

/// The values a template is rendered with.
pub(crate) struct Context<'a> {
    pub(crate) secret: &'a [u8],
    pub(crate) parts: &'a [(&'a str, &'a [u8])],
    pub(crate) now: SystemTime,
}

impl Context<'_> {
    fn lookup(&self, name: &str) -> Result<Vec<u8>, RenderError> {
        if name == "secret" {
            return Ok(self.secret.to_vec());
        }
        if let Some((_, v)) = self.parts.iter().find(|(n, _)| *n == name) {
            return Ok(v.to_vec());
        }
        let secs = self
            .now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        match name {
            "now" => Ok(secs.to_string().into_bytes()),
            "now_iso8601" => Ok(iso8601_basic(secs).into_bytes()),
            "now_rfc1123" => Ok(rfc1123(secs).into_bytes()),
            _ => Err(RenderError::MissingPart(name.to_string())),
        }
    }
}

impl Expr {
    fn names<'a>(&'a self, out: &mut Vec<&'a str>) {
        let mut term = |t: &'a Term| {
            if let Term::Name(n) = t {
                out.push(n.as_str());
            }
        };
        self.terms.iter().for_each(&mut term);
        for f in &self.filters {
            if let Filter::HmacSha256(t) = f {
                term(t);
            }
        }
    }

    fn eval(&self, ctx: &Context<'_>) -> Result<Vec<u8>, RenderError> {
        let mut v = Vec::new();
        for t in &self.terms {
            v.extend_from_slice(&eval_term(t, ctx)?);
        }
        for f in &self.filters {
            v = apply(f, v, ctx)?;
        }
        Ok(v)
    }
}

fn eval_term(t: &Term, ctx: &Context<'_>) -> Result<Vec<u8>, RenderError> {
    match t {
        Term::Name(n) => ctx.lookup(n),
        Term::Literal(l) => Ok(l.as_bytes().to_vec()),
    }
}

fn apply(f: &Filter, v: Vec<u8>, ctx: &Context<'_>) -> Result<Vec<u8>, RenderError> {
    Ok(match f {
        Filter::Base64 => base64::engine::general_purpose::STANDARD
            .encode(&v)
            .into_bytes(),
        Filter::Base64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(&v)
            .into_bytes(),
        Filter::UrlEncode => urlencode(&v).into_bytes(),
        Filter::Hex => hex(&v).into_bytes(),
        Filter::Sha256 => Sha256::digest(&v).to_vec(),
        Filter::HmacSha256(key) => hmac_sha256(&eval_term(key, ctx)?, &v).to_vec(),
        Filter::Lower => v.to_ascii_lowercase(),
        Filter::Upper => v.to_ascii_uppercase(),
        Filter::Json => json_escape(&v).into_bytes(),
    })
}

fn parse_expr(src: &str) -> Result<Expr, String> {
    let mut p = Parser {
        s: src.as_bytes(),
        i: 0,
    };
    let mut terms = vec![p.term()?];
    let mut filters = Vec::new();
    loop {
        p.skip_ws();
        match p.peek() {
            None => break,
            Some(b'~') if filters.is_empty() => {
                p.i += 1;
                terms.push(p.term()?);
            }
            Some(b'~') => return Err("`~` after a filter (filters come last)".into()),
            Some(b'|') => {
                p.i += 1;
                filters.push(p.filter()?);
            }
            Some(c) => {
                return Err(format!(
                    "unexpected `{}` (expected `~`, `|` or the end)",
                    c as char
                ))
            }
        }
    }
    Ok(Expr { terms, filters })
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn name(&mut self) -> Option<String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.i += 1;
        }
        (self.i > start && !self.s[start].is_ascii_digit())
            .then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn term(&mut self) -> Result<Term, String> {
        self.skip_ws();
        match self.peek() {
            Some(b'\'') => {
                let start = self.i + 1;
                let Some(len) = self.s[start..].iter().position(|&c| c == b'\'') else {
                    return Err("unterminated '...' literal".into());
                };
                self.i = start + len + 1;
                Ok(Term::Literal(
                    String::from_utf8_lossy(&self.s[start..start + len]).into_owned(),
                ))
            }
            None => Err("expected a name or a '...' literal, found the end".into()),
            Some(c) => self.name().map(Term::Name).ok_or_else(|| {
                format!("expected a name or a '...' literal, found `{}`", c as char)
            }),
        }
    }

    fn filter(&mut self) -> Result<Filter, String> {
        self.skip_ws();
        let Some(name) = self.name() else {
            return Err(format!("expected a filter after `|` ({FILTERS})"));
        };
        Ok(match name.as_str() {
            "base64" => Filter::Base64,
            "base64url" => Filter::Base64Url,
            "urlencode" => Filter::UrlEncode,
            "hex" => Filter::Hex,
            "sha256" => Filter::Sha256,
            "lower" => Filter::Lower,
            "upper" => Filter::Upper,
            "json" => Filter::Json,
            "hmac_sha256" => {
                self.skip_ws();
                if self.peek() != Some(b'(') {
                    return Err("`hmac_sha256` takes its key: hmac_sha256(KEY)".into());
                }
                self.i += 1;
                let key = self.term()?;
                self.skip_ws();
                if self.peek() != Some(b')') {
                    return Err("`hmac_sha256(` takes one name or literal, then `)`".into());
                }
                self.i += 1;
                Filter::HmacSha256(key)
            }
            other => return Err(format!("unknown filter `{other}` (known: {FILTERS})")),
        })
    }
}

/// HMAC-SHA256 of `msg` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // A key of any length is accepted by HMAC (it is hashed or padded).
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Lowercase hex.
pub(crate) fn hex(v: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(v.len() * 2);
    for &b in v {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Percent-encodes every byte but RFC 3986's unreserved characters.
pub(crate) fn urlencode(v: &[u8]) -> String {
    let mut s = String::with_capacity(v.len());
    for &b in v {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The inside of a JSON string holding `v` (invalid UTF-8 becomes U+FFFD).
fn json_escape(v: &[u8]) -> String {
    let quoted = serde_json::Value::String(String::from_utf8_lossy(v).into_owned()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

fn civil(secs: u64) -> (i64, u32, u32, u64, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    let weekday = (days + 4).rem_euclid(7) as u64; // 1970-01-01 was a Thursday
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60, weekday)
}

/// `20261202T120000Z` (ISO 8601 basic format, as AWS SigV4 uses).
pub(crate) fn iso8601_basic(secs: u64) -> String {
    let (y, m, d, hh, mm, ss, _) = civil(secs);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

/// `Wed, 02 Dec 2026 12:00:00 GMT` (the HTTP date format).
pub(crate) fn rfc1123(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d, hh, mm, ss, wd) = civil(secs);
    format!(
        "{}, {d:02} {} {y:04} {hh:02}:{mm:02}:{ss:02} GMT",
        DAYS[wd as usize],
        MONTHS[(m - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn render(src: &str, secret: &str, parts: &[(&str, &[u8])]) -> Result<Vec<u8>, RenderError> {
        let ctx = Context {
            secret: secret.as_bytes(),
            parts,
            now: UNIX_EPOCH + Duration::from_secs(1_796_212_800),
        };
        Template::parse(src)
            .unwrap()
            .render(&ctx, false, &mut Vec::new())
    }

    #[test]
    fn dates() {
        // 2026-12-02T12:00:00Z, a Wednesday.
        assert_eq!(iso8601_basic(1_796_212_800), "20261202T120000Z");
        assert_eq!(rfc1123(1_796_212_800), "Wed, 02 Dec 2026 12:00:00 GMT");
        assert_eq!(rfc1123(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(iso8601_basic(951_782_400), "20000229T000000Z");
        assert_eq!(render("{{now}}", "s", &[]).unwrap(), b"1796212800");
    }

    #[test]
    fn parse_errors_say_where() {
        assert!(Template::parse("a {{ secret")
            .unwrap_err()
            .contains("never closed"));
        assert!(Template::parse("{{ secret | rot13 }}")
            .unwrap_err()
            .contains("rot13"));
        assert!(Template::parse("{{ 'x }}")
            .unwrap_err()
            .contains("unterminated"));
        assert!(Template::parse("{{ }}")
            .unwrap_err()
            .contains("found the end"));
        assert!(Template::parse("{{ a b }}")
            .unwrap_err()
            .contains("unexpected `b`"));
        assert!(Template::parse("{{ a | hex ~ b }}")
            .unwrap_err()
            .contains("filters come last"));
        assert!(Template::parse("x }}")
            .unwrap_err()
            .contains("closes nothing"));
        assert!(Template::parse("{{ a | hmac_sha256 }}")
            .unwrap_err()
            .contains("key"));
    }

    #[test]
    fn parsing_never_panics() {
        // Random strings over the grammar's characters (and some non-ASCII): each parses or
        // fails with a message; what parses renders or names a missing part.
        const ALPHABET: &[&str] = &[
            "{{",
            "}}",
            "{",
            "}",
            "|",
            "~",
            "'",
            "(",
            ")",
            " ",
            "secret",
            "user",
            "hex",
            "sha256",
            "hmac_sha256",
            "base64",
            "json",
            "now",
            "x",
            "é",
            "☃",
            "\n",
            "_",
            "9",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(x % 12) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(ALPHABET[(x % ALPHABET.len() as u64) as usize]);
            }
            x = x.wrapping_add(1);
            match Template::parse(&s) {
                Ok(t) => match render(&s, "sekret", &[("user", b"u")]) {
                    Ok(_) => {}
                    Err(RenderError::MissingPart(n)) => assert!(t.names().any(|m| m == n)),
                },
                Err(e) => assert!(!e.is_empty()),
            }
        }
    }

    #[test]
    fn literal_text_and_spacing() {
        assert_eq!(
            render("token {{secret}}!", "abc", &[]).unwrap(),
            b"token abc!"
        );
        assert_eq!(render("{{   secret   }}", "abc", &[]).unwrap(), b"abc");
        assert_eq!(render("plain", "abc", &[]).unwrap(), b"plain");
        assert_eq!(
            render("{{ missing }}", "abc", &[]),
            Err(RenderError::MissingPart("missing".into()))
        );
    }
}
