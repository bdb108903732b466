//! Connection URLs into [`Target`]s.

use crate::{DbKind, Target, TlsMode};
use std::fmt;

/// Why [`Target::from_url`] refused a URL. The message names the part that is wrong and never
/// contains the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    message: String,
}

/// The kinds of [`ParseError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The scheme is not one of the supported databases'.
    UnknownScheme,
    /// A recognised form this crate cannot check, such as `mongodb+srv://`.
    Unsupported,
    /// The URL is malformed: no host, a bad port, bad percent-encoding, ...
    Malformed,
}

impl ParseError {
    fn new(kind: ParseErrorKind, message: impl Into<String>) -> ParseError {
        ParseError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "database URL: {}", self.message)
    }
}

impl std::error::Error for ParseError {}

use ParseErrorKind::{Malformed, Unsupported};

pub(crate) fn parse(url: &[u8]) -> Result<Target, ParseError> {
    let mut url = url.trim_ascii();
    // JDBC URLs are the same after their prefix.
    if url.len() > 5 && url[..5].eq_ignore_ascii_case(b"jdbc:") {
        url = &url[5..];
    }
    let Some(sep) = find(url, b"://") else {
        return Err(ParseError::new(
            ParseErrorKind::UnknownScheme,
            "no `scheme://` at the start",
        ));
    };
    let scheme = String::from_utf8_lossy(&url[..sep]).to_ascii_lowercase();
    let (kind, mut tls) = match scheme.as_str() {
        "postgres" | "postgresql" => (DbKind::Postgres, TlsMode::Prefer),
        "mysql" | "mariadb" => (DbKind::Mysql, TlsMode::Prefer),
        "redis" => (DbKind::Redis, TlsMode::Prefer),
        "rediss" => (DbKind::Redis, TlsMode::Require),
        "mongodb" => (DbKind::Mongodb, TlsMode::Prefer),
        "mongodb+srv" => {
            return Err(ParseError::new(
                Unsupported,
                "mongodb+srv:// is not supported (it needs a DNS SRV lookup); use a mongodb:// URL with the host",
            ))
        }
        _ => {
            return Err(ParseError::new(
                ParseErrorKind::UnknownScheme,
                format!(
                    "{} is not one of postgres, postgresql, mysql, mariadb, redis, rediss, mongodb",
                    shown("scheme", &scheme, |c| c.is_ascii_alphanumeric() || "+.-".contains(c))
                ),
            ))
        }
    };
    let rest = &url[sep + 3..];
    // The user information ends at the last `@` before the query: passwords found in the wild
    // often carry unencoded `@`, `/` or `#`, queries rarely an `@`.
    let query_start = rest.iter().position(|&b| b == b'?').unwrap_or(rest.len());
    let at = rest[..query_start].iter().rposition(|&b| b == b'@');
    let (userinfo, after) = match at {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let authority_end = after
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(after.len());
    let authority = &after[..authority_end];
    let tail = &after[authority_end..];
    let (path, query) = split_path_query(tail);

    let (mut user, mut password) = (None, None);
    if let Some(info) = userinfo {
        let (u, p) = match info.iter().position(|&b| b == b':') {
            Some(c) => (&info[..c], Some(&info[c + 1..])),
            None => (info, None),
        };
        let u = decode(u)
            .ok_or_else(|| ParseError::new(Malformed, "bad percent-encoding in the user name"))?;
        let u = String::from_utf8(u)
            .map_err(|_| ParseError::new(Malformed, "the user name is not UTF-8"))?;
        if !u.is_empty() {
            user = Some(u);
        }
        if let Some(p) = p {
            password = Some(decode(p).ok_or_else(|| {
                ParseError::new(Malformed, "bad percent-encoding in the password")
            })?);
        }
    }

    // MongoDB may list several hosts; the first is checked.
    let first_host = match kind {
        DbKind::Mongodb => authority.split(|&b| b == b',').next().unwrap_or_default(),
        _ => authority,
    };
    let (host, port) = host_port(first_host, kind.default_port())?;

    let mut database = path
        .map(|p| {
            decode(p).ok_or_else(|| ParseError::new(Malformed, "bad percent-encoding in the path"))
        })
        .transpose()?
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .filter(|p| !p.is_empty());

    let sql = matches!(kind, DbKind::Postgres | DbKind::Mysql);
    for (key, raw) in query_pairs(query) {
        let value = String::from_utf8_lossy(&raw).into_owned();
        let value_l = value.to_ascii_lowercase();
        match key.as_str() {
            "sslmode" | "ssl-mode" | "ssl_mode" => {
                tls = match value_l.as_str() {
                    "disable" | "disabled" => TlsMode::Disable,
                    "allow" | "prefer" | "preferred" => TlsMode::Prefer,
                    _ => TlsMode::Require,
                }
            }
            "ssl" | "tls" | "usessl" => {
                tls = match value_l.as_str() {
                    "true" | "1" | "yes" | "required" => TlsMode::Require,
                    _ => TlsMode::Disable,
                }
            }
            "authsource" if kind == DbKind::Mongodb => {
                database = Some(value).filter(|v| !v.is_empty())
            }
            // libpq and the JDBC drivers also take the credentials as parameters.
            "user" | "username" if user.is_none() && sql => user = Some(value),
            "password" if password.is_none() && sql => password = Some(raw),
            "dbname" if kind == DbKind::Postgres => database = Some(value),
            _ => {}
        }
    }
    if kind == DbKind::Mongodb && database.is_none() {
        database = Some("admin".into());
    }
    Ok(Target {
        kind,
        host,
        port,
        user,
        password,
        database,
        tls,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The path after `/` (without it), and the query after `?`, from what follows the authority.
fn split_path_query(tail: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let tail = match tail.iter().position(|&b| b == b'#') {
        Some(h) => &tail[..h],
        None => tail,
    };
    let (path, query) = match tail.iter().position(|&b| b == b'?') {
        Some(q) => (&tail[..q], &tail[q + 1..]),
        None => (tail, &b""[..]),
    };
    (path.strip_prefix(b"/"), query)
}

fn host_port(authority: &[u8], default_port: u16) -> Result<(String, u16), ParseError> {
    let text = std::str::from_utf8(authority)
        .map_err(|_| ParseError::new(Malformed, "the host is not UTF-8"))?;
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| ParseError::new(Malformed, "`[` of an IPv6 host is not closed"))?;
        let after = &rest[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => {
                return Err(ParseError::new(
                    Malformed,
                    "unexpected characters after the IPv6 host",
                ))
            }
        };
        (&rest[..close], port)
    } else {
        match text.rfind(':') {
            Some(c) => (&text[..c], Some(&text[c + 1..])),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(ParseError::new(Malformed, "no host"));
    }
    let host = String::from_utf8(
        decode(host.as_bytes())
            .ok_or_else(|| ParseError::new(Malformed, "bad percent-encoding in the host"))?,
    )
    .map_err(|_| ParseError::new(Malformed, "the host is not UTF-8"))?;
    // Not echoed: a malformed URL may have its password where the host or port should be.
    let host_char = |c: char| c.is_alphanumeric() || "-._%:".contains(c);
    if !host.chars().all(host_char) || (host.contains(':') && !text.starts_with('[')) {
        return Err(ParseError::new(
            Malformed,
            "the host has characters no host name has (an unencoded `@`, `/`, `?` or `#` in the password?)",
        ));
    }
    let port = match port {
        None | Some("") => default_port,
        Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| {
            ParseError::new(
                Malformed,
                format!(
                    "{} is not a number from 1 to 65535",
                    shown("port", p, |c| c.is_ascii_digit())
                ),
            )
        })?,
    };
    Ok((host, port))
}

/// "`what` `text`" when `text` is short and made only of `allowed` characters (so it cannot
/// be a password), else just `what`.
fn shown(what: &str, text: &str, allowed: impl Fn(char) -> bool) -> String {
    if text.len() <= 20 && text.chars().all(allowed) {
        format!("{what} `{text}`")
    } else {
        format!("the {what}")
    }
}

/// The query's keys (lowercase text) and values (percent-decoded bytes).
fn query_pairs(query: &[u8]) -> impl Iterator<Item = (String, Vec<u8>)> + '_ {
    query
        .split(|&b| b == b'&' || b == b';')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = match kv.iter().position(|&b| b == b'=') {
                Some(e) => (&kv[..e], &kv[e + 1..]),
                None => (kv, &b""[..]),
            };
            let bytes = |s: &[u8]| decode(s).unwrap_or_else(|| s.to_vec());
            (
                String::from_utf8_lossy(&bytes(k)).to_ascii_lowercase(),
                bytes(v),
            )
        })
}

/// Percent-decoding; `None` on a `%` not followed by two hex digits.
fn decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            let hi = (hex[0] as char).to_digit(16)?;
            let lo = (hex[1] as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(url: &str) -> Target {
        parse(url.as_bytes()).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn schemes_and_default_ports() {
        let table = [
            ("postgres://u:p@h", DbKind::Postgres, 5432),
            ("postgresql://u:p@h", DbKind::Postgres, 5432),
            ("mysql://u:p@h", DbKind::Mysql, 3306),
            ("mariadb://u:p@h", DbKind::Mysql, 3306),
            ("redis://u:p@h", DbKind::Redis, 6379),
            ("rediss://u:p@h", DbKind::Redis, 6379),
            ("mongodb://u:p@h", DbKind::Mongodb, 27017),
            ("MySQL://u:p@h:3307", DbKind::Mysql, 3307),
        ];
        for (url, kind, port) in table {
            let target = t(url);
            assert_eq!(
                (target.kind, target.port, target.host.as_str()),
                (kind, port, "h"),
                "{url}"
            );
        }
        assert_eq!(t("rediss://h").tls, TlsMode::Require);
        assert_eq!(t("redis://h").tls, TlsMode::Prefer);
    }

    #[test]
    fn user_password_and_database() {
        let target = t(
            "postgresql://app%2Duser:p%40ss%3Aw%2Fd@db.example.com:6543/my%20db?sslmode=disable",
        );
        assert_eq!(target.user.as_deref(), Some("app-user"));
        assert_eq!(target.password.as_deref(), Some(&b"p@ss:w/d"[..]));
        assert_eq!(target.database.as_deref(), Some("my db"));
        assert_eq!(target.tls, TlsMode::Disable);

        // Unencoded `@` and `/` in a password, as found in the wild.
        let target = t("mysql://root:a@b/c@10.0.0.5/shop");
        assert_eq!(target.password.as_deref(), Some(&b"a@b/c"[..]));
        assert_eq!(
            (target.host.as_str(), target.database.as_deref()),
            ("10.0.0.5", Some("shop"))
        );

        // Redis: empty user, password only; database number kept.
        let target = t("redis://:s3cret@cache:6380/2");
        assert_eq!(
            (target.user, target.password.as_deref()),
            (None, Some(&b"s3cret"[..]))
        );
        assert_eq!(target.database.as_deref(), Some("2"));

        let target = t("postgres://h/db");
        assert_eq!((target.user, target.password), (None, None));
    }

    #[test]
    fn jdbc_urls_and_credentials_in_the_query() {
        let target =
            t("jdbc:mysql://db.example.com:3307/shop?user=app&password=p%26w%40d&useSSL=false");
        assert_eq!((target.kind, target.port), (DbKind::Mysql, 3307));
        assert_eq!(target.user.as_deref(), Some("app"));
        assert_eq!(target.password.as_deref(), Some(&b"p&w@d"[..]));
        assert_eq!(target.tls, TlsMode::Disable);
        let target = t("JDBC:postgresql://h/db?username=app&password=pw&sslmode=require");
        assert_eq!(
            (target.user.as_deref(), target.password.as_deref()),
            (Some("app"), Some(&b"pw"[..]))
        );
        // The user information wins over the query.
        let target = t("postgres://a:b@h/db?user=c&password=d");
        assert_eq!(
            (target.user.as_deref(), target.password.as_deref()),
            (Some("a"), Some(&b"b"[..]))
        );
        // Redis and MongoDB take no credentials in the query.
        assert_eq!(t("redis://h/?password=x").password, None);
        let err = parse(b"jdbc:sqlserver://h;password=sekrit").unwrap_err();
        assert!(err.to_string().contains("scheme `sqlserver`"), "{err}");
    }

    #[test]
    fn ipv6_hosts_and_queries() {
        let target = t("postgres://u:p@[::1]:5433/d?sslmode=require");
        assert_eq!(
            (target.host.as_str(), target.port, target.tls),
            ("::1", 5433, TlsMode::Require)
        );
        let target = t("mongodb://u:p@h1:27018,h2:27019/app?replicaSet=rs0&authSource=admin2");
        assert_eq!((target.host.as_str(), target.port), ("h1", 27018));
        assert_eq!(target.database.as_deref(), Some("admin2"));
        assert_eq!(t("mongodb://u:p@h/app").database.as_deref(), Some("app"));
        assert_eq!(t("mongodb://u:p@h").database.as_deref(), Some("admin"));
        assert_eq!(t("mongodb://u:p@h/?tls=true").tls, TlsMode::Require);
    }

    #[test]
    fn errors_name_the_part_and_never_the_password() {
        let table = [
            (
                "mongodb+srv://u:sekrit@c.example.net/",
                ParseErrorKind::Unsupported,
                "mongodb+srv",
            ),
            (
                "ftp://u:sekrit@h",
                ParseErrorKind::UnknownScheme,
                "scheme `ftp`",
            ),
            (
                "u:sekrit//x://h",
                ParseErrorKind::UnknownScheme,
                "the scheme is not",
            ),
            (
                "postgres://u:sekrit",
                ParseErrorKind::Malformed,
                "the port is not a number",
            ),
            (
                "postgres://sek!rit/db",
                ParseErrorKind::Malformed,
                "no host name has",
            ),
            (
                "postgres://h:1:sekrit/",
                ParseErrorKind::Malformed,
                "no host name has",
            ),
            (
                "postgres://sekrit:1@h:1:2/",
                ParseErrorKind::Malformed,
                "no host name has",
            ),
            ("u:sekrit@h", ParseErrorKind::UnknownScheme, "scheme"),
            (
                "postgres://u:sekrit@h:99999/",
                ParseErrorKind::Malformed,
                "port `99999`",
            ),
            (
                "postgres://u:sekrit@h:0/",
                ParseErrorKind::Malformed,
                "port `0`",
            ),
            (
                "postgres://u:sekrit@/db",
                ParseErrorKind::Malformed,
                "no host",
            ),
            (
                "postgres://u:sek%zzrit@h/db",
                ParseErrorKind::Malformed,
                "password",
            ),
            (
                "postgres://u:sekrit@[::1/db",
                ParseErrorKind::Malformed,
                "IPv6",
            ),
        ];
        for (url, kind, words) in table {
            let err = parse(url.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), kind, "{url}");
            let msg = err.to_string();
            assert!(msg.contains(words), "{url}: {msg}");
            assert!(
                !msg.contains("sekrit") && !msg.contains("sek%zz"),
                "{url}: {msg}"
            );
        }
    }
}
