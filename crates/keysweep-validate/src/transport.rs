//! Sending one request under the network policy: origin overrides, the SSRF guard, per-host
//! pacing, the concurrency bound, the deadline, the size cap, no redirects, and retries.

use std::io::Read;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::engine::Validator;
use crate::judge::Scrubber;
use crate::net::{self, REFUSED};
use crate::typed::{HttpResponse, PreparedRequest};
use crate::Validation;

/// The longest `Retry-After` honoured; a provider asking for longer gets no retry.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// A request ready to send.
pub(crate) struct Outgoing {
    pub(crate) method: String,
    pub(crate) url: String,
    // Header values are bytes: a template may render any.
    pub(crate) raw_headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
}

impl Validator {
    /// The URL to contact, after origin overrides.
    pub(crate) fn target(&self, url: &str) -> Result<reqwest::Url, Validation> {
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
    ///
    /// A 408 or 5xx answer that `decisive` accepts (a rule's matcher decides it: a provider
    /// that answers a dead key with a 500) is returned, not retried: another try would send
    /// the secret again for the same answer.
    pub(crate) fn send(
        &self,
        out: Outgoing,
        scrub: &Scrubber,
        decisive: &dyn Fn(&HttpResponse) -> bool,
    ) -> Result<HttpResponse, Validation> {
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
                    // Every 429 slows the host down and holds it for its Retry-After, for
                    // this credential's retry and for every other request to it.
                    let hold = (status == 429).then(|| retry_after(resp.headers()));
                    if let Some(after) = hold {
                        let wait = after
                            .unwrap_or_else(|| backoff(attempt))
                            .min(MAX_RETRY_AFTER);
                        self.inner.limiter.throttled(&host, wait);
                    }
                    let retryable = status == 408 || status == 429 || (500..600).contains(&status);
                    if !retryable || attempt >= cfg.max_retries {
                        let r = self.read(resp, &url, started, scrub);
                        drop(permit);
                        return r;
                    }
                    if hold.is_none() {
                        let r = self.read(resp, &url, started, scrub);
                        if r.as_ref().is_ok_and(decisive) {
                            drop(permit);
                            return r;
                        }
                    }
                    match hold {
                        Some(Some(w)) if w > MAX_RETRY_AFTER => {
                            return Err(Validation::unknown(format!(
                                "rate limited (HTTP 429, retry after {}s)",
                                w.as_secs()
                            )))
                        }
                        // The limiter holds the host; the next acquire waits.
                        Some(_) => Duration::ZERO,
                        None => backoff(attempt),
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
    pub(crate) fn from_prepared(p: PreparedRequest) -> Outgoing {
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

fn backoff(attempt: u32) -> Duration {
    BACKOFF_BASE
        .saturating_mul(1 << attempt.min(10))
        .min(BACKOFF_MAX)
}

/// `Retry-After`: seconds, or an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`) from now.
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(v)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Unix seconds of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP sends.
fn http_date(v: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let f: Vec<&str> = v.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = f.as_slice() else {
        return None;
    };
    let d: i64 = day.parse().ok()?;
    let m = MONTHS.iter().position(|x| x == month)? as i64 + 1;
    let y: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [hh, mm, ss] = hms.as_slice() else {
        return None;
    };
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
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
    fn retry_after_dates() {
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            http_date("Wed, 02 Dec 2026 12:00:00 GMT"),
            Some(1_796_212_800)
        );
        assert_eq!(
            http_date("Tue, 29 Feb 2000 00:00:00 GMT"),
            Some(951_782_400)
        );
        assert_eq!(http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            "Thu, 01 Jan 1970 00:00:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&h),
            Some(Duration::ZERO),
            "a date in the past: now"
        );
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(200));
        assert_eq!(backoff(1), Duration::from_millis(400));
        assert_eq!(backoff(20), BACKOFF_MAX);
    }
}
