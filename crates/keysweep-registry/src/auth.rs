//! Credentials for a registry, from the files `docker login` and `podman login` write, and
//! the `WWW-Authenticate` challenges that ask for them.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::Value;

use crate::{Error, ErrorKind};

/// Where Docker keeps Docker Hub's credentials (its key in `auths`, what a helper is asked).
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// A user name and a secret for one registry, and where they came from. Its `Debug` shows
/// neither the secret nor the user name.
#[derive(Clone)]
pub struct Credential {
    pub(crate) username: String,
    pub(crate) secret: String,
    /// An identity token (`docker login` to some registries stores one instead of a password):
    /// exchanged for a bearer token as an OAuth2 refresh token.
    pub(crate) identity_token: bool,
    /// The file or helper it came from, for messages.
    pub(crate) source: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Credential {
    /// A user name and password (or token) given directly.
    pub fn new(username: &str, password: &str) -> Credential {
        Credential {
            username: username.to_string(),
            secret: password.to_string(),
            identity_token: false,
            source: "given".into(),
        }
    }

    /// Where it came from: a file, or `docker-credential-NAME`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// `Basic base64(user:password)`.
    pub(crate) fn basic(&self) -> String {
        let pair = format!("{}:{}", self.username, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// The credential files looked at, in order: `$REGISTRY_AUTH_FILE`, else
/// `$XDG_RUNTIME_DIR/containers/auth.json` (Podman), then `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`. The first file with an entry for the registry wins.
///
/// ```
/// use keysweep_registry::CredentialFiles;
///
/// let dir = tempfile::tempdir()?;
/// // "user:hunter2", base64.
/// std::fs::write(dir.path().join("config.json"), r#"{"auths":{"reg.example:5000":{"auth":"dXNlcjpodW50ZXIy"}}}"#)?;
/// let files = CredentialFiles::new(vec![dir.path().join("config.json")]);
/// let found = files.lookup("reg.example:5000")?.expect("an entry");
/// assert!(found.source().ends_with("config.json"));
/// assert!(!format!("{found:?}").contains("hunter2"));
/// assert!(files.lookup("other.example")?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct CredentialFiles {
    files: Vec<PathBuf>,
}

impl CredentialFiles {
    /// These files, in this order.
    pub fn new(files: Vec<PathBuf>) -> CredentialFiles {
        CredentialFiles { files }
    }

    /// The files Podman and Docker use, from the environment (see the type's documentation).
    pub fn from_env() -> CredentialFiles {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let mut files = Vec::new();
        if let Some(f) = env("REGISTRY_AUTH_FILE") {
            files.push(f);
        } else if let Some(dir) = env("XDG_RUNTIME_DIR") {
            files.push(dir.join("containers/auth.json"));
        }
        if let Some(dir) = env("DOCKER_CONFIG") {
            files.push(dir.join("config.json"));
        } else if let Some(home) = env("HOME") {
            files.push(home.join(".docker/config.json"));
        }
        CredentialFiles { files }
    }

    /// The files, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The credential for `registry` (as a reference names it: `docker.io`, `host:port`):
    /// the file's `credHelpers` entry for it, else its `credsStore`, else its `auths` entry
    /// for the registry alone (`auth` as base64 `user:password`, or `username` and
    /// `password`, or `identitytoken`). A helper is run as `docker-credential-NAME get` with
    /// the server on standard input. [`lookup_repository`](Self::lookup_repository) also
    /// takes Podman's `auths` entries for a namespace (`quay.io/org`).
    pub fn lookup(&self, registry: &str) -> Result<Option<Credential>, Error> {
        self.lookup_repository(registry, "")
    }

    /// The credential for `repository` (`org/app`) on `registry`, as [`lookup`](Self::lookup)
    /// finds it, except that of the `auths` entries Podman keys by a namespace
    /// (`quay.io/org`, `quay.io/org/app`), the one with the longest namespace that contains
    /// the repository (whole path components: `quay.io/org` is not `quay.io/organisation`'s)
    /// is taken, and the entry for the registry alone (`quay.io`) only when none does.
    ///
    /// ```
    /// use keysweep_registry::CredentialFiles;
    ///
    /// let dir = tempfile::tempdir()?;
    /// // "a:one" and "b:two", base64.
    /// std::fs::write(dir.path().join("auth.json"), r#"{"auths":{"quay.io/org-a":{"auth":"YTpvbmU="},"quay.io/org-b":{"auth":"Yjp0d28="}}}"#)?;
    /// let files = CredentialFiles::new(vec![dir.path().join("auth.json")]);
    /// assert!(files.lookup_repository("quay.io", "org-b/app")?.is_some());
    /// assert!(files.lookup_repository("quay.io", "org-c/app")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lookup_repository(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<Option<Credential>, Error> {
        for file in &self.files {
            let Ok(text) = std::fs::read(file) else {
                continue;
            };
            let config: Value = serde_json::from_slice(&text).map_err(|e| {
                Error::new(
                    ErrorKind::Credentials,
                    format!("{} is not valid JSON: {e}", file.display()),
                )
            })?;
            if let Some(found) = from_config(&config, file, registry, repository)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

/// The key a registry has in `auths` and what a helper is asked for.
fn server_key(registry: &str) -> &str {
    if registry == crate::reference::DOCKER_HUB {
        DOCKER_HUB_KEY
    } else {
        registry
    }
}

/// `https://host:port/v1/` → `host:port`; Docker Hub's names → `docker.io`.
fn host_of(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key);
    match host {
        "index.docker.io" | "registry-1.docker.io" => crate::reference::DOCKER_HUB,
        h => h,
    }
}

/// The registry and the namespace (`""` for all of the registry) an `auths` key covers:
/// Docker's keys are URLs or hosts (a URL's path, `/v1/`, is no namespace); Podman's are
/// `host[/namespace]`.
fn key_scope(key: &str) -> (&str, &str) {
    if key.contains("://") {
        return (host_of(key), "");
    }
    let (host, namespace) = key.split_once('/').unwrap_or((key, ""));
    (host_of(host), namespace.trim_matches('/'))
}

/// Whether the namespace of an `auths` key contains `repository`, on whole path components.
fn covers(namespace: &str, repository: &str) -> bool {
    namespace.is_empty()
        || repository
            .strip_prefix(namespace)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn from_config(
    config: &Value,
    file: &Path,
    registry: &str,
    repository: &str,
) -> Result<Option<Credential>, Error> {
    if let Some(helpers) = config["credHelpers"].as_object() {
        if let Some(helper) = helpers
            .iter()
            .find(|(k, _)| host_of(k) == registry)
            .and_then(|(_, v)| v.as_str())
        {
            return run_helper(helper, registry);
        }
    }
    if let Some(store) = config["credsStore"].as_str().filter(|s| !s.is_empty()) {
        if let Some(found) = run_helper(store, registry)? {
            return Ok(Some(found));
        }
    }
    let Some(auths) = config["auths"].as_object() else {
        return Ok(None);
    };
    // The most specific entry: the longest namespace that contains the repository, else the
    // registry's own (the first of equals, in the file's order).
    let mut best: Option<(usize, &String, &Value)> = None;
    for (key, value) in auths {
        let (host, namespace) = key_scope(key);
        if host == registry
            && covers(namespace, repository)
            && best.is_none_or(|(n, _, _)| namespace.len() > n)
        {
            best = Some((namespace.len(), key, value));
        }
    }
    let Some((_, key, entry)) = best else {
        return Ok(None);
    };
    let source = file.display().to_string();
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Credentials,
            format!("{source}: the entry for {key}: {why}"),
        )
    };
    if let Some(token) = entry["identitytoken"].as_str().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential {
            username: String::new(),
            secret: token.to_string(),
            identity_token: true,
            source,
        }));
    }
    if let Some(auth) = entry["auth"].as_str().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad("\"auth\" is not base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad("\"auth\" is not UTF-8"))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| bad("\"auth\" is not user:password"))?;
        return Ok(Some(Credential {
            username: user.to_string(),
            secret: password.to_string(),
            identity_token: false,
            source,
        }));
    }
    if let (Some(user), Some(password)) = (entry["username"].as_str(), entry["password"].as_str()) {
        return Ok(Some(Credential {
            username: user.to_string(),
            secret: password.to_string(),
            identity_token: false,
            source,
        }));
    }
    Ok(None)
}

/// Runs `docker-credential-HELPER get`; `None` when it has nothing for the registry.
fn run_helper(helper: &str, registry: &str) -> Result<Option<Credential>, Error> {
    let program = format!("docker-credential-{helper}");
    let fail = |why: String| Error::new(ErrorKind::Credentials, format!("{program}: {why}"));
    if helper.is_empty()
        || !helper
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(fail("not a credential helper name".into()));
    }
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("cannot run it (is it installed?): {e}")))?;
    let server = server_key(registry).to_string();
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its input is answered by its exit status.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("did not finish: {e}")))?;
    if !out.status.success() {
        // "credentials not found in native keychain": nothing for this registry. The output
        // is not quoted: it is the helper's, and may hold what it should not show.
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(format!("`get` for {server} failed ({})", out.status)));
    }
    let answer: Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| fail(format!("`get` for {server} did not answer JSON")))?;
    let username = answer["Username"].as_str().unwrap_or_default().to_string();
    let secret = answer["Secret"].as_str().unwrap_or_default().to_string();
    if secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credential {
        identity_token: username == "<token>",
        username,
        secret,
        source: program,
    }))
}

/// A `WWW-Authenticate` challenge: its scheme and parameters.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Parses `Scheme key="value", key=token, ...` (the first challenge of the header).
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, mut rest) = match header.split_once(char::is_whitespace) {
            Some((s, r)) => (s, r.trim_start()),
            None => (header, ""),
        };
        if scheme.is_empty() {
            return None;
        }
        let mut params = Vec::new();
        while !rest.is_empty() {
            let Some((key, after)) = rest.split_once('=') else {
                break;
            };
            let key = key
                .trim()
                .trim_start_matches(',')
                .trim()
                .to_ascii_lowercase();
            let after = after.trim_start();
            let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, c)) = chars.next() {
                                value.push(c);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            };
            params.push((key, value));
            rest = next.trim_start().trim_start_matches(',').trim_start();
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_with_quoted_commas() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://auth.example/token"));
        assert_eq!(c.param("service"), Some("registry.example"));
        assert_eq!(c.param("scope"), Some("repository:a/b:pull,push"));
        let c = Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(
            (c.scheme.as_str(), c.param("realm")),
            ("basic", Some("Registry Realm"))
        );
        let c = Challenge::parse("Bearer realm=https://x/t, service=s").unwrap();
        assert_eq!(
            (c.param("realm"), c.param("service")),
            (Some("https://x/t"), Some("s"))
        );
        assert_eq!(Challenge::parse(""), None);
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_podman_namespace_entry_is_taken_for_its_repositories_the_longest_first() {
        let dir = tempfile::tempdir().unwrap();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let file = write(
            dir.path(),
            "auth.json",
            &serde_json::json!({"auths": {
                "quay.io": {"auth": b64("host:host-pass")},
                "quay.io/org-a": {"auth": b64("a:a-pass")},
                "quay.io/org-b": {"auth": b64("b:b-pass")},
                "quay.io/org-b/app": {"auth": b64("b-app:b-app-pass")},
                "docker.io/library/alpine": {"auth": b64("alpine:alpine-pass")},
            }})
            .to_string(),
        );
        let files = CredentialFiles::new(vec![file]);
        let user = |registry: &str, repository: &str| {
            files
                .lookup_repository(registry, repository)
                .unwrap()
                .map(|c| (c.username, c.secret))
        };
        let pair = |u: &str, p: &str| Some((u.to_string(), p.to_string()));
        assert_eq!(user("quay.io", "org-b/tool"), pair("b", "b-pass"));
        assert_eq!(user("quay.io", "org-b/app"), pair("b-app", "b-app-pass"));
        assert_eq!(
            user("quay.io", "org-b/app/sub"),
            pair("b-app", "b-app-pass")
        );
        assert_eq!(user("quay.io", "org-a/app"), pair("a", "a-pass"));
        // Whole components only; else the registry's own entry.
        assert_eq!(user("quay.io", "org-abc/app"), pair("host", "host-pass"));
        assert_eq!(user("quay.io", "org-b"), pair("b", "b-pass"));
        assert_eq!(user("quay.io", "other/app"), pair("host", "host-pass"));
        assert_eq!(
            user("docker.io", "library/alpine"),
            pair("alpine", "alpine-pass")
        );
        assert_eq!(user("docker.io", "library/busybox"), None);
        assert_eq!(
            files.lookup("quay.io").unwrap().map(|c| c.username),
            Some("host".to_string())
        );

        // Without an entry for the registry alone, other namespaces get nothing.
        let file = write(
            dir.path(),
            "namespaces.json",
            &serde_json::json!({"auths": {
                "quay.io/org-a": {"auth": b64("a:a-pass")},
                "quay.io/org-b": {"auth": b64("b:b-pass")},
            }})
            .to_string(),
        );
        let files = CredentialFiles::new(vec![file]);
        let found = files.lookup_repository("quay.io", "org-b/app").unwrap();
        assert_eq!(found.map(|c| c.username), Some("b".to_string()));
        assert!(files
            .lookup_repository("quay.io", "org-c/app")
            .unwrap()
            .is_none());
        assert!(files.lookup("quay.io").unwrap().is_none());
    }

    #[test]
    fn credentials_come_from_the_first_file_with_an_entry_in_every_form() {
        let dir = tempfile::tempdir().unwrap();
        let podman = write(
            dir.path(),
            "auth.json",
            r#"{"auths":{"podman.example":{"auth":"cG9kOnBhc3M="}}}"#,
        );
        let docker = write(
            dir.path(),
            "config.json",
            r#"{"auths":{
                "https://index.docker.io/v1/":{"auth":"aHViOmh1YnBhc3M="},
                "http://plain.example:5000":{"username":"u","password":"p:with:colons"},
                "podman.example":{"auth":"ZG9ja2VyOm5v"},
                "tok.example":{"identitytoken":"refresh-me"},
                "empty.example":{}
            }}"#,
        );
        let files = CredentialFiles::new(vec![dir.path().join("missing.json"), podman, docker]);
        let get = |r: &str| files.lookup(r).unwrap();
        let c = get("podman.example").unwrap();
        assert_eq!((c.username.as_str(), c.secret.as_str()), ("pod", "pass"));
        assert!(c.source.ends_with("auth.json"));
        let c = get("docker.io").unwrap();
        assert_eq!((c.username.as_str(), c.secret.as_str()), ("hub", "hubpass"));
        let c = get("plain.example:5000").unwrap();
        assert_eq!(
            (c.username.as_str(), c.secret.as_str()),
            ("u", "p:with:colons")
        );
        assert_eq!(c.basic(), "Basic dTpwOndpdGg6Y29sb25z");
        let c = get("tok.example").unwrap();
        assert!(c.identity_token);
        assert!(get("empty.example").is_none());
        assert!(get("plain.example").is_none());
        assert!(!format!("{c:?}").contains("refresh-me"));
    }

    #[test]
    fn a_broken_file_or_a_missing_helper_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(dir.path(), "bad.json", "{not json");
        let e = CredentialFiles::new(vec![bad])
            .lookup("x.example")
            .unwrap_err();
        assert!(e.to_string().contains("bad.json"), "{e}");
        let helper = write(
            dir.path(),
            "helper.json",
            r#"{"credHelpers":{"x.example":"keysweep-test-absent"}}"#,
        );
        let e = CredentialFiles::new(vec![helper])
            .lookup("x.example")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("docker-credential-keysweep-test-absent"),
            "{e}"
        );
        let b64 = write(
            dir.path(),
            "b64.json",
            r#"{"auths":{"x.example":{"auth":"%%%"}}}"#,
        );
        let e = CredentialFiles::new(vec![b64])
            .lookup("x.example")
            .unwrap_err();
        assert!(e.to_string().contains("base64"), "{e}");
    }
}
