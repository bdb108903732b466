//! The GCP service-account validator's signed assertion, checked apart from the code that
//! signs it: a key pair made by `openssl genpkey` for the test (nothing committed), a
//! service-account file around it scanned by the built-in rules, and the JWT's RS256
//! signature verified by `openssl dgst -verify` with the public key. Without an `openssl`
//! command the keys come from aws-lc and aws-lc verifies (said on stderr).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use keysweep::{RuleSet, Scanner};
use keysweep_validate::typed::{typed_http, Credential, PreparedRequest};
use keysweep_validate::Status;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

const EMAIL: &str = "validator@keysweep-fixture.iam.gserviceaccount.com";
const NOW: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// Checks an RS256 signature: (signed input, signature) -> verified.
type Verifier = Box<dyn Fn(&[u8], &[u8]) -> bool>;

/// A fresh RSA key: its PKCS#8 PEM, its PKCS#1 PEM, and a verifier of RS256 signatures.
struct TestKey {
    pkcs8_pem: String,
    pkcs1_pem: String,
    verify: Verifier,
}

fn openssl(dir: &Path, args: &[&str]) -> bool {
    match Command::new("openssl").args(args).current_dir(dir).output() {
        Ok(o) => o.status.success(),
        Err(_) => false,
    }
}

fn make_key() -> TestKey {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let made = openssl(
        &d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "key.pem",
        ],
    ) && openssl(
        &d,
        &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"],
    ) && openssl(
        &d,
        &["rsa", "-in", "key.pem", "-traditional", "-out", "rsa.pem"],
    );
    if made {
        let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        let (pkcs8_pem, pkcs1_pem) = (read("key.pem"), read("rsa.pem"));
        assert!(pkcs8_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(pkcs1_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let verify = move |input: &[u8], sig: &[u8]| {
            std::fs::write(d.join("input"), input).unwrap();
            std::fs::write(d.join("sig"), sig).unwrap();
            let _keep = &dir;
            openssl(
                &d,
                &[
                    "dgst",
                    "-sha256",
                    "-verify",
                    "pub.pem",
                    "-signature",
                    "sig",
                    "input",
                ],
            )
        };
        return TestKey {
            pkcs8_pem,
            pkcs1_pem,
            verify: Box::new(verify),
        };
    }
    eprintln!("no usable openssl command: keys from aws-lc, verified by aws-lc");
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::{KeyPair as _, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
    let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let der = key.as_der().unwrap();
    let pem = |label: &str, der: &[u8]| {
        let b64 = STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    };
    let public = key.public_key().as_ref().to_vec();
    TestKey {
        pkcs8_pem: pem("PRIVATE KEY", der.as_ref()),
        // No PKCS#1 writer in aws-lc-rs: the PKCS#8 key stands in.
        pkcs1_pem: pem("PRIVATE KEY", der.as_ref()),
        verify: Box::new(move |input, sig| {
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
                .verify(input, sig)
                .is_ok()
        }),
    }
}

/// The assertion of a prepared request: (signing input, header, claims, signature).
fn assertion(req: &PreparedRequest) -> (String, serde_json::Value, serde_json::Value, Vec<u8>) {
    let body = std::str::from_utf8(&req.body).unwrap();
    let jwt = body
        .strip_prefix("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=")
        .expect("a JWT bearer grant");
    let pieces: Vec<&str> = jwt.split('.').collect();
    assert_eq!(pieces.len(), 3, "header.claims.signature");
    let json = |s: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
    (
        format!("{}.{}", pieces[0], pieces[1]),
        json(pieces[0]),
        json(pieces[1]),
        URL_SAFE_NO_PAD.decode(pieces[2]).unwrap(),
    )
}

fn check_signed(key: &TestKey, req: &PreparedRequest, kid: Option<&str>) {
    assert_eq!(format!("{req:?}"), "POST https://oauth2.googleapis.com");
    assert!(req.headers.contains(&(
        "Content-Type".to_string(),
        "application/x-www-form-urlencoded".to_string()
    )));
    let (input, header, claims, sig) = assertion(req);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header.get("kid").and_then(|k| k.as_str()), kid);
    assert_eq!(claims["iss"], EMAIL);
    assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/cloud-platform.read-only"
    );
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 600);
    assert_eq!(sig.len(), 256, "a 2048-bit RSA signature");
    assert!((key.verify)(input.as_bytes(), &sig), "signature verifies");
    // The check can fail: one changed byte of the claims does not verify.
    let mut tampered = input.into_bytes();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(
        !(key.verify)(&tampered, &sig),
        "a tampered assertion must not verify"
    );
}

#[test]
fn a_scanned_service_account_file_signs_a_verifiable_assertion() {
    let key = make_key();
    let key_id = "3f9c2a7be41d8c06a5f2e19b7d4c8a0e6b1f5d92";
    // In the order Google writes the fields (serde_json would sort them).
    let q = |v: &str| serde_json::to_string(v).unwrap();
    let text = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"keysweep-fixture\",\n  \
         \"private_key_id\": {},\n  \"private_key\": {},\n  \"client_email\": {},\n  \
         \"token_uri\": \"https://oauth2.googleapis.com/token\"\n}}\n",
        q(key_id),
        q(&key.pkcs8_pem),
        q(EMAIL)
    );
    assert!(
        text.contains("\\n"),
        "the key's line breaks are JSON escapes"
    );
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    let found = scanner.scan(&mut scanner.scratch(), text.as_bytes());
    let f = found
        .iter()
        .find(|f| &*f.rule_id == "gcp.service_account.key_file")
        .expect("the service account file is found");
    let cred = Credential {
        secret: &f.secret,
        parts: f
            .parts
            .iter()
            .map(|p| (&*p.name, p.value.as_slice()))
            .collect(),
    };
    let v = typed_http("gcp-service-account").unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let req = v.prepare(&cred, &[], now).unwrap();
    check_signed(&key, &req, Some(key_id));
    assert_eq!(
        v.identity(&cred),
        vec![("account".to_string(), EMAIL.to_string())]
    );
}

#[test]
fn every_way_a_key_is_written_signs_the_same_way() {
    let key = make_key();
    let v = typed_http("gcp-service-account").unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let escaped = key.pkcs8_pem.replace('\n', "\\n");
    let forms = [
        key.pkcs8_pem.clone(),                // real line breaks
        escaped.clone(),                      // JSON escapes
        key.pkcs8_pem.replace('\n', "\\\\n"), // JSON in a JSON string
        escaped.replace("\\n", "\\r\\n"),     // CRLF, escaped
        key.pkcs1_pem.replace('\n', "\\n"),   // PKCS#1
    ];
    for pem in &forms {
        let cred = Credential {
            secret: b"3f9c2a7be41d8c06a5f2e19b7d4c8a0e6b1f5d92",
            parts: vec![
                ("private_key", pem.as_bytes()),
                ("client_email", EMAIL.as_bytes()),
            ],
        };
        let req = v.prepare(&cred, &[], now).unwrap();
        check_signed(&key, &req, Some("3f9c2a7be41d8c06a5f2e19b7d4c8a0e6b1f5d92"));
    }
    // The PEM key as the finding's secret: no kid to send.
    let cred = Credential {
        secret: key.pkcs8_pem.as_bytes(),
        parts: vec![("client_email", EMAIL.as_bytes())],
    };
    check_signed(&key, &v.prepare(&cred, &[], now).unwrap(), None);
}

#[test]
fn errors_never_quote_the_key() {
    let key = make_key();
    let v = typed_http("gcp-service-account").unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let body: String = key
        .pkcs8_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    // Damage the key: a character outside base64, then a body 200 characters short.
    let pem = |b: &str| format!("-----BEGIN PRIVATE KEY-----\\n{b}\\n-----END PRIVATE KEY-----\\n");
    let bad_char = pem(&format!("{}*{}", &body[..100], &body[101..]));
    let truncated = pem(&format!("{}{}", &body[..200], &body[400..]));
    let no_email = Credential {
        secret: b"3f9c2a7be41d8c06a5f2e19b7d4c8a0e6b1f5d92",
        parts: vec![("private_key", key.pkcs8_pem.as_bytes())],
    };
    let mut errors = vec![v.prepare(&no_email, &[], now).unwrap_err()];
    for pem in [&bad_char, &truncated] {
        let cred = Credential {
            secret: b"3f9c2a7be41d8c06a5f2e19b7d4c8a0e6b1f5d92",
            parts: vec![
                ("private_key", pem.as_bytes()),
                ("client_email", EMAIL.as_bytes()),
            ],
        };
        errors.push(v.prepare(&cred, &[], now).unwrap_err());
    }
    assert_eq!(
        errors,
        [
            "missing part client_email",
            "part private_key is not a PEM private key",
            "part private_key is not a usable RSA private key",
        ]
    );
    for e in &errors {
        assert!(!e.contains("3f9c2a7b"), "{e}");
        for chunk in body.as_bytes().chunks(12) {
            assert!(!e.contains(std::str::from_utf8(chunk).unwrap()), "{e}");
        }
    }
}

#[test]
fn judge_of_a_granted_token_is_live_and_keeps_no_token() {
    let v = typed_http("gcp-service-account").unwrap();
    let resp = keysweep_validate::typed::HttpResponse {
        status: 200,
        headers: vec![],
        body: br#"{"access_token":"ya29.c.b0-test-token-not-real","expires_in":3599,"token_type":"Bearer"}"#
            .to_vec(),
    };
    let got = v.judge(&resp);
    assert_eq!(got.status, Status::Live);
    let shown = serde_json::to_string(&got).unwrap();
    assert!(!shown.contains("ya29"), "{shown}");
}
