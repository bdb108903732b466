//! The keyword automaton as a compact search table.
//!
//! Over 1,600 keywords, aho-corasick's DFA keeps one column per byte class, and its classes
//! tell `a` from `A` although the search folds ASCII case, so most rows carry twice the
//! letter columns they need. Its states are also numbered in the order the keywords were
//! added, which scatters the shallow states a search of ordinary text spends its time in
//! across the whole table. On rails' sources the table was 3.1 MB and the keyword pass, one
//! dependent load per byte, ran at half its speed with a third as many keywords.
//!
//! [`KeywordDfa`] is the same automaton built here, laid out for that search: each byte value
//! that some keyword holds (folded to ASCII lower case) gets its own column, and every other
//! byte shares one (every state sends such a byte back to the start state); the keywords' trie is
//! completed breadth-first with its failure links into a DFA; match states come first (one
//! comparison tells them), then the others in breadth-first order, so the start state and
//! the shallow states sit together at the front. Building it takes a fraction of
//! aho-corasick's DFA build (no intermediate NFA, one write of the table). Searches give exactly aho-corasick's
//! overlapping hits (tests compare them).

use aho_corasick::PatternID;

/// A keyword DFA with case-folded byte classes and breadth-first state order.
pub(crate) struct KeywordDfa {
    /// A byte's column.
    classes: [u8; 256],
    /// Rows of `stride` next states; a state is its row's offset in the table.
    table: Vec<u32>,
    /// States below this offset match (match rows come first).
    match_end: u32,
    start: u32,
    stride: u32,
    /// Per match row: its range in `matches`.
    match_spans: Vec<(u32, u32)>,
    /// The keywords that end at a match state, with their lengths.
    matches: Vec<(PatternID, u32)>,
    max_pattern_len: usize,
}

impl std::fmt::Debug for KeywordDfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordDfa")
            .field("states", &(self.table.len() / self.stride as usize))
            .field("classes", &self.stride)
            .field("match_states", &self.match_spans.len())
            .finish()
    }
}

impl KeywordDfa {
    /// Builds the table for `patterns` (matched ASCII case-insensitively, every occurrence
    /// reported). `None` only if the table would not fit 32-bit offsets.
    pub(crate) fn new(patterns: &[Vec<u8>]) -> Option<KeywordDfa> {
        let mut used = [false; 256];
        for p in patterns {
            for &b in p {
                used[b.to_ascii_lowercase() as usize] = true;
            }
        }
        // Class 0 is every byte no keyword holds; each byte a keyword holds has its own,
        // shared with its other ASCII case.
        let mut classes = [0u8; 256];
        let mut stride = 1usize;
        for b in 0..=255u8 {
            if used[b as usize] && !b.is_ascii_uppercase() {
                classes[b as usize] = u8::try_from(stride).ok()?;
                stride += 1;
            }
        }
        for b in b'A'..=b'Z' {
            classes[b as usize] = classes[b.to_ascii_lowercase() as usize];
        }

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
        // Match states first, each group in breadth-first order; states become row offsets.
        let mut offset = vec![0u32; nodes];
        let matching: Vec<u32> = order
            .iter()
            .copied()
            .filter(|&n| matches_at[n as usize])
            .collect();
        let rest = order.iter().copied().filter(|&n| !matches_at[n as usize]);
        for (rank, node) in matching.iter().copied().chain(rest).enumerate() {
            offset[node as usize] = u32::try_from(rank.checked_mul(stride)?).ok()?;
        }
        // Rows in breadth-first order: a node's row is its failure node's (shallower, so
        // done) with its own edges written over it.
        let mut table = vec![0u32; nodes.checked_mul(stride)?];
        for &node in &order {
            let node = node as usize;
            let at = offset[node] as usize;
            if node == 0 {
                table[at..at + stride].fill(offset[0]);
            } else {
                let from = offset[fail[node] as usize] as usize;
                table.copy_within(from..from + stride, at);
            }
            for &(c, child) in &edges[node] {
                table[at + c as usize] = offset[child as usize];
            }
        }
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
        Some(KeywordDfa {
            classes,
            table,
            match_end: u32::try_from(matching.len() * stride).ok()?,
            start: offset[0],
            stride: stride as u32,
            match_spans,
            matches,
            max_pattern_len: patterns.iter().map(|p| p.len()).max().unwrap_or(0),
        })
    }

    /// The state a search starts in.
    #[inline(always)]
    pub(crate) fn start(&self) -> u32 {
        self.start
    }

    /// The state after `byte`.
    #[inline(always)]
    pub(crate) fn next(&self, state: u32, byte: u8) -> u32 {
        self.table[state as usize + self.classes[byte as usize] as usize]
    }

    /// Whether some keyword ends at `state`.
    #[inline(always)]
    pub(crate) fn is_match(&self, state: u32) -> bool {
        state < self.match_end
    }

    /// The keywords ending at match state `state`, with their lengths.
    pub(crate) fn matches(&self, state: u32) -> &[(PatternID, u32)] {
        let (from, to) = self.match_spans[(state / self.stride) as usize];
        &self.matches[from as usize..to as usize]
    }

    /// The longest keyword's length.
    pub(crate) fn max_pattern_len(&self) -> usize {
        self.max_pattern_len
    }
}
