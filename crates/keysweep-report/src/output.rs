//! Output formats over [`Hit`]s: human-readable lines, JSON, JSON Lines and SARIF 2.1.0.

use std::io::{self, Write};

use keysweep::{Confidence, Scanner, Suppression};
use keysweep_source::{Hit, Source};
use serde_json::{json, Value};

use crate::record::{shown, Record};

/// An output format of findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One line per finding (and one of provenance for history and pending changes).
    Human,
    /// A pretty JSON array of [`Record`]s.
    Json,
    /// One [`Record`] per line.
    Jsonl,
    /// SARIF 2.1.0, for code scanning services.
    Sarif,
}

/// Findings to print, and how.
pub struct Report<'a> {
    /// The scanner that found them (for rule names and descriptions).
    pub scanner: &'a Scanner,
    /// The findings, in the order to print them.
    pub hits: &'a [Hit],
    /// Print secrets in full.
    pub reveal: bool,
    /// Human output: colour with ANSI escapes.
    pub color: bool,
    /// Human output: prefix paths with their repository's root (when several were scanned).
    pub name_repositories: bool,
    /// What `--validate` found, per hit (same order as `hits`); empty without it.
    pub validations: &'a [Option<crate::RecordValidation>],
}

/// Refs listed per finding in human output.
const MAX_REFS_HUMAN: usize = 3;

impl Report<'_> {
    /// Writes the report in `format`.
    pub fn write(&self, out: &mut dyn Write, format: Format) -> io::Result<()> {
        match format {
            Format::Human => self.write_human(out),
            Format::Json => {
                let records: Vec<Record> = self.records().collect();
                serde_json::to_writer_pretty(&mut *out, &records)?;
                writeln!(out)
            }
            Format::Jsonl => self.records().try_for_each(|r| {
                serde_json::to_writer(&mut *out, &r)?;
                writeln!(out)
            }),
            Format::Sarif => {
                serde_json::to_writer_pretty(&mut *out, &self.sarif())?;
                writeln!(out)
            }
        }
    }

    /// The record of every hit, in order.
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        let rules = self.scanner.rules();
        self.hits.iter().enumerate().map(|(i, h)| {
            let mut r = Record::new(h, &rules[h.finding.rule_index], self.reveal);
            r.validation = self.validations.get(i).cloned().flatten();
            r
        })
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn write_human(&self, out: &mut dyn Write) -> io::Result<()> {
        for (i, hit) in self.hits.iter().enumerate() {
            let f = &hit.finding;
            let loc = &hit.location;
            let mut path = terminal_safe(&loc.display());
            if self.name_repositories {
                if let (Source::History { .. }, Some(repo)) = (&loc.source, &loc.repository) {
                    path = format!("{}:{path}", terminal_safe(&repo.root));
                }
            }
            let secret = terminal_safe(&shown(&f.secret, self.reveal));
            let conf_color = match f.confidence {
                Confidence::High => "1;31",
                Confidence::Medium => "33",
                Confidence::Low => "2",
            };
            let mut tail = String::new();
            if !f.decoded.is_empty() {
                let chain: Vec<&str> = f.decoded.iter().map(|e| e.as_str()).collect();
                tail += &format!("  [decoded: {}]", chain.join(" > "));
            }
            if loc.context != keysweep_source::Context::Source {
                tail += &format!(
                    "  {}",
                    self.paint("2", &format!("[{}]", loc.context.as_str()))
                );
            }
            if let Some(s) = f.suppressed {
                tail += &format!("  {}", self.paint("2", &format!("[suppressed: {s}]")));
            }
            if let Some(Some(v)) = self.validations.get(i) {
                let color = match v.status.as_str() {
                    "live" => "1;31",
                    "invalid" => "32",
                    _ => "2",
                };
                tail += &format!("  {}", self.paint(color, &format!("[{}]", v.summary())));
            }
            writeln!(
                out,
                "{}:{}:{}  {}  {}  {}{}",
                self.paint("35", &path),
                self.paint("32", &f.line.to_string()),
                f.column,
                self.paint("1;36", &f.rule_id),
                secret,
                self.paint(conf_color, f.confidence.as_str()),
                tail,
            )?;
            if !f.parts.is_empty() {
                let parts: Vec<String> = f
                    .parts
                    .iter()
                    .map(|p| {
                        let r = crate::RecordPart::of(p, self.reveal);
                        match &r.rule_id {
                            Some(id) => format!("{} {} ({id})", r.name, r.value),
                            None => format!("{} {}", r.name, r.value),
                        }
                    })
                    .collect();
                let line = format!("with {}", parts.join(", "));
                writeln!(out, "    {}", self.paint("2", &terminal_safe(&line)))?;
            }
            if let Some(line) = provenance_line(hit) {
                writeln!(out, "    {}", self.paint("2", &terminal_safe(&line)))?;
            }
        }
        Ok(())
    }

    fn sarif(&self) -> Value {
        let rules = self.scanner.rules();
        // Only the rules with results, in first-seen order; results point at them by index.
        let mut used: Vec<usize> = Vec::new();
        let mut index_of = vec![usize::MAX; rules.len()];
        let mut results = Vec::new();
        for (i, hit) in self.hits.iter().enumerate() {
            let f = &hit.finding;
            if index_of[f.rule_index] == usize::MAX {
                index_of[f.rule_index] = used.len();
                used.push(f.rule_index);
            }
            let rule = &rules[f.rule_index];
            let mut properties = json!({
                "confidence": f.confidence.as_str(),
                "entropy": (f.entropy * 1000.0).round() / 1000.0,
                "source": source_name(&hit.location.source),
                "context": hit.location.context.as_str(),
            });
            if !f.decoded.is_empty() {
                properties["decoded"] =
                    json!(f.decoded.iter().map(|e| e.as_str()).collect::<Vec<_>>());
            }
            match &hit.location.source {
                Source::History { git } => properties["git"] = json!(git),
                Source::Change { git } => properties["git"] = json!(git),
                Source::Image { image } => properties["image"] = json!(image),
                Source::File | Source::Stdin => {}
            }
            if let Some(repo) = &hit.location.repository {
                properties["repository"] = json!(repo);
            }
            if let Some(archive) = &hit.location.archive {
                properties["archive"] = json!(archive);
            }
            if let Some(submodule) = &hit.location.submodule {
                properties["submodule"] = json!(submodule);
            }
            if let Some(Some(v)) = self.validations.get(i) {
                properties["validation"] = json!(v);
            }
            let mut result = json!({
                "ruleId": &*f.rule_id,
                "ruleIndex": index_of[f.rule_index],
                "level": sarif_level(f.confidence),
                "message": { "text": format!("{} ({}): {}", rule.name, f.confidence, shown(&f.secret, self.reveal)) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri_reference(&hit.location.display()), "uriBaseId": "%SRCROOT%" },
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column,
                        }
                    }
                }],
                "partialFingerprints": { "keysweep/fingerprint/v1": f.fingerprint.to_string() },
                "properties": properties,
            });
            if let Some(s) = f.suppressed {
                // SARIF's own suppression object: code scanning shows these as dismissed.
                let (kind, why) = match s {
                    Suppression::Inline => ("inSource", "keysweep:allow comment"),
                    Suppression::Baseline => ("external", "in the keysweep baseline"),
                    Suppression::Allowlist => (
                        "external",
                        "value allowlisted in the keysweep configuration",
                    ),
                    Suppression::Placeholder => ("external", "placeholder or example value"),
                    Suppression::IgnoreFile => ("external", "listed in .gitleaksignore"),
                    Suppression::Rejected => ("external", "rejected by its rule: not a secret"),
                    Suppression::Entropy => ("external", "below the rule's minimum entropy"),
                    Suppression::Code => ("external", "looks like code, not a literal"),
                    _ => ("external", "suppressed"),
                };
                result["suppressions"] =
                    json!([{ "kind": kind, "status": "accepted", "justification": why }]);
            }
            results.push(result);
        }
        let driver_rules: Vec<Value> = used
            .iter()
            .map(|&i| {
                let r = &rules[i];
                let mut tags = vec!["security".to_string(), "secret".to_string()];
                tags.extend(r.tags.iter().cloned());
                json!({
                    "id": &*r.id,
                    "name": r.name,
                    "shortDescription": { "text": r.name },
                    "fullDescription": { "text": if r.description.is_empty() { &r.name } else { &r.description } },
                    "help": { "text": format!("{} Rotate the secret, then remove it from the code and its history.", r.description) },
                    "helpUri": r.references.first().cloned().unwrap_or_else(|| env!("CARGO_PKG_REPOSITORY").to_string()),
                    "defaultConfiguration": { "level": sarif_level(r.confidence) },
                    "properties": {
                        "tags": tags,
                        "precision": r.confidence.as_str(),
                        "security-severity": match r.confidence { Confidence::High => "9.0", Confidence::Medium => "7.0", Confidence::Low => "5.0" },
                    }
                })
            })
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "keysweep",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": driver_rules,
                }},
                "results": results,
            }]
        })
    }
}

fn source_name(s: &Source) -> &'static str {
    match s {
        Source::File => "file",
        Source::Stdin => "stdin",
        Source::History { .. } => "history",
        Source::Change { .. } => "change",
        Source::Image { .. } => "image",
    }
}

/// The second line of a history, pending-change, image or submodule finding in human output.
fn provenance_line(hit: &Hit) -> Option<String> {
    let line = source_line(hit);
    let Some(sub) = &hit.location.submodule else {
        return line;
    };
    let mut within = format!("in submodule {}", sub.path);
    if let Some(c) = &sub.commit {
        within += &format!(" ({})", &c[..c.len().min(10)]);
    }
    Some(match line {
        Some(line) => format!("{within}; {line}"),
        None => within,
    })
}

fn source_line(hit: &Hit) -> Option<String> {
    match &hit.location.source {
        Source::History { git } => {
            let mut line = match &git.commit {
                Some(c) => format!(
                    "introduced in {} {} by {} <{}>: {}",
                    &c.id[..c.id.len().min(10)],
                    c.date.date(),
                    c.author_name,
                    c.author_email,
                    c.summary
                ),
                None if git.damaged => {
                    "in a tree no readable commit reaches (the repository is damaged)".into()
                }
                None if git.reachable => "reachable only through a tag on a tree or blob".into(),
                None => "in no ref's history (unreachable)".into(),
            };
            if !git.refs.is_empty() {
                line += &format!("; refs {}", short_list(&git.refs, git.refs_total));
            }
            line += if git.present_at_head {
                "; still at HEAD"
            } else {
                "; not at HEAD (history only)"
            };
            Some(line)
        }
        Source::Change { git } => Some(format!("{} change", git.change.as_str())),
        Source::Image { image } => Some(image_line(image)),
        Source::File | Source::Stdin => None,
    }
}

/// `in image NAME (TAGS), layer 1 of 3 (sha256:…); removed in layer 2 (still in the image)`.
fn image_line(image: &keysweep_source::ImageOrigin) -> String {
    let mut line = format!("in image {}", image.name);
    if !image.tags.is_empty() {
        line += &format!(" ({})", image.tags.join(", "));
    }
    match (&image.layer, &image.field) {
        (Some(l), _) => {
            line += &format!(", layer {} of {} ({})", l.index, l.count, l.digest);
            if let Some(k) = l.removed_in {
                line += &format!(
                    "; removed in layer {k}, but still in the image for anyone who pulls it"
                );
            }
        }
        (None, Some(field)) => line += &format!(", {} {field}", image.part.as_str()),
        (None, None) => line += &format!(", {}", image.part.as_str()),
    }
    line
}

/// Up to three refs (branches without `refs/heads/`), then how many more.
pub fn short_list(refs: &[String], total: usize) -> String {
    let mut s = refs
        .iter()
        .take(MAX_REFS_HUMAN)
        .map(|r| r.strip_prefix("refs/heads/").unwrap_or(r))
        .collect::<Vec<_>>()
        .join(", ");
    if total > MAX_REFS_HUMAN {
        s += &format!(" (+{} more)", total - MAX_REFS_HUMAN);
    }
    s
}

/// Text from scanned data (paths, entry names, author names, commit summaries) made safe for a
/// terminal: control characters (C0, DEL, C1: escape sequences, bells, newlines that would
/// forge output lines) are shown as `\xNN` or `\u{NNNN}` escapes. Backslashes are left alone
/// so that Windows paths read as they are; JSON output carries exact names.
///
/// ```
/// use keysweep_report::terminal_safe;
/// assert_eq!(terminal_safe("esc\x1b]0;PWNED\x07.txt"), "esc\\x1b]0;PWNED\\x07.txt");
/// assert_eq!(terminal_safe("a\nb:1:1  fake"), "a\\x0ab:1:1  fake");
/// assert_eq!(terminal_safe("C:\\dir\\file.env"), "C:\\dir\\file.env");
/// ```
pub fn terminal_safe(s: &str) -> String {
    if !s.chars().any(|c| c.is_control()) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c as u32 {
            0..=0x1f | 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            0x80..=0x9f => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

fn sarif_level(c: Confidence) -> &'static str {
    match c {
        Confidence::High | Confidence::Medium => "error",
        Confidence::Low => "warning",
    }
}

/// A relative URI reference for a path: `/` separators, RFC 3986 unreserved bytes kept,
/// everything else percent-encoded.
fn uri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            b'\\' => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(uri_reference("src/a b.rs"), "src/a%20b.rs");
        assert_eq!(uri_reference("dir\\x#1"), "dir/x%231");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(terminal_safe("plain/path.env"), "plain/path.env");
        assert_eq!(terminal_safe("bell\u{7}"), "bell\\x07");
        assert_eq!(terminal_safe("csi\u{9b}2J"), "csi\\u{009b}2J");
        assert_eq!(terminal_safe("del\u{7f}"), "del\\x7f");
        assert_eq!(terminal_safe("tab\tname"), "tab\\x09name");
    }
}
