//! Listing an organisation's repositories through the GitHub and GitLab REST APIs: paginated,
//! authenticated with a token from the environment, and waiting out rate limits.
//!
//! The API's base URL is an option, as GitHub Enterprise Server (`https://HOST/api/v3`) and
//! self-managed GitLab (`https://HOST/api/v4`) need. Tokens go in headers only: they are never
//! part of a URL, a message or a log.

use std::time::Duration;

use serde_json::Value;

/// The public GitHub API.
pub const GITHUB_API: &str = "https://api.github.com";
/// The public GitLab API.
pub const GITLAB_API: &str = "https://gitlab.com/api/v4";

/// Pages fetched at most (100 repositories each).
const MAX_PAGES: usize = 10_000;
/// Rate-limit waits at most, per listing.
const MAX_WAITS: usize = 20;
/// The longest single wait for a rate limit to reset.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

/// Where and how to list.
#[derive(Clone, Debug)]
pub struct Lister {
    api: String,
    token: Option<String>,
    /// Called with the seconds to wait when a rate limit is hit (a progress display).
    quiet: bool,
}

/// A repository found by a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Its clone URL over HTTPS (what the API reports).
    pub clone_url: String,
    /// Its full name (`org/repo`, `group/sub/project`).
    pub name: String,
    /// Archived (read-only) on the server; still swept: its history still holds secrets.
    pub archived: bool,
}

impl Lister {
    /// A lister for the API at `api` (no trailing slash needed), with an optional token.
    pub fn new(api: impl Into<String>, token: Option<String>) -> Lister {
        Lister {
            api: api.into().trim_end_matches('/').to_string(),
            token,
            quiet: false,
        }
    }

    /// Does not print a note on standard error when waiting for a rate limit.
    pub fn quiet(mut self, yes: bool) -> Lister {
        self.quiet = yes;
        self
    }

    /// Every repository of the GitHub organisation `org` (or user, when no organisation has
    /// that name).
    pub fn github_org(&self, org: &str) -> Result<Vec<Listed>, String> {
        let first = format!(
            "{}/orgs/{}/repos?per_page=100&type=all",
            self.api,
            encode(org)
        );
        let mut out = Vec::new();
        match self.pages(&first, Api::GitHub, &mut out, |v| {
            Some(Listed {
                clone_url: v.get("clone_url")?.as_str()?.to_string(),
                name: v.get("full_name")?.as_str()?.to_string(),
                archived: v.get("archived").and_then(Value::as_bool).unwrap_or(false),
            })
        }) {
            Err(e) if e.status == Some(404) => {
                let user = format!(
                    "{}/users/{}/repos?per_page=100&type=all",
                    self.api,
                    encode(org)
                );
                out.clear();
                self.pages(&user, Api::GitHub, &mut out, |v| {
                    Some(Listed {
                        clone_url: v.get("clone_url")?.as_str()?.to_string(),
                        name: v.get("full_name")?.as_str()?.to_string(),
                        archived: v.get("archived").and_then(Value::as_bool).unwrap_or(false),
                    })
                })
                .map_err(|e| format!("GitHub organisation or user {org:?}: {}", e.message))?;
            }
            Err(e) => return Err(format!("GitHub organisation {org:?}: {}", e.message)),
            Ok(()) => {}
        }
        Ok(out)
    }

    /// Every project of the GitLab group `group` (a path like `acme` or `acme/platform`), and
    /// of its subgroups when `subgroups`.
    pub fn gitlab_group(&self, group: &str, subgroups: bool) -> Result<Vec<Listed>, String> {
        let first = format!(
            "{}/groups/{}/projects?per_page=100&include_subgroups={subgroups}&order_by=id&sort=asc",
            self.api,
            encode(group)
        );
        let mut out = Vec::new();
        self.pages(&first, Api::GitLab, &mut out, |v| {
            Some(Listed {
                clone_url: v.get("http_url_to_repo")?.as_str()?.to_string(),
                name: v.get("path_with_namespace")?.as_str()?.to_string(),
                archived: v.get("archived").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .map_err(|e| format!("GitLab group {group:?}: {}", e.message))?;
        Ok(out)
    }

    fn pages(
        &self,
        first: &str,
        api: Api,
        out: &mut Vec<Listed>,
        item: impl Fn(&Value) -> Option<Listed>,
    ) -> Result<(), ListError> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("keysweep/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ListError::new(None, format!("cannot start an HTTP client: {e}")))?;
        let mut url = first.to_string();
        let mut waits = 0;
        for _ in 0..MAX_PAGES {
            let mut req = client.get(&url);
            req = match (api, &self.token) {
                (Api::GitHub, Some(t)) => req
                    .header("Authorization", format!("Bearer {t}"))
                    .header("Accept", "application/vnd.github+json"),
                (Api::GitHub, None) => req.header("Accept", "application/vnd.github+json"),
                (Api::GitLab, Some(t)) => req.header("PRIVATE-TOKEN", t.as_str()),
                (Api::GitLab, None) => req,
            };
            let resp = req.send().map_err(|e| {
                ListError::new(None, format!("{}: {}", shown(&url), e.without_url()))
            })?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            if let Some(wait) = rate_limited(status, &header) {
                waits += 1;
                if waits > MAX_WAITS {
                    return Err(ListError::new(
                        Some(status),
                        "rate limited too many times; try again later".into(),
                    ));
                }
                let wait = wait.min(MAX_WAIT);
                if !self.quiet {
                    eprintln!(
                        "keysweep: note: rate limited by the API; waiting {} s",
                        wait.as_secs().max(1)
                    );
                }
                std::thread::sleep(wait);
                continue;
            }
            if !(200..300).contains(&status) {
                let why = match status {
                    401 => "the token was refused (401): set a valid token".to_string(),
                    403 => "access denied (403): the token lacks the scope to list it".to_string(),
                    404 => "not found (404)".to_string(),
                    s => format!("the API answered {s}"),
                };
                return Err(ListError::new(Some(status), why));
            }
            let body = resp.bytes().map_err(|e| {
                ListError::new(None, format!("{}: {}", shown(&url), e.without_url()))
            })?;
            let items: Value = serde_json::from_slice(&body).map_err(|e| {
                ListError::new(Some(status), format!("the answer is not JSON: {e}"))
            })?;
            let Some(items) = items.as_array() else {
                return Err(ListError::new(
                    Some(status),
                    "the answer is not a list of repositories".into(),
                ));
            };
            out.extend(items.iter().filter_map(&item));
            match next_page(&url, &header) {
                Some(next) => url = next,
                None => return Ok(()),
            }
        }
        Err(ListError::new(None, format!("more than {MAX_PAGES} pages")))
    }
}

#[derive(Clone, Copy, Debug)]
enum Api {
    GitHub,
    GitLab,
}

#[derive(Debug)]
struct ListError {
    status: Option<u16>,
    message: String,
}

impl ListError {
    fn new(status: Option<u16>, message: String) -> ListError {
        ListError { status, message }
    }
}

/// How long to wait when the answer says a rate limit was hit: `Retry-After` (seconds), or
/// GitHub's `x-ratelimit-remaining: 0` with `x-ratelimit-reset` (epoch seconds), or GitLab's
/// `RateLimit-Reset`. `None` when the answer is not a rate limit.
fn rate_limited(status: u16, header: &dyn Fn(&str) -> Option<String>) -> Option<Duration> {
    let limited = status == 429
        || (status == 403 && header("x-ratelimit-remaining").as_deref() == Some("0"))
        || (status == 403 && header("retry-after").is_some());
    if !limited {
        return None;
    }
    if let Some(s) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(s.max(1)));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for name in ["x-ratelimit-reset", "ratelimit-reset"] {
        if let Some(reset) = header(name).and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
        }
    }
    Some(Duration::from_secs(60))
}

/// The next page: the `Link` header's `rel="next"`, or GitLab's `x-next-page` (a page number
/// on the same URL).
fn next_page(url: &str, header: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if let Some(link) = header("link") {
        for part in link.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            if pieces.any(|p| p.trim() == "rel=\"next\"") {
                return Some(
                    target
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string(),
                );
            }
        }
    }
    let page = header("x-next-page").filter(|p| !p.trim().is_empty())?;
    let base = match url.find("&page=") {
        Some(i) => {
            let end = url[i + 6..].find('&').map_or(url.len(), |j| i + 6 + j);
            format!("{}{}", &url[..i], &url[end..])
        }
        None => url.to_string(),
    };
    Some(format!("{base}&page={}", page.trim()))
}

/// A URL as messages show it: without its query (which may carry more than it should).
fn shown(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Percent-encodes a path segment (GitLab group paths contain `/`).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_pages_from_link_and_gitlab_headers() {
        let link = |v: &'static str| move |n: &str| (n == "link").then(|| v.to_string());
        assert_eq!(
            next_page(
                "u",
                &link(r#"<https://api/x?page=2>; rel="next", <https://api/x?page=9>; rel="last""#)
            ),
            Some("https://api/x?page=2".into())
        );
        assert_eq!(
            next_page("u", &link(r#"<https://api/x?page=1>; rel="prev""#)),
            None
        );
        let gl = |n: &str| (n == "x-next-page").then(|| "3".to_string());
        assert_eq!(
            next_page("https://g/p?per_page=100&page=2", &gl),
            Some("https://g/p?per_page=100&page=3".into())
        );
    }

    #[test]
    fn rate_limits_are_recognised() {
        let h = |pairs: &'static [(&'static str, &'static str)]| {
            move |n: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            rate_limited(429, &h(&[("retry-after", "7")])),
            Some(Duration::from_secs(7))
        );
        assert!(rate_limited(
            403,
            &h(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "0")])
        )
        .is_some());
        assert_eq!(
            rate_limited(403, &h(&[("x-ratelimit-remaining", "12")])),
            None
        );
        assert_eq!(rate_limited(200, &h(&[])), None);
    }

    #[test]
    fn group_paths_are_encoded() {
        assert_eq!(encode("acme/platform"), "acme%2Fplatform");
    }
}
