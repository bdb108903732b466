//! The repository configuration file, `.keysweep.toml`.
//!
//! ```toml
//! [rules]
//! files = ["ci/our-rules.toml"]     # extra rule files, relative to this file
//! disable = ["generic.password"]   # rule ids
//! disable_tags = ["generic"]       # every rule with one of these tags
//! min_entropy = 3.5                # replaces the minimum entropy of every rule that has one
//! min_confidence = "medium"        # report only findings at least this confident
//!
//! [allow]
//! paths = ["tests/fixtures/**", "*.snap"]  # globs, relative to the repository root
//! values = ["^AKIA[A-Z0-9]{12}EXAMPLE$"]   # regexes a secret value may match
//!
//! [scan]
//! max_file_size = "10M"                    # bytes, or with a K, M or G suffix
//! contexts = ["config", "deployment", "source"]  # report only findings in these
//! baseline = ".keysweep-baseline.json"     # relative to this file
//! validate = true                          # as --validate: sends each secret to its provider
//! ```
//!
//! Unknown keys and bad values are errors that name the file, the key and the line.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// The name looked for at the repository root.
pub const FILE_NAME: &str = ".keysweep.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    rules: RawRules,
    #[serde(default)]
    allow: RawAllow,
    #[serde(default)]
    scan: RawScan,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    files: Vec<Spanned<String>>,
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    disable_tags: Vec<Spanned<String>>,
    min_entropy: Option<Spanned<f64>>,
    min_confidence: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    values: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScan {
    max_file_size: Option<Spanned<Size>>,
    baseline: Option<Spanned<String>>,
    #[serde(default)]
    contexts: Vec<Spanned<String>>,
    validate: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(i64),
    Text(String),
}

/// A value with the line it was written on, for error messages.
#[derive(Clone, Debug)]
pub struct At<T> {
    pub value: T,
    pub line: usize,
}

/// A loaded, checked configuration. Paths are resolved against the file's directory.
#[derive(Debug, Default)]
pub struct Config {
    /// The file it was read from (`None`: no configuration).
    pub path: Option<PathBuf>,
    pub rule_files: Vec<At<PathBuf>>,
    pub disable: Vec<At<String>>,
    pub disable_tags: Vec<At<String>>,
    pub min_entropy: Option<At<f64>>,
    pub min_confidence: Option<keysweep::Confidence>,
    pub exclude: Vec<At<String>>,
    pub allow_values: Vec<At<String>>,
    pub max_file_size: Option<u64>,
    pub baseline: Option<PathBuf>,
    /// Report only findings in these contexts (empty: all).
    pub contexts: Vec<keysweep_source::Context>,
    /// `scan.validate = true`: validate as with --validate (also in the pre-commit hook, which
    /// never validates otherwise).
    pub validate: bool,
}

impl Config {
    /// Reads and checks `path`. Errors name the file, the key and the line.
    pub fn load(path: &Path) -> Result<Config, String> {
        let src = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read config file {}: {}",
                path.display(),
                keysweep_source::io_reason(&e)
            )
        })?;
        Config::parse(&src, path)
    }

    pub fn parse(src: &str, path: &Path) -> Result<Config, String> {
        let file = path.display();
        let raw: Raw = toml::from_str(src).map_err(|e| {
            let line = e.span().map(|s| line_of(src, s.start));
            let msg = e.message().trim_end();
            match line {
                Some(l) => format!("{file}:{l}: {msg}"),
                None => format!("{file}: {msg}"),
            }
        })?;
        let at = |s: &Spanned<String>| At {
            value: s.get_ref().clone(),
            line: line_of(src, s.span().start),
        };
        let err = |line: usize, key: &str, msg: String| format!("{file}:{line}: {key}: {msg}");
        let dir = path.parent().unwrap_or(Path::new("."));

        let mut config = Config {
            path: Some(path.to_path_buf()),
            ..Config::default()
        };
        for f in &raw.rules.files {
            let a = at(f);
            if a.value.is_empty() {
                return Err(err(a.line, "rules.files", "empty path".into()));
            }
            config.rule_files.push(At {
                value: dir.join(&a.value),
                line: a.line,
            });
        }
        config.disable = raw.rules.disable.iter().map(at).collect();
        config.disable_tags = raw.rules.disable_tags.iter().map(at).collect();
        if let Some(e) = &raw.rules.min_entropy {
            let line = line_of(src, e.span().start);
            let v = *e.get_ref();
            if !(0.0..=8.0).contains(&v) {
                return Err(err(
                    line,
                    "rules.min_entropy",
                    format!("{v} is outside 0.0..=8.0 (bits per byte)"),
                ));
            }
            config.min_entropy = Some(At { value: v, line });
        }
        if let Some(c) = &raw.rules.min_confidence {
            let a = at(c);
            config.min_confidence =
                Some(keysweep::Confidence::parse(&a.value).ok_or_else(|| {
                    err(
                        a.line,
                        "rules.min_confidence",
                        format!("{:?} is not low, medium or high", a.value),
                    )
                })?);
        }
        for p in &raw.allow.paths {
            let a = at(p);
            keysweep_source::PathFilter::new([&a.value], None)
                .map_err(|e| err(a.line, "allow.paths", e.reason))?;
            config.exclude.push(a);
        }
        for v in &raw.allow.values {
            let a = at(v);
            keysweep::ScannerBuilder::new()
                .allow_values([&a.value])
                .build(keysweep::RuleSet::empty())
                .map_err(|e| {
                    let why = format!("{:?} does not compile: {}", a.value, e.reason());
                    err(a.line, "allow.values", why)
                })?;
            config.allow_values.push(a);
        }
        if let Some(s) = &raw.scan.max_file_size {
            let line = line_of(src, s.span().start);
            let size = match s.as_ref() {
                Size::Bytes(n) => u64::try_from(*n).map_err(|_| format!("{n} is negative")),
                Size::Text(t) => crate::units::parse_size(t),
            };
            config.max_file_size = Some(size.map_err(|e| err(line, "scan.max_file_size", e))?);
        }
        config.validate = raw.scan.validate.unwrap_or(false);
        for c in &raw.scan.contexts {
            let a = at(c);
            config.contexts.push(keysweep_source::Context::parse(&a.value).ok_or_else(|| {
                err(a.line, "scan.contexts", format!("{:?} is not a context (config, deployment, source, generated, vendored, docs, example, test, fixture)", a.value))
            })?);
        }
        if let Some(b) = &raw.scan.baseline {
            let a = at(b);
            if a.value.is_empty() {
                return Err(err(a.line, "scan.baseline", "empty path".into()));
            }
            config.baseline = Some(dir.join(&a.value));
        }
        Ok(config)
    }

    /// Where a config error about `line` points.
    pub fn locate(&self, line: usize) -> String {
        match &self.path {
            Some(p) => format!("{}:{line}", p.display()),
            None => format!("line {line}"),
        }
    }
}

/// 1-based line of byte `offset` in `src`.
fn line_of(src: &str, offset: usize) -> usize {
    1 + src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Finds the configuration of a scan of `path`: `.keysweep.toml` at the root of the
/// repository containing `path`, or in `path` itself (a directory outside any repository).
pub fn discover(path: &Path) -> Option<PathBuf> {
    let root = keysweep_source::repo_root(path).or_else(|| {
        let abs = std::path::absolute(path).ok()?;
        abs.is_dir().then_some(abs)
    })?;
    let candidate = root.join(FILE_NAME);
    candidate.is_file().then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Config, String> {
        Config::parse(src, Path::new("repo/.keysweep.toml"))
    }

    #[test]
    fn full_config() {
        let c = parse(
            r#"
[rules]
files = ["extra.toml"]
disable = ["generic.password"]
disable_tags = ["generic"]
min_entropy = 3.5
min_confidence = "medium"

[allow]
paths = ["tests/**", "*.snap"]
values = ["^AKIA.*EXAMPLE$"]

[scan]
max_file_size = "10M"
baseline = "base.json"
"#,
        )
        .unwrap();
        assert_eq!(c.rule_files[0].value, Path::new("repo/extra.toml"));
        assert_eq!(c.disable[0].value, "generic.password");
        assert_eq!(c.disable[0].line, 4);
        assert_eq!(c.min_entropy.unwrap().value, 3.5);
        assert_eq!(c.min_confidence, Some(keysweep::Confidence::Medium));
        assert_eq!(c.exclude.len(), 2);
        assert_eq!(c.max_file_size, Some(10 << 20));
        assert_eq!(c.baseline.unwrap(), Path::new("repo/base.json"));
        assert!(parse("").unwrap().disable.is_empty());
        assert_eq!(
            parse("[scan]\nmax_file_size = 4096\n")
                .unwrap()
                .max_file_size,
            Some(4096)
        );
    }

    #[test]
    fn errors_name_file_key_and_line() {
        let e = parse("[rules]\ndisable = []\nfrobnicate = 1\n").unwrap_err();
        assert!(e.starts_with("repo/.keysweep.toml:3:"), "{e}");
        assert!(e.contains("frobnicate"), "{e}");
        let e = parse("[allow]\nvalues = [\n  \"ok\",\n  \"(unclosed\",\n]\n").unwrap_err();
        assert_eq!(
            e,
            "repo/.keysweep.toml:4: allow.values: \"(unclosed\" does not compile: unclosed group"
        );
        let e = parse("[allow]\npaths = [\"a[\"]\n").unwrap_err();
        assert!(e.starts_with("repo/.keysweep.toml:2: allow.paths:"), "{e}");
        let e = parse("\n[scan]\nmax_file_size = \"lots\"\n").unwrap_err();
        assert!(
            e.starts_with("repo/.keysweep.toml:3: scan.max_file_size:"),
            "{e}"
        );
        let e = parse("[rules]\nmin_entropy = 9.5\n").unwrap_err();
        assert!(
            e.starts_with("repo/.keysweep.toml:2: rules.min_entropy:"),
            "{e}"
        );
        let e = parse("[rules]\nmin_confidence = \"very\"\n").unwrap_err();
        assert!(e.contains(":2: rules.min_confidence:"), "{e}");
        let e = parse("[rules]\ndisable = \"x\"\n").unwrap_err();
        assert!(e.starts_with("repo/.keysweep.toml:2:"), "{e}");
        let e = parse("[rules\n").unwrap_err();
        assert!(e.starts_with("repo/.keysweep.toml:1:"), "{e}");
    }
}
