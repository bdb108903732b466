//! Container images pulled from a registry through the OCI distribution API, for keysweep's
//! image scan ([`keysweep_source::ImageScan::run_remote`]): nothing is written to disk; each
//! layer is streamed from the registry into the scanner, and verified against its digest as
//! it is read.
//!
//! - [`Reference`]: `[registry[:port]/]repository[:tag][@sha256:HEX]`, read as `docker pull`
//!   reads it (Docker Hub and `library/` by default, tag `latest`).
//! - [`Puller`]: fetches the manifest (an OCI index or manifest, a Docker manifest list or
//!   manifest), chooses the [`Platform`] from an index (`linux/amd64` by default, or all),
//!   and returns a [`PulledImage`] to scan.
//! - Authentication: anonymous first; on `401` the `WWW-Authenticate` challenge is answered
//!   (a bearer token from the realm it names, or Basic) with the credential
//!   [`CredentialFiles`] finds for the registry: Podman's `auth.json` and Docker's
//!   `config.json` (`auths`, `credHelpers`, `credsStore`).
//! - HTTPS only (rustls; certificates checked against the system's trust store), unless the
//!   registry's host is named [insecure](Puller::insecure). No credential or token appears in
//!   an error or in `Debug` output.
//!
//! ```no_run
//! use keysweep::{RuleSet, Scanner};
//! use keysweep_registry::{Puller, Reference};
//! use keysweep_source::{Collect, ImageScan};
//!
//! let image = Puller::new().pull(&Reference::parse("alpine:3.20")?)?;
//! let sink = Collect::default();
//! ImageScan::new(Scanner::new(RuleSet::builtin())?).run_remote(&image, &sink)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod auth;
mod client;
mod platform;
mod reference;
mod scan;

pub use auth::{Credential, CredentialFiles};
pub use client::{PulledImage, Puller};
pub use platform::Platform;
pub use reference::Reference;
pub use scan::{is_reference, scan_image};

use std::fmt;

/// Why an image could not be pulled. The message names the reference or file and never holds
/// a credential.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// What kind of thing failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not an image reference.
    Reference,
    /// The text is not a platform.
    Platform,
    /// A credential file or helper could not be read.
    Credentials,
    /// The registry asked for credentials and refused the ones given (or none were found).
    Auth,
    /// The registry could not be reached, or answered with an error.
    Http,
    /// The manifest or index is not one keysweep reads, or lists nothing for the platform.
    Manifest,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: String) -> Error {
        Error { kind, message }
    }

    /// What kind of thing failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
