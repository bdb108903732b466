//! Pattern parsing, shared by rule validation and the engine: every regex keysweep builds comes
//! from [`parse_pattern`], so a rule that validates is a rule the engine can compile.

use regex_automata::meta;

/// The name of the virtual group a [`Reject`](crate::Reject) may test: the text before the
/// match on its line.
pub(crate) const PREFIX_GROUP: &str = "prefix";

/// The regex-automata configuration of every compiled pattern: no empty matches inside UTF-8
/// code points (patterns run over bytes), bounded NFA size and lazy-DFA cache.
pub(crate) fn meta_config() -> meta::Config {
    meta::Config::new()
        .utf8_empty(false)
        .nfa_size_limit(Some(16 << 20))
        .hybrid_cache_capacity(1 << 20)
}

/// Parses a rule pattern; every regex the scanner builds comes from this `Hir`. Bytes, not
/// text: Unicode classes off (ASCII `\w`, `\b`, fast DFAs), `.` matches any byte but `\n`,
/// and `^`/`$` match at line boundaries, `\r\n` included. `Err` carries a one-line message.
///
/// Public for crates that build rules or match paths the way the scanner does (the gitleaks
/// translation).
///
/// ```
/// assert!(keysweep::parse_pattern(r"(?P<secret>ghp_[A-Za-z0-9]{36})").is_ok());
/// assert!(keysweep::parse_pattern("(unclosed").is_err());
/// ```
pub fn parse_pattern(pattern: &str) -> Result<regex_syntax::hir::Hir, String> {
    crate::lead::parse(pattern)
}
