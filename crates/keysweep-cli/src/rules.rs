//! Loading the rule set a command runs with: built-ins, configured rule files, `--rules` files
//! (keysweep rule files or gitleaks and betterleaks configurations).

use std::path::Path;

use keysweep::RuleSet;
use keysweep_gitleaks::{Allowlist, RuleFile};

use crate::config::Config;

/// Reads and parses one rule file, telling the formats apart by content; errors name the
/// file, rule and field.
pub fn read_file(path: &Path) -> Result<RuleFile, String> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read rule file {}: {}",
            path.display(),
            keysweep_source::io_reason(&e)
        )
    })?;
    RuleFile::parse(&src, path)
}

/// The rules of a run, and the global allowlists of the gitleaks configurations among them.
pub struct Loaded {
    pub rules: RuleSet,
    /// Applies to every rule; its `matches` are already in `rules`.
    pub gitleaks_allow: Allowlist,
}

/// The rules of a run: built-ins (unless `no_builtin`, or a gitleaks configuration without
/// `useDefault` is among the files: it is a complete rule set), the configuration's rule
/// files, the `files` given, then the configuration's `disable`, `disable_tags` and
/// `min_entropy`. Naming a rule or tag that no loaded rule has is an error (a typo must not
/// silently disable nothing).
pub fn load(
    no_builtin: bool,
    files: &[impl AsRef<Path>],
    config: &Config,
) -> Result<Loaded, String> {
    let mut read = Vec::new();
    for file in &config.rule_files {
        let f = read_file(&file.value)
            .map_err(|e| format!("{}: rules.files: {e}", config.locate(file.line)))?;
        read.push(f);
    }
    for path in files {
        read.push(read_file(path.as_ref())?);
    }
    let (mut set, gitleaks_allow) = keysweep_gitleaks::combine(read, !no_builtin)?;
    for id in &config.disable {
        if set.get(&id.value).is_none() {
            return Err(format!(
                "{}: rules.disable: no rule has the id {:?} (see `keysweep rules list`)",
                config.locate(id.line),
                id.value
            ));
        }
    }
    for tag in &config.disable_tags {
        if !set.rules().iter().any(|r| r.has_tag(&tag.value)) {
            return Err(format!(
                "{}: rules.disable_tags: no rule has the tag {:?}",
                config.locate(tag.line),
                tag.value
            ));
        }
    }
    set.retain(|r| {
        !config.disable.iter().any(|d| *d.value == *r.id)
            && !config.disable_tags.iter().any(|t| r.has_tag(&t.value))
    });
    if let Some(e) = &config.min_entropy {
        set.override_min_entropy(e.value);
    }
    if set.is_empty() {
        return Err(
            "no rules to run (--no-builtin, or a gitleaks configuration without useDefault, \
             without rules of its own; or all disabled)"
                .into(),
        );
    }
    let rules = gitleaks_allow
        .apply_matches(set)
        .map_err(|e| e.to_string())?;
    Ok(Loaded {
        rules,
        gitleaks_allow,
    })
}
