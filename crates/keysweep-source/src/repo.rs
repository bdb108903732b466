//! Which repository a file belongs to, and how findings name it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::location::{Repository, SubmoduleOrigin};

/// The repository root containing `path`: the nearest ancestor (or `path` itself, for a
/// directory) with a `.git` entry.
pub fn repo_root(path: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(path).ok()?;
    let mut dir = if abs.is_dir() {
        abs.as_path()
    } else {
        abs.parent()?
    };
    loop {
        if dir.join(".git").exists() {
            return Some(dir.to_path_buf());
        }
        dir = dir.parent()?;
    }
}

/// A repository's name for findings: the origin remote without scheme, credentials or `.git`,
/// or the local root without one.
pub fn repository_id(root: &Path) -> String {
    keysweep_git::repository_info(root)
        .and_then(|info| info.origin_url)
        .map(|url| keysweep_git::normalize_remote_url(&url))
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| root.display().to_string())
}

/// A repository, named once and shared by its findings.
#[derive(Debug)]
pub(crate) struct Named {
    pub id: String,
    pub root: PathBuf,
    /// The submodule this repository is, when files are labelled with it.
    pub submodule: Option<SubmoduleOrigin>,
}

impl Named {
    pub fn at(root: &Path) -> Named {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        Named {
            id: repository_id(&root),
            root,
            submodule: None,
        }
    }

    /// The [`Repository`] of a path inside it (`/`-separated), or of no path.
    pub fn with_path(&self, path: Option<String>) -> Repository {
        Repository {
            id: self.id.clone(),
            root: self.root.display().to_string(),
            path,
        }
    }

    /// The [`Repository`] of a file on disk, if it is inside the root.
    pub fn of_file(&self, abs: &Path) -> Option<Repository> {
        let rel = abs.strip_prefix(&self.root).ok()?;
        let rel: Vec<_> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect();
        Some(self.with_path(Some(rel.join("/"))))
    }
}

/// When the repository at `root` is the working tree of a submodule (`.gitmodules` of the
/// repository around it lists it, and so on up): its path in the outermost superproject, its
/// depth and its checked-out commit.
fn submodule_of(root: &Path) -> Option<SubmoduleOrigin> {
    let mut path = String::new();
    let mut depth = 0;
    let mut current = root.to_path_buf();
    while let Some(superproject) = current.parent().and_then(repo_root) {
        let Ok(rel) = current.strip_prefix(&superproject) else {
            break;
        };
        let rel: Vec<_> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect();
        let rel = rel.join("/");
        if !keysweep_git::submodule_paths(&superproject).contains(&rel) {
            break;
        }
        path = if path.is_empty() {
            rel
        } else {
            format!("{rel}/{path}")
        };
        depth += 1;
        current = superproject;
    }
    (depth > 0).then(|| SubmoduleOrigin {
        path,
        commit: keysweep_git::head_commit(root).map(|c| c.to_string()),
        depth,
    })
}

/// Names the repository of files met in a walk: the nearest enclosing directory with a
/// `.git`, looked up once per directory and shared between threads.
#[derive(Debug, Default)]
pub(crate) struct Attribution {
    by_dir: Mutex<HashMap<PathBuf, Option<Arc<Named>>>>,
    by_root: Mutex<HashMap<PathBuf, Arc<Named>>>,
    /// Whether files of submodules are labelled with the submodule.
    submodules: bool,
}

impl Attribution {
    /// Attribution that labels the files of submodules with their submodule, or not.
    pub fn new(submodules: bool) -> Attribution {
        Attribution {
            submodules,
            ..Attribution::default()
        }
    }

    /// The repository of the file at `path` (as walked), and, when asked for, the submodule
    /// that repository is.
    pub fn of(&self, path: &Path) -> (Option<Repository>, Option<SubmoduleOrigin>) {
        match self.named(path) {
            Some((named, abs)) => (named.of_file(&abs), named.submodule.clone()),
            None => (None, None),
        }
    }

    fn named(&self, path: &Path) -> Option<(Arc<Named>, PathBuf)> {
        let abs = std::path::absolute(path).ok()?;
        let dir = abs.parent()?;
        let cached = self
            .by_dir
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(dir)
            .cloned();
        let named = match cached {
            Some(n) => n,
            None => {
                let named = repo_root(dir).map(|root| {
                    let mut roots = self.by_root.lock().unwrap_or_else(|e| e.into_inner());
                    Arc::clone(roots.entry(root.clone()).or_insert_with(|| {
                        let mut named = Named::at(&root);
                        if self.submodules {
                            named.submodule = submodule_of(&named.root);
                        }
                        Arc::new(named)
                    }))
                });
                self.by_dir
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(dir.to_path_buf(), named.clone());
                named
            }
        }?;
        Some((named, abs))
    }
}

/// A file of a repository as people see it: from the working tree if it is there, else from
/// the tree of `HEAD` (for bare repositories and mirrors). For files such as CODEOWNERS.
pub fn read_repository_file(root: &Path, rel: &str) -> Option<Vec<u8>> {
    std::fs::read(root.join(rel))
        .ok()
        .or_else(|| keysweep_git::read_head_file(root, rel))
}
