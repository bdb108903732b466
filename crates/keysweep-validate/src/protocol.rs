//! The hook for validators of protocols other than HTTP (databases, SSH), and the network
//! policy they are handed.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Instant;

use crate::net::{self, REFUSED};
use crate::typed::Credential;
use crate::Validation;

/// A validator for a protocol other than HTTP (PostgreSQL, MySQL, Redis, MongoDB, SSH), for
/// rules whose `[rule.validate] kind` names it. Registered with
/// [`ValidatorBuilder::protocol`](crate::ValidatorBuilder::protocol); it shares the engine's cache (one check per credential)
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
    pub(crate) fn new(allow_internal: bool, deadline: Instant) -> NetPolicy {
        NetPolicy {
            allow_internal,
            deadline,
        }
    }

    /// Whether internal addresses are allowed (`--allow-internal`), for validators that
    /// resolve and guard addresses themselves.
    pub fn allow_internal(&self) -> bool {
        self.allow_internal
    }

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
