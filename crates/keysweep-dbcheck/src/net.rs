//! The connection: resolution, the internal-address guard, and reads and writes under one
//! deadline.

use crate::{Options, Outcome};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// What a protocol step returns when it cannot go on: the final [`Outcome`].
pub(crate) type Step<T> = Result<T, Outcome>;

/// Messages from a server larger than this are refused: authentication never needs them.
pub(crate) const MAX_MESSAGE: usize = 1 << 20;

pub(crate) fn error(reason: impl Into<String>) -> Outcome {
    Outcome::Error {
        reason: reason.into(),
    }
}

pub(crate) fn unknown(reason: impl Into<String>) -> Outcome {
    Outcome::Unknown {
        reason: reason.into(),
    }
}

pub(crate) fn invalid(reason: impl Into<String>) -> Outcome {
    Outcome::Invalid {
        reason: reason.into(),
    }
}

pub(crate) fn live(detail: impl Into<String>) -> Outcome {
    Outcome::Live {
        detail: detail.into(),
    }
}

pub(crate) fn display_host(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The byte stream: TCP, or TLS over it after [`Conn::start_tls`].
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
}

/// A TCP connection, possibly upgraded to TLS, whose every operation ends by the deadline.
pub(crate) struct Conn {
    stream: Stream,
    deadline: Instant,
    timeout: Duration,
    buf: Vec<u8>,
    pos: usize,
}

impl Conn {
    /// Resolves `host`, keeps the addresses the guard allows, and connects to the first that
    /// answers.
    pub(crate) fn open(host: &str, port: u16, opts: &Options) -> Step<Conn> {
        let deadline = Instant::now() + opts.timeout;
        let addrs = resolve(host, port, opts.timeout)?;
        let allowed: Vec<SocketAddr> = addrs
            .iter()
            .copied()
            .filter(|a| opts.allow_internal || !is_internal(a.ip()))
            .collect();
        if allowed.is_empty() {
            return Err(match addrs.first() {
                Some(a) => error(format!(
                    "internal address refused (use --allow-internal): {} resolves to {}",
                    host,
                    a.ip()
                )),
                None => error("the host resolves to no address"),
            });
        }
        let mut last = None;
        for addr in allowed {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            match TcpStream::connect_timeout(&addr, remaining) {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(Conn {
                        stream: Stream::Plain(stream),
                        deadline,
                        timeout: opts.timeout,
                        buf: Vec::new(),
                        pos: 0,
                    });
                }
                Err(e) => last = Some(format!("cannot connect to {addr}: {e}")),
            }
        }
        Err(error(last.unwrap_or_else(|| {
            format!("timed out after {:?} before connecting", opts.timeout)
        })))
    }

    fn remaining(&self, what: &str) -> Step<Duration> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(self.timed_out(what));
        }
        Ok(remaining)
    }

    fn timed_out(&self, what: &str) -> Outcome {
        error(format!("timed out after {:?} while {what}", self.timeout))
    }

    fn io_error(&self, what: &str, e: io::Error) -> Outcome {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.timed_out(what),
            io::ErrorKind::UnexpectedEof => {
                error(format!("the server closed the connection while {what}"))
            }
            _ => error(format!("{what}: {e}")),
        }
    }

    /// Sends all of `data`.
    pub(crate) fn send(&mut self, data: &[u8]) -> Step<()> {
        let mut sent = 0;
        while sent < data.len() {
            let remaining = self.remaining("sending")?;
            let _ = self.stream.tcp().set_write_timeout(Some(remaining));
            match self.stream.write(&data[sent..]) {
                Ok(0) => return Err(error("the server closed the connection while sending")),
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error("sending", e)),
            }
        }
        if let Stream::Tls(tls) = &mut self.stream {
            // Records rustls buffered.
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            let _ = tls
                .get_ref()
                .set_write_timeout(Some(remaining.max(Duration::from_millis(1))));
            if let Err(e) = tls.flush() {
                return Err(self.io_error("sending", e));
            }
        }
        Ok(())
    }

    /// Reads more bytes into the buffer; fails at end of stream.
    fn fill(&mut self, what: &str) -> Step<()> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut chunk = [0u8; 4096];
        loop {
            let remaining = self.remaining(what)?;
            let _ = self.stream.tcp().set_read_timeout(Some(remaining));
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(self.io_error(what, io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(what, e)),
            }
        }
    }

    /// Reads exactly `n` bytes (`n` at most [`MAX_MESSAGE`]).
    pub(crate) fn read_exact(&mut self, n: usize, what: &str) -> Step<Vec<u8>> {
        if n > MAX_MESSAGE {
            return Err(error(format!(
                "{what}: the server announced {n} bytes, more than the {MAX_MESSAGE} allowed"
            )));
        }
        while self.buf.len() - self.pos < n {
            self.fill(what)?;
        }
        let out = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        Ok(out)
    }

    /// Reads a line ending in CRLF (returned without it), at most [`MAX_MESSAGE`] bytes.
    pub(crate) fn read_line(&mut self, what: &str) -> Step<Vec<u8>> {
        loop {
            if let Some(end) = self.buf[self.pos..].windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[self.pos..self.pos + end].to_vec();
                self.pos += end + 2;
                return Ok(line);
            }
            if self.buf.len() - self.pos > MAX_MESSAGE {
                return Err(error(format!(
                    "{what}: a line longer than {MAX_MESSAGE} bytes"
                )));
            }
            self.fill(what)?;
        }
    }

    /// Sends `goodbye` (best effort, errors ignored: the answer is already known) and closes.
    pub(crate) fn close(&mut self, goodbye: &[u8]) {
        if !goodbye.is_empty() && self.remaining("closing").is_ok() {
            let _ = self
                .stream
                .tcp()
                .set_write_timeout(Some(Duration::from_millis(500)));
            let _ = self.stream.write(goodbye);
        }
        if let Stream::Tls(tls) = &mut self.stream {
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        let _ = self.stream.tcp().shutdown(Shutdown::Both);
    }

    /// Whether the connection is TLS.
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Upgrades the connection to TLS (see [`crate::tls`] for what is verified). Fails if the
    /// server sent anything the protocol did not ask for before the upgrade: those bytes would
    /// be read as if they had come through TLS (the PostgreSQL CVE-2021-23222 mistake).
    pub(crate) fn start_tls(&mut self, host: &str) -> Step<()> {
        if self.pos != self.buf.len() {
            return Err(error(
                "the server sent unrequested data before the TLS handshake; refused",
            ));
        }
        let tls = crate::tls::client(host).map_err(error)?;
        // The TCP stream moves into the TLS stream; a duplicate of its descriptor holds the
        // place until the handshake is done.
        let tcp = match &self.stream {
            Stream::Plain(tcp) => tcp.try_clone().map_err(|e| error(format!("TLS: {e}")))?,
            Stream::Tls(_) => return Err(error("TLS started twice")),
        };
        let mut stream = rustls::StreamOwned::new(tls, tcp);
        while stream.conn.is_handshaking() {
            let remaining = self.remaining("in the TLS handshake")?;
            let _ = stream.sock.set_read_timeout(Some(remaining));
            let _ = stream.sock.set_write_timeout(Some(remaining));
            if let Err(e) = stream.conn.complete_io(&mut stream.sock) {
                return Err(match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                        self.timed_out("in the TLS handshake")
                    }
                    _ => error(format!("TLS handshake: {e}")),
                });
            }
        }
        self.stream = Stream::Tls(Box::new(stream));
        Ok(())
    }
}

/// The addresses of `host`, by the system resolver in a thread of its own so that a resolver
/// that hangs cannot hold the check past its deadline (the thread finishes on its own).
fn resolve(host: &str, port: u16, timeout: Duration) -> Step<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(
            (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect),
        );
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(error(format!("cannot resolve host: {e}"))),
        Err(_) => Err(error(format!(
            "resolving the host timed out after {timeout:?}"
        ))),
    }
}

/// Addresses a validator must not reach unless told to: loopback, private, shared (CGNAT, which
/// also holds Alibaba's metadata address), link-local (which holds the AWS, GCP and Azure
/// metadata address 169.254.169.254), unspecified, broadcast, multicast, benchmarking and
/// reserved ranges, IPv6 unique-local (AWS's fd00:ec2::254) and link-local, and IPv4 addresses
/// written as IPv6.
pub(crate) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || (seg[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible ::a.b.c.d
                || (seg[0] == 0x64 && seg[1] == 0xff9b) // NAT64 64:ff9b::/96 (may reach anything)
                || (seg[0] == 0x2002) // 6to4, embeds an IPv4 address
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space 100.64.0.0/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking 198.18.0.0/15
        || a >= 240 // reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        let internal = [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.0.170",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ];
        for ip in internal {
            assert!(is_internal(ip.parse().unwrap()), "{ip} should be internal");
        }
        let public = [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "93.184.216.34",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ];
        for ip in public {
            assert!(!is_internal(ip.parse().unwrap()), "{ip} should be public");
        }
    }

    #[test]
    fn refused_before_connecting() {
        let opts = Options {
            timeout: Duration::from_secs(1),
            allow_internal: false,
        };
        let Err(Outcome::Error { reason }) = Conn::open("127.0.0.1", 9, &opts) else {
            panic!("loopback not refused");
        };
        assert!(
            reason.contains("internal address refused (use --allow-internal)"),
            "{reason}"
        );
        let Err(Outcome::Error { reason }) = Conn::open("localhost", 9, &opts) else {
            panic!("localhost not refused");
        };
        assert!(reason.contains("internal address refused"), "{reason}");
    }
}
