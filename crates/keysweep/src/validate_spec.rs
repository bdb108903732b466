//! How to check a finding against its provider, as data in a rule file (`[rule.validate]`)
//! and how to revoke it (`[rule.revoke]`).
//!
//! The core only parses and carries these: it does no I/O. The `keysweep-validate` crate
//! renders the templates, sends the requests and applies the matchers; it also owns the
//! template language (`{{ secret }}`, `{{ key_id ~ ':' ~ secret | base64 }}`), so template
//! syntax is checked there (`keysweep rules check` does both).

use toml::{Table, Value};

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

pub(crate) fn parse_validate(v: &Value) -> Result<ValidateSpec, String> {
    let Value::Table(t) = v else {
        return Err("must be a table".into());
    };
    known(t, VALIDATE_FIELDS)?;
    let kind = match t.get("kind") {
        None => "http".to_string(),
        Some(Value::String(s)) if valid_kind(s) => s.clone(),
        Some(_) => {
            return Err("`kind` must be a lowercase name such as \"http\" or \"aws\"".into())
        }
    };
    let request = if kind == "http" {
        Some(parse_request(t)?)
    } else {
        for f in ["method", "url", "headers", "body"] {
            if t.contains_key(f) {
                return Err(format!(
                    "`{f}` is only for kind = \"http\" (this is {kind:?})"
                ));
            }
        }
        None
    };
    let live = matchers(t.get("live"), "live")?;
    let invalid = matchers(t.get("invalid"), "invalid")?;
    if kind == "http" && live.is_empty() {
        return Err("an http validator needs at least one `live` matcher".into());
    }
    Ok(ValidateSpec {
        kind,
        request,
        live,
        invalid,
        identity: string_map(t.get("identity"), "identity")?,
        options: string_map(t.get("options"), "options")?,
    })
}

pub(crate) fn parse_revoke(v: &Value) -> Result<RevokeSpec, String> {
    let Value::Table(t) = v else {
        return Err("must be a table".into());
    };
    known(t, REVOKE_FIELDS)?;
    let done = matchers(t.get("done"), "done")?;
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

fn known(t: &Table, fields: &[&str]) -> Result<(), String> {
    for k in t.keys() {
        if !fields.contains(&k.as_str()) {
            return Err(format!(
                "unknown field `{k}` (known: {})",
                fields.join(", ")
            ));
        }
    }
    Ok(())
}

fn parse_request(t: &Table) -> Result<RequestSpec, String> {
    let method = match t.get("method") {
        None => "GET".to_string(),
        Some(Value::String(m)) if METHODS.contains(&m.as_str()) => m.clone(),
        Some(_) => return Err(format!("`method` must be one of {}", METHODS.join(", "))),
    };
    let url = match t.get("url") {
        Some(Value::String(u)) => u.clone(),
        Some(_) => return Err("`url` must be a string".into()),
        None => return Err("`url` is required".into()),
    };
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("{{")) {
        return Err(format!(
            "`url` {url:?} must start with https:// (or a template)"
        ));
    }
    let body = match t.get("body") {
        None => None,
        Some(Value::String(b)) => Some(b.clone()),
        Some(_) => return Err("`body` must be a string".into()),
    };
    Ok(RequestSpec {
        method,
        url,
        headers: string_map(t.get("headers"), "headers")?,
        body,
    })
}

fn string_map(v: Option<&Value>, field: &str) -> Result<Vec<(String, String)>, String> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let Value::Table(t) = v else {
        return Err(format!("`{field}` must be a table of strings"));
    };
    t.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(format!("`{field}.{k}` must be a string")),
        })
        .collect()
}

fn matchers(v: Option<&Value>, field: &str) -> Result<Vec<Matcher>, String> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Table(_) => vec![v],
        _ => return Err(format!("`{field}` must be a table or an array of tables")),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| parse_matcher(v).map_err(|m| format!("`{field}` #{}: {m}", i + 1)))
        .collect()
}

fn parse_matcher(v: &Value) -> Result<Matcher, String> {
    let Value::Table(t) = v else {
        return Err("must be a table { status, json, headers, words }".into());
    };
    known(t, MATCHER_FIELDS)?;
    let status = match t.get("status") {
        None => Vec::new(),
        Some(Value::Integer(i)) => vec![status_code(*i)?],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::Integer(i) => status_code(*i),
                _ => Err("`status` must be integers".to_string()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`status` must be an integer or an array of them".into()),
    };
    let json = match t.get("json") {
        None => Vec::new(),
        Some(Value::Table(j)) => j
            .iter()
            .map(|(k, v)| {
                let expected = match v {
                    Value::String(s) if s == "*" => JsonValue::Present,
                    Value::String(s) => JsonValue::String(s.clone()),
                    Value::Boolean(b) => JsonValue::Bool(*b),
                    Value::Integer(i) => JsonValue::Integer(*i),
                    _ => return Err(format!("`json.{k}` must be a string, boolean or integer")),
                };
                Ok((k.clone(), expected))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`json` must be a table { path = value }".into()),
    };
    let words = match t.get("words") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err("`words` must be strings".to_string()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`words` must be an array of strings".into()),
    };
    let m = Matcher {
        status,
        json,
        headers: string_map(t.get("headers"), "headers")?,
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
        let t: Table = src.parse().unwrap();
        parse_validate(&Value::Table(t))
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
}
