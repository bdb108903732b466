//! What a repository is called and what its HEAD holds, for naming findings across
//! repositories (inventories) and reading files such as CODEOWNERS.

use std::path::{Path, PathBuf};

/// A repository's location and remote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryInfo {
    /// The working tree, or the git directory of a bare repository.
    pub root: PathBuf,
    /// `remote.origin.url` as configured (it may hold credentials: see
    /// [`normalize_remote_url`] before showing it).
    pub origin_url: Option<String>,
}

/// Opens the repository containing `path` (a working tree, a `.git` directory, a bare
/// repository or a directory inside one) and reads its root and origin URL; `None` if `path`
/// is in no repository.
pub fn repository_info(path: &Path) -> Option<RepositoryInfo> {
    let repo = gix::discover(path).ok()?;
    let root = repo.workdir().unwrap_or_else(|| repo.git_dir()).to_owned();
    let origin_url = repo
        .config_snapshot()
        .string("remote.origin.url")
        .map(|s| s.to_string());
    Some(RepositoryInfo { root, origin_url })
}

/// The content of `path` (relative, `/`-separated) in the tree of HEAD of the repository at
/// `repo`; `None` if there is no such repository, commit or file.
pub fn read_head_file(repo: &Path, path: &str) -> Option<Vec<u8>> {
    let repo = gix::discover(repo).ok()?;
    let tree = repo.head_tree().ok()?;
    let entry = tree.lookup_entry_by_path(path).ok()??;
    if !entry.mode().is_blob() {
        return None;
    }
    let data = entry.object().ok()?.detach().data;
    Some(data)
}

/// A remote URL as a stable, credential-free repository name: scheme, user name, password
/// or token, port and a trailing `.git` or `/` removed, and scp-like `git@host:owner/repo`
/// written `host/owner/repo`, so that HTTPS and SSH clones of one repository get one name.
///
/// ```
/// use keysweep_git::normalize_remote_url as n;
/// assert_eq!(n("https://github.com/acme/api.git"), "github.com/acme/api");
/// assert_eq!(n("git@github.com:acme/api.git"), "github.com/acme/api");
/// assert_eq!(n("ssh://git@github.com:22/acme/api"), "github.com/acme/api");
/// assert_eq!(n("https://x-access-token:ghp_secret@github.com/acme/api/"), "github.com/acme/api");
/// assert_eq!(n("/srv/git/api.git"), "/srv/git/api");
/// ```
pub fn normalize_remote_url(url: &str) -> String {
    let url = url.trim();
    let (rest, had_scheme) = match url.find("://") {
        Some(i) => (&url[i + 3..], true),
        None => (url, false),
    };
    let rest = if had_scheme || !rest.starts_with('/') {
        // Credentials end at the last '@' before the path.
        let path_start = rest.find('/').unwrap_or(rest.len());
        match rest[..path_start].rfind('@') {
            Some(at) => &rest[at + 1..],
            None => rest,
        }
    } else {
        rest
    };
    let mut out = String::with_capacity(rest.len());
    if had_scheme {
        // host[:port]/path
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        out.push_str(host.split(':').next().unwrap_or(host));
        out.push_str(path);
    } else if let Some((host, path)) = rest
        .split_once(':')
        .filter(|(host, _)| !host.contains('/') && !host.is_empty())
    {
        // scp-like host:path
        out.push_str(host);
        out.push('/');
        out.push_str(path.trim_start_matches('/'));
    } else {
        out.push_str(rest);
    }
    while out.ends_with('/') {
        out.pop();
    }
    if let Some(stripped) = out.strip_suffix(".git") {
        out.truncate(stripped.len());
    }
    out
}

/// The files under `dir` (a directory in a repository's working tree) that the repository's
/// index tracks although its ignore rules (`.gitignore`, `info/exclude`, `core.excludesFile`)
/// match them: committed before the rule was written, or added with `git add -f`. Git still
/// versions them, so a scan that honours ignore files must read them anyway. The paths are
/// relative to `dir`; files no longer on disk are left out. Empty when `dir` is in no
/// repository or the index cannot be read.
pub fn tracked_but_ignored(dir: &Path) -> Vec<PathBuf> {
    let Ok(repo) = gix::discover(dir) else {
        return Vec::new();
    };
    let Some(workdir) = repo.workdir().map(Path::to_owned) else {
        return Vec::new();
    };
    let Ok(index) = repo.index_or_empty() else {
        return Vec::new();
    };
    let Ok(mut excludes) = repo.excludes(
        &index,
        None,
        gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped,
    ) else {
        return Vec::new();
    };
    let (Ok(dir), Ok(root)) = (dir.canonicalize(), workdir.canonicalize()) else {
        return Vec::new();
    };
    // `dir` as the index spells paths: relative to the root, `/`-separated. Entries outside it
    // are skipped by comparing bytes, before any path is built or exclude looked up.
    let Some(prefix) = dir.strip_prefix(&root).ok().and_then(|p| {
        p.components()
            .map(|c| c.as_os_str().to_str())
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.join("/"))
    }) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in index.entries() {
        let rela = entry.path(&index);
        let below = match rela.strip_prefix(prefix.as_bytes()) {
            Some(rest) if prefix.is_empty() => Some(rest),
            Some(rest) => rest.strip_prefix(b"/"),
            None => None,
        };
        let Some(below) = below.and_then(|b| std::str::from_utf8(b).ok()) else {
            continue;
        };
        if !excludes
            .at_entry(rela, Some(entry.mode))
            .is_ok_and(|p| p.is_excluded())
        {
            continue;
        }
        // Regular files only: a tracked symbolic link is not followed, as in a walk.
        let rel = PathBuf::from(below);
        if dir
            .join(&rel)
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_file())
        {
            found.push(rel);
        }
    }
    found
}
