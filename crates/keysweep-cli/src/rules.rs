//! Loading the rule set a command runs with: built-ins, configured rule files, `--rules` files
//! (keysweep rule files or gitleaks and betterleaks configurations).

use std::path::Path;

use keysweep::RuleSet;
use keysweep_gitleaks::{Allowlist, BuiltinTarget, Format};

use crate::config::Config;

/// One rule file, in either format.
pub enum RuleFile {
    /// keysweep's own `[[rule]]` tables.
    Keysweep(RuleSet),
    /// A gitleaks or betterleaks configuration, translated.
    Gitleaks(keysweep_gitleaks::Config),
}

impl RuleFile {
    /// Its rules.
    pub fn rules(&self) -> &RuleSet {
        match self {
            RuleFile::Keysweep(set) => set,
            RuleFile::Gitleaks(c) => &c.rules,
        }
    }
}

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
    match keysweep_gitleaks::detect(&src) {
        Format::Keysweep => RuleSet::from_toml(&src, &path.display().to_string())
            .map(RuleFile::Keysweep)
            .map_err(|e| e.to_string()),
        Format::Gitleaks => keysweep_gitleaks::parse(&src, path)
            .map(RuleFile::Gitleaks)
            .map_err(|e| format!("gitleaks configuration: {e}")),
    }
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
    let builtin = !no_builtin
        && read.iter().all(|f| match f {
            RuleFile::Gitleaks(c) => c.use_default,
            RuleFile::Keysweep(_) => true,
        });
    let mut set = if builtin {
        RuleSet::builtin()
    } else {
        RuleSet::empty()
    };
    // `disabledRules` naming gitleaks' defaults turn off the built-in rules standing in for them.
    let off: Vec<BuiltinTarget> = read
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
    let mut gitleaks_allow = Allowlist::default();
    for f in read {
        match f {
            RuleFile::Keysweep(s) => set.extend(s),
            RuleFile::Gitleaks(c) => {
                gitleaks_allow.extend(c.allowlist);
                set.extend(c.rules)
            }
        }
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
