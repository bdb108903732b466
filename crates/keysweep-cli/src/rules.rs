//! Loading the rule set a command runs with: built-ins plus `--rules` files.

use std::path::Path;

use keysweep::RuleSet;

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
