//! gitleaks and betterleaks configurations as keysweep rules, and `.gitleaksignore` files as
//! suppressions, so a repository configured for either scanner runs under keysweep as it is.
//!
//! [`detect`] tells a gitleaks configuration (`[[rules]]` with `regex`, `[extend]`,
//! `[allowlist]`, `[[allowlists]]`, `title`) from a keysweep rule file (`[[rule]]` with
//! `pattern`). [`load`] reads one, with the files it extends, and translates every rule into a
//! [`keysweep::Rule`]: Go RE2 patterns are rewritten where keysweep's syntax differs, the
//! secret group becomes the named group `secret`, `entropy` keeps gitleaks' strict threshold,
//! and rule allowlists become the rule's `allow_paths`, `allow_values` and `reject`. What
//! keysweep cannot express faithfully (commit allowlists, `AND` across kinds, `regexTarget =
//! "line"`, path-only rules, composite rules, betterleaks expressions) is an error naming the
//! file, the rule and the field; nothing is dropped silently.
//!
//! The global allowlist is returned apart ([`Allowlist`]): it applies to every rule of a run,
//! built-in rules included. `[extend] useDefault = true` asks for the scanner's own default
//! rules: keysweep's built-in rules stand in for them ([`Config::use_default`]); a
//! configuration without it is a complete rule set.
//!
//! ```
//! use keysweep_gitleaks::{detect, Format};
//!
//! let src = r#"
//! title = "acme"
//!
//! [[rules]]
//! id = "acme-api-key"
//! description = "Acme API key"
//! regex = '''(?i)acme_key\s*=\s*"(ak_[a-z0-9]{16})"'''
//! keywords = ["acme_key"]
//! entropy = 3.0
//!
//! [[rules.allowlists]]
//! stopwords = ["sample"]
//! "#;
//! assert_eq!(detect(src), Format::Gitleaks);
//! let config = keysweep_gitleaks::parse(src, ".gitleaks.toml".as_ref()).unwrap();
//! let rule = config.rules.get("acme-api-key").unwrap();
//! assert_eq!(&*rule.origin, "gitleaks:.gitleaks.toml");
//! assert!(rule.pattern.contains("(?P<secret>ak_"));
//!
//! let scanner = keysweep::Scanner::new(config.rules).unwrap();
//! let found = scanner.scan(&mut scanner.scratch(), b"acme_key = \"ak_q8w7e6r5t4y3u2i1\"\n");
//! assert_eq!(found[0].secret, b"ak_q8w7e6r5t4y3u2i1");
//!
//! // What keysweep cannot do is an error that names the file, the rule and the field.
//! let err = keysweep_gitleaks::parse(&src.replace("stopwords", "commits"), ".gitleaks.toml".as_ref())
//!     .unwrap_err()
//!     .to_string();
//! assert!(err.starts_with("rule file .gitleaks.toml:12: rule `acme-api-key`: field `allowlists[1].commits`"), "{err}");
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod defaults;
mod extend;
mod ignore;
mod raw;
mod regex;
mod translate;

use std::path::Path;

use keysweep::{Rule, RuleError, RuleSet};

pub use defaults::BuiltinTarget;
pub use ignore::{Finding, IgnoreEntry, IgnoreError, IgnoreFile, IGNORE_FILE_NAME};

/// The kind of a TOML rule file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// keysweep's own: `[[rule]]` tables (or a file that is not TOML: keysweep's parser
    /// reports what is wrong).
    Keysweep,
    /// gitleaks or betterleaks: `[[rules]]`, `[extend]`, `[allowlist]`, `[[allowlists]]`,
    /// `title`, ...
    Gitleaks,
}

/// Top-level keys only a gitleaks or betterleaks configuration has (compared
/// case-insensitively, as gitleaks reads keys).
const GITLEAKS_KEYS: &[&str] = &[
    "rules",
    "extend",
    "allowlist",
    "allowlists",
    "title",
    "description",
    "minversion",
    "betterleaksminversion",
    "prefilter",
    "filter",
];

/// Which kind of rule file `src` is, from its top-level keys.
///
/// ```
/// use keysweep_gitleaks::{detect, Format};
/// assert_eq!(detect("[[rules]]\nid = 'x'\nregex = 'x'\n"), Format::Gitleaks);
/// assert_eq!(detect("[extend]\nuseDefault = true\n"), Format::Gitleaks);
/// assert_eq!(detect("[[rule]]\nid = 'x.y'\npattern = 'x'\n"), Format::Keysweep);
/// assert_eq!(detect("not toml ["), Format::Keysweep);
/// ```
pub fn detect(src: &str) -> Format {
    match src.parse::<toml::Table>() {
        Ok(t)
            if t.keys()
                .any(|k| GITLEAKS_KEYS.contains(&k.to_ascii_lowercase().as_str())) =>
        {
            Format::Gitleaks
        }
        _ => Format::Keysweep,
    }
}

/// A translated gitleaks or betterleaks configuration.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Its rules (ids kept: see [`rule_id`]; origin `gitleaks:FILE`), validated.
    pub rules: RuleSet,
    /// The global allowlist, for every rule of the run.
    pub allowlist: Allowlist,
    /// `[extend] useDefault = true` (here or in a file it extends): the run keeps keysweep's
    /// built-in rules, which stand in for gitleaks' defaults. Without it the configuration is
    /// a complete rule set and the built-in rules do not run.
    pub use_default: bool,
    /// Built-in rules that `disabledRules` turns off (gitleaks default ids mapped to the
    /// keysweep rules that find the same secrets). An id with no mapping is an error.
    pub disabled_builtin: Vec<BuiltinTarget>,
}

/// A global allowlist, as keysweep patterns (bytes, Unicode classes off, the syntax of
/// `docs/rules.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Allowlist {
    /// Regexes over a finding's path, as keysweep shows it (a walked path, or the path in its
    /// commit): findings there are allowed.
    pub paths: Vec<String>,
    /// Regexes over the secret (`regexTarget = "secret"`, and stopwords as case-insensitive
    /// literals): for [`keysweep::ScannerBuilder::allow_values`].
    pub values: Vec<String>,
    /// Regexes over a rule's whole match (`regexTarget = "match"`): see
    /// [`Allowlist::apply_matches`].
    pub matches: Vec<String>,
}

impl Allowlist {
    /// Whether it allows nothing.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && self.values.is_empty() && self.matches.is_empty()
    }

    /// Adds `other`'s patterns.
    pub fn extend(&mut self, other: Allowlist) {
        self.paths.extend(other.paths);
        self.values.extend(other.values);
        self.matches.extend(other.matches);
    }

    /// `rules` with the [`matches`](Allowlist::matches) patterns added to every rule: each
    /// rule's pattern is wrapped in a named group, and a match of that group is rejected.
    pub fn apply_matches(&self, rules: RuleSet) -> Result<RuleSet, RuleError> {
        if self.matches.is_empty() {
            return Ok(rules);
        }
        let mut out = RuleSet::empty();
        for r in rules.rules() {
            let mut r = r.clone();
            translate::apply(
                &mut r,
                translate::Parts {
                    matches: self.matches.clone(),
                    ..Default::default()
                },
            );
            out.push(r)?;
        }
        Ok(out)
    }

    /// The [`paths`](Allowlist::paths) compiled into one matcher (`None` without paths).
    pub fn path_matcher(&self) -> Result<Option<PathMatcher>, String> {
        if self.paths.is_empty() {
            return Ok(None);
        }
        let hirs = self
            .paths
            .iter()
            .map(|p| regex::parse(p).map_err(|e| format!("{p:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        regex_automata::meta::Regex::builder()
            .build_many_from_hir(&hirs)
            .map(|re| Some(PathMatcher(re)))
            .map_err(|e| e.to_string())
    }
}

/// The path patterns of an [`Allowlist`], compiled.
#[derive(Clone, Debug)]
pub struct PathMatcher(regex_automata::meta::Regex);

impl PathMatcher {
    /// Whether one of the patterns matches `path`.
    pub fn is_match(&self, path: &str) -> bool {
        self.0.is_match(path.as_bytes())
    }
}

/// The keysweep id of a gitleaks rule id: the id itself when keysweep accepts it (lowercase
/// `[a-z0-9_-]` segments joined by `.`, as `aws-access-token`); otherwise lowercased, with
/// every other character (and every `.` when a segment would be empty) turned into `-`.
///
/// ```
/// assert_eq!(keysweep_gitleaks::rule_id("aws-access-token"), "aws-access-token");
/// assert_eq!(keysweep_gitleaks::rule_id("Slack Bot_Token"), "slack-bot_token");
/// assert_eq!(keysweep_gitleaks::rule_id("v2..key"), "v2--key");
/// ```
pub fn rule_id(gitleaks_id: &str) -> String {
    let id: String = gitleaks_id
        .trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if id.split('.').any(str::is_empty) {
        id.replace('.', "-")
    } else {
        id
    }
}

/// Reads and translates the configuration at `path`, and every file it extends.
pub fn load(path: &Path) -> Result<Config, RuleError> {
    let src = std::fs::read_to_string(path).map_err(|e| RuleError {
        origin: path.display().to_string(),
        rule_id: None,
        field: None,
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    parse(&src, path)
}

/// Translates `src`, the text of the configuration at `path` (which names it in errors and
/// origins; an `[extend] path` is read relative to it).
pub fn parse(src: &str, path: &Path) -> Result<Config, RuleError> {
    let merged = extend::load(src, path)?;
    let mut rules: Vec<(Rule, usize)> = Vec::with_capacity(merged.rules.len());
    for (i, raw) in merged.rules.iter().enumerate() {
        rules.push((translate::rule(raw)?, i));
    }
    let mut allowlist = Allowlist::default();
    for a in &merged.allowlists {
        let parts = translate::allowlist(a, None)?;
        if a.target_rules.is_empty() {
            allowlist.extend(Allowlist {
                paths: parts.paths,
                values: parts.values,
                matches: parts.matches,
            });
            continue;
        }
        for target in &a.target_rules {
            let id = rule_id(&target.value);
            let Some((rule, _)) = rules.iter_mut().find(|(r, _)| *r.id == id) else {
                let why = if merged.use_default.is_some() {
                    " (keysweep's built-in rules stand in for gitleaks' defaults and cannot be \
                     targeted)"
                } else {
                    ""
                };
                return Err(RuleError {
                    origin: target.pos.file.to_string(),
                    rule_id: None,
                    field: Some(format!("{}.targetRules", a.name)),
                    line: Some(target.pos.line),
                    message: format!("no rule {:?}{why}", target.value),
                });
            };
            translate::apply(rule, parts.clone());
        }
    }
    let mut set = RuleSet::empty();
    for (rule, i) in rules {
        let raw = &merged.rules[i];
        rule.validate().map_err(|mut e| {
            e.origin = raw.id.pos.file.to_string();
            e.rule_id = Some(raw.id.value.clone());
            e.field = e.field.map(|f| translate::gitleaks_field(&f).to_string());
            e.line = Some(raw.id.pos.line);
            e
        })?;
        set.push(rule).map_err(|mut e| {
            e.origin = raw.id.pos.file.to_string();
            e.line = Some(raw.id.pos.line);
            e
        })?;
    }
    for v in &allowlist.values {
        regex::parse(v).map_err(|m| RuleError {
            origin: path.display().to_string(),
            rule_id: None,
            field: Some("allowlists.regexes".into()),
            line: None,
            message: format!("{v:?}: {m}"),
        })?;
    }
    let mut disabled_builtin = Vec::new();
    let mut unknown = Vec::new();
    for d in &merged.disabled_defaults {
        match defaults::lookup(&d.value) {
            Some(targets) => disabled_builtin.extend_from_slice(targets),
            None => unknown.push(d),
        }
    }
    if let Some(first) = unknown.first() {
        let names: Vec<String> = unknown.iter().map(|d| format!("{:?}", d.value)).collect();
        let known: Vec<&str> = defaults::DEFAULTS.iter().map(|(id, _)| *id).collect();
        return Err(RuleError {
            origin: first.pos.file.to_string(),
            rule_id: None,
            field: Some("extend.disabledRules".into()),
            line: Some(first.pos.line),
            message: format!(
                "keysweep's built-in rules stand in for gitleaks' defaults under other ids, and \
                 it knows no counterpart of {}: disable keysweep rules with `[rules] disable` \
                 in .keysweep.toml (`keysweep rules list` names them); gitleaks ids it maps: {}",
                names.join(", "),
                known.join(", ")
            ),
        });
    }
    Ok(Config {
        rules: set,
        allowlist,
        use_default: merged.use_default.is_some(),
        disabled_builtin,
    })
}

#[cfg(test)]
mod tests;

/// One rule file, in either format: what `--rules FILE` accepts.
#[derive(Clone, Debug)]
pub enum RuleFile {
    /// keysweep's own `[[rule]]` tables.
    Keysweep(RuleSet),
    /// A gitleaks or betterleaks configuration, translated.
    Gitleaks(Config),
}

impl RuleFile {
    /// Parses `src`, the text of the rule file at `path`, telling the formats apart by
    /// content ([`detect`]); errors name the file, rule and field.
    pub fn parse(src: &str, path: &Path) -> Result<RuleFile, String> {
        match detect(src) {
            Format::Keysweep => RuleSet::from_toml(src, &path.display().to_string())
                .map(RuleFile::Keysweep)
                .map_err(|e| e.to_string()),
            Format::Gitleaks => parse(src, path)
                .map(RuleFile::Gitleaks)
                .map_err(|e| format!("gitleaks configuration: {e}")),
        }
    }

    /// Its rules.
    pub fn rules(&self) -> &RuleSet {
        match self {
            RuleFile::Keysweep(set) => set,
            RuleFile::Gitleaks(c) => &c.rules,
        }
    }
}

/// The rules of a run made of rule `files`, as `keysweep scan --rules FILE...` combines them,
/// and the global allowlists of the gitleaks configurations among them: the built-in rules
/// when `builtin` and no gitleaks configuration lacks `useDefault` (such a configuration is a
/// complete rule set), less those its `disabledRules` turn off, then every file's rules.
pub fn combine(files: Vec<RuleFile>, builtin: bool) -> Result<(RuleSet, Allowlist), String> {
    let builtin = builtin
        && files.iter().all(|f| match f {
            RuleFile::Gitleaks(c) => c.use_default,
            RuleFile::Keysweep(_) => true,
        });
    let mut set = if builtin {
        RuleSet::builtin()
    } else {
        RuleSet::empty()
    };
    let off: Vec<BuiltinTarget> = files
        .iter()
        .filter_map(|f| match f {
            RuleFile::Gitleaks(c) => Some(c.disabled_builtin.iter().copied()),
            RuleFile::Keysweep(_) => None,
        })
        .flatten()
        .collect();
    set.retain(|r| {
        !off.iter().any(|t| match t {
            BuiltinTarget::Rule(id) => *r.id == **id,
            BuiltinTarget::Tag(tag) => r.has_tag(tag),
        })
    });
    let mut allow = Allowlist::default();
    for f in files {
        match f {
            RuleFile::Keysweep(s) => set.extend(s),
            RuleFile::Gitleaks(c) => {
                allow.extend(c.allowlist);
                set.extend(c.rules)
            }
        }
        .map_err(|e| e.to_string())?;
    }
    Ok((set, allow))
}
