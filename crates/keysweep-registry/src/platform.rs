//! Platforms (`os/architecture[/variant]`) and choosing manifests from an index by them.

use std::fmt;

use serde_json::Value;

/// A platform an image is built for, as an index's `platform` describes it.
///
/// ```
/// use keysweep_registry::Platform;
///
/// let p: Platform = "linux/arm64/v8".parse()?;
/// assert_eq!((p.os.as_str(), p.architecture.as_str(), p.variant.as_deref()), ("linux", "arm64", Some("v8")));
/// assert_eq!(Platform::default().to_string(), "linux/amd64");
/// assert!("linux".parse::<Platform>().is_err());
/// # Ok::<(), keysweep_registry::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    /// `linux`, `windows`, ...
    pub os: String,
    /// `amd64`, `arm64`, `arm`, ...
    pub architecture: String,
    /// `v7`, `v8`, ... (when given, an index entry must have the same).
    pub variant: Option<String>,
}

impl Default for Platform {
    /// `linux/amd64`.
    fn default() -> Platform {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl std::str::FromStr for Platform {
    type Err = crate::Error;

    fn from_str(text: &str) -> Result<Platform, crate::Error> {
        let parts: Vec<&str> = text.split('/').collect();
        let ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| ok(p)) {
            return Err(crate::Error::new(
                crate::ErrorKind::Platform,
                format!(
                    "{text:?} is not a platform: os/architecture[/variant], such as linux/arm64/v8"
                ),
            ));
        }
        Ok(Platform {
            os: parts[0].to_string(),
            architecture: parts[1].to_string(),
            variant: parts.get(2).map(|v| v.to_string()),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl Platform {
    /// The platform an index entry's `platform` object describes.
    pub(crate) fn of(descriptor: &Value) -> Option<Platform> {
        let p = &descriptor["platform"];
        Some(Platform {
            os: p["os"].as_str()?.to_string(),
            architecture: p["architecture"].as_str()?.to_string(),
            variant: p["variant"].as_str().map(str::to_string),
        })
    }

    /// Whether an entry built for `other` runs here: same OS and architecture, and the same
    /// variant when this one names one.
    pub(crate) fn matches(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || self.variant == other.variant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_platform_without_a_variant_matches_every_variant() {
        let entry = |v: Value| Platform::of(&json!({"platform": v})).unwrap();
        let arm64 = entry(json!({"os": "linux", "architecture": "arm64", "variant": "v8"}));
        let amd64 = entry(json!({"os": "linux", "architecture": "amd64"}));
        let want: Platform = "linux/arm64".parse().unwrap();
        assert!(want.matches(&arm64));
        assert!(!want.matches(&amd64));
        assert!("linux/arm64/v8"
            .parse::<Platform>()
            .unwrap()
            .matches(&arm64));
        assert!(!"linux/arm64/v7"
            .parse::<Platform>()
            .unwrap()
            .matches(&arm64));
        assert!(Platform::default().matches(&amd64));
        assert_eq!(Platform::of(&json!({})), None);
        for bad in ["linux", "linux/", "a/b/c/d", "linux/amd 64"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }
}
