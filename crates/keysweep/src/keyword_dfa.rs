//! The keyword automaton as a compact search table, and the search over it.
//!
//! The keyword pass steps a DFA once per byte of every input, one table load that depends on
//! the previous one, so its speed is the latency of those loads: where the rows a search of
//! ordinary text visits sit in L1, it runs several times as fast as from L2. Over the built-in
//! rules' 2,400 keyword patterns (8,600 trie states) aho-corasick's DFA kept one column per byte
//! class, with `a` and `A` in separate columns although the search folds ASCII case, and
//! numbered its states in the order the keywords were added: 3.1 MB, the shallow states that
//! text keeps returning to scattered across it.
//!
//! [`KeywordDfa`] is the same automaton laid out for that search:
//!
//! - **At most 64 columns.** Each ASCII letter (folded to lower case) has its own column, and so
//!   do the other bytes keywords hold that are most frequent in text (space, `.`, newline,
//!   `_`, `-`, digits, quotes, ...); the rarest share one column for ASCII and one for other
//!   bytes, and every byte no keyword holds shares column 0 (it sends every state back to the
//!   start). A shared column makes the automaton match a little more than its keywords (a
//!   keyword holding `~` also where `^` stands), so a hit of a keyword with a byte in a shared
//!   column is compared with the input before it is reported.
//! - **16-bit cells, two cache lines per row**: a row is 64 next-state indices of two bytes;
//!   over the built-in keywords the table is about 1 MB (it was 2.8 MB with 80 columns of
//!   32-bit offsets). Sets of more than 65,536 states use 32-bit cells.
//! - **Match states first, then the others in breadth-first order**: one comparison tells a
//!   match state, and the start state and the shallow states sit together at the front.
//!
//! The trie of the keywords (over columns) is completed breadth-first with its failure links
//! into a DFA, straight into the table (no intermediate NFA). Searches give exactly
//! aho-corasick's overlapping hits (tests compare them).

use std::ops::Range;

use aho_corasick::PatternID;

/// Columns per row (a power of two: a row is found by a shift).
const COLUMNS: usize = 64;
const SHIFT: u32 = COLUMNS.trailing_zeros();

/// Lanes of the search stepped in lockstep by one thread (see [`KeywordDfa::hits`]). Four:
/// measured 2.8x one lane's speed; eight adds little and spills registers.
const LANES: usize = 4;

/// The transition table: row `s` (cells `s * COLUMNS ..`) holds state `s`'s next states.
enum Table {
    Narrow(Box<[u16]>),
    Wide(Box<[u32]>),
}

/// A table cell: a next state's index.
trait Cell: Copy {
    fn state(self) -> u32;
}

impl Cell for u16 {
    #[inline(always)]
    fn state(self) -> u32 {
        u32::from(self)
    }
}

impl Cell for u32 {
    #[inline(always)]
    fn state(self) -> u32 {
        self
    }
}

/// A keyword DFA with case-folded, at most 32 columns and breadth-first state order.
pub(crate) struct KeywordDfa {
    /// A byte's column.
    classes: [u8; 256],
    table: Table,
    /// States below this index match (match rows come first).
    match_count: u32,
    start: u32,
    /// Per match state: its range in `matches`.
    match_spans: Vec<(u32, u32)>,
    /// The keywords that may end at a match state, with their lengths.
    matches: Vec<(PatternID, u32)>,
    /// Per keyword: its bytes if one of them shares a column with another byte (a hit is then
    /// compared with the input), else `None` (a hit is a hit).
    check: Vec<Option<Box<[u8]>>>,
    max_pattern_len: usize,
    columns: usize,
}

impl std::fmt::Debug for KeywordDfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (states, cell) = match &self.table {
            Table::Narrow(t) => (t.len() / COLUMNS, 2),
            Table::Wide(t) => (t.len() / COLUMNS, 4),
        };
        f.debug_struct("KeywordDfa")
            .field("states", &states)
            .field("columns", &self.columns)
            .field("cell_bytes", &cell)
            .field("match_states", &self.match_spans.len())
            .field("checked_keywords", &self.check.iter().flatten().count())
            .finish()
    }
}

/// The bytes other than letters, from the most frequent in source code and configuration to
/// the least (measured over rails, cargo and kubernetes/examples). A byte that shares a column
/// makes the automaton stop at more places than its keywords, and those stops cost a comparison
/// each, so the frequent bytes get their own columns first. Bytes not listed (control bytes,
/// non-ASCII) come after them.
const TEXT_ORDER: &[u8] = b" .\n_-0:\"1)(,2/=345\\]96*87#;{}`[>!+'&<%|?\t$@\r~^";

/// Each byte's column, how many columns there are, and which bytes share a column with
/// another byte (a keyword holding one is compared at its hits).
fn columns(patterns: &[Vec<u8>]) -> ([u8; 256], usize, [bool; 256]) {
    let mut used = [false; 256];
    for p in patterns {
        for &b in p {
            used[b.to_ascii_lowercase() as usize] = true;
        }
    }
    let letters: Vec<u8> = (b'a'..=b'z').filter(|&b| used[b as usize]).collect();
    // The other bytes keywords hold, the most frequent in text first: as many as fit get their
    // own column, the rest share one for ASCII and one for the other bytes (lead bytes of
    // keywords in other scripts).
    let rank = |b: u8| match TEXT_ORDER.iter().position(|&t| t == b) {
        Some(i) => i,
        None if b.is_ascii() => TEXT_ORDER.len(),
        None => TEXT_ORDER.len() + 1,
    };
    let mut others: Vec<u8> = (0..=255u8)
        .filter(|&b| used[b as usize] && !b.is_ascii_alphabetic())
        .collect();
    others.sort_by_key(|&b| (rank(b), b));
    let mut own = others.len();
    let (ascii, high) = loop {
        let (ascii, high): (Vec<u8>, Vec<u8>) = others[own..].iter().partition(|b| b.is_ascii());
        let shared = usize::from(!ascii.is_empty()) + usize::from(!high.is_empty());
        // Column 0, the letters, the own columns and the shared ones (26 letters and two
        // shared columns always fit).
        if 1 + letters.len() + own + shared <= COLUMNS {
            break (ascii, high);
        }
        own -= 1;
    };
    let mut classes = [0u8; 256];
    let mut shared = [false; 256];
    let mut next = 1u8;
    for &b in letters.iter().chain(&others[..own]) {
        classes[b as usize] = next;
        next += 1;
    }
    for group in [ascii, high] {
        if group.is_empty() {
            continue;
        }
        for &b in &group {
            classes[b as usize] = next;
            shared[b as usize] = group.len() > 1;
        }
        next += 1;
    }
    for b in b'A'..=b'Z' {
        classes[b as usize] = classes[b.to_ascii_lowercase() as usize];
    }
    (classes, usize::from(next), shared)
}

impl KeywordDfa {
    /// Builds the table for `patterns` (matched ASCII case-insensitively, every occurrence
    /// reported). `None` only if the table would not fit 32-bit state indices.
    pub(crate) fn new(patterns: &[Vec<u8>]) -> Option<KeywordDfa> {
        Self::build(patterns, false)
    }

    /// As [`KeywordDfa::new`]; `wide` forces 32-bit cells (tests exercise both).
    fn build(patterns: &[Vec<u8>], wide: bool) -> Option<KeywordDfa> {
        let (classes, columns, shared) = columns(patterns);

        // The keywords' trie, its edges as (class, child) lists; node 0 is the root.
        let mut edges: Vec<Vec<(u8, u32)>> = vec![Vec::new()];
        let mut own: Vec<Vec<(PatternID, u32)>> = vec![Vec::new()];
        for (i, p) in patterns.iter().enumerate() {
            let mut node = 0usize;
            for &b in p {
                let c = classes[b as usize];
                node = match edges[node].iter().find(|e| e.0 == c) {
                    Some(&(_, child)) => child as usize,
                    None => {
                        let child = u32::try_from(edges.len()).ok()?;
                        edges[node].push((c, child));
                        edges.push(Vec::new());
                        own.push(Vec::new());
                        child as usize
                    }
                };
            }
            own[node].push((PatternID::new(i).ok()?, u32::try_from(p.len()).ok()?));
        }
        // Failure links, breadth-first: a node's failure node is the longest proper suffix
        // of its path that is a path too. A node matches when a keyword ends at it or at its
        // failure node.
        let nodes = edges.len();
        let edge = |node: usize, c: u8| edges[node].iter().find(|e| e.0 == c).map(|e| e.1);
        let mut fail = vec![0u32; nodes];
        let mut matches_at = vec![false; nodes];
        // An empty keyword ends at the root: every position is a hit.
        matches_at[0] = !own[0].is_empty();
        let mut order: Vec<u32> = Vec::with_capacity(nodes);
        order.push(0);
        let mut i = 0;
        while i < order.len() {
            let node = order[i] as usize;
            for &(c, child) in &edges[node] {
                let mut f = 0;
                if node != 0 {
                    let mut s = fail[node] as usize;
                    f = loop {
                        if let Some(next) = edge(s, c) {
                            break next;
                        }
                        if s == 0 {
                            break 0;
                        }
                        s = fail[s] as usize;
                    };
                }
                fail[child as usize] = f;
                matches_at[child as usize] =
                    !own[child as usize].is_empty() || matches_at[f as usize];
                order.push(child);
            }
            i += 1;
        }
        // Match states first, each group in breadth-first order; a state is its rank.
        let mut rank = vec![0u32; nodes];
        let matching: Vec<u32> = order
            .iter()
            .copied()
            .filter(|&n| matches_at[n as usize])
            .collect();
        let rest = order.iter().copied().filter(|&n| !matches_at[n as usize]);
        for (r, node) in matching.iter().copied().chain(rest).enumerate() {
            rank[node as usize] = u32::try_from(r).ok()?;
        }
        // Rows in breadth-first order: a node's row is its failure node's (shallower, so
        // done) with its own edges written over it.
        let cells = nodes.checked_mul(COLUMNS)?;
        let mut table = vec![0u32; cells];
        for &node in &order {
            let node = node as usize;
            let at = rank[node] as usize * COLUMNS;
            if node == 0 {
                table[at..at + COLUMNS].fill(rank[0]);
            } else {
                let from = rank[fail[node] as usize] as usize * COLUMNS;
                table.copy_within(from..from + COLUMNS, at);
            }
            for &(c, child) in &edges[node] {
                table[at + c as usize] = rank[child as usize];
            }
        }
        let table = match u16::try_from(nodes - 1) {
            Ok(_) if !wide => Table::Narrow(table.iter().map(|&s| s as u16).collect()),
            _ => Table::Wide(table.into_boxed_slice()),
        };
        // The keywords ending at each match state: its own, then along its failure links.
        let mut match_spans = Vec::with_capacity(matching.len());
        let mut matches = Vec::new();
        for &node in &matching {
            let from = u32::try_from(matches.len()).ok()?;
            let mut n = node as usize;
            loop {
                matches.extend_from_slice(&own[n]);
                if n == 0 {
                    break;
                }
                n = fail[n] as usize;
            }
            match_spans.push((from, u32::try_from(matches.len()).ok()?));
        }
        let check = patterns
            .iter()
            .map(|p| {
                p.iter()
                    .any(|&b| shared[b.to_ascii_lowercase() as usize])
                    .then(|| p.clone().into_boxed_slice())
            })
            .collect();
        Some(KeywordDfa {
            classes,
            table,
            match_count: u32::try_from(matching.len()).ok()?,
            start: rank[0],
            match_spans,
            matches,
            check,
            max_pattern_len: patterns.iter().map(|p| p.len()).max().unwrap_or(0),
            columns,
        })
    }

    /// Reports every keyword occurrence that starts at or after `range.start` and ends in
    /// `range`, as `(pattern, start)` pairs in `hits` (unordered).
    ///
    /// A single pass is bound by the latency of its dependent loads, not by bandwidth, so the
    /// range is cut into [`LANES`] lanes scanned in lockstep, which keeps several independent
    /// loads in flight. The automaton's state depends only on the last `max_len` bytes, so
    /// each lane first runs over the `max_len` bytes before it (reporting nothing there) and
    /// then owns the hits that end inside it. A match state lists every keyword ending at that
    /// position, so no occurrence is lost.
    pub(crate) fn hits(&self, hay: &[u8], range: Range<usize>, hits: &mut Vec<(PatternID, usize)>) {
        match &self.table {
            Table::Narrow(table) => self.lanes(table, hay, range, hits),
            Table::Wide(table) => self.lanes(table, hay, range, hits),
        }
    }

    #[inline(always)]
    fn lanes<C: Cell>(
        &self,
        table: &[C],
        hay: &[u8],
        range: Range<usize>,
        hits: &mut Vec<(PatternID, usize)>,
    ) {
        let next = |state: u32, byte: u8| {
            table[((state as usize) << SHIFT) | self.classes[byte as usize] as usize].state()
        };
        let is_match = |state: u32| state < self.match_count;
        let warmup = self.max_pattern_len;
        let lane_len = range.len().div_ceil(LANES).max(1);
        // Per lane: first byte scanned, first byte owned, end.
        let mut lanes = [(0usize, 0usize, 0usize); LANES];
        for (i, lane) in lanes.iter_mut().enumerate() {
            let own = (range.start + i * lane_len).min(range.end);
            let end = (own + lane_len).min(range.end);
            *lane = (own.saturating_sub(warmup).max(range.start), own, end);
        }
        let steps = lanes
            .iter()
            .map(|&(from, _, end)| end - from)
            .min()
            .unwrap_or(0);
        // Four named states over zipped slices: no bounds checks on the input, states stay
        // in registers, and one branch (rarely taken) asks whether any lane entered a match
        // state.
        let [l0, l1, l2, l3] = lanes.map(|(from, _, _)| &hay[from..from + steps]);
        let [mut s0, mut s1, mut s2, mut s3] = [self.start; LANES];
        let bytes = l0.iter().zip(l1).zip(l2).zip(l3);
        for (k, (((&b0, &b1), &b2), &b3)) in bytes.enumerate() {
            s0 = next(s0, b0);
            s1 = next(s1, b1);
            s2 = next(s2, b2);
            s3 = next(s3, b3);
            if is_match(s0) | is_match(s1) | is_match(s2) | is_match(s3) {
                for (lane, state) in [s0, s1, s2, s3].into_iter().enumerate() {
                    if is_match(state) {
                        let (from, own, _) = lanes[lane];
                        self.report(hay, state, from + k + 1, own, range.start, hits);
                    }
                }
            }
        }
        let states = [s0, s1, s2, s3];
        // Each lane's tail, alone.
        for (lane, &(from, own, end)) in lanes.iter().enumerate() {
            let mut state = states[lane];
            for (k, &b) in hay[from + steps..end].iter().enumerate() {
                state = next(state, b);
                if is_match(state) {
                    self.report(hay, state, from + steps + k + 1, own, range.start, hits);
                }
            }
        }
    }

    /// Records the keywords ending at match state `state` (at `end`), unless the hit lies in a
    /// lane's warm-up (`end <= own`: the previous lane's) or starts before the range, or the
    /// keyword holds a byte of a shared column and the input differs there.
    #[inline(never)]
    fn report(
        &self,
        hay: &[u8],
        state: u32,
        end: usize,
        own: usize,
        range_start: usize,
        hits: &mut Vec<(PatternID, usize)>,
    ) {
        if end <= own {
            return;
        }
        let (from, to) = self.match_spans[state as usize];
        for &(pid, len) in &self.matches[from as usize..to as usize] {
            // The state was reached over at least `len` bytes of this lane: no underflow.
            let start = end - len as usize;
            if start < range_start {
                continue;
            }
            if let Some(bytes) = &self.check[pid.as_usize()] {
                if !hay[start..end].eq_ignore_ascii_case(bytes) {
                    continue;
                }
            }
            hits.push((pid, start));
        }
    }
}

/// A xorshift generator for the randomised tests here and in the engine: `rand(n)` is in
/// `0..n`, the same sequence for the same seed.
#[cfg(test)]
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aho_corasick_hits(patterns: &[Vec<u8>], hay: &[u8]) -> Vec<(usize, usize)> {
        let naive = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(patterns)
            .unwrap();
        let mut want: Vec<(usize, usize)> = naive
            .find_overlapping_iter(hay)
            .map(|m| (m.pattern().as_usize(), m.start()))
            .collect();
        want.sort_unstable();
        want
    }

    fn dfa_hits(dfa: &KeywordDfa, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut got = Vec::new();
        dfa.hits(hay, 0..hay.len(), &mut got);
        let mut got: Vec<(usize, usize)> = got.iter().map(|(p, s)| (p.as_usize(), *s)).collect();
        got.sort_unstable();
        got
    }

    /// Keywords over 81 distinct bytes (every ASCII byte but the letters, two letters and three
    /// non-ASCII bytes: more than fit own columns, so the rarest share theirs), in 16- and
    /// 32-bit tables, against aho-corasick on random text over the same bytes, their upper case
    /// and a byte no keyword holds.
    #[test]
    fn shared_columns_report_exactly_the_keywords_in_both_table_widths() {
        let mut rand = xorshift(0x2545_f491_4f6c_dd1d);
        let symbols: Vec<u8> = (0..128u8)
            .filter(|b| !b.is_ascii_alphabetic())
            .chain(*b"ab\xc3\xa9\xd0")
            .collect();
        let mut text = symbols.clone();
        text.extend(b"ABz");
        let mut shared_seen = false;
        for round in 0..60 {
            let kws: Vec<Vec<u8>> = (0..1 + rand(400))
                .map(|_| {
                    (0..1 + rand(3))
                        .map(|_| symbols[rand(symbols.len() as u64) as usize])
                        .collect()
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let hay: Vec<u8> = (0..rand(20_000))
                .map(|_| text[rand(text.len() as u64) as usize])
                .collect();
            let want = aho_corasick_hits(&kws, &hay);
            for wide in [false, true] {
                let dfa = KeywordDfa::build(&kws, wide).unwrap();
                assert!(dfa.columns <= COLUMNS);
                shared_seen |= dfa.check.iter().any(Option::is_some);
                assert_eq!(dfa_hits(&dfa, &hay), want, "round {round}, wide {wide}");
            }
        }
        assert!(shared_seen, "no round had keywords in shared columns");
    }

    #[test]
    fn the_bytes_most_frequent_in_text_keep_their_own_columns() {
        // Every letter, every other ASCII byte and three non-ASCII lead bytes: 26 + 76 + 3.
        let mut kws: Vec<Vec<u8>> = (0..128u8).map(|b| vec![b'k', b]).collect();
        kws.extend([b"\xc3".to_vec(), b"\xd0".to_vec(), b"\xe5".to_vec()]);
        let (classes, count, shared) = columns(&kws);
        assert_eq!(count, COLUMNS);
        let letter_columns: std::collections::HashSet<u8> =
            (b'a'..=b'z').map(|b| classes[b as usize]).collect();
        assert_eq!(letter_columns.len(), 26);
        assert_eq!(classes[b'Q' as usize], classes[b'q' as usize]);
        for b in *b" .\n_-0:\"=/" {
            assert!(!shared[b as usize], "{:?} shares a column", b as char);
        }
        // The rarest ASCII bytes share one column, the non-ASCII ones another.
        assert!(shared[b'^' as usize] && shared[0x01]);
        assert_eq!(classes[b'^' as usize], classes[0x01]);
        assert!(shared[0xc3]);
        assert_eq!(classes[0xc3], classes[0xe5]);
        assert_ne!(classes[0xc3], classes[b'^' as usize]);
        assert_eq!(classes[0xff], 0, "a byte no keyword holds");
        let dfa = KeywordDfa::new(&kws).unwrap();
        let hay = b"K^ k\x01 x:y k_ \xc3\xa9\xe5\xd0 k\xc3";
        assert_eq!(dfa_hits(&dfa, hay), aho_corasick_hits(&kws, hay));
    }
}
