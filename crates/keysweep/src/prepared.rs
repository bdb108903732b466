//! What the build script worked out about each built-in rule: its lead and longest match, its
//! gate, and every built-in pattern parsed.
//!
//! A scan reaches a few hundred rules on a large tree (any rule whose keyword occurs), and
//! compiling one costs about 0.2 ms: parsing its pattern, proving where its matches start, and
//! building its regex. On rails' sources 318 rules were reached and 29 of them ever matched.
//! A gate is a small DFA, determinized at build time from a loosened copy of the pattern of a
//! rule whose matches start next to its keywords (no captures, counted repetitions made open:
//! see `build.rs`), so that it matches wherever the rule can. At a keyword hit the gate is
//! searched first, anchored where the rule's matches may start; only a hit it lets through
//! compiles the rule and runs its regex. What a rule reports is unchanged: a hit the gate
//! turns away is one where the rule's regex finds no match. A rule searched in windows has a
//! gate when its matches go on from a keyword at a point of its pattern: that part, searched
//! anchored at the hit. Such a rule has a sweep too: the gate of its whole pattern, searched
//! unanchored over a window before the rule is compiled for it. On rails' sources sweeps cut
//! the rules compiled from 120 to 70 (36 of them ever match) and the scan's time by about 6 %.
//!
//! Parsing a pattern was half of compiling a rule: the build script stores each built-in
//! pattern (rules, rejects, allowed values, path patterns) parsed, and relaxed
//! (`crate::relax`), in the form of `crate::hir_codec`, filed by its text ([`parsed`]).
//!
//! Rules that are not built in, or whose pattern or keywords were changed, have no entry and
//! are compiled at their first hit, as before.

use crate::lead::shape_key;
use crate::rule::Rule;

/// One built-in rule's entry, as `build.rs` writes it.
struct Entry {
    /// [`shape_key`] of the rule.
    key: u64,
    /// Its lead, `u32::MAX` for none.
    lead: u32,
    /// Its longest match, `u32::MAX` for unbounded.
    max_len: u32,
    /// Where its gate is in [`GATES`], and its length (0: no gate).
    off: u32,
    len: u32,
    /// Where its sweep is in [`GATES`], and its length (0: no sweep).
    sweep_off: u32,
    sweep_len: u32,
    /// Where its follow sets are in [`FOLLOWS`] (in sets of 32 bytes), and how many (one per
    /// keyword; 0: none).
    follow_off: u32,
    follow_len: u32,
    /// The bytes its matches can begin with, one bit each (all set: any byte).
    first_bytes: [u64; 4],
}

/// One built-in pattern's parsed form, as `build.rs` writes it: `HIRS[off..off + len]` is its
/// encoding ([`hir_codec`](crate::hir_codec)), followed by `relaxed_len` bytes of its relaxed
/// form when it has repetitions to relax.
struct Stored {
    /// [`text_key`](crate::hir_codec::text_key) of the pattern's text.
    key: u64,
    off: u32,
    len: u32,
    relaxed_len: u32,
}

include!(concat!(env!("OUT_DIR"), "/prepared.rs"));

/// A built-in rule's shape, as the build script found it.
#[derive(Debug)]
pub(crate) struct Shape {
    /// How far before a keyword hit its matches start, if that is bounded
    /// ([`keyword_lead`](crate::lead::keyword_lead)).
    pub(crate) lead: Option<usize>,
    /// Its longest match, if bounded.
    pub(crate) max_len: Option<usize>,
    pub(crate) gate: Option<Gate>,
    /// For a rule searched in windows (no lead): its sweep, a gate of its whole pattern that
    /// matches unanchored in any window holding a match ([`Gate::matches_in`]).
    pub(crate) sweep: Option<Gate>,
    /// When its lead is more than 0: the bytes its matches can begin with
    /// ([`first_bytes`](crate::lead::first_bytes)), or `None` for any byte.
    pub(crate) first_bytes: Option<Box<[bool; 256]>>,
    /// Per keyword of the rule (in its order), the bytes that may follow a hit, 32 bytes each
    /// (empty without a gate).
    follow: &'static [u8],
}

impl Shape {
    /// The bytes that may follow a hit of the rule's keyword number `keyword`, one bit each
    /// (byte `b` is bit `b % 64` of word `b / 64`): the build script read off the rule's gate
    /// which bytes may follow each keyword (`follow_sets` in `build.rs`); at a hit followed by
    /// another byte the gate would turn away every start the hit allows, so the hit is dropped
    /// without walking it. Every byte for a keyword without a set.
    pub(crate) fn follow_set(&self, keyword: usize) -> [u64; 4] {
        let mut set = [u64::MAX; 4];
        if let Some(bytes) = self.follow.get(keyword * 32..keyword * 32 + 32) {
            for (w, b) in set.iter_mut().zip(bytes.chunks_exact(8)) {
                *w = u64::from_le_bytes(b.try_into().expect("eight bytes"));
            }
        }
        set
    }
}

/// A rule's gate automaton, searched anchored at the starts a keyword hit allows.
///
/// A gate is a DFA in the table `build.rs` writes (`gate_table` there): u8 cells when it has
/// 256 states or fewer (the header's column count has its top bit set), u16 cells otherwise,
/// a row of next states per state, one per byte class and the last for the end of input. Its
/// walk is one table load per byte (a sparse DFA's was a linear search through the state's ranges,
/// and gates are walked at most keyword hits of a scan). A corrupt table can give a wrong
/// verdict but never a panic: every read is checked, and one out of range lets the hit through.
#[derive(Debug)]
pub(crate) struct Gate {
    /// Each byte's class.
    classes: &'static [u8; 256],
    /// The rows, one or two bytes per cell (`narrow`: one).
    table: &'static [u8],
    columns: usize,
    narrow: bool,
    /// States below this are dead (0), quit (1) or match.
    first_plain: u16,
    /// The start states after no byte, `\n`, `\r`, a word byte and another byte.
    starts: [u16; 5],
    /// The bytes a match can begin with (one bit each): a start before the keyword whose
    /// byte is not one is not searched (most of a URL scheme's lead, and the two bytes of an
    /// escaped line break a leading `\b` allows).
    first_bytes: [u64; 4],
}

/// Whether byte `b` is in `set`, a set of bytes as four 64-bit words (byte `b` is bit `b % 64`
/// of word `b / 64`), as the build script writes a rule's first bytes and follow sets.
#[inline(always)]
pub(crate) fn has_byte(set: &[u64; 4], b: u8) -> bool {
    set[usize::from(b >> 6)] & (1 << (b & 63)) != 0
}

/// How many distinct states a lockstep walk ([`Gate::may_match_from`]) keeps on the stack.
const LOCKSTEP_STATES: usize = 32;

/// The dead state of a gate table; 1 is its quit state.
const DEAD: u16 = 0;

impl Gate {
    /// The gate in `bytes` (a table of `build.rs`), if its header is whole and the table as
    /// long as it says.
    fn new(bytes: &'static [u8], first_bytes: [u64; 4]) -> Option<Gate> {
        let word = |i: usize| -> Option<u16> {
            bytes
                .get(2 * i..2 * i + 2)
                .map(|w| u16::from_le_bytes([w[0], w[1]]))
        };
        let states = usize::from(word(0)?);
        let narrow = word(1)? & 0x8000 != 0;
        let columns = usize::from(word(1)? & 0x7fff);
        let first_plain = word(2)?;
        let starts = [word(3)?, word(4)?, word(5)?, word(6)?, word(7)?];
        let classes = bytes.get(16..16 + 256)?.try_into().ok()?;
        let table = bytes.get(16 + 256..)?;
        let cell = if narrow { 1 } else { 2 };
        if columns == 0 || table.len() != cell * states * columns {
            return None;
        }
        Some(Gate {
            classes,
            table,
            columns,
            narrow,
            first_plain,
            starts,
            first_bytes,
        })
    }

    /// The start state of a walk from `at`: after no byte, `\n`, `\r`, a word byte or another
    /// byte (what `^`, `$` and `\b` at the start need to know).
    fn start_state(&self, hay: &[u8], at: usize) -> u16 {
        let start = match at.checked_sub(1).map(|i| hay[i]) {
            None => 0,
            Some(b'\n') => 1,
            Some(b'\r') => 2,
            Some(b) if b.is_ascii_alphanumeric() || b == b'_' => 3,
            Some(_) => 4,
        };
        self.starts[start]
    }

    /// For a sweep: whether a match of its pattern may lie in `hay[from..to]` (`false` only
    /// if none can). The walk starts after the byte before `from` and sees the byte after
    /// `to`, as a regex search over that span of `hay` does.
    pub(crate) fn matches_in(&self, hay: &[u8], from: usize, to: usize) -> bool {
        from <= to && to <= hay.len() && self.matches_at(hay, from, to)
    }

    /// Whether a match of the gate starts at `at` and ends by `end`: walked until a match, the
    /// dead state or `end`, then over the byte after `end` (or the end of input) for a match
    /// that needs to see it (`\b`, `$`).
    fn matches_at(&self, hay: &[u8], at: usize, end: usize) -> bool {
        let state = self.start_state(hay, at);
        // One loop per cell width, each reading its cells directly: the walk is most of a
        // gate's cost, and a width test per byte was a fifth of it.
        if self.narrow {
            let table = self.table;
            self.walk(hay, at, end, state, |i| {
                table.get(i).map_or(1, |&b| u16::from(b))
            })
        } else {
            let table = self.table;
            self.walk(hay, at, end, state, |i| match table.get(2 * i..2 * i + 2) {
                Some(w) => u16::from_le_bytes([w[0], w[1]]),
                None => 1,
            })
        }
    }

    /// [`matches_at`](Self::matches_at) from `state`, with `cell(i)` the `i`th cell of the
    /// table (quit, for a cell out of it).
    #[inline(always)]
    fn walk(
        &self,
        hay: &[u8],
        at: usize,
        end: usize,
        mut state: u16,
        cell: impl Fn(usize) -> u16,
    ) -> bool {
        let (columns, first_plain) = (self.columns, self.first_plain);
        let next = |state: u16, column: usize| cell(usize::from(state) * columns + column);
        for &b in &hay[at..end] {
            if state < first_plain {
                return state != DEAD;
            }
            state = next(state, usize::from(self.classes[usize::from(b)]));
        }
        if state < first_plain {
            return state != DEAD;
        }
        state = match hay.get(end) {
            Some(&b) => next(state, usize::from(self.classes[usize::from(b)])),
            None => next(state, columns - 1),
        };
        state != DEAD && state < first_plain
    }

    /// Whether the rule can match starting at one of `starts` (positions in `hay`), each match
    /// ending by its start plus `window`: `false` only if none can (a hit it lets through may
    /// still hold no match).
    ///
    /// The walks from the starts run in lockstep, one step per byte for each distinct state:
    /// walks that reach the same state at the same byte go on as one. A rule whose matches may
    /// begin up to 40 bytes before its keyword (a name before `password`) was walked from each
    /// of those bytes through the same keyword; most of those walks meet within a few bytes.
    /// Every walk runs to the last start's window end, a few bytes past its own: that can
    /// only let more hits through.
    pub(crate) fn may_match_from(
        &self,
        hay: &[u8],
        starts: std::ops::RangeInclusive<usize>,
        window: usize,
    ) -> bool {
        let (first, last) = (*starts.start(), *starts.end());
        if first > last || first > hay.len() {
            return false;
        }
        if first == last {
            return hay
                .get(first)
                .is_none_or(|&b| has_byte(&self.first_bytes, b))
                && self.matches_at(hay, first, (first + window).min(hay.len()));
        }
        if self.narrow {
            let table = self.table;
            self.lockstep(hay, first, last, window, |i| {
                table.get(i).map_or(1, |&b| u16::from(b))
            })
        } else {
            let table = self.table;
            self.lockstep(hay, first, last, window, |i| {
                match table.get(2 * i..2 * i + 2) {
                    Some(w) => u16::from_le_bytes([w[0], w[1]]),
                    None => 1,
                }
            })
        }
    }

    /// [`may_match_from`](Self::may_match_from) over more than one start, with `cell(i)` the
    /// `i`th cell of the table (quit, for a cell out of it).
    #[inline(always)]
    fn lockstep(
        &self,
        hay: &[u8],
        first: usize,
        last: usize,
        window: usize,
        cell: impl Fn(usize) -> u16,
    ) -> bool {
        let (columns, first_plain) = (self.columns, self.first_plain);
        let next = |state: u16, column: usize| cell(usize::from(state) * columns + column);
        let last = last.min(hay.len());
        let end = (last + window).min(hay.len());
        // The distinct states of the live walks, on the stack (a few: they meet fast). More
        // than fit lets the hit through, as a gate may.
        let mut buf = [0u16; LOCKSTEP_STATES];
        let mut len = 0;
        for at in first..=end {
            if at <= last && hay.get(at).is_none_or(|&b| has_byte(&self.first_bytes, b)) {
                let state = self.start_state(hay, at);
                if state < first_plain {
                    if state != DEAD {
                        return true;
                    }
                } else if !buf[..len].contains(&state) {
                    if len == LOCKSTEP_STATES {
                        return true;
                    }
                    buf[len] = state;
                    len += 1;
                }
            }
            if at == end {
                break;
            }
            let column = usize::from(self.classes[usize::from(hay[at])]);
            let mut i = 0;
            while i < len {
                let state = next(buf[i], column);
                if state < first_plain && state != DEAD {
                    return true;
                }
                if state < first_plain || buf[..i].contains(&state) {
                    // Dead, or met another walk: drop it (the last walk takes its place).
                    len -= 1;
                    buf[i] = buf[len];
                } else {
                    buf[i] = state;
                    i += 1;
                }
            }
            if len == 0 && at >= last {
                return false;
            }
        }
        // At the end: the byte after it, or the end of input, for a match that needs to see it.
        let column = match hay.get(end) {
            Some(&b) => usize::from(self.classes[usize::from(b)]),
            None => columns - 1,
        };
        buf[..len].iter().any(|&s| {
            let state = next(s, column);
            state != DEAD && state < first_plain
        })
    }
}

/// The shape of `rule`, if it is a built-in rule as built in.
pub(crate) fn lookup(rule: &Rule) -> Option<Shape> {
    let key = shape_key(&rule.pattern, &rule.keywords, rule.case_sensitive);
    let i = SHAPES.binary_search_by_key(&key, |s| s.key).ok()?;
    let Entry {
        lead,
        max_len,
        off,
        len,
        sweep_off,
        sweep_len,
        follow_off,
        follow_len,
        first_bytes,
        ..
    } = SHAPES[i];
    let bound = |v: u32| (v != u32::MAX).then_some(v as usize);
    // A gate that does not load (it would be a build fault) is as no gate: the rule is
    // compiled at its first hit.
    let gate = (len > 0)
        .then(|| {
            let bytes = GATES.get(off as usize..off as usize + len as usize)?;
            Gate::new(bytes, first_bytes)
        })
        .flatten();
    let sweep = (sweep_len > 0)
        .then(|| {
            let bytes = GATES.get(sweep_off as usize..sweep_off as usize + sweep_len as usize)?;
            Gate::new(bytes, [u64::MAX; 4])
        })
        .flatten();
    let any = first_bytes == [u64::MAX; 4];
    Some(Shape {
        lead: bound(lead),
        max_len: bound(max_len),
        gate,
        sweep,
        follow: FOLLOWS
            .get(follow_off as usize * 32..(follow_off as usize + follow_len as usize) * 32)
            .unwrap_or_default(),
        first_bytes: (!any)
            .then(|| Box::new(std::array::from_fn(|b| has_byte(&first_bytes, b as u8)))),
    })
}

/// The parsed form of a built-in pattern, stored by the build script: a scan that reaches a
/// rule rebuilds its `Hir` from it rather than parsing the pattern again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParsedPattern {
    hir: &'static [u8],
    relaxed: &'static [u8],
}

/// The stored parsed form of `pattern`, if it is the text of a built-in pattern.
pub(crate) fn parsed(pattern: &str) -> Option<ParsedPattern> {
    let key = crate::hir_codec::text_key(pattern);
    let i = PATTERNS.binary_search_by_key(&key, |s| s.key).ok()?;
    let Stored {
        off,
        len,
        relaxed_len,
        ..
    } = PATTERNS[i];
    let (off, len, relaxed_len) = (off as usize, len as usize, relaxed_len as usize);
    Some(ParsedPattern {
        hir: HIRS.get(off..off + len)?,
        relaxed: HIRS.get(off + len..off + len + relaxed_len)?,
    })
}

impl ParsedPattern {
    /// The pattern as written.
    pub(crate) fn hir(&self) -> Option<regex_syntax::hir::Hir> {
        crate::hir_codec::decode(self.hir)
    }

    /// Its encoding, for decoding later ([`decode`](crate::hir_codec::decode)).
    pub(crate) fn encoded(&self) -> &'static [u8] {
        self.hir
    }

    /// The pattern relaxed ([`relax_repeats`](crate::relax::relax_repeats)), when it has
    /// repetitions to relax (else nothing is stored for it).
    pub(crate) fn relaxed(&self) -> Option<regex_syntax::hir::Hir> {
        if self.relaxed.is_empty() {
            return None;
        }
        crate::hir_codec::decode(self.relaxed)
    }
}

/// `pattern` parsed as [`parse_pattern`](crate::parse_pattern) parses it: from its stored
/// form when it is a built-in pattern.
pub(crate) fn parse(pattern: &str) -> Result<regex_syntax::hir::Hir, String> {
    match parsed(pattern).and_then(|p| p.hir()) {
        Some(hir) => Ok(hir),
        None => crate::lead::parse(pattern),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::{keyword_lead, parse};
    use crate::rule::RuleSet;
    use regex_automata::meta::Regex;

    /// The build script's keys, leads and bounds are the library's: every built-in rule
    /// finds its entry, with the lead and longest match the library works out itself.
    #[test]
    fn every_builtin_rule_finds_the_shape_it_would_work_out() {
        let rules = RuleSet::builtin();
        let mut gated = 0;
        for rule in rules.rules() {
            let shape = lookup(rule).unwrap_or_else(|| panic!("{}: no shape", rule.id));
            let hir = parse(&rule.pattern).unwrap();
            let lead = keyword_lead(&hir, &rule.keywords, rule.case_sensitive);
            assert_eq!(shape.lead, lead, "{}", rule.id);
            assert_eq!(shape.max_len, hir.properties().maximum_len(), "{}", rule.id);
            gated += usize::from(shape.gate.is_some());
        }
        // Most rules start at a keyword and have a gate (a few are too large to keep).
        assert!(gated * 2 > rules.len(), "{gated} of {}", rules.len());
    }

    /// Every built-in pattern is stored, and what is stored is what parsing and relaxing it
    /// give: its rejects, allowed values and path patterns as much as its own pattern.
    #[test]
    fn every_builtin_pattern_is_stored_as_it_parses() {
        let rules = RuleSet::builtin();
        let mut checked = 0;
        for rule in rules.rules() {
            let texts = std::iter::once(&rule.pattern)
                .chain(rule.rejects.iter().map(|r| &r.pattern))
                .chain(&rule.allow_values)
                .chain(&rule.paths)
                .chain(&rule.allow_paths);
            for text in texts {
                let stored = parsed(text).unwrap_or_else(|| panic!("{}: {text:?}", rule.id));
                let hir = parse(text).unwrap();
                assert_eq!(stored.hir().as_ref(), Some(&hir), "{}: {text:?}", rule.id);
                let relaxed = crate::relax::relax_repeats(&hir);
                assert_eq!(stored.relaxed(), relaxed, "{}: {text:?}", rule.id);
                checked += 1;
            }
        }
        assert!(checked > rules.len() + 500, "{checked}");
        assert!(parsed(r"(?P<secret>not_a_builtin_[a-z]{9})").is_none());
    }

    /// A rule whose pattern or keywords differ from the built-in one's has no entry.
    #[test]
    fn a_changed_rule_has_no_shape() {
        let rules = RuleSet::builtin();
        let mut rule = rules.rules()[0].clone();
        assert!(lookup(&rule).is_some());
        rule.pattern.push('x');
        assert!(lookup(&rule).is_none());
        let mut rule = rules.rules()[0].clone();
        rule.keywords.push("another".into());
        assert!(lookup(&rule).is_none());
    }

    /// A gate lets through every match of its rule in the rule's examples and negative
    /// examples (the regex's matches, before any entropy or placeholder check): at the match's
    /// start for a rule with a lead, at one of the keyword hits inside the match for a rule
    /// searched in windows.
    #[test]
    fn gates_let_every_match_of_their_rule_through() {
        let (mut checked, mut windowed) = (0, 0);
        each_gated_example_match(|rule, shape, gate, hay, m| {
            let through = if shape.lead.is_some() {
                gate.may_match_from(hay, m.start()..=m.start(), m.end() - m.start())
            } else {
                windowed += 1;
                (m.start()..m.end()).any(|at| {
                    rule.keywords.iter().any(|k| {
                        hay[at..].len() >= k.len()
                            && hay[at..at + k.len()].eq_ignore_ascii_case(k.as_bytes())
                    }) && gate.may_match_from(hay, at..=at, m.end() - at)
                })
            };
            assert!(
                through,
                "{}: the gate turns away a match at {}",
                rule.id,
                m.start()
            );
            checked += 1;
        });
        assert!(checked > 1000, "{checked}");
        assert!(windowed > 50, "{windowed}");
    }

    /// Calls `f` with each match of each gated built-in rule in its examples and negative
    /// examples (the regex's matches, before any entropy or placeholder check). A pattern too
    /// large to compile as written is searched relaxed: its matches are a superset, and the
    /// gate's language holds them too.
    fn each_gated_example_match(
        mut f: impl FnMut(&crate::rule::Rule, &Shape, &Gate, &[u8], regex_automata::Match),
    ) {
        for rule in RuleSet::builtin_with_examples().rules() {
            let Some(shape) = lookup(rule) else {
                continue;
            };
            let Some(gate) = &shape.gate else {
                continue;
            };
            let hir = parse(&rule.pattern).unwrap();
            let build = |hir: &regex_syntax::hir::Hir| {
                Regex::builder()
                    .syntax(regex_automata::util::syntax::Config::new().utf8(false))
                    .build_from_hir(hir)
                    .ok()
            };
            let regex = build(&hir)
                .or_else(|| build(&crate::relax::relax_repeats(&hir).expect("relaxable")))
                .expect("the pattern or its relaxed form compiles");
            let texts = rule.examples.iter().map(|e| &e.text);
            for text in texts.chain(rule.negative_examples.iter().map(|e| &e.text)) {
                let hay = text.as_bytes();
                for m in regex.find_iter(hay) {
                    f(rule, &shape, gate, hay, m);
                }
            }
        }
    }

    /// A sweep matches in every span that holds a match of its rule (the match's own span, with
    /// what is around it on each side), over the examples and negative examples of every rule
    /// searched in windows; most such rules have one.
    #[test]
    fn sweeps_match_wherever_their_rule_matches() {
        let (mut swept, mut windowed, mut checked) = (0, 0, 0);
        for rule in RuleSet::builtin_with_examples().rules() {
            let shape = lookup(rule).unwrap();
            if shape.lead.is_some() {
                assert!(shape.sweep.is_none(), "{}: a rule with a lead", rule.id);
                continue;
            }
            windowed += 1;
            let Some(sweep) = &shape.sweep else {
                continue;
            };
            swept += 1;
            let hir = parse(&rule.pattern).unwrap();
            let regex = Regex::builder()
                .syntax(regex_automata::util::syntax::Config::new().utf8(false))
                .build_from_hir(&crate::relax::relax_repeats(&hir).unwrap_or(hir))
                .unwrap();
            let texts = rule.examples.iter().map(|e| &e.text);
            for text in texts.chain(rule.negative_examples.iter().map(|e| &e.text)) {
                let hay = text.as_bytes();
                for m in regex.find_iter(hay) {
                    assert!(sweep.matches_in(hay, m.start(), m.end()), "{}", rule.id);
                    assert!(sweep.matches_in(hay, 0, hay.len()), "{}", rule.id);
                    checked += 1;
                }
            }
        }
        assert!(swept * 4 > windowed * 3, "{swept} of {windowed}");
        assert!(checked > 500, "{checked}");
    }

    /// The follow sets (`follow_sets` in `build.rs`) let through the byte after every keyword
    /// hit a match of its rule holds where the scan looks for it: in a rule with a lead, each
    /// keyword within the lead of the match's start; in a rule searched in windows, one keyword
    /// of the match at least, where the gate lets it through. And they turn most bytes away
    /// after the keyword of a rule that needs a separator there (`.netrc`'s `password `).
    #[test]
    fn follow_sets_let_every_match_of_their_rule_through() {
        let mut checked = 0;
        each_gated_example_match(|rule, shape, gate, hay, m| {
            // (keyword number, where it is) of each keyword in the match.
            let hits: Vec<(usize, usize)> = (m.start()..m.end())
                .flat_map(|at| {
                    rule.keywords.iter().enumerate().filter_map(move |(i, k)| {
                        let w = hay.get(at..at + k.len())?;
                        let same = if rule.case_sensitive {
                            w == k.as_bytes()
                        } else {
                            w.eq_ignore_ascii_case(k.as_bytes())
                        };
                        (same && at + k.len() <= m.end()).then_some((i, at))
                    })
                })
                .collect();
            let follows = |&(i, at): &(usize, usize)| {
                let set = shape.follow_set(i);
                hay.get(at + rule.keywords[i].len())
                    .is_none_or(|&b| has_byte(&set, b))
            };
            match shape.lead {
                Some(lead) => {
                    for hit in hits.iter().filter(|h| h.1 <= m.start() + lead) {
                        assert!(follows(hit), "{}: keyword {} at {}", rule.id, hit.0, hit.1);
                        checked += 1;
                    }
                }
                None => {
                    let through = hits
                        .iter()
                        .any(|h| follows(h) && gate.may_match_from(hay, h.1..=h.1, m.end() - h.1));
                    assert!(
                        through,
                        "{}: no keyword of the match at {}",
                        rule.id,
                        m.start()
                    );
                    checked += 1;
                }
            }
        });
        assert!(checked > 1000, "{checked}");
        let netrc = RuleSet::builtin();
        let netrc = netrc
            .rules()
            .iter()
            .find(|r| &*r.id == "netrc.password")
            .unwrap();
        let set = lookup(netrc).unwrap().follow_set(0);
        let allows = |b: u8| has_byte(&set, b);
        assert!(allows(b' ') && allows(b'\t'));
        assert!(!allows(b'_') && !allows(b'=') && !allows(b's'));
    }

    /// The lockstep walk over several starts lets through every hit one of the starts' own
    /// walks lets through, and turns away nearly all the others: over every keyword hit in the
    /// examples and negative examples of each gated rule with a lead.
    #[test]
    fn lockstep_walks_agree_with_walks_from_each_start() {
        let (mut compared, mut looser) = (0, 0);
        for rule in RuleSet::builtin_with_examples().rules() {
            let Some(shape) = lookup(rule) else { continue };
            let (Some(lead), Some(gate)) = (shape.lead, &shape.gate) else {
                continue;
            };
            if lead == 0 {
                continue;
            }
            let window = shape.max_len.unwrap_or(256).min(4096);
            let texts = rule.examples.iter().map(|e| &e.text);
            for text in texts.chain(rule.negative_examples.iter().map(|e| &e.text)) {
                let hay = text.as_bytes();
                for k in &rule.keywords {
                    let k = k.as_bytes();
                    for at in (0..hay.len()).filter(|&at| {
                        hay[at..].len() >= k.len() && hay[at..at + k.len()].eq_ignore_ascii_case(k)
                    }) {
                        let first = at.saturating_sub(lead);
                        let each = (first..=at).any(|p| {
                            hay.get(p).is_none_or(|&b| has_byte(&gate.first_bytes, b))
                                && gate.matches_at(hay, p, (p + window).min(hay.len()))
                        });
                        let lockstep = gate.may_match_from(hay, first..=at, window);
                        assert!(!each || lockstep, "{}: hit at {at} turned away", rule.id);
                        compared += 1;
                        looser += usize::from(lockstep && !each);
                    }
                }
            }
        }
        assert!(compared > 1000, "{compared}");
        assert!(looser * 100 <= compared * 2, "{looser} of {compared}");
    }

    /// A gate turns hits away: after a rule's keyword, control bytes (which no rule's
    /// secret holds) end nearly every gate's walk in its dead state; and the keyword alone,
    /// at the end of the input, is turned away by nearly every gate too (the walk meets the
    /// end of input before a match).
    #[test]
    fn gates_turn_away_hits_where_no_match_can_go_on() {
        let (mut gated, mut junk, mut cut) = (0, 0, 0);
        for rule in RuleSet::builtin_with_examples().rules() {
            let Some(Shape {
                lead: Some(0),
                gate: Some(gate),
                ..
            }) = lookup(rule)
            else {
                continue;
            };
            let Some(keyword) = rule.keywords.iter().find(|k| !k.is_empty()) else {
                continue;
            };
            gated += 1;
            let mut hay = keyword.as_bytes().to_vec();
            hay.extend_from_slice(&[1; 64]);
            junk += usize::from(!gate.may_match_from(&hay, 0..=0, hay.len()));
            let bare = keyword.as_bytes();
            cut += usize::from(!gate.may_match_from(bare, 0..=0, bare.len()));
        }
        assert!(gated > 300, "{gated}");
        assert!(junk * 100 > gated * 95, "{junk} of {gated}");
        assert!(cut * 100 > gated * 95, "{cut} of {gated}");
    }
}
