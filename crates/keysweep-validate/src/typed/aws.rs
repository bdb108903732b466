//! `aws`: an access key pair asks STS who it is (`sts:GetCallerIdentity`, which needs no IAM
//! permission and changes nothing), signed with Signature Version 4.
//!
//! The secret is the secret access key; the part `key_id` is its access key id, and a
//! temporary (`ASIA...`) key also needs the part `session_token`. Option `region` picks the
//! regional STS endpoint (`sts.eu-west-1.amazonaws.com`) instead of the global one.
//!
//! The global endpoint knows the keys of the commercial partition only: a China or GovCloud
//! key asked there reads as an unknown key id (`invalid`). Rules for such keys set
//! `options = { region = "cn-north-1" }` (or a GovCloud region).

use super::{
    clock, hex, option, part, scrub, text_part, validation, xml_text, Credential, HttpResponse,
    PreparedRequest, TypedHttp,
};
use crate::{Status, Validation};
use aws_lc_rs::{digest, hmac};

pub(crate) struct Aws;

const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

impl TypedHttp for Aws {
    fn kind(&self) -> &'static str {
        "aws"
    }

    fn prepare(
        &self,
        cred: &Credential<'_>,
        options: &[(String, String)],
        now: std::time::SystemTime,
    ) -> Result<PreparedRequest, String> {
        let key_id = text_part(cred, "key_id")?;
        if !(1..=128).contains(&key_id.len()) || !key_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err("part key_id is not an AWS access key id".into());
        }
        let secret = std::str::from_utf8(cred.secret)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or("the secret access key is not printable ASCII")?;
        let token = match part(cred, "session_token") {
            None => None,
            Some(t) => Some(
                std::str::from_utf8(t)
                    .ok()
                    .filter(|s| s.bytes().all(|b| b.is_ascii_graphic()))
                    .ok_or("part session_token is not printable ASCII")?,
            ),
        };
        if token.is_none() && key_id.starts_with("ASIA") {
            // STS would answer InvalidClientTokenId, which would read as a dead key.
            return Err("a temporary key id (ASIA...) needs the part session_token".into());
        }
        let (host, region) = match option(options, "region") {
            None | Some("") => ("sts.amazonaws.com".to_string(), "us-east-1"),
            Some(r) if super::is_host_word(r, false) => {
                let tld = if r.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                (format!("sts.{r}.{tld}"), r)
            }
            Some(_) => return Err("option region is not an AWS region name".into()),
        };
        let amz_date = clock::amz_date(now)?;
        let mut headers = vec![
            ("Content-Type".to_string(), CONTENT_TYPE.to_string()),
            ("X-Amz-Date".to_string(), amz_date.clone()),
        ];
        if let Some(t) = token {
            headers.push(("X-Amz-Security-Token".to_string(), t.to_string()));
        }
        let signed_headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let signed = sign(&SigV4 {
            method: "POST",
            host: &host,
            path: "/",
            query: "",
            headers: &signed_headers,
            body: BODY.as_bytes(),
            key_id,
            secret,
            region,
            service: "sts",
            amz_date: &amz_date,
        });
        headers.push(("Authorization".to_string(), signed.authorization));
        Ok(PreparedRequest {
            method: "POST".into(),
            url: format!("https://{host}/"),
            headers,
            body: BODY.as_bytes().to_vec(),
        })
    }

    fn judge(&self, resp: &HttpResponse) -> Validation {
        let body = String::from_utf8_lossy(&resp.body);
        if resp.status == 200 {
            let Some(arn) = xml_text(&body, "Arn") else {
                return validation(Status::Unknown, "200 without a caller identity");
            };
            let mut v = validation(Status::Live, "sts:GetCallerIdentity answered");
            if let Some(account) = xml_text(&body, "Account") {
                v.identity.push(("account".into(), scrub(&account)));
            }
            // An ARN is identifiers, but a role session name in it is free text: scrubbed.
            v.identity.push(("user".into(), scrub(&arn)));
            return v;
        }
        let code = xml_text(&body, "Code").unwrap_or_default();
        let message = xml_text(&body, "Message").unwrap_or_default();
        match code.as_str() {
            // A signature that expired in flight is our clock, not the key.
            "SignatureDoesNotMatch" if message.contains("Signature expired") => {
                validation(Status::Unknown, "clock skew: the signature expired")
            }
            "RequestExpired" => validation(Status::Unknown, "clock skew: the request expired"),
            "InvalidClientTokenId" => validation(Status::Invalid, "unknown access key id"),
            "SignatureDoesNotMatch" => validation(
                Status::Invalid,
                "the secret does not match the access key id",
            ),
            "ExpiredToken" => validation(Status::Invalid, "expired"),
            "" => validation(
                Status::Unknown,
                format!("HTTP {} without an STS error code", resp.status),
            ),
            _ => validation(
                Status::Unknown,
                format!("HTTP {}: {}", resp.status, scrub(&code)),
            ),
        }
    }
}

/// One request to sign with Signature Version 4.
pub(crate) struct SigV4<'a> {
    pub method: &'a str,
    /// Sent as the `Host` header (signed).
    pub host: &'a str,
    /// The canonical URI (already URI-encoded).
    pub path: &'a str,
    /// The canonical query string (already encoded and sorted).
    pub query: &'a str,
    /// Headers to sign beside `host`, one of them `X-Amz-Date`.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub key_id: &'a str,
    pub secret: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    /// `YYYYMMDDTHHMMSSZ`, the value of `X-Amz-Date`.
    pub amz_date: &'a str,
}

/// The stages of a signature, each as AWS's documentation names it. The request needs only
/// the `Authorization` header; the test vectors check every stage.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Signed {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
    pub authorization: String,
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
}

/// Signs `r` per "Create a signed AWS API request" (Signature Version 4): canonical request,
/// string to sign, derived signing key, signature, `Authorization` header.
pub(crate) fn sign(r: &SigV4<'_>) -> Signed {
    let mut headers: Vec<(String, String)> = std::iter::once(("host", r.host))
        .chain(r.headers.iter().copied())
        .map(|(n, v)| {
            // Trim, and fold runs of spaces to one, as the canonical form requires.
            let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
            (n.to_ascii_lowercase(), v)
        })
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        r.method,
        r.path,
        r.query,
        canonical_headers,
        signed_headers,
        sha256_hex(r.body)
    );
    let date = &r.amz_date[..r.amz_date.len().min(8)];
    let scope = format!("{date}/{}/{}/aws4_request", r.region, r.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        r.amz_date,
        sha256_hex(canonical_request.as_bytes())
    );
    let k_date = hmac_sha256(format!("AWS4{}", r.secret).as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(k_date.as_ref(), r.region.as_bytes());
    let k_service = hmac_sha256(k_region.as_ref(), r.service.as_bytes());
    let k_signing = hmac_sha256(k_service.as_ref(), b"aws4_request");
    let signature = hex(hmac_sha256(k_signing.as_ref(), string_to_sign.as_bytes()).as_ref());
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        r.key_id
    );
    Signed {
        canonical_request,
        string_to_sign,
        signature,
        authorization,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    // The credentials, scope and clock of AWS's Signature Version 4 test suite
    // (https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html; the same
    // files ship in awslabs/aws-c-auth, tests/aws-signing-test-suite/v4/).
    const KEY_ID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const DATE: &str = "20150830T123600Z";
    const SESSION_TOKEN: &str = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";

    fn suite(
        method: &'static str,
        headers: &'static [(&'static str, &'static str)],
        body: &'static [u8],
    ) -> Signed {
        sign(&SigV4 {
            method,
            host: "example.amazonaws.com",
            path: "/",
            query: "",
            headers,
            body,
            key_id: KEY_ID,
            secret: SECRET,
            region: "us-east-1",
            service: "service",
            amz_date: DATE,
        })
    }

    /// Published vector `get-vanilla`.
    #[test]
    fn suite_get_vanilla() {
        let s = suite("GET", &[("X-Amz-Date", DATE)], b"");
        assert_eq!(
            s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
             bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        assert_eq!(
            s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    /// Published vector `post-x-www-form-urlencoded`: a signed content type and a form body,
    /// the shape of the STS request.
    #[test]
    fn suite_post_x_www_form_urlencoded() {
        let s = suite(
            "POST",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("X-Amz-Date", DATE),
            ],
            b"Param1=value1",
        );
        assert_eq!(
            s.canonical_request,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n\
             x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n\
             9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        );
        assert!(s
            .string_to_sign
            .ends_with("\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"));
        assert_eq!(
            s.signature,
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    /// Published vector `get-vanilla-with-session-token`: the token is a signed header.
    #[test]
    fn suite_get_vanilla_with_session_token() {
        let s = suite(
            "GET",
            &[
                ("X-Amz-Date", DATE),
                ("X-Amz-Security-Token", SESSION_TOKEN),
            ],
            b"",
        );
        assert!(s
            .string_to_sign
            .ends_with("\n067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b"));
        assert!(s
            .authorization
            .contains("SignedHeaders=host;x-amz-date;x-amz-security-token, "));
        assert_eq!(
            s.signature,
            "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"
        );
    }

    fn at_suite_time() -> std::time::SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn header<'a>(r: &'a PreparedRequest, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The STS request itself, with the suite's credentials and clock. The expected signature
    /// was computed apart from this code, with Python's `hmac`/`hashlib` following the
    /// documented algorithm on the canonical request below.
    #[test]
    fn sts_request_is_signed_for_sts() {
        let cred = Credential {
            secret: SECRET.as_bytes(),
            parts: vec![("key_id", KEY_ID.as_bytes())],
        };
        let r = Aws.prepare(&cred, &[], at_suite_time()).unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "https://sts.amazonaws.com/");
        assert_eq!(r.body, BODY.as_bytes());
        assert_eq!(header(&r, "x-amz-date"), Some(DATE));
        assert_eq!(header(&r, "x-amz-security-token"), None);
        assert_eq!(
            header(&r, "authorization").unwrap(),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=6fb20d31f734d876c5682fdd2678d194cf68b862755f83b7ba1373c0874be25c"
        );
    }

    #[test]
    fn regional_endpoint_and_session_token() {
        let cred = Credential {
            secret: SECRET.as_bytes(),
            parts: vec![
                ("key_id", b"ASIAEXAMPLEEXAMPLE00".as_slice()),
                ("session_token", SESSION_TOKEN.as_bytes()),
            ],
        };
        let opts = [("region".to_string(), "eu-west-1".to_string())];
        let r = Aws.prepare(&cred, &opts, at_suite_time()).unwrap();
        assert_eq!(r.url, "https://sts.eu-west-1.amazonaws.com/");
        assert_eq!(header(&r, "x-amz-security-token"), Some(SESSION_TOKEN));
        let auth = header(&r, "authorization").unwrap();
        assert!(
            auth.contains("/20150830/eu-west-1/sts/aws4_request, "),
            "{auth}"
        );
        assert!(auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "));
        let cn = [("region".to_string(), "cn-north-1".to_string())];
        let r = Aws.prepare(&cred, &cn, at_suite_time()).unwrap();
        assert_eq!(r.url, "https://sts.cn-north-1.amazonaws.com.cn/");
    }

    #[test]
    fn prepare_errors_name_the_problem_and_never_the_secret() {
        let t = at_suite_time();
        type Case<'a> = (Credential<'a>, Vec<(String, String)>, &'a str);
        let cases: Vec<Case<'_>> = vec![
            (
                Credential {
                    secret: SECRET.as_bytes(),
                    parts: vec![],
                },
                vec![],
                "missing part key_id",
            ),
            (
                Credential {
                    secret: SECRET.as_bytes(),
                    parts: vec![("key_id", b"".as_slice())],
                },
                vec![],
                "missing part key_id",
            ),
            (
                Credential {
                    secret: SECRET.as_bytes(),
                    parts: vec![("key_id", b"AKID EXAMPLE 0000000".as_slice())],
                },
                vec![],
                "part key_id is not an AWS access key id",
            ),
            (
                Credential {
                    secret: b"with space wJalrXUtnFEMI/K7MDENG+bPxRfiCY",
                    parts: vec![("key_id", KEY_ID.as_bytes())],
                },
                vec![],
                "the secret access key is not printable ASCII",
            ),
            (
                Credential {
                    secret: SECRET.as_bytes(),
                    parts: vec![("key_id", b"ASIAEXAMPLEEXAMPLE00".as_slice())],
                },
                vec![],
                "a temporary key id (ASIA...) needs the part session_token",
            ),
            (
                Credential {
                    secret: SECRET.as_bytes(),
                    parts: vec![("key_id", KEY_ID.as_bytes())],
                },
                vec![("region".into(), "us-east-1.evil.example/".into())],
                "option region is not an AWS region name",
            ),
        ];
        for (cred, opts, want) in cases {
            let e = Aws.prepare(&cred, &opts, t).unwrap_err();
            assert_eq!(e, want);
            assert!(!e.contains(SECRET) && !e.contains("wJalr"));
        }
    }

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("Content-Type".into(), "text/xml".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn error(status: u16, code: &str, message: &str) -> HttpResponse {
        resp(
            status,
            &format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    \
                 <Type>Sender</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  \
                 </Error>\n  <RequestId>4f1c4a3b-0000-4000-8000-000000000000</RequestId>\n</ErrorResponse>\n"
            ),
        )
    }

    #[test]
    fn judge_reads_sts_answers() {
        let live = resp(
            200,
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n \
             <GetCallerIdentityResult>\n  <Arn>arn:aws:iam::123456789012:user/deployer</Arn>\n  \
             <UserId>AIDAEXAMPLEEXAMPLE000</UserId>\n  <Account>123456789012</Account>\n \
             </GetCallerIdentityResult>\n</GetCallerIdentityResponse>\n",
        );
        let v = Aws.judge(&live);
        assert_eq!(v.status, Status::Live);
        assert_eq!(
            v.identity,
            vec![
                ("account".to_string(), "123456789012".to_string()),
                (
                    "user".to_string(),
                    "arn:aws:iam::123456789012:user/deployer".to_string()
                ),
            ]
        );
        let table = [
            (error(403, "InvalidClientTokenId", "The security token included in the request is invalid."), Status::Invalid, "unknown access key id"),
            (error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."), Status::Invalid, "the secret does not match the access key id"),
            (error(400, "ExpiredToken", "The security token included in the request is expired"), Status::Invalid, "expired"),
            (error(403, "SignatureDoesNotMatch", "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z"), Status::Unknown, "clock skew: the signature expired"),
            (error(400, "Throttling", "Rate exceeded"), Status::Unknown, "HTTP 400: Throttling"),
            (resp(503, "Service Unavailable"), Status::Unknown, "HTTP 503 without an STS error code"),
            (resp(200, "<html>captive portal</html>"), Status::Unknown, "200 without a caller identity"),
        ];
        for (r, status, reason) in table {
            let v = Aws.judge(&r);
            assert_eq!((v.status, v.reason.as_str()), (status, reason));
        }
    }

    #[test]
    fn judge_never_repeats_an_echoed_secret() {
        // A response (a proxy, a misbehaving endpoint) that echoes the key in every field.
        let echo = format!("x{SECRET}");
        let v = Aws.judge(&error(403, &echo, &echo));
        assert_eq!(v.status, Status::Unknown);
        assert!(!v.reason.contains("wJalr"), "{}", v.reason);
        let v = Aws.judge(&resp(
            200,
            &format!(
                "<Arn>arn:aws:sts::1:assumed-role/r/{SECRET}</Arn><Account>{SECRET}</Account>"
            ),
        ));
        for (_, value) in &v.identity {
            assert!(!value.contains("wJalr"), "{value}");
        }
    }
}
