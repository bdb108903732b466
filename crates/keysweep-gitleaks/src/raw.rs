//! A gitleaks or betterleaks TOML file as written: every value with the file and line it
//! came from, nothing translated yet. Keys are matched case-insensitively, as gitleaks'
//! configuration reader does; a key this reader does not know is an error, never skipped.

use std::sync::Arc;

use keysweep::RuleError;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Where a value was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub file: Arc<str>,
    pub line: usize,
}

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct At<T> {
    pub value: T,
    pub pos: Pos,
}

/// One configuration file.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawConfig {
    pub extend: RawExtend,
    pub rules: Vec<RawRule>,
    /// `[allowlist]` and `[[allowlists]]`, global or (with `targetRules`) for some rules.
    pub allowlists: Vec<RawAllowlist>,
}

/// `[extend]`.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawExtend {
    pub use_default: Option<At<bool>>,
    pub path: Option<At<String>>,
    pub disabled_rules: Vec<At<String>>,
}

/// One `[[rules]]` table.
#[derive(Clone, Debug)]
pub(crate) struct RawRule {
    pub id: At<String>,
    pub description: Option<At<String>>,
    pub regex: Option<At<String>>,
    pub path: Option<At<String>>,
    pub secret_group: Option<At<i64>>,
    pub entropy: Option<At<f64>>,
    pub keywords: Vec<At<String>>,
    pub tags: Vec<At<String>>,
    pub allowlists: Vec<RawAllowlist>,
}

/// One allowlist table: a rule's, or a global one.
#[derive(Clone, Debug)]
pub(crate) struct RawAllowlist {
    /// How errors name it: `allowlist`, `allowlists[2]` (1-based).
    pub name: String,
    pub pos: Pos,
    pub condition: Option<At<String>>,
    pub commits: Vec<At<String>>,
    pub paths: Vec<At<String>>,
    pub regex_target: Option<At<String>>,
    pub regexes: Vec<At<String>>,
    pub stopwords: Vec<At<String>>,
    /// Global allowlists only: the rules it applies to (empty: every rule).
    pub target_rules: Vec<At<String>>,
}

/// Reads one file's text. `file` names it in errors and positions.
pub(crate) fn parse(src: &str, file: &Arc<str>) -> Result<RawConfig, RuleError> {
    let reader = Reader { src, file };
    let doc = DeTable::parse(src).map_err(|e| {
        let line = e.span().map(|s| reader.line(s.start));
        RuleError {
            origin: file.to_string(),
            rule_id: None,
            field: None,
            line,
            message: e.message().trim().to_string(),
        }
    })?;
    reader.config(doc.get_ref())
}

struct Reader<'s> {
    src: &'s str,
    file: &'s Arc<str>,
}

impl Reader<'_> {
    fn line(&self, offset: usize) -> usize {
        1 + self.src.as_bytes()[..offset.min(self.src.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    fn pos(&self, offset: usize) -> Pos {
        Pos {
            file: self.file.clone(),
            line: self.line(offset),
        }
    }

    fn err(&self, rule: Option<&str>, field: &str, offset: usize, message: String) -> RuleError {
        RuleError {
            origin: self.file.to_string(),
            rule_id: rule.map(str::to_string),
            field: Some(field.to_string()),
            line: Some(self.line(offset)),
            message,
        }
    }

    fn config(&self, doc: &DeTable<'_>) -> Result<RawConfig, RuleError> {
        let mut config = RawConfig::default();
        let mut old_allowlist = None;
        for (key, value) in doc.iter() {
            let at = key.span().start;
            match key.get_ref().to_ascii_lowercase().as_str() {
                // Descriptive only.
                "title" | "description" | "minversion" | "betterleaksminversion" => {
                    self.string(None, key, value)?;
                }
                "extend" => config.extend = self.extend(value)?,
                "rules" => {
                    for (i, item) in self.tables(None, key, value)?.iter().enumerate() {
                        config.rules.push(self.rule(i, item)?);
                    }
                }
                "allowlist" => {
                    let t = self.table(None, "allowlist", value)?;
                    old_allowlist =
                        Some(self.allowlist(None, "allowlist".into(), value, t, true)?);
                }
                "allowlists" => {
                    for (i, item) in self.tables(None, key, value)?.iter().enumerate() {
                        let t = self.table(None, "allowlists", item)?;
                        let name = format!("allowlists[{}]", i + 1);
                        config
                            .allowlists
                            .push(self.allowlist(None, name, item, t, true)?);
                    }
                }
                "prefilter" | "filter" => {
                    return Err(self.err(
                        None,
                        key.get_ref(),
                        at,
                        "betterleaks expressions cannot be translated to keysweep rules; \
                         express the filter as allowlists, or drop it"
                            .into(),
                    ))
                }
                "rule" => {
                    return Err(self.err(
                        None,
                        "rule",
                        at,
                        "keysweep's [[rule]] tables and gitleaks' [[rules]] cannot share a file"
                            .into(),
                    ))
                }
                _ => return Err(self.err(None, key.get_ref(), at, "unknown key".into())),
            }
        }
        if let Some(old) = old_allowlist {
            if !config.allowlists.is_empty() {
                return Err(self.err(
                    None,
                    "allowlist",
                    0,
                    "[allowlist] and [[allowlists]] cannot both be used (as in gitleaks)".into(),
                ));
            }
            config.allowlists.push(old);
        }
        Ok(config)
    }

    fn extend(&self, value: &Spanned<DeValue<'_>>) -> Result<RawExtend, RuleError> {
        let mut extend = RawExtend::default();
        for (key, v) in self.table(None, "extend", value)?.iter() {
            match key.get_ref().to_ascii_lowercase().as_str() {
                "usedefault" => extend.use_default = Some(self.boolean(None, key, v)?),
                "path" => extend.path = Some(self.string(None, key, v)?),
                "disabledrules" => extend.disabled_rules = self.strings(None, key, v)?,
                "url" => {
                    return Err(self.err(
                        None,
                        "extend.url",
                        key.span().start,
                        "configurations are not fetched over the network: download it and \
                         use `path`"
                            .into(),
                    ))
                }
                other => {
                    return Err(self.err(
                        None,
                        &format!("extend.{other}"),
                        key.span().start,
                        "unknown key".into(),
                    ))
                }
            }
        }
        Ok(extend)
    }

    fn rule(&self, index: usize, value: &Spanned<DeValue<'_>>) -> Result<RawRule, RuleError> {
        let t = self.table(None, "rules", value)?;
        let at = value.span().start;
        let id = t
            .iter()
            .find(|(k, _)| k.get_ref().eq_ignore_ascii_case("id"))
            .map(|(k, v)| self.string(None, k, v))
            .transpose()?
            .filter(|id| !id.value.trim().is_empty())
            .ok_or_else(|| self.err(None, "id", at, format!("rule #{} has no id", index + 1)))?;
        let rid = Some(id.value.as_str());
        let mut rule = RawRule {
            id: id.clone(),
            description: None,
            regex: None,
            path: None,
            secret_group: None,
            entropy: None,
            keywords: Vec::new(),
            tags: Vec::new(),
            allowlists: Vec::new(),
        };
        let mut old_allowlist = None;
        for (key, v) in t.iter() {
            let off = key.span().start;
            match key.get_ref().to_ascii_lowercase().as_str() {
                "id" => {}
                "description" => rule.description = Some(self.string(rid, key, v)?),
                "regex" => rule.regex = Some(self.string(rid, key, v)?),
                "path" => rule.path = Some(self.string(rid, key, v)?),
                "secretgroup" => rule.secret_group = Some(self.integer(rid, key, v)?),
                "entropy" => rule.entropy = Some(self.number(rid, key, v)?),
                "keywords" => rule.keywords = self.strings(rid, key, v)?,
                "tags" => rule.tags = self.strings(rid, key, v)?,
                "allowlist" => {
                    let table = self.table(rid, "allowlist", v)?;
                    old_allowlist =
                        Some(self.allowlist(rid, "allowlist".into(), v, table, false)?);
                }
                "allowlists" => {
                    for (i, item) in self.tables(rid, key, v)?.iter().enumerate() {
                        let table = self.table(rid, "allowlists", item)?;
                        let name = format!("allowlists[{}]", i + 1);
                        rule.allowlists
                            .push(self.allowlist(rid, name, item, table, false)?);
                    }
                }
                // betterleaks: live verification, only run with its --validation flag; keysweep
                // does not verify, which is what a betterleaks scan does by default.
                "validate" => {
                    self.string(rid, key, v)?;
                }
                // betterleaks: which of two overlapping findings is kept.
                "specificity" => {
                    self.integer(rid, key, v)?;
                }
                "skipreport" | "tokenefficiency" => {
                    if self.boolean(rid, key, v)?.value {
                        return Err(self.err(
                            rid,
                            key.get_ref(),
                            off,
                            "has no keysweep equivalent (remove it, or set it to false)".into(),
                        ));
                    }
                }
                "required" => {
                    return Err(self.err(
                        rid,
                        "required",
                        off,
                        "composite rules (a finding only when other rules match nearby) have no \
                         keysweep equivalent"
                            .into(),
                    ))
                }
                "filter" => {
                    return Err(self.err(
                        rid,
                        "filter",
                        off,
                        "betterleaks expressions cannot be translated to keysweep rules; \
                         express the filter as allowlists, or drop it"
                            .into(),
                    ))
                }
                _ => return Err(self.err(rid, key.get_ref(), off, "unknown field".into())),
            }
        }
        if let Some(old) = old_allowlist {
            if !rule.allowlists.is_empty() {
                return Err(self.err(
                    rid,
                    "allowlist",
                    at,
                    "[rules.allowlist] and [[rules.allowlists]] cannot both be used (as in \
                     gitleaks)"
                        .into(),
                ));
            }
            rule.allowlists.push(old);
        }
        Ok(rule)
    }

    fn allowlist(
        &self,
        rule: Option<&str>,
        name: String,
        value: &Spanned<DeValue<'_>>,
        t: &DeTable<'_>,
        global: bool,
    ) -> Result<RawAllowlist, RuleError> {
        let mut a = RawAllowlist {
            pos: self.pos(value.span().start),
            name,
            condition: None,
            commits: Vec::new(),
            paths: Vec::new(),
            regex_target: None,
            regexes: Vec::new(),
            stopwords: Vec::new(),
            target_rules: Vec::new(),
        };
        for (key, v) in t.iter() {
            let field = |k: &str| format!("{}.{k}", a.name);
            let keyed = |k: &str| {
                (
                    Spanned::new(key.span(), std::borrow::Cow::Owned(field(k))),
                    v,
                )
            };
            match key.get_ref().to_ascii_lowercase().as_str() {
                "description" => {
                    let (k, v) = keyed("description");
                    self.string(rule, &k, v)?;
                }
                "condition" => {
                    let (k, v) = keyed("condition");
                    a.condition = Some(self.string(rule, &k, v)?);
                }
                "commits" => {
                    let (k, v) = keyed("commits");
                    a.commits = self.strings(rule, &k, v)?;
                }
                "paths" => {
                    let (k, v) = keyed("paths");
                    a.paths = self.strings(rule, &k, v)?;
                }
                "regextarget" => {
                    let (k, v) = keyed("regexTarget");
                    a.regex_target = Some(self.string(rule, &k, v)?);
                }
                "regexes" => {
                    let (k, v) = keyed("regexes");
                    a.regexes = self.strings(rule, &k, v)?;
                }
                "stopwords" => {
                    let (k, v) = keyed("stopwords");
                    a.stopwords = self.strings(rule, &k, v)?;
                }
                "targetrules" if global => {
                    let (k, v) = keyed("targetRules");
                    a.target_rules = self.strings(rule, &k, v)?;
                }
                _ => {
                    return Err(self.err(
                        rule,
                        &field(key.get_ref()),
                        key.span().start,
                        "unknown field".into(),
                    ))
                }
            }
        }
        Ok(a)
    }

    fn table<'a, 'i>(
        &self,
        rule: Option<&str>,
        field: &str,
        v: &'a Spanned<DeValue<'i>>,
    ) -> Result<&'a DeTable<'i>, RuleError> {
        v.get_ref()
            .as_table()
            .ok_or_else(|| self.err(rule, field, v.span().start, "must be a table".into()))
    }

    fn tables<'a, 'i>(
        &self,
        rule: Option<&str>,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        v: &'a Spanned<DeValue<'i>>,
    ) -> Result<&'a [Spanned<DeValue<'i>>], RuleError> {
        match v.get_ref() {
            DeValue::Array(a) => Ok(a),
            _ => Err(self.err(
                rule,
                key.get_ref(),
                v.span().start,
                "must be an array of tables".into(),
            )),
        }
    }

    fn string(
        &self,
        rule: Option<&str>,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        v: &Spanned<DeValue<'_>>,
    ) -> Result<At<String>, RuleError> {
        match v.get_ref().as_str() {
            Some(s) => Ok(At {
                value: s.to_string(),
                pos: self.pos(v.span().start),
            }),
            None => Err(self.err(
                rule,
                key.get_ref(),
                v.span().start,
                "must be a string".into(),
            )),
        }
    }

    fn boolean(
        &self,
        rule: Option<&str>,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        v: &Spanned<DeValue<'_>>,
    ) -> Result<At<bool>, RuleError> {
        match v.get_ref().as_bool() {
            Some(b) => Ok(At {
                value: b,
                pos: self.pos(v.span().start),
            }),
            None => Err(self.err(
                rule,
                key.get_ref(),
                v.span().start,
                "must be true or false".into(),
            )),
        }
    }

    fn integer(
        &self,
        rule: Option<&str>,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        v: &Spanned<DeValue<'_>>,
    ) -> Result<At<i64>, RuleError> {
        let n = v
            .get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok());
        match n {
            Some(n) => Ok(At {
                value: n,
                pos: self.pos(v.span().start),
            }),
            None => Err(self.err(
                rule,
                key.get_ref(),
                v.span().start,
                "must be an integer".into(),
            )),
        }
    }

    fn number(
        &self,
        rule: Option<&str>,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        v: &Spanned<DeValue<'_>>,
    ) -> Result<At<f64>, RuleError> {
        let n = match v.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            DeValue::Integer(_) => self.integer(rule, key, v).ok().map(|i| i.value as f64),
            _ => None,
        };
        match n {
            Some(n) => Ok(At {
                value: n,
                pos: self.pos(v.span().start),
            }),
            None => Err(self.err(
                rule,
                key.get_ref(),
                v.span().start,
                "must be a number".into(),
            )),
        }
    }

    fn strings(
        &self,
        rule: Option<&str>,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        v: &Spanned<DeValue<'_>>,
    ) -> Result<Vec<At<String>>, RuleError> {
        let DeValue::Array(items) = v.get_ref() else {
            return Err(self.err(
                rule,
                key.get_ref(),
                v.span().start,
                "must be an array of strings".into(),
            ));
        };
        items
            .iter()
            .map(|item| self.string(rule, key, item))
            .collect()
    }
}
