//! gitleaks rules and allowlists as keysweep rules, field by field. What keysweep cannot
//! express is an error naming the file, the rule and the field.

use std::sync::Arc;

use keysweep::{Reject, Rule, RuleError};

use crate::raw::{At, Pos, RawAllowlist, RawRule};
use crate::regex::{self, Secret};

/// The group a rule's pattern is wrapped in when an allowlist tests the whole match
/// (`regexTarget = "match"`).
pub(crate) const MATCH_GROUP: &str = "gitleaks_match";

/// What one allowlist becomes: keysweep patterns, by what they test.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parts {
    /// Over the file's path.
    pub paths: Vec<String>,
    /// Over the secret (`regexTarget = "secret"`, and stopwords).
    pub values: Vec<String>,
    /// Over the whole match (`regexTarget = "match"`).
    pub matches: Vec<String>,
}

fn err(pos: &Pos, rule: Option<&str>, field: &str, message: impl Into<String>) -> RuleError {
    RuleError {
        origin: pos.file.to_string(),
        rule_id: rule.map(str::to_string),
        field: Some(field.to_string()),
        line: Some(pos.line),
        message: message.into(),
    }
}

/// One gitleaks rule, with its own allowlists, as a keysweep rule (not yet validated: the
/// caller validates once targeted allowlists are added).
pub(crate) fn rule(raw: &RawRule) -> Result<Rule, RuleError> {
    let gid = raw.id.value.as_str();
    let rid = Some(gid);
    let id = crate::rule_id(gid);
    let Some(go) = &raw.regex else {
        return Err(match &raw.path {
            Some(p) => err(
                &p.pos,
                rid,
                "path",
                "a rule with `path` and no `regex` reports a file by its name; keysweep reports \
                 secrets inside files, not files: give the rule a `regex`",
            ),
            None => err(
                &raw.id.pos,
                rid,
                "regex",
                "is missing (a rule without one can only extend a rule of the same id in the \
                 configuration it extends; keysweep's built-in rules stand in for gitleaks' \
                 defaults and cannot be extended)",
            ),
        });
    };
    let secret = match &raw.secret_group {
        None => Secret::FirstNonEmpty,
        Some(g) if g.value == 0 => Secret::FirstNonEmpty,
        Some(g) if g.value < 0 => {
            return Err(err(&g.pos, rid, "secretGroup", "must not be negative"));
        }
        Some(g) => Secret::Group(g.value as usize),
    };
    let pattern = regex::translate(&go.value, secret).map_err(|e| {
        let pos = match (e.field, &raw.secret_group) {
            ("secretGroup", Some(g)) => &g.pos,
            _ => &go.pos,
        };
        err(pos, rid, e.field, e.message)
    })?;
    let mut rule = Rule::new(&id, &pattern);
    rule.origin = Arc::from(format!("gitleaks:{}", raw.id.pos.file));
    let description = raw
        .description
        .as_ref()
        .map(|d| d.value.trim())
        .filter(|d| !d.is_empty());
    rule.name = description.unwrap_or(gid).to_string();
    rule.description = description.map_or_else(|| format!("gitleaks rule {gid}"), str::to_string);

    // gitleaks lowercases keywords and runs a rule on a file that contains one of them;
    // keysweep runs it only around a keyword. The two agree when every match of the regex
    // contains a keyword: then the keyword is in the file whenever there is a match.
    let mut keywords: Vec<String> = Vec::new();
    for k in &raw.keywords {
        let kw = k.value.to_lowercase();
        if !keywords.contains(&kw) {
            keywords.push(kw);
        }
    }
    if !keywords.is_empty() {
        if !regex::keywords_cover(&pattern, &keywords) {
            let pos = raw.keywords.first().map_or(&go.pos, |k| &k.pos);
            return Err(err(
                pos,
                rid,
                "keywords",
                "keysweep searches for a rule's regex only around its keywords, so every match \
                 must contain one (gitleaks only asks that one be somewhere in the file), and \
                 not every match of `regex` provably contains one of these: add a keyword that \
                 every match contains, or remove `keywords` to run the rule over every byte",
            ));
        }
        // A keyword shorter than keysweep's 3 bytes: every match contains one, so running
        // the rule over every byte finds what gitleaks finds.
        if keywords.iter().all(|k| k.len() >= 3) {
            rule.keywords = keywords;
        }
    }

    if let Some(e) = &raw.entropy {
        if !(0.0..8.0).contains(&e.value) {
            return Err(err(
                &e.pos,
                rid,
                "entropy",
                format!("{} is outside 0 to 8 (bits per character)", e.value),
            ));
        }
        if e.value > 0.0 {
            // gitleaks drops a secret whose entropy is at most the threshold; keysweep one
            // whose entropy is below it: the next number up keeps them equal.
            rule.min_entropy = Some(e.value.next_up());
        }
    }
    if let Some(p) = &raw.path {
        let path =
            regex::translate_plain(&p.value).map_err(|e| err(&p.pos, rid, "path", e.message))?;
        rule.paths.push(path);
    }
    for t in &raw.tags {
        if !rule.tags.contains(&t.value) {
            rule.tags.push(t.value.clone());
        }
    }
    // gitleaks lets a rule whose id says `generic` give way to an overlapping finding of
    // another rule; keysweep's `generic` tag does that.
    if gid.to_ascii_lowercase().contains("generic") && !rule.has_tag("generic") {
        rule.tags.push("generic".into());
    }
    for a in &raw.allowlists {
        let parts = allowlist(a, rid)?;
        apply(&mut rule, parts);
    }
    Ok(rule)
}

/// Adds an allowlist's parts to a rule.
pub(crate) fn apply(rule: &mut Rule, parts: Parts) {
    rule.allow_paths.extend(parts.paths);
    rule.allow_values.extend(parts.values);
    if parts.matches.is_empty() {
        return;
    }
    if !rule.rejects.iter().any(|r| r.group == MATCH_GROUP) {
        rule.pattern = format!("(?P<{MATCH_GROUP}>{})", rule.pattern);
    }
    for m in parts.matches {
        rule.rejects.push(Reject {
            group: MATCH_GROUP.into(),
            pattern: m,
        });
    }
}

/// One allowlist table. `rule`: the rule it belongs to, for errors (`None`: global).
pub(crate) fn allowlist(a: &RawAllowlist, rule: Option<&str>) -> Result<Parts, RuleError> {
    let name = &a.name;
    let field = |f: &str| format!("{name}.{f}");
    let and = match &a.condition {
        None => false,
        Some(c) => match c.value.trim().to_ascii_uppercase().as_str() {
            "" | "OR" | "||" => false,
            "AND" | "&&" => true,
            _ => {
                return Err(err(
                    &c.pos,
                    rule,
                    &field("condition"),
                    format!("{:?} is not OR or AND", c.value),
                ))
            }
        },
    };
    let target = match &a.regex_target {
        None => "secret",
        Some(t) => match t.value.as_str() {
            "" | "secret" => "secret",
            "match" => "match",
            "line" => "line",
            _ => {
                return Err(err(
                    &t.pos,
                    rule,
                    &field("regexTarget"),
                    format!("{:?} is not secret, match or line", t.value),
                ))
            }
        },
    };
    let kinds = [
        !a.commits.is_empty(),
        !a.paths.is_empty(),
        !a.regexes.is_empty(),
        !a.stopwords.is_empty(),
    ];
    let count = kinds.iter().filter(|&&k| k).count();
    if count == 0 {
        return Err(err(
            &a.pos,
            rule,
            name,
            "must contain at least one of commits, paths, regexes or stopwords (as in gitleaks)",
        ));
    }
    if let Some(c) = a.commits.first() {
        return Err(err(
            &c.pos,
            rule,
            &field("commits"),
            "keysweep cannot allow findings by commit: list the findings in .gitleaksignore \
             (`commit:file:rule-id:line`) or record them in a baseline (`keysweep baseline \
             create`)",
        ));
    }
    if and && count > 1 {
        let pos = a.condition.as_ref().map_or(&a.pos, |c| &c.pos);
        return Err(err(
            pos,
            rule,
            &field("condition"),
            "AND across paths, regexes and stopwords has no keysweep equivalent (keysweep \
             allows by path, or by value, each on its own): split it, or use OR",
        ));
    }
    if target == "line" && !a.regexes.is_empty() {
        let pos = a.regex_target.as_ref().map_or(&a.pos, |t| &t.pos);
        return Err(err(
            pos,
            rule,
            &field("regexTarget"),
            "\"line\" (regexes over the whole line) has no keysweep equivalent: keysweep \
             tests the secret or the match; rewrite the regexes for one of those",
        ));
    }
    let mut parts = Parts::default();
    for p in &a.paths {
        let path = regex::translate_plain(&p.value).map_err(|e| {
            err(
                &p.pos,
                rule,
                &field("paths"),
                format!("{:?}: {}", p.value, e.message),
            )
        })?;
        parts.paths.push(path);
    }
    for r in &a.regexes {
        let re = regex::translate_plain(&r.value).map_err(|e| {
            err(
                &r.pos,
                rule,
                &field("regexes"),
                format!("{:?}: {}", r.value, e.message),
            )
        })?;
        if target == "match" {
            parts.matches.push(re);
        } else {
            parts.values.push(re);
        }
    }
    for s in &a.stopwords {
        parts.values.push(stopword(s, rule, &field("stopwords"))?);
    }
    Ok(parts)
}

/// A stopword as a pattern over the secret: contained anywhere, case-insensitively.
fn stopword(s: &At<String>, rule: Option<&str>, field: &str) -> Result<String, RuleError> {
    if s.value.is_empty() {
        return Err(err(
            &s.pos,
            rule,
            field,
            "an empty stopword would allow every secret",
        ));
    }
    let escaped = regex_syntax::escape(&s.value);
    // gitleaks lowercases both sides with Unicode rules; ASCII folding suffices for ASCII.
    Ok(if s.value.is_ascii() {
        format!("(?i:{escaped})")
    } else {
        format!("(?iu:{escaped})")
    })
}

/// Field names of a translated rule, as gitleaks calls them.
pub(crate) fn gitleaks_field(keysweep: &str) -> &str {
    match keysweep {
        "pattern" => "regex",
        "min_entropy" => "entropy",
        "paths" => "path",
        "allow_paths" | "allow_values" | "reject" => "allowlists",
        other => other,
    }
}
