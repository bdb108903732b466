//! Typed validators: credentials whose check needs code (request signing) rather than a
//! request template, but still one HTTP exchange.
//!
//! A rule whose `[rule.validate] kind` is not `http` is looked up with [`typed_http`]; the
//! engine calls [`TypedHttp::prepare`], sends the request through the same transport and
//! policy as template validators (SSRF guard, deadline, size cap, rate limits, retries, no
//! redirects, origin override), and hands the response to [`TypedHttp::judge`].
//!
//! Validators that speak another protocol (databases) implement
//! [`ProtocolValidator`](crate::ProtocolValidator) instead and are registered on the
//! builder.

use std::fmt;

/// A credential as a typed validator sees it: the secret and the finding's parts by name.
pub struct Credential<'a> {
    /// The secret.
    pub secret: &'a [u8],
    /// The finding's other parts (`key_id`, `client_email`, ...).
    pub parts: Vec<(&'a str, &'a [u8])>,
}

/// A request built by a typed validator.
pub struct PreparedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
}

impl fmt::Debug for PreparedRequest {
    // The URL's path and query, the headers and the body may hold the credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match self.url.find("://") {
            Some(i) => {
                let rest = &self.url[i + 3..];
                let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                // Drop any `user:password@`.
                let host = rest[..end].rsplit('@').next().unwrap_or("");
                format!("{}://{host}", &self.url[..i])
            }
            None => "?".to_string(),
        };
        f.debug_struct("PreparedRequest")
            .field("method", &self.method)
            .field("origin", &origin)
            .finish_non_exhaustive()
    }
}

/// A response as a typed validator sees it (the body capped by the engine's size limit).
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// A validator in code whose check is one HTTP exchange.
pub trait TypedHttp: Send + Sync {
    /// The `kind` it implements (`aws`).
    fn kind(&self) -> &'static str;
    /// Builds the request for a credential; `options` are the rule's `[rule.validate]
    /// options`; `now` is the time to sign with.
    fn prepare(
        &self,
        cred: &Credential<'_>,
        options: &[(String, String)],
        now: std::time::SystemTime,
    ) -> Result<PreparedRequest, String>;
    /// Decides what the response says about the credential.
    fn judge(&self, resp: &HttpResponse) -> crate::Validation;
}

/// The typed validator for a `kind`, if there is one.
pub fn typed_http(kind: &str) -> Option<&'static dyn TypedHttp> {
    // aws, gcp-service-account and azure-storage are being written separately.
    let _ = kind;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_method_and_origin_only() {
        let r = PreparedRequest {
            method: "POST".into(),
            url: "https://user:pw-SECRET@sts.example.com/path?X-Amz-Signature=SECRET".into(),
            headers: vec![("Authorization".into(), "SECRET".into())],
            body: b"SECRET".to_vec(),
        };
        let d = format!("{r:?}");
        assert!(
            d.contains("POST") && d.contains("https://sts.example.com"),
            "{d}"
        );
        assert!(!d.contains("SECRET"), "{d}");
    }
}
