//! The registry client: manifests, platform choice, authentication, blobs as streams.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{Cursor, Read};
use std::sync::Mutex;
use std::time::Duration;

use keysweep_source::{Algorithm, ContentDigest, RemoteImage};
use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::auth::{Challenge, Credential, CredentialFiles};
use crate::{Error, ErrorKind, Platform, Reference};

/// Manifests and indexes larger than this are refused (the distribution specification lets
/// registries refuse more than 4 MiB).
const MAX_MANIFEST: u64 = 4 << 20;
/// A token service's answer, an error body: small JSON.
const MAX_SMALL: u64 = 1 << 20;
/// Indexes inside an index are followed this deep.
const MAX_DEPTH: usize = 2;
/// At most this many indexes inside an index are fetched, for one image.
const MAX_INDEX_FETCHES: usize = 256;
/// At most this many descriptors are read from an index and the indexes in it, for one image.
const MAX_DESCRIPTORS: usize = 1024;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Pulls images from registries: where to allow plain HTTP, which platform to take from a
/// multi-platform index, and where credentials are.
///
/// ```
/// use keysweep_registry::{CredentialFiles, Platform, Puller};
///
/// let puller = Puller::new()
///     .insecure(["127.0.0.1:5000"])
///     .platform("linux/arm64".parse::<Platform>()?)
///     .credentials(CredentialFiles::new(vec![]));
/// # Ok::<(), keysweep_registry::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Puller {
    insecure: Vec<String>,
    platform: Platform,
    all_platforms: bool,
    credentials: CredentialFiles,
}

impl Default for Puller {
    fn default() -> Puller {
        Puller::new()
    }
}

impl Puller {
    /// HTTPS to every registry, `linux/amd64` from an index, credentials from
    /// [`CredentialFiles::from_env`].
    pub fn new() -> Puller {
        Puller {
            insecure: Vec::new(),
            platform: Platform::default(),
            all_platforms: false,
            credentials: CredentialFiles::from_env(),
        }
    }

    /// Registries (`host` or `host:port`, as references name them) spoken to over plain HTTP.
    /// Credentials sent to them travel unencrypted.
    pub fn insecure<I, S>(mut self, registries: I) -> Puller
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.insecure = registries.into_iter().map(Into::into).collect();
        self
    }

    /// The platform taken from a multi-platform index (`linux/amd64` by default).
    pub fn platform(mut self, platform: Platform) -> Puller {
        self.platform = platform;
        self
    }

    /// Takes every manifest of a multi-platform index instead of one platform's.
    pub fn all_platforms(mut self, yes: bool) -> Puller {
        self.all_platforms = yes;
        self
    }

    /// Where credentials are looked up when a registry asks for them.
    pub fn credentials(mut self, files: CredentialFiles) -> Puller {
        self.credentials = files;
        self
    }

    fn is_insecure(&self, host: &str) -> bool {
        self.insecure.iter().any(|h| h == host)
    }

    /// Fetches the manifest `reference` names (its digest verified), chooses the platform's
    /// manifest if it is an index, and returns the image, ready for
    /// [`ImageScan::run_remote`](keysweep_source::ImageScan::run_remote). Layers are not
    /// fetched here: the scan streams them.
    pub fn pull(&self, reference: &Reference) -> Result<PulledImage, Error> {
        let scheme =
            if self.is_insecure(reference.registry()) || self.is_insecure(reference.api_host()) {
                "http"
            } else {
                "https"
            };
        let http = Client::builder()
            .user_agent(concat!("keysweep/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Http, format!("cannot start an HTTP client: {e}"))
            })?;
        let session = Session {
            http,
            base: format!("{scheme}://{}", reference.api_host()),
            reference: reference.to_string(),
            registry: reference.registry().to_string(),
            repository: reference.repository().to_string(),
            puller: self.clone(),
            auth: Mutex::new(None),
            secrets: Mutex::new(Vec::new()),
        };
        let (top, descriptors, manifests) = self.resolve(&session, reference)?;
        let name = match reference.tagged() {
            Some(tagged) => format!("{tagged}@{top}"),
            None => format!("{}/{}@{top}", reference.registry(), reference.repository()),
        };
        let manifest_digests = descriptors
            .iter()
            .filter_map(|d| d["digest"].as_str().map(str::to_string))
            .collect();
        let index = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": descriptors,
        });
        Ok(PulledImage {
            name,
            tags: reference.tagged().into_iter().collect(),
            index: serde_json::to_vec(&index).unwrap_or_default(),
            manifest_digests,
            manifests,
            session,
        })
    }

    /// The top manifest's digest, the image manifests' descriptors to scan, and the manifests
    /// fetched on the way (by digest).
    #[allow(clippy::type_complexity)]
    fn resolve(
        &self,
        session: &Session,
        reference: &Reference,
    ) -> Result<(String, Vec<Value>, HashMap<String, Vec<u8>>), Error> {
        let fail = |kind, message: String| {
            Error::new(
                kind,
                session.scrub(&format!("{}: {message}", session.reference)),
            )
        };
        let (bytes, media) = session
            .manifest(reference.version())
            .map_err(|e| Error::new(e.kind, session.scrub(&e.message)))?;
        // The digest by the algorithm the reference pins (sha256 when it pins none).
        let algorithm = reference
            .digest()
            .and_then(ContentDigest::parse)
            .map_or(Algorithm::Sha256, |d| d.algorithm());
        let digest = algorithm.digest(&bytes).to_string();
        if let Some(want) = reference.digest() {
            if want != digest {
                return Err(fail(
                    ErrorKind::Manifest,
                    format!(
                        "the registry's manifest is {digest}, not the digest the reference names"
                    ),
                ));
            }
        }
        let top: Value = serde_json::from_slice(&bytes).map_err(|e| {
            fail(
                ErrorKind::Manifest,
                format!("the manifest is not valid JSON: {e}"),
            )
        })?;
        let mut manifests = HashMap::new();
        let descriptors = if top.get("manifests").is_some() {
            let mut choice = Choice::default();
            choice.seen.insert(digest.clone());
            self.choose(session, &top, 0, &mut choice)?;
            let Choice {
                chosen,
                platforms,
                manifests: fetched,
                ..
            } = choice;
            manifests = fetched;
            if chosen.is_empty() {
                let have = if platforms.is_empty() {
                    "none".to_string()
                } else {
                    platforms
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(fail(
                    ErrorKind::Manifest,
                    format!(
                        "the index has no manifest for {}; it has: {have} (--platform chooses one, --all-platforms takes all)",
                        self.platform
                    ),
                ));
            }
            chosen
        } else {
            if top["schemaVersion"].as_u64() == Some(1) {
                return Err(fail(
                    ErrorKind::Manifest,
                    "a Docker schema 1 manifest (deprecated, unsigned digests); not read".into(),
                ));
            }
            let media = top["mediaType"]
                .as_str()
                .map(str::to_string)
                .or(media)
                .unwrap_or_else(|| OCI_MANIFEST.into());
            vec![json!({"mediaType": media, "digest": digest, "size": bytes.len()})]
        };
        manifests.insert(digest.clone(), bytes);
        Ok((digest, descriptors, manifests))
    }

    /// The descriptors of `index` for the platform (all with `all_platforms`), indexes in it
    /// followed, into `choice`. A digest is fetched or chosen once however often indexes list
    /// it; more than [`MAX_INDEX_FETCHES`] indexes or [`MAX_DESCRIPTORS`] descriptors are an
    /// error.
    fn choose(
        &self,
        session: &Session,
        index: &Value,
        depth: usize,
        choice: &mut Choice,
    ) -> Result<(), Error> {
        let list = index["manifests"].as_array().cloned().unwrap_or_default();
        choice.considered += list.len();
        if choice.considered > MAX_DESCRIPTORS {
            return Err(Error::new(
                ErrorKind::Manifest,
                format!(
                    "{}: the index (with the indexes in it) lists more than {MAX_DESCRIPTORS} manifests; not read",
                    session.reference
                ),
            ));
        }
        let any_platform = list.iter().any(|d| Platform::of(d).is_some());
        for d in list {
            let platform = Platform::of(&d);
            if let Some(p) = platform.as_ref().filter(|p| !choice.platforms.contains(p)) {
                choice.platforms.push(p.clone());
            }
            let take = self.all_platforms
                || !any_platform
                || platform.as_ref().is_some_and(|p| self.platform.matches(p));
            if !take {
                continue;
            }
            let media = d["mediaType"].as_str().unwrap_or_default();
            let digest = d["digest"].as_str().unwrap_or_default().to_string();
            if media == OCI_INDEX || media == DOCKER_LIST {
                if depth >= MAX_DEPTH {
                    continue;
                }
                if !choice.seen.insert(digest.clone()) {
                    continue;
                }
                choice.fetched += 1;
                if choice.fetched > MAX_INDEX_FETCHES {
                    return Err(Error::new(
                        ErrorKind::Manifest,
                        format!(
                            "{}: the index lists more than {MAX_INDEX_FETCHES} indexes (nested ones included); not read",
                            session.reference
                        ),
                    ));
                }
                let (bytes, _) = session
                    .manifest(&digest)
                    .map_err(|e| Error::new(e.kind, session.scrub(&e.message)))?;
                let verified = ContentDigest::parse(&digest).map(|d| d.matches(&bytes));
                if verified != Some(true) {
                    let why = if verified.is_none() {
                        "is not a sha256 or sha512 digest; not verified, not read"
                    } else {
                        "does not match its digest"
                    };
                    return Err(Error::new(
                        ErrorKind::Manifest,
                        format!("{}: the index {digest} {why}", session.reference),
                    ));
                }
                let inner: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::new(
                        ErrorKind::Manifest,
                        format!(
                            "{}: the index {digest} is not valid JSON: {e}",
                            session.reference
                        ),
                    )
                })?;
                choice.manifests.insert(digest, bytes);
                self.choose(session, &inner, depth + 1, choice)?;
            } else if choice.seen.insert(digest) {
                choice.chosen.push(d);
            }
            if !self.all_platforms && !choice.chosen.is_empty() {
                break;
            }
        }
        Ok(())
    }
}

/// What choosing from an index has gathered, and what it has cost so far.
#[derive(Default)]
struct Choice {
    /// The image manifests' descriptors chosen, each digest once.
    chosen: Vec<Value>,
    /// The platforms the indexes list, each once.
    platforms: Vec<Platform>,
    /// The indexes fetched, by digest.
    manifests: HashMap<String, Vec<u8>>,
    /// Digests fetched (indexes) or chosen (manifests): each is taken once.
    seen: HashSet<String>,
    /// Indexes fetched.
    fetched: usize,
    /// Descriptors read.
    considered: usize,
}

fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_string();
    for s in secrets {
        if s.len() >= 4 {
            out = out.replace(s.as_str(), "[redacted]");
        }
    }
    out
}

/// An image in a registry, its manifests chosen: what
/// [`ImageScan::run_remote`](keysweep_source::ImageScan::run_remote) scans. Blobs are fetched
/// when the scan opens them.
pub struct PulledImage {
    name: String,
    tags: Vec<String>,
    index: Vec<u8>,
    /// Digests read from the manifests endpoint (the rest are blobs).
    manifest_digests: HashSet<String>,
    /// Manifests already fetched, by digest.
    manifests: HashMap<String, Vec<u8>>,
    session: Session,
}

impl fmt::Debug for PulledImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PulledImage")
            .field("name", &self.name)
            .field("manifests", &self.manifest_digests.len())
            .finish_non_exhaustive()
    }
}

impl PulledImage {
    /// `registry/repository:tag@sha256:HEX`: the reference, pinned to the digest it resolved
    /// to (of the index, or of the manifest).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many image manifests (platforms) are to be scanned.
    pub fn manifests(&self) -> usize {
        self.manifest_digests.len()
    }
}

impl RemoteImage for PulledImage {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn tags(&self) -> Vec<String> {
        self.tags.clone()
    }

    fn index(&self) -> Result<Vec<u8>, String> {
        Ok(self.index.clone())
    }

    fn open(
        &self,
        digest: &str,
        _size: Option<u64>,
    ) -> Result<(Box<dyn Read + Send>, Option<u64>), String> {
        if let Some(bytes) = self.manifests.get(digest) {
            return Ok((
                Box::new(Cursor::new(bytes.clone())),
                Some(bytes.len() as u64),
            ));
        }
        let (endpoint, accept) = if self.manifest_digests.contains(digest) {
            ("manifests", Some(ACCEPT_MANIFESTS))
        } else {
            ("blobs", None)
        };
        let response = self
            .session
            .get(&format!("{endpoint}/{digest}"), accept)
            .map_err(|e| self.session.scrub(&e.message))?;
        if !response.status().is_success() {
            let what = if response.status() == StatusCode::NOT_FOUND {
                "the registry does not have it"
            } else {
                "the registry refused it"
            };
            return Err(self
                .session
                .scrub(&format!("{what} ({})", describe(response))));
        }
        let size = response.content_length();
        Ok((Box::new(response), size))
    }
}

const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// One repository on one registry: the HTTP client and the authorization it has won.
struct Session {
    http: Client,
    /// `https://host[:port]`.
    base: String,
    /// The reference as given, for messages.
    reference: String,
    registry: String,
    repository: String,
    puller: Puller,
    /// The `Authorization` header to send, once a challenge has been answered.
    auth: Mutex<Option<String>>,
    /// Every secret this session has handled (passwords, tokens), removed from messages.
    secrets: Mutex<Vec<String>>,
}

impl Session {
    fn scrub(&self, message: &str) -> String {
        let secrets = self.secrets.lock().map(|s| s.clone()).unwrap_or_default();
        scrub(message, &secrets)
    }

    fn remember(&self, secret: &str) {
        if let Ok(mut s) = self.secrets.lock() {
            s.push(secret.to_string());
        }
    }

    fn error(&self, kind: ErrorKind, message: String) -> Error {
        Error::new(kind, self.scrub(&format!("{}: {message}", self.reference)))
    }

    /// The manifest `version` (tag or digest) names: its bytes and its media type.
    fn manifest(&self, version: &str) -> Result<(Vec<u8>, Option<String>), Error> {
        let response = self.get(&format!("manifests/{version}"), Some(ACCEPT_MANIFESTS))?;
        if !response.status().is_success() {
            let what = if response.status() == StatusCode::NOT_FOUND {
                format!("the registry has no manifest {version}")
            } else {
                format!("the manifest {version} could not be fetched")
            };
            return Err(self.error(ErrorKind::Http, format!("{what} ({})", describe(response))));
        }
        let media = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string());
        if response.content_length().is_some_and(|n| n > MAX_MANIFEST) {
            return Err(self.error(
                ErrorKind::Manifest,
                format!("the manifest {version} is larger than {MAX_MANIFEST} bytes; not read"),
            ));
        }
        let mut bytes = Vec::new();
        response
            .take(MAX_MANIFEST + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                self.error(
                    ErrorKind::Http,
                    format!("reading the manifest {version}: {e}"),
                )
            })?;
        if bytes.len() as u64 > MAX_MANIFEST {
            return Err(self.error(
                ErrorKind::Manifest,
                format!("the manifest {version} is larger than {MAX_MANIFEST} bytes; not read"),
            ));
        }
        Ok((bytes, media))
    }

    /// GET `/v2/REPOSITORY/PATH`, answering one authentication challenge. The response may be
    /// an error status (the caller says what was missing); a second `401` is an error here.
    fn get(&self, path: &str, accept: Option<&str>) -> Result<Response, Error> {
        let url = format!("{}/v2/{}/{path}", self.base, self.repository);
        let mut challenged = false;
        loop {
            let mut request = self.http.get(&url);
            if let Some(a) = accept {
                request = request.header(ACCEPT, a);
            }
            let auth = self.auth.lock().ok().and_then(|a| a.clone());
            let sent_auth = auth.is_some();
            if let Some(a) = auth {
                request = request.header(AUTHORIZATION, a);
            }
            let response = request.send().map_err(|e| {
                let mut why = chain(&e);
                if self.base.starts_with("https:") && why.contains("InvalidContentType") {
                    why += " (the registry may speak plain HTTP: --insecure-registry HOST[:PORT] allows that)";
                }
                self.error(ErrorKind::Http, format!("cannot reach the registry: {why}"))
            })?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            // A redirect (to blob storage, say) may end at another host: its challenge is not
            // the registry's to answer, and the registry's credentials are not for it.
            let answered_by = origin(response.url());
            if reqwest::Url::parse(&self.base).ok().map(|u| origin(&u)) != Some(answered_by.clone())
            {
                let (host, port) = answered_by;
                return Err(self.error(
                    ErrorKind::Auth,
                    format!(
                        "the registry redirected to {}:{}, which asked for authentication (401); the registry's credentials are not sent to another host",
                        host.unwrap_or_default(),
                        port.map(|p| p.to_string()).unwrap_or_default()
                    ),
                ));
            }
            if challenged {
                return Err(self.refused(sent_auth, response));
            }
            challenged = true;
            let challenge = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(Challenge::parse)
                .ok_or_else(|| {
                    self.error(
                        ErrorKind::Auth,
                        "the registry answered 401 without a WWW-Authenticate challenge".into(),
                    )
                })?;
            self.authenticate(&challenge)?;
        }
    }

    /// The error for a registry that refused us after a challenge was answered.
    fn refused(&self, sent_auth: bool, response: Response) -> Error {
        let why = describe(response);
        match self.credential_source() {
            Some(source) if sent_auth => self.error(
                ErrorKind::Auth,
                format!(
                    "the registry refused the credential for {} from {source} ({why})",
                    self.registry
                ),
            ),
            _ => self.error(
                ErrorKind::Auth,
                format!(
                    "the registry needs credentials ({why}); {}",
                    self.none_found()
                ),
            ),
        }
    }

    fn credential_source(&self) -> Option<String> {
        self.puller
            .credentials
            .lookup_repository(&self.registry, &self.repository)
            .ok()
            .flatten()
            .map(|c| c.source().to_string())
    }

    fn none_found(&self) -> String {
        let files: Vec<String> = self
            .puller
            .credentials
            .files()
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        format!(
            "no credential for {} in {} (docker login or podman login writes one)",
            self.registry,
            if files.is_empty() {
                "any credential file".to_string()
            } else {
                files.join(", ")
            }
        )
    }

    fn credential(&self) -> Result<Option<Credential>, Error> {
        let found = self
            .puller
            .credentials
            .lookup_repository(&self.registry, &self.repository)
            .map_err(|e| self.error(ErrorKind::Credentials, e.to_string()))?;
        if let Some(c) = &found {
            self.remember(&c.secret);
            self.remember(c.basic().trim_start_matches("Basic "));
        }
        Ok(found)
    }

    /// Answers a challenge: sets the `Authorization` header the next requests send.
    fn authenticate(&self, challenge: &Challenge) -> Result<(), Error> {
        let credential = self.credential()?;
        let header = match challenge.scheme.as_str() {
            "basic" => match &credential {
                Some(c) if !c.identity_token => c.basic(),
                _ => {
                    return Err(self.error(
                        ErrorKind::Auth,
                        format!(
                            "the registry needs credentials (a user name and password); {}",
                            self.none_found()
                        ),
                    ));
                }
            },
            "bearer" => format!("Bearer {}", self.token(challenge, credential.as_ref())?),
            other => {
                return Err(self.error(ErrorKind::Auth, format!("the registry asks for {other:?} authentication, which keysweep does not speak")));
            }
        };
        if let Ok(mut a) = self.auth.lock() {
            *a = Some(header);
        }
        Ok(())
    }

    /// A bearer token from the challenge's realm, for pulling this repository.
    fn token(
        &self,
        challenge: &Challenge,
        credential: Option<&Credential>,
    ) -> Result<String, Error> {
        let realm = challenge.param("realm").ok_or_else(|| {
            self.error(
                ErrorKind::Auth,
                "the bearer challenge names no realm".into(),
            )
        })?;
        let mut url = reqwest::Url::parse(realm).map_err(|_| {
            self.error(
                ErrorKind::Auth,
                format!("the token realm {realm:?} is not a URL"),
            )
        })?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        };
        match url.scheme() {
            "https" => {}
            "http" if self.puller.is_insecure(&host) => {}
            _ => {
                return Err(self.error(
                    ErrorKind::Auth,
                    format!("the token realm {realm} is not HTTPS (name its host as insecure to allow it)"),
                ));
            }
        }
        let scope = challenge
            .param("scope")
            .map(str::to_string)
            .unwrap_or_else(|| format!("repository:{}:pull", self.repository));
        let service = challenge.param("service").map(str::to_string);
        let request = match credential {
            Some(c) if c.identity_token => {
                let mut form = vec![
                    ("grant_type", "refresh_token".to_string()),
                    ("refresh_token", c.secret.clone()),
                    ("client_id", "keysweep".to_string()),
                    ("scope", scope.clone()),
                ];
                if let Some(s) = &service {
                    form.push(("service", s.clone()));
                }
                let body: String = form
                    .iter()
                    .map(|(k, v)| format!("{k}={}", encode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                self.http
                    .post(url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body)
            }
            _ => {
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = &service {
                        q.append_pair("service", s);
                    }
                    q.append_pair("scope", &scope);
                }
                let request = self.http.get(url);
                match credential {
                    Some(c) => request.header(AUTHORIZATION, c.basic()),
                    None => request,
                }
            }
        };
        let response = request.send().map_err(|e| {
            self.error(
                ErrorKind::Auth,
                format!("cannot reach the token service: {}", chain(&e)),
            )
        })?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(match credential {
                Some(c) => self.error(
                    ErrorKind::Auth,
                    format!(
                        "the token service refused the credential for {} from {} ({status})",
                        self.registry,
                        c.source()
                    ),
                ),
                None => self.error(
                    ErrorKind::Auth,
                    format!(
                        "the token service refused anonymous access ({status}); {}",
                        self.none_found()
                    ),
                ),
            });
        }
        if !status.is_success() {
            return Err(self.error(
                ErrorKind::Auth,
                format!("the token service answered {status}"),
            ));
        }
        let mut body = Vec::new();
        response
            .take(MAX_SMALL)
            .read_to_end(&mut body)
            .map_err(|e| {
                self.error(
                    ErrorKind::Auth,
                    format!("reading the token service's answer: {e}"),
                )
            })?;
        let answer: Value = serde_json::from_slice(&body).map_err(|_| {
            self.error(
                ErrorKind::Auth,
                "the token service did not answer JSON".into(),
            )
        })?;
        let token = answer["token"]
            .as_str()
            .or(answer["access_token"].as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                self.error(
                    ErrorKind::Auth,
                    "the token service's answer has no token".into(),
                )
            })?
            .to_string();
        self.remember(&token);
        Ok(token)
    }
}

/// The host and port of `url` (the scheme's port when it names none).
fn origin(url: &reqwest::Url) -> (Option<String>, Option<u16>) {
    (
        url.host_str().map(str::to_ascii_lowercase),
        url.port_or_known_default(),
    )
}

/// `application/x-www-form-urlencoded` for one value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// An error and its causes, joined (reqwest's message alone says little).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The status and the registry's error codes (`404 Not Found: BLOB_UNKNOWN: blob unknown to
/// registry`). The body is the registry's JSON error list; anything else is not quoted.
fn describe(response: Response) -> String {
    let status = response.status();
    let mut body = Vec::new();
    let _ = response.take(MAX_SMALL).read_to_end(&mut body);
    let codes: Vec<String> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["errors"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            let code = e["code"].as_str()?;
            let message = e["message"].as_str().unwrap_or_default();
            Some(format!("{code}: {message}").chars().take(200).collect())
        })
        .take(3)
        .collect();
    if codes.is_empty() {
        status.to_string()
    } else {
        format!("{status}: {}", codes.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CredentialFiles;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::Arc;

    /// One request a [`Server`] answered: its path and its `Authorization` header.
    type Logged = (String, Option<String>);

    /// A minimal HTTP/1.1 server on 127.0.0.1 (one request per connection), answering with
    /// `answer(path)`: status, extra headers, body. It runs until the test process ends.
    struct Server {
        host: String,
        log: Arc<Mutex<Vec<Logged>>>,
    }

    impl Server {
        fn start<F>(answer: F) -> Server
        where
            F: Fn(&str) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + 'static,
        {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let host = listener.local_addr().unwrap().to_string();
            let log = Arc::new(Mutex::new(Vec::new()));
            let logged = Arc::clone(&log);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        continue;
                    }
                    let path = line.split(' ').nth(1).unwrap_or_default().to_string();
                    let mut auth = None;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            break;
                        }
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = header.split_once(':') {
                            if k.eq_ignore_ascii_case("authorization") {
                                auth = Some(v.trim().to_string());
                            }
                        }
                    }
                    logged.lock().unwrap().push((path.clone(), auth));
                    let (status, headers, body) = answer(&path);
                    let mut head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&body);
                }
            });
            Server { host, log }
        }

        /// How many requests asked for `path`.
        fn requests(&self, path: &str) -> usize {
            self.log
                .lock()
                .unwrap()
                .iter()
                .filter(|(p, _)| p == path)
                .count()
        }
    }

    fn sha256(bytes: &[u8]) -> String {
        Algorithm::Sha256.digest(bytes).to_string()
    }

    fn descriptor(media: &str, digest: &str) -> Value {
        json!({"mediaType": media, "digest": digest, "size": 100,
               "platform": {"os": "linux", "architecture": "amd64"}})
    }

    fn index_of(descriptors: Vec<Value>) -> Vec<u8> {
        serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}),
        )
        .unwrap()
    }

    /// A registry serving `manifests` (path under `/v2/app/manifests/` to bytes) as indexes.
    fn registry(manifests: HashMap<String, Vec<u8>>) -> Server {
        Server::start(move |path| {
            match path
                .strip_prefix("/v2/app/manifests/")
                .and_then(|m| manifests.get(m))
            {
                Some(bytes) => (
                    200,
                    vec![("Content-Type".into(), OCI_INDEX.into())],
                    bytes.clone(),
                ),
                None => (404, vec![], Vec::new()),
            }
        })
    }

    fn pull_all(server: &Server) -> Result<PulledImage, Error> {
        let reference = Reference::parse(&format!("{}/app:v1", server.host)).unwrap();
        Puller::new()
            .insecure([server.host.clone()])
            .all_platforms(true)
            .credentials(CredentialFiles::new(vec![]))
            .pull(&reference)
    }

    /// SHA-512 digests are verified: a reference pinned by one, and a nested index named by
    /// one. A digest that does not match, or of another algorithm, is refused.
    #[test]
    fn sha512_digests_are_verified_and_others_refused() {
        let sha512 = |b: &[u8]| Algorithm::Sha512.digest(b).to_string();
        let manifest = sha256(b"an image manifest");
        let inner = index_of(vec![descriptor(OCI_MANIFEST, &manifest)]);
        let inner_digest = sha512(&inner);
        let top = index_of(vec![descriptor(OCI_INDEX, &inner_digest)]);
        let top_digest = sha512(&top);
        let wrong = sha512(b"another index");
        let blake = format!("blake3:{}", "ab".repeat(32));
        let bad_inner = index_of(vec![descriptor(OCI_INDEX, &wrong)]);
        let other = index_of(vec![descriptor(OCI_INDEX, &blake)]);
        let server = registry(HashMap::from([
            (top_digest.clone(), top.clone()),
            (inner_digest.clone(), inner.clone()),
            ("bad".to_string(), bad_inner),
            (wrong.clone(), inner.clone()),
            ("other".to_string(), other),
            (blake.clone(), inner),
        ]));
        let pull = |version: &str| {
            let sep = if version.contains(':') { '@' } else { ':' };
            let reference =
                Reference::parse(&format!("{}/app{sep}{version}", server.host)).unwrap();
            Puller::new()
                .insecure([server.host.clone()])
                .all_platforms(true)
                .credentials(CredentialFiles::new(vec![]))
                .pull(&reference)
        };
        let image = pull(&top_digest).unwrap();
        let index: Value = serde_json::from_slice(&image.index().unwrap()).unwrap();
        assert_eq!(index["manifests"][0]["digest"], manifest.as_str());

        // Pinned by a SHA-512 the registry's bytes do not have.
        let e = pull(&wrong).unwrap_err().to_string();
        assert!(e.contains("not the digest the reference names"), "{e}");
        let e = pull("bad").unwrap_err().to_string();
        assert!(e.contains("does not match its digest"), "{e}");
        let e = pull("other").unwrap_err().to_string();
        assert!(e.contains("is not a sha256 or sha512 digest"), "{e}");
    }

    #[test]
    fn a_nested_index_listed_many_times_is_fetched_once_and_its_manifest_taken_once() {
        let manifest = sha256(b"an image manifest");
        let inner = index_of(vec![descriptor(OCI_MANIFEST, &manifest); 3]);
        let inner_digest = sha256(&inner);
        let top = index_of(vec![descriptor(OCI_INDEX, &inner_digest); 50]);
        let server = registry(HashMap::from([
            ("v1".to_string(), top),
            (inner_digest.clone(), inner),
        ]));
        let image = pull_all(&server).unwrap();
        assert_eq!(
            server.requests(&format!("/v2/app/manifests/{inner_digest}")),
            1
        );
        assert_eq!(image.manifests(), 1);
        let index: Value = serde_json::from_slice(&image.index().unwrap()).unwrap();
        assert_eq!(index["manifests"].as_array().unwrap().len(), 1, "{index}");
        assert_eq!(index["manifests"][0]["digest"], manifest.as_str());
    }

    #[test]
    fn a_challenge_from_the_host_a_redirect_reached_is_not_answered_with_credentials() {
        // The token service: records whether anyone asked it for a token.
        let token = Server::start(|_| (200, vec![], br#"{"token": "t0ken-123"}"#.to_vec()));
        let realm = format!("http://{}/token", token.host);
        // Blob storage: asks for a bearer token from the token service.
        let storage = Server::start(move |_| {
            (
                401,
                vec![(
                    "WWW-Authenticate".into(),
                    format!("Bearer realm=\"{realm}\",service=\"storage\""),
                )],
                Vec::new(),
            )
        });
        let storage_url = format!("http://{}/stored/v1", storage.host);
        // The registry: redirects the manifest to blob storage.
        let registry = Server::start(move |_| {
            (
                302,
                vec![("Location".into(), storage_url.clone())],
                Vec::new(),
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        let auth = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "ada:registry-pass-77",
        );
        std::fs::write(
            &config,
            json!({"auths": {registry.host.clone(): {"auth": auth}}}).to_string(),
        )
        .unwrap();
        let reference = Reference::parse(&format!("{}/app:v1", registry.host)).unwrap();
        let e = Puller::new()
            .insecure([
                registry.host.clone(),
                storage.host.clone(),
                token.host.clone(),
            ])
            .credentials(CredentialFiles::new(vec![config]))
            .pull(&reference)
            .unwrap_err();
        assert!(
            token.log.lock().unwrap().is_empty(),
            "the token service was asked: {:?}",
            token.log.lock().unwrap()
        );
        assert!(
            storage.log.lock().unwrap().iter().all(|(_, a)| a.is_none()),
            "{:?}",
            storage.log.lock().unwrap()
        );
        assert!(
            e.to_string().contains(&format!(
                "redirected to {}, which asked for authentication",
                storage.host
            )),
            "{e}"
        );
        assert!(!e.to_string().contains("registry-pass-77"), "{e}");
    }

    #[test]
    fn too_many_nested_indexes_or_descriptors_are_an_error_naming_the_image() {
        // 300 distinct indexes in the index: fetching stops at the cap.
        let mut manifests = HashMap::new();
        let mut nested = Vec::new();
        for i in 0..300 {
            let inner = index_of(vec![descriptor(OCI_MANIFEST, &format!("sha256:{i:064x}"))]);
            let digest = sha256(&inner);
            nested.push(descriptor(OCI_INDEX, &digest));
            manifests.insert(digest, inner);
        }
        manifests.insert("v1".to_string(), index_of(nested));
        let server = registry(manifests);
        let e = pull_all(&server).unwrap_err();
        assert!(
            e.to_string().contains(&format!("{}/app:v1", server.host))
                && e.to_string().contains("more than 256 indexes"),
            "{e}"
        );
        assert!(server.log.lock().unwrap().len() <= 1 + MAX_INDEX_FETCHES);

        // 1,100 distinct manifests in one index.
        let many = (0..1100)
            .map(|i| descriptor(OCI_MANIFEST, &format!("sha256:{i:064x}")))
            .collect();
        let server = registry(HashMap::from([("v1".to_string(), index_of(many))]));
        let e = pull_all(&server).unwrap_err();
        assert!(
            e.to_string().contains(&format!("{}/app:v1", server.host))
                && e.to_string().contains("more than 1024 manifests"),
            "{e}"
        );
    }

    #[test]
    fn secrets_are_scrubbed_and_form_values_encoded() {
        let secrets = vec!["hunter2-pass".to_string(), "ab".to_string()];
        assert_eq!(
            scrub("bad hunter2-pass here, ab stays", &secrets),
            "bad [redacted] here, ab stays"
        );
        assert_eq!(encode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
    }
}
