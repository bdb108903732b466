//! keysweep finds secrets (API keys, tokens, private keys, passwords in connection strings) in
//! bytes.
//!
//! A [`RuleSet`] (the embedded built-in rules, TOML rule files, or both) compiles once into a
//! [`Scanner`]: every rule's keywords go into one Aho-Corasick automaton; a keyword hit runs
//! that rule's regex (regex-automata, linear time) only in a bounded window around the hit;
//! each match then passes placeholder, entropy and structural (checksum) gates before it
//! becomes a [`Finding`]. The scanner is immutable and `Send + Sync`; each thread brings its own
//! [`Scratch`].
//!
//! Secrets behind an encoding are found too: spans that look like base64, hex,
//! percent-encoding, escape sequences or JSON strings, and whole UTF-16 buffers, are decoded
//! and scanned with the same rules, two layers deep by default; such a finding points at the
//! encoded text and lists the layers in [`Finding::decoded`]
//! ([`ScannerBuilder::decode`], [`ScannerBuilder::decode_depth`]).
//!
//! The crate does no I/O: it scans byte slices. Walking directories, reading files, git
//! history and output formats live in the `keysweep` command-line crate.
//!
//! ```
//! use keysweep::{RuleSet, Scanner};
//!
//! let scanner = Scanner::new(RuleSet::builtin()).unwrap();
//! let mut scratch = scanner.scratch();
//! let config = b"[default]\naws_access_key_id = AKIAZ4X7Q2M9R3T8V6WN\n";
//! let findings = scanner.scan(&mut scratch, config);
//! assert_eq!(&*findings[0].rule_id, "aws.access_key_id");
//! assert_eq!(findings[0].line, 2);
//!
//! // Documentation examples and placeholders are not findings.
//! assert!(scanner.scan(&mut scratch, b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE").is_empty());
//! ```
//!
//! # The prefilter contract
//!
//! The keyword prefilter may produce candidates that no rule confirms, but it never misses a
//! match: every match of a rule's pattern contains one of the rule's keywords, and the window
//! around a keyword hit is at least the pattern's maximum match length. The test suite checks
//! this by running every rule example with the prefilter on and off
//! ([`ScannerBuilder::prefilter`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod builtin;
mod check;
mod decode;
mod engine;
mod extract;
mod filter;
mod fingerprint;
mod hir_codec;
mod keyword_dfa;
mod lead;
mod pattern;
mod prepared;
mod relax;
mod rule;
#[cfg(feature = "serde")]
mod serde_impls;
mod suppress;
mod validate_spec;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use decode::decode_layer;
pub use decode::{is_binary, Encoding, BINARY_PROBE};
#[cfg(feature = "parallel")]
pub use engine::RangeScan;
pub use engine::CHUNK_OVERLAP;
pub use engine::{
    BuildError, BuildErrorKind, Finding, Part, Scanner, ScannerBuilder, Scratch, MAX_DECODE_DEPTH,
};
pub use extract::Extract;
pub use filter::{
    is_placeholder, looks_like_literal, looks_like_password_literal, shannon_entropy,
};
pub use fingerprint::{Fingerprint, ParseFingerprintError};
pub use pattern::parse_pattern;
pub use rule::{Check, Confidence, Example, NegativeExample, Reject, Rule, RuleError, RuleSet};
pub use suppress::{Suppression, MARKER as INLINE_ALLOW_MARKER};
pub use validate_spec::{JsonValue, Matcher, RequestSpec, RevokeSpec, ValidateSpec};

/// Result of checking one rule's examples: see [`check_rule_examples`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExampleFailure {
    /// The rule.
    pub rule_id: String,
    /// What went wrong (never contains more of the example than its index).
    pub message: String,
}

/// Runs one rule's examples and negative examples against that rule alone, with the prefilter
/// on and off, and returns every failure. An empty result means the rule behaves as its file
/// says. Also fails a rule without examples or negative examples, and an example whose match
/// contains none of the rule's keywords (which would break the prefilter contract).
///
/// ```
/// let rules = keysweep::RuleSet::builtin_with_examples();
/// let rule = rules.get("github.pat.classic").unwrap();
/// assert!(keysweep::check_rule_examples(rule).is_empty());
/// ```
pub fn check_rule_examples(rule: &Rule) -> Vec<ExampleFailure> {
    let mut failures = Vec::new();
    let mut fail = |message: String| {
        failures.push(ExampleFailure {
            rule_id: rule.id.to_string(),
            message,
        })
    };
    if let Err(e) = rule.validate() {
        fail(e.to_string());
        return failures;
    }
    if rule.examples.is_empty() {
        fail("has no examples".into());
    }
    if rule.negative_examples.is_empty() {
        fail("has no negative examples".into());
    }
    for (i, ex) in rule.examples.iter().enumerate() {
        if !rule.keywords.is_empty() && !text_has_keyword(rule, ex.text.as_bytes()) {
            fail(format!("example #{}: contains none of the keywords", i + 1));
        }
    }
    let mut set = RuleSet::empty();
    let _ = set.push(rule.clone()); // an empty set has no id to collide with
    let scanners = [
        ("prefilter on", ScannerBuilder::new().build(set.clone())),
        (
            "prefilter off",
            ScannerBuilder::new().prefilter(false).build(set),
        ),
    ];
    for (mode, scanner) in scanners {
        let scanner = match scanner {
            Ok(s) => s,
            Err(e) => {
                fail(e.to_string());
                return failures;
            }
        };
        if let Some((_, msg)) = scanner.compile_all().into_iter().next() {
            fail(format!("pattern does not compile: {msg}"));
            return failures;
        }
        let mut scratch = scanner.scratch();
        for (i, ex) in rule.examples.iter().enumerate() {
            let found = scanner.scan_file(&mut scratch, ex.text.as_bytes(), ex.path.as_deref());
            let secrets: Vec<&[u8]> = found.iter().map(|f| f.secret.as_slice()).collect();
            if secrets != [ex.secret.as_bytes()] {
                fail(format!(
                    "example #{} ({mode}): expected exactly its secret, got {} finding(s){}",
                    i + 1,
                    found.len(),
                    if found.len() == 1 {
                        " with a different secret"
                    } else {
                        ""
                    }
                ));
            }
        }
        for (i, neg) in rule.negative_examples.iter().enumerate() {
            let found = scanner.scan_file(&mut scratch, neg.text.as_bytes(), neg.path.as_deref());
            if !found.is_empty() {
                fail(format!(
                    "negative example #{} ({mode}): reported {} finding(s)",
                    i + 1,
                    found.len()
                ));
            }
        }
    }
    failures
}

fn text_has_keyword(rule: &Rule, text: &[u8]) -> bool {
    rule.keywords.iter().any(|kw| {
        let kw = kw.as_bytes();
        text.windows(kw.len()).any(|w| {
            if rule.case_sensitive {
                w == kw
            } else {
                w.eq_ignore_ascii_case(kw)
            }
        })
    })
}
