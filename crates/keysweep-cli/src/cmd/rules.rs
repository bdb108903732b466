//! `keysweep rules list` and `keysweep rules check`.

use std::io::Write;
use std::path::PathBuf;

use keysweep::{RuleSet, Scanner};

use crate::args::{ListFormat, RuleArgs};
use crate::cmd::EXIT_FINDINGS;
use crate::config::Config;
use crate::rules;

pub fn list(args: &RuleArgs, format: ListFormat) -> Result<u8, String> {
    let set = rules::load(args.no_builtin, &args.files, &Config::default())?.rules;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match format {
        ListFormat::Human => set.rules().iter().try_for_each(|r| {
            writeln!(
                out,
                "{:<40} {:<7} {:<28} {}",
                r.id,
                r.confidence,
                r.tags.join(","),
                r.name
            )
        }),
        ListFormat::Json => {
            let rows: Vec<serde_json::Value> = set
                .rules()
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": &*r.id,
                        "name": r.name,
                        "description": r.description,
                        "keywords": r.keywords,
                        "case_sensitive": r.case_sensitive,
                        "pattern": r.pattern,
                        "min_entropy": r.min_entropy,
                        "check": r.check.map(|c| c.as_str()),
                        "confidence": r.confidence.as_str(),
                        "tags": r.tags,
                        "references": r.references,
                        "origin": &*r.origin,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &rows)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        }
    };
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(format!("cannot write: {e}")),
        Ok(()) => Ok(0),
    }
}

/// Whether a rule was translated from a gitleaks configuration, which has no place for
/// examples: its pattern is checked by translation and compilation alone.
fn from_gitleaks(rule: &keysweep::Rule) -> bool {
    rule.origin.starts_with("gitleaks:") && rule.examples.is_empty()
}

pub fn check(files: &[PathBuf]) -> Result<u8, String> {
    let set = if files.is_empty() {
        RuleSet::builtin_with_examples()
    } else {
        let mut set = RuleSet::empty();
        for f in files {
            let file = rules::read_file(f)?;
            set.extend(file.rules().clone())
                .map_err(|e| e.to_string())?;
        }
        set
    };
    let scanner = Scanner::new(set).map_err(|e| e.to_string())?;
    let mut failures = 0;
    let mut warnings = 0;
    let broken = scanner.compile_all();
    let mut without_examples = 0;
    for (i, rule) in scanner.rules().iter().enumerate() {
        if from_gitleaks(rule) {
            without_examples += 1;
            for (id, msg) in broken.iter().filter(|(id, _)| *id == rule.id) {
                println!("FAIL {id}: pattern does not compile: {msg}");
                failures += 1;
            }
        } else {
            for f in keysweep::check_rule_examples(rule) {
                println!("FAIL {}: {}", f.rule_id, f.message);
                failures += 1;
            }
        }
        // Validator and revocation templates: parse, and name only what the rule captures.
        if let Err(msg) = keysweep_validate::check_rule(rule) {
            println!("FAIL {}: {msg}", rule.id);
            failures += 1;
        }
        if rule.keywords.is_empty() && rule.paths.is_empty() {
            println!(
                "warning {}: no keywords; it runs in the keyword-less regex pass over every byte, \
                 which costs throughput",
                rule.id
            );
            warnings += 1;
        } else if !scanner.rule_is_bounded(i) {
            println!(
                "warning {}: pattern has no maximum match length (use {{m,n}}, not * or +); \
                 matches longer than the default window can be missed",
                rule.id
            );
            warnings += 1;
        }
    }
    if without_examples > 0 {
        println!(
            "note: {without_examples} rule(s) from gitleaks configurations have no examples to \
             run; their translation was validated and their patterns compiled"
        );
    }
    println!(
        "checked {} rules: {failures} failure(s), {warnings} warning(s)",
        scanner.rules().len()
    );
    Ok(if failures > 0 { EXIT_FINDINGS } else { 0 })
}
