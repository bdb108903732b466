//! `[extend]`: a configuration built on another file (`path`) or on the scanner's defaults
//! (`useDefault`), merged the way gitleaks merges them, before anything is translated.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keysweep::RuleError;

use crate::raw::{self, At, Pos, RawAllowlist, RawRule};

/// How many files deep `path` extensions may chain (gitleaks' limit: a file, the file it
/// extends, and the file that one extends).
pub(crate) const MAX_EXTEND_DEPTH: usize = 2;

/// A configuration with everything it extends merged in.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    pub rules: Vec<RawRule>,
    pub allowlists: Vec<RawAllowlist>,
    /// Where `useDefault = true` was set, if anywhere in the chain.
    pub use_default: Option<Pos>,
    /// `disabledRules` that name gitleaks default rules (under `useDefault`).
    pub disabled_defaults: Vec<At<String>>,
}

fn error(pos: &Pos, field: &str, message: String) -> RuleError {
    RuleError {
        origin: pos.file.to_string(),
        rule_id: None,
        field: Some(field.to_string()),
        line: Some(pos.line),
        message,
    }
}

/// Reads `src` (the text of `path`) and every file it extends.
pub(crate) fn load(src: &str, path: &Path) -> Result<Merged, RuleError> {
    let mut chain = vec![std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())];
    load_at(src, path, 0, &mut chain)
}

fn load_at(
    src: &str,
    path: &Path,
    depth: usize,
    chain: &mut Vec<PathBuf>,
) -> Result<Merged, RuleError> {
    let file: Arc<str> = Arc::from(path.display().to_string());
    let raw = raw::parse(src, &file)?;
    let ext = raw.extend;
    let use_default = ext.use_default.filter(|u| u.value).map(|u| u.pos);
    let mut merged = Merged {
        rules: raw.rules,
        allowlists: raw.allowlists,
        use_default: use_default.clone(),
        disabled_defaults: Vec::new(),
    };
    match (&ext.path, use_default) {
        (Some(p), Some(_)) => Err(error(
            &p.pos,
            "extend.path",
            "`path` and `useDefault` cannot both be set (as in gitleaks)".into(),
        )),
        (Some(p), None) => {
            if depth >= MAX_EXTEND_DEPTH {
                return Err(error(
                    &p.pos,
                    "extend.path",
                    format!(
                        "extends chain more than {MAX_EXTEND_DEPTH} files deep (gitleaks' limit; \
                         gitleaks ignores this `[extend]`, keysweep refuses it)"
                    ),
                ));
            }
            // Relative to this file (gitleaks: to the directory it runs in), so a run does
            // not depend on where it was started.
            let base = path.parent().unwrap_or(Path::new(".")).join(&p.value);
            // A regular file only: not a FIFO or a device that would never end.
            let text = std::fs::metadata(&base)
                .and_then(|m| {
                    if m.is_file() {
                        std::fs::read_to_string(&base)
                    } else {
                        Err(std::io::Error::other("not a regular file"))
                    }
                })
                .map_err(|e| {
                    error(
                        &p.pos,
                        "extend.path",
                        format!("cannot read {}: {e}", base.display()),
                    )
                })?;
            let canonical = std::fs::canonicalize(&base).unwrap_or_else(|_| base.clone());
            if let Some(at) = chain.iter().position(|c| *c == canonical) {
                let cycle: Vec<String> = chain[at..]
                    .iter()
                    .chain([&canonical])
                    .map(|c| c.display().to_string())
                    .collect();
                return Err(error(
                    &p.pos,
                    "extend.path",
                    format!("extends itself: {}", cycle.join(" -> ")),
                ));
            }
            chain.push(canonical);
            let base = load_at(&text, &base, depth + 1, chain)?;
            chain.pop();
            merge(&mut merged, base, &ext.disabled_rules)?;
            Ok(merged)
        }
        (None, Some(_)) => {
            merged.disabled_defaults = ext.disabled_rules;
            Ok(merged)
        }
        (None, None) => match ext.disabled_rules.first() {
            Some(d) => Err(error(
                &d.pos,
                "extend.disabledRules",
                "disables rules of the configuration this one extends, and it extends none \
                 (no `useDefault` or `path`)"
                    .into(),
            )),
            None => Ok(merged),
        },
    }
}

/// Merges `base` (the file `current` extends) into `current`, as gitleaks does: rules of the
/// base that `disabled` names are dropped; a rule in both keeps the base's fields that the
/// extending file leaves unset, and has both files' keywords, tags and allowlists.
fn merge(current: &mut Merged, base: Merged, disabled: &[At<String>]) -> Result<(), RuleError> {
    let mut base_rules = base.rules;
    for d in disabled {
        let before = base_rules.len();
        base_rules.retain(|r| r.id.value != d.value);
        if base_rules.len() == before {
            if base.use_default.is_some() {
                // A rule of gitleaks' defaults, which the base extends.
                current.disabled_defaults.push(d.clone());
            } else {
                return Err(error(
                    &d.pos,
                    "extend.disabledRules",
                    format!("the extended configuration has no rule {:?}", d.value),
                ));
            }
        }
    }
    let own = std::mem::take(&mut current.rules);
    let mut own: Vec<Option<RawRule>> = own.into_iter().map(Some).collect();
    let mut rules = Vec::with_capacity(base_rules.len() + own.len());
    for b in base_rules {
        let mine = own
            .iter_mut()
            .find(|r| r.as_ref().is_some_and(|r| r.id.value == b.id.value))
            .and_then(Option::take);
        rules.push(match mine {
            Some(c) => merge_rule(b, c),
            None => b,
        });
    }
    rules.extend(own.into_iter().flatten());
    current.rules = rules;
    current.allowlists.extend(base.allowlists);
    if current.use_default.is_none() {
        current.use_default = base.use_default;
    }
    current.disabled_defaults.extend(base.disabled_defaults);
    Ok(())
}

fn merge_rule(base: RawRule, cur: RawRule) -> RawRule {
    let concat = |mut a: Vec<At<String>>, b: Vec<At<String>>| {
        a.extend(b);
        a
    };
    let mut allowlists = base.allowlists;
    allowlists.extend(cur.allowlists);
    RawRule {
        id: cur.id,
        description: cur
            .description
            .filter(|d| !d.value.is_empty())
            .or(base.description),
        regex: cur.regex.or(base.regex),
        path: cur.path.or(base.path),
        secret_group: cur
            .secret_group
            .filter(|g| g.value != 0)
            .or(base.secret_group),
        entropy: cur.entropy.filter(|e| e.value != 0.0).or(base.entropy),
        keywords: concat(base.keywords, cur.keywords),
        tags: concat(base.tags, cur.tags),
        allowlists,
    }
}
