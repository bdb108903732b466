//! The network policy: which addresses may be contacted (the SSRF guard) and how often a
//! host is asked (the per-host rate limiter).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The reason given when the guard refuses an address.
pub(crate) const REFUSED: &str = "internal address refused (use --allow-internal)";

/// Whether an address is one a validator must not reach unless internal addresses are
/// allowed: loopback, private (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10, where
/// cloud metadata services live), unspecified, multicast, broadcast, CGNAT (100.64/10),
/// documentation and benchmarking ranges, and IPv4 addresses embedded in IPv6 (mapped,
/// compatible, NAT64, 6to4) judged as IPv4.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0                                   // "this network"
        || (a == 100 && (64..128).contains(&b))     // CGNAT
        || (a == 192 && b == 0 && c == 0)           // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19))       // benchmarking
        || a >= 240 // reserved
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return internal_v4(v4);
    }
    // ::a.b.c.d (deprecated IPv4-compatible), 64:ff9b::/96 (NAT64), 2002::/16 (6to4).
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if seg[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        return internal_v4(embedded(seg[6], seg[7]));
    }
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0; 4] {
        return internal_v4(embedded(seg[6], seg[7]));
    }
    if seg[0] == 0x2002 {
        return internal_v4(embedded(seg[1], seg[2]));
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (incl. fd00:ec2::254)
        || (seg[0] & 0xffc0) == 0xfe80 // link-local
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
}

/// A DNS resolver for reqwest that drops internal addresses, so that the address actually
/// connected to passes the guard (a check before the request could be raced by DNS).
/// Proxy hosts from the environment are exempt: the user named them.
pub(crate) struct GuardedResolver {
    pub(crate) proxy_hosts: Vec<String>,
    /// Keep every address (`--allow-internal`).
    pub(crate) allow_internal: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let exempt = self.allow_internal
            || self
                .proxy_hosts
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&host));
        Box::pin(async move {
            let addrs = BlockingLookup::spawn(host).await?;
            let kept: Vec<SocketAddr> = if exempt {
                addrs
            } else {
                addrs.into_iter().filter(|a| !is_internal(a.ip())).collect()
            };
            if kept.is_empty() {
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The resolver's error when every address of a name is internal.
#[derive(Debug)]
pub(crate) struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REFUSED)
    }
}

impl std::error::Error for Refused {}

/// Whether an error (from reqwest, through its sources) is the guard's refusal.
pub(crate) fn is_refusal(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<Refused>() {
            return true;
        }
        cur = err.source();
    }
    false
}

type LookupResult = Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>>;

/// A `getaddrinfo` call on its own thread, awaited without blocking the client's runtime
/// (reqwest's blocking client drives every request on one runtime thread).
struct BlockingLookup {
    state: Arc<Mutex<(Option<LookupResult>, Option<Waker>)>>,
}

impl BlockingLookup {
    fn spawn(host: String) -> BlockingLookup {
        let state = Arc::new(Mutex::new((None, None::<Waker>)));
        let shared = Arc::clone(&state);
        let run = move || {
            let result: LookupResult = (host.as_str(), 0u16)
                .to_socket_addrs()
                .map(|a| a.collect())
                .map_err(|e| e.into());
            let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
            s.0 = Some(result);
            if let Some(w) = s.1.take() {
                w.wake();
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("keysweep-dns".into())
            .spawn(run)
        {
            state.lock().unwrap_or_else(|p| p.into_inner()).0 = Some(Err(e.into()));
        }
        BlockingLookup { state }
    }
}

impl Future for BlockingLookup {
    type Output = LookupResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LookupResult> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.0.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The hosts of the proxies named in the environment (`HTTPS_PROXY`, `HTTP_PROXY`,
/// `ALL_PROXY`, either case), which the guard lets the client reach.
pub(crate) fn proxy_hosts_from_env() -> Vec<String> {
    let mut hosts = Vec::new();
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        let Ok(v) = std::env::var(var) else { continue };
        let with_scheme = if v.contains("://") {
            v
        } else {
            format!("http://{v}")
        };
        if let Ok(u) = reqwest::Url::parse(&with_scheme) {
            if let Some(h) = u.host_str() {
                hosts.push(h.trim_matches(['[', ']']).to_string());
            }
        }
    }
    hosts
}

/// Per-host pacing: requests to one host start at least `interval` apart; a 429 doubles the
/// host's interval (up to [`MAX_INTERVAL`]) and holds the host for its `Retry-After`.
pub(crate) struct RateLimiter {
    base: Duration,
    hosts: Mutex<HashMap<String, HostPace>>,
}

struct HostPace {
    next: Instant,
    interval: Duration,
}

/// The longest a host's interval grows to after repeated 429s.
pub(crate) const MAX_INTERVAL: Duration = Duration::from_secs(10);
const FIRST_BACKOFF_INTERVAL: Duration = Duration::from_millis(250);

impl RateLimiter {
    pub(crate) fn new(base: Duration) -> RateLimiter {
        RateLimiter {
            base,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for this host's next slot, and books the one after it.
    pub(crate) fn acquire(&self, host: &str) {
        let wait = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let pace = hosts.entry(host.to_string()).or_insert(HostPace {
                next: now,
                interval: self.base,
            });
            let slot = pace.next.max(now);
            pace.next = slot + pace.interval;
            slot - now
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }

    /// The host answered 429: slow down, and wait at least `retry_after` before the next.
    pub(crate) fn throttled(&self, host: &str, retry_after: Duration) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let pace = hosts.entry(host.to_string()).or_insert(HostPace {
            next: now,
            interval: self.base,
        });
        pace.interval = (pace.interval * 2)
            .max(FIRST_BACKOFF_INTERVAL)
            .min(MAX_INTERVAL);
        pace.next = pace.next.max(now + retry_after);
    }

    /// The host's current interval.
    #[cfg(test)]
    pub(crate) fn interval(&self, host: &str) -> Duration {
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts.get(host).map_or(self.base, |p| p.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip} should be internal");
        }
        for ip in [
            "140.82.112.6",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip} should be public");
        }
    }

    #[test]
    fn a_429_widens_the_interval_and_holds_the_host() {
        let rl = RateLimiter::new(Duration::from_millis(0));
        assert_eq!(rl.interval("a"), Duration::ZERO);
        rl.throttled("a", Duration::from_millis(0));
        assert_eq!(rl.interval("a"), FIRST_BACKOFF_INTERVAL);
        rl.throttled("a", Duration::from_millis(0));
        assert_eq!(rl.interval("a"), FIRST_BACKOFF_INTERVAL * 2);
        for _ in 0..20 {
            rl.throttled("a", Duration::ZERO);
        }
        assert_eq!(rl.interval("a"), MAX_INTERVAL);
        assert_eq!(
            rl.interval("b"),
            Duration::ZERO,
            "other hosts are not slowed"
        );
        // Pacing: the second request to a host starts at least one interval after the first
        // (a lower bound, which sleeping guarantees), and other hosts do not wait.
        let rl = RateLimiter::new(Duration::from_millis(150));
        let start = Instant::now();
        rl.acquire("p");
        rl.acquire("q");
        rl.acquire("p");
        assert!(start.elapsed() >= Duration::from_millis(150));
        // Booking: the second slot of a paced host is one interval after the first.
        let rl = RateLimiter::new(Duration::from_secs(3600));
        rl.acquire("h");
        let next = rl.hosts.lock().unwrap().get("h").unwrap().next;
        assert!(next > Instant::now() + Duration::from_secs(3000));
    }
}
