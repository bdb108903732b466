//! What gitleaks files suppress once a scan has found something: the paths of a gitleaks
//! configuration's global allowlist, and the entries of the scanned repositories'
//! `.gitleaksignore`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use keysweep::{Fingerprint, Rule, Suppression};
use keysweep_gitleaks::{IgnoreFile, PathMatcher};
use keysweep_source::{Hit, Source};

/// One scanned root (a repository, or a directory outside any) and its ignore file.
struct Root {
    /// As `std::path::absolute` gives it (how walked paths resolve).
    absolute: PathBuf,
    /// Resolved (how repositories name their root may differ by symlinks).
    canonical: PathBuf,
    ignore: IgnoreFile,
}

/// The suppressions to apply to a run's hits.
#[derive(Default)]
pub struct Suppress {
    allowed_paths: Option<PathMatcher>,
    roots: Vec<Root>,
    rule_ids: HashSet<String>,
}

impl Suppress {
    /// `allowed_paths`: the global allowlist's paths. `roots`: the roots of what is scanned,
    /// whose `.gitleaksignore` (if any) is read now: a malformed one stops the run before it
    /// scans.
    pub fn new(
        allowed_paths: Option<PathMatcher>,
        roots: &[PathBuf],
        rules: &[Rule],
    ) -> Result<Suppress, String> {
        let mut out = Suppress {
            allowed_paths,
            roots: Vec::new(),
            rule_ids: rules.iter().map(|r| r.id.to_string()).collect(),
        };
        for root in roots {
            let absolute = std::path::absolute(root).unwrap_or_else(|_| root.clone());
            let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| absolute.clone());
            if out.roots.iter().any(|r| r.canonical == canonical) {
                continue;
            }
            if let Some(ignore) = IgnoreFile::load(root).map_err(|e| e.to_string())? {
                out.roots.push(Root {
                    absolute,
                    canonical,
                    ignore,
                });
            }
        }
        Ok(out)
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.allowed_paths.is_none() && self.roots.is_empty()
    }

    /// Marks the hits these suppress (hits already suppressed keep their reason). In history,
    /// each version of a file is scanned whole, so a secret an entry names is found again in
    /// later versions of that file: those are suppressed too (gitleaks, reading diffs, only
    /// meets it where a commit adds it).
    pub fn apply(&self, hits: &mut [Hit]) {
        if self.is_empty() {
            return;
        }
        let mut canonical: HashMap<String, Option<usize>> = HashMap::new();
        let mut named: HashSet<(usize, String, Fingerprint)> = HashSet::new();
        let loaded = |id: &str| self.rule_ids.contains(id);
        for hit in hits.iter_mut() {
            if hit.finding.suppressed.is_some() {
                continue;
            }
            if let (Some(m), Some(path)) = (&self.allowed_paths, &hit.location.path) {
                if m.is_match(path) {
                    hit.finding.suppressed = Some(Suppression::Allowlist);
                    continue;
                }
            }
            let Some((root, rel)) = self.locate(hit, &mut canonical) else {
                continue;
            };
            let f = keysweep_gitleaks::Finding {
                commit: commit(hit),
                path: &rel,
                rule_id: &hit.finding.rule_id,
                lines: (hit.finding.line as u64, hit.finding.end_line as u64),
            };
            if self.roots[root].ignore.matches(&f, &loaded) {
                hit.finding.suppressed = Some(Suppression::IgnoreFile);
                named.insert((root, rel, hit.finding.fingerprint));
            }
        }
        if named.is_empty() {
            return;
        }
        for hit in hits.iter_mut() {
            if hit.finding.suppressed.is_some() || commit(hit).is_none() {
                continue;
            }
            if let Some((root, rel)) = self.locate(hit, &mut canonical) {
                if named.contains(&(root, rel, hit.finding.fingerprint)) {
                    hit.finding.suppressed = Some(Suppression::IgnoreFile);
                }
            }
        }
    }

    /// The root a hit is under, and its path relative to that root (`/`-separated).
    fn locate(
        &self,
        hit: &Hit,
        canonical: &mut HashMap<String, Option<usize>>,
    ) -> Option<(usize, String)> {
        if let Some(repo) = &hit.location.repository {
            let index = *canonical.entry(repo.root.clone()).or_insert_with(|| {
                let c = std::fs::canonicalize(&repo.root).ok()?;
                self.roots.iter().position(|r| r.canonical == c)
            });
            if let (Some(i), Some(path)) = (index, &repo.path) {
                return Some((i, path.clone()));
            }
        }
        if hit.location.source != Source::File {
            return None;
        }
        let abs = std::path::absolute(Path::new(hit.location.path.as_deref()?)).ok()?;
        self.roots.iter().enumerate().find_map(|(i, r)| {
            let rel = abs.strip_prefix(&r.absolute).ok()?;
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            Some((i, rel.join("/")))
        })
    }
}

/// The commit of a hit in history.
fn commit(hit: &Hit) -> Option<&str> {
    match &hit.location.source {
        Source::History { git } => git.commit.as_ref().map(|c| c.id.as_str()),
        _ => None,
    }
}

/// The roots whose `.gitleaksignore` applies to a scan of `paths`: the repository holding
/// each path, or the path itself when it is a directory outside any repository.
pub fn roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .filter_map(|p| keysweep_source::repo_root(p).or_else(|| p.is_dir().then(|| p.clone())))
        .collect()
}
