//! The rule model: what a rule says, how rule files are parsed and validated.

use std::fmt;
use std::sync::Arc;

use toml::{Table, Value};

/// How sure a rule (or a finding) is that a match is a real secret.
///
/// Ordered: `Low < Medium < High`, so a minimum confidence is a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    /// A generic shape (an assignment to `password`, a URL with credentials).
    Low,
    /// A distinctive shape that needs context to tell it apart.
    Medium,
    /// A unique prefix or a verified checksum: almost never a false alarm.
    High,
}

impl Confidence {
    /// The lowercase name used in rule files and output: `low`, `medium`, `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// Parses `low`, `medium` or `high`.
    pub fn parse(s: &str) -> Option<Confidence> {
        match s {
            "low" => Some(Confidence::Low),
            "medium" => Some(Confidence::Medium),
            "high" => Some(Confidence::High),
            _ => None,
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A structural check that a secret's format publishes (a checksum, an encoding).
///
/// A secret that fails its rule's check is still reported, with [`Confidence::Low`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// GitHub and npm tokens: `prefix_` + 30 base62 chars + 6 base62 chars of their CRC-32.
    Base62Crc32,
    /// A JSON Web Token: three base64url segments, the header a JSON object with `alg`.
    Jwt,
    /// Base58Check (Bitcoin's WIF private keys, BIP-32 extended keys): the decoded bytes end
    /// in the first 4 bytes of the double SHA-256 of the rest.
    Base58Check,
    /// A SASL PLAIN response (RFC 4616) in base64, as SMTP, IMAP and XMPP send it after
    /// `AUTH PLAIN`: it decodes to `[authzid] NUL authcid NUL password`, printable between the
    /// two NULs and a password of at least 4 bytes.
    SaslPlain,
    /// HTTP Basic credentials (RFC 7617) in base64: `user-id:password`, printable, a user of
    /// at least one byte and a password of at least 4.
    BasicAuth,
    /// Base64 of printable text of at least 4 bytes (UTF-8, no control bytes): a password
    /// that a format stores base64-encoded (LDIF's `userPassword::`).
    Base64Text,
    /// A BitLocker recovery password: eight groups of six digits, each a multiple of 11 below
    /// 720,896 (each group stores 16 bits of the key, times 11).
    BitlockerRecovery,
}

impl Check {
    /// Every check, in the order rule-file errors list them.
    pub const ALL: [Check; 7] = [
        Check::Base62Crc32,
        Check::Jwt,
        Check::Base58Check,
        Check::SaslPlain,
        Check::BasicAuth,
        Check::Base64Text,
        Check::BitlockerRecovery,
    ];

    /// The name used in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Base62Crc32 => "base62-crc32",
            Check::Jwt => "jwt",
            Check::Base58Check => "base58check",
            Check::SaslPlain => "sasl-plain",
            Check::BasicAuth => "basic-auth",
            Check::Base64Text => "base64-text",
            Check::BitlockerRecovery => "bitlocker-recovery",
        }
    }

    /// Whether a secret that fails the check is no secret at all (dropped, as a `reject`
    /// drops one), rather than one reported at low confidence. A Base58Check string that
    /// does not add up is random base58; a GitHub token whose CRC does not match may still
    /// be someone's mistyped or truncated token. Base64 that is no SASL PLAIN response, no
    /// `user:password` pair or no text holds no password. A BitLocker recovery password under
    /// its label is reported whatever its digits (a copy may be mistyped).
    pub fn required(self) -> bool {
        !matches!(
            self,
            Check::Base62Crc32 | Check::Jwt | Check::BitlockerRecovery
        )
    }

    /// Parses a check name as written in rule files.
    pub fn parse(s: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A text that a rule must find, and the secret it must report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// The text to scan.
    pub text: String,
    /// The one secret the rule must report in `text`.
    pub secret: String,
    /// The path the text is scanned as (for rules scoped to some files with `paths`).
    pub path: Option<String>,
}

/// A condition that drops a rule's match: [`Rule::rejects`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// A named group of the rule's pattern (`key`, `secret`, ...), or `prefix`: the text before
    /// the match on its line (at most 64 bytes), for patterns that start at a keyword inside a
    /// longer name (`Next` of `NextToken`).
    pub group: String,
    /// A regex that, matching anywhere in that group's text, drops the match.
    pub pattern: String,
}

/// A text that a rule must report nothing in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegativeExample {
    /// The text to scan.
    pub text: String,
    /// The path the text is scanned as, if any.
    pub path: Option<String>,
}

/// One detection rule.
///
/// Rules are usually loaded from TOML with [`RuleSet::from_toml`]; the format is described in
/// `docs/rules.md`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Rule {
    /// Stable dotted identifier, e.g. `github.pat.classic`.
    pub id: Arc<str>,
    /// Human-readable name.
    pub name: String,
    /// What the secret is and what it grants.
    pub description: String,
    /// Prefilter literals; every match of `pattern` contains at least one of them.
    pub keywords: Vec<String>,
    /// Whether keywords are compared case-sensitively (default: ASCII case-insensitive).
    pub case_sensitive: bool,
    /// The regex; the secret is the named group `secret`, or the whole match without one.
    pub pattern: String,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    pub min_entropy: Option<f64>,
    /// Optional structural check.
    pub check: Option<Check>,
    /// Confidence of a finding that passes every check.
    pub confidence: Confidence,
    /// Category and provider tags (`cloud`, `aws`, `generic`, ...).
    pub tags: Vec<String>,
    /// Documentation of the format.
    pub references: Vec<String>,
    /// Texts the rule must find.
    pub examples: Vec<Example>,
    /// Texts the rule must not report anything in.
    pub negative_examples: Vec<NegativeExample>,
    /// Regexes over a file's path (`/`-separated, as scanned): when there are any, the rule
    /// only runs on files whose path matches one (credential files: `(?:^|/)\.pgpass$`), and
    /// never on input without a path.
    pub paths: Vec<String>,
    /// Regexes over a file's path: the rule never runs on files whose path matches one.
    pub allow_paths: Vec<String>,
    /// Regexes over the secret: a match is suppressed as
    /// [`Suppression::Allowlist`](crate::Suppression::Allowlist) (a rule's own known
    /// non-secrets).
    pub allow_values: Vec<String>,
    /// Matches to drop: when a named group of the pattern matches the regex, the match is no
    /// finding (a key named like a cursor, a value shaped like a URL query). Dropped, not
    /// suppressed: these are not secrets.
    pub rejects: Vec<Reject>,
    /// Whether the placeholder filter applies (default true). Off for formats whose real
    /// values trip it (password hashes start with `$` and a letter, WordPress salts hold
    /// `{`, `}`, `<` and `>`); such a rule rejects its own placeholders.
    pub placeholder_filter: bool,
    /// Whether the secret must look like a literal rather than code
    /// ([`looks_like_literal`](crate::looks_like_literal), or for rules also tagged
    /// `password` [`looks_like_password_literal`](crate::looks_like_password_literal)).
    /// `None` (the default) means: for rules tagged `generic`. The weak-password rules turn it
    /// off: `hunter22` splits into long words like an identifier, but in a `.env` file it is a
    /// password.
    pub literal_filter: Option<bool>,
    /// Capture groups reported as the other parts of a multi-part credential
    /// ([`Finding::parts`](crate::Finding::parts)): `private_key` and `client_email` of a
    /// service-account file, `key_id` of an AWS key pair. A finding of another rule inside a
    /// part is folded into this one.
    pub parts: Vec<String>,
    /// How to ask the provider whether a found credential works (`[rule.validate]`); used by
    /// the `keysweep-validate` crate, never by the scanner.
    pub validate: Option<crate::ValidateSpec>,
    /// A structure-aware extractor ([`Extract`](crate::Extract)): the pattern finds the
    /// structure's anchor, the extractor reads the values around it.
    pub extract: Option<crate::Extract>,
    /// How a found credential revokes itself (`[rule.revoke]`).
    pub revoke: Option<crate::RevokeSpec>,
    /// Where the rule came from (a file path, or `builtin:NAME.toml`).
    pub origin: Arc<str>,
}

impl Rule {
    /// A rule with the given id and pattern, no keywords (it runs in the keyword-less pass
    /// until keywords are added), medium confidence and no examples.
    ///
    /// ```
    /// use keysweep::{Rule, RuleSet, Scanner};
    ///
    /// let mut rule = Rule::new("acme.key", r"\b(?P<secret>acme_[a-z0-9]{16})\b");
    /// rule.keywords.push("acme_".to_string());
    /// let mut rules = RuleSet::empty();
    /// rules.push(rule).unwrap();
    /// let scanner = Scanner::new(rules).unwrap();
    /// let findings = scanner.scan(&mut scanner.scratch(), b"k = acme_q8w7e6r5t4y3u2i1");
    /// assert_eq!(findings[0].secret, b"acme_q8w7e6r5t4y3u2i1");
    /// ```
    pub fn new(id: &str, pattern: &str) -> Rule {
        Rule {
            id: Arc::from(id),
            name: id.to_string(),
            description: String::new(),
            keywords: Vec::new(),
            case_sensitive: false,
            pattern: pattern.to_string(),
            min_entropy: None,
            check: None,
            confidence: Confidence::Medium,
            tags: Vec::new(),
            references: Vec::new(),
            examples: Vec::new(),
            negative_examples: Vec::new(),
            paths: Vec::new(),
            allow_paths: Vec::new(),
            allow_values: Vec::new(),
            rejects: Vec::new(),
            placeholder_filter: true,
            literal_filter: None,
            parts: Vec::new(),
            validate: None,
            extract: None,
            revoke: None,
            origin: Arc::from("api"),
        }
    }

    /// Whether the rule carries the given tag.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// Checks the rule's fields: id syntax, keyword lengths, entropy range and that the pattern
    /// parses as a linear-time regex (with a `secret` group, if any, that can match).
    pub fn validate(&self) -> Result<(), RuleError> {
        let err = |field: &str, msg: String| RuleError {
            origin: self.origin.to_string(),
            rule_id: Some(self.id.to_string()),
            field: Some(field.to_string()),
            line: None,
            message: msg,
        };
        if !valid_id(&self.id) {
            return Err(err(
                "id",
                "must be lowercase segments of [a-z0-9_-] joined by '.'".into(),
            ));
        }
        for kw in &self.keywords {
            if kw.len() < 3 {
                return Err(err(
                    "keywords",
                    format!("keyword {kw:?} is shorter than 3 bytes"),
                ));
            }
        }
        if let Some(e) = self.min_entropy {
            if !(0.0..=8.0).contains(&e) {
                return Err(err("min_entropy", format!("{e} is outside 0.0..=8.0")));
            }
        }
        crate::pattern::parse_pattern(&self.pattern).map_err(|m| err("pattern", m))?;
        for (field, list) in [
            ("paths", &self.paths),
            ("allow_paths", &self.allow_paths),
            ("allow_values", &self.allow_values),
        ] {
            for p in list {
                crate::pattern::parse_pattern(p).map_err(|m| err(field, format!("{p:?}: {m}")))?;
            }
        }
        let hir = crate::pattern::parse_pattern(&self.pattern).map_err(|m| err("pattern", m))?;
        let names = group_names(&hir);
        for r in &self.rejects {
            if r.group != crate::pattern::PREFIX_GROUP && !names.contains(&r.group) {
                return Err(err(
                    "reject",
                    format!("the pattern has no group named {:?}", r.group),
                ));
            }
            crate::pattern::parse_pattern(&r.pattern)
                .map_err(|m| err("reject", format!("{:?}: {m}", r.pattern)))?;
        }
        for p in &self.parts {
            if !names.contains(p) || p.starts_with("secret") {
                return Err(err(
                    "parts",
                    format!("the pattern has no group named {p:?} (other than a secret group)"),
                ));
            }
        }
        Ok(())
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        })
}

/// An error in a rule or a rule file. Its message names the file, the rule id and the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// The rule file (or `builtin:NAME`).
    pub origin: String,
    /// The rule's id, when the error is inside one rule.
    pub rule_id: Option<String>,
    /// The offending field.
    pub field: Option<String>,
    /// The 1-based line in the file, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule file {}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(id) = &self.rule_id {
            write!(f, ": rule `{id}`")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for RuleError {}

/// An ordered collection of rules with unique ids.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Each rule's position by id: loading a thousand rules checks each id once, not against
    /// every rule before it.
    index: std::collections::HashMap<Arc<str>, usize>,
}

impl RuleSet {
    /// No rules.
    pub fn empty() -> RuleSet {
        RuleSet::default()
    }

    /// The built-in rules, embedded in the library, without their examples and negative
    /// examples: what a scan needs (see [`builtin_with_examples`](RuleSet::builtin_with_examples)
    /// to check the rules).
    ///
    /// The rule files are parsed when the crate is built, so this only builds the rules from
    /// embedded values; patterns compile lazily, the first time a scan needs them.
    ///
    /// ```
    /// let rules = keysweep::RuleSet::builtin();
    /// assert!(rules.get("github.pat.classic").is_some());
    /// assert!(rules.rules().iter().all(|r| r.examples.is_empty()));
    /// ```
    pub fn builtin() -> RuleSet {
        Self::load_builtin(false)
    }

    /// The built-in rules with their examples and negative examples, which
    /// [`check_rule_examples`](crate::check_rule_examples) runs. They are 45 % of the rule
    /// files' bytes: a pre-commit scan loading them took 2.3 ms (14 %) longer.
    ///
    /// ```
    /// let rules = keysweep::RuleSet::builtin_with_examples();
    /// assert!(rules.rules().iter().all(|r| !r.examples.is_empty()));
    /// ```
    pub fn builtin_with_examples() -> RuleSet {
        Self::load_builtin(true)
    }

    fn load_builtin(examples: bool) -> RuleSet {
        let parse = |(name, bytes): &(&str, &'static [u8])| {
            let table = crate::builtin::decode(bytes, examples);
            parse_fields(&table, &format!("builtin:{name}"), None, false)
                .unwrap_or_else(|e| panic!("built-in rules are tested; this is a bug: {e}"))
        };
        // With the `parallel` feature, on a few scoped threads (not rayon's pool, which the
        // caller may still want to configure), kept in file order: 2.6 vs 3.7 ms on 2 cores.
        #[cfg(feature = "parallel")]
        let files: Vec<RuleSet> = {
            let files = crate::builtin::FILES;
            let threads = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(1, 4);
            let per = files.len().div_ceil(threads);
            std::thread::scope(|s| {
                let parts: Vec<_> = files
                    .chunks(per.max(1))
                    .map(|chunk| s.spawn(move || chunk.iter().map(parse).collect::<Vec<_>>()))
                    .collect();
                parts
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        #[cfg(not(feature = "parallel"))]
        let files: Vec<RuleSet> = crate::builtin::FILES.iter().map(parse).collect();
        let mut set = RuleSet::empty();
        for parsed in files {
            set.extend(parsed)
                .unwrap_or_else(|e| panic!("built-in rules are tested; this is a bug: {e}"));
        }
        set
    }

    /// Parses and validates a TOML rule file. `origin` names it in errors (usually its path).
    ///
    /// ```
    /// let src = r#"
    /// [[rule]]
    /// id = "acme.key"
    /// name = "Acme key"
    /// description = "An Acme API key."
    /// keywords = ["acme_"]
    /// pattern = '\b(?P<secret>acme_[a-z0-9]{16})\b'
    /// confidence = "high"
    /// tags = ["cloud"]
    /// examples = [{ text = "k = acme_q8w7e6r5t4y3u2i1", secret = "acme_q8w7e6r5t4y3u2i1" }]
    /// negative_examples = ["acme_short"]
    /// "#;
    /// let rules = keysweep::RuleSet::from_toml(src, "acme.toml").unwrap();
    /// assert_eq!(rules.len(), 1);
    ///
    /// let err = keysweep::RuleSet::from_toml(&src.replace("high", "sure"), "acme.toml").unwrap_err();
    /// assert!(err.to_string().contains("acme.toml"));
    /// assert!(err.to_string().contains("`acme.key`"));
    /// assert!(err.to_string().contains("`confidence`"));
    /// ```
    pub fn from_toml(src: &str, origin: &str) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::empty();
        set.extend(parse_file(src, origin, true)?)?;
        Ok(set)
    }

    /// Adds one rule; its id must not be taken.
    pub fn push(&mut self, rule: Rule) -> Result<(), RuleError> {
        if let Some(prev) = self.get(&rule.id) {
            return Err(RuleError {
                origin: rule.origin.to_string(),
                rule_id: Some(rule.id.to_string()),
                field: Some("id".into()),
                line: None,
                message: format!("duplicate id, already defined in {}", prev.origin),
            });
        }
        self.index.insert(Arc::clone(&rule.id), self.rules.len());
        self.rules.push(rule);
        Ok(())
    }

    /// Adds every rule of `other`; fails on the first duplicate id.
    pub fn extend(&mut self, other: RuleSet) -> Result<(), RuleError> {
        self.rules.reserve(other.rules.len());
        self.index.reserve(other.rules.len());
        for rule in other.rules {
            self.push(rule)?;
        }
        Ok(())
    }

    /// Keeps the rules for which `keep` returns true.
    pub fn retain(&mut self, keep: impl FnMut(&Rule) -> bool) {
        // Dropped first: a `keep` that panics must not leave a stale index behind.
        self.index.clear();
        self.rules.retain(keep);
        self.index = (self.rules.iter().enumerate())
            .map(|(i, r)| (Arc::clone(&r.id), i))
            .collect();
    }

    /// Replaces the minimum entropy of every rule that has one (a repository's tuning of the
    /// entropy gate). Rules without an entropy gate keep none.
    ///
    /// ```
    /// let mut rules = keysweep::RuleSet::builtin();
    /// rules.override_min_entropy(4.5);
    /// assert!(rules.rules().iter().all(|r| r.min_entropy.is_none_or(|e| e == 4.5)));
    /// ```
    pub fn override_min_entropy(&mut self, min: f64) {
        for rule in &mut self.rules {
            if rule.min_entropy.is_some() {
                rule.min_entropy = Some(min);
            }
        }
    }

    /// The rule with this id.
    ///
    /// ```
    /// let mut rules = keysweep::RuleSet::builtin();
    /// assert!(rules.get("aws.access_key_id").is_some());
    /// rules.retain(|r| !r.id.starts_with("aws."));
    /// assert!(rules.get("aws.access_key_id").is_none());
    /// let last = rules.rules().last().unwrap().id.clone();
    /// assert_eq!(rules.get(&last).map(|r| r.id.clone()), Some(last));
    /// ```
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.index.get(id).map(|&i| &self.rules[i])
    }

    /// All rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub(crate) fn into_rules(self) -> Vec<Rule> {
        self.rules
    }
}

impl RuleError {
    /// An error in the rule file `origin` as a whole, not in one of its rules.
    fn in_file(origin: &str, line: Option<usize>, message: String) -> RuleError {
        RuleError {
            origin: origin.to_string(),
            rule_id: None,
            field: None,
            line,
            message,
        }
    }
}

/// Parses one TOML rule file. With `validate`, every rule's pattern is parsed too.
fn parse_file(src: &str, origin: &str, validate: bool) -> Result<RuleSet, RuleError> {
    let file_err = |line, message| RuleError::in_file(origin, line, message);
    let table: Table = src.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map(|s| {
            src.as_bytes()[..s.start.min(src.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        });
        file_err(line, e.message().trim().to_string())
    })?;
    parse_table(&table, origin, Some(src), validate)
}

/// Builds the rules of one parsed rule file. `src`, the file's text, points errors at lines.
fn parse_table(
    table: &Table,
    origin: &str,
    src: Option<&str>,
    validate: bool,
) -> Result<RuleSet, RuleError> {
    let fields: Vec<(&str, Val<'_>)> = table
        .iter()
        .map(|(k, v)| (k.as_str(), Val::from_toml(v)))
        .collect();
    parse_fields(&fields, origin, src, validate)
}

/// [`parse_table`] over a file's top-level fields as [`Val`]s.
fn parse_fields(
    table: &[(&str, Val<'_>)],
    origin: &str,
    src: Option<&str>,
    validate: bool,
) -> Result<RuleSet, RuleError> {
    let file_err = |line, message| RuleError::in_file(origin, line, message);
    let line_of = |id: &str| src.and_then(|src| line_of_id(src, id));
    let origin: Arc<str> = Arc::from(origin);
    let mut set = RuleSet::empty();
    for (key, value) in table {
        if *key != "rule" {
            return Err(file_err(
                None,
                format!("unknown top-level key `{key}` (expected [[rule]] tables)"),
            ));
        }
        let Val::Array(items) = value else {
            return Err(file_err(
                None,
                "`rule` must be an array of tables ([[rule]])".into(),
            ));
        };
        for (index, item) in items.iter().enumerate() {
            let Val::Table(t) = item else {
                return Err(file_err(
                    None,
                    format!("rule #{} is not a table", index + 1),
                ));
            };
            let rule = parse_rule(t, &origin, index).map_err(|mut e| {
                e.line = e.rule_id.as_deref().and_then(line_of);
                e
            })?;
            if validate {
                rule.validate().map_err(|mut e| {
                    e.line = line_of(&rule.id);
                    e
                })?;
            }
            set.push(rule).map_err(|mut e| {
                e.line = e.rule_id.as_deref().and_then(line_of);
                e
            })?;
        }
    }
    Ok(set)
}

/// A TOML value as rule parsing reads it: strings borrowed (from the embedded built-in rules
/// or a parsed file), tables as lists of fields (a rule has about fifteen; looking one up is a
/// short scan).
#[derive(Debug)]
pub(crate) enum Val<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<Val<'a>>),
    Table(Vec<(&'a str, Val<'a>)>),
    /// A value of another type (a date): wrong wherever a rule field is expected.
    Other,
}

impl<'a> Val<'a> {
    /// A parsed rule file's value, its strings borrowed.
    pub(crate) fn from_toml(v: &'a Value) -> Val<'a> {
        match v {
            Value::String(s) => Val::Str(s),
            Value::Integer(i) => Val::Int(*i),
            Value::Float(f) => Val::Float(*f),
            Value::Boolean(b) => Val::Bool(*b),
            Value::Array(a) => Val::Array(a.iter().map(Val::from_toml).collect()),
            Value::Table(t) => Val::Table(
                t.iter()
                    .map(|(k, v)| (k.as_str(), Val::from_toml(v)))
                    .collect(),
            ),
            _ => Val::Other,
        }
    }

    /// The value as a `toml::Value` (the built-in rules' test compares the decoded tree with
    /// the parsed files).
    #[cfg(test)]
    pub(crate) fn to_toml(&self) -> Value {
        match self {
            Val::Str(s) => Value::String((*s).to_owned()),
            Val::Int(i) => Value::Integer(*i),
            Val::Float(f) => Value::Float(*f),
            Val::Bool(b) => Value::Boolean(*b),
            Val::Array(a) => Value::Array(a.iter().map(Val::to_toml).collect()),
            Val::Table(t) => Value::Table(
                t.iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_toml()))
                    .collect(),
            ),
            Val::Other => unreachable!("the built-in rule files hold no dates"),
        }
    }
}

/// The field `key` of a table, if present (TOML allows each key once).
pub(crate) fn field<'v, 'a>(t: &'v [(&'a str, Val<'a>)], key: &str) -> Option<&'v Val<'a>> {
    t.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// The 1-based line of `id = "<id>"` in a rule file, to point errors at the rule.
fn line_of_id(src: &str, id: &str) -> Option<usize> {
    src.lines()
        .position(|line| {
            let l = line.trim_start();
            l.starts_with("id") && l.contains(id)
        })
        .map(|i| i + 1)
}

const KNOWN_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "keywords",
    "case_sensitive",
    "pattern",
    "min_entropy",
    "check",
    "confidence",
    "tags",
    "references",
    "examples",
    "negative_examples",
    "paths",
    "allow_paths",
    "allow_values",
    "reject",
    "placeholder_filter",
    "literal_filter",
    "parts",
    "validate",
    "revoke",
    "extract",
];

fn parse_rule(t: &[(&str, Val<'_>)], origin: &Arc<str>, index: usize) -> Result<Rule, RuleError> {
    let id = match field(t, "id") {
        Some(Val::Str(s)) => *s,
        Some(_) => {
            return Err(RuleError {
                origin: origin.to_string(),
                rule_id: None,
                field: Some("id".into()),
                line: None,
                message: format!("rule #{}: must be a string", index + 1),
            })
        }
        None => {
            return Err(RuleError {
                origin: origin.to_string(),
                rule_id: None,
                field: Some("id".into()),
                line: None,
                message: format!("rule #{} has no id", index + 1),
            })
        }
    };
    let err = |field: &str, message: String| RuleError {
        origin: origin.to_string(),
        rule_id: Some(id.to_string()),
        field: Some(field.to_string()),
        line: None,
        message,
    };
    for (key, _) in t {
        if !KNOWN_FIELDS.contains(key) {
            return Err(err(key, "unknown field".into()));
        }
    }
    let string = |field: &str, required: bool| -> Result<Option<String>, RuleError> {
        match self::field(t, field) {
            Some(Val::Str(s)) => Ok(Some(s.to_string())),
            Some(_) => Err(err(field, "must be a string".into())),
            None if required => Err(err(field, "is required".into())),
            None => Ok(None),
        }
    };
    let strings = |field: &str| -> Result<Vec<String>, RuleError> {
        match self::field(t, field) {
            None => Ok(Vec::new()),
            Some(Val::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Val::Str(s) => Ok(s.to_string()),
                    _ => Err(err(field, "must be an array of strings".into())),
                })
                .collect(),
            Some(_) => Err(err(field, "must be an array of strings".into())),
        }
    };
    let confidence = match string("confidence", false)? {
        None => Confidence::Medium,
        Some(s) => Confidence::parse(&s).ok_or_else(|| {
            err(
                "confidence",
                format!("{s:?} is not one of low, medium, high"),
            )
        })?,
    };
    let check = match string("check", false)? {
        None => None,
        Some(s) => Some(Check::parse(&s).ok_or_else(|| {
            err(
                "check",
                format!(
                    "{s:?} is not a known check ({})",
                    Check::ALL.map(Check::as_str).join(", ")
                ),
            )
        })?),
    };
    let min_entropy = match field(t, "min_entropy") {
        None => None,
        Some(Val::Float(f)) => Some(*f),
        Some(Val::Int(i)) => Some(*i as f64),
        Some(_) => return Err(err("min_entropy", "must be a number".into())),
    };
    let case_sensitive = match field(t, "case_sensitive") {
        None => false,
        Some(Val::Bool(b)) => *b,
        Some(_) => return Err(err("case_sensitive", "must be true or false".into())),
    };
    let examples = match field(t, "examples") {
        None => Vec::new(),
        Some(Val::Array(a)) => {
            let mut out = Vec::with_capacity(a.len());
            for (i, v) in a.iter().enumerate() {
                let Val::Table(ex) = v else {
                    return Err(err(
                        "examples",
                        format!("example #{} must be a table {{ text, secret }}", i + 1),
                    ));
                };
                let get = |k: &str| match field(ex, k) {
                    Some(Val::Str(s)) => Ok(s.to_string()),
                    _ => Err(err(
                        "examples",
                        format!("example #{} needs a string `{k}`", i + 1),
                    )),
                };
                let path = match field(ex, "path") {
                    None => None,
                    Some(Val::Str(s)) => Some(s.to_string()),
                    Some(_) => {
                        return Err(err(
                            "examples",
                            format!("example #{}: `path` must be a string", i + 1),
                        ))
                    }
                };
                out.push(Example {
                    text: get("text")?,
                    secret: get("secret")?,
                    path,
                });
            }
            out
        }
        Some(_) => {
            return Err(err(
                "examples",
                "must be an array of { text, secret } tables".into(),
            ))
        }
    };
    Ok(Rule {
        name: string("name", true)?.unwrap_or_default(),
        description: string("description", true)?.unwrap_or_default(),
        keywords: strings("keywords")?,
        case_sensitive,
        pattern: string("pattern", true)?.unwrap_or_default(),
        min_entropy,
        check,
        confidence,
        tags: strings("tags")?,
        references: strings("references")?,
        examples,
        negative_examples: negatives(field(t, "negative_examples"))
            .map_err(|m| err("negative_examples", m))?,
        paths: strings("paths")?,
        allow_paths: strings("allow_paths")?,
        allow_values: strings("allow_values")?,
        rejects: rejects(field(t, "reject")).map_err(|m| err("reject", m))?,
        placeholder_filter: match field(t, "placeholder_filter") {
            None => true,
            Some(Val::Bool(b)) => *b,
            Some(_) => return Err(err("placeholder_filter", "must be true or false".into())),
        },
        parts: strings("parts")?,
        literal_filter: match field(t, "literal_filter") {
            None => None,
            Some(Val::Bool(b)) => Some(*b),
            Some(_) => return Err(err("literal_filter", "must be true or false".into())),
        },
        extract: match string("extract", false)? {
            None => None,
            Some(s) => Some(crate::Extract::parse(&s).ok_or_else(|| {
                err(
                    "extract",
                    format!(
                        "{s:?} is not a known extractor ({})",
                        crate::Extract::ALL.map(crate::Extract::as_str).join(", ")
                    ),
                )
            })?),
        },
        validate: match field(t, "validate") {
            None => None,
            Some(v) => {
                Some(crate::validate_spec::parse_validate(v).map_err(|m| err("validate", m))?)
            }
        },
        revoke: match field(t, "revoke") {
            None => None,
            Some(v) => Some(crate::validate_spec::parse_revoke(v).map_err(|m| err("revoke", m))?),
        },
        origin: origin.clone(),
        id: Arc::from(id),
    })
}

/// Negative examples: strings, or `{ text, path }` tables for path-scoped rules.
fn negatives(value: Option<&Val<'_>>) -> Result<Vec<NegativeExample>, String> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let Val::Array(items) = value else {
        return Err("must be an array of strings or { text, path } tables".into());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Val::Str(text) => Ok(NegativeExample {
                text: text.to_string(),
                path: None,
            }),
            Val::Table(t) => match (field(t, "text"), field(t, "path")) {
                (Some(Val::Str(text)), path) => Ok(NegativeExample {
                    text: text.to_string(),
                    path: match path {
                        None => None,
                        Some(Val::Str(p)) => Some(p.to_string()),
                        Some(_) => return Err(format!("#{}: `path` must be a string", i + 1)),
                    },
                }),
                _ => Err(format!("#{} needs a string `text`", i + 1)),
            },
            _ => Err(format!(
                "#{} must be a string or a {{ text, path }} table",
                i + 1
            )),
        })
        .collect()
}

/// `reject = [{ group = "key", pattern = '...' }]`; `group` may name several groups
/// (`group = ["secret", "secret2"]`: the alternatives of one value), each then its own
/// [`Reject`] with the same pattern.
fn rejects(value: Option<&Val<'_>>) -> Result<Vec<Reject>, String> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let Val::Array(items) = value else {
        return Err("must be an array of { group, pattern } tables".into());
    };
    let mut out = Vec::new();
    for (i, v) in items.iter().enumerate() {
        let Val::Table(t) = v else {
            return Err(format!("#{} must be a {{ group, pattern }} table", i + 1));
        };
        let groups: Vec<&str> = match field(t, "group") {
            Some(Val::Str(group)) => vec![*group],
            Some(Val::Array(groups)) if !groups.is_empty() => groups
                .iter()
                .map(|g| match g {
                    Val::Str(g) => Some(*g),
                    _ => None,
                })
                .collect::<Option<_>>()
                .ok_or_else(|| format!("#{}: `group` must hold strings", i + 1))?,
            _ => Vec::new(),
        };
        let (Some(Val::Str(pattern)), false) = (field(t, "pattern"), groups.is_empty()) else {
            return Err(format!("#{} needs strings `group` and `pattern`", i + 1));
        };
        out.extend(groups.into_iter().map(|group| Reject {
            group: group.to_string(),
            pattern: pattern.to_string(),
        }));
    }
    Ok(out)
}

/// The names of the capture groups of a pattern.
fn group_names(hir: &regex_syntax::hir::Hir) -> Vec<String> {
    use regex_syntax::hir::HirKind;
    let mut names = Vec::new();
    let mut stack = vec![hir];
    while let Some(h) = stack.pop() {
        match h.kind() {
            HirKind::Capture(c) => {
                if let Some(n) = &c.name {
                    names.push(n.to_string());
                }
                stack.push(&c.sub);
            }
            HirKind::Concat(v) | HirKind::Alternation(v) => stack.extend(v.iter()),
            HirKind::Repetition(r) => stack.push(&r.sub),
            _ => {}
        }
    }
    names
}
