//! Getting a repository to scan: a local path is scanned where it is; a URL is cloned bare into
//! the work directory the first time and fetched every time after.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use sha2::{Digest, Sha256};

/// A repository to sweep, as the user named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepoSpec {
    /// A repository on this machine (working tree, `.git` directory or bare repository).
    Path(PathBuf),
    /// A URL git can fetch from (`https://`, `ssh://`, `git://`, `file://`, `user@host:path`).
    Url(String),
}

impl RepoSpec {
    /// A URL when it has a scheme (`https://…`) or is an scp-like `user@host:path`; a path
    /// otherwise.
    ///
    /// ```
    /// use keysweep_sweep::RepoSpec;
    /// assert!(matches!(RepoSpec::parse("https://github.com/acme/api.git"), RepoSpec::Url(_)));
    /// assert!(matches!(RepoSpec::parse("git@github.com:acme/api.git"), RepoSpec::Url(_)));
    /// assert!(matches!(RepoSpec::parse("./checkouts/api"), RepoSpec::Path(_)));
    /// ```
    pub fn parse(s: &str) -> RepoSpec {
        let scp_like = || {
            let (head, _) = match s.split_once(':') {
                Some(x) => x,
                None => return false,
            };
            head.contains('@') && !head.contains('/') && !s.starts_with('/')
        };
        if s.contains("://") || scp_like() {
            RepoSpec::Url(s.to_string())
        } else {
            RepoSpec::Path(PathBuf::from(s))
        }
    }

    /// How the repository is named in the audit log, the cache and messages: a URL without
    /// its credentials, or the path as given.
    pub fn display(&self) -> String {
        match self {
            RepoSpec::Path(p) => p.display().to_string(),
            RepoSpec::Url(u) => without_credentials(u),
        }
    }

    /// The repository's key in the cache: its URL without credentials, or its canonical path.
    pub fn key(&self) -> String {
        match self {
            RepoSpec::Path(p) => std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string(),
            RepoSpec::Url(u) => without_credentials(u),
        }
    }
}

/// `https://user:token@host/path` → `https://host/path`; other forms unchanged.
///
/// ```
/// use keysweep_sweep::without_credentials;
/// assert_eq!(without_credentials("https://x:ghp_secret@github.com/a/b.git"), "https://github.com/a/b.git");
/// assert_eq!(without_credentials("ssh://git@host/a.git"), "ssh://host/a.git");
/// assert_eq!(without_credentials("git@github.com:a/b.git"), "git@github.com:a/b.git");
/// ```
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Where a URL's bare clone lives in the work directory: a readable name plus a hash of the
/// URL, so that two URLs never share a directory.
pub fn clone_dir(workdir: &Path, key: &str) -> PathBuf {
    let hash = Sha256::digest(key.as_bytes());
    let hex: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    let tail = key
        .rsplit(['/', ':'])
        .find(|s| !s.is_empty())
        .unwrap_or("repo");
    let tail: String = tail
        .trim_end_matches(".git")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    workdir.join("repos").join(format!("{tail}-{hex}.git"))
}

/// Makes the repository available on disk and returns where: a path is checked; a URL is
/// fetched into its clone, or cloned (into a temporary directory renamed when complete, so an
/// interrupted clone leaves nothing half-made behind).
pub fn acquire(
    spec: &RepoSpec,
    workdir: &Path,
    interrupt: &AtomicBool,
    headers: &[(String, String)],
) -> Result<PathBuf, String> {
    match spec {
        RepoSpec::Path(p) => {
            if !p.exists() {
                return Err("the path does not exist".into());
            }
            gix::discover(p)
                .map_err(|e| format!("not a git repository: {e}"))
                .map(|_| p.clone())
        }
        RepoSpec::Url(url) => {
            let overrides = overrides_for(url, headers);
            let dir = clone_dir(workdir, &spec.key());
            if dir.exists() {
                match gix::open(&dir) {
                    Ok(mut repo) => {
                        let mut config = repo.config_snapshot_mut();
                        let values: Vec<gix::bstr::BString> =
                            overrides.iter().map(|o| o.as_str().into()).collect();
                        config
                            .append_config(&values, gix::config::Source::Api)
                            .map_err(|e| format!("cannot configure the fetch: {e}"))?;
                        config
                            .commit()
                            .map_err(|e| format!("cannot configure the fetch: {e}"))?;
                        fetch(&repo, interrupt)?;
                        return Ok(dir);
                    }
                    Err(_) => {
                        // Not a repository any more (damaged): cloned again.
                        std::fs::remove_dir_all(&dir).map_err(|e| {
                            format!(
                                "the clone {} is damaged and cannot be removed: {e}",
                                dir.display()
                            )
                        })?;
                    }
                }
            }
            clone(url, &dir, interrupt, &overrides)?;
            Ok(dir)
        }
    }
}

/// Configuration for the clone or fetch of `url`, in memory only (never in the clone's
/// configuration on disk): no prompt for credentials on the terminal (a sweep runs unattended:
/// a host that refuses fails that repository, it does not wait for someone to type a
/// password), and `http.extraHeader` settings with the headers given for its host.
fn overrides_for(url: &str, headers: &[(String, String)]) -> Vec<String> {
    let host = url
        .split_once("://")
        .map(|(_, rest)| {
            let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
            let host = authority.rsplit('@').next().unwrap_or(authority);
            host.split(':').next().unwrap_or(host).to_ascii_lowercase()
        })
        .unwrap_or_default();
    let mut out = vec!["gitoxide.credentials.terminalPrompt=false".to_string()];
    out.extend(
        headers
            .iter()
            .filter(|(h, _)| h.eq_ignore_ascii_case(&host))
            .map(|(_, v)| format!("http.extraHeader={v}")),
    );
    out
}

fn clone(
    url: &str,
    dir: &Path,
    interrupt: &AtomicBool,
    overrides: &[String],
) -> Result<(), String> {
    let parent = dir.parent().expect("clone dirs are under repos/");
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let tmp = dir.with_extension("git.partial");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)
            .map_err(|e| format!("cannot remove {}: {e}", tmp.display()))?;
    }
    let fail = |e: &dyn std::error::Error| format!("cannot clone: {}", scrub(&chain(e), url));
    let mut prepare = gix::prepare_clone_bare(url, &tmp)
        .map_err(|e| fail(&e))?
        .with_in_memory_config_overrides(overrides.iter().map(String::as_str))
        .configure_remote(|remote| {
            remote.with_refspecs(
                ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
                gix::remote::Direction::Fetch,
            )
        });
    let result = prepare.fetch_only(gix::progress::Discard, interrupt);
    match result {
        Ok(_) => {
            drop(prepare);
            std::fs::rename(&tmp, dir)
                .map_err(|e| format!("cannot move the clone to {}: {e}", dir.display()))
        }
        Err(e) => {
            drop(prepare);
            let _ = std::fs::remove_dir_all(&tmp);
            Err(fail(&e))
        }
    }
}

fn fetch(repo: &gix::Repository, interrupt: &AtomicBool) -> Result<(), String> {
    let remote = repo
        .find_default_remote(gix::remote::Direction::Fetch)
        .ok_or("the clone has no remote to fetch from")?
        .map_err(|e| format!("cannot read the clone's remote: {e}"))?;
    let url = remote
        .url(gix::remote::Direction::Fetch)
        .map(|u| u.to_bstring().to_string())
        .unwrap_or_default();
    let fail = |e: &dyn std::error::Error| format!("cannot fetch: {}", scrub(&chain(e), &url));
    let connection = remote
        .connect(gix::remote::Direction::Fetch)
        .map_err(|e| fail(&e))?;
    connection
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| fail(&e))?
        .receive(gix::progress::Discard, interrupt)
        .map_err(|e| fail(&e))?;
    Ok(())
}

/// An error and its causes, `outer: inner: ...` (gix's outer errors alone say little: "Transport
/// handshake failed"), each cause once.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    if out.contains("Failed to obtain credentials") {
        // What follows is gix's credential-helper context, several lines of it.
        return "the host asks for credentials (HTTP 401): it refused those sent, if any, and no \
                credential helper gave others (a sweep never prompts for them)"
            .into();
    }
    out.replace('\n', " ")
}

/// An error message without the credentials of `url`, should the transport have quoted it.
fn scrub(message: &str, url: &str) -> String {
    let clean = without_credentials(url);
    let mut out = message.replace(url, &clean);
    if let Some((_, rest)) = url.split_once("://") {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            let userinfo = &rest[..at];
            if !userinfo.is_empty() {
                out = out.replace(userinfo, "***");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_quote_credentials() {
        // keysweep:allow (a made-up token)
        let url = "https://bot:tok3n@git.example.com/a.git";
        let m = scrub(
            // keysweep:allow
            "failed to connect to https://bot:tok3n@git.example.com/a.git (bot:tok3n)",
            url,
        );
        assert!(!m.contains("tok3n"), "{m}");
        assert!(m.contains("https://git.example.com/a.git"), "{m}");
    }

    #[test]
    fn clone_dirs_differ_by_url() {
        let w = Path::new("/w");
        let a = clone_dir(w, "https://github.com/acme/api.git");
        let b = clone_dir(w, "https://gitlab.com/acme/api.git");
        assert_ne!(a, b);
        assert!(a.file_name().unwrap().to_str().unwrap().starts_with("api-"));
    }
}
