//! How to check a finding against its provider, as data in a rule file (`[rule.validate]`)
//! and how to revoke it (`[rule.revoke]`).
//!
//! The core only parses and carries these: it does no I/O. The `keysweep-validate` crate
//! renders the templates, sends the requests and applies the matchers; it also owns the
//! template language (`{{ secret }}`, `{{ key_id ~ ':' ~ secret | base64 }}`), so template
//! syntax is checked there (`keysweep rules check` does both).

use crate::rule::{field, Val};

/// A rule's validator: an HTTP request described as data, or a typed validator named by
/// [`kind`](ValidateSpec::kind) (`aws`, `gcp-service-account`, `azure-storage`, `postgres`,
/// `mysql`, `redis`, `mongodb`, ...), implemented in code where a request needs signing or a
/// protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidateSpec {
    /// `http` (the default) or the name of a typed validator.
    pub kind: String,
    /// The request, for `http`.
    pub request: Option<RequestSpec>,
    /// Any matcher that holds makes the credential `live` (checked first).
    pub live: Vec<Matcher>,
    /// Any matcher that holds makes it `invalid`. A response that neither list matches is
    /// `unknown`.
    pub invalid: Vec<Matcher>,
    /// What the response says about the credential, as `(field, source)`: the field is
    /// `account`, `user`, `scopes`, `expiry` or a name of the rule's choosing; the source is
    /// `json:PATH` (a dotted path into a JSON body, array indexes as numbers) or
    /// `header:NAME`.
    pub identity: Vec<(String, String)>,
    /// Settings of a typed validator (`region = "us-east-1"`, `service = "..."`), as strings.
    pub options: Vec<(String, String)>,
}

/// A rule's revocation request: the credential revokes itself (GitHub's credential
/// revocation API, GitLab's self-revoke, Slack's `auth.revoke`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevokeSpec {
    /// The request.
    pub request: RequestSpec,
    /// Any matcher that holds means the credential was revoked.
    pub done: Vec<Matcher>,
}

/// An HTTP request whose parts are templates over the secret and the finding's parts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestSpec {
    /// `GET` (the default), `POST`, `HEAD`, `PUT`, `DELETE` or `PATCH`.
    pub method: String,
    /// The URL template. Its origin (scheme, host, port) may be replaced at run time for
    /// self-hosted providers and tests.
    pub url: String,
    /// Header templates, in order.
    pub headers: Vec<(String, String)>,
    /// A body template.
    pub body: Option<String>,
}

/// Conditions on a response; all that are given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Matcher {
    /// The status is one of these.
    pub status: Vec<u16>,
    /// Each `(path, expected)`: the JSON body has this value at this dotted path.
    pub json: Vec<(String, JsonValue)>,
    /// Each `(name, substring)`: the header is present and contains the substring (an empty
    /// substring: present at all). Names are compared case-insensitively.
    pub headers: Vec<(String, String)>,
    /// The body contains every one of these words.
    pub words: Vec<String>,
}

/// A value a matcher expects at a JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonValue {
    /// A string, compared exactly.
    String(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// Anything but `null` (`"*"` in a rule file).
    Present,
}

const VALIDATE_FIELDS: &[&str] = &[
    "kind", "method", "url", "headers", "body", "live", "invalid", "identity", "options",
];
const REVOKE_FIELDS: &[&str] = &["method", "url", "headers", "body", "done"];
const MATCHER_FIELDS: &[&str] = &["status", "json", "headers", "words"];
const METHODS: &[&str] = &["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH"];

pub(crate) fn parse_validate(v: &Val<'_>) -> Result<ValidateSpec, String> {
    let Val::Table(t) = v else {
        return Err("must be a table".into());
    };
    known(t, VALIDATE_FIELDS)?;
    let kind = match field(t, "kind") {
        None => "http".to_string(),
        Some(Val::Str(s)) if valid_kind(s) => s.to_string(),
        Some(_) => {
            return Err("`kind` must be a lowercase name such as \"http\" or \"aws\"".into())
        }
    };
    let request = if kind == "http" {
        Some(parse_request(t)?)
    } else {
        for f in ["method", "url", "headers", "body"] {
            if field(t, f).is_some() {
                return Err(format!(
                    "`{f}` is only for kind = \"http\" (this is {kind:?})"
                ));
            }
        }
        None
    };
    let live = matchers(field(t, "live"), "live")?;
    let invalid = matchers(field(t, "invalid"), "invalid")?;
    if kind == "http" && live.is_empty() {
        return Err("an http validator needs at least one `live` matcher".into());
    }
    Ok(ValidateSpec {
        kind,
        request,
        live,
        invalid,
        identity: string_map(field(t, "identity"), "identity")?,
        options: string_map(field(t, "options"), "options")?,
    })
}

pub(crate) fn parse_revoke(v: &Val<'_>) -> Result<RevokeSpec, String> {
    let Val::Table(t) = v else {
        return Err("must be a table".into());
    };
    known(t, REVOKE_FIELDS)?;
    let done = matchers(field(t, "done"), "done")?;
    if done.is_empty() {
        return Err("needs at least one `done` matcher".into());
    }
    Ok(RevokeSpec {
        request: parse_request(t)?,
        done,
    })
}

fn valid_kind(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Fails on a field not in `fields`, naming the first unknown one in key order.
fn known(t: &[(&str, Val<'_>)], fields: &[&str]) -> Result<(), String> {
    match t
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !fields.contains(k))
        .min()
    {
        Some(k) => Err(format!(
            "unknown field `{k}` (known: {})",
            fields.join(", ")
        )),
        None => Ok(()),
    }
}

fn parse_request(t: &[(&str, Val<'_>)]) -> Result<RequestSpec, String> {
    let method = match field(t, "method") {
        None => "GET".to_string(),
        Some(Val::Str(m)) if METHODS.contains(m) => m.to_string(),
        Some(_) => return Err(format!("`method` must be one of {}", METHODS.join(", "))),
    };
    let url = match field(t, "url") {
        Some(Val::Str(u)) => u.to_string(),
        Some(_) => return Err("`url` must be a string".into()),
        None => return Err("`url` is required".into()),
    };
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("{{")) {
        return Err(format!(
            "`url` {url:?} must start with https:// (or a template)"
        ));
    }
    let body = match field(t, "body") {
        None => None,
        Some(Val::Str(b)) => Some(b.to_string()),
        Some(_) => return Err("`body` must be a string".into()),
    };
    Ok(RequestSpec {
        method,
        url,
        headers: string_map(field(t, "headers"), "headers")?,
        body,
    })
}

/// A table of strings, in key order (as TOML tables iterate).
fn string_map(v: Option<&Val<'_>>, field: &str) -> Result<Vec<(String, String)>, String> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let Val::Table(t) = v else {
        return Err(format!("`{field}` must be a table of strings"));
    };
    let mut map = t
        .iter()
        .map(|(k, v)| match v {
            Val::Str(s) => Ok((k.to_string(), s.to_string())),
            _ => Err(format!("`{field}.{k}` must be a string")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    map.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(map)
}

fn matchers(v: Option<&Val<'_>>, field: &str) -> Result<Vec<Matcher>, String> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let items: Vec<&Val<'_>> = match v {
        Val::Array(a) => a.iter().collect(),
        Val::Table(_) => vec![v],
        _ => return Err(format!("`{field}` must be a table or an array of tables")),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| parse_matcher(v).map_err(|m| format!("`{field}` #{}: {m}", i + 1)))
        .collect()
}

fn parse_matcher(v: &Val<'_>) -> Result<Matcher, String> {
    let Val::Table(t) = v else {
        return Err("must be a table { status, json, headers, words }".into());
    };
    known(t, MATCHER_FIELDS)?;
    let status = match field(t, "status") {
        None => Vec::new(),
        Some(Val::Int(i)) => vec![status_code(*i)?],
        Some(Val::Array(a)) => a
            .iter()
            .map(|v| match v {
                Val::Int(i) => status_code(*i),
                _ => Err("`status` must be integers".to_string()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`status` must be an integer or an array of them".into()),
    };
    let json = match field(t, "json") {
        None => Vec::new(),
        Some(Val::Table(j)) => {
            let mut json = j
                .iter()
                .map(|(k, v)| {
                    let expected = match v {
                        Val::Str("*") => JsonValue::Present,
                        Val::Str(s) => JsonValue::String(s.to_string()),
                        Val::Bool(b) => JsonValue::Bool(*b),
                        Val::Int(i) => JsonValue::Integer(*i),
                        _ => {
                            return Err(format!("`json.{k}` must be a string, boolean or integer"))
                        }
                    };
                    Ok((k.to_string(), expected))
                })
                .collect::<Result<Vec<_>, _>>()?;
            // In key order, as TOML tables iterate.
            json.sort_by(|a, b| a.0.cmp(&b.0));
            json
        }
        Some(_) => return Err("`json` must be a table { path = value }".into()),
    };
    let words = match field(t, "words") {
        None => Vec::new(),
        Some(Val::Array(a)) => a
            .iter()
            .map(|v| match v {
                Val::Str(s) => Ok(s.to_string()),
                _ => Err("`words` must be strings".to_string()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`words` must be an array of strings".into()),
    };
    let m = Matcher {
        status,
        json,
        headers: string_map(field(t, "headers"), "headers")?,
        words,
    };
    if m == Matcher::default() {
        return Err("is empty: it would match every response".into());
    }
    Ok(m)
}

fn status_code(i: i64) -> Result<u16, String> {
    if (100..=599).contains(&i) {
        Ok(i as u16)
    } else {
        Err(format!("{i} is not an HTTP status"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<ValidateSpec, String> {
        let t = toml::Value::Table(src.parse().unwrap());
        parse_validate(&Val::from_toml(&t))
    }

    #[test]
    fn http_validator() {
        let v = parse(
            r#"
            url = "https://api.github.com/user"
            headers = { Authorization = "token {{ secret }}" }
            live = { status = 200 }
            invalid = [{ status = [401, 403] }, { json = { ok = false, "error.code" = "*" } }]
            identity = { account = "json:login", scopes = "header:x-oauth-scopes" }
            "#,
        )
        .unwrap();
        assert_eq!(v.kind, "http");
        let r = v.request.unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.headers[0].1, "token {{ secret }}");
        assert_eq!(v.live[0].status, vec![200]);
        assert_eq!(v.invalid[0].status, vec![401, 403]);
        assert!(v.invalid[1]
            .json
            .contains(&("error.code".to_string(), JsonValue::Present)));
        assert_eq!(v.identity.len(), 2);
    }

    #[test]
    fn typed_validator() {
        let v = parse("kind = \"aws\"\noptions = { region = \"us-east-1\" }").unwrap();
        assert_eq!(v.kind, "aws");
        assert!(v.request.is_none());
        assert!(parse("kind = \"aws\"\nurl = \"https://x\"")
            .unwrap_err()
            .contains("only for kind"));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(parse("url = \"https://x\"").unwrap_err().contains("live"));
        assert!(parse("url = \"https://x\"\nlive = {}")
            .unwrap_err()
            .contains("empty"));
        assert!(parse("url = \"https://x\"\nlive = { status = 99 }")
            .unwrap_err()
            .contains("99"));
        assert!(parse("url = \"ftp://x\"\nlive = { status = 200 }")
            .unwrap_err()
            .contains("https://"));
        assert!(
            parse("url = \"https://x\"\nlive = { status = 200 }\nmethd = \"GET\"")
                .unwrap_err()
                .contains("methd")
        );
        assert!(
            parse("method = \"TRACE\"\nurl = \"https://x\"\nlive = { status = 200 }")
                .unwrap_err()
                .contains("method")
        );
    }
}

#[cfg(test)]
mod builtin_tests {
    #[test]
    fn builtin_rules_carry_their_validators() {
        let rules = crate::RuleSet::builtin();
        let gh = rules.get("github.pat.classic").unwrap();
        let v = gh.validate.as_ref().unwrap();
        assert_eq!(v.kind, "http");
        assert_eq!(
            v.request.as_ref().unwrap().url,
            "https://api.github.com/user"
        );
        assert_eq!(gh.revoke.as_ref().unwrap().done[0].status, vec![202]);
    }

    const FILTERS: &[&str] = &[
        "base64",
        "base64url",
        "urlencode",
        "hex",
        "sha256",
        "lower",
        "upper",
        "json",
    ];

    /// The names a template's `{{ ... }}` expressions read (terms and `hmac_sha256` keys), or
    /// what is malformed in it.
    fn template_names(t: &str) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        let mut rest = t;
        while let Some(open) = rest.find("{{") {
            let close = rest[open..]
                .find("}}")
                .ok_or_else(|| format!("unclosed {{{{ in {t:?}"))?;
            let expr = &rest[open + 2..open + close];
            let mut pipe = expr.split('|');
            let terms = pipe.next().unwrap_or_default();
            let mut term = |s: &str| -> Result<(), String> {
                let s = s.trim();
                if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
                    Ok(())
                } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    names.push(s.to_string());
                    Ok(())
                } else {
                    Err(format!("bad term {s:?} in {t:?}"))
                }
            };
            for s in terms.split('~') {
                term(s)?;
            }
            for f in pipe {
                let f = f.trim();
                if let Some(key) = f
                    .strip_prefix("hmac_sha256(")
                    .and_then(|k| k.strip_suffix(')'))
                {
                    term(key)?;
                } else if !FILTERS.contains(&f) {
                    return Err(format!("unknown filter {f:?} in {t:?}"));
                }
            }
            rest = &rest[open + close + 2..];
        }
        Ok(names)
    }

    fn request_templates(r: &super::RequestSpec) -> Vec<&str> {
        let mut all = vec![r.url.as_str()];
        all.extend(r.headers.iter().map(|(_, v)| v.as_str()));
        all.extend(r.body.as_deref());
        all
    }

    #[test]
    fn template_names_reads_terms_filters_and_keys() {
        assert_eq!(
            template_names("Basic {{ key_id ~ ':' ~ secret | base64 }}").unwrap(),
            ["key_id", "secret"]
        );
        assert_eq!(
            template_names("{{ now | hmac_sha256(secret) | hex }}/{{ user }}").unwrap(),
            ["now", "secret", "user"]
        );
        assert!(template_names("{{ secret | rot13 }}").is_err());
        assert!(template_names("{{ secret").is_err());
        assert!(template_names("{{ 'a' ~ }}").is_err());
    }

    /// Issue 17 asks for validators on at least 80 rules; each must read only the finding's
    /// secret, the parts its rule declares and the clock, and must speak TLS.
    #[test]
    fn builtin_validators_read_only_what_their_rule_captures() {
        let rules = crate::RuleSet::builtin();
        let mut with_validator = 0;
        for rule in rules.rules() {
            let mut requests = Vec::new();
            // Typed validators (aws, postgres, ...) build their requests in code.
            if let Some(r) = rule.validate.as_ref().and_then(|v| v.request.as_ref()) {
                with_validator += 1;
                requests.push(r);
            }
            if let Some(r) = &rule.revoke {
                requests.push(&r.request);
            }
            for r in requests {
                assert!(r.url.starts_with("https://"), "{}: {}", rule.id, r.url);
                for t in request_templates(r) {
                    let names = template_names(t).unwrap_or_else(|e| panic!("{}: {e}", rule.id));
                    for n in names {
                        assert!(
                            ["secret", "now", "now_iso8601", "now_rfc1123"].contains(&n.as_str())
                                || rule.parts.contains(&n),
                            "{}: template reads {n:?}, which the rule does not capture",
                            rule.id
                        );
                    }
                }
                assert!(
                    request_templates(r)
                        .iter()
                        .any(|t| !template_names(t).unwrap().is_empty()),
                    "{}: the request sends nothing of the credential",
                    rule.id
                );
            }
        }
        assert!(with_validator >= 80, "{with_validator} built-in validators");
    }

    fn json_at<'a>(doc: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
        path.split('.').try_fold(doc, |v, seg| match v {
            serde_json::Value::Array(a) => a.get(seg.parse::<usize>().ok()?),
            serde_json::Value::Object(o) => o.get(seg),
            _ => None,
        })
    }

    /// A naive reading of a matcher against a recorded response, for checking the recorded
    /// responses against the rules (the engine has its own).
    fn holds(m: &super::Matcher, resp: &toml::Table) -> bool {
        let status = resp["status"].as_integer().unwrap() as u16;
        let body = resp.get("body").and_then(|b| b.as_str()).unwrap_or("");
        let headers = resp.get("headers").and_then(|h| h.as_table());
        if !m.status.is_empty() && !m.status.contains(&status) {
            return false;
        }
        if !m.json.is_empty() {
            let Ok(doc) = serde_json::from_str::<serde_json::Value>(body) else {
                return false;
            };
            for (path, want) in &m.json {
                let got = json_at(&doc, path);
                let ok = match (want, got) {
                    (super::JsonValue::Present, Some(v)) => !v.is_null(),
                    (super::JsonValue::String(s), Some(serde_json::Value::String(g))) => s == g,
                    (super::JsonValue::Bool(b), Some(serde_json::Value::Bool(g))) => b == g,
                    (super::JsonValue::Integer(i), Some(serde_json::Value::Number(g))) => {
                        g.as_i64() == Some(*i)
                    }
                    _ => false,
                };
                if !ok {
                    return false;
                }
            }
        }
        for (name, sub) in &m.headers {
            let found = headers.and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.as_str())
            });
            if !found.is_some_and(|v| v.contains(sub.as_str())) {
                return false;
            }
        }
        m.words.iter().all(|w| body.contains(w.as_str()))
    }

    fn verdict(v: &super::ValidateSpec, resp: &toml::Table) -> &'static str {
        if v.live.iter().any(|m| holds(m, resp)) {
            "live"
        } else if v.invalid.iter().any(|m| holds(m, resp)) {
            "invalid"
        } else {
            "unknown"
        }
    }

    /// `keysweep-validate/tests/providers.toml` records how each provider answers; the engine's
    /// tests replay it. It must cover every built-in validator and revocation, and each
    /// recorded answer must get the verdict the file states under the rule's own matchers.
    #[test]
    fn recorded_provider_answers_match_the_builtin_rules() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../keysweep-validate/tests/providers.toml"
        );
        let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let file: toml::Table = src.parse().unwrap_or_else(|e| panic!("{path}: {e}"));
        let rules = crate::RuleSet::builtin();
        let mut seen = std::collections::BTreeSet::new();
        for p in file["provider"].as_array().unwrap() {
            let p = p.as_table().unwrap();
            let id = p["rule"].as_str().unwrap();
            assert!(seen.insert(id.to_string()), "{id} listed twice");
            let rule = rules
                .get(id)
                .unwrap_or_else(|| panic!("{id}: no such rule"));
            match &rule.validate {
                Some(v) => {
                    let live = p["live"].as_table().unwrap();
                    let invalid = p["invalid"].as_table().unwrap();
                    assert_eq!(verdict(v, live), "live", "{id}: recorded live answer");
                    assert_eq!(
                        verdict(v, invalid),
                        p["invalid_verdict"].as_str().unwrap(),
                        "{id}: recorded invalid answer"
                    );
                    assert!(p["expect_in_request"]
                        .as_str()
                        .is_some_and(|s| !s.is_empty()));
                }
                None => assert!(!p.contains_key("live"), "{id} has no validator"),
            }
            match &rule.revoke {
                Some(r) => {
                    let done = p["revoked"].as_table().unwrap();
                    assert!(
                        r.done.iter().any(|m| holds(m, done)),
                        "{id}: revoked answer"
                    );
                }
                None => assert!(!p.contains_key("revoked"), "{id} has no revocation"),
            }
        }
        for rule in rules.rules() {
            let http = rule.validate.as_ref().is_some_and(|v| v.kind == "http");
            if http || rule.revoke.is_some() {
                assert!(seen.contains(&*rule.id), "{}: not in {path}", rule.id);
            }
        }
    }
}
