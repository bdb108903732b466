//! The database validators: `kind = "postgres" | "mysql" | "redis" | "mongodb"`, through
//! [`keysweep_dbcheck`] (connect, authenticate, run nothing, disconnect).
//!
//! The credential is the rule's `connection` part: the whole connection URL (the secret is
//! only its password).

use std::time::Instant;

use keysweep_dbcheck::{check, DbKind, Options, Outcome, Target};

use crate::protocol::{NetPolicy, ProtocolValidator};
use crate::typed::Credential;
use crate::Validation;

/// A database validator of one kind.
#[derive(Debug)]
pub struct Database(DbKind);

/// The four database validators, registered by default on every [`Validator`](crate::Validator).
pub fn databases() -> [Database; 4] {
    [
        Database(DbKind::Postgres),
        Database(DbKind::Mysql),
        Database(DbKind::Redis),
        Database(DbKind::Mongodb),
    ]
}

impl ProtocolValidator for Database {
    fn kind(&self) -> &'static str {
        match self.0 {
            DbKind::Postgres => "postgres",
            DbKind::Mysql => "mysql",
            DbKind::Redis => "redis",
            DbKind::Mongodb => "mongodb",
        }
    }

    fn validate(
        &self,
        cred: &Credential<'_>,
        _options: &[(String, String)],
        net: &NetPolicy,
    ) -> Validation {
        let Some((_, url)) = cred.parts.iter().find(|(n, _)| *n == "connection") else {
            return Validation::unknown("missing part connection");
        };
        let url = without_driver(url);
        let target = match Target::from_url(&url) {
            Ok(t) => t,
            // The parse error never repeats the URL.
            Err(e) => return Validation::unknown(format!("{} URL not checked: {e}", self.kind())),
        };
        if target.kind != self.0 {
            return Validation::unknown(format!(
                "a {} URL under a {} rule",
                target.kind.name(),
                self.kind()
            ));
        }
        let opts = Options {
            timeout: net.deadline().saturating_duration_since(Instant::now()),
            allow_internal: net.allow_internal(),
        };
        let (status, text) = match check(&target, &opts) {
            Outcome::Live { detail } => (crate::Status::Live, detail),
            Outcome::Invalid { reason } => (crate::Status::Invalid, reason),
            Outcome::Error { reason } => (crate::Status::Error, reason),
            Outcome::Unknown { reason } => (crate::Status::Unknown, reason),
        };
        let mut identity = Vec::new();
        if status == crate::Status::Live {
            if let Some(user) = &target.user {
                identity.push(("user".to_string(), user.clone()));
            }
            identity.push((
                "account".to_string(),
                format!("{}:{}", target.host, target.port),
            ));
        }
        Validation {
            status,
            reason: text,
            identity,
        }
    }
}

/// `postgresql+psycopg2://` → `postgresql://`, `mysql+pymysql://` → `mysql://`: SQLAlchemy's
/// driver suffix names the client library, not the protocol.
fn without_driver(url: &[u8]) -> Vec<u8> {
    let Some(scheme_end) = url.windows(3).position(|w| w == b"://") else {
        return url.to_vec();
    };
    let scheme = &url[..scheme_end];
    match scheme.iter().position(|&b| b == b'+') {
        // `mongodb+srv` is a protocol of its own (and refused as unsupported by the check).
        Some(plus) if !scheme.eq_ignore_ascii_case(b"mongodb+srv") => {
            let mut out = scheme[..plus].to_vec();
            out.extend_from_slice(&url[scheme_end..]);
            out
        }
        _ => url.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_suffixes_are_dropped() {
        assert_eq!(
            without_driver(b"postgresql+psycopg2://u:p@h/db"),
            b"postgresql://u:p@h/db"
        );
        assert_eq!(
            without_driver(b"mongodb+srv://u:p@h"),
            b"mongodb+srv://u:p@h"
        );
        assert_eq!(without_driver(b"redis://:p@h"), b"redis://:p@h");
    }
}
