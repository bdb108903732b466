//! Loading the rule set a command runs with: built-ins plus `--rules` files.

use std::path::Path;

use keysweep::RuleSet;

use crate::config::Config;
use crate::RuleArgs;

/// Reads and parses one rule file; errors name the file, rule and field.
pub fn load_file(path: &Path) -> Result<RuleSet, String> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read rule file {}: {e}", path.display()))?;
    RuleSet::from_toml(&src, &path.display().to_string()).map_err(|e| e.to_string())
}

/// The built-in rules (unless `--no-builtin`) followed by every `--rules` file.
pub fn load(args: &RuleArgs) -> Result<RuleSet, String> {
    let mut set = if args.no_builtin {
        RuleSet::empty()
    } else {
        RuleSet::builtin()
    };
    for path in &args.files {
        set.extend(load_file(path)?).map_err(|e| e.to_string())?;
    }
    if set.is_empty() {
        return Err("no rules loaded (--no-builtin without --rules)".into());
    }
    Ok(set)
}

/// The rules of a scan: built-ins, the configuration's rule files, `--rules` files, then the
/// configuration's `disable`, `disable_tags` and `min_entropy`. Naming a rule or tag that no
/// loaded rule has is an error (a typo must not silently disable nothing).
pub fn load_with_config(args: &RuleArgs, config: &Config) -> Result<RuleSet, String> {
    let mut set = if args.no_builtin {
        RuleSet::empty()
    } else {
        RuleSet::builtin()
    };
    for file in &config.rule_files {
        let extra = load_file(&file.value)
            .map_err(|e| format!("{}: rules.files: {e}", config.locate(file.line)))?;
        set.extend(extra).map_err(|e| e.to_string())?;
    }
    for path in &args.files {
        set.extend(load_file(path)?).map_err(|e| e.to_string())?;
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
        return Err("no rules left to run (--no-builtin without --rules, or all disabled)".into());
    }
    Ok(set)
}
