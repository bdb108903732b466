//! Compiling a rule with its large counted repetitions left open ([`relax_repeats`]).
//!
//! Compiled into the library and included by `build.rs`, which stores each built-in rule's
//! relaxed pattern next to its parsed one (see `src/hir_codec.rs`). Only `regex_syntax` is
//! used here.

/// Repetitions allowed more than this many times are compiled without their upper bound.
/// Rules bound their values (`[A-Za-z0-9+/=_.-]{16,256}`) and key names (`[\w.-]{0,40}`)
/// generously, and each allowed occurrence is a copy of the class in the NFA: at 32, compiling
/// the rules a scan of the rails tree reaches takes about a third fewer instructions than at
/// 256, the exact patterns of the few rules that match included. At 16 (the `{0,24}` of key
/// names and `{0,20}` gaps relaxed too) the rules a rails scan reaches spend about a tenth less
/// time compiling and confirming (0.97x the scan's wall time, same findings); 8 gains nothing
/// more.
pub(crate) const RELAX_ABOVE: u32 = 16;

/// `hir` with every repetition whose upper bound exceeds [`RELAX_ABOVE`] made unbounded
/// (`[A-Za-z0-9+/]{64,8000}` becomes `{64,}`), or `None` when it has no such repetition. A
/// bounded repetition compiles to one NFA state group per allowed occurrence: thousands for a
/// key body, most of a rule's compile time. A match of the relaxed regex is confirmed by the
/// pattern as written (the engine's `Compiled::exact`), so what a rule reports does not change.
pub(crate) fn relax_repeats(hir: &regex_syntax::hir::Hir) -> Option<regex_syntax::hir::Hir> {
    use regex_syntax::hir::{Capture, Hir, HirKind, Repetition};
    fn walk(h: &Hir) -> Hir {
        match h.kind() {
            HirKind::Repetition(r) => Hir::repetition(Repetition {
                min: r.min,
                max: r.max.filter(|&m| m <= RELAX_ABOVE),
                greedy: r.greedy,
                sub: Box::new(walk(&r.sub)),
            }),
            HirKind::Capture(c) => Hir::capture(Capture {
                index: c.index,
                name: c.name.clone(),
                sub: Box::new(walk(&c.sub)),
            }),
            HirKind::Concat(items) => Hir::concat(items.iter().map(walk).collect()),
            HirKind::Alternation(items) => Hir::alternation(items.iter().map(walk).collect()),
            _ => h.clone(),
        }
    }
    fn needs(h: &Hir) -> bool {
        match h.kind() {
            HirKind::Repetition(r) => r.max.is_some_and(|m| m > RELAX_ABOVE) || needs(&r.sub),
            HirKind::Capture(c) => needs(&c.sub),
            HirKind::Concat(items) | HirKind::Alternation(items) => items.iter().any(needs),
            _ => false,
        }
    }
    // Most patterns have no such repetition: they are not copied.
    needs(hir).then(|| walk(hir))
}

/// When a match of the relaxed pattern ([`relax_repeats`]) is also the match of the pattern as
/// written, without searching that: `(group, bytes)` pairs such that a relaxed match whose
/// group `group` (0: the whole match; a group that did not take part counts as empty) spans at
/// most `bytes` bytes, for every pair, is the match the pattern as written finds at its start,
/// with the same captures. `None` when no such test is known (a relaxed repetition of
/// something that can match empty text).
///
/// Why: each relaxed repetition lies inside a group that no repetition encloses (at worst the
/// whole match), so it ran at most `span / min_len` times, its body being at least `min_len`
/// bytes long; at most its upper bound then. The pattern as written allows the same choices
/// as the relaxed one save more occurrences, in the same order of preference, so the first
/// choice the relaxed search succeeded with is the first one it succeeds with too: every one
/// it prefers, the relaxed search tried and failed.
#[allow(dead_code)] // Used by the engine; `build.rs` includes this file for `relax_repeats`.
pub(crate) fn relaxed_bounds(hir: &regex_syntax::hir::Hir) -> Option<Vec<(usize, usize)>> {
    use regex_syntax::hir::{Hir, HirKind};
    // `group`: the innermost group around `h` that no repetition encloses.
    fn walk(h: &Hir, group: usize, repeated: bool, out: &mut Vec<(usize, usize)>) -> bool {
        match h.kind() {
            HirKind::Repetition(r) => {
                if let Some(max) = r.max.filter(|&m| m > RELAX_ABOVE) {
                    let Some(min_len) = r.sub.properties().minimum_len().filter(|&n| n > 0) else {
                        return false;
                    };
                    let bytes = (max as usize).saturating_mul(min_len);
                    match out.iter_mut().find(|(g, _)| *g == group) {
                        Some(pair) => pair.1 = pair.1.min(bytes),
                        None => out.push((group, bytes)),
                    }
                }
                let repeated = repeated || r.max != Some(1);
                walk(&r.sub, group, repeated, out)
            }
            HirKind::Capture(c) => {
                let group = if repeated { group } else { c.index as usize };
                walk(&c.sub, group, repeated, out)
            }
            HirKind::Concat(items) | HirKind::Alternation(items) => {
                items.iter().all(|i| walk(i, group, repeated, out))
            }
            _ => true,
        }
    }
    let mut out = Vec::new();
    walk(hir, 0, false, &mut out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(pattern: &str) -> Option<Vec<(usize, usize)>> {
        relaxed_bounds(&crate::lead::parse(pattern).expect("parses"))
    }

    #[test]
    fn relaxed_bounds_name_the_group_around_each_relaxed_repetition() {
        // The value's group bounds its class: 512 one-byte occurrences.
        assert_eq!(
            bounds(r#"key"[ \t]{0,3}:"(?P<secret>[^"\s]{12,512})""#),
            Some(vec![(1, 512)])
        );
        // Nothing relaxed: nothing to test.
        assert_eq!(bounds(r"token=(?P<secret>[a-z0-9]{16})"), Some(vec![]));
        // Outside every group: the whole match; two of them, the tighter bound.
        assert_eq!(
            bounds(r"pass[^\n]{0,40}=[^\n]{0,30}(?P<secret>\w{8})"),
            Some(vec![(0, 30)])
        );
        // A group inside a repetition holds only its last occurrence: the group around that,
        // with the tighter of its two bounds.
        assert_eq!(
            bounds(r"(?P<all>(?:(?P<word>[a-z]{1,20}(?:-\d{1,30})?),){2,3})"),
            Some(vec![(1, 20)])
        );
        // Two-byte occurrences: twice as many bytes.
        assert_eq!(
            bounds(r"(?P<secret>(?:[0-9a-f]{2}){20,40})"),
            Some(vec![(1, 80)])
        );
        // An occurrence that can be empty: the count is not bounded by the span.
        assert_eq!(bounds(r"(?P<secret>(?:a?b?){0,40})"), None);
    }
}
