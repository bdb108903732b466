//! The hook for validators of other protocols (databases): registration, the shared cache,
//! the network policy they are handed, and scrubbing of what they return.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use keysweep_validate::typed::Credential;
use keysweep_validate::{NetPolicy, ProtocolValidator, Status, Validation, Validator};

const RULES: &str = r#"
[[rule]]
id = "test.db"
name = "Test database URL"
description = "A made-up database connection string"
keywords = ["fakedb://"]
pattern = 'fakedb://(?P<user>[a-z]{4,10}):(?P<secret>[A-Za-z0-9]{20})@(?P<host>[a-z0-9.]+)'
parts = ["user", "host"]
[rule.validate]
kind = "fakedb"
options = { port = "5999" }
"#;

/// Resolves the finding's host through the policy and, when allowed, calls it live,
/// carelessly echoing the password in its reason and identity.
struct FakeDb {
    calls: AtomicUsize,
}

impl ProtocolValidator for FakeDb {
    fn kind(&self) -> &'static str {
        "fakedb"
    }

    fn validate(
        &self,
        cred: &Credential<'_>,
        options: &[(String, String)],
        net: &NetPolicy,
    ) -> Validation {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let host = cred
            .parts
            .iter()
            .find(|(n, _)| *n == "host")
            .map(|(_, v)| String::from_utf8_lossy(v))
            .unwrap();
        let port: u16 = options
            .iter()
            .find(|(k, _)| k == "port")
            .unwrap()
            .1
            .parse()
            .unwrap();
        if let Err(v) = net.resolve(&host, port) {
            return v;
        }
        let pw = String::from_utf8_lossy(cred.secret).into_owned();
        Validation {
            status: Status::Live,
            reason: format!("authenticated with {pw}"),
            identity: vec![("user".into(), format!("admin ({pw})"))],
        }
    }
}

#[test]
fn protocol_validators_are_registered_cached_guarded_and_scrubbed() {
    let rules = keysweep::RuleSet::from_toml(RULES, "protocol.rs").unwrap();
    let rule = rules.get("test.db").unwrap();
    keysweep_validate::check_rule(rule).unwrap();
    let pw = support::token("", 20, 1);
    let f = support::find(
        &rules,
        &format!("DATABASE_URL=fakedb://admin:{pw}@localhost\n"),
        "test.db",
    )
    .remove(0);

    let db = Arc::new(FakeDb {
        calls: AtomicUsize::new(0),
    });
    let guarded = Validator::builder().protocol(db.clone()).build().unwrap();
    let r = guarded.validate(rule, &f);
    assert_eq!(
        (r.status, r.reason.as_str()),
        (
            Status::Error,
            "internal address refused (use --allow-internal)"
        )
    );

    let open = Validator::builder()
        .protocol(db.clone())
        .allow_internal(true)
        .build()
        .unwrap();
    let r = open.validate(rule, &f);
    assert_eq!(r.status, Status::Live);
    assert_eq!(r.reason, "authenticated with [REDACTED]");
    assert_eq!(
        r.identity,
        vec![("user".to_string(), "[REDACTED] ([REDACTED])".to_string())]
    );
    assert!(!format!("{r:?}").contains(&pw));
    open.validate(rule, &f);
    assert_eq!(
        db.calls.load(Ordering::SeqCst),
        2,
        "one call per validator: the second was cached"
    );
    assert_eq!(open.stats().cache_hits, 1);
    assert_eq!(open.stats().requests, 0, "no HTTP");

    // Without the registration, the kind has no validator.
    let none = Validator::builder().build().unwrap().validate(rule, &f);
    assert_eq!(none.reason, "no validator for kind fakedb");
}
