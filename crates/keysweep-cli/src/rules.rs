//! Loading the rule set a command runs with: built-ins, configured rule files, `--rules` files.

use std::path::Path;

use keysweep::RuleSet;

use crate::config::Config;

/// Reads and parses one rule file; errors name the file, rule and field.
pub fn load_file(path: &Path) -> Result<RuleSet, String> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read rule file {}: {}",
            path.display(),
            keysweep_source::io_reason(&e)
        )
    })?;
    RuleSet::from_toml(&src, &path.display().to_string()).map_err(|e| e.to_string())
}

/// The rules of a run: built-ins (unless `no_builtin`), the configuration's rule files, the
/// `files` given, then the configuration's `disable`, `disable_tags` and `min_entropy`.
/// Naming a rule or tag that no loaded rule has is an error (a typo must not silently disable
/// nothing).
pub fn load(
    no_builtin: bool,
    files: &[impl AsRef<Path>],
    config: &Config,
) -> Result<RuleSet, String> {
    let mut set = if no_builtin {
        RuleSet::empty()
    } else {
        RuleSet::builtin()
    };
    for file in &config.rule_files {
        let extra = load_file(&file.value)
            .map_err(|e| format!("{}: rules.files: {e}", config.locate(file.line)))?;
        set.extend(extra).map_err(|e| e.to_string())?;
    }
    for path in files {
        set.extend(load_file(path.as_ref())?)
            .map_err(|e| e.to_string())?;
    }
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
        return Err("no rules to run (--no-builtin without --rules, or all disabled)".into());
    }
    Ok(set)
}
