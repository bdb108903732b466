//! Where the repository of a submodule is, when it is there: `.gitmodules` names the submodule,
//! git keeps its repository in the superproject's `.git/modules/<name>` (or, for submodules
//! cloned by old versions of git, in the submodule's working tree).

use std::path::{Path, PathBuf};

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

/// Finds the repository of the submodule at `path` (`/`-separated, as history records it) of
/// the superproject at `superproject` (a working tree or git directory, as
/// [`HistoryScan::run`](crate::HistoryScan::run) takes): `.git/modules/<name>` of the
/// superproject (the name from `.gitmodules`, else the path), else a repository in the
/// submodule's working tree. `None` when the submodule is not initialised (or the superproject
/// cannot be opened).
///
/// ```no_run
/// let sub = keysweep_git::find_submodule("path/to/superproject".as_ref(), "vendor/lib");
/// if let Some(sub) = sub {
///     println!("{} is in {}", sub.name, sub.git_dir.display());
/// }
/// ```
pub fn find_submodule(superproject: &Path, path: &str) -> Option<SubmoduleRepository> {
    let repo = gix::discover(superproject).ok()?;
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
    let worktree = repo
        .workdir()
        .map(|w| w.join(path))
        .filter(|w| w.join(".git").exists());
    let in_modules = repo.common_dir().join("modules").join(&name);
    let own = |dir: &Path| {
        gix::open(dir)
            .ok()
            .filter(|r| r.git_dir() != repo.git_dir())
            .map(|r| r.git_dir().to_owned())
    };
    let git_dir = own(&in_modules).or_else(|| worktree.as_deref().and_then(own))?;
    Some(SubmoduleRepository {
        name,
        git_dir,
        worktree,
    })
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
