//! The engine against a local server that answers like a provider.

mod support;

use std::time::Duration;

use base64::Engine as _;
use keysweep::Finding;
use keysweep_validate::{RevokeOutcome, Status, Validation, Validator, ValidatorBuilder};
use support::{find, rules, token, Reply, Server};

const PROVIDER: &str = "https://api.provider.test";
const AUTH: &str = "https://auth.provider.test";

/// A validator that sends the test rules' requests to `server`, internal addresses allowed
/// (the server is on loopback), no pacing.
fn builder(server: &Server) -> ValidatorBuilder {
    Validator::builder()
        .allow_internal(true)
        .host_interval(Duration::ZERO)
        .origin_override(PROVIDER, &server.origin())
        .origin_override(AUTH, &server.origin())
}

fn validator(server: &Server) -> Validator {
    builder(server).build().unwrap()
}

fn token_finding(i: u64) -> (String, Finding) {
    let t = token("tkn_", 24, i);
    let f = find(&rules(), &format!("API_TOKEN={t}\n"), "test.token").remove(0);
    assert_eq!(f.secret, t.as_bytes());
    (t, f)
}

fn check(v: &Validator, id: &str, f: &Finding) -> Validation {
    let rules = rules();
    v.validate(rules.get(id).unwrap(), f)
}

/// Nothing shown about a validation holds the secret.
fn assert_no_secret(v: &Validation, secret: &str) {
    let shown = [
        v.reason.clone(),
        format!("{v:?}"),
        serde_json::to_string(v).unwrap(),
        v.identity.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    ];
    for s in shown {
        assert!(!s.contains(secret), "the secret leaked into {s:?}");
    }
}

#[test]
fn live_with_identity_and_the_request_as_rendered() {
    let server = Server::start(|_, _| {
        Reply::new(200, r#"{"user":{"login":"octo","teams":["core","infra"]}}"#)
            .header("X-Scopes", "read, write")
    });
    let (t, f) = token_finding(1);
    let v = check(&validator(&server), "test.token", &f);
    assert_eq!(v.status, Status::Live, "{v:?}");
    assert_eq!(v.reason, "HTTP 200: live");
    assert_eq!(
        v.identity,
        vec![
            ("account".to_string(), "octo".to_string()),
            ("scopes".to_string(), "read, write".to_string()),
            ("team".to_string(), "core".to_string()),
            ("teams".to_string(), "core, infra".to_string()),
        ]
    );
    let req = &server.requests()[0];
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/whoami?check=1");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {t}").as_str())
    );
    assert_no_secret(&v, &t);
}

#[test]
fn invalid_by_status_and_by_json() {
    let server = Server::start(|req, _| {
        if req
            .header("authorization")
            .is_some_and(|a| a.ends_with(|c: char| c.is_ascii_uppercase()))
        {
            Reply::new(400, r#"{"error":{"code":"bad_token"}}"#)
        } else {
            Reply::new(401, "no")
        }
    });
    let v = validator(&server);
    let mut seen = (false, false);
    for i in 0..40 {
        let (t, f) = token_finding(i);
        let r = check(&v, "test.token", &f);
        assert_eq!(r.status, Status::Invalid, "{r:?}");
        assert!(
            r.identity.is_empty(),
            "identity is read from live answers only"
        );
        if t.ends_with(|c: char| c.is_ascii_uppercase()) {
            assert_eq!(r.reason, "HTTP 400: invalid");
            seen.0 = true;
        } else {
            assert_eq!(r.reason, "HTTP 401: invalid");
            seen.1 = true;
        }
    }
    assert!(seen.0 && seen.1, "both matchers were exercised");
}

#[test]
fn unknown_when_neither_matcher_holds_and_the_excerpt_is_scrubbed() {
    // The server echoes the credential, raw and as sent.
    let server = Server::start(|req, _| {
        let auth = req.header("authorization").unwrap_or("").to_string();
        Reply::new(
            418,
            format!(
                "teapot; you sent {auth}; token {}",
                auth.trim_start_matches("Bearer ")
            ),
        )
    });
    let (t, f) = token_finding(3);
    let v = check(&validator(&server), "test.token", &f);
    assert_eq!(v.status, Status::Unknown);
    assert!(v.reason.starts_with("HTTP 418: matched neither live nor invalid: teapot; you sent Bearer [REDACTED]; token [REDACTED]"), "{}", v.reason);
    assert_no_secret(&v, &t);
}

#[test]
fn rate_limited_then_live_honours_retry_after() {
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::new(429, "slow down").header("Retry-After", "1")
        } else {
            Reply::new(200, "{}")
        }
    });
    let v = validator(&server);
    let (_, f) = token_finding(4);
    let r = check(&v, "test.token", &f);
    assert_eq!(r.status, Status::Live, "{r:?}");
    assert_eq!(server.count(), 2);
    let s = v.stats();
    assert_eq!((s.requests, s.retries), (2, 1));
}

#[test]
fn a_retry_after_beyond_the_cap_is_not_waited_for() {
    let server = Server::start(|_, _| Reply::new(429, "").header("Retry-After", "3600"));
    let (_, f) = token_finding(5);
    let r = check(&validator(&server), "test.token", &f);
    assert_eq!(r.status, Status::Unknown);
    assert_eq!(r.reason, "rate limited (HTTP 429, retry after 3600s)");
    assert_eq!(server.count(), 1);
}

#[test]
fn server_error_then_live_and_retries_are_bounded() {
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::new(500, "oops")
        } else {
            Reply::new(200, "{}")
        }
    });
    let v = validator(&server);
    let (_, f) = token_finding(6);
    assert_eq!(check(&v, "test.token", &f).status, Status::Live);
    assert_eq!((v.stats().requests, v.stats().retries), (2, 1));

    let always = Server::start(|_, _| Reply::new(503, "down"));
    let v = builder(&always).max_retries(1).build().unwrap();
    let r = check(&v, "test.token", &f);
    assert_eq!(r.status, Status::Unknown);
    assert!(r.reason.starts_with("HTTP 503"), "{}", r.reason);
    assert_eq!(always.count(), 2, "one try and one retry");

    // Not retried: a client error.
    let once = Server::start(|_, _| Reply::new(404, "no"));
    check(&validator(&once), "test.token", &f);
    assert_eq!(once.count(), 1);
}

/// A provider that answers a dead key with a 500 (Mandrill does): the rule's `invalid`
/// matcher decides it, so it is the answer, not a reason to send the secret again. A 500
/// that no matcher decides is still retried; so is a revocation's 500 that is not `done`.
#[test]
fn a_server_error_the_rule_decides_is_not_retried() {
    let rules = keysweep::RuleSet::from_toml(
        r#"
[[rule]]
id = "test.five"
name = "Test key answered with 500"
description = "A made-up provider that says invalid with a 500"
keywords = ["tkn_"]
pattern = '\b(?P<secret>tkn_[A-Za-z0-9]{24})\b'
[rule.validate]
url = "https://api.provider.test/whoami"
headers = { Authorization = "Bearer {{ secret }}" }
live = { status = 200 }
invalid = { status = 500, json = { name = "Invalid_Key" } }
[rule.revoke]
method = "DELETE"
url = "https://api.provider.test/key"
headers = { Authorization = "Bearer {{ secret }}" }
done = { status = 500, json = { name = "Revoked" } }
"#,
        "tests/engine.rs",
    )
    .unwrap();
    let rule = rules.get("test.five").unwrap();
    let t = token("tkn_", 24, 42);
    let f = find(&rules, &format!("API_TOKEN={t}\n"), "test.five").remove(0);

    let dead = Server::start(|_, _| Reply::new(500, r#"{"name":"Invalid_Key"}"#));
    let v = validator(&dead);
    let r = v.validate(rule, &f);
    assert_eq!(r.status, Status::Invalid, "{r:?}");
    assert_eq!((dead.count(), v.stats().retries), (1, 0));

    let other = Server::start(|_, _| Reply::new(500, r#"{"name":"Internal"}"#));
    let v = builder(&other).max_retries(1).build().unwrap();
    assert_eq!(v.validate(rule, &f).status, Status::Unknown);
    assert_eq!(other.count(), 2, "one try and one retry");

    let gone = Server::start(|_, _| Reply::new(500, r#"{"name":"Revoked"}"#));
    let v = validator(&gone);
    assert!(matches!(
        v.revoke(rule, &f, false),
        RevokeOutcome::Revoked { .. }
    ));
    assert_eq!(gone.count(), 1);
    let v = builder(&other).max_retries(1).build().unwrap();
    assert!(matches!(
        v.revoke(rule, &f, false),
        RevokeOutcome::NotRevoked { .. }
    ));
    assert_eq!(other.count(), 4, "the revocation was tried twice");
}

#[test]
fn a_reset_connection_is_retried() {
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::hang_up()
        } else {
            Reply::new(200, "{}")
        }
    });
    let v = validator(&server);
    let (_, f) = token_finding(7);
    let r = check(&v, "test.token", &f);
    assert_eq!(r.status, Status::Live, "{r:?}");
    assert_eq!(v.stats().retries, 1);
}

#[test]
fn slower_than_the_deadline_is_an_error() {
    let server = Server::start(|_, _| Reply::new(200, "{}").delay(Duration::from_secs(3)));
    let v = builder(&server)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (t, f) = token_finding(8);
    let r = check(&v, "test.token", &f);
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(r.reason.contains("timed out"), "{}", r.reason);
    assert_no_secret(&r, &t);
}

#[test]
fn a_closed_port_is_an_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let v = Validator::builder()
        .allow_internal(true)
        .origin_override(PROVIDER, &format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let (t, f) = token_finding(9);
    let r = check(&v, "test.token", &f);
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(
        r.reason.starts_with("request to 127.0.0.1 failed"),
        "{}",
        r.reason
    );
    assert!(
        !r.reason.contains("whoami"),
        "no URL in errors: {}",
        r.reason
    );
    assert_no_secret(&r, &t);
}

#[test]
fn redirects_are_not_followed() {
    let server = Server::start(|req, _| {
        if req.path.starts_with("/whoami") {
            // A redirect whose host holds the credential must not show it either.
            let t = req
                .header("authorization")
                .unwrap()
                .trim_start_matches("Bearer ")
                .to_lowercase();
            Reply::new(302, "").header("Location", &format!("http://{t}.elsewhere.test/next"))
        } else {
            Reply::new(200, "{}")
        }
    });
    let (t, f) = token_finding(10);
    let r = check(&validator(&server), "test.token", &f);
    assert_eq!(r.status, Status::Unknown);
    assert_eq!(
        r.reason,
        "HTTP 302: redirected to [REDACTED].elsewhere.test (not followed)"
    );
    assert_eq!(server.count(), 1, "the Location was not requested");
    assert_no_secret(&r, &t.to_lowercase());

    let relative = Server::start(|_, _| Reply::new(301, "").header("Location", "/moved"));
    let r = check(&validator(&relative), "test.token", &f);
    assert_eq!(r.reason, "HTTP 301: redirected to 127.0.0.1 (not followed)");
    assert_eq!(relative.count(), 1);
}

#[test]
fn oversized_answers_are_not_read() {
    let big = Server::start(|_, _| Reply::new(200, vec![b'x'; 2 << 20]));
    let (_, f) = token_finding(11);
    let r = check(&validator(&big), "test.token", &f);
    assert_eq!(
        (r.status, r.reason.as_str()),
        (Status::Unknown, "response too large (over 1048576 bytes)")
    );

    // Without a Content-Length, reading stops at the cap.
    let stream = Server::start(|_, _| Reply::new(200, vec![b'x'; 5000]).no_length());
    let v = builder(&stream).max_response_bytes(1000).build().unwrap();
    let r = check(&v, "test.token", &f);
    assert_eq!(
        (r.status, r.reason.as_str()),
        (Status::Unknown, "response too large (over 1000 bytes)")
    );
    // Under the cap, it is read.
    let v = builder(&stream).max_response_bytes(5000).build().unwrap();
    assert_eq!(check(&v, "test.token", &f).status, Status::Live);
}

#[test]
fn the_ssrf_guard_refuses_internal_addresses() {
    let server = Server::start(|_, _| Reply::new(200, "{}"));
    let (t, f) = token_finding(12);
    let refused = "internal address refused (use --allow-internal)";
    for origin in [
        server.origin(),
        format!("http://localhost:{}", server.addr.port()),
    ] {
        let v = Validator::builder()
            .origin_override(PROVIDER, &origin)
            .build()
            .unwrap();
        let r = check(&v, "test.token", &f);
        assert_eq!(
            (r.status, r.reason.as_str()),
            (Status::Error, refused),
            "{origin}"
        );
        assert_eq!(v.stats().refused, 1);
        assert_no_secret(&r, &t);
    }
    for origin in [
        "http://[::1]:9",
        "http://169.254.169.254",
        "http://10.0.0.1",
        "http://[::ffff:127.0.0.1]:9",
    ] {
        let v = Validator::builder()
            .origin_override(PROVIDER, origin)
            .build()
            .unwrap();
        let r = check(&v, "test.token", &f);
        assert_eq!(
            (r.status, r.reason.as_str()),
            (Status::Error, refused),
            "{origin}"
        );
    }
    assert_eq!(server.count(), 0, "nothing reached the server");

    for origin in [
        server.origin(),
        format!("http://localhost:{}", server.addr.port()),
    ] {
        let v = Validator::builder()
            .allow_internal(true)
            .origin_override(PROVIDER, &origin)
            .build()
            .unwrap();
        let r = check(&v, "test.token", &f);
        assert_eq!(r.status, Status::Live, "{origin}: {r:?}");
    }
    assert_eq!(server.count(), 2);
}

#[test]
fn one_request_per_credential_across_threads() {
    let server = Server::start(|_, _| Reply::new(200, "{}").delay(Duration::from_millis(100)));
    let v = builder(&server).concurrency(8).build().unwrap();
    let (_, f) = token_finding(13);
    let rules = rules();
    let rule = rules.get("test.token").unwrap();
    let findings = vec![f; 50];
    let items: Vec<_> = findings.iter().map(|f| (rule, f)).collect();
    let out = v.validate_all(&items);
    assert_eq!(out.len(), 50);
    assert!(out.iter().all(|r| r.status == Status::Live));
    assert_eq!(server.count(), 1);
    let s = v.stats();
    assert_eq!((s.requests, s.checked, s.cache_hits), (1, 1, 49));
}

#[test]
fn no_cross_rule_mixing() {
    // One rule's endpoint says live, the other's says no.
    let server = Server::start(|req, _| {
        if req.path.contains("check") {
            Reply::new(200, "{}")
        } else {
            Reply::new(401, "")
        }
    });
    let v = validator(&server);
    let (_, f) = token_finding(14);
    let a = check(&v, "test.token", &f);
    let b = check(&v, "test.token.twin", &f);
    assert_eq!(a.status, Status::Live);
    assert_eq!(
        b.status,
        Status::Unknown,
        "the twin rule has no invalid matcher: {b:?}"
    );
    assert_eq!(server.count(), 2);
    // And each is cached on its own.
    check(&v, "test.token", &f);
    check(&v, "test.token.twin", &f);
    assert_eq!(server.count(), 2);
}

#[test]
fn validate_all_keeps_the_order() {
    let server = Server::start(|req, _| {
        if req
            .header("authorization")
            .unwrap()
            .ends_with(|c: char| c.is_ascii_uppercase())
        {
            Reply::new(200, "{}")
        } else {
            Reply::new(401, "")
        }
    });
    let v = validator(&server);
    let rules = rules();
    let rule = rules.get("test.token").unwrap();
    let found: Vec<(String, Finding)> = (0..30).map(token_finding).collect();
    let items: Vec<_> = found.iter().map(|(_, f)| (rule, f)).collect();
    let out = v.validate_all(&items);
    for ((t, _), r) in found.iter().zip(&out) {
        let want = if t.ends_with(|c: char| c.is_ascii_uppercase()) {
            Status::Live
        } else {
            Status::Invalid
        };
        assert_eq!(r.status, want);
    }
}

#[test]
fn unknown_kinds_and_rules_without_validators() {
    let rules = rules();
    let v = Validator::builder().build().unwrap();
    let t = token("ukn_", 24, 1);
    let f = find(&rules, &format!("K={t}\n"), "test.unknown_kind").remove(0);
    let r = v.validate(rules.get("test.unknown_kind").unwrap(), &f);
    assert_eq!(
        (r.status, r.reason.as_str()),
        (Status::Unknown, "no validator for kind carrier-pigeon")
    );

    let (_, f) = token_finding(15);
    let bare = keysweep::RuleSet::builtin();
    let rule = bare.rules().iter().find(|r| r.validate.is_none()).unwrap();
    let r = v.validate(rule, &f);
    assert_eq!(r.status, Status::Unknown);
    assert!(r.reason.ends_with("has no validator"), "{}", r.reason);
    assert_eq!(v.stats().requests, 0);
}

fn account(user: Option<&str>, i: u64) -> (String, Finding) {
    let secret = token("acct_", 20, i);
    let text = match user {
        Some(u) => format!("login {u}={secret}\n"),
        None => format!("login {secret}\n"),
    };
    (secret, find(&rules(), &text, "test.account").remove(0))
}

#[test]
fn templates_render_every_filter() {
    let server = Server::start(|_, _| Reply::new(200, "welcome"));
    let v = validator(&server);
    let (secret, f) = account(Some("alice"), 1);
    assert_eq!(&*f.parts[0].name, "user");
    let r = check(&v, "test.account", &f);
    assert_eq!(r.status, Status::Live, "{r:?}");
    let req = &server.requests()[0];
    let h = |n: &str| req.header(n).unwrap().to_string();
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/login/alice");
    assert_eq!(
        h("authorization"),
        format!("Basic {}", b64.encode(format!("alice:{secret}")))
    );
    assert_eq!(h("x-b64"), "dXNlcjpwYXNz"); // base64("user:pass")
    assert_eq!(h("x-b64url"), "Pz8-YQ"); // "??>a": standard would be "Pz8+YQ=="
    assert_eq!(h("x-url"), "a%20b%2Fc~d_e.f-g%26h");
    assert_eq!(h("x-hex"), "415a");
    // SHA-256("abc"), FIPS 180-2.
    assert_eq!(
        h("x-sha"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    // RFC 4231 test case 2.
    assert_eq!(
        h("x-hmac"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // The piped value is the message, the argument the key.
    {
        use hmac::Mac;
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(b"alice");
        assert_eq!(h("x-hmac-secret"), b64.encode(m.finalize().into_bytes()));
    }
    assert_eq!(h("x-case"), "mixedMIXED");
    let now = h("x-now");
    let fields: Vec<&str> = now.split('|').collect();
    let secs: u64 = fields[0].parse().unwrap();
    assert!(secs > 1_700_000_000);
    assert_eq!(fields[1].len(), 16);
    assert!(
        fields[1].as_bytes()[8] == b'T' && fields[1].ends_with('Z'),
        "{}",
        fields[1]
    );
    assert!(
        fields[2].ends_with(" GMT") && fields[2].as_bytes()[3] == b',',
        "{}",
        fields[2]
    );
    assert_eq!(
        String::from_utf8(req.body.clone()).unwrap(),
        r#"{"user":"alice","note":"a\"b\\c\n"}"#
    );
}

#[test]
fn a_missing_part_is_unknown_and_sends_nothing() {
    let server = Server::start(|_, _| Reply::new(200, "welcome"));
    let v = validator(&server);
    let (_, f) = account(None, 2);
    assert!(f.parts.is_empty());
    let r = check(&v, "test.account", &f);
    assert_eq!(
        (r.status, r.reason.as_str()),
        (Status::Unknown, "missing part user")
    );
    assert_eq!(server.count(), 0);
    let rules = rules();
    let RevokeOutcome::Unsupported { reason } =
        v.revoke(rules.get("test.account").unwrap(), &f, true)
    else {
        panic!()
    };
    assert_eq!(reason, "missing part user");
}

#[test]
fn revocation_dry_run_shows_no_secret_and_sends_nothing() {
    let server = Server::start(|_, _| Reply::new(204, ""));
    let v = validator(&server);
    let (secret, f) = account(Some("bobby"), 3);
    let rules = rules();
    let rule = rules.get("test.account").unwrap();
    let RevokeOutcome::DryRun(req) = v.revoke(rule, &f, true) else {
        panic!()
    };
    assert_eq!(req.method, "DELETE");
    assert_eq!(
        req.url,
        format!("{}/keys/[REDACTED]?sig=[REDACTED]", server.origin())
    );
    assert_eq!(
        req.headers,
        vec![
            ("Accept".to_string(), "application/json".to_string()),
            ("Authorization".to_string(), "Basic [REDACTED]".to_string()),
        ]
    );
    assert_eq!(req.body, r#"{"key":"[REDACTED]"}"#);
    let shown = format!("{req}{req:?}");
    assert!(
        !shown.contains(&secret) && !shown.contains("bobby"),
        "{shown}"
    );
    assert_eq!(server.count(), 0);

    // For real: the request carries the credential, and 204 means revoked.
    let done = v.revoke(rule, &f, false);
    assert_eq!(
        done,
        RevokeOutcome::Revoked {
            reason: "HTTP 204: revoked".into()
        }
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.method, "DELETE");
    assert!(sent.path.starts_with("/keys/bobby?sig="));
    assert_eq!(sent.body, format!(r#"{{"key":"{secret}"}}"#).as_bytes());

    let refusing = Server::start(|req, _| {
        Reply::new(
            400,
            format!("cannot revoke {}", String::from_utf8_lossy(&req.body)),
        )
    });
    let out = validator(&refusing).revoke(rule, &f, false);
    let RevokeOutcome::NotRevoked { reason } = &out else {
        panic!("{out:?}")
    };
    assert!(
        reason.starts_with("HTTP 400: not confirmed as revoked: cannot revoke"),
        "{reason}"
    );
    assert!(!format!("{out:?}").contains(&secret), "{out:?}");
}

#[test]
fn redaction_in_every_outcome() {
    // Each answer echoes the credential wherever it can: body, headers, identity.
    let server = Server::start(|req, n| {
        let auth = req.header("authorization").unwrap_or("").to_string();
        let t = auth.trim_start_matches("Bearer ").to_string();
        let body = format!(r#"{{"user":{{"login":"{t}","teams":["{auth}"]}},"echo":"{t}"}}"#);
        match n % 5 {
            0 => Reply::new(200, body).header("X-Scopes", &t),
            1 => Reply::new(401, body),
            2 => Reply::new(418, body),
            3 => Reply::new(302, "").header("Location", &format!("https://x.test/{t}")),
            _ => Reply::new(200, body).delay(Duration::from_secs(2)),
        }
    });
    let v = builder(&server)
        .timeout(Duration::from_millis(500))
        .max_retries(0)
        .build()
        .unwrap();
    let mut statuses = Vec::new();
    for i in 0..5 {
        let (t, f) = token_finding(100 + i);
        let r = check(&v, "test.token", &f);
        assert_no_secret(&r, &t);
        statuses.push(r.status);
        if r.status == Status::Live {
            assert!(
                r.identity.iter().all(|(_, val)| val.contains("[REDACTED]")),
                "{:?}",
                r.identity
            );
        }
    }
    assert_eq!(
        statuses,
        vec![
            Status::Live,
            Status::Invalid,
            Status::Unknown,
            Status::Unknown,
            Status::Error
        ]
    );
    // The engine's own Debug output holds no secret either.
    let shown = format!("{v:?}");
    for i in 0..5 {
        assert!(!shown.contains(&token("tkn_", 24, 100 + i)));
    }
}

#[test]
fn requests_in_flight_are_bounded() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (n2, p2) = (Arc::clone(&now), Arc::clone(&peak));
    let server = Server::start(move |_, _| {
        let cur = n2.fetch_add(1, Ordering::SeqCst) + 1;
        p2.fetch_max(cur, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        n2.fetch_sub(1, Ordering::SeqCst);
        Reply::new(200, "{}")
    });
    // Four callers at once, one bound of two requests in flight.
    let v = builder(&server).concurrency(2).build().unwrap();
    let rules = rules();
    let rule = rules.get("test.token").unwrap();
    let found: Vec<(String, Finding)> = (200..212).map(token_finding).collect();
    std::thread::scope(|s| {
        for chunk in found.chunks(3) {
            let v = &v;
            s.spawn(move || {
                for (_, f) in chunk {
                    assert_eq!(v.validate(rule, f).status, Status::Live);
                }
            });
        }
    });
    assert_eq!(server.count(), 12);
    assert!(
        peak.load(Ordering::SeqCst) <= 2,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
}

#[test]
fn requests_to_one_host_are_paced() {
    use std::sync::{Arc, Mutex};
    use std::time::Instant;
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let a2 = Arc::clone(&arrivals);
    let server = Server::start(move |_, _| {
        a2.lock().unwrap().push(Instant::now());
        Reply::new(200, "{}")
    });
    let v = builder(&server)
        .host_interval(Duration::from_millis(400))
        .build()
        .unwrap();
    let rules = rules();
    let rule = rules.get("test.token").unwrap();
    let found: Vec<(String, Finding)> = (300..303).map(token_finding).collect();
    let items: Vec<_> = found.iter().map(|(_, f)| (rule, f)).collect();
    v.validate_all(&items);
    let mut t = arrivals.lock().unwrap().clone();
    t.sort();
    assert_eq!(t.len(), 3);
    // Starts are 400 ms apart; arrivals may differ by connection latency, hence the slack.
    for w in t.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(250),
            "{:?}",
            w[1] - w[0]
        );
    }
}

#[test]
fn the_answer_store_answers_the_next_run_without_a_request() {
    let server = Server::start(|req, _| {
        if req
            .header("authorization")
            .is_some_and(|a| a.ends_with(|c: char| c.is_ascii_uppercase()))
        {
            Reply::new(503, "busy")
        } else {
            Reply::new(200, r#"{"user":{"login":"octo"}}"#)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answers.redb");
    let day = Duration::from_secs(86_400);
    let live = (1..40)
        .map(token_finding)
        .find(|(t, _)| !t.ends_with(|c: char| c.is_ascii_uppercase()))
        .unwrap();
    let failing = (1..400)
        .map(token_finding)
        .find(|(t, _)| t.ends_with(|c: char| c.is_ascii_uppercase()))
        .unwrap();

    // First run: asks, and keeps the live answer (not the error).
    let v = builder(&server)
        .max_retries(0)
        .answer_store(keysweep_validate::AnswerStore::open(&path, day).unwrap())
        .build()
        .unwrap();
    assert_eq!(check(&v, "test.token", &live.1).status, Status::Live);
    let st = check(&v, "test.token", &failing.1).status;
    assert!(matches!(st, Status::Unknown | Status::Error), "{st:?}");
    assert_eq!(v.stats().requests, 2);
    drop(v);
    let raw = std::fs::read(&path).unwrap();
    for secret in [&live.0, &failing.0] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the store holds a secret in plain text"
        );
    }

    // Second run: the live answer comes from the store; the error is asked again.
    let v = builder(&server)
        .max_retries(0)
        .answer_store(keysweep_validate::AnswerStore::open(&path, day).unwrap())
        .build()
        .unwrap();
    let again = check(&v, "test.token", &live.1);
    assert_eq!(again.status, Status::Live);
    assert_eq!(again.identity, vec![("account".into(), "octo".into())]);
    assert!(again.reason.contains("stored answer"), "{}", again.reason);
    check(&v, "test.token", &failing.1);
    let s = v.stats();
    assert_eq!((s.requests, s.stored_hits, s.store_errors), (1, 1, 0));
    drop(v);

    // Pointed at another server, the stored answer is not reused.
    let other = Server::start(|_, _| Reply::new(401, "no"));
    let v = builder(&other)
        .answer_store(keysweep_validate::AnswerStore::open(&path, day).unwrap())
        .build()
        .unwrap();
    assert_eq!(check(&v, "test.token", &live.1).status, Status::Invalid);
    assert_eq!(v.stats().stored_hits, 0);
    drop(v);

    // A time to live of zero keeps nothing.
    let v = builder(&server)
        .answer_store(keysweep_validate::AnswerStore::open(&path, Duration::ZERO).unwrap())
        .build()
        .unwrap();
    assert_eq!(check(&v, "test.token", &live.1).status, Status::Live);
    assert_eq!(v.stats().stored_hits, 0);
}
