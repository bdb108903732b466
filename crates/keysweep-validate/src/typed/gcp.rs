//! `gcp-service-account`: a service account's private key signs a short-lived JWT
//! (RS256) and Google's token endpoint is asked to exchange it for a read-only access token
//! (the OAuth 2.0 JWT bearer grant). Google answers only if the key exists, is enabled and
//! belongs to the account; the token it returns is dropped unread.
//!
//! What the `gcp.service_account.key_file` rule reports: the secret is the key's
//! `private_key_id` (40 hex digits, sent as the JWT's `kid`), and the parts are
//! `private_key` (the PEM text as it stands in the JSON file, `\n` escapes and all) and
//! `client_email`. A finding whose secret is the PEM key itself works too. Option `scope`
//! replaces the requested scope (read-only Cloud Platform by default).

use super::{
    clock, option, part, scrub, text_part, validation, Credential, HttpResponse, PreparedRequest,
    TypedHttp,
};
use crate::{Status, Validation};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

pub(crate) struct GcpServiceAccount;

const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
const DEFAULT_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform.read-only";
/// Assertion lifetime. Google accepts at most an hour; the exchange happens at once.
const LIFETIME_SECS: u64 = 600;

impl TypedHttp for GcpServiceAccount {
    fn kind(&self) -> &'static str {
        "gcp-service-account"
    }

    fn prepare(
        &self,
        cred: &Credential<'_>,
        options: &[(String, String)],
        now: std::time::SystemTime,
    ) -> Result<PreparedRequest, String> {
        let secret_is_key = cred.secret.starts_with(b"-----BEGIN ");
        let pem = if secret_is_key {
            cred.secret
        } else {
            part(cred, "private_key").ok_or("missing part private_key")?
        };
        let email = client_email(cred)?;
        let key = rsa_key(pem)?;
        let kid = (!secret_is_key)
            .then(|| std::str::from_utf8(cred.secret).ok())
            .flatten()
            .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        let scope = match option(options, "scope") {
            None | Some("") => DEFAULT_SCOPE,
            Some(s) if s.bytes().all(|b| b.is_ascii_graphic() || b == b' ') => s,
            Some(_) => return Err("option scope is not printable ASCII".into()),
        };
        let iat = clock::unix_seconds(now)?;
        let jwt = assertion(&key, kid, email, scope, iat)?;
        let body = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}"
        );
        Ok(PreparedRequest {
            method: "POST".into(),
            url: TOKEN_URL.into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: body.into_bytes(),
        })
    }

    fn judge(&self, resp: &HttpResponse) -> Validation {
        let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        let text = |name: &str| json.get(name).and_then(|v| v.as_str()).unwrap_or("");
        if resp.status == 200 {
            // The access token is a live credential of its own: look at it, keep nothing.
            return if text("access_token").is_empty() {
                validation(Status::Unknown, "200 without an access token")
            } else {
                validation(
                    Status::Live,
                    "exchanged a signed assertion for an access token",
                )
            };
        }
        let error = text("error");
        let description = text("error_description");
        match (resp.status, error) {
            // Google's word for an assertion outside its time window: our clock.
            (400 | 401, "invalid_grant")
                if description.contains("timeframe") || description.contains("iat and exp") =>
            {
                validation(
                    Status::Unknown,
                    "clock skew: the assertion's time was refused",
                )
            }
            (400 | 401, "invalid_grant" | "invalid_client") => {
                let why = if description.is_empty() {
                    error
                } else {
                    description
                };
                validation(Status::Invalid, scrub(why))
            }
            (status, "") => validation(
                Status::Unknown,
                format!("HTTP {status} without an OAuth error"),
            ),
            (status, error) => {
                validation(Status::Unknown, format!("HTTP {status}: {}", scrub(error)))
            }
        }
    }

    fn identity(&self, cred: &Credential<'_>) -> Vec<(String, String)> {
        client_email(cred)
            .map(|e| vec![("account".to_string(), e.to_string())])
            .unwrap_or_default()
    }
}

/// The part `client_email`, if it looks like one.
fn client_email<'a>(cred: &Credential<'a>) -> Result<&'a str, String> {
    let email = text_part(cred, "client_email")?;
    let ok = email.len() <= 320
        && email
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        && email
            .split_once('@')
            .is_some_and(|(u, d)| !u.is_empty() && d.contains('.'));
    if ok {
        Ok(email)
    } else {
        Err("part client_email is not an email address".into())
    }
}

/// The RSA key in a PEM block as it may stand in a JSON file: line breaks written as `\n`
/// (or `\\n` when the JSON itself sits in a string), real line breaks, or none.
/// PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
fn rsa_key(pem: &[u8]) -> Result<RsaKeyPair, String> {
    const MALFORMED: &str = "part private_key is not a PEM private key";
    let text = std::str::from_utf8(pem).map_err(|_| MALFORMED)?;
    let rest = &text[text.find("-----BEGIN ").ok_or(MALFORMED)? + "-----BEGIN ".len()..];
    let label_end = rest.find("-----").ok_or(MALFORMED)?;
    let label = &rest[..label_end];
    let rest = &rest[label_end + 5..];
    let end = rest
        .find(&format!("-----END {label}-----"))
        .ok_or(MALFORMED)?;
    let mut b64 = Vec::with_capacity(end);
    let mut bytes = rest[..end].bytes();
    while let Some(b) = bytes.next() {
        match b {
            // `\n`, `\\n`, `\r`, `\t`: an escaped line break, not key material.
            b'\\' => loop {
                match bytes.next() {
                    Some(b'\\') => continue,
                    Some(b'n' | b'r' | b't') => break,
                    _ => return Err(MALFORMED.into()),
                }
            },
            b' ' | b'\n' | b'\r' | b'\t' => {}
            _ => b64.push(b),
        }
    }
    let der = STANDARD.decode(&b64).map_err(|_| MALFORMED)?;
    let key = match label {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        _ => return Err("part private_key is not an RSA private key".into()),
    };
    key.map_err(|_| "part private_key is not a usable RSA private key".into())
}

/// The signed JWT: `base64url(header).base64url(claims).base64url(RS256 signature)`.
fn assertion(
    key: &RsaKeyPair,
    kid: Option<&str>,
    email: &str,
    scope: &str,
    iat: u64,
) -> Result<String, String> {
    let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
    if let Some(kid) = kid {
        header["kid"] = kid.into();
    }
    let claims = serde_json::json!({
        "iss": email,
        "scope": scope,
        "aud": TOKEN_URL,
        "iat": iat,
        "exp": iat + LIFETIME_SECS,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "signing the assertion failed")?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn judge_reads_token_endpoint_answers() {
        let live = resp(
            200,
            // keysweep:allow (a made-up token)
            r#"{"access_token":"ya29.c.not-a-real-token","expires_in":3599,"token_type":"Bearer"}"#,
        );
        let v = GcpServiceAccount.judge(&live);
        assert_eq!(v.status, Status::Live);
        assert!(
            !format!("{v:?}").contains("ya29"),
            "the granted token is never kept"
        );
        let table = [
            (
                resp(
                    400,
                    r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
                ),
                Status::Invalid,
                "Invalid JWT Signature.",
            ),
            (
                resp(
                    400,
                    r#"{"error":"invalid_grant","error_description":"Invalid grant: account not found"}"#,
                ),
                Status::Invalid,
                "Invalid grant: account not found",
            ),
            (
                resp(
                    401,
                    r#"{"error":"invalid_client","error_description":"The OAuth client was disabled."}"#,
                ),
                Status::Invalid,
                "The OAuth client was disabled.",
            ),
            (
                resp(401, r#"{"error":"invalid_client"}"#),
                Status::Invalid,
                "invalid_client",
            ),
            (
                resp(
                    400,
                    r#"{"error":"invalid_grant","error_description":"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."}"#,
                ),
                Status::Unknown,
                "clock skew: the assertion's time was refused",
            ),
            (
                resp(
                    400,
                    r#"{"error":"invalid_scope","error_description":"bad scope"}"#,
                ),
                Status::Unknown,
                "HTTP 400: invalid_scope",
            ),
            (
                resp(429, "Too Many Requests"),
                Status::Unknown,
                "HTTP 429 without an OAuth error",
            ),
            (
                resp(200, r#"{"id_token":"x"}"#),
                Status::Unknown,
                "200 without an access token",
            ),
        ];
        for (r, status, reason) in table {
            let v = GcpServiceAccount.judge(&r);
            assert_eq!((v.status, v.reason.as_str()), (status, reason));
        }
    }

    #[test]
    fn judge_scrubs_an_echoed_assertion() {
        // keysweep:allow (a made-up assertion)
        let echo = r#"{"error":"invalid_grant","error_description":"bad assertion eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"}"#;
        let v = GcpServiceAccount.judge(&resp(400, echo));
        assert_eq!(v.status, Status::Invalid);
        assert!(!v.reason.contains("eyJhbGci"), "{}", v.reason);
    }

    #[test]
    fn pem_parsing_refuses_what_is_not_a_key_without_quoting_it() {
        let cases: [(&[u8], &str); 5] = [
            (
                b"not a key at all",
                "part private_key is not a PEM private key",
            ),
            (
                b"-----BEGIN PRIVATE KEY-----\\nQUJD\\n",
                "part private_key is not a PEM private key",
            ),
            (
                b"-----BEGIN PRIVATE KEY-----\\nQU*JD\\n-----END PRIVATE KEY-----",
                "part private_key is not a PEM private key",
            ),
            (
                b"-----BEGIN EC PRIVATE KEY-----\\nQUJD\\n-----END EC PRIVATE KEY-----",
                "part private_key is not an RSA private key",
            ),
            (
                b"-----BEGIN PRIVATE KEY-----\\nQUJDRA==\\n-----END PRIVATE KEY-----\\n",
                "part private_key is not a usable RSA private key",
            ),
        ];
        for (pem, want) in cases {
            assert_eq!(rsa_key(pem).err().as_deref(), Some(want));
        }
    }
}
