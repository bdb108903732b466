//! Pre-parses the built-in rule files.
//!
//! A pre-commit hook pays for rule loading on every run, and lexing about a megabyte of TOML
//! was a third of keysweep's start-up. The TOML is parsed here, once per build, and embedded
//! as a compact tree of the same values (see `src/builtin.rs` for the format and its
//! decoder); the rules themselves are still built from those values by the one code path
//! that reads user rule files, so built-in and user rules cannot drift apart.
//!
//! A malformed built-in rule file fails the build, naming the file and the TOML error.
//!
//! Each built-in rule's shape is worked out here too (`prepared.rs` and `gates.bin` in
//! OUT_DIR, read by `src/prepared.rs`): where its matches start relative to its keywords
//! (`src/lead.rs`, included below), its longest match, and, for a rule whose matches start
//! next to a keyword, a gate: a DFA, built by determinizing a loosened copy of its pattern,
//! that tells at a keyword hit whether the rule can match there at all. A scan compiles such
//! a rule only when its gate lets a hit through.

use regex_automata::Anchored;
use std::fmt::Write as _;
use std::path::Path;

use toml::{Table, Value};

#[allow(dead_code)]
#[path = "src/lead.rs"]
mod lead;

#[allow(dead_code)]
#[path = "src/hir_codec.rs"]
mod hir_codec;

#[path = "src/relax.rs"]
mod relax;

/// Load order of the built-in rule files: a rule id is reported from the first file that
/// defines it, and `generic.toml` goes last.
const FILES: &[&str] = &[
    "cloud.toml",
    "infra.toml",
    "scm.toml",
    "cicd.toml",
    "ai.toml",
    "messaging.toml",
    "payment.toml",
    "observability.toml",
    "identity.toml",
    "private-keys.toml",
    "database.toml",
    "framework.toml",
    "misc.toml",
    "cloud-devops.toml",
    "saas.toml",
    "ai-data-security.toml",
    "credential-files.toml",
    "iot.toml",
    "science.toml",
    "legacy-web.toml",
    "secops.toml",
    "middleware.toml",
    "telephony.toml",
    "network.toml",
    "generic.toml",
];

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/builtin_format.rs");
    println!("cargo:rerun-if-changed=src/lead.rs");
    println!("cargo:rerun-if-changed=src/hir_codec.rs");
    println!("cargo:rerun-if-changed=src/relax.rs");

    // Every file in rules/ is loaded: a new file that is not listed fails the build rather
    // than silently not shipping.
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "crates/keysweep/rules/*.toml and the list in build.rs differ"
    );

    let mut shapes = Vec::new();
    let mut patterns = Vec::new();
    let mut index = String::from(
        "/// `(file name, pre-parsed rule file)` of every built-in rule file, in load order.\n\
         pub(crate) const FILES: &[(&str, &[u8])] = &[\n",
    );
    for name in FILES {
        let path = dir.join(name);
        let src =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let table: Table = src
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut bytes = Vec::with_capacity(src.len());
        encode_table(&table, &mut bytes, name);
        if let Some(Value::Array(rules)) = table.get("rule") {
            shapes.extend(rules.iter().filter_map(|r| r.as_table()).filter_map(shape));
            for r in rules.iter().filter_map(|r| r.as_table()) {
                rule_patterns(r, &mut patterns);
            }
        }
        let bin = format!("{}.bin", name.trim_end_matches(".toml"));
        std::fs::write(out.join(&bin), &bytes).expect("write to OUT_DIR");
        writeln!(
            index,
            "    ({name:?}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{bin}\"))),"
        )
        .unwrap();
    }
    index.push_str("];\n");
    std::fs::write(out.join("builtin_files.rs"), index).expect("write to OUT_DIR");
    let prepared = write_shapes(shapes, &out) + &write_patterns(patterns, &out);
    std::fs::write(out.join("prepared.rs"), prepared).expect("write to OUT_DIR");
}

/// The regex texts of rule `r` (a table of a rule file) that a scan parses: its pattern,
/// rejects, allowed values and path patterns.
fn rule_patterns(r: &Table, out: &mut Vec<String>) {
    let text = |v: &Value| v.as_str().map(String::from);
    out.extend(r.get("pattern").and_then(text));
    let list = |key: &str| match r.get(key) {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    out.extend(
        list("reject")
            .iter()
            .filter_map(|x| x.get("pattern").and_then(text)),
    );
    out.extend(list("allow_values").iter().filter_map(text));
    for p in ["paths", "allow_paths"]
        .map(list)
        .iter()
        .flatten()
        .filter_map(text)
    {
        // The scanner also reads a path pattern without a leading `(?i)`, to find the file
        // names it can end with (`PathPatterns::of`).
        out.extend(p.strip_prefix("(?i)").map(String::from));
        out.push(p);
    }
}

/// Writes `hirs.bin`, the encodings of the built-in patterns and their relaxed forms
/// ([`relax::relax_repeats`]), and returns the source of their table for `prepared.rs`
/// (sorted by [`hir_codec::text_key`]). A pattern that does not parse is left out (loading
/// its rule reports it), and so is one whose encoding would not decode to the same `Hir` (it
/// is parsed at run time, as a user rule's pattern is).
fn write_patterns(mut patterns: Vec<String>, out: &Path) -> String {
    patterns.sort();
    patterns.dedup();
    let encoded = |hir: &regex_syntax::hir::Hir| {
        let mut bytes = Vec::new();
        hir_codec::encode(hir, &mut bytes);
        (hir_codec::decode(&bytes).as_ref() == Some(hir)).then_some(bytes)
    };
    let mut entries: Vec<(u64, Vec<u8>, Vec<u8>)> = patterns
        .iter()
        .filter_map(|text| {
            let hir = lead::parse(text).ok()?;
            let bytes = encoded(&hir)?;
            let relaxed = match relax::relax_repeats(&hir) {
                Some(r) => encoded(&r)?,
                None => Vec::new(),
            };
            Some((hir_codec::text_key(text), bytes, relaxed))
        })
        .collect();
    entries.sort_by_key(|e| e.0);
    // Two texts with one key (never seen) would be told apart by neither: both are parsed.
    let dup: std::collections::HashSet<u64> = entries
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .map(|w| w[0].0)
        .collect();
    entries.retain(|e| !dup.contains(&e.0));
    let mut blob = Vec::new();
    let mut src = String::from(
        "/// The parsed form of every built-in pattern, sorted by key.\n\
         static PATTERNS: &[Stored] = &[\n",
    );
    for (key, hir, relaxed) in &entries {
        let off = blob.len();
        blob.extend_from_slice(hir);
        blob.extend_from_slice(relaxed);
        writeln!(
            src,
            "    Stored {{ key: {key:#x}, off: {off}, len: {}, relaxed_len: {} }},",
            hir.len(),
            relaxed.len()
        )
        .unwrap();
    }
    src.push_str(
        "];\n/// The encodings [`PATTERNS`] point into.\n\
         static HIRS: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/hirs.bin\"));\n",
    );
    std::fs::write(out.join("hirs.bin"), blob).expect("write to OUT_DIR");
    src
}

/// What `src/prepared.rs` reads for one built-in rule.
struct Shape {
    key: u64,
    lead: Option<usize>,
    max_len: Option<usize>,
    /// For a rule with a lead: the bytes its matches can begin with, as four 64-bit words.
    first_bytes: Option<[u64; 4]>,
    /// The gate DFA, as `gate_table` writes it.
    gate: Option<Vec<u8>>,
    /// With a gate: per keyword (in the rule's order), the bytes that may follow a hit of it
    /// ([`follow_sets`]), as four 64-bit words.
    follow: Vec<[u64; 4]>,
    /// For a rule with no lead (searched in windows): its sweep, the gate of its whole
    /// pattern searched unanchored over a window ([`gate`]), as `gate_table` writes it.
    sweep: Option<Vec<u8>>,
}

/// A gate larger than this is not kept (the rule is then compiled at its first hit, as a rule
/// with no gate is): a few rules with wide alternations of overlapping classes determinize
/// into tens of kilobytes.
const GATE_MAX_BYTES: usize = 128 << 10;

/// The shape of rule `r` (a table of a rule file), or `None` for one whose pattern does not
/// parse (loading it reports that).
fn shape(r: &Table) -> Option<Shape> {
    let pattern = r.get("pattern")?.as_str()?;
    let keywords: Vec<String> = match r.get("keywords") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|k| k.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    let case_sensitive = r
        .get("case_sensitive")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let hir = lead::parse(pattern).ok()?;
    let lead = lead::keyword_lead(&hir, &keywords, case_sensitive);
    // A rule whose matches start next to its keywords has a gate searched anchored at
    // those few starts, where it dies within a few bytes of most hits. A rule searched in
    // windows has one when its matches go on from a keyword at a point of the pattern
    // ([`suffix_at_keyword`]): searched anchored at a hit, it tells whether a match can
    // go on from there, and a window it turns away is not searched.
    let gate = match lead {
        Some(_) => gate(&hir, Anchored::Yes),
        None => {
            suffix_at_keyword(&hir, &keywords, case_sensitive).and_then(|s| gate(&s, Anchored::Yes))
        }
    };
    // A window is searched only where its rule's sweep matches in it: most windows of most
    // such rules hold no match (a scan of rails' sources compiled 84 rules that never
    // matched, most of them searched in windows).
    let sweep = match lead {
        Some(_) => None,
        None => self::gate(&hir, Anchored::No),
    };
    let follow = gate.as_deref().map_or_else(Vec::new, |g| {
        follow_sets(g, lead.unwrap_or(0), &keywords, case_sensitive)
    });
    Some(Shape {
        key: lead::shape_key(pattern, &keywords, case_sensitive),
        lead,
        max_len: hir.properties().maximum_len(),
        first_bytes: lead
            .filter(|&l| l > 0)
            .and_then(|_| lead::first_bytes(&hir))
            .map(|set| {
                let mut words = [0u64; 4];
                for b in (0..256).filter(|&b| set[b]) {
                    words[b >> 6] |= 1 << (b & 63);
                }
                words
            }),
        gate,
        follow,
        sweep,
    })
}

/// Per keyword of a rule, the bytes that may follow a hit of it, read off the rule's gate (a
/// table of [`gate_table`]), searched anchored up to `lead` bytes before the hit: the states
/// the gate can be in after any `lead` bytes or fewer from one of its starts, then the
/// keyword's bytes (either case unless `case_sensitive`), and a byte may follow where one of
/// them does not die on it. A hit followed by another byte is one where the gate turns away
/// every start, so the scan skips it without walking the gate. Where the gate can match or
/// give up on the way, every byte may follow.
fn follow_sets(
    gate: &[u8],
    lead: usize,
    keywords: &[String],
    case_sensitive: bool,
) -> Vec<[u64; 4]> {
    const ANY: [u64; 4] = [u64::MAX; 4];
    let word = |i: usize| usize::from(u16::from_le_bytes([gate[2 * i], gate[2 * i + 1]]));
    let (states, narrow, columns, first_plain) =
        (word(0), word(1) & 0x8000 != 0, word(1) & 0x7fff, word(2));
    let classes = &gate[16..16 + 256];
    let table = &gate[16 + 256..];
    let next = |s: usize, class: u8| -> usize {
        let i = s * columns + usize::from(class);
        if narrow {
            usize::from(table[i])
        } else {
            usize::from(u16::from_le_bytes([table[2 * i], table[2 * i + 1]]))
        }
    };
    // The states after `lead` bytes or fewer; every byte may follow where a match or a quit
    // comes first.
    let mut live = vec![false; states];
    let mut set: Vec<usize> = (3..8).map(word).collect();
    set.sort_unstable();
    set.dedup();
    for &s in &set {
        live[s] = true;
    }
    let mut frontier = set.clone();
    for _ in 0..lead {
        let mut grown = Vec::new();
        for &s in &frontier {
            if s < first_plain {
                return vec![ANY; keywords.len()];
            }
            for class in 0..columns - 1 {
                let t = next(s, class as u8);
                if t != 0 && !live[t] {
                    live[t] = true;
                    grown.push(t);
                }
            }
        }
        if grown.is_empty() {
            break;
        }
        set.extend_from_slice(&grown);
        frontier = grown;
    }
    if set.iter().any(|&s| s < first_plain) {
        return vec![ANY; keywords.len()];
    }
    keywords
        .iter()
        .map(|kw| {
            let mut at = set.clone();
            for &b in kw.as_bytes() {
                let mut after: Vec<usize> = Vec::new();
                let cases = if case_sensitive {
                    [b, b]
                } else {
                    [b.to_ascii_lowercase(), b.to_ascii_uppercase()]
                };
                for &s in &at {
                    for c in cases {
                        let t = next(s, classes[usize::from(c)]);
                        if t != 0 && !after.contains(&t) {
                            after.push(t);
                        }
                    }
                }
                if after.iter().any(|&s| s < first_plain) {
                    return ANY;
                }
                at = after;
            }
            let mut words = [0u64; 4];
            for b in 0..=255u8 {
                if at.iter().any(|&s| next(s, classes[usize::from(b)]) != 0) {
                    words[usize::from(b >> 6)] |= 1 << (b & 63);
                }
            }
            words
        })
        .collect()
}

/// The gate of a pattern: an anchored DFA for a language that holds every match of the
/// pattern, determinized with no capture groups and every counted repetition loosened
/// ([`loosen`]: `{20,40}` becomes `{8,}` while the gate stays within 32 KiB, else `{1,}`;
/// counting is what makes a rule's DFA big), so that it turns away hits where no value of
/// the rule's least length follows. When even the loosest is larger than [`GATE_MAX_BYTES`],
/// the gate of the pattern's first items ([`truncate`]) within [`TRUNCATED_GATE_MAX_BYTES`];
/// `None` when that is too large as well.
///
/// With `Anchored::No`, a sweep: the same DFA searched unanchored, which matches in a window
/// that holds a match of the pattern.
fn gate(hir: &regex_syntax::hir::Hir, anchored: Anchored) -> Option<Vec<u8>> {
    let limit = match anchored {
        Anchored::No => SWEEP_MAX_BYTES,
        _ => GATE_MAX_BYTES,
    };
    GATE_KEEP
        .iter()
        .find_map(|&(keep, max)| {
            gate_keeping(hir, keep, anchored).filter(|g| g.len() <= max.min(limit))
        })
        .or_else(|| {
            // Too large even loosened (the wide alternations of the prose and table rules):
            // the gate of the pattern's first few items ([`truncate`]), most items first.
            // Every match of the rule begins with a match of its first items, so the gate
            // still lets every match through; it turns away the hits where even those fail.
            GATE_ITEMS.iter().find_map(|&items| {
                gate_keeping(&truncate(hir, items), 1, anchored)
                    .filter(|g| g.len() <= TRUNCATED_GATE_MAX_BYTES)
            })
        })
}

/// A sweep larger than this is not kept: an unanchored DFA grows faster than an anchored one,
/// and the largest (a tenth of them) were over half the bytes of all sweeps.
const SWEEP_MAX_BYTES: usize = 64 << 10;

/// How many items of each concatenation a truncated gate keeps, tried in this order.
const GATE_ITEMS: [usize; 5] = [8, 6, 4, 3, 2];

/// A truncated gate is kept within this size: it is walked at every hit of its rule's
/// keywords that its follow set lets through.
const TRUNCATED_GATE_MAX_BYTES: usize = 32 << 10;

/// The first `items` items of `hir` (after captures and nested concatenations are flattened),
/// and of each branch of an alternation the same; a run of literals and one-byte classes is
/// one item (under `(?i)` a keyword is a class per letter, and a gate of its letters alone
/// turns nothing away). Each string `hir` matches begins with one this matches.
fn truncate(hir: &regex_syntax::hir::Hir, items: usize) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Hir, HirKind};
    let mut all = Vec::new();
    flatten(hir, &mut all);
    if let [only] = &all[..] {
        if let HirKind::Alternation(branches) = only.kind() {
            return Hir::alternation(branches.iter().map(|b| truncate(b, items)).collect());
        }
    }
    let (mut kept, mut runs, mut in_run) = (Vec::new(), 0, false);
    for item in all {
        let p = item.properties();
        let fixed = matches!(item.kind(), HirKind::Literal(_))
            || (p.minimum_len() == Some(1) && p.maximum_len() == Some(1));
        if !(fixed && in_run) {
            runs += 1;
        }
        if runs > items {
            break;
        }
        in_run = fixed;
        kept.push(item);
    }
    Hir::concat(kept)
}

/// The items of `hir` as one concatenation: captures and nested concatenations opened up.
fn flatten(h: &regex_syntax::hir::Hir, out: &mut Vec<regex_syntax::hir::Hir>) {
    use regex_syntax::hir::HirKind;
    match h.kind() {
        HirKind::Concat(items) => items.iter().for_each(|i| flatten(i, out)),
        HirKind::Capture(c) => flatten(&c.sub, out),
        _ => out.push(h.clone()),
    }
}

/// Counted occurrences a gate keeps and the size it may have then, most first: the first
/// that gives a gate within its size is taken.
const GATE_KEEP: [(u32, usize); 2] = [(8, 32 << 10), (1, GATE_MAX_BYTES)];

fn gate_keeping(hir: &regex_syntax::hir::Hir, keep: u32, anchored: Anchored) -> Option<Vec<u8>> {
    use regex_automata::dfa::{dense, StartKind};
    use regex_automata::nfa::thompson;
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .utf8(false)
                .which_captures(thompson::WhichCaptures::None),
        )
        .build_from_hir(&loosen(hir, keep))
        .ok()?;
    let dfa = dense::Builder::new()
        .configure(
            dense::Config::new()
                .start_kind(match anchored {
                    Anchored::No => StartKind::Unanchored,
                    _ => StartKind::Anchored,
                })
                .minimize(false)
                .dfa_size_limit(Some(4 << 20))
                .determinize_size_limit(Some(8 << 20)),
        )
        .build_from_nfa(&nfa)
        .ok()?;
    let bytes = gate_table(&dfa, anchored)?;
    (bytes.len() <= GATE_MAX_BYTES).then_some(bytes)
}

/// A gate DFA as the table `src/prepared.rs` walks (all numbers u16, little-endian): the
/// number of states, of columns (the byte classes and end of input), the first state that is
/// neither dead, quit nor a match; the start states after no byte, `\n`, `\r`, a word byte
/// and another byte; each byte's class (256 bytes); then a row of next states per state, one
/// per class and last the state after the end of input. State 0 is dead, 1 quits (the search
/// gives up, which lets the hit through), then come the match states (a match ends before the
/// byte that led there, as in regex-automata's DFAs). `None` past 65,536 states.
fn gate_table(
    dfa: &regex_automata::dfa::dense::DFA<Vec<u32>>,
    anchored: Anchored,
) -> Option<Vec<u8>> {
    use regex_automata::dfa::Automaton;
    use regex_automata::util::{primitives::StateID, start};
    use std::collections::{HashMap, HashSet};
    let classes = dfa.byte_classes();
    let mut reps: Vec<Option<u8>> = vec![None; classes.alphabet_len() - 1];
    for b in 0..=255u8 {
        reps[usize::from(classes.get(b))].get_or_insert(b);
    }
    let reps: Vec<u8> = reps.into_iter().collect::<Option<_>>()?;
    let starts: Vec<StateID> = [None, Some(b'\n'), Some(b'\r'), Some(b'a'), Some(b' ')]
        .into_iter()
        .map(|lb| {
            let config = start::Config::new().anchored(anchored).look_behind(lb);
            dfa.start_state(&config).ok()
        })
        .collect::<Option<_>>()?;
    // Every state reachable from a start, breadth-first.
    let mut seen: Vec<StateID> = Vec::new();
    let mut known: HashSet<StateID> = HashSet::new();
    for &s in &starts {
        if known.insert(s) {
            seen.push(s);
        }
    }
    let mut i = 0;
    while i < seen.len() {
        let s = seen[i];
        i += 1;
        if dfa.is_dead_state(s) || dfa.is_quit_state(s) {
            continue;
        }
        let next = reps.iter().map(|&b| dfa.next_state(s, b));
        for t in next.chain(std::iter::once(dfa.next_eoi_state(s))) {
            if known.insert(t) {
                seen.push(t);
            }
        }
    }
    // Dead, quit, the match states, the others.
    let live = |s: &&StateID| !dfa.is_dead_state(**s) && !dfa.is_quit_state(**s);
    let matching: Vec<StateID> = seen
        .iter()
        .filter(live)
        .filter(|s| dfa.is_match_state(**s))
        .copied()
        .collect();
    let others: Vec<StateID> = seen
        .iter()
        .filter(live)
        .filter(|s| !dfa.is_match_state(**s))
        .copied()
        .collect();
    let mut index: HashMap<StateID, u16> = HashMap::new();
    for (i, &s) in matching.iter().chain(&others).enumerate() {
        index.insert(s, u16::try_from(i + 2).ok()?);
    }
    let id = |s: StateID| -> u16 {
        if dfa.is_dead_state(s) {
            0
        } else if dfa.is_quit_state(s) {
            1
        } else {
            index[&s]
        }
    };
    let states = u16::try_from(2 + matching.len() + others.len()).ok()?;
    let columns = u16::try_from(reps.len() + 1).ok()?;
    // Cells of one byte when every state number fits in one (most gates), else two; the
    // header's column count says which in its top bit.
    let narrow = states <= 256 && columns < 0x8000;
    let mut out = Vec::new();
    let put = |v: u16, out: &mut Vec<u8>| out.extend_from_slice(&v.to_le_bytes());
    let cell = |v: u16, out: &mut Vec<u8>| {
        if narrow {
            out.push(v as u8);
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    };
    put(states, &mut out);
    put(columns | if narrow { 0x8000 } else { 0 }, &mut out);
    put(u16::try_from(2 + matching.len()).ok()?, &mut out);
    for &s in &starts {
        put(id(s), &mut out);
    }
    out.extend((0..=255u8).map(|b| classes.get(b)));
    for fixed in [0u16, 1] {
        for _ in 0..columns {
            cell(fixed, &mut out);
        }
    }
    for &s in matching.iter().chain(&others) {
        for &b in &reps {
            cell(id(dfa.next_state(s, b)), &mut out);
        }
        cell(id(dfa.next_eoi_state(s)), &mut out);
    }
    Some(out)
}

/// The part of a pattern that every match holds from one of its keywords on: the items of its
/// top concatenation (capture groups opened) from the first one that starts with a keyword, as
/// the keyword automaton compares them (`src/lead.rs`). Each match holds a keyword hit where
/// this part matches anchored; a hit where it cannot is not where any match holds its keyword
/// there. `None` when no such item is found. (Called for rules with no lead, whose first item
/// does not start with a keyword.)
///
/// An alternation (the whole pattern, or an item of its concatenation) has such a part when
/// each of its branches, followed by the items after the alternation, has one: their
/// alternation. A match then holds a keyword hit where one of them matches anchored.
fn suffix_at_keyword(
    hir: &regex_syntax::hir::Hir,
    keywords: &[String],
    case_sensitive: bool,
) -> Option<regex_syntax::hir::Hir> {
    use regex_syntax::hir::{Hir, HirKind};
    let mut items = Vec::new();
    flatten(hir, &mut items);
    for k in 0..items.len() {
        let rest = Hir::concat(items[k..].to_vec());
        if lead::starts_with_keyword(&rest, keywords, case_sensitive) {
            return Some(rest);
        }
        match items[k].kind() {
            // A keyword may begin inside a literal (`--requirepass` holds `requirepass`).
            HirKind::Literal(lit) => {
                for j in 1..lit.0.len() {
                    let mut rest = vec![Hir::literal(&lit.0[j..])];
                    rest.extend_from_slice(&items[k + 1..]);
                    let rest = Hir::concat(rest);
                    if lead::starts_with_keyword(&rest, keywords, case_sensitive) {
                        return Some(rest);
                    }
                }
            }
            // Each branch, followed by what follows the alternation (a keyword may reach
            // past the branch's end).
            HirKind::Alternation(branches) => {
                let parts: Option<Vec<Hir>> = branches
                    .iter()
                    .map(|b| {
                        let mut then = vec![b.clone()];
                        then.extend_from_slice(&items[k + 1..]);
                        suffix_at_keyword(&Hir::concat(then), keywords, case_sensitive)
                    })
                    .collect();
                if let Some(parts) = parts {
                    return Some(Hir::alternation(parts));
                }
            }
            _ => {}
        }
    }
    None
}

/// `hir` without capture groups, its repetitions loosened to at most `keep` counted
/// occurrences: `{m,n}` becomes `{min(m, keep),}`, or stays when `n <= keep`.
fn loosen(hir: &regex_syntax::hir::Hir, keep: u32) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Hir, HirKind, Repetition};
    match hir.kind() {
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min.min(keep),
            max: r.max.filter(|&m| m <= keep),
            greedy: r.greedy,
            sub: Box::new(loosen(&r.sub, keep)),
        }),
        HirKind::Capture(c) => loosen(&c.sub, keep),
        HirKind::Concat(items) => Hir::concat(items.iter().map(|h| loosen(h, keep)).collect()),
        HirKind::Alternation(items) => {
            Hir::alternation(items.iter().map(|h| loosen(h, keep)).collect())
        }
        _ => hir.clone(),
    }
}

/// Writes `gates.bin` (the gates) and returns the source of the table of the shapes (sorted by
/// key) for `prepared.rs`.
fn write_shapes(mut shapes: Vec<Shape>, out: &Path) -> String {
    shapes.sort_by_key(|s| s.key);
    shapes.dedup_by_key(|s| s.key);
    let mut gates = Vec::new();
    let mut follows = Vec::new();
    let mut src = String::from(
        "/// The shape of each built-in rule, sorted by key.\n\
         static SHAPES: &[Entry] = &[\n",
    );
    for s in &shapes {
        let mut put = |gate: &Option<Vec<u8>>| match gate {
            Some(bytes) => {
                gates.extend_from_slice(bytes);
                (gates.len() - bytes.len(), bytes.len())
            }
            None => (0, 0),
        };
        let (off, len) = put(&s.gate);
        let (sweep_off, sweep_len) = put(&s.sweep);
        let follow_off = follows.len() / 32;
        for set in &s.follow {
            for w in set {
                follows.extend_from_slice(&w.to_le_bytes());
            }
        }
        let follow_len = s.follow.len();
        let fb = s.first_bytes.unwrap_or([u64::MAX; 4]);
        let n = |v: Option<usize>| v.map_or(u32::MAX, |v| u32::try_from(v).unwrap_or(u32::MAX - 1));
        writeln!(
            src,
            "    Entry {{ key: {:#x}, lead: {}, max_len: {}, off: {off}, len: {len}, \
             sweep_off: {sweep_off}, sweep_len: {sweep_len}, \
             follow_off: {follow_off}, follow_len: {follow_len}, \
             first_bytes: [{:#x}, {:#x}, {:#x}, {:#x}] }},",
            s.key,
            n(s.lead),
            n(s.max_len),
            fb[0],
            fb[1],
            fb[2],
            fb[3]
        )
        .unwrap();
    }
    src.push_str(
        "];\n/// The gates and sweeps of [`SHAPES`], one after another.\n\
         static GATES: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/gates.bin\"));\n\
         /// The follow sets of [`SHAPES`], 32 bytes each (four little-endian u64 words).\n\
         static FOLLOWS: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/follows.bin\"));\n",
    );
    std::fs::write(out.join("gates.bin"), gates).expect("write to OUT_DIR");
    std::fs::write(out.join("follows.bin"), follows).expect("write to OUT_DIR");
    src
}

// The format, read back by `src/builtin.rs`: a value is one tag byte and its payload; lengths
// and counts are u32, numbers 8 bytes, all little-endian.
include!("src/builtin_format.rs");

fn encode_len(n: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(&u32::try_from(n).expect("under 4 GiB").to_le_bytes());
}

fn encode_str(s: &str, out: &mut Vec<u8>) {
    encode_len(s.len(), out);
    out.extend_from_slice(s.as_bytes());
}

fn encode_table(t: &Table, out: &mut Vec<u8>, file: &str) {
    out.push(TABLE);
    encode_len(t.len(), out);
    for (k, v) in t {
        encode_str(k, out);
        encode_value(v, out, file);
    }
}

fn encode_value(v: &Value, out: &mut Vec<u8>, file: &str) {
    match v {
        Value::String(s) => {
            out.push(STRING);
            encode_str(s, out);
        }
        Value::Integer(i) => {
            out.push(INTEGER);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Float(f) => {
            out.push(FLOAT);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Boolean(b) => {
            out.push(BOOLEAN);
            out.push(u8::from(*b));
        }
        Value::Array(a) => {
            out.push(ARRAY);
            encode_len(a.len(), out);
            for v in a {
                encode_value(v, out, file);
            }
        }
        Value::Table(t) => encode_table(t, out, file),
        Value::Datetime(d) => panic!("rules/{file}: dates are not rule values ({d})"),
    }
}
