//! Configuring a [`Validator`]: the builder and its errors.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::{Counters, Inner, Semaphore, Validator};
use crate::net::{self, RateLimiter};
use crate::protocol::ProtocolValidator;
use crate::store::AnswerStore;
use crate::typed::TypedHttp;

/// Configures a [`Validator`].
#[derive(Clone)]
pub struct ValidatorBuilder {
    pub(crate) concurrency: usize,
    pub(crate) timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) allow_internal: bool,
    pub(crate) origin_overrides: Vec<(String, String)>,
    pub(crate) max_retries: u32,
    pub(crate) host_interval: Duration,
    pub(crate) protocols: Vec<Arc<dyn ProtocolValidator>>,
    pub(crate) typed: Vec<&'static dyn TypedHttp>,
    pub(crate) store: Option<Arc<AnswerStore>>,
}

impl fmt::Debug for ValidatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorBuilder")
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("allow_internal", &self.allow_internal)
            .field("origin_overrides", &self.origin_overrides)
            .field("max_retries", &self.max_retries)
            .field("host_interval", &self.host_interval)
            .field(
                "protocols",
                &self.protocols.iter().map(|p| p.kind()).collect::<Vec<_>>(),
            )
            .field(
                "typed",
                &self.typed.iter().map(|t| t.kind()).collect::<Vec<_>>(),
            )
            .field("store", &self.store)
            .finish()
    }
}

impl Default for ValidatorBuilder {
    fn default() -> Self {
        ValidatorBuilder {
            concurrency: 8,
            timeout: Duration::from_secs(10),
            max_response_bytes: 1 << 20,
            allow_internal: false,
            origin_overrides: Vec::new(),
            max_retries: 2,
            host_interval: Duration::from_millis(25),
            protocols: crate::db::databases()
                .into_iter()
                .map(|d| Arc::new(d) as Arc<dyn ProtocolValidator>)
                .collect(),
            typed: Vec::new(),
            store: None,
        }
    }
}

impl ValidatorBuilder {
    /// Requests in flight at once, across every caller (default 8; at least 1). Also the
    /// number of threads [`Validator::validate_all`] uses.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// The deadline of one exchange: connecting, sending, and reading the whole answer
    /// (default 10 s). Past it the credential is `error`. Each retry gets its own; a
    /// protocol validator gets one deadline ([`NetPolicy::deadline`](crate::NetPolicy::deadline)).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// The largest response body read (default 1 MiB). A larger one is `unknown`,
    /// "response too large", and is read no further.
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = n;
        self
    }

    /// Lets requests reach loopback, private, link-local and metadata addresses (default
    /// off: they are refused, after DNS resolution, as `error`).
    pub fn allow_internal(mut self, yes: bool) -> Self {
        self.allow_internal = yes;
        self
    }

    /// Sends requests for the origin `from` (`https://api.github.com`) to the origin `to`
    /// (`https://github.example.com`, `http://127.0.0.1:8080`) instead: for self-hosted
    /// providers and tests. The path and query are kept. The SSRF guard still applies to
    /// the new origin: an internal host needs [`allow_internal`](Self::allow_internal).
    pub fn origin_override(mut self, from: &str, to: &str) -> Self {
        self.origin_overrides
            .push((from.to_string(), to.to_string()));
        self
    }

    /// Retries after a 408, 429, 5xx or a reset connection (default 2), with exponential
    /// backoff from 200 ms, or a 429's `Retry-After` (up to [`MAX_RETRY_AFTER`](crate::MAX_RETRY_AFTER)).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The least time between the starts of two requests to one host (default 25 ms). A 429
    /// doubles the host's interval (from 250 ms, up to 10 s) for the rest of the run.
    pub fn host_interval(mut self, d: Duration) -> Self {
        self.host_interval = d;
        self
    }

    /// Registers a validator for a protocol other than HTTP, used for rules whose
    /// `validate.kind` equals its [`kind`](ProtocolValidator::kind).
    pub fn protocol(mut self, v: Arc<dyn ProtocolValidator>) -> Self {
        // Before the built-in ones: a validator of one's own replaces a built-in kind.
        self.protocols.insert(0, v);
        self
    }

    /// Registers a typed HTTP validator of one's own, used for rules whose `validate.kind`
    /// equals its [`kind`](TypedHttp::kind) before the built-in ones
    /// ([`typed_http`](crate::typed::typed_http)). Its request goes through the same policy.
    pub fn typed_http(mut self, v: &'static dyn TypedHttp) -> Self {
        self.typed.push(v);
        self
    }

    /// Keeps definite answers (`live`, `invalid`) on disk for the store's time to live and
    /// answers from it before asking a provider (default: answers live only as long as the
    /// validator). See [`AnswerStore`].
    pub fn answer_store(mut self, store: AnswerStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Builds the validator (and its HTTP client: rustls, proxies from the environment, no
    /// redirects).
    pub fn build(self) -> Result<Validator, Error> {
        if self.concurrency == 0 {
            return Err(Error::option("concurrency", "must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(Error::option("timeout", "must be more than zero"));
        }
        let mut overrides = Vec::new();
        for (from, to) in &self.origin_overrides {
            overrides.push((
                parse_origin(from)?.origin().ascii_serialization(),
                parse_origin(to)?,
            ));
        }
        let proxy_hosts = net::proxy_hosts_from_env();
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .user_agent(concat!("keysweep-validate/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(net::GuardedResolver {
                proxy_hosts: proxy_hosts.clone(),
                allow_internal: self.allow_internal,
            }))
            .build()
            .map_err(|e| Error {
                kind: ErrorKind::Client(e.without_url().to_string()),
            })?;
        Ok(Validator {
            inner: Arc::new(Inner {
                client,
                limiter: RateLimiter::new(self.host_interval),
                inflight: Semaphore::new(self.concurrency),
                cache: Mutex::new(HashMap::new()),
                stats: Counters::default(),
                overrides,
                proxied: !proxy_hosts.is_empty(),
                config: self,
            }),
        })
    }
}

/// Why a [`Validator`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

/// What went wrong building a [`Validator`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A builder setting is out of range.
    InvalidOption {
        /// The builder method.
        option: &'static str,
        /// What is wrong with its value.
        message: String,
    },
    /// The HTTP client could not be set up.
    Client(String),
}

impl Error {
    fn option(option: &'static str, message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::InvalidOption {
                option,
                message: message.into(),
            },
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::InvalidOption { option, message } => {
                write!(f, "validator: {option}: {message}")
            }
            ErrorKind::Client(m) => write!(f, "validator: cannot set up the HTTP client: {m}"),
        }
    }
}

impl std::error::Error for Error {}

fn parse_origin(s: &str) -> Result<reqwest::Url, Error> {
    let u = reqwest::Url::parse(s)
        .map_err(|e| Error::option("origin_override", format!("{s:?} is not a URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(Error::option(
            "origin_override",
            format!("{s:?} is not an http(s) origin"),
        ));
    }
    if u.path() != "/" || u.query().is_some() {
        return Err(Error::option(
            "origin_override",
            format!("{s:?} must be an origin, without a path"),
        ));
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_rejects_bad_settings() {
        let e = Validator::builder().concurrency(0).build().unwrap_err();
        assert!(e.to_string().contains("concurrency"), "{e}");
        let e = Validator::builder()
            .origin_override("https://api.github.com/user", "http://127.0.0.1:1")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("without a path"), "{e}");
        let e = Validator::builder()
            .origin_override("api.github.com", "http://127.0.0.1:1")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("not a URL"), "{e}");
    }

    #[test]
    fn validators_are_shared_across_threads() {
        fn send_sync<T: Send + Sync + Clone>() {}
        send_sync::<Validator>();
    }
}
