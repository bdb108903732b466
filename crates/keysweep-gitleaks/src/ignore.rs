//! `.gitleaksignore`: findings a repository has reviewed, one gitleaks fingerprint a line.

use std::fmt;
use std::path::Path;

/// The file name looked for at the root of a scanned repository (or directory).
pub const IGNORE_FILE_NAME: &str = ".gitleaksignore";

/// One entry: `commit:file:rule-id:line` (a finding in history) or `file:rule-id:line` (at
/// that file and line, in any commit or the working tree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoreEntry {
    /// The commit, lowercase hex; `None` for a working-tree entry.
    pub commit: Option<String>,
    /// The path relative to the repository root, `/`-separated.
    pub path: String,
    /// The rule id as written (a gitleaks id); see [`IgnoreFile::matches`].
    pub rule_id: String,
    /// The 1-based line of the finding (gitleaks: where its match starts).
    pub line: u64,
    /// The line of `.gitleaksignore` it was read from.
    pub source_line: usize,
}

/// A parsed `.gitleaksignore`.
///
/// ```
/// use keysweep_gitleaks::{Finding, IgnoreFile};
///
/// let src = "# reviewed\n3f2a9c1e0b7d4a6f8e5c2b1a0d9e8f7c6b5a4d3e:conf/app.env:aws-access-token:4\nREADME.md:generic-api-key:12\n";
/// let ignore = IgnoreFile::parse(src, ".gitleaksignore").unwrap();
/// let loaded = |id: &str| id == "aws-access-token";
/// let at = |path, line| Finding { commit: None, path, rule_id: "generic.secret.quoted", lines: (line, line) };
/// // `generic-api-key` is not a loaded rule: a reviewed secret at that line, whatever rule finds it.
/// assert!(ignore.matches(&at("README.md", 12), &loaded));
/// assert!(!ignore.matches(&at("README.md", 13), &loaded));
/// // A history entry needs its commit.
/// assert!(!ignore.matches(&Finding { rule_id: "aws-access-token", ..at("conf/app.env", 4) }, &loaded));
///
/// let err = IgnoreFile::parse("a.txt:rule\n", ".gitleaksignore").unwrap_err();
/// assert_eq!(err.to_string(), ".gitleaksignore:1: expected `file:rule-id:line` or `commit:file:rule-id:line`");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreFile {
    entries: Vec<IgnoreEntry>,
}

/// What [`IgnoreFile::matches`] compares: one finding.
#[derive(Clone, Copy, Debug)]
pub struct Finding<'a> {
    /// The commit of a finding in history.
    pub commit: Option<&'a str>,
    /// The path relative to the repository (or scanned directory) root, `/`-separated.
    pub path: &'a str,
    /// The keysweep rule id.
    pub rule_id: &'a str,
    /// The first and last line of the finding.
    pub lines: (u64, u64),
}

/// A line of a `.gitleaksignore` that is not a fingerprint, or a file that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoreError {
    /// The file.
    pub file: String,
    /// The 1-based line, when the error is on one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for IgnoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for IgnoreError {}

impl IgnoreFile {
    /// Reads `dir/.gitleaksignore`; `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<IgnoreFile>, IgnoreError> {
        let path = dir.join(IGNORE_FILE_NAME);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let src = String::from_utf8_lossy(&bytes);
                IgnoreFile::parse(&src, &path.display().to_string()).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IgnoreError {
                file: path.display().to_string(),
                line: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }

    /// Parses the text of a `.gitleaksignore`; `file` names it in errors. Blank lines and
    /// lines starting with `#` are skipped; any other line that is not a fingerprint is an
    /// error naming the file and line.
    pub fn parse(src: &str, file: &str) -> Result<IgnoreFile, IgnoreError> {
        let mut entries = Vec::new();
        for (i, raw) in src.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: &str| IgnoreError {
                file: file.to_string(),
                line: Some(i + 1),
                message: message.to_string(),
            };
            let shape = "expected `file:rule-id:line` or `commit:file:rule-id:line`";
            let mut parts = line.rsplitn(3, ':');
            let (Some(number), Some(rule_id), Some(rest)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(err(shape));
            };
            let number: u64 = number
                .parse()
                .map_err(|_| err(&format!("{shape}: {number:?} is not a line number")))?;
            let (commit, path) = match rest.split_once(':') {
                Some((c, p)) if is_commit(c) => (Some(c.to_ascii_lowercase()), p),
                _ => (None, rest),
            };
            if rule_id.is_empty() || path.is_empty() {
                return Err(err(shape));
            }
            entries.push(IgnoreEntry {
                commit,
                // gitleaks writes Windows paths with `\`; it compares them with `/`.
                path: path.replace('\\', "/"),
                rule_id: rule_id.to_string(),
                line: number,
                source_line: i + 1,
            });
        }
        Ok(IgnoreFile { entries })
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[IgnoreEntry] {
        &self.entries
    }

    /// Whether an entry names this finding: same path, a line of the finding, the same commit
    /// when the entry has one, and the same rule, unless the entry's rule is not one of the
    /// loaded rules (`loaded` says which are): such an entry is a secret reviewed under a
    /// gitleaks rule keysweep does not have (its built-in rules use other ids), so it
    /// suppresses whatever rule finds something at that line.
    pub fn matches(&self, f: &Finding<'_>, loaded: &dyn Fn(&str) -> bool) -> bool {
        self.entries.iter().any(|e| {
            e.path == f.path
                && (f.lines.0..=f.lines.1).contains(&e.line)
                && e.commit
                    .as_deref()
                    .is_none_or(|c| f.commit.is_some_and(|fc| fc.eq_ignore_ascii_case(c)))
                && {
                    let id = crate::rule_id(&e.rule_id);
                    id == f.rule_id || !loaded(&id)
                }
        })
    }
}

/// A commit id as gitleaks writes it: 40 (SHA-1) or 64 (SHA-256) hex digits; abbreviated
/// ones (at least 7) are accepted too.
fn is_commit(s: &str) -> bool {
    (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_and_malformed_lines_name_their_line() {
        let src = "\n# comment\n  deadbeefcafe0123456789abcdef0123456789ab:a/b.env:jwt:3  \nC:\\x\\y.txt:generic-api-key:7\nsrc/a:b.py:aws-access-token:9\n";
        let f = IgnoreFile::parse(src, ".gitleaksignore").unwrap();
        let e = f.entries();
        assert_eq!(e.len(), 3);
        assert_eq!(
            e[0].commit.as_deref(),
            Some("deadbeefcafe0123456789abcdef0123456789ab")
        );
        assert_eq!(
            (e[0].path.as_str(), e[0].rule_id.as_str(), e[0].line),
            ("a/b.env", "jwt", 3)
        );
        assert_eq!(e[0].source_line, 3);
        // Not a commit before the first colon: part of the path.
        assert_eq!(e[1].commit, None);
        assert_eq!(e[1].path, "C:/x/y.txt");
        assert_eq!(e[2].path, "src/a:b.py");

        for (bad, line) in [
            ("x\n", 1),
            ("\n\na:b:c\n", 3),
            ("a:rule:-1\n", 1),
            (":r:1\n", 1),
        ] {
            let err = IgnoreFile::parse(bad, "repo/.gitleaksignore").unwrap_err();
            assert_eq!(err.line, Some(line), "{bad:?}");
            assert!(err
                .to_string()
                .starts_with(&format!("repo/.gitleaksignore:{line}: ")));
        }
    }

    #[test]
    fn matching_by_path_line_commit_and_rule() {
        let f = IgnoreFile::parse(
            "0123456789abcdef0123456789abcdef01234567:k.env:mine:2\nk.env:mine:5\nk.env:generic-api-key:8\n",
            "x",
        )
        .unwrap();
        let loaded = |id: &str| id == "mine" || id == "other";
        let find = |commit, rule_id, line| Finding {
            commit,
            path: "k.env",
            rule_id,
            lines: (line, line),
        };
        let c = Some("0123456789ABCDEF0123456789ABCDEF01234567");
        assert!(f.matches(&find(c, "mine", 2), &loaded));
        assert!(
            !f.matches(&find(None, "mine", 2), &loaded),
            "history entry, no commit"
        );
        assert!(!f.matches(&find(Some("ffff"), "mine", 2), &loaded));
        assert!(
            !f.matches(&find(c, "other", 2), &loaded),
            "another loaded rule"
        );
        // A working-tree entry matches in any commit too (as gitleaks' global fingerprints).
        assert!(f.matches(&find(None, "mine", 5), &loaded));
        assert!(f.matches(&find(c, "mine", 5), &loaded));
        // A gitleaks rule keysweep does not load: any rule at that line.
        assert!(f.matches(&find(None, "other", 8), &loaded));
        assert!(!f.matches(&find(None, "other", 9), &loaded));
        // A finding spanning lines 7-9 covers line 8.
        let span = Finding {
            lines: (7, 9),
            ..find(None, "other", 7)
        };
        assert!(f.matches(&span, &loaded));
    }
}
