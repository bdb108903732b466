//! The validation engine: renders requests, sends them under the network policy, caches
//! the outcome per credential, and revokes.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use keysweep::{Finding, RequestSpec, Rule};
use sha2::{Digest, Sha256};

use crate::judge::{self, Scrubber};
use crate::net::{self, RateLimiter, REFUSED};
use crate::template::{Context, RenderError, Template};
use crate::typed::{self, Credential, HttpResponse, PreparedRequest};
use crate::{Status, Validation};

/// The longest `Retry-After` honoured; a provider asking for longer gets no retry.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// A validator for a protocol other than HTTP (PostgreSQL, MySQL, Redis, MongoDB, SSH), for
/// rules whose `[rule.validate] kind` names it. Registered with
/// [`ValidatorBuilder::protocol`]; it shares the engine's cache (one check per credential)
/// and must honour its network policy through the [`NetPolicy`] it is given: resolve hosts
/// with [`NetPolicy::resolve`] (which applies the SSRF guard) and give up by
/// [`NetPolicy::deadline`].
pub trait ProtocolValidator: Send + Sync {
    /// The `kind` it implements (`postgres`).
    fn kind(&self) -> &'static str;
    /// Connects and authenticates (running nothing), and says what that showed. The reason
    /// and identity must not contain the secret; the engine scrubs them again anyway.
    fn validate(
        &self,
        cred: &Credential<'_>,
        options: &[(String, String)],
        net: &NetPolicy,
    ) -> Validation;
}

/// The network policy a [`ProtocolValidator`] must follow.
#[derive(Clone, Debug)]
pub struct NetPolicy {
    allow_internal: bool,
    deadline: Instant,
}

impl NetPolicy {
    /// When the check must be over.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Resolves `host:port`, keeping only addresses the SSRF guard allows. `Err` is the
    /// [`Validation`] to return (`error`, "internal address refused ...", or the lookup
    /// failure).
    pub fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Validation> {
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|e| Validation::error(format!("cannot resolve the host: {}", e.kind())))?
            .collect();
        let kept: Vec<SocketAddr> = addrs
            .iter()
            .copied()
            .filter(|a| self.allow_internal || !net::is_internal(a.ip()))
            .collect();
        if kept.is_empty() && !addrs.is_empty() {
            return Err(Validation::error(REFUSED));
        }
        Ok(kept)
    }
}

/// Configures a [`Validator`].
#[derive(Clone)]
pub struct ValidatorBuilder {
    concurrency: usize,
    timeout: Duration,
    max_response_bytes: usize,
    allow_internal: bool,
    origin_overrides: Vec<(String, String)>,
    max_retries: u32,
    host_interval: Duration,
    protocols: Vec<Arc<dyn ProtocolValidator>>,
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
            protocols: Vec::new(),
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
    /// (default 10 s). Past it the credential is `error`.
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
    /// backoff from 200 ms, or a 429's `Retry-After` (up to [`MAX_RETRY_AFTER`]).
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
        self.protocols.push(v);
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

/// What the engine did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Validations answered from the cache (or by waiting for a concurrent caller's).
    pub cache_hits: u64,
    /// Distinct credentials checked.
    pub checked: u64,
    /// Requests refused by the SSRF guard.
    pub refused: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    cache_hits: AtomicU64,
    checked: AtomicU64,
    refused: AtomicU64,
}

/// What [`Validator::revoke`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevokeOutcome {
    /// A dry run: the request that would be sent, with the secret and the parts replaced by
    /// `[REDACTED]`.
    DryRun(RedactedRequest),
    /// The provider confirmed the revocation (a `done` matcher held).
    Revoked {
        /// `HTTP 202: revoked`.
        reason: String,
    },
    /// The provider answered, but no `done` matcher held.
    NotRevoked {
        /// The status and a short scrubbed excerpt of the answer.
        reason: String,
    },
    /// The rule has no `[rule.revoke]`, or the finding lacks a part it needs.
    Unsupported {
        /// Which.
        reason: String,
    },
    /// The request failed (refused by the SSRF guard, timed out, connection failed).
    Error {
        /// What failed.
        reason: String,
    },
}

/// A request as a dry run shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedactedRequest {
    /// The method.
    pub method: String,
    /// The URL (after any origin override).
    pub url: String,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The body, as text.
    pub body: String,
}

impl fmt::Display for RedactedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.method, self.url)?;
        for (n, v) in &self.headers {
            writeln!(f, "{n}: {v}")?;
        }
        if !self.body.is_empty() {
            writeln!(f)?;
            writeln!(f, "{}", self.body)?;
        }
        Ok(())
    }
}

/// Checks found credentials against their providers, once per distinct credential.
///
/// Cheap to clone (an `Arc` inside); `Send + Sync`: share one across threads, so that they
/// share the cache, the concurrency bound and the per-host rate limits.
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::blocking::Client,
    config: ValidatorBuilder,
    overrides: Vec<(String, reqwest::Url)>,
    proxied: bool,
    limiter: RateLimiter,
    inflight: Semaphore,
    cache: Mutex<HashMap<[u8; 32], Arc<Slot>>>,
    stats: Counters,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// One cache entry; a caller that finds it empty waits for the caller filling it.
struct Slot {
    value: Mutex<Option<Validation>>,
    ready: Condvar,
}

/// Fills a slot even if the check panics, so that waiters do not wait forever.
struct Fill<'a>(&'a Slot, Option<Validation>);

impl Drop for Fill<'_> {
    fn drop(&mut self) {
        let v = self
            .1
            .take()
            .unwrap_or_else(|| Validation::error("the validator failed (panicked)"));
        *self.0.value.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
        self.0.ready.notify_all();
    }
}

struct Semaphore {
    free: Mutex<usize>,
    cv: Condvar,
}

struct Permit<'a>(&'a Semaphore);

impl Semaphore {
    fn new(n: usize) -> Semaphore {
        Semaphore {
            free: Mutex::new(n),
            cv: Condvar::new(),
        }
    }

    fn acquire(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.cv.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.cv.notify_one();
    }
}

/// A request ready to send.
struct Outgoing {
    method: String,
    url: String,
    // Header values are bytes: a template may render any.
    raw_headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Validator {
    /// A builder with the defaults.
    pub fn builder() -> ValidatorBuilder {
        ValidatorBuilder::default()
    }

    /// What the engine did so far.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.stats;
        Stats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            cache_hits: c.cache_hits.load(Ordering::Relaxed),
            checked: c.checked.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
        }
    }

    /// Checks one finding with its rule's validator. The first call for a credential (rule
    /// id, secret and parts) checks it; later and concurrent calls get that answer.
    pub fn validate(&self, rule: &Rule, finding: &Finding) -> Validation {
        let key = cache_key(rule, finding);
        let (slot, first) = {
            let mut cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
            match cache.get(&key) {
                Some(s) => (Arc::clone(s), false),
                None => {
                    let s = Arc::new(Slot {
                        value: Mutex::new(None),
                        ready: Condvar::new(),
                    });
                    cache.insert(key, Arc::clone(&s));
                    (s, true)
                }
            }
        };
        if first {
            self.inner.stats.checked.fetch_add(1, Ordering::Relaxed);
            let mut fill = Fill(&slot, None);
            fill.1 = Some(self.check(rule, finding));
            drop(fill);
        } else {
            self.inner.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        let mut v = slot.value.lock().unwrap_or_else(|p| p.into_inner());
        while v.is_none() {
            v = slot.ready.wait(v).unwrap_or_else(|p| p.into_inner());
        }
        v.clone()
            .unwrap_or_else(|| Validation::error("unreachable: empty cache slot"))
    }

    /// Checks many findings on up to [`concurrency`](ValidatorBuilder::concurrency)
    /// threads; the answers are in the order of `items`.
    pub fn validate_all(&self, items: &[(&Rule, &Finding)]) -> Vec<Validation> {
        let threads = self.inner.config.concurrency.min(items.len()).max(1);
        let next = AtomicUsize::new(0);
        let mut done: Vec<(usize, Validation)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some((rule, finding)) = items.get(i) else {
                                break;
                            };
                            out.push((i, self.validate(rule, finding)));
                        }
                        out
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_else(|_| Vec::new()))
                .collect()
        });
        done.sort_by_key(|(i, _)| *i);
        let mut out: Vec<Validation> = Vec::with_capacity(items.len());
        let mut it = done.into_iter().peekable();
        for i in 0..items.len() {
            match it.next_if(|(j, _)| *j == i) {
                Some((_, v)) => out.push(v),
                None => out.push(Validation::error("the validator failed (panicked)")),
            }
        }
        out
    }

    fn check(&self, rule: &Rule, finding: &Finding) -> Validation {
        let parts = parts_of(finding);
        let scrub = Scrubber::new(&finding.secret, &parts, Vec::new());
        let v = self.check_unscrubbed(rule, finding, &parts);
        // Whatever produced it, nothing shown may hold the secret or its parts.
        Validation {
            status: v.status,
            reason: judge::identity_value(&v.reason, &scrub),
            identity: v
                .identity
                .into_iter()
                .map(|(k, val)| {
                    (
                        judge::identity_value(&k, &scrub),
                        judge::identity_value(&val, &scrub),
                    )
                })
                .collect(),
        }
    }

    fn check_unscrubbed(
        &self,
        rule: &Rule,
        finding: &Finding,
        parts: &[(&str, &[u8])],
    ) -> Validation {
        let Some(spec) = &rule.validate else {
            return Validation::unknown(format!("rule {} has no validator", rule.id));
        };
        let cred = Credential {
            secret: &finding.secret,
            parts: parts.to_vec(),
        };
        let now = SystemTime::now();
        if spec.kind == "http" {
            let Some(req) = &spec.request else {
                return Validation::unknown("http validator without a request");
            };
            let mut derived = Vec::new();
            let out = match render_request(req, &cred, now, false, &mut derived) {
                Ok(o) => o,
                Err(v) => return v,
            };
            let scrub = Scrubber::new(&finding.secret, parts, derived);
            return match self.send(out, &scrub) {
                Ok(resp) => judge::judge(spec, &resp, &scrub),
                Err(v) => v,
            };
        }
        if let Some(p) = self
            .inner
            .config
            .protocols
            .iter()
            .find(|p| p.kind() == spec.kind)
        {
            let policy = NetPolicy {
                allow_internal: self.inner.config.allow_internal,
                deadline: Instant::now() + self.inner.config.timeout,
            };
            return p.validate(&cred, &spec.options, &policy);
        }
        if let Some(t) = typed::typed_http(&spec.kind) {
            let prepared = match t.prepare(&cred, &spec.options, now) {
                Ok(p) => p,
                Err(e) => return Validation::unknown(format!("{} validator: {e}", spec.kind)),
            };
            let scrub = Scrubber::new(&finding.secret, parts, Vec::new());
            return match self.send(Outgoing::from_prepared(prepared), &scrub) {
                Ok(resp) => t.judge(&resp),
                Err(v) => v,
            };
        }
        Validation::unknown(format!("no validator for kind {}", spec.kind))
    }

    /// Revokes a finding's credential with its rule's `[rule.revoke]` request; with
    /// `dry_run`, only shows that request, the secret and the parts replaced by
    /// `[REDACTED]`. Never cached, never retried on its own beyond the engine's retry
    /// policy.
    pub fn revoke(&self, rule: &Rule, finding: &Finding, dry_run: bool) -> RevokeOutcome {
        let Some(spec) = &rule.revoke else {
            return RevokeOutcome::Unsupported {
                reason: format!("rule {} has no revocation request", rule.id),
            };
        };
        let parts = parts_of(finding);
        let cred = Credential {
            secret: &finding.secret,
            parts: parts.clone(),
        };
        let mut derived = Vec::new();
        let now = SystemTime::now();
        if dry_run {
            let out = match render_request(&spec.request, &cred, now, true, &mut derived) {
                Ok(o) => o,
                Err(v) => return RevokeOutcome::Unsupported { reason: v.reason },
            };
            let scrub = Scrubber::new(&finding.secret, &parts, derived);
            let url = match self.target(&out.url) {
                Ok(u) => u.to_string(),
                Err(_) => out.url.clone(),
            };
            return RevokeOutcome::DryRun(RedactedRequest {
                method: out.method.clone(),
                url: scrub.text(&url),
                headers: out
                    .raw_headers
                    .iter()
                    .map(|(n, v)| (n.clone(), scrub.text(&String::from_utf8_lossy(v))))
                    .collect(),
                body: scrub.text(&String::from_utf8_lossy(&out.body)),
            });
        }
        let out = match render_request(&spec.request, &cred, now, false, &mut derived) {
            Ok(o) => o,
            Err(v) => return RevokeOutcome::Unsupported { reason: v.reason },
        };
        let scrub = Scrubber::new(&finding.secret, &parts, derived);
        match self.send(out, &scrub) {
            Err(v) => RevokeOutcome::Error { reason: v.reason },
            Ok(resp) => {
                let v = judge::decide(&spec.done, &[], &[], &resp, &scrub);
                if v.status == Status::Live {
                    RevokeOutcome::Revoked {
                        reason: format!("HTTP {}: revoked", resp.status),
                    }
                } else {
                    RevokeOutcome::NotRevoked {
                        reason: format!(
                            "HTTP {}: not confirmed as revoked: {}",
                            resp.status,
                            judge::excerpt(&resp.body, &scrub)
                        ),
                    }
                }
            }
        }
    }

    /// The URL to contact, after origin overrides.
    fn target(&self, url: &str) -> Result<reqwest::Url, Validation> {
        let mut u = reqwest::Url::parse(url)
            .map_err(|e| Validation::error(format!("the rendered URL is not a URL ({e})")))?;
        let origin = u.origin().ascii_serialization();
        if let Some((_, to)) = self
            .inner
            .overrides
            .iter()
            .find(|(from, _)| *from == origin)
        {
            let ok = u.set_scheme(to.scheme()).is_ok()
                && u.set_host(to.host_str()).is_ok()
                && u.set_port(to.port()).is_ok();
            if !ok {
                return Err(Validation::error(
                    "the origin override could not be applied",
                ));
            }
        }
        if !matches!(u.scheme(), "http" | "https") {
            return Err(Validation::error(format!(
                "scheme {} is not http(s)",
                u.scheme()
            )));
        }
        Ok(u)
    }

    /// Refuses an IP-literal URL the guard forbids (the resolver only sees names), and, when
    /// a proxy resolves names for us, a name that resolves here to an internal address.
    fn guard_host(&self, url: &reqwest::Url) -> Result<(), Validation> {
        if self.inner.config.allow_internal {
            return Ok(());
        }
        let refuse = || {
            self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
            Err(Validation::error(REFUSED))
        };
        let host = url.host_str().unwrap_or("");
        // An IPv6 literal's host is written in brackets.
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return if net::is_internal(ip) {
                refuse()
            } else {
                Ok(())
            };
        }
        if self.inner.proxied {
            let port = url.port_or_known_default().unwrap_or(443);
            if let Ok(addrs) = (host, port).to_socket_addrs() {
                if addrs.into_iter().any(|a| net::is_internal(a.ip())) {
                    return refuse();
                }
            }
        }
        Ok(())
    }

    /// Sends a request under the policy: guard, rate limit, concurrency bound, deadline,
    /// size cap, retries. `Err` is the validation to report (`error` or `unknown`).
    fn send(&self, out: Outgoing, scrub: &Scrubber) -> Result<HttpResponse, Validation> {
        let cfg = &self.inner.config;
        let url = self.target(&out.url)?;
        self.guard_host(&url)?;
        let host = url.host_str().unwrap_or("").to_string();
        let method = reqwest::Method::from_bytes(out.method.as_bytes())
            .map_err(|_| Validation::error(format!("method {:?} is not valid", out.method)))?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &out.raw_headers {
            let n = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Validation::error(format!("header name {name:?} is not valid")))?;
            let v = reqwest::header::HeaderValue::from_bytes(value).map_err(|_| {
                Validation::error(format!("header {name} renders a value HTTP cannot carry"))
            })?;
            headers.append(n, v);
        }
        let mut attempt = 0u32;
        loop {
            self.inner.limiter.acquire(&host);
            let permit = self.inner.inflight.acquire();
            self.inner.stats.requests.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let sent = self
                .inner
                .client
                .request(method.clone(), url.clone())
                .headers(headers.clone())
                .body(out.body.clone())
                .send();
            let retry_wait = match sent {
                Err(e) => {
                    let e = e.without_url();
                    if net::is_refusal(&e) {
                        self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
                        return Err(Validation::error(REFUSED));
                    }
                    if e.is_timeout() {
                        return Err(Validation::error(format!(
                            "timed out (deadline {:?})",
                            cfg.timeout
                        )));
                    }
                    if !is_reset(&e) || attempt >= cfg.max_retries {
                        return Err(Validation::error(format!(
                            "request to {host} failed: {}",
                            scrub.text(&error_chain(&e))
                        )));
                    }
                    backoff(attempt)
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retryable = status == 408 || status == 429 || (500..600).contains(&status);
                    if !retryable || attempt >= cfg.max_retries {
                        let r = self.read(resp, &url, started, scrub);
                        drop(permit);
                        return r;
                    }
                    if status == 429 {
                        let wait = match retry_after(resp.headers()) {
                            Some(w) if w > MAX_RETRY_AFTER => {
                                return Err(Validation::unknown(format!(
                                    "rate limited (HTTP 429, retry after {}s)",
                                    w.as_secs()
                                )))
                            }
                            Some(w) => w,
                            None => backoff(attempt),
                        };
                        // The limiter holds the host for `wait`; the next acquire waits.
                        self.inner.limiter.throttled(&host, wait);
                        Duration::ZERO
                    } else {
                        backoff(attempt)
                    }
                }
            };
            drop(permit);
            attempt += 1;
            self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(retry_wait);
        }
    }

    fn read(
        &self,
        mut resp: reqwest::blocking::Response,
        url: &reqwest::Url,
        started: Instant,
        scrub: &Scrubber,
    ) -> Result<HttpResponse, Validation> {
        let cfg = &self.inner.config;
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            let to = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "an unreadable location".into());
            return Err(Validation::unknown(format!(
                "HTTP {status}: redirected to {} (not followed)",
                scrub.text(&to)
            )));
        }
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let too_large = || {
            Validation::unknown(format!(
                "response too large (over {} bytes)",
                cfg.max_response_bytes
            ))
        };
        if resp
            .content_length()
            .is_some_and(|n| n > cfg.max_response_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            if started.elapsed() > cfg.timeout {
                return Err(Validation::error(format!(
                    "timed out (deadline {:?})",
                    cfg.timeout
                )));
            }
            match resp.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if body.len() + n > cfg.max_response_bytes {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                        || e.get_ref()
                            .and_then(|r| r.downcast_ref::<reqwest::Error>())
                            .is_some_and(|r| r.is_timeout());
                    return Err(Validation::error(if timed_out {
                        format!("timed out (deadline {:?})", cfg.timeout)
                    } else {
                        format!("reading the response failed: {}", e.kind())
                    }));
                }
            }
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

impl Outgoing {
    fn from_prepared(p: PreparedRequest) -> Outgoing {
        Outgoing {
            raw_headers: p
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
                .collect(),
            method: p.method,
            url: p.url,
            body: p.body,
        }
    }
}

fn parts_of(finding: &Finding) -> Vec<(&str, &[u8])> {
    finding
        .parts
        .iter()
        .map(|p| (&*p.name, p.value.as_slice()))
        .collect()
}

/// SHA-256 over the rule id, the secret and the parts, each length-prefixed: the cache never
/// holds a secret in plain text, and two rules never share an answer.
fn cache_key(rule: &Rule, finding: &Finding) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    };
    field(b"keysweep-validate/1");
    field(rule.id.as_bytes());
    field(&finding.secret);
    let mut parts = parts_of(finding);
    parts.sort();
    for (n, v) in parts {
        field(n.as_bytes());
        field(v);
    }
    h.finalize().into()
}

/// Renders a request spec. `Err` is `unknown` with "missing part NAME", or an invalid
/// template (which [`crate::check_rule`] would have caught).
fn render_request(
    req: &RequestSpec,
    cred: &Credential<'_>,
    now: SystemTime,
    redact: bool,
    derived: &mut Vec<Vec<u8>>,
) -> Result<Outgoing, Validation> {
    let ctx = Context {
        secret: cred.secret,
        parts: &cred.parts,
        now,
    };
    let render =
        |field: &str, src: &str, derived: &mut Vec<Vec<u8>>| -> Result<Vec<u8>, Validation> {
            let t = Template::parse(src)
                .map_err(|e| Validation::unknown(format!("template {field}: {e}")))?;
            t.render(&ctx, redact, derived).map_err(|e| match e {
                RenderError::MissingPart(n) => Validation::unknown(format!("missing part {n}")),
            })
        };
    let url = render("url", &req.url, derived)?;
    let url = String::from_utf8(url)
        .map_err(|_| Validation::unknown("the URL renders as invalid UTF-8"))?;
    let mut raw_headers = Vec::new();
    for (name, value) in &req.headers {
        raw_headers.push((
            name.clone(),
            render(&format!("headers.{name}"), value, derived)?,
        ));
    }
    let body = match &req.body {
        Some(b) => render("body", b, derived)?,
        None => Vec::new(),
    };
    Ok(Outgoing {
        method: req.method.clone(),
        url,
        raw_headers,
        body,
    })
}

fn backoff(attempt: u32) -> Duration {
    BACKOFF_BASE
        .saturating_mul(1 << attempt.min(10))
        .min(BACKOFF_MAX)
}

/// `Retry-After` in seconds (an HTTP date is not honoured: backoff applies).
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<u64>().ok().map(Duration::from_secs)
}

fn is_reset(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                return true;
            }
        }
        // hyper's "connection closed before message completed".
        if err
            .to_string()
            .contains("connection closed before message completed")
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// An error and its sources, `: `-joined (reqwest's own message alone says little).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(200));
        assert_eq!(backoff(1), Duration::from_millis(400));
        assert_eq!(backoff(20), BACKOFF_MAX);
    }

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
}
