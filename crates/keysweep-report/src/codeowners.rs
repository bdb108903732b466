//! CODEOWNERS files (GitHub and GitLab): who owns a path.
//!
//! Patterns follow gitignore rules as GitHub applies them: a pattern with a `/` at the start or
//! in the middle is anchored at the repository root, otherwise it matches at any depth; a
//! trailing `/` matches a directory's contents; a pattern also matches everything under a
//! directory it names, except that `dir/*` owns only the files directly in `dir`. The last
//! matching line wins. GitLab section headers (`[Section]`) are
//! skipped; their default owners are not applied.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// The CODEOWNERS of the repository at `root`: the first of [`LOCATIONS`] in its working tree,
/// else at its `HEAD` (for bare repositories and mirrors).
pub fn read(root: &std::path::Path) -> Option<CodeOwners> {
    LOCATIONS.iter().find_map(|rel| {
        let text = keysweep_source::read_repository_file(root, rel)?;
        Some(CodeOwners::parse(&String::from_utf8_lossy(&text)))
    })
}

/// Where GitHub and GitLab look for the file, in their order of precedence.
pub const LOCATIONS: [&str; 4] = [
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab/CODEOWNERS",
];

/// A parsed CODEOWNERS file.
#[derive(Debug)]
pub struct CodeOwners {
    set: GlobSet,
    /// For each glob of `set`, the index of its line in `owners`.
    glob_line: Vec<usize>,
    owners: Vec<Vec<String>>,
}

impl CodeOwners {
    /// Parses a CODEOWNERS file. Lines that do not parse are skipped (GitHub does the same and
    /// flags them in its UI).
    pub fn parse(text: &str) -> CodeOwners {
        let mut builder = GlobSetBuilder::new();
        let mut glob_line = Vec::new();
        let mut owners = Vec::new();
        for line in text.lines() {
            let line = line.split(" #").next().unwrap_or("").trim();
            if line.is_empty()
                || line.starts_with('#')
                || line.starts_with('[')
                || line.starts_with("^[")
            {
                continue;
            }
            let mut parts = line.split_whitespace();
            let Some(pattern) = parts.next() else {
                continue;
            };
            let names: Vec<String> = parts.map(str::to_string).collect();
            let globs = match globs(pattern) {
                Some(g) => g,
                None => continue,
            };
            let index = owners.len();
            let mut any = false;
            for g in globs {
                if let Ok(glob) = GlobBuilder::new(&g).literal_separator(true).build() {
                    builder.add(glob);
                    glob_line.push(index);
                    any = true;
                }
            }
            if any {
                owners.push(names);
            }
        }
        CodeOwners {
            set: builder.build().unwrap_or_else(|_| GlobSet::empty()),
            glob_line,
            owners,
        }
    }

    /// The owners of `path` (relative to the repository root, `/`-separated): those of the last
    /// matching line, which may be none (a line without owners un-assigns a path).
    pub fn owners(&self, path: &str) -> &[String] {
        self.set
            .matches(path)
            .into_iter()
            .map(|g| self.glob_line[g])
            .max()
            .map_or(&[], |line| self.owners[line].as_slice())
    }
}

/// The globs a CODEOWNERS pattern stands for, relative to the repository root.
fn globs(pattern: &str) -> Option<Vec<String>> {
    let pattern = pattern.strip_prefix('\\').unwrap_or(pattern);
    if pattern.is_empty() || pattern.starts_with('!') {
        return None; // negation is not supported by CODEOWNERS
    }
    let dir_only = pattern.ends_with('/');
    let trimmed = pattern.trim_end_matches('/');
    if trimmed.is_empty() {
        return Some(vec!["**".into()]); // "/" : everything
    }
    let anchored = trimmed.starts_with('/') || trimmed.contains('/');
    let body = trimmed.trim_start_matches('/');
    let base = if anchored || body.starts_with("**") {
        body.to_string()
    } else {
        format!("**/{body}")
    };
    // `docs/*` owns the files directly in docs/, not its subdirectories (GitHub's
    // documented exception); any other pattern also owns what is under a directory it names.
    if base.ends_with("/*") && !dir_only {
        return Some(vec![base]);
    }
    let mut out = vec![format!("{base}/**")];
    if !dir_only {
        out.push(base);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_semantics() {
        let owners = CodeOwners::parse(
            "# comment\n\
             *       @acme/all\n\
             *.js    @acme/web   # trailing comment\n\
             /build/ @acme/build\n\
             docs/*  docs@example.com\n\
             apps/   @acme/apps\n\
             /config/secrets.yml @acme/security @alice\n\
             /config/unowned.yml\n\
             [Section]\n",
        );
        assert_eq!(owners.owners("README.md"), ["@acme/all"]);
        assert_eq!(owners.owners("src/app.js"), ["@acme/web"]);
        assert_eq!(owners.owners("build/out/x.txt"), ["@acme/build"]);
        assert_eq!(owners.owners("src/build/x.txt"), ["@acme/all"]); // anchored
        assert_eq!(owners.owners("docs/guide.md"), ["docs@example.com"]);
        assert_eq!(owners.owners("docs/deep/guide.md"), ["@acme/all"]); // * is one level
        assert_eq!(owners.owners("x/apps/y/z.rs"), ["@acme/apps"]); // unanchored dir
        assert_eq!(
            owners.owners("config/secrets.yml"),
            ["@acme/security", "@alice"]
        );
        assert!(owners.owners("config/unowned.yml").is_empty());
    }

    #[test]
    fn empty_and_odd_files() {
        assert!(CodeOwners::parse("").owners("a").is_empty());
        let owners = CodeOwners::parse("!negated @x\n[unclosed\n/ @root\n");
        assert_eq!(owners.owners("any/path"), ["@root"]);
    }
}
