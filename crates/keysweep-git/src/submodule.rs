//! Where the repository of a submodule is, when it is there: `.gitmodules` names the submodule,
//! git keeps its repository in the superproject's `.git/modules/<name>` (or, for submodules
//! cloned by old versions of git, in the submodule's working tree).

use std::path::{Component, Path, PathBuf};

/// The repository of an initialised submodule.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubmoduleRepository {
    /// The submodule's name in `.gitmodules` (its path when `.gitmodules` does not list it).
    pub name: String,
    /// Its git directory, to open with [`HistoryScan::run`](crate::HistoryScan::run).
    pub git_dir: PathBuf,
    /// Its working tree in the superproject's, when the superproject has one and the
    /// submodule is checked out there.
    pub worktree: Option<PathBuf>,
}

/// A submodule that is not looked for: its name in `.gitmodules` (or its path) would put its
/// repository outside the superproject's `.git/modules` (an absolute name, one with `..`), or
/// `.git/modules/<name>` leads outside `.git/modules` (a symbolic link).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnsafeSubmodule {
    /// The submodule's path, as given to [`find_submodule`], control characters escaped.
    pub path: String,
    /// Its name in `.gitmodules`, control characters escaped, at most 200 characters.
    pub name: String,
    /// Why it is refused.
    pub reason: &'static str,
}

impl std::fmt::Display for UnsafeSubmodule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "submodule `{}` not scanned: its name \"{}\" in .gitmodules {}",
            self.path, self.name, self.reason
        )
    }
}

impl std::error::Error for UnsafeSubmodule {}

/// Escapes control characters (and quotes) and shortens to 200 characters, for messages.
fn sanitise(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(200)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(200).is_some() {
        out.push('…');
    }
    out
}

/// Whether `name` is a relative path of plain components: not empty, not absolute, no `.`,
/// `..` or prefix component (`/` or `\` separating). Only such a name stays inside the
/// directory it is joined to.
fn plain_relative(name: &str) -> bool {
    !name.is_empty()
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        // Git refuses `..` between backslashes too (a separator on Windows).
        && !name.split(['/', '\\']).any(|c| c == "." || c == "..")
}

/// Finds the repository of the submodule at `path` (`/`-separated, as history records it) of
/// the superproject at `superproject` (a working tree or git directory, as
/// [`HistoryScan::run`](crate::HistoryScan::run) takes): `.git/modules/<name>` of the
/// superproject (the name from `.gitmodules`, else the path), else a repository in the
/// submodule's working tree. `Ok(None)` when the submodule is not initialised (or the
/// superproject cannot be opened).
///
/// A name (or path) that is empty, absolute or has a `..` component is refused with
/// [`UnsafeSubmodule`] rather than joined: `.gitmodules` comes from the repository scanned, and
/// such a name would point the scan at any repository on the machine. So is a
/// `.git/modules/<name>` that resolves (through a symbolic link) outside `.git/modules`.
///
/// ```no_run
/// let sub = keysweep_git::find_submodule("path/to/superproject".as_ref(), "vendor/lib");
/// match sub {
///     Ok(Some(sub)) => println!("{} is in {}", sub.name, sub.git_dir.display()),
///     Ok(None) => println!("not initialised"),
///     Err(unsafe_name) => println!("{unsafe_name}"),
/// }
/// ```
pub fn find_submodule(
    superproject: &Path,
    path: &str,
) -> Result<Option<SubmoduleRepository>, UnsafeSubmodule> {
    let Ok(repo) = gix::discover(superproject) else {
        return Ok(None);
    };
    let name = repo
        .modules()
        .ok()
        .flatten()
        .and_then(|m| {
            m.names()
                .find(|n| {
                    m.path(n)
                        .is_ok_and(|p| AsRef::<[u8]>::as_ref(&*p) == path.as_bytes())
                })
                .map(|n| n.to_string())
        })
        .unwrap_or_else(|| path.to_owned());
    let refuse = |reason| UnsafeSubmodule {
        path: sanitise(path),
        name: sanitise(&name),
        reason,
    };
    if !plain_relative(&name) {
        return Err(refuse(
            "is empty, absolute or has a `..` component (it must name a directory under .git/modules)",
        ));
    }
    if !plain_relative(path) {
        return Err(refuse(
            "belongs to a path that is empty, absolute or has a `..` component",
        ));
    }
    let worktree = repo
        .workdir()
        .map(|w| w.join(path))
        .filter(|w| w.join(".git").exists());
    let modules = repo.common_dir().join("modules");
    let in_modules = modules.join(&name);
    let own = |dir: &Path| {
        gix::open(dir)
            .ok()
            .filter(|r| r.git_dir() != repo.git_dir())
            .map(|r| r.git_dir().to_owned())
    };
    let git_dir = match own(&in_modules) {
        Some(dir) => {
            // `.git/modules/<name>` (or a directory on the way) may be a symbolic link.
            let inside = match (modules.canonicalize(), dir.canonicalize()) {
                (Ok(modules), Ok(dir)) => dir != modules && dir.starts_with(&modules),
                _ => false,
            };
            if !inside {
                return Err(refuse(
                    "leads outside .git/modules (through a symbolic link)",
                ));
            }
            Some(dir)
        }
        None => worktree.as_deref().and_then(own),
    };
    Ok(git_dir.map(|git_dir| SubmoduleRepository {
        name,
        git_dir,
        worktree,
    }))
}

/// The paths of the submodules `.gitmodules` lists in the repository at `superproject` (from
/// its working tree, else its index, else `HEAD`); empty when there are none or no repository.
pub fn submodule_paths(superproject: &Path) -> Vec<String> {
    let Some(repo) = gix::discover(superproject).ok() else {
        return Vec::new();
    };
    let Some(modules) = repo.modules().ok().flatten() else {
        return Vec::new();
    };
    modules
        .names()
        .filter_map(|n| modules.path(n).ok().map(|p| p.to_string()))
        .collect()
}

/// The commit `HEAD` of the repository at `path` points at; `None` when unborn or not a
/// repository.
pub fn head_commit(path: &Path) -> Option<crate::ObjectId> {
    let repo = gix::discover(path).ok()?;
    repo.head_id().ok().map(|id| id.detach())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_names_are_accepted() {
        for ok in ["lib", "vendor/lib", "a.b/c-d", "..lib", "lib..", "a\\b"] {
            assert!(plain_relative(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc",
            "/abs/repo/.git",
            "..",
            "../x",
            "a/../../b",
            "a/..",
            "./a",
            "a/./b",
            "a\\..\\b",
        ] {
            assert!(!plain_relative(bad), "{bad}");
        }
        assert_eq!(sanitise("a\nb\"c"), "a\\nb\\\"c");
    }
}
