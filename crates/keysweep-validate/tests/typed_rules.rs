//! The typed validators against what the built-in rules actually report: every rule that
//! names a typed kind gets a validator, and each of its examples, scanned, gives a request or
//! an error that names the missing part and never quotes a secret.

use keysweep::{Finding, RuleSet, Scanner};
use keysweep_validate::typed::{typed_http, Credential, TYPED_HTTP_KINDS};
use std::time::{Duration, UNIX_EPOCH};

fn credential(f: &Finding) -> Credential<'_> {
    Credential {
        secret: &f.secret,
        parts: f
            .parts
            .iter()
            .map(|p| (&*p.name, p.value.as_slice()))
            .collect(),
    }
}

fn assert_quotes_nothing(text: &str, f: &Finding) {
    let secret = String::from_utf8_lossy(&f.secret);
    assert!(!text.contains(&*secret), "{text:?} quotes the secret");
    for p in &f.parts {
        let v = String::from_utf8_lossy(&p.value);
        // Names of the account (an email, a storage account and its domain) are identity,
        // not secrets: the request's URL holds them.
        let public = ["client_email", "account_name", "endpoint_suffix"];
        if !public.contains(&&*p.name) && v.len() >= 8 {
            assert!(!text.contains(&*v), "{text:?} quotes part {}", p.name);
        }
    }
}

/// What `prepare` says for each example of each rule with a typed validator: `Ok(host)` or
/// the error.
fn outcomes() -> Vec<(String, Result<String, String>)> {
    let rules = RuleSet::builtin_with_examples();
    let scanner = Scanner::new(rules.clone()).unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01
    let mut out = Vec::new();
    for rule in rules.rules() {
        let Some(spec) = &rule.validate else { continue };
        if !TYPED_HTTP_KINDS.contains(&spec.kind.as_str()) {
            continue;
        }
        let v = typed_http(&spec.kind).expect("a typed kind has a validator");
        for ex in &rule.examples {
            let found = scanner.scan(&mut scanner.scratch(), ex.text.as_bytes());
            let f = found
                .iter()
                .find(|f| *f.rule_id == *rule.id)
                .unwrap_or_else(|| panic!("{}: example not found", rule.id));
            let r = v.prepare(&credential(f), &spec.options, now);
            match &r {
                Ok(req) => assert_quotes_nothing(&format!("{req:?}"), f),
                Err(e) => assert_quotes_nothing(e, f),
            }
            let r = r.map(|req| format!("{req:?}"));
            out.push((rule.id.to_string(), r));
        }
    }
    out
}

#[test]
fn rule_examples_prepare_or_say_what_is_missing() {
    let got = outcomes();
    let want: Vec<(String, Result<String, String>)> = vec![
        (
            "aws.secret_access_key",
            Ok("POST https://sts.amazonaws.com"),
        ),
        (
            "aws.secret_access_key",
            Err("a temporary key id (ASIA...) needs the part session_token"),
        ),
        ("aws.secret_access_key", Err("missing part key_id")),
        // The id written after the secret pairs too.
        (
            "aws.secret_access_key",
            Ok("POST https://sts.amazonaws.com"),
        ),
        // `os.environ["AWS_SECRET_ACCESS_KEY"] = "..."` alone: no key id beside it.
        ("aws.secret_access_key", Err("missing part key_id")),
        // A temporary key id with its session token on the line after the secret: the
        // token is a part of the finding, so the credential is complete.
        (
            "aws.secret_access_key",
            Ok("POST https://sts.amazonaws.com"),
        ),
        // SDK constructors with the key id as the first argument: Go's
        // `NewStaticCredentials` and `NewStaticCredentialsProvider`, Java's
        // `BasicAWSCredentials` and `AwsBasicCredentials.create` (over two lines).
        (
            "aws.secret_access_key",
            Ok("POST https://sts.amazonaws.com"),
        ),
        (
            "aws.secret_access_key",
            Ok("POST https://sts.amazonaws.com"),
        ),
        (
            "aws.secret_access_key",
            Ok("POST https://sts.amazonaws.com"),
        ),
        (
            "aws.secret_access_key",
            Ok("POST https://sts.amazonaws.com"),
        ),
        // The key id passed as a variable: nothing to pair the secret with.
        ("aws.secret_access_key", Err("missing part key_id")),
        (
            "gcp.service_account.key_file",
            // The example's key is a truncated fake: PEM-shaped, no RSA key inside.
            Err("part private_key is not a usable RSA private key"),
        ),
        (
            "gcp.service_account.key_file",
            Err("missing part private_key"),
        ),
        // The same key file written into a notebook's source lines: the private key is still
        // a part of the one finding (and still a truncated fake).
        (
            "gcp.service_account.key_file",
            Err("part private_key is not a usable RSA private key"),
        ),
        (
            "azure.storage.connection_string",
            Ok("GET https://acmelogs749.blob.core.windows.net"),
        ),
    ]
    .into_iter()
    .map(|(id, r)| {
        (
            id.to_string(),
            r.map(str::to_string).map_err(str::to_string),
        )
    })
    .collect();
    assert_eq!(got, want);
}

#[test]
fn every_typed_kind_is_used_by_a_builtin_rule() {
    let rules = RuleSet::builtin_with_examples();
    for kind in TYPED_HTTP_KINDS {
        assert!(
            rules
                .rules()
                .iter()
                .any(|r| r.validate.as_ref().is_some_and(|v| v.kind == *kind)),
            "no rule uses {kind}"
        );
    }
}

#[test]
fn connection_string_parts_reach_the_azure_request() {
    let rules = RuleSet::builtin_with_examples();
    let scanner = Scanner::new(rules).unwrap();
    // A made-up key; a sovereign cloud's suffix after it.
    let text = "AccountName=acmearchive;AccountKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==;EndpointSuffix=core.chinacloudapi.cn";
    let found = scanner.scan(&mut scanner.scratch(), text.as_bytes());
    let f = found
        .iter()
        .find(|f| &*f.rule_id == "azure.storage.connection_string")
        .expect("the connection string is found");
    let req = typed_http("azure-storage")
        .unwrap()
        .prepare(
            &credential(f),
            &[],
            UNIX_EPOCH + Duration::from_secs(1_767_225_600),
        )
        .unwrap();
    assert_eq!(
        req.url,
        "https://acmearchive.blob.core.chinacloudapi.cn/?comp=list&maxresults=1"
    );
}

#[test]
fn judges_never_repeat_a_secret_a_response_echoes() {
    // Secrets of each kind's shape (made up), echoed by a response in every field a judge
    // reads: a misbehaving endpoint or proxy must not turn a reason into a leak.
    let secrets = [
        "Jso2jKF08mmf1ULmmcW3xvY27DfANuRose62CHN4",
        "RqbXFTysuenKhozR2hsWCX+/OqWzIRF/f4En1ni6ZUKSYPsmp9b2tZb+IHE/41LEyV6En6Ho9xC9GCb0ClDacg==",
        "dbfe258b6736c838acdc4bbe92537f2f26ff29c1",
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhQGIuYyJ9.c2lnbmF0dXJlc2lnbmF0dXJlc2ln",
    ];
    for secret in secrets {
        let bodies = [
            format!(
                "<ErrorResponse><Error><Code>{secret}</Code><Message>{secret}</Message></Error></ErrorResponse>"
            ),
            format!(
                "<GetCallerIdentityResult><Arn>arn:aws:sts::1:assumed-role/r/{secret}</Arn><Account>{secret}</Account></GetCallerIdentityResult>"
            ),
            format!(
                "<Error><Code>{secret}</Code><AuthenticationErrorDetail>{secret}</AuthenticationErrorDetail></Error>"
            ),
            format!("<EnumerationResults ServiceEndpoint=\"https://{secret}/\"></EnumerationResults>"),
            serde_json::json!({ "error": secret, "error_description": secret }).to_string(),
            serde_json::json!({ "error": "invalid_grant", "error_description": format!("bad {secret}") })
                .to_string(),
            serde_json::json!({ "access_token": secret }).to_string(),
        ];
        for kind in TYPED_HTTP_KINDS {
            let v = typed_http(kind).unwrap();
            for status in [200, 400, 401, 403, 429, 500] {
                for body in &bodies {
                    let resp = keysweep_validate::typed::HttpResponse {
                        status,
                        headers: vec![("x-ms-error-code".into(), secret.into())],
                        body: body.clone().into_bytes(),
                    };
                    let got = v.judge(&resp);
                    let shown = serde_json::to_string(&got).unwrap();
                    // Any 16 characters of the secret would be too many.
                    for w in secret.as_bytes().windows(16) {
                        let w = std::str::from_utf8(w).unwrap();
                        assert!(!shown.contains(w), "{kind} {status}: {shown}");
                    }
                }
            }
        }
    }
}
