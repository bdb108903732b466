//! Where a finding came from: one typed vocabulary for every input, and the unit every output
//! consumes ([`Hit`]).

use std::path::Path;

use keysweep::Finding;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::dates::GitTime;

/// A finding and where it was found: what every input yields and every output consumes.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The finding, as the scanner reported it (offsets and lines within the scanned bytes).
    pub finding: Finding,
    /// Where those bytes came from.
    pub location: Location,
}

/// Where a finding is. Serialises flat into a finding record: `path`, `source` (and what that
/// kind of source adds: `git` for history and pending changes), `archive` for a file inside an
/// archive, and `repository` when the file belongs to a git repository.
///
/// ```
/// use keysweep_source::{Location, Source};
///
/// let loc = Location::file("./config/app.env".as_ref());
/// assert_eq!(loc.path.as_deref(), Some("config/app.env"));
/// assert_eq!(loc.source, Source::File);
/// assert_eq!(Location::stdin().display(), "<stdin>");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Location {
    /// The path, for people: a file as walked or named (without a leading `./`), with the
    /// entries of archives appended as `!/entry`; the path in its commit for history. Absent
    /// for standard input and for blobs no ref reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The exact bytes of `path`, base64 (standard alphabet, padded), present only when they
    /// are not UTF-8 (then `path` shows them with U+FFFD replacement characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_base64: Option<String>,
    /// The kind of input, and what it adds.
    #[serde(flatten)]
    pub source: Source,
    /// Where in a project the file sits (test, fixture, docs, config, ...), from its path.
    #[serde(default)]
    pub context: Context,
    /// For a file inside an archive: the archive and the chain of entries leading to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveEntry>,
    /// The git repository the file is in, and its path there. For a file of a submodule, the
    /// submodule's repository (and the path inside it); `submodule` says where the
    /// superproject has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<Repository>,
    /// For a file of a submodule (scanned with `--recurse-submodules`): the submodule's path
    /// in the superproject and its commit. `path` is then the file's path in the
    /// superproject (`vendor/lib/config.env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submodule: Option<SubmoduleOrigin>,
}

/// Which submodule of the scanned repository (the superproject) a file is in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubmoduleOrigin {
    /// The submodule's path in the superproject, `/`-separated; for a nested submodule, the
    /// whole path from the superproject (`vendor/lib/deps/inner`).
    pub path: String,
    /// The submodule's commit (hex): in a history scan, the first of the commits the
    /// superproject records at `path` (oldest first) whose history holds the commit that
    /// introduced the blob; in a working-tree scan, the commit checked out. Absent when
    /// unknown (a submodule whose `HEAD` is unborn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// How deep it is: 1 for a submodule of the superproject, 2 for a submodule of that
    /// one, and so on.
    pub depth: usize,
}

/// The kind of input a finding came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// A file (named, or met in a directory walk).
    File,
    /// Standard input.
    Stdin,
    /// A blob of a repository's history.
    History {
        /// The blob and where history has it.
        git: HistoryOrigin,
    },
    /// A pending change of a repository (staged, unstaged or untracked); findings are on
    /// added lines only.
    Change {
        /// The kind of change and, for a staged file, its blob.
        git: ChangeOrigin,
    },
    /// A container image: a file in one of its layers, or a field of its configuration or
    /// manifest.
    Image {
        /// The image and where in it.
        image: ImageOrigin,
    },
}

/// Where in a container image a finding is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImageOrigin {
    /// The image as named to the scan: a `docker save` archive or an OCI layout directory.
    pub name: String,
    /// The image's tags (`RepoTags` of `docker save`, `org.opencontainers.image.ref.name`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The manifest's digest, when the layout names it (OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// Which part of the image.
    pub part: ImagePart,
    /// For a file in a layer: the layer (`path` is the file's path inside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<ImageLayer>,
    /// For the configuration or the manifest: the field, such as `config.Env[2]`,
    /// `history[4].created_by` or `annotations["org.example.key"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The part of a container image a finding is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImagePart {
    /// A file in a layer.
    Layer,
    /// The image configuration: environment, labels, command, the history's `created_by`.
    Config,
    /// The manifest's (or the index entry's) annotations.
    Manifest,
}

impl ImagePart {
    /// `layer`, `config` or `manifest`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImagePart::Layer => "layer",
            ImagePart::Config => "config",
            ImagePart::Manifest => "manifest",
        }
    }
}

/// A layer of a container image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImageLayer {
    /// The layer's digest (`sha256:...`): of its blob, or for a `docker save` archive without
    /// blobs, its uncompressed digest (the configuration's `rootfs.diff_ids`).
    pub digest: String,
    /// Its position among the image's layers, from 1 (the base) up.
    pub index: usize,
    /// How many layers the image has.
    pub count: usize,
    /// A later layer deletes the file (a whiteout `.wh.NAME`, or an opaque directory) or
    /// replaces it (an entry at the same path), at this position: a container does not see
    /// this version of the file, but the layer still holds it and anyone who pulls the image
    /// can read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_in: Option<usize>,
}

/// A file inside an archive (zip, jar, wheel, tar, gzip, ...), possibly nested.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ArchiveEntry {
    /// The outermost archive: a file on disk (as walked), or the path of a blob in history.
    pub file: String,
    /// Entry names from the outermost archive inwards; all but the last are archives
    /// themselves. Names climbing out of the archive (`../`, absolute) are shown cleaned.
    pub entries: Vec<String>,
}

/// A git repository as findings name it, so that findings from many runs and machines can be
/// put together.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Repository {
    /// The origin remote's URL without scheme, credentials or `.git` (`github.com/acme/api`:
    /// HTTPS and SSH clones get one id), or the local root when there is no origin.
    pub id: String,
    /// The working tree (or bare repository) on the scanning machine.
    pub root: String,
    /// The path inside the repository, `/`-separated; absent for a blob no ref reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Where a blob sits in history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryOrigin {
    /// The blob's object id (hex).
    pub blob: String,
    /// The oldest commit whose tree holds the blob (parents before children, then by time);
    /// absent when no commit does (a tag pointing at a tree or blob, or an unreachable blob).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitInfo>,
    /// Refs reaching that commit (at most 100 are listed; branches and tags first).
    #[serde(default)]
    pub refs: Vec<String>,
    /// How many refs reach it.
    #[serde(default)]
    pub refs_total: usize,
    /// The same secret (by fingerprint) is in some file of `HEAD`'s tree.
    pub present_at_head: bool,
    /// Some ref reaches the blob.
    pub reachable: bool,
    /// The repository is damaged and no readable commit reaches the blob (the commit that
    /// does may be the unreadable one): `path` is its path in a tree that holds it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub damaged: bool,
}

/// The commit that introduced a blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommitInfo {
    /// The commit id (hex).
    #[serde(rename = "commit")]
    pub id: String,
    /// The author's name.
    pub author_name: String,
    /// The author's email.
    pub author_email: String,
    /// The author date.
    pub date: GitTime,
    /// The first line of the message.
    pub summary: String,
}

/// A pending change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeOrigin {
    /// Which kind of change.
    pub change: ChangeKind,
    /// The staged blob (hex), for staged changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
}

/// The kind of a pending change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// In the index, not in `HEAD`: what the next commit adds.
    Staged,
    /// In the working tree, not in the index.
    Unstaged,
    /// A file git neither tracks nor ignores.
    Untracked,
}

impl ChangeKind {
    /// `staged`, `unstaged` or `untracked`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Staged => "staged",
            ChangeKind::Unstaged => "unstaged",
            ChangeKind::Untracked => "untracked",
        }
    }
}

impl From<keysweep_git::Change> for ChangeKind {
    fn from(c: keysweep_git::Change) -> ChangeKind {
        match c {
            keysweep_git::Change::Staged => ChangeKind::Staged,
            keysweep_git::Change::Unstaged => ChangeKind::Unstaged,
            _ => ChangeKind::Untracked,
        }
    }
}

impl Location {
    /// A file on disk, as walked or named.
    pub fn file(path: &Path) -> Location {
        let (path, path_base64) = display_path(path);
        Location {
            context: Context::of_path(&path),
            path: Some(path),
            path_base64,
            source: Source::File,
            archive: None,
            repository: None,
            submodule: None,
        }
    }

    /// Standard input.
    pub fn stdin() -> Location {
        Location {
            path: None,
            path_base64: None,
            source: Source::Stdin,
            context: Context::Source,
            archive: None,
            repository: None,
            submodule: None,
        }
    }

    /// A location at `path` (or none) from `source`; the context follows from the path.
    pub fn new(path: Option<String>, source: Source) -> Location {
        Location {
            context: path.as_deref().map_or(Context::Source, Context::of_path),
            path,
            path_base64: None,
            source,
            archive: None,
            repository: None,
            submodule: None,
        }
    }

    /// The path as people read it: `path`, or what stands in for it (`<stdin>`, `<blob ID>`).
    pub fn display(&self) -> String {
        match (&self.path, &self.source) {
            (Some(p), _) => p.clone(),
            (None, Source::Stdin) => "<stdin>".into(),
            (None, Source::History { git }) => format!("<unreachable blob {}>", git.blob),
            (None, Source::Image { image }) => format!(
                "<image {}: {}>",
                image.part.as_str(),
                image.field.as_deref().unwrap_or("?")
            ),
            (None, _) => "<unknown>".into(),
        }
    }

    /// Where in a container image an image finding is.
    pub fn image(&self) -> Option<&ImageOrigin> {
        match &self.source {
            Source::Image { image } => Some(image),
            _ => None,
        }
    }

    /// The git provenance of a history finding.
    pub fn history(&self) -> Option<&HistoryOrigin> {
        match &self.source {
            Source::History { git } => Some(git),
            _ => None,
        }
    }

    /// Whether the finding is in the current code: a working-tree file, standard input or a
    /// pending change, or a history blob whose secret is still at `HEAD`; for an image, a
    /// file no later layer deletes (or a field of its configuration or manifest).
    pub fn present_at_head(&self) -> bool {
        match &self.source {
            Source::History { git } => git.present_at_head,
            Source::Image { image } => image.layer.as_ref().is_none_or(|l| l.removed_in.is_none()),
            _ => true,
        }
    }
}

/// A path for display (lossy UTF-8 without a leading `./`), and its exact bytes in base64 when
/// they are not UTF-8.
pub(crate) fn display_path(path: &Path) -> (String, Option<String>) {
    let lossy = path.to_string_lossy();
    let shown = lossy.strip_prefix("./").unwrap_or(&lossy).to_string();
    let raw = match path.to_str() {
        Some(_) => None,
        None => Some(base64(
            path_bytes(path)
                .strip_prefix(b"./")
                .unwrap_or(&path_bytes(path)),
        )),
    };
    (shown, raw)
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_encodes() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"\xff\xfe\x00"), "//4A");
    }

    #[test]
    fn json_shape() {
        let mut loc = Location::file(Path::new("a/b.env"));
        loc.repository = Some(Repository {
            id: "github.com/acme/api".into(),
            root: "/src/api".into(),
            path: Some("a/b.env".into()),
        });
        let v = serde_json::to_value(&loc).unwrap();
        assert_eq!(v["path"], "a/b.env");
        assert_eq!(v["source"], "file");
        assert_eq!(v["repository"]["id"], "github.com/acme/api");
        assert!(v.get("archive").is_none());
        let back: Location = serde_json::from_value(v).unwrap();
        assert_eq!(back, loc);

        let hist = Location {
            path: Some("x".into()),
            path_base64: None,
            context: Context::Source,
            source: Source::History {
                git: HistoryOrigin {
                    blob: "ab".into(),
                    commit: Some(CommitInfo {
                        id: "cd".into(),
                        author_name: "Ada".into(),
                        author_email: "ada@example.com".into(),
                        date: GitTime {
                            seconds: 0,
                            offset: 0,
                        },
                        summary: "add".into(),
                    }),
                    refs: vec!["refs/heads/main".into()],
                    refs_total: 1,
                    present_at_head: false,
                    reachable: true,
                    damaged: false,
                },
            },
            archive: None,
            repository: None,
            submodule: None,
        };
        let v = serde_json::to_value(&hist).unwrap();
        assert_eq!(v["source"], "history");
        assert_eq!(v["git"]["commit"], "cd");
        assert_eq!(v["git"]["date"], "1970-01-01T00:00:00+00:00");
        let back: Location = serde_json::from_value(v).unwrap();
        assert_eq!(back, hist);

        // No commit: the commit fields are absent, and read back as none.
        let mut bare = hist.clone();
        if let Source::History { git } = &mut bare.source {
            git.commit = None;
        }
        let v = serde_json::to_value(&bare).unwrap();
        assert!(v["git"].get("commit").is_none());
        assert_eq!(serde_json::from_value::<Location>(v).unwrap(), bare);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_paths_round_trip() {
        use std::os::unix::ffi::OsStrExt;
        let raw = b"./dir/caf\xe9.env";
        let loc = Location::file(Path::new(std::ffi::OsStr::from_bytes(raw)));
        assert_eq!(loc.path.as_deref(), Some("dir/caf\u{fffd}.env"));
        assert_eq!(
            loc.path_base64.as_deref(),
            Some(base64(b"dir/caf\xe9.env").as_str())
        );
    }
}
