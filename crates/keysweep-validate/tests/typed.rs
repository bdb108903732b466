//! A typed validator (request built in code) goes through the same transport and policy as
//! template validators: origin override, SSRF guard, cache, scrubbing.

mod support;

use std::time::SystemTime;

use keysweep_validate::typed::{Credential, HttpResponse, PreparedRequest, TypedHttp};
use keysweep_validate::{Status, Validation, Validator};
use support::{Reply, Server};

const RULES: &str = r#"
[[rule]]
id = "test.signed"
name = "Test signed key"
description = "A key pair of a made-up provider that signs its requests"
keywords = ["sgn_"]
pattern = 'sgn_(?P<key_id>[A-Z0-9]{8}):(?P<secret>[A-Za-z0-9]{24})'
parts = ["key_id"]
[rule.validate]
kind = "test-signed"
options = { region = "eu-test-1" }
"#;

/// Signs `key_id` and the time with the secret (a stand-in for SigV4).
struct Signed;

impl TypedHttp for Signed {
    fn kind(&self) -> &'static str {
        "test-signed"
    }

    fn prepare(
        &self,
        cred: &Credential<'_>,
        options: &[(String, String)],
        now: SystemTime,
    ) -> Result<PreparedRequest, String> {
        let key_id = cred
            .parts
            .iter()
            .find(|(n, _)| *n == "key_id")
            .ok_or("no key_id")?
            .1;
        let region = &options
            .iter()
            .find(|(k, _)| k == "region")
            .ok_or("no region")?
            .1;
        let ts = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string();
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(cred.secret).unwrap();
        mac.update(ts.as_bytes());
        let sig: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(PreparedRequest {
            method: "POST".into(),
            url: format!("https://{region}.signed.test/identity"),
            headers: vec![
                ("X-Key".into(), String::from_utf8_lossy(key_id).into_owned()),
                ("X-Time".into(), ts),
                ("X-Signature".into(), sig),
            ],
            body: b"Action=WhoAmI".to_vec(),
        })
    }

    fn judge(&self, resp: &HttpResponse) -> Validation {
        let body = String::from_utf8_lossy(&resp.body).into_owned();
        match resp.status {
            // Carelessly puts the whole answer in the reason: the engine must scrub it.
            200 => Validation {
                status: Status::Live,
                reason: format!("ok: {body}"),
                identity: vec![("account".into(), body)],
            },
            403 => Validation {
                status: Status::Invalid,
                reason: "signature rejected".into(),
                identity: vec![],
            },
            s => Validation {
                status: Status::Unknown,
                reason: format!("HTTP {s}"),
                identity: vec![],
            },
        }
    }
}

static SIGNED: Signed = Signed;

#[test]
fn typed_validators_share_the_transport_and_policy() {
    let rules = keysweep::RuleSet::from_toml(RULES, "typed.rs").unwrap();
    let rule = rules.get("test.signed").unwrap();
    keysweep_validate::check_rule(rule).unwrap();
    let secret = support::token("", 24, 9);
    let f = support::find(
        &rules,
        &format!("KEY=sgn_AB12CD34:{secret}\n"),
        "test.signed",
    )
    .remove(0);

    // The server checks the signature and echoes the secret it should never have seen.
    let expected = secret.clone();
    let server = Server::start(move |req, _| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(expected.as_bytes()).unwrap();
        mac.update(req.header("x-time").unwrap().as_bytes());
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if req.header("x-signature") == Some(want.as_str())
            && req.header("x-key") == Some("AB12CD34")
        {
            Reply::new(200, format!("arn:test:user/ci ({expected})"))
        } else {
            Reply::new(403, "")
        }
    });
    let origin = "https://eu-test-1.signed.test";

    // Not registered: no validator for the kind (the built-in list does not have it).
    let r = Validator::builder().build().unwrap().validate(rule, &f);
    assert_eq!(r.reason, "no validator for kind test-signed");

    // The guard applies to a typed validator's request too.
    let guarded = Validator::builder()
        .typed_http(&SIGNED)
        .origin_override(origin, &server.origin())
        .build()
        .unwrap();
    let r = guarded.validate(rule, &f);
    assert_eq!(
        (r.status, r.reason.as_str()),
        (
            Status::Error,
            "internal address refused (use --allow-internal)"
        )
    );
    assert_eq!(server.count(), 0);

    let v = Validator::builder()
        .typed_http(&SIGNED)
        .allow_internal(true)
        .origin_override(origin, &server.origin())
        .build()
        .unwrap();
    let r = v.validate(rule, &f);
    assert_eq!(r.status, Status::Live, "{r:?}");
    assert_eq!(r.reason, "ok: arn:test:user/ci ([REDACTED])");
    assert_eq!(
        r.identity,
        vec![(
            "account".to_string(),
            "arn:test:user/ci ([REDACTED])".to_string()
        )]
    );
    let sent = &server.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/identity")
    );
    assert_eq!(sent.body, b"Action=WhoAmI");
    v.validate(rule, &f);
    assert_eq!(server.count(), 1, "cached");
}
