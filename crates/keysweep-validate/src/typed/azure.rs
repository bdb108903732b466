//! `azure-storage`: a storage account key lists at most one container of its account
//! (`GET /?comp=list&maxresults=1` on the Blob service), signed with Shared Key.
//!
//! The secret is the base64 account key; the part `account_name` names the account, and the
//! part `endpoint_suffix` (or option `endpoint_suffix`) a sovereign cloud's domain
//! (`core.chinacloudapi.cn`; `core.windows.net` by default).

use super::{
    clock, header, option, part, scrub, text_part, validation, xml_text, Credential, HttpResponse,
    PreparedRequest, TypedHttp,
};
use crate::{Status, Validation};
use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

pub(crate) struct AzureStorage;

/// The service version the request asks for (any version from 2009-09-19 signs the same way).
const VERSION: &str = "2021-08-06";

impl TypedHttp for AzureStorage {
    fn kind(&self) -> &'static str {
        "azure-storage"
    }

    fn prepare(
        &self,
        cred: &Credential<'_>,
        options: &[(String, String)],
        now: std::time::SystemTime,
    ) -> Result<PreparedRequest, String> {
        let account = text_part(cred, "account_name")?.to_ascii_lowercase();
        if !(3..=24).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err("part account_name is not a storage account name".into());
        }
        let key = STANDARD
            .decode(cred.secret)
            .ok()
            .filter(|k| !k.is_empty())
            .ok_or("the account key is not base64")?;
        let suffix = match part(cred, "endpoint_suffix") {
            Some(s) => std::str::from_utf8(s)
                .map_err(|_| "part endpoint_suffix is not UTF-8 text")?
                .to_ascii_lowercase(),
            None => option(options, "endpoint_suffix")
                .unwrap_or("core.windows.net")
                .to_string(),
        };
        if !super::is_host_word(&suffix, true) || !suffix.contains('.') {
            return Err("the endpoint suffix is not a domain name".into());
        }
        let date = clock::http_date(now)?;
        let ms_headers = [("x-ms-date", date.as_str()), ("x-ms-version", VERSION)];
        let query = [("comp", "list"), ("maxresults", "1")];
        let to_sign = string_to_sign("GET", &ms_headers, &account, "/", &query);
        let authorization = format!("SharedKey {account}:{}", signature(&key, &to_sign));
        Ok(PreparedRequest {
            method: "GET".into(),
            url: format!("https://{account}.blob.{suffix}/?comp=list&maxresults=1"),
            headers: vec![
                ("x-ms-date".into(), date),
                ("x-ms-version".into(), VERSION.into()),
                ("Authorization".into(), authorization),
            ],
            body: Vec::new(),
        })
    }

    fn judge(&self, resp: &HttpResponse) -> Validation {
        let body = String::from_utf8_lossy(&resp.body);
        let code = header(resp, "x-ms-error-code")
            .map(str::to_string)
            .or_else(|| xml_text(&body, "Code"))
            .unwrap_or_default();
        match (resp.status, code.as_str()) {
            (200, _) if body.contains("<EnumerationResults") => {
                let mut v = validation(Status::Live, "listed the account's containers");
                if let Some(account) = service_endpoint_account(&body) {
                    v.identity.push(("account".into(), account));
                }
                v
            }
            (200, _) => validation(Status::Unknown, "200 without a container list"),
            (403, "AuthenticationFailed") => {
                let detail = xml_text(&body, "AuthenticationErrorDetail").unwrap_or_default();
                if detail.contains("Request date header") || detail.contains("x-ms-date") {
                    validation(Status::Unknown, "clock skew: the request date was refused")
                } else {
                    validation(Status::Invalid, "the account key was refused")
                }
            }
            (status, "") => validation(
                Status::Unknown,
                format!("HTTP {status} without a storage error code"),
            ),
            // AuthorizationFailure (a firewall rule), throttling, outages: the key may work.
            (status, code) => {
                validation(Status::Unknown, format!("HTTP {status}: {}", scrub(code)))
            }
        }
    }
}

/// The account named by `ServiceEndpoint="https://ACCOUNT.blob.SUFFIX/"` in a container list:
/// 3 to 24 lowercase letters and digits, as Azure names accounts, or nothing.
fn service_endpoint_account(body: &str) -> Option<String> {
    let rest = &body[body.find("ServiceEndpoint=\"")? + "ServiceEndpoint=\"".len()..];
    let host = rest
        .strip_prefix("https://")
        .or_else(|| rest.strip_prefix("http://"))?;
    let account = host.split(['.', '/', '"', ':']).next()?;
    (3..=24)
        .contains(&account.len())
        .then(|| {
            account
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        .filter(|ok| *ok)
        .map(|_| account.to_string())
}

/// The Shared Key string to sign (Blob, Queue and File services, version 2009-09-19 and
/// later) of a request that sends none of the standard headers it lists (no body, no
/// conditions, no range): the verb, eleven empty lines, the canonicalized `x-ms-` headers
/// and the canonicalized resource.
pub(crate) fn string_to_sign(
    method: &str,
    ms_headers: &[(&str, &str)],
    account: &str,
    path: &str,
    query: &[(&str, &str)],
) -> String {
    let mut s = String::from(method);
    // Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since, If-Match,
    // If-None-Match, If-Unmodified-Since, Range: each an empty line.
    s.push_str(&"\n".repeat(12));
    let mut headers: Vec<(String, String)> = ms_headers
        .iter()
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    headers.sort();
    for (n, v) in &headers {
        s.push_str(&format!("{n}:{v}\n"));
    }
    s.push('/');
    s.push_str(account);
    s.push_str(path);
    let mut params: Vec<(String, &str)> = query
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), *v))
        .collect();
    params.sort();
    let mut i = 0;
    while i < params.len() {
        let name = &params[i].0;
        let values: Vec<&str> = params[i..]
            .iter()
            .take_while(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .collect();
        s.push_str(&format!("\n{name}:{}", values.join(",")));
        i += values.len();
    }
    s
}

/// `Base64(HMAC-SHA256(key, string_to_sign))`.
pub(crate) fn signature(key: &[u8], string_to_sign: &str) -> String {
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        string_to_sign.as_bytes(),
    );
    STANDARD.encode(tag.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// A made-up account key (64 bytes 0x00..0x3f, base64).
    const KEY: &str =
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

    /// The worked example of Microsoft's "Authorize with Shared Key" (Get Container Metadata
    /// with a timeout), reduced to what this signer sends: no standard headers.
    #[test]
    fn documented_string_to_sign() {
        let s = string_to_sign(
            "GET",
            &[
                ("x-ms-version", "2009-09-19"),
                ("x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT"),
            ],
            "myaccount",
            "/mycontainer",
            &[
                ("restype", "container"),
                ("comp", "metadata"),
                ("timeout", "20"),
            ],
        );
        assert_eq!(
            s,
            "GET\n\n\n\n\n\n\n\n\n\n\n\n\
             x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n\
             /myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20"
        );
    }

    #[test]
    fn repeated_query_names_join_their_sorted_values() {
        let s = string_to_sign(
            "GET",
            &[],
            "acct",
            "/",
            &[("B", "2"), ("a", "z"), ("b", "1")],
        );
        assert!(s.ends_with("/acct/\na:z\nb:1,2"), "{s:?}");
    }

    /// The List Containers request at 2015-08-30T12:36:00Z. The signature was computed apart
    /// from this code, by hand from the documented algorithm: the string to sign below,
    /// then `printf '%s' "$sts" | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...3f
    /// -binary | base64`.
    #[test]
    fn list_containers_request() {
        let cred = Credential {
            secret: KEY.as_bytes(),
            parts: vec![("account_name", b"AcmeLogs749".as_slice())],
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let r = AzureStorage.prepare(&cred, &[], now).unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.url,
            "https://acmelogs749.blob.core.windows.net/?comp=list&maxresults=1"
        );
        let sts = string_to_sign(
            "GET",
            &[
                ("x-ms-date", "Sun, 30 Aug 2015 12:36:00 GMT"),
                ("x-ms-version", VERSION),
            ],
            "acmelogs749",
            "/",
            &[("comp", "list"), ("maxresults", "1")],
        );
        assert_eq!(
            sts,
            "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Sun, 30 Aug 2015 12:36:00 GMT\n\
             x-ms-version:2021-08-06\n/acmelogs749/\ncomp:list\nmaxresults:1"
        );
        assert_eq!(
            r.headers,
            vec![
                (
                    "x-ms-date".to_string(),
                    "Sun, 30 Aug 2015 12:36:00 GMT".to_string()
                ),
                ("x-ms-version".to_string(), VERSION.to_string()),
                (
                    "Authorization".to_string(),
                    "SharedKey acmelogs749:xZnxbLZaTFEY48hC+NB96ftlZOUsQ8OZJXRXKj3AwbU="
                        .to_string()
                ),
            ]
        );
        let china = [(
            "endpoint_suffix".to_string(),
            "core.chinacloudapi.cn".to_string(),
        )];
        let r = AzureStorage.prepare(&cred, &china, now).unwrap();
        assert!(r
            .url
            .starts_with("https://acmelogs749.blob.core.chinacloudapi.cn/"));
    }

    #[test]
    fn prepare_errors_name_the_problem_and_never_the_secret() {
        let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let acct: &[u8] = b"acmelogs749";
        type Case<'a> = (Credential<'a>, Vec<(String, String)>, &'a str);
        let cases: Vec<Case<'_>> = vec![
            (
                Credential {
                    secret: KEY.as_bytes(),
                    parts: vec![],
                },
                vec![],
                "missing part account_name",
            ),
            (
                Credential {
                    secret: KEY.as_bytes(),
                    parts: vec![("account_name", b"no".as_slice())],
                },
                vec![],
                "part account_name is not a storage account name",
            ),
            (
                Credential {
                    secret: b"AAECAwQFBgcICQoLDA0ODxAREh!!",
                    parts: vec![("account_name", acct)],
                },
                vec![],
                "the account key is not base64",
            ),
            (
                Credential {
                    secret: KEY.as_bytes(),
                    parts: vec![("account_name", acct)],
                },
                vec![("endpoint_suffix".into(), "evil.example/x?".into())],
                "the endpoint suffix is not a domain name",
            ),
        ];
        for (cred, opts, want) in cases {
            let e = AzureStorage.prepare(&cred, &opts, now).unwrap_err();
            assert_eq!(e, want);
            assert!(!e.contains("AAECAwQF"));
        }
    }

    fn resp(status: u16, code: Option<&str>, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: code
                .map(|c| vec![("x-ms-error-code".to_string(), c.to_string())])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn judge_reads_storage_answers() {
        let live = resp(
            200,
            None,
            "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults \
             ServiceEndpoint=\"https://acmelogs749.blob.core.windows.net/\"><MaxResults>1</MaxResults>\
             <Containers /><NextMarker /></EnumerationResults>",
        );
        let v = AzureStorage.judge(&live);
        assert_eq!(v.status, Status::Live);
        assert_eq!(
            v.identity,
            vec![("account".to_string(), "acmelogs749".to_string())]
        );
        let denied = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>\
                      <Message>Server failed to authenticate the request.</Message>\
                      <AuthenticationErrorDetail>The MAC signature found in the HTTP request 'c2lnbmF0dXJlIG9mIHRoZSByZXF1ZXN0IGhlcmU=' \
                      is not the same as any computed signature.</AuthenticationErrorDetail></Error>";
        let skew = "<Error><Code>AuthenticationFailed</Code><AuthenticationErrorDetail>Request date header \
                    too old: 'Sun, 30 Aug 2015 12:36:00 GMT'</AuthenticationErrorDetail></Error>";
        let table = [
            (
                resp(403, Some("AuthenticationFailed"), denied),
                Status::Invalid,
                "the account key was refused",
            ),
            (
                resp(403, None, denied),
                Status::Invalid,
                "the account key was refused",
            ),
            (
                resp(403, Some("AuthenticationFailed"), skew),
                Status::Unknown,
                "clock skew: the request date was refused",
            ),
            (
                resp(403, Some("AuthorizationFailure"), ""),
                Status::Unknown,
                "HTTP 403: AuthorizationFailure",
            ),
            (
                resp(503, Some("ServerBusy"), ""),
                Status::Unknown,
                "HTTP 503: ServerBusy",
            ),
            (
                resp(502, None, "Bad Gateway"),
                Status::Unknown,
                "HTTP 502 without a storage error code",
            ),
            (
                resp(200, None, "<html/>"),
                Status::Unknown,
                "200 without a container list",
            ),
        ];
        for (r, status, reason) in table {
            let v = AzureStorage.judge(&r);
            assert_eq!((v.status, v.reason.as_str()), (status, reason));
        }
    }

    #[test]
    fn judge_never_repeats_an_echoed_secret() {
        let v = AzureStorage.judge(&resp(400, Some(KEY), ""));
        assert!(!v.reason.contains("AAECAwQF"), "{}", v.reason);
        let v = AzureStorage.judge(&resp(
            200,
            None,
            &format!("<EnumerationResults ServiceEndpoint=\"https://{KEY}.blob/\">"),
        ));
        assert_eq!(v.status, Status::Live);
        assert!(v.identity.is_empty());
    }
}
