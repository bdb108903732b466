//! Paths left out of a scan (a configuration's `allow.paths`): globs matched against paths
//! relative to a base directory (the repository root).

use std::path::{Path, PathBuf};

/// A set of globs for paths to leave out.
///
/// Globs are relative to the base directory and `/`-separated; `*` does not cross `/`, `**`
/// does; a glob without `/` matches a name at any depth; a leading `/` anchors it at the base;
/// a glob matching a directory leaves out everything under it.
///
/// ```
/// use keysweep_source::PathFilter;
///
/// let filter = PathFilter::new(["tests/fixtures/**", "*.snap"], None).unwrap();
/// assert!(filter.excludes_relative("tests/fixtures/keys/a.pem"));
/// assert!(filter.excludes_relative("src/ui/__snapshots__/x.snap"));
/// assert!(!filter.excludes_relative("src/main.rs"));
/// ```
#[derive(Clone, Debug)]
pub struct PathFilter {
    set: globset::GlobSet,
    base: Option<PathBuf>,
    cwd: PathBuf,
}

impl PathFilter {
    /// Compiles `globs`; paths on disk are matched relative to `base` (paths outside it are
    /// never left out). Fails with the first bad glob and why.
    pub fn new<S: AsRef<str>>(
        globs: impl IntoIterator<Item = S>,
        base: Option<PathBuf>,
    ) -> Result<PathFilter, GlobError> {
        let mut b = globset::GlobSetBuilder::new();
        for (index, g) in globs.into_iter().enumerate() {
            b.add(glob(g.as_ref()).map_err(|reason| GlobError { index, reason })?);
        }
        let set = b.build().map_err(|e| GlobError {
            index: 0,
            reason: e.kind().to_string(),
        })?;
        Ok(PathFilter {
            set,
            base,
            cwd: std::env::current_dir().unwrap_or_default(),
        })
    }

    /// Whether a path relative to the base (`/`-separated) is left out: it, or a directory
    /// above it, matches.
    pub fn excludes_relative(&self, rel: &str) -> bool {
        self.set.is_match(rel)
            || rel
                .match_indices('/')
                .any(|(i, _)| self.set.is_match(&rel[..i]))
    }

    /// Whether a path on disk (relative to the current directory, or absolute) is left out.
    pub fn excludes(&self, path: &Path) -> bool {
        let Some(base) = &self.base else {
            return false;
        };
        let abs = self.cwd.join(path);
        abs.strip_prefix(base)
            .is_ok_and(|rel| self.set.is_match(rel))
    }
}

/// A glob that does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobError {
    /// Which glob (0-based).
    pub index: usize,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for GlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for GlobError {}

/// The glob of one pattern, as [`PathFilter`] reads it.
fn glob(pattern: &str) -> Result<globset::Glob, String> {
    let trimmed = pattern.trim_end_matches('/');
    let p = match trimmed.strip_prefix('/') {
        Some(anchored) => anchored.to_string(),
        None if trimmed.contains('/') => trimmed.to_string(),
        None => format!("**/{trimmed}"),
    };
    globset::GlobBuilder::new(&p)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("bad glob {pattern:?}: {}", e.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let f = |p: &str| PathFilter::new([p], None).unwrap();
        assert!(f("*.snap").excludes_relative("a/b/c.snap"));
        assert!(f("tests/fixtures/**").excludes_relative("tests/fixtures/x/y.txt"));
        assert!(!f("tests/*.txt").excludes_relative("tests/x/y.txt"));
        assert!(f("/vendor").excludes_relative("vendor"));
        assert!(f("/vendor").excludes_relative("vendor/a/b.rs"));
        assert!(!f("/vendor").excludes_relative("a/vendor"));
        assert!(f("node_modules/").excludes_relative("web/node_modules"));
        let e = PathFilter::new(["ok/**", "a["], None).unwrap_err();
        assert_eq!(e.index, 1);
        assert!(e.reason.starts_with("bad glob \"a[\""), "{e}");
    }
}
