//! Suppressions: findings the user (or the placeholder filter) has declared not to be leaks.

use std::fmt;

/// Why a finding is suppressed. With
/// [`ScannerBuilder::keep_suppressed`](crate::ScannerBuilder::keep_suppressed), suppressed
/// findings are returned with [`Finding::suppressed`](crate::Finding::suppressed) set, so a
/// front end can count and explain them; otherwise they are dropped.
///
/// When several apply, the first in this order wins: placeholder, allowlist, inline, baseline,
/// ignore file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Suppression {
    /// The value looks like a placeholder or documentation example (`EXAMPLE`, `xxxx`,
    /// `${VAR}`, `<your-token>`, ...).
    Placeholder,
    /// The value matches an allowlist pattern
    /// ([`ScannerBuilder::allow_values`](crate::ScannerBuilder::allow_values)).
    Allowlist,
    /// A `keysweep:allow` comment on the finding's line or on the line above.
    Inline,
    /// The secret's fingerprint is in the baseline
    /// ([`ScannerBuilder::baseline`](crate::ScannerBuilder::baseline)).
    Baseline,
    /// The finding's file and line (and commit) are listed in a repository's ignore file
    /// (`.gitleaksignore`). The scanner never sets it: front ends that read such files do.
    IgnoreFile,
    /// A rule's `reject` condition held: the key names a cursor, an identifier or a digest,
    /// the value is shaped like a URL query. Not a secret; kept only with
    /// [`ScannerBuilder::keep_dropped`](crate::ScannerBuilder::keep_dropped).
    Rejected,
    /// The value's entropy is below the rule's `min_entropy`. Kept only with
    /// [`ScannerBuilder::keep_dropped`](crate::ScannerBuilder::keep_dropped).
    Entropy,
    /// The value looks like code (an identifier, a call, a path), not a literal. Kept only
    /// with [`ScannerBuilder::keep_dropped`](crate::ScannerBuilder::keep_dropped).
    Code,
}

impl Suppression {
    /// Every mechanism, in precedence order.
    pub const ALL: [Suppression; 8] = [
        Suppression::Placeholder,
        Suppression::Allowlist,
        Suppression::Inline,
        Suppression::Baseline,
        Suppression::IgnoreFile,
        Suppression::Rejected,
        Suppression::Entropy,
        Suppression::Code,
    ];

    /// `placeholder`, `allowlist`, `inline`, `baseline`, `ignorefile`, `rejected`, `entropy`
    /// or `code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Suppression::Placeholder => "placeholder",
            Suppression::Allowlist => "allowlist",
            Suppression::Inline => "inline",
            Suppression::Baseline => "baseline",
            Suppression::IgnoreFile => "ignorefile",
            Suppression::Rejected => "rejected",
            Suppression::Entropy => "entropy",
            Suppression::Code => "code",
        }
    }

    /// Parses [`as_str`](Suppression::as_str)'s names.
    pub fn parse(s: &str) -> Option<Suppression> {
        Suppression::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for Suppression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The inline marker.
pub const MARKER: &[u8] = b"keysweep:allow";

/// Whether a `keysweep:allow` comment allows a finding of `rule_id` starting at byte `start` of
/// `hay`: the marker is on the finding's line, or alone in a comment on the line above.
///
/// `keysweep:allow` allows every rule. `keysweep:allow=ID[,ID...]`, or
/// `keysweep:allow ID[,ID...]` where each ID contains a `.` (as every built-in rule id does),
/// allows only those rules; any other text after the marker is a free comment.
pub(crate) fn inline_allows(hay: &[u8], start: usize, rule_id: &str) -> bool {
    let line_start = memchr::memrchr(b'\n', &hay[..start]).map_or(0, |p| p + 1);
    let line_end = memchr::memchr(b'\n', &hay[start..]).map_or(hay.len(), |p| start + p);
    if let Some(verdict) = marker_in(&hay[line_start..line_end], rule_id, false) {
        return verdict;
    }
    if line_start == 0 {
        return false;
    }
    let above_end = line_start - 1;
    let above_start = memchr::memrchr(b'\n', &hay[..above_end]).map_or(0, |p| p + 1);
    marker_in(&hay[above_start..above_end], rule_id, true).unwrap_or(false)
}

/// `None` without a marker in `line`; otherwise whether the marker allows `rule_id`. With
/// `alone`, a marker counts only when nothing but comment punctuation precedes it (so a
/// marker after code on the line above allows that line, not the next).
fn marker_in(line: &[u8], rule_id: &str, alone: bool) -> Option<bool> {
    let at = memchr::memmem::find(line, MARKER)?;
    if alone
        && !line[..at]
            .iter()
            .all(|b| b.is_ascii_whitespace() || b"#/*-;!<%'{".contains(b))
    {
        return None;
    }
    let rest = &line[at + MARKER.len()..];
    let (explicit, list) = match rest.first() {
        Some(b'=') => (true, &rest[1..]),
        Some(b' ' | b'\t') => (false, &rest[1..]),
        _ => return Some(true),
    };
    let end = list
        .iter()
        .position(|&b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-,".contains(&b)))
        .unwrap_or(list.len());
    let list = &list[..end];
    if list.is_empty() || (!explicit && !list.contains(&b'.')) {
        // `keysweep:allow fake key for tests`: a comment, not a rule list.
        return Some(!explicit);
    }
    Some(
        list.split(|&b| b == b',')
            .any(|id| id == rule_id.as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(text: &str, needle: &str, rule: &str) -> bool {
        let start = text.find(needle).unwrap();
        inline_allows(text.as_bytes(), start, rule)
    }

    #[test]
    fn marker_on_the_same_line() {
        let t = "key = \"abcd\" # keysweep:allow\nkey2 = \"efgh\"\n";
        assert!(allows(t, "abcd", "generic.api_key"));
        // A marker after code allows its own line only.
        assert!(!allows(t, "efgh", "generic.api_key"));
    }

    #[test]
    fn marker_alone_on_the_line_above() {
        let t = "  // keysweep:allow\n  key = \"abcd\"\n\nkey = \"efgh\"\n";
        assert!(allows(t, "abcd", "generic.api_key"));
        assert!(!allows(t, "efgh", "generic.api_key"));
        let t = "<!-- keysweep:allow -->\nkey = \"abcd\"\n";
        assert!(allows(t, "abcd", "x.y"));
        let t = "x = 1 # keysweep:allow\nkey = \"abcd\"\n";
        assert!(!allows(t, "abcd", "x.y"));
    }

    #[test]
    fn marker_naming_rules() {
        let t = "k = \"abcd\" # keysweep:allow aws.access_key_id,github.pat\n";
        assert!(allows(t, "abcd", "aws.access_key_id"));
        assert!(allows(t, "abcd", "github.pat"));
        assert!(!allows(t, "abcd", "github.pat.classic"));
        let t = "k = \"abcd\" # keysweep:allow=acme\n";
        assert!(allows(t, "abcd", "acme"));
        assert!(!allows(t, "abcd", "other"));
        // Free text after the marker is a comment: every rule is allowed.
        let t = "k = \"abcd\" # keysweep:allow fake key for the tests\n";
        assert!(allows(t, "abcd", "aws.access_key_id"));
        // An empty explicit list allows nothing.
        let t = "k = \"abcd\" # keysweep:allow=\n";
        assert!(!allows(t, "abcd", "aws.access_key_id"));
    }

    #[test]
    fn no_marker_no_line_above() {
        assert!(!allows("k = \"abcd\"", "abcd", "x.y"));
        assert!(!allows("keysweep:allo\nk = \"abcd\"", "abcd", "x.y"));
    }
}
