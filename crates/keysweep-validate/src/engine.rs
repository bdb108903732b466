//! The validation engine: renders requests, sends them under the network policy, caches
//! the outcome per credential, and revokes.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Instant, SystemTime};

use keysweep::{Finding, RequestSpec, Rule};
use sha2::{Digest, Sha256};

use crate::builder::ValidatorBuilder;
use crate::judge::{self, Scrubber};
use crate::net::RateLimiter;
use crate::protocol::NetPolicy;
use crate::ssh::{self, SshTarget};
use crate::template::{Context, RenderError, Template};
use crate::transport::Outgoing;
use crate::typed::{self, Credential, HttpResponse};
use crate::{Status, Validation};

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
    /// Credentials answered from the [`AnswerStore`](crate::AnswerStore) on disk.
    pub stored_hits: u64,
    /// Reads or writes of the answer store that failed (each then counts as a miss); the
    /// first failure is in [`Validator::store_error`].
    pub store_errors: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) checked: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) stored_hits: AtomicU64,
    pub(crate) store_errors: AtomicU64,
    pub(crate) first_store_error: Mutex<Option<crate::StoreError>>,
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
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: reqwest::blocking::Client,
    pub(crate) config: ValidatorBuilder,
    pub(crate) overrides: Vec<(String, reqwest::Url)>,
    pub(crate) proxied: bool,
    pub(crate) limiter: RateLimiter,
    pub(crate) inflight: Semaphore,
    pub(crate) cache: Mutex<HashMap<[u8; 32], Arc<Slot>>>,
    pub(crate) stats: Counters,
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
pub(crate) struct Slot {
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

pub(crate) struct Semaphore {
    free: Mutex<usize>,
    cv: Condvar,
}

pub(crate) struct Permit<'a>(&'a Semaphore);

impl Semaphore {
    pub(crate) fn new(n: usize) -> Semaphore {
        Semaphore {
            free: Mutex::new(n),
            cv: Condvar::new(),
        }
    }

    pub(crate) fn acquire(&self) -> Permit<'_> {
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
            stored_hits: c.stored_hits.load(Ordering::Relaxed),
            store_errors: c.store_errors.load(Ordering::Relaxed),
        }
    }

    /// The first failure of the answer store (its path and what failed), if any. The
    /// validator goes on without it: a failed read asks the provider, a failed write is lost.
    pub fn store_error(&self) -> Option<crate::StoreError> {
        self.inner
            .stats
            .first_store_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Checks one finding with its rule's validator (`rule` is the finding's rule:
    /// `rules.get(&finding.rule_id)`). The first call for a credential (rule id, secret and
    /// parts) checks it; later and concurrent calls get that answer. A rule without
    /// `[rule.validate]` gives `unknown`.
    pub fn validate(&self, rule: &Rule, finding: &Finding) -> Validation {
        self.validate_at(rule, finding, &[])
    }

    /// [`validate`](Self::validate), with the SSH hosts to try a private key on: for rules of
    /// `kind = "ssh"` (usually [`ssh::targets_in`](crate::ssh::targets_in) of the file the key
    /// was found in). **This logs in to those hosts** with the key (and disconnects, running
    /// nothing). Other kinds ignore `targets`. Without targets an SSH key is `unknown`, "no host
    /// named in the file". The targets are part of the cache key.
    pub fn validate_at(&self, rule: &Rule, finding: &Finding, targets: &[SshTarget]) -> Validation {
        let key = cache_key(rule, finding, targets);
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
            let mut fill = Fill(&slot, None);
            fill.1 = Some(self.check_stored(rule, finding, &key, targets));
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

    /// Answers from the answer store if it has a live answer, else checks and stores a
    /// definite answer.
    fn check_stored(
        &self,
        rule: &Rule,
        finding: &Finding,
        key: &[u8; 32],
        targets: &[crate::ssh::SshTarget],
    ) -> Validation {
        let stats = &self.inner.stats;
        let Some(store) = &self.inner.config.store else {
            stats.checked.fetch_add(1, Ordering::Relaxed);
            return self.check(rule, finding, targets);
        };
        let key = self.stored_key(rule, key);
        let failed = |e: crate::StoreError| {
            stats.store_errors.fetch_add(1, Ordering::Relaxed);
            let mut first = stats
                .first_store_error
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            first.get_or_insert(e);
        };
        match store.get(&key, SystemTime::now()) {
            Ok(Some(v)) => {
                stats.stored_hits.fetch_add(1, Ordering::Relaxed);
                return v;
            }
            Ok(None) => {}
            Err(e) => failed(e),
        }
        stats.checked.fetch_add(1, Ordering::Relaxed);
        let v = self.check(rule, finding, targets);
        if let Err(e) = store.put(&key, &v, SystemTime::now()) {
            failed(e);
        }
        v
    }

    /// The answer store's key: the in-memory key, the rule's validator and where its
    /// requests go (origin overrides, internal addresses), so that an answer is reused only
    /// for the same question asked of the same server.
    fn stored_key(&self, rule: &Rule, key: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut field = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        field(b"keysweep-validate/store/1");
        field(key);
        field(format!("{:?}", rule.validate).as_bytes());
        let config = &self.inner.config;
        field(format!("{:?}", config.origin_overrides).as_bytes());
        field(&[u8::from(config.allow_internal)]);
        h.finalize().into()
    }

    /// Checks many findings on up to [`concurrency`](ValidatorBuilder::concurrency)
    /// threads; the answers are in the order of `items`.
    pub fn validate_all(&self, items: &[(&Rule, &Finding)]) -> Vec<Validation> {
        let items: Vec<(&Rule, &Finding, &[SshTarget])> =
            items.iter().map(|(r, f)| (*r, *f, &[][..])).collect();
        self.validate_all_at(&items)
    }

    /// [`validate_all`](Self::validate_all) with each finding's SSH targets, as
    /// [`validate_at`](Self::validate_at).
    pub fn validate_all_at(&self, items: &[(&Rule, &Finding, &[SshTarget])]) -> Vec<Validation> {
        let threads = self.inner.config.concurrency.min(items.len()).max(1);
        let next = AtomicUsize::new(0);
        let mut done: Vec<(usize, Validation)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some((rule, finding, targets)) = items.get(i) else {
                                break;
                            };
                            out.push((i, self.validate_at(rule, finding, targets)));
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

    fn check(&self, rule: &Rule, finding: &Finding, targets: &[SshTarget]) -> Validation {
        let parts = parts_of(finding);
        let scrub = Scrubber::new(&finding.secret, &parts, Vec::new());
        let v = self.check_unscrubbed(rule, finding, &parts, targets);
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
        targets: &[SshTarget],
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
            let decisive = |r: &HttpResponse| {
                matches!(
                    judge::judge(spec, r, &scrub).status,
                    Status::Live | Status::Invalid
                )
            };
            return match self.send(out, &scrub, &decisive) {
                Ok(resp) => judge::judge(spec, &resp, &scrub),
                Err(v) => v,
            };
        }
        let policy = || {
            NetPolicy::new(
                self.inner.config.allow_internal,
                Instant::now() + self.inner.config.timeout,
            )
        };
        if spec.kind == "ssh" {
            return ssh::validate(&finding.secret, targets, &policy());
        }
        if let Some(p) = self
            .inner
            .config
            .protocols
            .iter()
            .find(|p| p.kind() == spec.kind)
        {
            return p.validate(&cred, &spec.options, &policy());
        }
        let registered = self
            .inner
            .config
            .typed
            .iter()
            .find(|t| t.kind() == spec.kind);
        if let Some(t) = registered
            .copied()
            .or_else(|| typed::typed_http(&spec.kind))
        {
            let prepared = match t.prepare(&cred, &spec.options, now) {
                Ok(p) => p,
                Err(e) => return Validation::unknown(format!("{} validator: {e}", spec.kind)),
            };
            let scrub = Scrubber::new(&finding.secret, parts, Vec::new());
            let decisive =
                |r: &HttpResponse| matches!(t.judge(r).status, Status::Live | Status::Invalid);
            return match self.send(Outgoing::from_prepared(prepared), &scrub, &decisive) {
                Ok(resp) => {
                    let mut v = t.judge(&resp);
                    v.reason = scrub.text(&v.reason);
                    for (_, val) in &mut v.identity {
                        *val = scrub.text(val);
                    }
                    if v.status == Status::Live {
                        // What the credential says of itself (a service account's e-mail):
                        // public parts, not scrubbed.
                        for (k, val) in t.identity(&cred) {
                            if !v.identity.iter().any(|(have, _)| *have == k) {
                                v.identity.push((k, val));
                            }
                        }
                    }
                    v
                }
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
        let decisive = |r: &HttpResponse| {
            judge::decide(&spec.done, &[], &[], r, &scrub).status == Status::Live
        };
        match self.send(out, &scrub, &decisive) {
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
fn cache_key(rule: &Rule, finding: &Finding, targets: &[SshTarget]) -> [u8; 32] {
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
    // Only SSH keys have targets: other credentials keep the key they always had.
    for t in targets {
        field(b"ssh-target");
        field(t.to_string().as_bytes());
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
