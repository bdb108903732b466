//! Checks whether database credentials work: connect, authenticate, run nothing, disconnect.
//!
//! A secret scanner that finds `postgres://app:s3cret@db.example.com/app` wants to know whether
//! that password still opens the database. This crate answers with one call, [`check`], which
//! speaks just enough of each server's wire protocol to authenticate and then says goodbye:
//!
//! | [`DbKind`] | URL schemes | Authentication |
//! |---|---|---|
//! | PostgreSQL | `postgres://`, `postgresql://` | protocol v3: trust, cleartext, MD5, SCRAM-SHA-256 (server signature verified) |
//! | MySQL / MariaDB | `mysql://`, `mariadb://` | handshake v10: `mysql_native_password`, `caching_sha2_password` (fast path; full authentication over TLS), auth switch |
//! | Redis | `redis://`, `rediss://` | `AUTH password` or `AUTH user password` (ACL) |
//! | MongoDB | `mongodb://` | OP_MSG `saslStart`/`saslContinue`, SCRAM-SHA-256 (SCRAM-SHA-1 fallback) |
//!
//! Not implemented, and answered [`Outcome::Unknown`] with the reason: Kerberos/GSSAPI/SSPI,
//! MariaDB's ed25519 and PAM plugins, `caching_sha2_password` full authentication without TLS
//! (it needs RSA), MongoDB's X.509/LDAP/AWS mechanisms, `mongodb+srv://` (a [`ParseError`]).
//! Passwords are used as given, without SASLprep (the same for ASCII passwords).
//!
//! Everything is synchronous `std::net` under one overall deadline ([`Options::timeout`]) that
//! bounds the resolution, the connect and every read and write. No query or command beyond
//! authentication is sent. TLS is rustls (see [`TlsMode`]; the server's certificate is not
//! verified, as with libpq's `sslmode=require`).
//!
//! Before connecting, the host is resolved and loopback, private, link-local, shared (CGNAT),
//! multicast, unspecified and cloud metadata addresses are refused unless
//! [`Options::allow_internal`] is set (a name that resolves to both kinds is reached through
//! its public addresses only); the connection goes to the address that was checked, so a second
//! DNS answer cannot redirect it.
//!
//! The password never appears in an [`Outcome`], a [`ParseError`] or the `Debug` output of a
//! [`Target`].
//!
//! ```
//! use keysweep_dbcheck::{check, DbKind, Options, Outcome, Target, TlsMode};
//! use std::time::Duration;
//!
//! let target = Target::from_url(b"postgresql://app:s%40cret@db.internal.example:6432/orders")?;
//! assert_eq!(target.kind, DbKind::Postgres);
//! assert_eq!(target.user.as_deref(), Some("app"));
//! assert_eq!(target.password.as_deref(), Some(&b"s@cret"[..]));
//! assert_eq!((target.host.as_str(), target.port), ("db.internal.example", 6432));
//! assert_eq!(target.database.as_deref(), Some("orders"));
//! assert!(!format!("{target:?}").contains("s@cret"));
//!
//! // 127.0.0.1 is refused unless allow_internal is set: nothing is sent.
//! let local = Target::from_url(b"redis://:hunter2@127.0.0.1:1/")?;
//! let opts = Options { timeout: Duration::from_secs(5), allow_internal: false };
//! match check(&local, &opts) {
//!     Outcome::Error { reason } => assert!(reason.contains("internal address refused")),
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), keysweep_dbcheck::ParseError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod bson;
mod mongodb;
mod mysql;
mod net;
mod postgres;
mod redis;
mod scram;
mod tls;
mod url;

use std::fmt;
use std::time::Duration;

pub use url::{ParseError, ParseErrorKind};

/// The kind of database server a [`Target`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DbKind {
    /// PostgreSQL (and servers speaking its protocol v3).
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// Redis (and servers speaking RESP with `AUTH`).
    Redis,
    /// MongoDB.
    Mongodb,
}

impl DbKind {
    /// The server's usual TCP port, used when a URL names none.
    ///
    /// ```
    /// assert_eq!(keysweep_dbcheck::DbKind::Postgres.default_port(), 5432);
    /// ```
    pub fn default_port(self) -> u16 {
        match self {
            DbKind::Postgres => 5432,
            DbKind::Mysql => 3306,
            DbKind::Redis => 6379,
            DbKind::Mongodb => 27017,
        }
    }

    /// A short lowercase name: `postgres`, `mysql`, `redis`, `mongodb`.
    pub fn name(self) -> &'static str {
        match self {
            DbKind::Postgres => "postgres",
            DbKind::Mysql => "mysql",
            DbKind::Redis => "redis",
            DbKind::Mongodb => "mongodb",
        }
    }
}

/// Whether the connection should use TLS.
///
/// PostgreSQL and MySQL negotiate TLS on the connection (SSLRequest, the `CLIENT_SSL`
/// capability); Redis and MongoDB have no negotiation, so only [`TlsMode::Require`] starts them
/// in TLS. The server's certificate is not verified (as with libpq's `sslmode=require`): the
/// traffic is encrypted, the server is not authenticated by its certificate. A live check over
/// TLS says so in its detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plaintext only (`sslmode=disable`).
    Disable,
    /// TLS if the server offers it (PostgreSQL, MySQL), plaintext otherwise: the default of
    /// their clients. Redis and MongoDB: plaintext.
    #[default]
    Prefer,
    /// TLS or nothing (`sslmode=require`, `rediss://`, `tls=true`, ...): a server without TLS
    /// gives [`Outcome::Unknown`].
    Require,
}

/// What to check: a server and the credentials to try on it.
///
/// Built from a connection URL with [`Target::from_url`], or field by field. `Debug` shows
/// every field except the password, which it redacts.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// The kind of server.
    pub kind: DbKind,
    /// Host name or IP address (an IPv6 address without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name; Redis without a user authenticates as its default user.
    pub user: Option<String>,
    /// Password, as bytes (percent-decoded from a URL).
    pub password: Option<Vec<u8>>,
    /// PostgreSQL and MySQL: the database to open (PostgreSQL's default is the user name);
    /// MongoDB: the authentication database (`authSource`, else the URL path, else `admin`);
    /// Redis: the database number from the URL path, informative only.
    pub database: Option<String>,
    /// Whether TLS is wanted.
    pub tls: TlsMode,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("database", &self.database)
            .field("tls", &self.tls)
            .finish()
    }
}

impl Target {
    /// Parses a connection URL: `postgres://`, `postgresql://`, `mysql://`, `mariadb://`,
    /// `redis://`, `rediss://` or `mongodb://`, as
    /// `scheme://[user[:password]@]host[:port][/database][?query]`.
    ///
    /// A `jdbc:` prefix is ignored. User and password are percent-decoded; PostgreSQL and
    /// MySQL URLs may carry them as `user` (or `username`) and `password` query parameters
    /// instead. A missing port is the kind's [default](DbKind::default_port). The query may set
    /// TLS (`sslmode`, `ssl-mode`, `ssl`, `tls`, `useSSL`) and, for MongoDB, `authSource`. A password containing an unencoded `@` is read up
    /// to the last `@` before the query. MongoDB URLs with several hosts use the first;
    /// `mongodb+srv://` needs a DNS SRV lookup and is refused with
    /// [`ParseErrorKind::Unsupported`].
    ///
    /// ```
    /// use keysweep_dbcheck::{DbKind, ParseErrorKind, Target, TlsMode};
    ///
    /// let t = Target::from_url(b"rediss://default:pa%3Ass@cache.example.com")?;
    /// assert_eq!((t.kind, t.port, t.tls), (DbKind::Redis, 6379, TlsMode::Require));
    /// assert_eq!(t.password.as_deref(), Some(&b"pa:ss"[..]));
    ///
    /// let srv = Target::from_url(b"mongodb+srv://u:p@cluster0.example.net/").unwrap_err();
    /// assert_eq!(srv.kind(), ParseErrorKind::Unsupported);
    /// # Ok::<(), keysweep_dbcheck::ParseError>(())
    /// ```
    pub fn from_url(url: &[u8]) -> Result<Target, ParseError> {
        url::parse(url)
    }
}

/// How to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The deadline for the whole check: resolution, the connect and every read and write share
    /// it.
    pub timeout: Duration,
    /// Allow loopback, private, link-local and metadata addresses (for self-hosted databases
    /// and tests).
    pub allow_internal: bool,
}

impl Default for Options {
    /// A 10 second deadline; internal addresses refused.
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(10),
            allow_internal: false,
        }
    }
}

/// What a [`check`] found out. No variant ever contains the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server accepted the credentials. `detail` says what is known (server version, user,
    /// and caveats such as a missing database after a successful authentication).
    Live {
        /// What the server told about itself and the session.
        detail: String,
    },
    /// The server rejected the credentials (wrong password or unknown user).
    Invalid {
        /// The server's answer, e.g. `28P01 password authentication failed for user "app"`.
        reason: String,
    },
    /// The check could not be made: refused address, no connection, timeout, broken protocol.
    Error {
        /// What failed and where.
        reason: String,
    },
    /// The server answered but the answer does not tell: an authentication method not
    /// implemented, a server that asks no password (Redis without one, PostgreSQL `trust`: open
    /// to anyone, the password unchecked), a host or plaintext connection not allowed, too many
    /// clients, TLS required and not offered.
    Unknown {
        /// Why the answer is unknown.
        reason: String,
    },
}

impl Outcome {
    /// `live`, `invalid`, `error` or `unknown`.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Live { .. } => "live",
            Outcome::Invalid { .. } => "invalid",
            Outcome::Error { .. } => "error",
            Outcome::Unknown { .. } => "unknown",
        }
    }

    /// The detail or reason.
    pub fn message(&self) -> &str {
        match self {
            Outcome::Live { detail } => detail,
            Outcome::Invalid { reason }
            | Outcome::Error { reason }
            | Outcome::Unknown { reason } => reason,
        }
    }

    fn map_message(self, f: impl FnOnce(String) -> String) -> Outcome {
        match self {
            Outcome::Live { detail } => Outcome::Live { detail: f(detail) },
            Outcome::Invalid { reason } => Outcome::Invalid { reason: f(reason) },
            Outcome::Error { reason } => Outcome::Error { reason: f(reason) },
            Outcome::Unknown { reason } => Outcome::Unknown { reason: f(reason) },
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status(), self.message())
    }
}

/// Connects to `target`, authenticates with its credentials, runs nothing, disconnects, and
/// says whether the credentials work.
///
/// Never panics on what a server sends, and returns by [`Options::timeout`] (plus the key
/// derivation of a SCRAM exchange, bounded by an iteration limit). See the [crate documentation](crate) for what each protocol supports.
///
/// ```
/// use keysweep_dbcheck::{check, DbKind, Options, Outcome, Target, TlsMode};
///
/// let target = Target {
///     kind: DbKind::Redis,
///     host: "10.0.0.7".into(),
///     port: 6380,
///     user: None,
///     password: Some(b"hunter2".to_vec()),
///     database: None,
///     tls: TlsMode::Require,
/// };
/// // A private address: refused before anything is sent.
/// let outcome = check(&target, &Options::default());
/// assert_eq!(outcome.status(), "error");
/// assert_eq!(
///     outcome.message(),
///     "redis 10.0.0.7:6380: internal address refused (use --allow-internal): 10.0.0.7 resolves to 10.0.0.7"
/// );
/// ```
pub fn check(target: &Target, opts: &Options) -> Outcome {
    let outcome = check_unredacted(target, opts);
    let where_ = format!(
        "{} {}",
        target.kind.name(),
        net::display_host(&target.host, target.port)
    );
    outcome.map_message(|m| redact(&format!("{where_}: {m}"), target.password.as_deref()))
}

fn check_unredacted(target: &Target, opts: &Options) -> Outcome {
    let mut conn = match net::Conn::open(&target.host, target.port, opts) {
        Ok(conn) => conn,
        Err(outcome) => return outcome,
    };
    let outcome = match target.kind {
        DbKind::Postgres => postgres::check(&mut conn, target),
        DbKind::Mysql => mysql::check(&mut conn, target),
        DbKind::Redis => redis::check(&mut conn, target),
        DbKind::Mongodb => mongodb::check(&mut conn, target),
    };
    match outcome {
        Outcome::Live { detail } if conn.is_tls() => Outcome::Live {
            detail: format!("{detail}; over TLS (server certificate not verified)"),
        },
        other => other,
    }
}

/// Server text made safe to show: control characters replaced, at most 300 characters, and
/// the password (raw or percent-encoded) replaced by `[redacted]` wherever it occurs.
fn redact(text: &str, password: Option<&[u8]>) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if let Some(pw) = password.filter(|pw| !pw.is_empty()) {
        let raw = String::from_utf8_lossy(pw).into_owned();
        let encoded: String = pw.iter().map(|b| format!("%{b:02X}")).collect();
        for form in [raw, encoded.clone(), encoded.to_lowercase()] {
            if !form.is_empty() {
                out = out.replace(&form, "[redacted]");
            }
        }
    }
    if out.chars().count() > 300 {
        out = out.chars().take(300).collect::<String>() + "...";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_the_password_in_every_form() {
        let pw = b"p@ss w0rd";
        let text = "a p@ss w0rd b %70%40%73%73%20%77%30%72%64 c";
        let out = redact(text, Some(pw));
        assert_eq!(out, "a [redacted] b [redacted] c");
        assert_eq!(redact("x\ny", None), "x y");
        assert_eq!(redact(&"z".repeat(400), None).len(), 303);
    }
}
