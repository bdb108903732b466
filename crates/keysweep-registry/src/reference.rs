//! Image references: `[registry[:port]/]repository[:tag][@sha256:HEX]` (or `@sha512:HEX`).

use std::fmt;

/// The registry a reference without one names.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API is.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// An image in a registry: where it is, and which version (tag, digest or both).
///
/// ```
/// use keysweep_registry::Reference;
///
/// let r = Reference::parse("alpine")?;
/// assert_eq!((r.registry(), r.repository(), r.tag()), ("docker.io", "library/alpine", Some("latest")));
/// assert_eq!(r.api_host(), "registry-1.docker.io");
/// let r = Reference::parse("127.0.0.1:5000/team/app:v2")?;
/// assert_eq!((r.registry(), r.repository(), r.tag()), ("127.0.0.1:5000", "team/app", Some("v2")));
/// assert_eq!(r.to_string(), "127.0.0.1:5000/team/app:v2");
/// assert!(Reference::parse("Team/App").is_err());
/// # Ok::<(), keysweep_registry::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    /// Parses a reference as `docker pull` reads one: the registry is the first component if
    /// it has a `.` or a `:` or is `localhost` (Docker Hub otherwise, where a one-component
    /// name is in `library/`); the tag is `latest` when neither a tag nor a digest is given.
    pub fn parse(text: &str) -> Result<Reference, crate::Error> {
        let bad = |why: &str| {
            crate::Error::new(
                crate::ErrorKind::Reference,
                format!("{text:?} is not an image reference: {why}"),
            )
        };
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let parsed = keysweep_source::ContentDigest::parse(digest).ok_or_else(|| {
                    bad("the digest is not sha256: and 64 or sha512: and 128 lowercase hex digits")
                })?;
                debug_assert_eq!(parsed.to_string(), digest);
                (rest, Some(digest.to_string()))
            }
            None => (text, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(rest[i + 1..].to_string())),
            _ => (rest, None),
        };
        if let Some(tag) = &tag {
            let ok = !tag.is_empty()
                && tag.len() <= 128
                && !tag.starts_with(['.', '-'])
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !ok {
                return Err(bad(
                    "the tag is not 1 to 128 letters, digits, '_', '.', '-'",
                ));
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        if !registry.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '[')
            || !registry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        {
            return Err(bad("the registry is not a host name with an optional port"));
        }
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && c.ends_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        };
        if !repository.split('/').all(component_ok) {
            return Err(bad(
                "the repository is not lowercase letters, digits and separators ('.', '_', '-', '/')",
            ));
        }
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let tag = tag.or_else(|| digest.is_none().then(|| "latest".to_string()));
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The registry as named (`docker.io` for Docker Hub), with its port if it has one.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host (and port) the registry's API is at: Docker Hub's is not `docker.io`.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// The repository (`library/alpine`, `team/app`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if the reference has one (`latest` when it has neither tag nor digest).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest (`sha256:HEX` or `sha512:HEX`), if the reference pins one.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// What the manifest is fetched by: the digest if there is one, else the tag.
    pub(crate) fn version(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// `registry/repository:tag`, without the digest (`None` without a tag).
    pub(crate) fn tagged(&self) -> Option<String> {
        let tag = self.tag.as_deref()?;
        Some(format!("{}/{}:{tag}", self.registry, self.repository))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_as_docker_pull_reads_them() {
        let d = format!("sha256:{}", "ab".repeat(32));
        let d512 = format!("sha512:{}", "cd".repeat(64));
        // The text, then its registry, repository, tag and digest.
        type Row<'a> = (String, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
        let table: Vec<Row> = vec![
            (
                "alpine".into(),
                "docker.io",
                "library/alpine",
                Some("latest"),
                None,
            ),
            (
                "alpine:3.20".into(),
                "docker.io",
                "library/alpine",
                Some("3.20"),
                None,
            ),
            (
                "bitnami/redis".into(),
                "docker.io",
                "bitnami/redis",
                Some("latest"),
                None,
            ),
            (
                "docker.io/alpine".into(),
                "docker.io",
                "library/alpine",
                Some("latest"),
                None,
            ),
            (
                "index.docker.io/x/y:1".into(),
                "docker.io",
                "x/y",
                Some("1"),
                None,
            ),
            (
                "localhost/app".into(),
                "localhost",
                "app",
                Some("latest"),
                None,
            ),
            (
                "localhost:5000/a/b/c:t".into(),
                "localhost:5000",
                "a/b/c",
                Some("t"),
                None,
            ),
            (
                "ghcr.io/o/app@".to_string() + &d,
                "ghcr.io",
                "o/app",
                None,
                Some(d.as_str()),
            ),
            (
                format!("127.0.0.1:5000/app:v1@{d}"),
                "127.0.0.1:5000",
                "app",
                Some("v1"),
                Some(d.as_str()),
            ),
            (
                format!("app@{d512}"),
                "docker.io",
                "library/app",
                None,
                Some(d512.as_str()),
            ),
            (
                "[::1]:5000/app".into(),
                "[::1]:5000",
                "app",
                Some("latest"),
                None,
            ),
        ];
        for (text, registry, repo, tag, digest) in table {
            let r = Reference::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (r.registry(), r.repository(), r.tag(), r.digest()),
                (registry, repo, tag, digest),
                "{text}"
            );
        }
        assert_eq!(
            Reference::parse("alpine").unwrap().api_host(),
            "registry-1.docker.io"
        );
        assert_eq!(
            Reference::parse("alpine").unwrap().to_string(),
            "docker.io/library/alpine:latest"
        );
    }

    #[test]
    fn what_is_not_a_reference_is_refused_with_the_reason() {
        for (text, why) in [
            ("Upper/case", "repository"),
            ("app:", "tag"),
            ("app:-x", "tag"),
            ("app@sha256:abc", "digest"),
            ("app@sha512:abc", "digest"),
            ("app@md5:abc", "digest"),
            ("reg.io/", "repository"),
            ("reg.io//x", "repository"),
            ("./image.tar", "registry"),
            ("a b", "repository"),
            ("", "repository"),
        ] {
            let e = Reference::parse(text).unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
