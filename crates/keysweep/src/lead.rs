//! Where a rule's matches start relative to its keywords, read from its pattern.
//!
//! Compiled into the library and included by `build.rs` as well: the build script works out
//! each built-in rule's lead once per build ([`keyword_lead`]) and stores it with the rule's
//! gate automaton, so that a scan does not spend a literal extraction on every rule it
//! reaches (see `src/prepared.rs`). Only `regex_syntax` and `std` are used here.

/// Parses a rule pattern as every part of keysweep reads one: bytes, not text (Unicode classes
/// off, ASCII `\w` and `\b`), `.` matching any byte but `\n`, and `^`/`$` matching at line
/// boundaries, `\r\n` included. A word boundary or a boundary class (`(?:^|[^A-Za-z0-9])`) that
/// starts the pattern (or one of its alternatives) also holds after an escaped line break or
/// tab (`\n`, `\r`, `\t` written as two bytes, [`escaped_boundaries`]). `Err` carries the
/// parser's one-line reason.
pub(crate) fn parse(pattern: &str) -> Result<regex_syntax::hir::Hir, String> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .multi_line(true)
        .crlf(true)
        .build()
        .parse(pattern)
        .map(escaped_boundaries)
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or("invalid regex")
                .trim()
                .to_string()
        })
}

/// `hir` with a leading word boundary (`\bghp_...`) or boundary class
/// (`(?:^|[^A-Za-z0-9_-])SG\.`) widened to "or an escaped `\n`, `\r` or `\t`": in a JSON
/// string, a log line or a chat export a token often follows an escaped line break
/// (`"Current token:\nATATT3x..."`), and the `n` of the escape is a word byte, so the
/// boundary alone would not hold there. A class widens only if it takes a backslash but not
/// the escape's letters: one that turns a backslash away means it.
fn escaped_boundaries(hir: regex_syntax::hir::Hir) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Hir, HirKind, Look};
    let escape = || {
        Hir::concat(vec![
            Hir::literal(*b"\\"),
            Hir::class(Class::Bytes(ClassBytes::new(
                [b'n', b'r', b't'].map(|b| ClassBytesRange::new(b, b)),
            ))),
        ])
    };
    // The branches of a boundary class: `^` and byte classes, at least one of them a class.
    let boundary_class = |hir: &Hir| -> Option<Vec<Hir>> {
        let HirKind::Alternation(branches) = hir.kind() else {
            return None;
        };
        let boundary = branches.iter().all(|b| match b.kind() {
            HirKind::Look(Look::Start | Look::StartLF | Look::StartCRLF) => true,
            HirKind::Class(Class::Bytes(class)) => {
                let has = |byte: u8| {
                    class
                        .ranges()
                        .iter()
                        .any(|r| (r.start()..=r.end()).contains(&byte))
                };
                has(b'\\') && !has(b'n') && !has(b'r') && !has(b't')
            }
            _ => false,
        }) && branches
            .iter()
            .any(|b| matches!(b.kind(), HirKind::Class(_)));
        boundary.then(|| branches.to_vec())
    };
    if let HirKind::Concat(items) = hir.kind() {
        if let Some(mut branches) = items.first().and_then(boundary_class) {
            // The escape first: the class takes a backslash too, and leftmost-first would
            // then start a token that may begin with `n` on the escape's letter.
            branches.insert(0, escape());
            let mut items = items.to_vec();
            items[0] = Hir::alternation(branches);
            return Hir::concat(items);
        }
    }
    match hir.kind() {
        HirKind::Concat(items)
            if matches!(
                items.first().map(Hir::kind),
                Some(HirKind::Look(
                    Look::WordAscii | Look::WordStartAscii | Look::WordStartHalfAscii
                ))
            ) =>
        {
            let mut items = items.to_vec();
            items[0] = Hir::alternation(vec![items[0].clone(), escape()]);
            Hir::concat(items)
        }
        HirKind::Alternation(branches) => {
            Hir::alternation(branches.iter().cloned().map(escaped_boundaries).collect())
        }
        _ => hir,
    }
}

/// A 64-bit FNV-1a digest of what a rule's lead and gate are worked out from: its pattern, its
/// keywords and whether they are compared case-sensitively. The build script files each
/// built-in rule's entry under it; a rule whose pattern or keywords were changed (or that is
/// not built in) finds no entry and is analysed when it is first compiled.
pub(crate) fn shape_key(pattern: &str, keywords: &[String], case_sensitive: bool) -> u64 {
    let mut h = fnv1a(FNV_OFFSET, pattern.as_bytes());
    for kw in keywords {
        h = fnv1a(fnv1a(h, &[0xff]), kw.as_bytes());
    }
    fnv1a(h, &[0xfe, u8::from(case_sensitive)])
}

/// The FNV-1a offset basis: the digest of nothing.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// 64-bit FNV-1a digest `h` carried on over `bytes`.
pub(crate) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// How far before a keyword hit a match of `hir` can start, when that is provably bounded: `0`
/// when every match starts with one of `rule`'s keywords (proven from the pattern's prefix
/// literals: a finite prefix set means every match begins with one of its literals, and each
/// literal must begin with a keyword, compared as the prefilter compares), or `n` when the
/// pattern is a lead of at most [`MAX_LEAD`] bytes (a boundary such as `(?:^|[^A-Za-z0-9])`,
/// or a URL's scheme before a literal `://`) followed by such a part. `None` otherwise: the rule then searches a window around each hit.
pub(crate) fn keyword_lead(
    hir: &regex_syntax::hir::Hir,
    keywords: &[String],
    case_sensitive: bool,
) -> Option<usize> {
    use regex_syntax::hir::{Hir, HirKind};
    if keywords.is_empty() {
        return None;
    }
    if starts_with_keyword(hir, keywords, case_sensitive) {
        return Some(0);
    }
    let HirKind::Concat(items) = hir.kind() else {
        return None;
    };
    // The lead is the first item (a boundary), or the items up to the first literal (a URL's
    // scheme before `://`): each split tried costs a literal extraction when the rule compiles.
    let mut lead = 0;
    for (k, item) in items.iter().enumerate().skip(1) {
        lead += items[k - 1].properties().maximum_len()?;
        if lead > MAX_LEAD {
            return None;
        }
        // A keyword of a case-insensitive pattern is a class per letter (`(?i)user`), not a
        // literal: a class is tried too, and a line's indentation (`(?m)^[ \t]{0,8}user`)
        // becomes the lead.
        let literal = matches!(item.kind(), HirKind::Literal(_));
        let class = matches!(item.kind(), HirKind::Class(_));
        if (k == 1 || literal || class)
            && starts_with_keyword(&Hir::concat(items[k..].to_vec()), keywords, case_sensitive)
        {
            return Some(lead);
        }
        if literal {
            return None;
        }
    }
    None
}

/// Longest lead before a keyword that [`keyword_lead`] accepts (each byte of it costs one more
/// anchored try per keyword hit): a URL's scheme before `://` (16 bytes at most in the
/// built-in rules) and the two bytes of an escaped line break before it.
pub(crate) const MAX_LEAD: usize = 18;

pub(crate) fn starts_with_keyword(
    hir: &regex_syntax::hir::Hir,
    keywords: &[String],
    case_sensitive: bool,
) -> bool {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    // Keywords of a case-insensitive rule are compared ignoring case: the pattern is folded
    // to lower case first, so that `(?i)password` is one literal and not its 256 spellings.
    // Only a keyword's length of each prefix is compared: longer literals are cut there,
    // which keeps the sets (and the time to build them, once per rule and process) small, and
    // only the part of the pattern that can reach that far is folded and looked at.
    let longest = keywords.iter().map(String::len).max().unwrap_or(1);
    let head = pattern_head(hir, longest.max(1), !case_sensitive);
    let hir = &head;
    let mut extractor = Extractor::new();
    // Case-insensitive keywords expand into every case variant (`password`: 256 of them). A
    // class of up to 16 bytes is expanded too (the default is 10): keywords that spell out a
    // hex digit (`0.0` ... `0.f` for `0\.[0-9a-f]`) then prove the rule anchored.
    extractor
        .kind(ExtractKind::Prefix)
        .limit_class(16)
        .limit_total(8192)
        .limit_literal_len(longest.max(1));
    let seq = extractor.extract(hir);
    let Some(literals) = seq.literals() else {
        return false;
    };
    !literals.is_empty()
        && literals.iter().all(|lit| {
            let bytes = lit.as_bytes();
            keywords.iter().any(|kw| {
                let kw = kw.as_bytes();
                bytes.len() >= kw.len()
                    && if case_sensitive {
                        bytes.starts_with(kw)
                    } else {
                        bytes[..kw.len()].eq_ignore_ascii_case(kw)
                    }
            })
        })
}

/// The part of `hir` that every match's first `need` bytes come from (a concatenation is cut
/// after the items that always match `need` bytes or more), lowered with [`fold_case`] when
/// `fold`: its prefix literals, cut at `need` bytes, are those of `hir`. A repetition is kept
/// whole, since its next round starts where a cut one would end.
fn pattern_head(hir: &regex_syntax::hir::Hir, need: usize, fold: bool) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Hir, HirKind};
    match hir.kind() {
        HirKind::Concat(items) => {
            let mut head = Vec::new();
            let mut have = 0;
            for item in items {
                head.push(pattern_head(item, need.saturating_sub(have), fold));
                have += item.properties().minimum_len().unwrap_or(0);
                if have >= need {
                    break;
                }
            }
            Hir::concat(head)
        }
        HirKind::Alternation(items) => Hir::alternation(
            items
                .iter()
                .map(|item| pattern_head(item, need, fold))
                .collect(),
        ),
        HirKind::Capture(cap) => pattern_head(&cap.sub, need, fold),
        _ if fold => fold_case(hir),
        _ => hir.clone(),
    }
}

/// `hir` with every byte it can match lowered to ASCII lower case (literals, and classes,
/// which then often hold one byte and become literals). Only for asking what a match
/// begins with, ignoring case; not a pattern to match with.
pub(crate) fn fold_case(hir: &regex_syntax::hir::Hir) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Hir, HirKind, Repetition};
    match hir.kind() {
        HirKind::Literal(lit) => Hir::literal(lit.0.to_ascii_lowercase()),
        HirKind::Class(Class::Bytes(class)) => {
            // Both cases, then no capitals.
            let mut lower = class.clone();
            lower.case_fold_simple();
            lower.difference(&ClassBytes::new([ClassBytesRange::new(b'A', b'Z')]));
            if let [one] = lower.ranges() {
                if one.start() == one.end() {
                    return Hir::literal([one.start()]);
                }
            }
            Hir::class(Class::Bytes(lower))
        }
        HirKind::Concat(items) => Hir::concat(items.iter().map(fold_case).collect()),
        HirKind::Alternation(items) => Hir::alternation(items.iter().map(fold_case).collect()),
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            sub: Box::new(fold_case(&rep.sub)),
            ..rep.clone()
        }),
        HirKind::Capture(cap) => fold_case(&cap.sub),
        _ => hir.clone(),
    }
}

/// The bytes every match of `hir` begins with, or `None` when it can match the empty string
/// (then any position may start one). Look-arounds are zero-width and skipped; a Unicode
/// class stands for its ASCII bytes and every UTF-8 lead byte.
pub(crate) fn first_bytes(hir: &regex_syntax::hir::Hir) -> Option<Box<[bool; 256]>> {
    use regex_syntax::hir::{Class, Hir, HirKind};
    /// Adds the first bytes of `hir` to `set`; returns whether `hir` can match empty.
    fn add(hir: &Hir, set: &mut [bool; 256]) -> bool {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => true,
            HirKind::Literal(lit) => match lit.0.first() {
                Some(&b) => {
                    set[b as usize] = true;
                    false
                }
                None => true,
            },
            HirKind::Class(Class::Bytes(class)) => {
                for r in class.ranges() {
                    set[r.start() as usize..=r.end() as usize].fill(true);
                }
                false
            }
            HirKind::Class(Class::Unicode(class)) => {
                for r in class.ranges() {
                    let (lo, hi) = (r.start() as u32, r.end() as u32);
                    if lo < 0x80 {
                        set[lo as usize..=hi.min(0x7F) as usize].fill(true);
                    }
                    if hi >= 0x80 {
                        set[0xC2..=0xF4].fill(true);
                    }
                }
                false
            }
            HirKind::Repetition(rep) => add(&rep.sub, set) || rep.min == 0,
            HirKind::Capture(cap) => add(&cap.sub, set),
            HirKind::Concat(items) => items.iter().all(|item| add(item, set)),
            HirKind::Alternation(items) => {
                let mut empty = false;
                for item in items {
                    empty |= add(item, set);
                }
                empty
            }
        }
    }
    let mut set = Box::new([false; 256]);
    (!add(hir, &mut set)).then_some(set)
}
