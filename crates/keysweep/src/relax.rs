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
