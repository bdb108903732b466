//! The compiled scanner: one keyword automaton, lazily compiled per-rule regexes, bounded
//! confirmation windows, then the entropy, placeholder and structural gates.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock};

use crate::keyword_dfa::KeywordDfa;
use crate::lead::{first_bytes, keyword_lead};
use crate::prepared::{has_byte, Shape};
use crate::relax::{relax_repeats, relaxed_bounds};
use aho_corasick::PatternID;
use regex_automata::meta::{self, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};

use crate::check;
use crate::decode::{self, Encoding};
use crate::extract::Extract;
use crate::filter::{
    entropy_floor, is_placeholder, is_public_value, looks_like_literal,
    looks_like_password_literal, shannon_entropy, trim_quotes,
};
use crate::fingerprint::Fingerprint;
use crate::pattern::{meta_config, parse_pattern, PREFIX_GROUP};
use crate::rule::{Confidence, Rule, RuleSet};
use crate::suppress::{inline_allows, Suppression};

/// The index of the virtual `prefix` group among the rejects' groups (no real group has it).
const PREFIX: usize = usize::MAX;
/// How far back the `prefix` group reaches.
const PREFIX_LEN: usize = 64;

/// Layers decoded by default: base64 inside a JSON string, a percent-encoded URL inside base64.
const DEFAULT_DECODE_DEPTH: usize = 2;
/// The deepest [`ScannerBuilder::decode_depth`] accepted: real data nests two or three layers;
/// each layer can multiply the work.
pub const MAX_DECODE_DEPTH: usize = 8;

/// Context (bytes on each side of a keyword hit) searched for a rule whose pattern has no upper
/// bound on its match length.
const UNBOUNDED_WINDOW: usize = 1024;
/// Largest context searched on each side of a keyword hit, whatever the pattern's bound.
const MAX_WINDOW: usize = 16 * 1024;
/// The overlap between chunks of a parallel scan: a match plus the window around its keyword.
const MAX_REACH: usize = 2 * MAX_WINDOW + 256;
/// A single-threaded scan of a buffer larger than twice this goes through it in chunks of this
/// size (as a parallel scan does), so the candidate lists of one pass never grow with the
/// input: a keyword on nearly every byte costs memory in proportion to the chunk.
const SERIAL_CHUNK: usize = 2 << 20;

/// How far a match (with the context its rule looks at) may reach across a chunk boundary.
/// A caller scanning a stream chunk by chunk with [`Scanner::scan_parallel_range`] keeps this
/// many bytes of context before each chunk and leaves this many after it unowned until the
/// next chunk (see its example).
pub const CHUNK_OVERLAP: usize = MAX_REACH;

/// A rule's compiled pattern, built the first time a scan needs it.
#[derive(Debug)]
struct Compiled {
    regex: Regex,
    /// Indexes of the capture groups named `secret`, `secret2`, ... (alternatives of one
    /// pattern cannot share a group name); the first that took part in a match is the secret.
    /// With each, whether it is named `secret_literal`, `secret_literal2`, ...: a value the
    /// syntax around it makes a literal (a shell argument in single quotes), which the test
    /// for code ([`Rule::literal_filter`]) then does not read.
    secret_groups: Vec<(usize, bool)>,
    /// Bytes searched on each side of a keyword hit.
    window: usize,
    /// Whether the pattern's matches have an upper bound on their length.
    bounded: bool,
    /// When `regex` was compiled with large repetitions unbounded ([`relax_repeats`]): the
    /// pattern as written, compiled on the first match to confirm (matches are rare; most
    /// rules never match in a given run and never pay for it). None for a rule with an
    /// extractor, whose match is only where its reader starts.
    exact: Option<Exact>,
    /// `Some(n)` when every match starts at most `n` bytes before one of the rule's keywords: a
    /// keyword hit then needs `n + 1` anchored searches, not a search of a window around it.
    keyword_lead: Option<usize>,
    /// For a rule with a keyword lead of a byte or more: the bytes a match can begin with
    /// ([`first_bytes`]). A hit's anchored tries skip the positions whose byte is not one
    /// (`\b(?:https?|ftp|...)` before `://`: most of the 15 bytes before a hit).
    first_bytes: Option<Box<[bool; 256]>>,
    /// The rule's own allowlist (`allow_values`), if any.
    allow: Option<Regex>,
    /// `rejects`: (capture group index, regex). Built on the first match that reaches them:
    /// most rules of a scan never match, and a generic rule has up to ten.
    rejects: Vec<(usize, LazyRegex)>,
    /// `parts`: (name, indexes of the groups `name`, `name2`, ... `name9`; the first that took
    /// part in a match is the part).
    parts: Vec<(Arc<str>, Vec<usize>)>,
    /// The rule's extractor, if any.
    extract: Option<Extract>,
    /// The capture group named `key` (the name a value is assigned to), if any.
    key_group: Option<usize>,
}

/// Compiles `rule`; its lead is taken from `shape` (a built-in rule's, worked out when keysweep
/// was built) when there is one.
fn compile(rule: &Rule, shape: Option<&Shape>) -> Result<Compiled, String> {
    // A built-in pattern is rebuilt from the parsed and relaxed forms the build script stored
    // (parsing was half of compiling a rule); with its shape known too, the pattern as written
    // is decoded only if a match needs it ([`Compiled::exact`]).
    let stored = crate::prepared::parsed(&rule.pattern);
    let mut relaxed = stored.and_then(|p| p.relaxed());
    let mut hir = None;
    if relaxed.is_none() || shape.is_none() {
        let parsed = match stored.and_then(|p| p.hir()) {
            Some(parsed) => parsed,
            None => {
                let parsed = parse_pattern(&rule.pattern)?;
                relaxed = relax_repeats(&parsed);
                parsed
            }
        };
        hir = Some(parsed);
    }
    let (max_len, keyword_lead, lead_bytes) = match (shape, &hir) {
        (Some(shape), _) => (shape.max_len, shape.lead, shape.first_bytes.clone()),
        (None, Some(hir)) => {
            let lead = keyword_lead(hir, &rule.keywords, rule.case_sensitive);
            let bytes = lead
                .is_some_and(|l| l > 0)
                .then(|| first_bytes(hir))
                .flatten();
            (hir.properties().maximum_len(), lead, bytes)
        }
        (None, None) => unreachable!("parsed above when there is no shape"),
    };
    // No prefilter: a rule's regex searches a window around a keyword hit (or, anchored, from
    // positions next to it), which the keyword search has found already; extracting the
    // literals a prefilter needs was a fifth of compiling a rule.
    let mut config = meta_config().auto_prefilter(false);
    if keyword_lead.is_some() && max_len.is_some_and(|l| l <= LONG_ANCHORED_WINDOW) {
        // Searched only anchored at keyword hits. Over a short window onepass or the bounded
        // backtracker find the captures at once, and the lazy DFA (with the reverse NFA it
        // needs) would cost more to build than it saves. Over a long one (the generic rules:
        // up to a line of trailing comment), the backtracker first clears a visited set of NFA
        // states times the window at every hit, where most hits fail within a few bytes: the
        // lazy DFA rejects those for the price of a few transitions, and captures are sought
        // only in a match.
        config = config.hybrid(false);
    }
    let regex = Regex::builder()
        .configure(config.clone())
        .build_from_hir(
            relaxed
                .as_ref()
                .or(hir.as_ref())
                .expect("one of them is set"),
        )
        .map_err(|e| e.to_string())?;
    let names: Vec<Option<&str>> = regex
        .group_info()
        .pattern_names(regex_automata::PatternID::ZERO)
        .collect();
    let secret_groups = names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let name = name.filter(|n| n.starts_with("secret"))?;
            Some((i, name.starts_with("secret_literal")))
        })
        .collect();
    let allow = if rule.allow_values.is_empty() {
        None
    } else {
        let hirs = rule
            .allow_values
            .iter()
            .map(|p| parse_pattern(p))
            .collect::<Result<Vec<_>, _>>()?;
        Some(
            Regex::builder()
                .configure(meta_config())
                .build_many_from_hir(&hirs)
                .map_err(|e| e.to_string())?,
        )
    };
    let mut rejects = Vec::new();
    for r in &rule.rejects {
        let index = if r.group == PREFIX_GROUP {
            PREFIX
        } else {
            names
                .iter()
                .position(|n| *n == Some(r.group.as_str()))
                .ok_or_else(|| format!("reject: no group named {:?}", r.group))?
        };
        let pattern = LazySource::Text(r.pattern.clone());
        // Tested on a group's text (a value or a key, bytes long), never searched for: no
        // prefilter, and no lazy DFA with the reverse NFA it needs built for that.
        rejects.push((
            index,
            LazyRegex::new(pattern, meta_config().auto_prefilter(false).hybrid(false)),
        ));
    }
    let parts = rule
        .parts
        .iter()
        .map(|p| {
            let groups: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| n.is_some_and(|n| is_part_group(n, p)))
                .map(|(i, _)| i)
                .collect();
            if groups.is_empty() {
                return Err(format!("parts: no group named {p:?}"));
            }
            Ok((Arc::from(p.as_str()), groups))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let key_group = names.iter().position(|n| *n == Some("key"));
    Ok(Compiled {
        extract: rule.extract,
        key_group,
        parts,
        first_bytes: lead_bytes,
        keyword_lead,
        allow,
        rejects,
        regex,
        secret_groups,
        window: window(max_len),
        bounded: max_len.is_some(),
        // The pattern as written only confirms a relaxed match, anchored at its start: the
        // lazy DFA, and the reverse NFA it needs to find starts, would not be searched.
        // An extractor's match is only the anchor its reader starts from (a table's header, an
        // INSERT's column list), which reads and judges every value itself: a relaxed anchor
        // is confirmed by that reading, not by compiling and searching the pattern again.
        exact: (relaxed.is_some() && rule.extract.is_none()).then(|| {
            let source = match (hir, stored) {
                (Some(hir), _) => LazySource::Parsed(hir),
                (None, Some(stored)) => LazySource::Stored(stored.encoded()),
                (None, None) => unreachable!("parsed above when not stored"),
            };
            Exact {
                regex: LazyRegex::new(source, config.hybrid(false)),
                bounds: OnceLock::new(),
            }
        }),
    })
}

/// A relaxed rule's pattern as written ([`Compiled::exact`]).
#[derive(Debug)]
struct Exact {
    regex: LazyRegex,
    /// [`relaxed_bounds`] of the pattern, worked out at the first relaxed match: a match within
    /// them needs no search of `regex`, which is then never compiled.
    bounds: OnceLock<Option<Vec<(usize, usize)>>>,
}

/// Whether the key `text[start..]` names a password (`password`, `db_pass`, `PWD`): a generic
/// rule's value assigned to it is tested as a password literal (`Welcome2024!` is no
/// identifier there). So does a `secret` that is the whole key or follows `shared` or
/// `enable` (`secret:`, `"pre-shared-secret":`, `enable_secret =`): netmiko's enable secret,
/// a VPN's or a RADIUS client's shared secret are chosen by people. Other `*_secret` keys
/// (`client_secret`, `sshKeySecret`) hold random values or the names of secrets.
fn names_password(text: &[u8], start: usize) -> bool {
    let key = &text[start..];
    let has = |word: &[u8]| {
        key.windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    };
    // The word in other languages (`Kennwort`, `contraseña`, `senha`, `hasło`).
    const LOCALIZED: [&[u8]; 8] = [
        b"kennwort",
        b"contrase",
        b"senha",
        b"wachtwoord",
        b"has\xC5\x82o",
        b"haslo",
        b"salasana",
        b"l\xC3\xB6senord",
    ];
    if has(b"pass") || has(b"pwd") || LOCALIZED.iter().any(|w| has(w)) {
        return true;
    }
    if !crate::filter::trim_quotes(key).eq_ignore_ascii_case(b"secret") {
        return false;
    }
    let before = &text[..start];
    let follows = |w: &[u8]| {
        before.len() > w.len()
            && before[before.len() - w.len() - 1..before.len() - 1].eq_ignore_ascii_case(w)
            && matches!(before[before.len() - 1], b'-' | b'_' | b' ')
    };
    // Joined to a word before it (`client_secret`, `sshKeySecret`, `api secret`), unless
    // that word is `shared` or `enable`; indentation and quotes do not join.
    let joined = match before.last() {
        Some(&b) if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.') => true,
        Some(b' ') => before[..before.len() - 1]
            .last()
            .is_some_and(u8::is_ascii_alphanumeric),
        _ => false,
    };
    !joined || follows(b"shared") || follows(b"enable")
}

/// The entropy a password must have under a generic rule (`generic.password.quoted`'s
/// `min_entropy`): `Summer2024!` has 3.1 bits, `aaaaaaaa1` 0.5.
const PASSWORD_MIN_ENTROPY: f64 = 2.8;

/// Whether the name at `key` in `hay` (with the rest of the name around it: a keyword-anchored
/// pattern may start or end inside a name) says its value is encrypted: `encrypted` or `ciphertext`
/// in it (`encryption` names a key, which is a secret).
fn names_encrypted(hay: &[u8], key: Range<usize>) -> bool {
    // The segment of a dotted name that holds the key: `xpack.encryptedSavedObjects.
    // encryptionKey` names a key.
    let name_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-');
    let before = hay[key.start.saturating_sub(64)..key.start]
        .iter()
        .rev()
        .take_while(|b| name_byte(b))
        .count();
    let after = hay[key.end..(key.end + 64).min(hay.len())]
        .iter()
        .take_while(|b| name_byte(b))
        .count();
    let name = &hay[key.start - before..key.end + after];
    [&b"encrypted"[..], b"ciphertext", b"cipher_text"]
        .iter()
        .any(|w| name.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w)))
}

/// Bytes searched on each side of a keyword hit for a rule whose longest match is `max_len`.
fn window(max_len: Option<usize>) -> usize {
    max_len.map_or(UNBOUNDED_WINDOW, |l| l.min(MAX_WINDOW))
}

impl Compiled {
    /// For a rule compiled relaxed: whether the pattern as written matches at `start` (within
    /// `..end`), its captures then in `caps` in place of the relaxed regex's. Always true for
    /// other rules, and for a relaxed match within the pattern's [`relaxed_bounds`] (most
    /// values are far shorter than their bound): the pattern as written finds that same match
    /// and is neither compiled nor searched.
    fn exact_match(
        &self,
        cache: &mut Option<Box<meta::Cache>>,
        caps: &mut Captures,
        hay: &[u8],
        start: usize,
        end: usize,
    ) -> bool {
        let Some(exact) = self.exact.as_ref() else {
            return true;
        };
        let bounds = exact
            .bounds
            .get_or_init(|| relaxed_bounds(&*exact.regex.hir()?));
        let within = |&(group, bytes): &(usize, usize)| {
            caps.get_group(group).map_or(0, |m| m.len()) <= bytes
        };
        if bounds.as_ref().is_some_and(|b| b.iter().all(within)) {
            return true;
        }
        let Some(exact) = exact.regex.get() else {
            return true;
        };
        let cache = cache.get_or_insert_with(|| Box::new(exact.create_cache()));
        let input = Input::new(hay).span(start..end).anchored(Anchored::Yes);
        exact.search_captures_with(cache, &input, caps);
        caps.is_match()
    }
}

/// A regex compiled when first needed: a relaxed rule's pattern as written
/// ([`Compiled::exact`]), parsed already, and the rule's rejects, parsed then too. `get` is
/// `None` for one that does not compile: a rule's patterns are checked when it is loaded
/// ([`Rule::validate`]), so only the NFA size limit is left, which an exact pattern may pass
/// (its relaxed matches then stand) and a reject does not come near (it would match nothing,
/// and [`Scanner::compile_all`] reports it).
#[derive(Debug)]
struct LazyRegex {
    source: LazySource,
    config: meta::Config,
    regex: OnceLock<Option<Regex>>,
}

#[derive(Debug)]
enum LazySource {
    Parsed(regex_syntax::hir::Hir),
    /// A built-in pattern's stored parse ([`crate::prepared::parsed`]).
    Stored(&'static [u8]),
    /// Parsed when needed (from its stored form if it is a built-in pattern).
    Text(String),
}

impl LazyRegex {
    fn new(source: LazySource, config: meta::Config) -> LazyRegex {
        LazyRegex {
            source,
            config,
            regex: OnceLock::new(),
        }
    }

    fn get(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| {
                Regex::builder()
                    .configure(self.config.clone())
                    .build_from_hir(&*self.hir()?)
                    .ok()
            })
            .as_ref()
    }

    /// The parsed pattern (decoded or parsed now, unless it is parsed already).
    fn hir(&self) -> Option<std::borrow::Cow<'_, regex_syntax::hir::Hir>> {
        use std::borrow::Cow;
        match &self.source {
            LazySource::Parsed(hir) => Some(Cow::Borrowed(hir)),
            LazySource::Stored(bytes) => crate::hir_codec::decode(bytes).map(Cow::Owned),
            LazySource::Text(pattern) => crate::prepared::parse(pattern).ok().map(Cow::Owned),
        }
    }

    fn is_match(&self, haystack: &[u8]) -> bool {
        self.get().is_some_and(|re| re.is_match(haystack))
    }
}

/// Whether a capture group named `group` holds the part `part`: `key_id`, or an alternative's
/// `key_id2` ... `key_id9` (one pattern cannot name two groups alike).
pub(crate) fn is_part_group(group: &str, part: &str) -> bool {
    group == part
        || group
            .strip_prefix(part)
            .is_some_and(|d| d.len() == 1 && (b'2'..=b'9').contains(&d.as_bytes()[0]))
}

/// Longest match of a keyword-anchored rule that is still searched without the lazy DFA.
const LONG_ANCHORED_WINDOW: usize = 256;

/// What a hit of one automaton pattern (a distinct lowercased keyword) triggers.
#[derive(Debug, Default)]
struct Keyword {
    triggers: Vec<Trigger>,
    /// One of [`JOINTS`]: a hit is where a string literal may go on on the next line.
    joint: bool,
    /// Per trigger, the bytes that may follow a hit ([`Shape::follow_set`]), one bit each:
    /// read from the rules' shapes at the keyword's first hit, and kept side by side, so that
    /// the hits of a keyword many rules share (`password`) skip most of its triggers for one
    /// load each.
    follow: OnceLock<Box<[[u64; 4]]>>,
}

#[derive(Debug)]
struct Trigger {
    rule: u32,
    /// The keyword's place in the rule's keywords (its follow set, [`prepared::Shape`]).
    keyword: u16,
    /// For a keyword longer than its automaton pattern ([`KEYWORD_PREFIX`], [`pattern_len`]):
    /// the whole keyword (lowercase), which a hit of its prefix must go on to.
    full: Option<Box<[u8]>>,
    /// For a case-sensitive keyword, the exact bytes a hit must have.
    exact: Option<Box<[u8]>>,
}

/// Keywords are searched for by at most their first this many bytes, and a longer keyword is
/// compared whole at each hit of its prefix. The automaton's states grow with the keywords'
/// total length, and the scan's hot loop is its transition table; prefix hits that do not go on
/// cost a comparison each. Over 1,705 rules (2026-12-08, a rails worktree scan against the cut
/// at 8): at 6 bytes it took about 6 % longer (prefix hits of `passwo`, `secret`), at 12 and 16
/// 1 to 3 % less (wall and user time), within a run's noise of each other.
const KEYWORD_PREFIX: usize = 12;

/// How many of a lowercased keyword's bytes its automaton pattern holds: [`KEYWORD_PREFIX`] at
/// most, and of a keyword in another script (`hasło`, `пароль`, `密码`) its ASCII head and the
/// lead byte of its first non-ASCII character. Each distinct byte of the patterns is a column
/// of the automaton's transition table, and UTF-8 continuation bytes would add dozens of them
/// (a table twice as wide to build and walk, for every input); lead bytes are a handful, and
/// the whole keyword is compared at each hit.
fn pattern_len(lower: &[u8]) -> usize {
    let cut = lower
        .iter()
        .position(|&b| b >= 0x80)
        .map_or(KEYWORD_PREFIX, |i| (i + 1).min(KEYWORD_PREFIX));
    lower.len().min(cut)
}

/// Line ends after which a value split across string literals may go on
/// ([`Encoding::Joined`]): a quote, or a joiner (`+`, a `\` continuation, Visual Basic's
/// `_`, PHP's `.` after a quote), before `\n` or `\r`. They are searched with the keywords,
/// in the same pass, rather than in a walk over every line of the input (which cost 4 % of a
/// scan).
const JOINTS: [&[u8]; 18] = [
    b"\"\n", b"'\n", b"\"\r", b"'\r", b"+\n", b"+\r", b"\\\n", b"\\\r", b"_\n", b"_\r", b"\".\n",
    b"'.\n", b"\" .\n", b"' .\n", b"\".\r", b"'.\r", b"\" .\r", b"' .\r",
];

/// The automaton's patterns (distinct lowercased keywords, cut by [`pattern_len`]), what each
/// triggers, the rules without keywords, and how many patterns come first because a rule
/// that runs on every file has them; the others, after them, belong only to rules scoped to
/// some files ([`Rule::paths`]) and are looked for only in those files.
fn keyword_table(rules: &[Rule]) -> (Vec<Vec<u8>>, Vec<Keyword>, Vec<u32>, usize) {
    let mut patterns: Vec<Vec<u8>> = Vec::new();
    let mut keywords: Vec<Keyword> = Vec::new();
    let mut slot_of: std::collections::HashMap<Vec<u8>, usize> = std::collections::HashMap::new();
    let mut keywordless = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        if rule.keywords.is_empty() {
            keywordless.push(i as u32);
            continue;
        }
        for (k, kw) in rule.keywords.iter().enumerate() {
            let lower = kw.as_bytes().to_ascii_lowercase();
            let cut = pattern_len(&lower);
            let prefix = lower[..cut].to_vec();
            let slot = *slot_of.entry(prefix.clone()).or_insert_with(|| {
                patterns.push(prefix);
                keywords.push(Keyword::default());
                patterns.len() - 1
            });
            let full = (lower.len() > cut).then(|| Box::<[u8]>::from(lower));
            let exact = rule
                .case_sensitive
                .then(|| Box::<[u8]>::from(kw.as_bytes()));
            let triggers = &mut keywords[slot].triggers;
            if !triggers
                .iter()
                .any(|t| t.rule == i as u32 && t.exact == exact && t.full == full)
            {
                triggers.push(Trigger {
                    rule: i as u32,
                    keyword: u16::try_from(k).unwrap_or(u16::MAX),
                    full,
                    exact,
                });
            }
        }
    }
    // The ends of lines where a value split across string literals may go on (see
    // [`JOINTS`]), found in the same pass as the keywords: a rule set with keywords only.
    if !patterns.is_empty() {
        for joint in JOINTS {
            let slot = *slot_of.entry(joint.to_vec()).or_insert_with(|| {
                patterns.push(joint.to_vec());
                keywords.push(Keyword::default());
                patterns.len() - 1
            });
            keywords[slot].joint = true;
        }
    }
    // A pattern's triggers that name the same longer keyword side by side (`password` starts
    // `password ist`, `password es`, ... of one rule, 30 of them): a hit compares each such
    // keyword with the input once ([`Scanner::scan_range`]).
    for k in &mut keywords {
        k.triggers.sort_by(|a, b| a.full.cmp(&b.full));
    }
    // Stable: the patterns of unscoped rules first, in the order the rules name them.
    let unscoped = |k: &Keyword| {
        k.joint
            || k.triggers
                .iter()
                .any(|t| rules[t.rule as usize].paths.is_empty())
    };
    let (mut table, scoped_only): (Vec<_>, Vec<_>) = patterns
        .into_iter()
        .zip(keywords)
        .partition(|(_, k)| unscoped(k));
    let shared = table.len();
    table.extend(scoped_only);
    let (patterns, keywords) = table.into_iter().unzip();
    (patterns, keywords, keywordless, shared)
}

/// The path patterns of the rules scoped by path (`paths`, `allow_paths`), compiled on first
/// use. Most files are named nothing a path-scoped rule looks for: a `paths` pattern whose
/// matches end with a fixed name or name suffix is searched only for a file so named
/// ([`NameFilter`]), and a pre-commit run over a few source files compiles none of those. Every
/// other pattern is searched only on the paths that hold one of the literals each of its
/// matches holds ([`required_literals`]): `locale`, `i18n` or `translation` for a translations
/// directory, `.env`, `config` or `settings` for the files where weak passwords are reported.
#[derive(Debug, Default)]
struct PathPatterns {
    /// Rules with `paths` or `allow_paths`.
    rules: Vec<u32>,
    /// Every distinct path pattern, with the rules it belongs to.
    patterns: Vec<PathPattern>,
    /// The file names (lowercase) and name suffixes that `paths` patterns can end with, and
    /// the patterns that do: a file named otherwise is searched with none of them.
    names: NameFilter,
    /// The patterns `names` lists.
    named: Vec<u32>,
    /// The same for `allow_paths` patterns that end with names or name suffixes (compiled
    /// languages' extensions, `*.example`): kept apart from `names`, which also tells whether
    /// a file may be one a path-scoped rule runs on ([`Scanner::may_scope_name`]).
    allow_names: NameFilter,
    /// The patterns `allow_names` lists.
    allow_named: Vec<u32>,
    /// Every other pattern (any file of a directory), and the literals (lowercase) one of
    /// which each of its matches holds; none for a pattern searched on every path.
    rest: Vec<(u32, Vec<Vec<u8>>)>,
    /// Which patterns of `rest` a path holds a literal of, built on first use.
    rest_gate: OnceLock<RestGate>,
}

/// Where [`PathPatterns`] lists a pattern, which decides on which paths it is searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Listed {
    /// By the names its matches end with, for `paths` ([`PathPatterns::names`]).
    Names,
    /// The same for `allow_paths` ([`PathPatterns::allow_names`]).
    AllowNames,
    /// By the literals its matches hold, or on every path ([`PathPatterns::rest`]).
    Rest,
}

/// An automaton over the literals of the gated `rest` patterns (ASCII case ignored), and the
/// patterns searched on every path.
#[derive(Debug)]
struct RestGate {
    literals: Option<aho_corasick::AhoCorasick>,
    /// Per literal of the automaton: its pattern.
    pattern_of: Vec<u32>,
    always: Vec<u32>,
}

/// A path pattern, compiled on first use, and the rules it belongs to (rules share patterns:
/// the file-kind scopes of prose and fixtures).
#[derive(Debug)]
struct PathPattern {
    pattern: String,
    /// The rules, and whether the pattern is one of their `allow_paths`.
    owners: Vec<(u32, bool)>,
    /// The error when the pattern does not compile (a size limit: it was parsed), for
    /// [`Scanner::compile_all`]; the pattern then matches nothing.
    regex: OnceLock<Result<Regex, String>>,
    /// Whether the pattern matches exactly the paths whose file name its [`NameFilter`]
    /// lists (`\.(?:ya?ml|json)$`, the prose scopes): a name found there needs no search.
    by_name: bool,
    /// Whether the pattern matches exactly the paths with a directory named one of its gate
    /// literals ([`dir_components`]): a literal found there between slashes needs no search.
    by_dir: bool,
}

impl PathPattern {
    fn built(&self) -> &Result<Regex, String> {
        self.regex.get_or_init(|| path_regex(&self.pattern))
    }

    /// Calls `f(rule, allow)` for every rule of the pattern if it matches `path`.
    fn each_match(&self, path: &str, f: &mut impl FnMut(u32, bool)) {
        if self.built().as_ref().is_ok_and(|re| re.is_match(path)) {
            self.owners.iter().for_each(|&(rule, allow)| f(rule, allow));
        }
    }
}

/// The regex of a path pattern: whether it matches is all a scan asks. No prefilter: a path
/// is a few dozen bytes, and the literals of a case-insensitive pattern of file names, each
/// in every case variant, cost more to extract (about a million instructions a pattern) than
/// all the searches they would skip.
fn path_regex(pattern: &str) -> Result<Regex, String> {
    let hir = crate::prepared::parse(pattern)?;
    Regex::builder()
        .configure(
            meta_config()
                .auto_prefilter(false)
                .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit),
        )
        .build_from_hir(&hir)
        .map_err(|e| regex_reason(&e))
}

/// The branches of `hir` as whole patterns: an alternation's, or a concatenation's spread over
/// its alternation of the most branches (`(?:^|/)(?:a|b)$` is `(?:^|/)a$` or `(?:^|/)b$`).
fn top_branches(hir: &regex_syntax::hir::Hir) -> Vec<regex_syntax::hir::Hir> {
    use regex_syntax::hir::{Hir, HirKind};
    fn alternatives(hir: &Hir) -> Option<&[Hir]> {
        match hir.kind() {
            HirKind::Alternation(branches) => Some(branches),
            HirKind::Capture(c) => alternatives(&c.sub),
            _ => None,
        }
    }
    match hir.kind() {
        HirKind::Capture(c) => top_branches(&c.sub),
        HirKind::Alternation(branches) => branches.clone(),
        HirKind::Concat(items) => {
            let widest = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| alternatives(item).map(|b| (b.len(), i, b)))
                .max_by_key(|&(n, i, _)| (n, std::cmp::Reverse(i)));
            match widest {
                Some((_, i, branches)) => branches
                    .iter()
                    .map(|b| {
                        let mut parts = items[..i].to_vec();
                        parts.push(b.clone());
                        parts.extend_from_slice(&items[i + 1..]);
                        Hir::concat(parts)
                    })
                    .collect(),
                None => vec![hir.clone()],
            }
        }
        _ => vec![hir.clone()],
    }
}

/// Literals (lowercase ASCII) one of which every match of `hir` holds, or `None` when no such
/// set was found: a literal run of a concatenation (case-insensitive letters included), the
/// union over an alternation's branches, a repetition's body when it occurs at least once. Of
/// a concatenation's candidates, the set whose shortest literal is longest wins. A gate for
/// searching patterns, so it may only ever say too much: `None` means "search".
fn required_literals(hir: &regex_syntax::hir::Hir) -> Option<Vec<Vec<u8>>> {
    literals_held(hir, &|_| true)
}

/// Literals (lowercase ASCII, 3 bytes or more) one of which every match of `hir` holds, none
/// of them inside one of `keywords` (lowercase): for a rule searched in windows around its
/// keyword hits, a window holding none of them holds no match, and is not searched. A keyword
/// hit is in every window, so a literal it may hold tells nothing. `None` when there is no
/// such set.
fn window_literals(hir: &regex_syntax::hir::Hir, keywords: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    literals_held(hir, &|l| {
        l.len() >= 3
            && !keywords
                .iter()
                .any(|k| memchr::memmem::find(k, l).is_some())
    })
}

/// [`required_literals`] made only of literals that `keep` accepts.
fn literals_held(
    hir: &regex_syntax::hir::Hir,
    keep: &dyn Fn(&[u8]) -> bool,
) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::{Class, HirKind};
    /// The bytes (lowercase) that `hir` matches, one literal or one letter in either ASCII case.
    fn fixed(hir: &regex_syntax::hir::Hir) -> Option<Vec<u8>> {
        let ranges: Vec<(u32, u32)> = match hir.kind() {
            HirKind::Literal(lit) => return Some(lit.0.to_ascii_lowercase()),
            HirKind::Class(Class::Bytes(c)) => c
                .ranges()
                .iter()
                .map(|r| (r.start().into(), r.end().into()))
                .collect(),
            HirKind::Class(Class::Unicode(c)) => c
                .ranges()
                .iter()
                .map(|r| (r.start().into(), r.end().into()))
                .collect(),
            _ => return None,
        };
        // A class matching nothing (`[a&&b]`) has no range: it holds no literal.
        let byte = match ranges[..] {
            [(a, b)] if a == b => u8::try_from(a).ok()?,
            [(a, b), (c, d)] if a == b && c == d && a + 32 == c => {
                u8::try_from(a).ok().filter(u8::is_ascii_uppercase)?
            }
            _ => return None,
        };
        Some(vec![byte.to_ascii_lowercase()])
    }
    fn shortest(set: &[Vec<u8>]) -> usize {
        set.iter().map(Vec::len).min().unwrap_or(0)
    }
    const MAX_LITERALS: usize = 64;
    let kept = |set: Vec<Vec<u8>>| set.iter().all(|l| keep(l)).then_some(set);
    match hir.kind() {
        HirKind::Capture(c) => literals_held(&c.sub, keep),
        HirKind::Repetition(r) if r.min >= 1 => literals_held(&r.sub, keep),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(literals_held(b, keep)?);
                if all.len() > MAX_LITERALS {
                    return None;
                }
            }
            all.sort();
            all.dedup();
            Some(all)
        }
        HirKind::Concat(items) => {
            let mut best: Option<Vec<Vec<u8>>> = None;
            let mut consider = |set: Vec<Vec<u8>>| {
                if let Some(set) = kept(set) {
                    if best.as_ref().is_none_or(|b| shortest(&set) > shortest(b)) {
                        best = Some(set);
                    }
                }
            };
            // Only an item that is exactly its literal extends a run (the literals a group
            // holds say nothing of what is next to them).
            let mut run = Vec::new();
            for item in items {
                if let Some(bytes) = fixed(item) {
                    run.extend(bytes);
                    continue;
                }
                if !run.is_empty() {
                    consider(vec![std::mem::take(&mut run)]);
                }
                if let Some(set) = literals_held(item, keep) {
                    consider(set);
                }
            }
            if !run.is_empty() {
                consider(vec![run]);
            }
            best
        }
        _ => fixed(hir).map(|b| vec![b]).and_then(kept),
    }
}

/// Whether `hir` matches only a finite set of literals without `/`, each letter in either case
/// if `folded` (a pattern read without its `(?i)`), none at all otherwise: literals, small
/// classes of ASCII bytes, alternations, optional parts. The names and directory names that
/// path patterns list.
fn pure_literal(hir: &regex_syntax::hir::Hir, folded: bool) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Literal(lit) => {
            !lit.0.contains(&b'/') && (folded || !lit.0.iter().any(u8::is_ascii_alphabetic))
        }
        // A few ASCII bytes (`(?:c|h)`, a letter in either case), which the name
        // filter's literals spell out.
        HirKind::Class(Class::Unicode(c)) => {
            let ranges: Vec<(u32, u32)> = c
                .ranges()
                .iter()
                .map(|r| (r.start().into(), r.end().into()))
                .collect();
            small_class(&ranges, folded)
        }
        HirKind::Class(Class::Bytes(c)) => {
            let ranges: Vec<(u32, u32)> = c
                .ranges()
                .iter()
                .map(|r| (r.start().into(), r.end().into()))
                .collect();
            small_class(&ranges, folded)
        }
        HirKind::Repetition(r) if r.min == 0 && r.max == Some(1) => pure_literal(&r.sub, folded),
        HirKind::Concat(items) => items.iter().all(|i| pure_literal(i, folded)),
        HirKind::Alternation(branches) => branches.iter().all(|b| pure_literal(b, folded)),
        HirKind::Capture(c) => pure_literal(&c.sub, folded),
        _ => false,
    }
}

/// Whether the class of `ranges` is a few ASCII bytes that [`pure_literal`] accepts.
fn small_class(ranges: &[(u32, u32)], folded: bool) -> bool {
    let count: u32 = ranges.iter().map(|&(a, b)| b - a + 1).sum();
    count <= 16
        && ranges.iter().all(|&(a, b)| {
            (a..=b).all(|c| {
                u8::try_from(c).is_ok_and(|c| {
                    c.is_ascii() && c != b'/' && (folded || !c.is_ascii_alphabetic())
                })
            })
        })
}

/// The directory names that path pattern `hir` (read without its `(?i)` if `folded`) matches
/// exactly: `Some` for a pattern `(?:^|/)(?:a|b|c)/`, which matches a path that has one of
/// them as a whole directory component (no other pattern is matched by just that).
fn dir_components(hir: &regex_syntax::hir::Hir, folded: bool) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    use regex_syntax::hir::{Hir, HirKind};
    static START: OnceLock<Option<Hir>> = OnceLock::new();
    let start = START.get_or_init(|| crate::prepared::parse("(?:^|/)").ok());
    let HirKind::Concat(items) = hir.kind() else {
        return None;
    };
    let (first, rest) = items.split_first()?;
    let (last, middle) = rest.split_last()?;
    let slash = matches!(last.kind(), HirKind::Literal(l) if &*l.0 == b"/");
    if Some(first) != start.as_ref()
        || !slash
        || middle.is_empty()
        || !middle.iter().all(|i| pure_literal(i, folded))
    {
        return None;
    }
    let seq = Extractor::new()
        .kind(ExtractKind::Prefix)
        .extract(&Hir::concat(middle.to_vec()));
    if !seq.is_exact() {
        return None;
    }
    let names: Vec<Vec<u8>> = seq
        .literals()?
        .iter()
        .map(|l| l.as_bytes().to_ascii_lowercase())
        .collect();
    (!names.is_empty() && names.iter().all(|n| !n.is_empty())).then_some(names)
}

/// Whether path pattern `hir` (read without its `(?i)` if `folded`) matches exactly the paths
/// whose file name ends with one of its literals, or has no dot where it has the branch for
/// such names ([`NameFilter::add`]): each branch a literal (or alternation of literals, letters
/// either case if `folded`) that ends the path, with no `/` and no other anchor. Such a pattern
/// need not be searched on a name that [`NameFilter`] finds for it.
fn names_exactly(hir: &regex_syntax::hir::Hir, folded: bool) -> bool {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    use regex_syntax::hir::{Hir, HirKind, Look};
    static DOTLESS: OnceLock<Option<Hir>> = OnceLock::new();
    let dotless = DOTLESS.get_or_init(|| crate::prepared::parse(r"(?:^|/)[^/.]+$").ok());
    fn branch(hir: &Hir, folded: bool, dotless: Option<&Hir>) -> bool {
        if Some(hir) == dotless {
            return true;
        }
        match hir.kind() {
            HirKind::Concat(items) => match items.split_last() {
                Some((last, body)) => {
                    matches!(last.kind(), HirKind::Look(Look::End | Look::EndLF | Look::EndCRLF))
                        && !body.is_empty()
                        && body.iter().all(|i| pure_literal(i, folded))
                        // The name filter lists the suffix literals the extractor gives, which
                        // stand for less than the branch when it gave up on a part (a class of
                        // more than ten bytes, a cross product over its limits).
                        && Extractor::new()
                            .kind(ExtractKind::Suffix)
                            .extract(hir)
                            .is_exact()
                }
                None => false,
            },
            HirKind::Capture(c) => branch(&c.sub, folded, dotless),
            _ => false,
        }
    }
    match hir.kind() {
        HirKind::Alternation(branches) => {
            branches.iter().all(|b| branch(b, folded, dotless.as_ref()))
        }
        _ => branch(hir, folded, dotless.as_ref()),
    }
}

impl PathPatterns {
    fn of(rules: &[Rule]) -> Result<PathPatterns, BuildError> {
        let mut table = PathPatterns::default();
        // (pattern, where it is listed) -> index in `patterns`.
        let mut seen: std::collections::HashMap<(&str, Listed), u32> = Default::default();
        for (i, rule) in rules.iter().enumerate() {
            if rule.paths.is_empty() && rule.allow_paths.is_empty() {
                continue;
            }
            table.rules.push(i as u32);
            for (list, allow) in [(&rule.paths, false), (&rule.allow_paths, true)] {
                for p in list {
                    let owner = (i as u32, allow);
                    // A pattern listed by name for a `paths` rule serves an `allow_paths` one
                    // too; one listed for `allow_paths` only is no `paths` pattern's (it would
                    // be missing from `names`).
                    let reuse: &[Listed] = if allow {
                        &[Listed::Names, Listed::AllowNames, Listed::Rest]
                    } else {
                        &[Listed::Names, Listed::Rest]
                    };
                    if let Some(&k) = reuse.iter().find_map(|&l| seen.get(&(p.as_str(), l))) {
                        table.patterns[k as usize].owners.push(owner);
                        continue;
                    }
                    // Which file names a pattern can match is read from its literals, which a
                    // leading `(?i)` would multiply into every case variant (thousands, then
                    // cut short by the extractor's limits): the names are compared without
                    // case anyway, so the pattern is read without it. Parsing it whole waits
                    // until it is first searched.
                    // (Not when the pattern turns Unicode on: `(?u)` folds `ſ` and `K`
                    // too, which an ASCII comparison of names would miss.)
                    let unicode = p.match_indices("(?").any(|(i, _)| {
                        p[i + 2..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphabetic())
                            .any(|c| c == 'u')
                    });
                    let plain = match p.strip_prefix("(?i)") {
                        Some(rest) if !unicode => rest,
                        _ => p,
                    };
                    let hir = crate::prepared::parse(plain).map_err(|reason| BuildError {
                        kind: BuildErrorKind::RulePath,
                        index: Some(i),
                        pattern: Some(rule.id.to_string()),
                        reason: format!("{p:?}: {reason}"),
                    })?;
                    let k = table.patterns.len() as u32;
                    // Letters of a pattern read without its `(?i)` stand for either case, as
                    // the name filter compares them, unless a group turns case back on
                    // (`(?-i:PEM)`; any `-i` at all keeps the pattern searched).
                    let folded = !std::ptr::eq(plain, p.as_str()) && !plain.contains("-i");
                    let by_dir = dir_components(&hir, folded);
                    let named = match allow {
                        false => table.names.add_exact(&hir, k),
                        true => table.allow_names.add_exact(&hir, k),
                    };
                    let by_name = named == Some(true) && names_exactly(&hir, folded);
                    let listed = if named.is_some() && !allow {
                        table.named.push(k);
                        Listed::Names
                    } else if named.is_some() {
                        table.allow_named.push(k);
                        Listed::AllowNames
                    } else if let Some(dirs) = by_dir.clone() {
                        table.rest.push((k, dirs));
                        Listed::Rest
                    } else {
                        // A literal of a byte or two gates nothing worth the lookup.
                        let literals = required_literals(&hir)
                            .filter(|set| set.iter().all(|l| l.len() >= 3))
                            .or_else(|| table.gate_branches(&hir, k, allow))
                            .unwrap_or_default();
                        table.rest.push((k, literals));
                        Listed::Rest
                    };
                    seen.insert((p.as_str(), listed), k);
                    table.patterns.push(PathPattern {
                        pattern: p.clone(),
                        owners: vec![owner],
                        regex: OnceLock::new(),
                        by_name: by_name && listed != Listed::Rest,
                        by_dir: by_dir.is_some() && listed == Listed::Rest,
                    });
                }
            }
        }
        table.names.index();
        table.allow_names.index();
        Ok(table)
    }

    /// For pattern `k` that neither a file name nor one set of literals gates, a gate branch
    /// by branch (`(?:^|/)(?:\.env|[\w.-]+\.ini|group_vars/[\w.-]+)$`): the names that the
    /// branches which end with one end with go to the name filter, and the literals the other
    /// branches hold are returned. `None` (search on every path) when a branch has neither;
    /// names added for the others then only cost a search each.
    fn gate_branches(
        &mut self,
        hir: &regex_syntax::hir::Hir,
        k: u32,
        allow: bool,
    ) -> Option<Vec<Vec<u8>>> {
        let branches = top_branches(hir);
        if branches.len() < 2 {
            return None;
        }
        // Every branch is checked before any name is added: a pattern searched on every path
        // leaves no names behind (they would make `may_scope_name` say yes for nothing).
        let mut literals = Vec::new();
        let mut named = Vec::new();
        for branch in &branches {
            if NameFilter::default().add(branch, k) {
                named.push(branch);
                continue;
            }
            // Two bytes gate here: the alternative is every path.
            literals.extend(literals_held(branch, &|l| l.len() >= 2)?);
        }
        // No literal at all would gate the pattern out of every path its names miss.
        if literals.is_empty() {
            return None;
        }
        let (names, listed) = match allow {
            false => (&mut self.names, &mut self.named),
            true => (&mut self.allow_names, &mut self.allow_named),
        };
        for branch in &named {
            names.add(branch, k);
        }
        if !named.is_empty() {
            // A path with a line break is searched with every named pattern.
            listed.push(k);
        }
        literals.sort();
        literals.dedup();
        Some(literals)
    }

    fn rest_gate(&self) -> &RestGate {
        self.rest_gate.get_or_init(|| {
            let mut literals = Vec::new();
            let mut pattern_of = Vec::new();
            let mut always = Vec::new();
            for (k, lits) in &self.rest {
                if lits.is_empty() {
                    always.push(*k);
                }
                for l in lits {
                    literals.push(l.as_slice());
                    pattern_of.push(*k);
                }
            }
            // Only a size limit could fail this, which a few hundred short literals do not
            // reach; the patterns are then searched on every path.
            // A DFA: searched on every path of a scan, over a few hundred literals that it is
            // built from in well under a millisecond.
            let automaton = aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(&literals)
                .ok();
            if automaton.is_none() {
                always = self.rest.iter().map(|(k, _)| *k).collect();
            }
            RestGate {
                literals: automaton,
                pattern_of,
                always,
            }
        })
    }

    /// Calls `f(rule, allow)` for every path pattern that matches `path`.
    fn each_match(&self, path: &str, mut f: impl FnMut(u32, bool)) {
        if self.patterns.is_empty() {
            return;
        }
        // Which patterns were searched, one bit each: on the stack for up to 512 patterns (the
        // built-in rules have about 150), as this runs for every file of a scan.
        let (mut small, mut large) = ([0u64; 8], Vec::new());
        let words = self.patterns.len().div_ceil(64);
        let searched: &mut [u64] = if words <= small.len() {
            &mut small[..words]
        } else {
            large.resize(words, 0);
            &mut large
        };
        // `matched`: the pattern is known to match (its name or directory was found).
        let mut search = |k: u32, matched: bool| {
            let (word, bit) = (k as usize / 64, 1u64 << (k % 64));
            if searched[word] & bit == 0 {
                searched[word] |= bit;
                let pattern = &self.patterns[k as usize];
                if !matched {
                    pattern.each_match(path, &mut f);
                } else if pattern.built().is_ok() {
                    pattern
                        .owners
                        .iter()
                        .for_each(|&(rule, allow)| f(rule, allow));
                }
            }
        };
        let name = path.rsplit('/').next().unwrap_or(path);
        // `$` also matches before a line break, which a path may (absurdly) hold: its name
        // then does not tell which patterns end there.
        let lines = path.contains(['\n', '\r']);
        if lines {
            self.named.iter().for_each(|&k| search(k, false));
            self.allow_named.iter().for_each(|&k| search(k, false));
        } else {
            for names in [&self.names, &self.allow_names] {
                names.find(name.as_bytes(), |ks| {
                    ks.iter()
                        .for_each(|&k| search(k, self.patterns[k as usize].by_name));
                    false
                });
            }
        }
        if self.rest.is_empty() {
            return;
        }
        let gate = self.rest_gate();
        gate.always.iter().for_each(|&k| search(k, false));
        if let Some(ac) = &gate.literals {
            let bytes = path.as_bytes();
            for m in ac.find_overlapping_iter(path) {
                let k = gate.pattern_of[m.pattern().as_usize()];
                if self.patterns[k as usize].by_dir && !lines {
                    // The directory name, or a piece of a longer name (not a match).
                    let whole = (m.start() == 0 || bytes[m.start() - 1] == b'/')
                        && bytes.get(m.end()) == Some(&b'/');
                    if whole {
                        search(k, true);
                    }
                } else {
                    search(k, false);
                }
            }
        }
    }

    /// The build errors of the patterns that do not compile.
    fn build_errors(&self) -> Vec<String> {
        self.patterns
            .iter()
            .filter_map(|p| p.built().as_ref().err().cloned())
            .collect()
    }
}

/// Bytes, counted from a scanner's first input, whose keywords are looked for one keyword at a
/// time, with no automaton ([`direct_keyword_hits`]): building the keyword DFA over 2,400
/// keywords costs more than a pre-commit hook's whole diff takes to search this way. Past it,
/// the DFA is built (a directory or history scan passes it in its first files). The search
/// one keyword at a time grows faster than its input (more keywords' byte pairs occur): on
/// Ruby sources a 128 KB file took as long either way, a 250 KB file 71 ms of CPU one keyword
/// at a time against 43 ms with the DFA (this was 256 KB before).
const DIRECT_BYTES: u64 = 64 << 10;

/// How a scan looks for keywords.
#[derive(Clone, Copy)]
enum Keywords<'a> {
    Dfa(&'a KeywordDfa),
    /// One keyword at a time over the input (small inputs only).
    Direct,
}

/// Every occurrence of every keyword in `hay[range]`, overlapping ones included, compared as
/// the automata compare (ASCII case-insensitively): the hits [`KeywordDfa::hits`] reports, in
/// another order. For small inputs: it costs one pass to lower-case the input and note which
/// byte pairs occur, then a substring search for each keyword whose byte pairs all occur.
/// `patterns` are lower-case and not empty.
fn direct_keyword_hits(
    patterns: &[Vec<u8>],
    hay: &[u8],
    range: Range<usize>,
    lower: &mut Vec<u8>,
    pairs: &mut Vec<u64>,
    hits: &mut Vec<(PatternID, usize)>,
) {
    lower.clear();
    lower.extend(hay[range.clone()].iter().map(u8::to_ascii_lowercase));
    pairs.clear();
    pairs.resize(1 << 10, 0);
    let pair = |a: u8, b: u8| (usize::from(a) << 8) | usize::from(b);
    for w in lower.windows(2) {
        let i = pair(w[0], w[1]);
        pairs[i >> 6] |= 1 << (i & 63);
    }
    let has = |i: usize| pairs[i >> 6] & (1 << (i & 63)) != 0;
    for (pid, p) in patterns.iter().enumerate() {
        if p.len() > lower.len() || !p.windows(2).all(|w| has(pair(w[0], w[1]))) {
            continue;
        }
        let finder = memchr::memmem::Finder::new(p);
        let mut at = 0;
        while let Some(i) = finder.find(&lower[at..]) {
            hits.push((PatternID::must(pid), range.start + at + i));
            at += i + 1;
        }
    }
}

/// Appends to `scratch.hits` the hits of `patterns` (the first of a scanner's patterns) in
/// `range`: with `dfa`, built over those patterns, or one keyword at a time without it.
fn find_keywords(
    dfa: Option<&KeywordDfa>,
    patterns: &[Vec<u8>],
    hay: &[u8],
    range: Range<usize>,
    scratch: &mut Scratch,
) {
    match dfa {
        Some(dfa) => dfa.hits(hay, range, &mut scratch.hits),
        None => direct_keyword_hits(
            patterns,
            hay,
            range,
            &mut scratch.lower,
            &mut scratch.pairs,
            &mut scratch.hits,
        ),
    }
}

/// Builds a [`Scanner`].
///
/// ```
/// use keysweep::{RuleSet, ScannerBuilder};
///
/// let scanner = ScannerBuilder::new()
///     .fingerprint_key(b"our-team-key".to_vec())
///     .build(RuleSet::builtin())
///     .unwrap();
/// assert!(scanner.rules().len() >= 200);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ScannerBuilder {
    prefilter: Option<bool>,
    fingerprint_key: Option<Vec<u8>>,
    keep_suppressed: bool,
    keep_dropped: bool,
    no_inline_allow: bool,
    allow_values: Vec<String>,
    baseline: Vec<Fingerprint>,
    /// Encodings not decoded (bits of `Encoding::bit`); all are decoded by default.
    no_decode: u8,
    decode_depth: Option<usize>,
    min_confidence: Option<Confidence>,
}

impl ScannerBuilder {
    /// Default configuration: prefilter on, unkeyed fingerprints.
    pub fn new() -> ScannerBuilder {
        ScannerBuilder::default()
    }

    /// Turns the keyword prefilter off (every rule's pattern then runs over the whole input).
    ///
    /// Only for testing the prefilter contract and for debugging: it is much slower.
    pub fn prefilter(mut self, yes: bool) -> ScannerBuilder {
        self.prefilter = Some(yes);
        self
    }

    /// Keys fingerprints with HMAC-SHA-256 under `key`, so they cannot be checked against
    /// guessed secrets by anyone without the key.
    pub fn fingerprint_key(mut self, key: Vec<u8>) -> ScannerBuilder {
        self.fingerprint_key = Some(key);
        self
    }

    /// Returns suppressed findings too, with [`Finding::suppressed`] set, instead of dropping
    /// them; for front ends that count and explain suppressions. Off by default.
    pub fn keep_suppressed(mut self, yes: bool) -> ScannerBuilder {
        self.keep_suppressed = yes;
        self
    }

    /// Also returns the matches that the gates drop as not secrets, each suppressed with the
    /// reason ([`Suppression::Rejected`], [`Suppression::Entropy`], [`Suppression::Code`]):
    /// for `--show-suppressed`, to see why a value was not reported. Needs
    /// [`keep_suppressed`](ScannerBuilder::keep_suppressed). Off by default (it costs a
    /// finding per dropped match).
    pub fn keep_dropped(mut self, yes: bool) -> ScannerBuilder {
        self.keep_dropped = yes;
        self
    }

    /// Honours `keysweep:allow` comments ([`Suppression::Inline`]). On by default.
    pub fn inline_allow(mut self, yes: bool) -> ScannerBuilder {
        self.no_inline_allow = !yes;
        self
    }

    /// Suppresses findings whose secret matches any of these regexes (unanchored: use `^` and
    /// `$` for whole values) as [`Suppression::Allowlist`]. Adds to earlier calls.
    ///
    /// ```
    /// use keysweep::{RuleSet, ScannerBuilder, Suppression};
    ///
    /// let scanner = ScannerBuilder::new()
    ///     .allow_values(["^sk_live_4eC39"])
    ///     .keep_suppressed(true)
    ///     .build(RuleSet::builtin())
    ///     .unwrap();
    /// let found = scanner.scan(&mut scanner.scratch(), b"k = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"");
    /// assert_eq!(found[0].suppressed, Some(Suppression::Allowlist));
    /// ```
    pub fn allow_values<S: AsRef<str>>(
        mut self,
        patterns: impl IntoIterator<Item = S>,
    ) -> ScannerBuilder {
        self.allow_values
            .extend(patterns.into_iter().map(|p| p.as_ref().to_string()));
        self
    }

    /// Turns one decoding layer on or off (all are on by default). Decoded text is scanned with
    /// the same rules; a finding in it has [`Finding::decoded`] set and the range of the
    /// encoded text in the input.
    ///
    /// ```
    /// use keysweep::{Encoding, RuleSet, ScannerBuilder};
    ///
    /// // A Kubernetes Secret: a database URL, password included, hides behind base64.
    /// let yaml = b"data:\n  DB_URL: cG9zdGdyZXM6Ly9hcHA6UzNjcjN0UGFzc3cwcmQhQGRiOjU0MzIvYXBw\n";
    /// let scanner = ScannerBuilder::new().build(RuleSet::builtin()).unwrap();
    /// let found = scanner.scan(&mut scanner.scratch(), yaml);
    /// assert_eq!(found[0].decoded, [Encoding::Base64]);
    /// assert_eq!(found[0].secret, b"S3cr3tPassw0rd!");
    /// assert_eq!((found[0].line, found[0].column), (2, 11)); // where the base64 starts
    ///
    /// let raw_only = ScannerBuilder::new()
    ///     .decode(Encoding::Base64, false)
    ///     .build(RuleSet::builtin())
    ///     .unwrap();
    /// assert!(raw_only.scan(&mut raw_only.scratch(), yaml).is_empty());
    /// ```
    pub fn decode(mut self, encoding: Encoding, yes: bool) -> ScannerBuilder {
        if yes {
            self.no_decode &= !encoding.bit();
        } else {
            self.no_decode |= encoding.bit();
        }
        self
    }

    /// How many layers deep to decode (base64 inside a JSON string is two); 0 turns decoding
    /// off. Default 2.
    pub fn decode_depth(mut self, depth: usize) -> ScannerBuilder {
        self.decode_depth = Some(depth);
        self
    }

    /// Reports only findings with at least this confidence (after structural checks, which
    /// lower a failing token to [`Confidence::Low`]). Default: every finding.
    ///
    /// ```
    /// use keysweep::{Confidence, RuleSet, ScannerBuilder};
    ///
    /// let text = b"password = \"Zq8!vR2#mT6@pL\"\ntoken: ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\n";
    /// let all = ScannerBuilder::new().build(RuleSet::builtin()).unwrap();
    /// let high = ScannerBuilder::new()
    ///     .min_confidence(Confidence::High)
    ///     .build(RuleSet::builtin())
    ///     .unwrap();
    /// assert_eq!(all.scan(&mut all.scratch(), text).len(), 2);
    /// assert_eq!(high.scan(&mut high.scratch(), text).len(), 0); // the token's checksum fails
    /// ```
    pub fn min_confidence(mut self, min: Confidence) -> ScannerBuilder {
        self.min_confidence = Some(min);
        self
    }

    /// Suppresses findings whose fingerprint is one of these as [`Suppression::Baseline`]
    /// (findings triaged earlier). Fingerprints must come from a scanner with the same
    /// [`fingerprint_key`](ScannerBuilder::fingerprint_key). Adds to earlier calls.
    pub fn baseline(
        mut self,
        fingerprints: impl IntoIterator<Item = Fingerprint>,
    ) -> ScannerBuilder {
        self.baseline.extend(fingerprints);
        self
    }

    /// Prepares `rules` for scanning. The keyword automaton and each rule's regex are built on
    /// first use, so this is cheap. Fails when an [`allow_values`](ScannerBuilder::allow_values)
    /// pattern does not compile; rule patterns that do not compile are reported by
    /// [`Scanner::compile_all`] and never match.
    pub fn build(&self, rules: RuleSet) -> Result<Scanner, BuildError> {
        let allow_values = if self.allow_values.is_empty() {
            None
        } else {
            for (i, p) in self.allow_values.iter().enumerate() {
                Regex::builder()
                    .configure(meta_config())
                    .build(p)
                    .map_err(|e| BuildError::bad_allow_value(i, p, regex_reason(&e)))?;
            }
            let regex = Regex::builder()
                .configure(meta_config())
                .build_many(&self.allow_values)
                .map_err(|e| BuildError {
                    kind: BuildErrorKind::AllowValues,
                    index: None,
                    pattern: None,
                    reason: regex_reason(&e),
                })?;
            Some(regex)
        };
        let rules = rules.into_rules();
        // The path table and the keyword table are independent, and each about 1.5 ms over
        // the built-in rules: with the `parallel` feature they are built side by side, on a
        // scoped thread (not rayon's pool, which the caller may still want to configure).
        #[cfg(feature = "parallel")]
        let (paths, (patterns, keywords, all_keywordless, shared)) = std::thread::scope(|s| {
            let paths = s.spawn(|| PathPatterns::of(&rules));
            let table = keyword_table(&rules);
            let paths = paths
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (paths, table)
        });
        #[cfg(not(feature = "parallel"))]
        let (paths, (patterns, keywords, all_keywordless, shared)) =
            (PathPatterns::of(&rules), keyword_table(&rules));
        let paths = paths?;
        let scoped: Vec<bool> = rules.iter().map(|r| !r.paths.is_empty()).collect();
        let scoped_count = scoped.iter().filter(|&&s| s).count();
        // Keyword-less rules scoped to some files are confirmed over the whole input when
        // their path matches; the others share one multi-pattern pass.
        let (scoped_keywordless, keywordless): (Vec<u32>, Vec<u32>) = all_keywordless
            .into_iter()
            .partition(|&r| !rules[r as usize].paths.is_empty());
        let generic: Vec<bool> = rules.iter().map(|r| r.has_tag("generic")).collect();
        let structured: Vec<bool> = rules.iter().map(|r| r.extract.is_some()).collect();
        let password_rule: Vec<bool> = rules.iter().map(|r| r.has_tag("password")).collect();
        let literal = rules
            .iter()
            .zip(&generic)
            .map(|(r, &g)| match r.literal_filter.unwrap_or(g) {
                false => LiteralTest::None,
                true if r.has_tag("password") => LiteralTest::Password,
                true => LiteralTest::General,
            })
            .collect();
        Ok(Scanner {
            inner: Arc::new(Inner {
                id: NEXT_SCANNER_ID.fetch_add(1, AtomicOrdering::Relaxed),
                // Never shown: it holds the fingerprint key.
                settings: format!("{self:?}"),
                settings_digest: OnceLock::new(),
                min_confidence: self.min_confidence.unwrap_or(Confidence::Low),
                paths,
                scoped,
                scoped_count,
                compiled: (0..rules.len()).map(|_| OnceLock::new()).collect(),
                shapes: (0..rules.len()).map(|_| OnceLock::new()).collect(),
                window_gates: (0..rules.len()).map(|_| OnceLock::new()).collect(),
                rules,
                automaton: OnceLock::new(),
                full_automaton: OnceLock::new(),
                shared,
                has_joints: keywords.iter().any(|k: &Keyword| k.joint),
                scanned_small: std::sync::atomic::AtomicU64::new(0),
                direct: patterns.iter().all(|p| !p.is_empty()),
                building_dfa: Default::default(),
                patterns,
                keywords,
                keywordless,
                scoped_keywordless,
                keywordless_regex: OnceLock::new(),
                generic,
                structured,
                literal,
                password_rule,
                prefilter: self.prefilter.unwrap_or(true),
                fingerprint_key: self.fingerprint_key.clone(),
                keep_suppressed: self.keep_suppressed,
                keep_dropped: self.keep_dropped && self.keep_suppressed,
                inline_allow: !self.no_inline_allow,
                allow_values,
                baseline: self.baseline.iter().copied().collect(),
                decode: !self.no_decode,
                decode_depth: self
                    .decode_depth
                    .unwrap_or(DEFAULT_DECODE_DEPTH)
                    .min(MAX_DECODE_DEPTH),
            }),
        })
    }
}

/// What kind of thing made [`ScannerBuilder::build`] fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// One [`allow_values`](ScannerBuilder::allow_values) pattern does not compile
    /// ([`BuildError::allow_value`] says which).
    AllowValue,
    /// The allowlist patterns compile one by one but not together (a size limit).
    AllowValues,
    /// A rule's `paths` or `allow_paths` pattern does not compile.
    RulePath,
}

/// Why a scanner could not be built: a [kind](BuildError::kind), the offending input where there
/// is one, and the reason.
///
/// ```
/// use keysweep::{BuildErrorKind, RuleSet, ScannerBuilder};
///
/// let err = ScannerBuilder::new()
///     .allow_values(["^ok$", "(unclosed"])
///     .build(RuleSet::empty())
///     .unwrap_err();
/// assert_eq!(err.kind(), BuildErrorKind::AllowValue);
/// assert_eq!(err.allow_value(), Some(1));
/// assert_eq!(err.reason(), "unclosed group");
/// assert_eq!(err.to_string(), "allowlist pattern #2 \"(unclosed\" does not compile: unclosed group");
/// ```
#[derive(Clone, Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
    index: Option<usize>,
    pattern: Option<String>,
    reason: String,
}

impl BuildError {
    fn bad_allow_value(index: usize, pattern: &str, reason: String) -> BuildError {
        BuildError {
            kind: BuildErrorKind::AllowValue,
            index: Some(index),
            pattern: Some(pattern.to_string()),
            reason,
        }
    }

    /// What failed.
    pub fn kind(&self) -> BuildErrorKind {
        self.kind
    }

    /// The index of the [`allow_values`](ScannerBuilder::allow_values) pattern that failed to
    /// compile, if that is the error.
    pub fn allow_value(&self) -> Option<usize> {
        self.index
    }

    /// Why, in one line, without the input (for messages that name the input themselves).
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.kind, self.index, &self.pattern) {
            (BuildErrorKind::AllowValue, Some(i), Some(p)) => write!(
                f,
                "allowlist pattern #{} {p:?} does not compile: {}",
                i + 1,
                self.reason
            ),
            (BuildErrorKind::RulePath, _, Some(rule)) => {
                write!(
                    f,
                    "rule `{rule}`: a path pattern does not compile: {}",
                    self.reason
                )
            }
            _ => write!(
                f,
                "allowlist patterns do not compile together: {}",
                self.reason
            ),
        }
    }
}

/// The one-line reason a regex did not build: the syntax error's own line (`unclosed group`)
/// rather than regex-automata's `error parsing pattern 0`.
fn regex_reason(e: &regex_automata::meta::BuildError) -> String {
    match e.syntax_error() {
        Some(syntax) => syntax
            .to_string()
            .lines()
            .last()
            .unwrap_or("invalid regex")
            .trim()
            .trim_start_matches("error: ")
            .to_string(),
        None => e.to_string(),
    }
}

impl std::error::Error for BuildError {}

/// The last path components that path-scoped rules can apply to: exact names and name
/// suffixes (lowercase), from the suffix literals of their path patterns, each with the
/// patterns (indexes into [`PathPatterns::patterns`]) that can end with it.
#[derive(Debug, Default)]
struct NameFilter {
    exact: std::collections::HashMap<Vec<u8>, Vec<u32>>,
    /// Sorted by last byte (after [`index`](Self::index)), one entry per suffix: a name is
    /// compared only with the suffixes that end with its own last byte (hundreds in all, a
    /// few per byte).
    suffixes: Vec<(Vec<u8>, Vec<u32>)>,
    /// `suffixes[by_last[b]..by_last[b + 1]]` end with byte `b`.
    by_last: Vec<u32>,
    /// Patterns with a branch for any name without a dot (`(?:^|/)[^/.]+$`: `README`,
    /// `Jenkinsfile`, a chat export's files), besides names and suffixes.
    dotless: Vec<u32>,
}

impl NameFilter {
    /// Adds the names and suffixes that path pattern `k`'s matches end with, from its suffix
    /// literals; `false` (and nothing added) when a path it matches can end otherwise: it is
    /// not anchored at the end (`$`), no literal ends every match (`\.kube/[^/]+$`), or one
    /// ends with the `/` of a directory.
    fn add(&mut self, pattern: &regex_syntax::hir::Hir, k: u32) -> bool {
        self.add_exact(pattern, k).is_some()
    }

    /// As [`add`](Self::add): `Some(true)` when the names and suffixes added are exactly the
    /// ends of the pattern's matches (the literal extractor gave up on no part), `Some(false)`
    /// when they say too much, `None` when nothing was added.
    fn add_exact(&mut self, pattern: &regex_syntax::hir::Hir, k: u32) -> Option<bool> {
        use regex_syntax::hir::literal::{ExtractKind, Extractor};
        use regex_syntax::hir::{Hir, HirKind, Look};
        // A branch for names without a dot has no suffix literal: it is noted apart, and the
        // other branches are read as usual. (A pattern parsed with `(?i)` stripped, as
        // `PathPatterns::of` parses them.)
        if let HirKind::Alternation(branches) = pattern.kind() {
            static DOTLESS: OnceLock<Option<Hir>> = OnceLock::new();
            let dotless = DOTLESS.get_or_init(|| crate::prepared::parse(r"(?:^|/)[^/.]+$").ok());
            let (names, rest): (Vec<&Hir>, Vec<&Hir>) =
                branches.iter().partition(|b| Some(*b) == dotless.as_ref());
            if !names.is_empty() && !rest.is_empty() {
                let rest = Hir::alternation(rest.into_iter().cloned().collect());
                let exact = self.add_exact(&rest, k)?;
                self.dotless.push(k);
                return Some(exact);
            }
        }
        let ends = pattern.properties().look_set_suffix();
        if !(ends.contains(Look::End) || ends.contains(Look::EndLF) || ends.contains(Look::EndCRLF))
        {
            return None;
        }
        let seq = Extractor::new().kind(ExtractKind::Suffix).extract(pattern);
        let literals = seq.literals()?;
        let mut exact = Vec::new();
        let mut suffixes = Vec::new();
        for lit in literals {
            let bytes = lit.as_bytes().to_ascii_lowercase();
            match bytes.iter().rposition(|&b| b == b'/') {
                Some(slash) if slash + 1 < bytes.len() => exact.push(bytes[slash + 1..].to_vec()),
                None if !bytes.is_empty() => suffixes.push(bytes),
                _ => return None,
            }
        }
        for name in exact {
            let ks = self.exact.entry(name).or_default();
            if ks.last() != Some(&k) {
                ks.push(k);
            }
        }
        self.suffixes
            .extend(suffixes.into_iter().map(|s| (s, vec![k])));
        Some(seq.is_exact())
    }

    /// Sorts the suffixes, merges the entries of equal ones and indexes them by last byte;
    /// called once all are added.
    fn index(&mut self) {
        let mut all = std::mem::take(&mut self.suffixes);
        all.sort_by(|a, b| (a.0.last(), &a.0, &a.1).cmp(&(b.0.last(), &b.0, &b.1)));
        for (suffix, ks) in all {
            match self.suffixes.last_mut() {
                Some((last, owners)) if *last == suffix => {
                    owners.extend(ks);
                    owners.dedup();
                }
                _ => self.suffixes.push((suffix, ks)),
            }
        }
        self.by_last = (0..=256u32)
            .map(|b| {
                self.suffixes
                    .partition_point(|(s, _)| s.last().is_some_and(|&l| u32::from(l) < b))
                    as u32
            })
            .collect();
    }

    fn matches(&self, name: &[u8]) -> bool {
        self.find(name, |_| true)
    }

    /// Calls `f` with the patterns of each name and suffix that `name` ends with, until it
    /// returns `true`; returns whether it did. Called for every file of a scan and every
    /// entry of every tree in a history: no allocation, and only the suffixes that end with
    /// the name's last byte compared.
    fn find(&self, name: &[u8], mut f: impl FnMut(&[u32]) -> bool) -> bool {
        if !self.dotless.is_empty() && !name.is_empty() && !name.contains(&b'.') && f(&self.dotless)
        {
            return true;
        }
        if let (Some(&last), false) = (name.last(), self.by_last.is_empty()) {
            let last = usize::from(last.to_ascii_lowercase());
            let bucket =
                &self.suffixes[self.by_last[last] as usize..self.by_last[last + 1] as usize];
            for (s, ks) in bucket {
                if name.len() >= s.len()
                    && name[name.len() - s.len()..].eq_ignore_ascii_case(s)
                    && f(ks)
                {
                    return true;
                }
            }
        }
        if self.exact.is_empty() {
            return false;
        }
        let mut buf = [0u8; 64];
        let ks = match buf.get_mut(..name.len()) {
            Some(lower) => {
                lower.copy_from_slice(name);
                lower.make_ascii_lowercase();
                self.exact.get(&*lower)
            }
            // Longer than any fixed name worth listing.
            None => self
                .exact
                .iter()
                .find(|(e, _)| e.eq_ignore_ascii_case(name))
                .map(|(_, ks)| ks),
        };
        ks.is_some_and(|ks| f(ks))
    }
}

/// Identifies each built scanner, so that a [`Scratch`] is only ever used with its own.
static NEXT_SCANNER_ID: AtomicU64 = AtomicU64::new(0);

/// Which test a rule's secrets pass to count as literals rather than code
/// ([`Rule::literal_filter`]): rules tagged `password` take the one for passwords, which lets
/// word-based passwords (`breeze-pepper-43`) through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LiteralTest {
    None,
    General,
    Password,
}

#[derive(Debug)]
struct Inner {
    /// Unique per [`ScannerBuilder::build`]; scratch space remembers it.
    id: u64,
    /// The builder's settings as built, for [`Scanner::settings_digest`].
    settings: String,
    /// [`Scanner::settings_digest`], computed on first use.
    settings_digest: OnceLock<String>,
    min_confidence: Confidence,
    /// Rules with `paths` or `allow_paths`, and their patterns.
    paths: PathPatterns,
    /// Per rule: it has `paths`, so it runs only where a path matches.
    scoped: Vec<bool>,
    /// How many rules have `paths`.
    scoped_count: usize,
    rules: Vec<Rule>,
    /// Each rule's pattern, compiled on first use (an error is kept for `compile_all`).
    compiled: Vec<OnceLock<Result<Compiled, String>>>,
    /// Each built-in rule's shape and gate ([`crate::prepared`]), looked up on first use.
    shapes: Vec<OnceLock<Option<Shape>>>,
    /// For each rule searched in windows: the literals one of which a window must hold to be
    /// searched ([`window_literals`]), as an automaton; worked out at the rule's first hit,
    /// before (and often instead of) compiling it.
    window_gates: Vec<OnceLock<Option<aho_corasick::AhoCorasick>>>,
    /// Distinct lowercased keywords, the automata's patterns: first the `shared` ones, which
    /// some rule that runs on every file has, then those only rules scoped to some files have.
    patterns: Vec<Vec<u8>>,
    /// How many of `patterns` the automaton looks for in every input.
    shared: usize,
    /// Whether `patterns` holds the line ends of [`JOINTS`] (a rule set with keywords).
    has_joints: bool,
    /// The automaton of the first `shared` patterns. Built on first use: a scan that never
    /// sees a byte (an empty directory) never pays for it.
    automaton: OnceLock<Option<KeywordDfa>>,
    /// The automaton of every pattern, run instead of `automaton` where a scoped rule is on:
    /// a rule for Terraform files keyed on `name`, or one for Hardhat configurations keyed on
    /// network names, costs other files nothing, and the files it runs on are searched once
    /// (a second pass over only the scoped patterns cost as much as the first). Built on
    /// first use.
    full_automaton: OnceLock<Option<KeywordDfa>>,
    /// Bytes looked at before the DFA was built, so far.
    scanned_small: std::sync::atomic::AtomicU64,
    /// Whether keywords may be looked for one at a time (no keyword is empty).
    direct: bool,
    /// Set by the thread that builds the DFA.
    building_dfa: std::sync::atomic::AtomicBool,
    keywords: Vec<Keyword>,
    /// Rules without keywords, found by one multi-pattern pass.
    keywordless: Vec<u32>,
    /// Rules without keywords scoped to some files: each runs over a whole matching file.
    scoped_keywordless: Vec<u32>,
    keywordless_regex: OnceLock<Option<Regex>>,
    generic: Vec<bool>,
    /// Per rule: it has an extractor.
    structured: Vec<bool>,
    /// Per rule: how the secret must look like a literal ([`Rule::literal_filter`]).
    literal: Vec<LiteralTest>,
    /// Per rule: it is tagged `password` (the short-password entropy floor applies).
    password_rule: Vec<bool>,
    prefilter: bool,
    fingerprint_key: Option<Vec<u8>>,
    keep_suppressed: bool,
    keep_dropped: bool,
    inline_allow: bool,
    allow_values: Option<Regex>,
    baseline: HashSet<Fingerprint>,
    decode: u8,
    decode_depth: usize,
}

/// A compiled, immutable rule set. Cheap to clone (`Arc`), `Send + Sync`: share one across
/// threads and give each thread its own [`Scratch`].
///
/// ```
/// use keysweep::{RuleSet, Scanner};
///
/// let scanner = Scanner::new(RuleSet::builtin()).unwrap();
/// let mut scratch = scanner.scratch();
/// let text = b"STRIPE_KEY = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\n";
/// let findings = scanner.scan(&mut scratch, text);
/// assert_eq!(findings.len(), 1);
/// assert_eq!(&*findings[0].rule_id, "stripe.secret_key.live");
/// assert_eq!((findings[0].line, findings[0].column), (1, 15));
/// ```
#[derive(Clone, Debug)]
pub struct Scanner {
    inner: Arc<Inner>,
}

/// Per-thread scratch space for [`Scanner::scan`]: regex caches and candidate buffers, reused
/// from scan to scan so the hot path does not allocate.
///
/// A scratch belongs to the scanner that made it ([`Scanner::scratch`]): scanning with another
/// scanner's scratch panics (its caches are sized for the other rule set), even when the
/// other scanner was built from the same rules.
#[derive(Debug)]
pub struct Scratch {
    /// The [`Inner::id`] of the scanner that made it.
    owner: u64,
    /// Per rule: off for the current input (scoped to other paths, or its path allowed).
    off: Vec<bool>,
    /// The rules whose `allow_paths` the current path matches (see [`Scanner::select`]).
    allowed: Vec<u32>,
    /// The rules scoped to some files that a `paths` pattern of the current path turned on.
    turned_on: Vec<u32>,
    /// Whether any rule is off.
    any_off: bool,
    /// Whether any rule scoped to some files ([`Rule::paths`]) is on.
    scoped_on: bool,
    /// Per rule, made on its first search. Boxed: a cache is a kilobyte or more, and most
    /// rules of a scan never run, so a scratch (one per thread, made at every scan's start)
    /// would otherwise write and fault in a megabyte of empty slots.
    caches: Vec<Option<Box<(meta::Cache, Captures)>>>,
    /// Caches of the exact regexes of relaxed rules ([`Compiled::exact`]).
    exact_caches: Vec<Option<Box<meta::Cache>>>,
    keywordless_cache: Option<meta::Cache>,
    /// Set while scanning decoded text: `keysweep:allow` comments are looked for in the
    /// original text instead.
    in_decoded: bool,
    /// Keyword hits of the current range: (pattern, start).
    hits: Vec<(PatternID, usize)>,
    /// Where the current range's hits of [`JOINTS`] end (their `\n` or `\r`): line ends after
    /// which a value split across string literals may go on, for the decoding layers.
    joints: Vec<usize>,
    /// The range lower-cased, and which byte pairs occur in it ([`direct_keyword_hits`]).
    lower: Vec<u8>,
    pairs: Vec<u64>,
    /// (rule, first, last): try one anchored search of the rule at each position of
    /// `first..=last` (a keyword hit and the lead before it). Ranges, not positions, so that a
    /// keyword on every byte costs one entry per hit, not one per position.
    anchored: Vec<(u32, usize, usize)>,
    candidates: Vec<(u32, usize, usize)>,
    /// Values an extractor read in the current range (reported or not), and secrets of
    /// specific rules' rejected matches: generic rules do not report them.
    claimed: Vec<Range<usize>>,
}

/// One secret found in a haystack.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Finding {
    /// The id of the rule that found it.
    pub rule_id: Arc<str>,
    /// Index of that rule in [`Scanner::rules`].
    pub rule_index: usize,
    /// Byte range of the secret in the haystack.
    pub range: Range<usize>,
    /// 1-based line of the secret's first byte.
    pub line: usize,
    /// 1-based column (in bytes) of the secret's first byte.
    pub column: usize,
    /// 1-based line of the credential's last byte: the secret's, or that of a part that
    /// follows it (a service-account file's private key after its `private_key_id`), so that
    /// `line..=end_line` covers the whole credential.
    pub end_line: usize,
    /// 1-based column just past the credential's last byte, on `end_line` (exclusive, as
    /// SARIF).
    pub end_column: usize,
    /// The secret itself. Never print it unless the user asked to see secrets.
    pub secret: Vec<u8>,
    /// Stable identity of the secret's value.
    pub fingerprint: Fingerprint,
    /// Shannon entropy of the secret, bits per byte.
    pub entropy: f64,
    /// The rule's confidence, lowered to `Low` when the secret fails its structural check.
    pub confidence: Confidence,
    /// `Some(passed)` when the rule has a structural check.
    pub check_passed: Option<bool>,
    /// Why the finding is suppressed; always `None` unless the scanner
    /// [keeps suppressed findings](ScannerBuilder::keep_suppressed).
    pub suppressed: Option<Suppression>,
    /// The layers decoded to find the secret, outermost first (`[Base64]`, `[Json, Base64]`);
    /// empty for a secret as written. For a decoded secret, [`range`](Finding::range) and the
    /// lines are those of the encoded text in the input (for UTF-16, of the secret itself), and
    /// [`secret`](Finding::secret) is the decoded secret.
    pub decoded: Vec<Encoding>,
    /// The other parts of a multi-part credential (a service-account file's private key and
    /// client email, the key id of an AWS key pair), from the groups its rule names in
    /// [`Rule::parts`]. A finding of another rule that lies inside a part is not reported on
    /// its own: it is this credential, and the part records that rule
    /// ([`Part::rule_id`]).
    pub parts: Vec<Part>,
}

/// One part of a multi-part credential ([`Finding::parts`]).
///
/// ```
/// use keysweep::{RuleSet, Scanner};
///
/// let scanner = Scanner::new(RuleSet::builtin()).unwrap();
/// let file = concat!(
///     "[default]\n",
///     // keysweep:allow (a made-up key pair)
///     "aws_access_key_id = AKIAQYLPMN5HFIQR7XYA\n",
///     // keysweep:allow (a made-up key pair)
///     "aws_secret_access_key = 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\n",
/// );
/// let findings = scanner.scan(&mut scanner.scratch(), file.as_bytes());
/// assert_eq!(findings.len(), 1, "one credential, one finding");
/// let pair = &findings[0];
/// assert_eq!(&*pair.rule_id, "aws.secret_access_key");
/// assert_eq!(&*pair.parts[0].name, "key_id");
/// // keysweep:allow
/// assert_eq!(pair.parts[0].value, b"AKIAQYLPMN5HFIQR7XYA");
/// assert_eq!(pair.parts[0].rule_id.as_deref(), Some("aws.access_key_id"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Part {
    /// The part's name: its capture group (`private_key`, `client_email`, `key_id`, `user`).
    pub name: Arc<str>,
    /// Byte range of the part in the haystack (for a decoded finding, the encoded text's).
    pub range: Range<usize>,
    /// The part's bytes. Treat as secret when [`rule_id`](Part::rule_id) is set.
    pub value: Vec<u8>,
    /// The rule whose finding this part absorbed (`pem.pkcs8_private_key` for a
    /// service-account file's key), if any: such a part is itself a secret.
    pub rule_id: Option<Arc<str>>,
}

impl Part {
    /// A part named `name` holding `value`, at no position: for a credential read back from
    /// saved results rather than found in a buffer.
    pub fn new(name: &str, value: Vec<u8>) -> Part {
        Part {
            name: Arc::from(name),
            range: 0..0,
            value,
            rule_id: None,
        }
    }
}

impl Finding {
    /// A finding of rule `rule_id` with this secret and these parts, at no position: for a
    /// credential read back from saved results (a sweep's records), to validate it again.
    ///
    /// ```
    /// use keysweep::{Finding, Part};
    ///
    /// let f = Finding::of_secret("aws.secret_access_key", b"s".to_vec(), vec![Part::new("key_id", b"AKIA".to_vec())]);
    /// assert_eq!(&*f.parts[0].name, "key_id");
    /// ```
    pub fn of_secret(rule_id: &str, secret: Vec<u8>, parts: Vec<Part>) -> Finding {
        Finding {
            rule_id: Arc::from(rule_id),
            rule_index: usize::MAX,
            range: 0..0,
            line: 0,
            column: 0,
            end_line: 0,
            end_column: 0,
            fingerprint: Fingerprint::of(&secret, None),
            entropy: shannon_entropy(&secret),
            secret,
            confidence: Confidence::Low,
            check_passed: None,
            suppressed: None,
            decoded: Vec::new(),
            parts,
        }
    }
}

/// Result of [`Scanner::scan_parallel_range`].
#[cfg(feature = "parallel")]
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RangeScan {
    /// Findings whose secret starts in the range, ordered by position.
    pub findings: Vec<Finding>,
    /// Newlines in the range.
    pub newlines: usize,
}

impl Scanner {
    /// Compiles `rules` with the default configuration.
    pub fn new(rules: RuleSet) -> Result<Scanner, BuildError> {
        ScannerBuilder::new().build(rules)
    }

    /// The rules, indexed by [`Finding::rule_index`].
    pub fn rules(&self) -> &[Rule] {
        &self.inner.rules
    }

    /// A digest (32 hex digits) of everything that shapes what this scanner finds: the
    /// library's version, every rule, and every setting of its [`ScannerBuilder`] (the
    /// fingerprint key included, hashed). Two scanners with equal digests find the same things
    /// in the same bytes, so it keys caches of findings: change a rule or a setting and the
    /// digest changes. Computed on first call (it formats every rule).
    ///
    /// ```
    /// use keysweep::{RuleSet, Scanner, ScannerBuilder};
    ///
    /// let a = Scanner::new(RuleSet::builtin()).unwrap();
    /// let b = Scanner::new(RuleSet::builtin()).unwrap();
    /// assert_eq!(a.settings_digest(), b.settings_digest());
    /// let keyed = ScannerBuilder::new()
    ///     .fingerprint_key(b"team".to_vec())
    ///     .build(RuleSet::builtin())
    ///     .unwrap();
    /// assert_ne!(a.settings_digest(), keyed.settings_digest());
    /// ```
    pub fn settings_digest(&self) -> &str {
        self.inner.settings_digest.get_or_init(|| {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            h.update(b"keysweep-scanner-settings 1\0");
            h.update(env!("CARGO_PKG_VERSION").as_bytes());
            h.update(b"\0");
            h.update(self.inner.settings.as_bytes());
            for rule in self.rules() {
                h.update(b"\0");
                h.update(format!("{rule:?}").as_bytes());
            }
            h.finalize()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
    }

    /// New scratch space for one thread.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            owner: self.inner.id,
            off: self.inner.scoped.clone(),
            allowed: Vec::new(),
            turned_on: Vec::new(),
            any_off: self.inner.scoped_count > 0,
            scoped_on: false,
            caches: (0..self.inner.rules.len()).map(|_| None).collect(),
            exact_caches: (0..self.inner.rules.len()).map(|_| None).collect(),
            keywordless_cache: None,
            in_decoded: false,
            hits: Vec::new(),
            joints: Vec::new(),
            lower: Vec::new(),
            pairs: Vec::new(),
            anchored: Vec::new(),
            candidates: Vec::new(),
            claimed: Vec::new(),
        }
    }

    /// Whether rule `index` has an upper bound on its match length (so a bounded window around
    /// each keyword hit is enough); `rules check` warns about the others.
    pub fn rule_is_bounded(&self, index: usize) -> bool {
        self.compiled(index).is_some_and(|c| c.bounded)
    }

    /// Compiles every rule now instead of on first use. Returns the ids and messages of the
    /// rules whose pattern does not compile (such rules never match), and as
    /// `(path patterns)` the path patterns that do not compile together (their rules then
    /// never apply, or are never allowed).
    pub fn compile_all(&self) -> Vec<(Arc<str>, String)> {
        let paths = self.inner.paths.build_errors().into_iter();
        let paths = paths.map(|e| (Arc::from("(path patterns)"), e));
        (0..self.inner.rules.len())
            .filter_map(|i| {
                let err = match self.compile_result(i) {
                    Ok(c) => {
                        let failed = c.rejects.iter().position(|(_, re)| re.get().is_none());
                        format!("reject #{} does not compile", failed? + 1)
                    }
                    Err(e) => e.clone(),
                };
                Some((self.inner.rules[i].id.clone(), err))
            })
            .chain(paths)
            .collect()
    }

    /// How to look for keywords in `len` more bytes: one at a time for a scanner's first
    /// [`DIRECT_BYTES`], then with the DFA. One thread builds it; the others go on one
    /// keyword at a time meanwhile, unless their range is larger than [`DIRECT_BYTES`]
    /// (worth the wait). `None` when there is no automaton (its offsets would overflow).
    fn keyword_automaton(&self, len: usize) -> Option<Keywords<'_>> {
        use std::sync::atomic::Ordering;
        let inner = &*self.inner;
        if let Some(built) = inner.automaton.get() {
            return built.as_ref().map(Keywords::Dfa);
        }
        let seen = inner.scanned_small.fetch_add(len as u64, Ordering::Relaxed) + len as u64;
        if inner.direct
            && (seen <= DIRECT_BYTES
                || (len as u64 <= DIRECT_BYTES && inner.building_dfa.swap(true, Ordering::AcqRel)))
        {
            return Some(Keywords::Direct);
        }
        // A large range builds (or waits for) the DFA: small ranges of other threads go on
        // one keyword at a time instead of waiting too.
        inner.building_dfa.store(true, Ordering::Release);
        self.automaton().map(Keywords::Dfa)
    }

    /// The keyword DFA, built the first time a scan needs it. `None` without keywords.
    fn automaton(&self) -> Option<&KeywordDfa> {
        let inner = &*self.inner;
        inner
            .automaton
            .get_or_init(|| {
                if inner.patterns.is_empty() {
                    return None;
                }
                // Standard semantics: a match state lists every keyword that ends there. The
                // only way this fails is a size limit, which hundreds of keywords do not reach;
                // scans then confirm every keyword rule over the whole input (slow, complete).
                KeywordDfa::new(&inner.patterns[..inner.shared])
            })
            .as_ref()
    }

    /// The automaton of every pattern, the shared ones and those only scoped rules have,
    /// built the first time a file turns a scoped rule on past the small inputs. `None` when
    /// it does not build (a size limit); such files are then searched one keyword at a time.
    fn full_automaton(&self) -> Option<&KeywordDfa> {
        let inner = &*self.inner;
        inner
            .full_automaton
            .get_or_init(|| KeywordDfa::new(&inner.patterns))
            .as_ref()
    }

    fn compile_result(&self, index: usize) -> &Result<Compiled, String> {
        self.inner.compiled[index]
            .get_or_init(|| compile(&self.inner.rules[index], self.shape(index)))
    }

    /// Rule `index`'s shape worked out at build time, if it is a built-in rule as built in.
    fn shape(&self, index: usize) -> Option<&Shape> {
        self.inner.shapes[index]
            .get_or_init(|| crate::prepared::lookup(&self.inner.rules[index]))
            .as_ref()
    }

    /// Rule `index`'s window gate ([`window_literals`]), worked out on first use.
    fn window_gate(&self, index: usize) -> Option<&aho_corasick::AhoCorasick> {
        self.inner.window_gates[index]
            .get_or_init(|| {
                let rule = &self.inner.rules[index];
                let hir = crate::prepared::parse(&rule.pattern).ok()?;
                let keywords: Vec<Vec<u8>> = rule
                    .keywords
                    .iter()
                    .map(|k| k.to_ascii_lowercase().into_bytes())
                    .collect();
                let literals = window_literals(&hir, &keywords)?;
                aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(&literals)
                    .ok()
            })
            .as_ref()
    }

    fn compiled(&self, index: usize) -> Option<&Compiled> {
        self.compile_result(index).as_ref().ok()
    }

    /// Scans `haystack` and returns its findings, ordered by position. Rules scoped to some
    /// files ([`Rule::paths`]) do not run: there is no path; see [`scan_file`](Self::scan_file).
    pub fn scan(&self, scratch: &mut Scratch, haystack: &[u8]) -> Vec<Finding> {
        self.scan_file(scratch, haystack, None)
    }

    /// Scans `haystack`, the content of the file at `path` (`/`-separated, as shown to users):
    /// rules scoped to some files ([`Rule::paths`]) run where the path matches, and rules whose
    /// [`allow_paths`](Rule::allow_paths) match it do not run. `None` is [`scan`](Self::scan).
    ///
    /// ```
    /// use keysweep::{RuleSet, Scanner};
    ///
    /// let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    /// let pgpass = b"db.internal:5432:app:deploy:Vq9!zR4mKp2x\n";
    /// let found = scanner.scan_file(&mut scanner.scratch(), pgpass, Some("home/ada/.pgpass"));
    /// assert_eq!(&*found[0].rule_id, "postgres.pgpass");
    /// // The same line anywhere else is not a credential file.
    /// assert!(scanner.scan_file(&mut scanner.scratch(), pgpass, Some("notes.txt")).is_empty());
    /// ```
    pub fn scan_file(
        &self,
        scratch: &mut Scratch,
        haystack: &[u8],
        path: Option<&str>,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        self.select(scratch, path);
        self.scan_selected(scratch, haystack, &mut out);
        out
    }

    /// Whether rule `index` runs on the file at `path` (its [`Rule::paths`] and
    /// [`Rule::allow_paths`]).
    pub fn rule_applies(&self, index: usize, path: &str) -> bool {
        let inner = &*self.inner;
        if !inner.paths.rules.contains(&(index as u32)) {
            return true;
        }
        let (mut on, mut allowed) = (!inner.scoped[index], false);
        inner.paths.each_match(path, |rule, allow| {
            if rule as usize == index {
                match allow {
                    true => allowed = true,
                    false => on = true,
                }
            }
        });
        on && !allowed
    }

    /// Whether some rule scoped to some files ([`Rule::paths`]) runs on the file at `path`:
    /// such a file must be scanned with its path ([`scan_file`](Self::scan_file)).
    pub fn path_has_scoped_rules(&self, path: &str) -> bool {
        let inner = &*self.inner;
        let (mut on, mut allowed) = (Vec::new(), Vec::new());
        inner.paths.each_match(path, |rule, allow| match allow {
            true => allowed.push(rule),
            false => on.push(rule),
        });
        on.iter()
            .any(|r| inner.scoped[*r as usize] && !allowed.contains(r))
    }

    /// Whether a file named `name` (its last path component) may be one a path-scoped rule
    /// applies to. For callers that meet names before whole paths (git trees): a cheap test
    /// that never says no to a file a rule applies to, except for rules whose path patterns
    /// end with no fixed name or suffix (any file of a directory) or are not anchored at the
    /// end (`$`); confirm with
    /// [`path_has_scoped_rules`](Self::path_has_scoped_rules) on the whole path.
    pub fn may_scope_name(&self, name: &[u8]) -> bool {
        self.inner.paths.names.matches(name)
    }

    /// Turns the rules scoped by path on or off for the next input.
    fn select(&self, scratch: &mut Scratch, path: Option<&str>) {
        self.check_owner(scratch);
        let inner = &*self.inner;
        if inner.paths.rules.is_empty() {
            return;
        }
        // Every rule back to its default, scoped rules off and the others on, in one copy:
        // this runs for every file, and a loop over the hundreds of path-scoped rules (twice,
        // for the flags below) was a microsecond a file.
        scratch.off.copy_from_slice(&inner.scoped);
        let (off, allowed, turned_on) = (
            &mut scratch.off,
            &mut scratch.allowed,
            &mut scratch.turned_on,
        );
        allowed.clear();
        turned_on.clear();
        if let Some(path) = path {
            // A matching `paths` pattern turns its rule on, an `allow_paths` one off; an
            // allowed path wins, whatever the order the patterns are reported in.
            inner.paths.each_match(path, |rule, allow| {
                if allow {
                    allowed.push(rule);
                } else if off[rule as usize] {
                    off[rule as usize] = false;
                    turned_on.push(rule);
                }
            });
            for &rule in allowed.iter() {
                off[rule as usize] = true;
            }
        }
        // Only the rules named above left their defaults: a scoped rule is on if one of them
        // still is, and some rule is off if a path was allowed or a scoped rule stayed off.
        let still_on = turned_on.iter().filter(|&&r| !off[r as usize]).count();
        scratch.scoped_on = still_on > 0;
        scratch.any_off = !allowed.is_empty() || still_on < inner.scoped_count;
    }

    /// Like [`scan`](Scanner::scan), appending to `out` (which is not cleared).
    ///
    /// # Panics
    ///
    /// When `scratch` was made by another scanner.
    pub fn scan_into(&self, scratch: &mut Scratch, haystack: &[u8], out: &mut Vec<Finding>) {
        self.select(scratch, None);
        self.scan_selected(scratch, haystack, out);
    }

    /// Panics unless `scratch` was made by this scanner (its per-rule arrays are this rule
    /// set's).
    fn check_owner(&self, scratch: &Scratch) {
        assert_eq!(
            scratch.owner, self.inner.id,
            "keysweep: a Scratch must be used with the Scanner that made it"
        );
    }

    /// [`scan_into`](Self::scan_into) with the rules [`select`](Self::select)ed already.
    fn scan_selected(&self, scratch: &mut Scratch, haystack: &[u8], out: &mut Vec<Finding>) {
        self.check_owner(scratch);
        let from = out.len();
        let depth = self.inner.decode_depth;
        if haystack.len() <= 2 * SERIAL_CHUNK {
            self.scan_layers(
                scratch,
                haystack,
                0..haystack.len(),
                haystack.len(),
                depth,
                out,
            );
            assign_lines(haystack, 0, &mut out[from..], haystack.len());
        } else {
            // Chunk by chunk, each seeing `MAX_REACH` past its end, as a parallel scan does.
            let (mut start, mut line) = (0, 1);
            while start < haystack.len() {
                let owned_end = (start + SERIAL_CHUNK).min(haystack.len());
                let end = (owned_end + MAX_REACH).min(haystack.len());
                let chunk_from = out.len();
                self.scan_layers(scratch, haystack, start..end, owned_end, depth, out);
                let newlines = assign_lines(haystack, start, &mut out[chunk_from..], owned_end);
                for f in &mut out[chunk_from..] {
                    f.line += line - 1;
                    f.end_line += line - 1;
                }
                line += newlines;
                start = owned_end;
            }
        }
        self.keep_confident(out, from);
    }

    /// Drops the findings from `from` on that are below the minimum confidence. Done last, so
    /// that a dropped finding still settled duplicates exactly as in an unfiltered scan.
    fn keep_confident(&self, out: &mut Vec<Finding>, from: usize) {
        let min = self.inner.min_confidence;
        if min > Confidence::Low {
            let mut i = 0;
            out.retain(|f| {
                i += 1;
                i <= from || f.confidence >= min
            });
        }
    }

    /// [`scan_range`](Scanner::scan_range), then the decoding layers (up to `depth` deep) of
    /// the spans that start in `range.start..owned_end`. Lines are left unset.
    fn scan_layers(
        &self,
        scratch: &mut Scratch,
        hay: &[u8],
        range: Range<usize>,
        owned_end: usize,
        depth: usize,
        out: &mut Vec<Finding>,
    ) {
        let enabled = self.inner.decode;
        let from = out.len();
        // Text that looks like UTF-16 is scanned transcoded, and as written too: a binary
        // file may start with what looks like a byte order mark.
        if depth > 0 && range.start == 0 && enabled & Encoding::Utf16.bit() != 0 {
            if let Some(order) = decode::utf16_text(hay) {
                self.scan_utf16(scratch, hay, order, depth, out);
            }
        }
        // An e-mail's quoted-printable bodies are scanned decoded, and as written too (most
        // of their lines need no escape). Only when the whole buffer is one range: chunked
        // (a mailbox of several MiB), a decoded finding could lie in another chunk, whose lines
        // and duplicates this range does not see.
        if depth > 0
            && range.start == 0
            && owned_end == hay.len()
            && enabled & Encoding::QuotedPrintable.bit() != 0
        {
            self.scan_quoted_printable(scratch, hay, depth, out);
        }
        let decoded_whole = out.len() > from;
        self.scan_range(scratch, hay, range.clone(), owned_end, out);
        let whole_buffer = Encoding::Utf16.bit() | Encoding::QuotedPrintable.bit();
        let mut spans = Vec::new();
        if depth > 0 && enabled & !whole_buffer != 0 {
            // Values split across string literals: at the line ends the keyword pass found
            // ([`JOINTS`]), or by a walk over the lines when there was none.
            let joined = Encoding::Joined.bit();
            let found_joints = self.inner.prefilter && self.inner.has_joints;
            let walk = if found_joints {
                enabled & !joined
            } else {
                enabled
            };
            decode::candidates(hay, range.start..owned_end, walk, &mut spans);
            if enabled & joined != 0 && found_joints {
                // The hits' last bytes become their line breaks (the `\n` after a `\r`), in
                // place: no allocation per file.
                let owned = range.start..owned_end;
                scratch.joints.retain_mut(|at| {
                    if hay.get(*at) == Some(&b'\r') {
                        *at += 1;
                    }
                    hay.get(*at) == Some(&b'\n') && owned.contains(at)
                });
                scratch.joints.sort_unstable();
                scratch.joints.dedup();
                decode::joined_spans_at(hay, scratch.joints.iter().copied(), &mut spans);
            }
        }
        if spans.is_empty() && !decoded_whole {
            return;
        }
        let inner = &*self.inner;
        let mut buf = Vec::new();
        let mut found = Vec::new();
        let was_in_decoded = scratch.in_decoded;
        for (encoding, span) in spans {
            if !decode::decode(encoding, &hay[span.clone()], &mut buf) {
                continue;
            }
            found.clear();
            scratch.in_decoded = true;
            self.scan_layers(
                scratch,
                &buf,
                0..buf.len(),
                buf.len(),
                depth - 1,
                &mut found,
            );
            scratch.in_decoded = was_in_decoded;
            for mut f in found.drain(..) {
                f.range = span.clone();
                for p in &mut f.parts {
                    p.range = span.clone();
                }
                f.decoded.insert(0, encoding);
                if f.suppressed.is_none()
                    && inner.inline_allow
                    && !was_in_decoded
                    && inline_allows(hay, span.start, &f.rule_id)
                {
                    if !inner.keep_suppressed {
                        continue;
                    }
                    f.suppressed = Some(Suppression::Inline);
                }
                out.push(f);
            }
        }
        // Findings seen both as written and decoded, or through two layers, are reported once.
        out[from..].sort_by_key(|f| (f.range.start, f.rule_index));
        suppress_duplicates(&inner.generic, &inner.structured, out, from);
    }

    /// A UTF-16 buffer: transcoded, scanned (with its own decoding layers), and each finding
    /// mapped back to the bytes of its secret in the buffer.
    fn scan_utf16(
        &self,
        scratch: &mut Scratch,
        hay: &[u8],
        order: decode::Utf16,
        depth: usize,
        out: &mut Vec<Finding>,
    ) {
        let mut text = Vec::new();
        let map = decode::utf16_to_utf8(hay, order, &mut text);
        let at = |o| map.offset(hay, o);
        self.scan_whole_layer(scratch, &text, Encoding::Utf16, at, at, depth, out);
    }

    /// The quoted-printable bodies of an e-mail ([`decode::quoted_printable_bodies`]):
    /// decoded, scanned (with their own decoding layers), and each finding mapped back to the
    /// bytes of its secret in the message. A secret with no escape in it is found as written
    /// too, and reported once ([`suppress_duplicates`]).
    fn scan_quoted_printable(
        &self,
        scratch: &mut Scratch,
        hay: &[u8],
        depth: usize,
        out: &mut Vec<Finding>,
    ) {
        let mut text = Vec::new();
        let Some(map) = decode::quoted_printable_bodies(hay, &mut text) else {
            return;
        };
        let (start, end) = (|o| map.offset(o), |o| map.end_offset(o));
        let qp = Encoding::QuotedPrintable;
        self.scan_whole_layer(scratch, &text, qp, start, end, depth, out);
    }

    /// Scans `text`, a whole buffer decoded as `encoding`, with its own layers, and adds its
    /// findings to `out` with their ranges (and their parts') mapped back to the input by
    /// `start` and `end` (for a range's start and its end).
    #[allow(clippy::too_many_arguments)]
    fn scan_whole_layer(
        &self,
        scratch: &mut Scratch,
        text: &[u8],
        encoding: Encoding,
        start: impl Fn(usize) -> usize,
        end: impl Fn(usize) -> usize,
        depth: usize,
        out: &mut Vec<Finding>,
    ) {
        let mut found = Vec::new();
        self.scan_layers(
            scratch,
            text,
            0..text.len(),
            text.len(),
            depth - 1,
            &mut found,
        );
        for mut f in found {
            f.range = start(f.range.start)..end(f.range.end);
            for p in &mut f.parts {
                p.range = start(p.range.start)..end(p.range.end);
            }
            f.decoded.insert(0, encoding);
            out.push(f);
        }
    }

    /// Scans a large haystack on rayon's thread pool, cut into overlapping chunks. Findings
    /// and their lines are exactly those of [`scan`](Scanner::scan).
    #[cfg(feature = "parallel")]
    pub fn scan_parallel(&self, haystack: &[u8]) -> Vec<Finding> {
        self.scan_parallel_range(haystack, 0..haystack.len(), 1, None)
            .findings
    }

    /// [`scan_parallel`](Self::scan_parallel) of the content of the file at `path` (see
    /// [`scan_file`](Self::scan_file)).
    #[cfg(feature = "parallel")]
    pub fn scan_parallel_file(&self, haystack: &[u8], path: Option<&str>) -> Vec<Finding> {
        self.scan_parallel_range(haystack, 0..haystack.len(), 1, path)
            .findings
    }

    /// Scans the part of `haystack` in `range` in parallel: the findings whose secret starts
    /// in `range`, with lines numbered from `first_line` (the line `range.start` is on), and
    /// the number of newlines in `range`, to number the next range's lines.
    ///
    /// Consecutive ranges give the same findings as one [`scan`](Scanner::scan) of the whole
    /// haystack (keyword windows and look-around see past the range's ends). This lets a
    /// caller scan a stream of any size one segment at a time, keeping [`CHUNK_OVERLAP`]
    /// bytes of context. `path` is the file's path, as for [`scan_file`](Self::scan_file).
    ///
    /// ```
    /// # use keysweep::{RuleSet, Scanner};
    /// let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    /// let hay = b"one\napi_key = \"q8Xv2LmZ7pRt4YwK9sNb3Jd6\"\nthree\ntoken: 'T5kR9mW2xQ7vL3pZ8nB4yJ6c'\n";
    /// let mid = 20;
    /// let first = scanner.scan_parallel_range(hay, 0..mid, 1, None);
    /// let second = scanner.scan_parallel_range(hay, mid..hay.len(), 1 + first.newlines, None);
    /// let lines: Vec<usize> = first.findings.iter().chain(&second.findings).map(|f| f.line).collect();
    /// assert_eq!(lines, [2, 4]);
    /// ```
    #[cfg(feature = "parallel")]
    pub fn scan_parallel_range(
        &self,
        haystack: &[u8],
        range: Range<usize>,
        first_line: usize,
        path: Option<&str>,
    ) -> RangeScan {
        use rayon::prelude::*;

        const MIN_CHUNK: usize = 1 << 20;
        let range = range.start.min(haystack.len())..range.end.min(haystack.len());
        let threads = rayon::current_num_threads().max(1);
        let chunk = (range.len() / (threads * 8))
            .max(MIN_CHUNK)
            .max(4 * MAX_REACH);
        let starts: Vec<usize> = (range.start..range.end).step_by(chunk).collect();
        // Each chunk numbers its findings' lines from its own start and counts its newlines;
        // a prefix sum then turns chunk-relative lines into file lines.
        let per_chunk: Vec<(Vec<Finding>, usize)> = starts
            .par_iter()
            .map_init(
                || {
                    let mut scratch = self.scratch();
                    self.select(&mut scratch, path);
                    scratch
                },
                |scratch, &start| {
                    let owned_end = (start + chunk).min(range.end);
                    let end = (owned_end + MAX_REACH).min(haystack.len());
                    let mut out = Vec::new();
                    let depth = self.inner.decode_depth;
                    self.scan_layers(scratch, haystack, start..end, owned_end, depth, &mut out);
                    let newlines = assign_lines(haystack, start, &mut out, owned_end);
                    self.keep_confident(&mut out, 0);
                    (out, newlines)
                },
            )
            .collect();
        let mut before = first_line - 1;
        let mut findings = Vec::new();
        for (mut found, newlines) in per_chunk {
            for f in found.iter_mut() {
                f.line += before;
                f.end_line += before;
            }
            before += newlines;
            findings.append(&mut found);
        }
        RangeScan {
            findings,
            newlines: before - (first_line - 1),
        }
    }

    /// Scans the matches that start in `range.start..owned_end`. Keyword hits are looked for in
    /// `range` (and, for a chunk after the first, one window before it); windows and
    /// look-around may see the whole haystack. Lines are left unset.
    fn scan_range(
        &self,
        scratch: &mut Scratch,
        hay: &[u8],
        range: Range<usize>,
        owned_end: usize,
        out: &mut Vec<Finding>,
    ) {
        let inner = &*self.inner;
        let from = out.len();
        scratch.candidates.clear();
        scratch.anchored.clear();
        scratch.claimed.clear();
        scratch.joints.clear();
        if !inner.prefilter {
            for i in 0..inner.rules.len() {
                scratch.candidates.push((i as u32, range.start, range.end));
            }
        } else {
            if let Some(automaton) = self.keyword_automaton(range.len()) {
                scratch.hits.clear();
                // A chunk after the first also looks for keywords one window before its start:
                // a match there that reaches into the chunk masks overlapping matches as it
                // would in a scan of the whole input (its own finding belongs to the chunk
                // before, which owns its start).
                let look_back = if range.start == 0 { 0 } else { MAX_WINDOW };
                let from = range.start.saturating_sub(look_back);
                // Where a scoped rule is on, its keywords too: in the same pass.
                let all = &inner.patterns;
                let scoped = scratch.scoped_on && inner.shared < all.len();
                let patterns = if scoped {
                    &all[..]
                } else {
                    &all[..inner.shared]
                };
                let dfa = match automaton {
                    Keywords::Dfa(_) if scoped => self.full_automaton(),
                    Keywords::Dfa(a) => Some(a),
                    Keywords::Direct => None,
                };
                find_keywords(dfa, patterns, hay, from..range.end, scratch);
                for &(pattern, start) in &scratch.hits {
                    let keyword = &inner.keywords[pattern.as_usize()];
                    if keyword.joint {
                        // Its last byte: the `\n`, or the `\r` of a `\r\n`.
                        scratch
                            .joints
                            .push(start + inner.patterns[pattern.as_usize()].len() - 1);
                    }
                    if keyword.triggers.is_empty() {
                        continue;
                    }
                    let prefix_len = inner.patterns[pattern.as_usize()].len();
                    let follow = keyword.follow.get_or_init(|| {
                        let set = |t: &Trigger| {
                            self.shape(t.rule as usize)
                                .map_or([u64::MAX; 4], |s| s.follow_set(t.keyword.into()))
                        };
                        keyword.triggers.iter().map(set).collect()
                    });
                    // The last longer keyword compared at this hit, and whether the input holds it
                    // (triggers naming the same one are side by side).
                    let mut compared: Option<(&[u8], bool)> = None;
                    for (t, follow) in keyword.triggers.iter().zip(follow.iter()) {
                        // A rule off for this input (scoped to other paths) is neither
                        // compiled nor confirmed.
                        if scratch.any_off && scratch.off[t.rule as usize] {
                            continue;
                        }
                        if let Some(full) = &t.full {
                            let found = match compared {
                                Some((last, found)) if *last == **full => found,
                                _ => hay
                                    .get(start..start + full.len())
                                    .is_some_and(|w| w.eq_ignore_ascii_case(full)),
                            };
                            compared = Some((full, found));
                            if !found {
                                continue;
                            }
                        }
                        let len = t.full.as_ref().map_or(prefix_len, |full| full.len());
                        // A byte after the hit that no match of the rule can have there.
                        if hay.get(start + len).is_some_and(|&b| !has_byte(follow, b)) {
                            continue;
                        }
                        if let Some(exact) = &t.exact {
                            if hay[start..start + len] != **exact {
                                continue;
                            }
                        }
                        // Where the rule's matches may start, from its shape (a built-in
                        // rule's, known without compiling it) or its compiled pattern.
                        let rule = t.rule as usize;
                        let (lead, window, gate) = match self.shape(rule) {
                            Some(shape) => (shape.lead, window(shape.max_len), shape.gate.as_ref()),
                            None => match self.compiled(rule) {
                                Some(c) => (c.keyword_lead, c.window, None),
                                None => continue,
                            },
                        };
                        if let Some(lead) = lead {
                            let first = start.saturating_sub(lead);
                            // A hit the rule cannot match from is dropped here, before the
                            // rule is compiled (see `crate::prepared`).
                            if gate.is_some_and(|g| !g.may_match_from(hay, first..=start, window)) {
                                continue;
                            }
                            scratch.anchored.push((t.rule, first, start));
                            continue;
                        }
                        // A window rule's gate ([`crate::prepared`]) is the part of its
                        // pattern from a keyword on: a hit it turns away holds no match's
                        // keyword. Then the literals a window must hold, if any.
                        if gate.is_some_and(|g| !g.may_match_from(hay, start..=start, window)) {
                            continue;
                        }
                        let from = start.saturating_sub(window);
                        let to = (start + len + window).min(hay.len());
                        if self
                            .window_gate(rule)
                            .is_some_and(|g| !g.is_match(&hay[from..to]))
                        {
                            continue;
                        }
                        scratch.candidates.push((t.rule, from, to));
                    }
                }
            } else if !inner.patterns.is_empty() {
                // No automaton (a size limit): confirm every keyword rule over the range.
                for (i, rule) in inner.rules.iter().enumerate() {
                    if !rule.keywords.is_empty() {
                        scratch.candidates.push((i as u32, range.start, range.end));
                    }
                }
            }
            self.keywordless_candidates(scratch, hay, range.clone());
        }
        if scratch.any_off {
            let off = &scratch.off;
            scratch.candidates.retain(|c| !off[c.0 as usize]);
            scratch.anchored.retain(|a| !off[a.0 as usize]);
        }
        // Merge overlapping windows of the same rule so each region is searched once.
        scratch.candidates.sort_unstable();
        let mut merged_to = 0;
        for i in 0..scratch.candidates.len() {
            let (rule, start, end) = scratch.candidates[i];
            if merged_to > 0 {
                let prev = &mut scratch.candidates[merged_to - 1];
                if prev.0 == rule && start <= prev.2 {
                    prev.2 = prev.2.max(end);
                    continue;
                }
            }
            scratch.candidates[merged_to] = (rule, start, end);
            merged_to += 1;
        }
        scratch.candidates.truncate(merged_to);

        for ci in 0..scratch.candidates.len() {
            let (rule, start, end) = scratch.candidates[ci];
            // A window its rule's sweep turns away holds no match: the rule is neither
            // compiled nor searched there (see `crate::prepared`).
            let sweep = self.shape(rule as usize).and_then(|s| s.sweep.as_ref());
            if inner.prefilter && sweep.is_some_and(|s| !s.matches_in(hay, start, end)) {
                continue;
            }
            self.confirm(
                scratch,
                hay,
                rule as usize,
                start..end,
                range.start..owned_end,
                out,
            );
        }
        // Anchored tries in order per rule, skipping positions inside the rule's previous
        // match (found, even if a gate then dropped it): exactly the matches a leftmost-first
        // sweep of the whole input reports, since each of them starts at a keyword.
        // `resume_at` also skips positions tried already (ranges of nearby hits overlap).
        scratch.anchored.sort_unstable();
        let (mut rule_of_prev, mut resume_at) = (u32::MAX, 0);
        for ai in 0..scratch.anchored.len() {
            let (rule, first, last) = scratch.anchored[ai];
            if rule != rule_of_prev {
                (rule_of_prev, resume_at) = (rule, 0);
            }
            let mut at = first.max(resume_at);
            let starts = self
                .compiled(rule as usize)
                .and_then(|c| c.first_bytes.as_deref());
            while at <= last {
                if let (Some(starts), Some(&b)) = (starts, hay.get(at)) {
                    if !starts[b as usize] {
                        at += 1;
                        resume_at = at;
                        continue;
                    }
                }
                let owned = range.start..owned_end;
                resume_at = match self.confirm_at(scratch, hay, rule as usize, at, owned, out) {
                    Some(end) => end.max(at + 1),
                    None => at + 1,
                };
                at = resume_at;
            }
        }
        if !scratch.claimed.is_empty() {
            // A generic rule's guess at a value an extractor read gives way to its reading
            // (reported, or judged no secret: a Secret's `username`, a placeholder password),
            // and so does its guess at a value a specific rule rejected.
            let claimed = &scratch.claimed;
            let mut i = 0;
            out.retain(|f| {
                i += 1;
                i <= from
                    || !(inner.generic[f.rule_index]
                        && !inner.structured[f.rule_index]
                        && f.decoded.is_empty()
                        && claimed
                            .iter()
                            .any(|c| c.start < f.range.end && f.range.start < c.end))
            });
        }
        let found = &mut out[from..];
        found.sort_by_key(|f| (f.range.start, f.rule_index));
        suppress_duplicates(&inner.generic, &inner.structured, out, from);
    }

    /// Adds the windows of keyword-less rules: one multi-pattern regex pass finds where each
    /// may match.
    fn keywordless_candidates(&self, scratch: &mut Scratch, hay: &[u8], range: Range<usize>) {
        let inner = &*self.inner;
        // Credential-file rules have no keyword: each one on for this file runs over all of it
        // (such files are small). Apart from the shared pass, so that one rule's match cannot
        // hide another's.
        for &rule in &inner.scoped_keywordless {
            if !scratch.off[rule as usize] {
                scratch.candidates.push((rule, range.start, range.end));
            }
        }
        if inner.keywordless.iter().all(|&r| scratch.off[r as usize]) {
            return;
        }
        let regex = inner.keywordless_regex.get_or_init(|| {
            let hirs = inner
                .keywordless
                .iter()
                .map(|&i| crate::prepared::parse(&inner.rules[i as usize].pattern))
                .collect::<Result<Vec<_>, _>>()
                .ok()?;
            Regex::builder()
                .configure(meta_config())
                .build_many_from_hir(&hirs)
                .ok()
        });
        let Some(regex) = regex else {
            // Some pattern does not compile alone either; confirm each over the whole range.
            for &rule in &inner.keywordless {
                scratch.candidates.push((rule, range.start, range.end));
            }
            return;
        };
        let cache = scratch
            .keywordless_cache
            .get_or_insert_with(|| regex.create_cache());
        let mut at = range.start;
        while at < range.end {
            let input = Input::new(hay).span(at..range.end);
            let Some(m) = regex.search_with(cache, &input) else {
                break;
            };
            let rule = inner.keywordless[m.pattern().as_usize()];
            scratch.candidates.push((rule, m.start(), m.end()));
            at = if m.end() > m.start() {
                m.end()
            } else {
                m.end() + 1
            };
        }
    }

    /// Runs rule `rule` over `window` and turns its matches that start in `owned` into
    /// findings, after the placeholder, entropy and structural gates.
    fn confirm(
        &self,
        scratch: &mut Scratch,
        hay: &[u8],
        rule: usize,
        window: Range<usize>,
        owned: Range<usize>,
        out: &mut Vec<Finding>,
    ) {
        let Some(c) = self.compiled(rule) else { return };
        let in_decoded = scratch.in_decoded;
        let (cache, caps) = &mut **scratch.caches[rule]
            .get_or_insert_with(|| Box::new((c.regex.create_cache(), c.regex.create_captures())));
        let mut at = window.start;
        while at < window.end {
            let input = Input::new(hay).span(at..window.end).anchored(Anchored::No);
            c.regex.search_captures_with(cache, &input, caps);
            let Some(m) = caps.get_match() else { break };
            let exact_cache = &mut scratch.exact_caches[rule];
            if !c.exact_match(exact_cache, caps, hay, m.start(), window.end) {
                at = m.start() + 1;
                continue;
            }
            let Some(m) = caps.get_match() else { break };
            at = if m.end() > m.start() {
                m.end()
            } else {
                m.end() + 1
            };
            if let Some(kind) = c.extract {
                let claimed = &mut scratch.claimed;
                self.extracted(rule, kind, m.range(), hay, &owned, in_decoded, claimed, out);
            } else if let Some(f) =
                self.finding(rule, caps, hay, &owned, in_decoded, &mut scratch.claimed)
            {
                out.push(f);
            }
        }
    }

    /// One anchored search of rule `rule` at `at` (a keyword hit where every match of the rule
    /// must start). Returns the end of the match, if there is one, whether or not it became a
    /// finding.
    fn confirm_at(
        &self,
        scratch: &mut Scratch,
        hay: &[u8],
        rule: usize,
        at: usize,
        owned: Range<usize>,
        out: &mut Vec<Finding>,
    ) -> Option<usize> {
        let c = self.compiled(rule)?;
        let in_decoded = scratch.in_decoded;
        let (cache, caps) = &mut **scratch.caches[rule]
            .get_or_insert_with(|| Box::new((c.regex.create_cache(), c.regex.create_captures())));
        let end = (at + c.window).min(hay.len());
        let input = Input::new(hay).span(at..end).anchored(Anchored::Yes);
        c.regex.search_captures_with(cache, &input, caps);
        let m = caps.get_match()?;
        let exact_cache = &mut scratch.exact_caches[rule];
        if !c.exact_match(exact_cache, caps, hay, m.start(), end) {
            return None;
        }
        let m = caps.get_match()?;
        if let Some(kind) = c.extract {
            let claimed = &mut scratch.claimed;
            self.extracted(rule, kind, m.range(), hay, &owned, in_decoded, claimed, out);
        } else if let Some(f) =
            self.finding(rule, caps, hay, &owned, in_decoded, &mut scratch.claimed)
        {
            out.push(f);
        }
        Some(m.end())
    }

    /// Turns a match into a finding if its secret starts in `owned` and passes the
    /// placeholder, entropy and structural gates. A specific rule's match that its `reject`
    /// drops claims its secret: the rule recognised the value and judged it (a Google API key
    /// in a Firebase config is public), so a generic rule's guess at it gives way.
    fn finding(
        &self,
        rule: usize,
        caps: &Captures,
        hay: &[u8],
        owned: &Range<usize>,
        in_decoded: bool,
        claimed: &mut Vec<Range<usize>>,
    ) -> Option<Finding> {
        let c = self.compiled(rule)?;
        let (span, quoted_literal) = if c.secret_groups.is_empty() {
            (caps.get_match()?.range(), false)
        } else {
            c.secret_groups
                .iter()
                .find_map(|&(g, literal)| Some((caps.get_group(g)?.range(), literal)))?
        };
        if span.is_empty() || !owned.contains(&span.start) {
            return None;
        }
        let mut dropped = None;
        if !c.rejects.is_empty() {
            let start = caps.get_match()?.start();
            // What precedes the match on its line, at most PREFIX_LEN bytes: the rest of the
            // name a keyword-anchored pattern starts inside of (`Next` of `NextToken`).
            let line_start = memchr::memrchr(b'\n', &hay[start.saturating_sub(PREFIX_LEN)..start])
                .map_or(start.saturating_sub(PREFIX_LEN), |p| {
                    start.saturating_sub(PREFIX_LEN) + p + 1
                });
            for (group, re) in &c.rejects {
                let text = if *group == PREFIX {
                    Some(&hay[line_start..start])
                } else {
                    caps.get_group(*group).map(|m| &hay[m.range()])
                };
                if text.is_some_and(|t| re.is_match(t)) {
                    if !self.inner.generic[rule] {
                        claimed.push(span.clone());
                    }
                    if !self.inner.keep_dropped {
                        return None;
                    }
                    dropped = Some(Suppression::Rejected);
                    break;
                }
            }
        }
        let parts = c
            .parts
            .iter()
            .filter_map(|(name, groups)| {
                let m = groups.iter().find_map(|&g| caps.get_group(g))?;
                Some(Part {
                    name: name.clone(),
                    range: m.range(),
                    value: hay[m.range()].to_vec(),
                    rule_id: None,
                })
            })
            .collect();
        let key = c.key_group.and_then(|g| caps.get_group(g));
        let password_key = key.is_some_and(|m| names_password(&hay[..m.end], m.start));
        // A generic rule's value under a name that says it is encrypted
        // (`oAuthRefreshTokenEncrypted`, `password_ciphertext`), or a long run of hex digits
        // under a password's name (Salesforce Data Loader's encrypted passwords): ciphertext,
        // useless without its key.
        let value = &hay[span.clone()];
        // 128 hex digits: a SHA-512 digest, a password's hash (crackable), not ciphertext.
        let hex_ciphertext =
            || value.len() >= 80 && value.len() != 128 && value.iter().all(u8::is_ascii_hexdigit);
        if dropped.is_none()
            && self.inner.generic[rule]
            && (key.is_some_and(|m| names_encrypted(hay, m.range()))
                || password_key && hex_ciphertext())
        {
            if !self.inner.keep_dropped {
                return None;
            }
            dropped = Some(Suppression::Rejected);
        }
        let mut f = self.gate(
            rule,
            span.clone(),
            &hay[span],
            hay,
            parts,
            in_decoded,
            Vec::new(),
            password_key,
            quoted_literal,
            // A literal the syntax makes one under a password's name (`PGPASSWORD=Password1
            // psql`) or in a password rule's place for one (`net use \\srv\share Password1
            // /user:x`) is the password someone set, as an extractor's cell is.
            quoted_literal && (password_key || self.inner.password_rule[rule]),
        )?;
        if dropped.is_some() {
            // Rejected before any other gate: that is why it is no finding.
            f.suppressed = dropped;
        }
        Some(f)
    }

    /// The values an extractor reads around its anchor (the rule's match), each through the
    /// rule's gates.
    #[allow(clippy::too_many_arguments)]
    fn extracted(
        &self,
        rule: usize,
        kind: Extract,
        anchor: Range<usize>,
        hay: &[u8],
        owned: &Range<usize>,
        in_decoded: bool,
        claimed: &mut Vec<Range<usize>>,
        out: &mut Vec<Finding>,
    ) {
        let mut values = Vec::new();
        crate::extract::run(kind, hay, anchor, &mut values);
        for v in values {
            if !owned.contains(&v.value.start) {
                continue;
            }
            // A document written into a value (`.dockerconfigjson: '{"auths": ...}'`) is not
            // one secret: it is left to the rules that read its fields.
            // (Unescaping only undoubles quotes: the value's first byte is read as written.)
            if !v.base64
                && matches!(
                    hay[v.value.clone()]
                        .iter()
                        .find(|b| !b.is_ascii_whitespace()),
                    Some(b'{' | b'[')
                )
            {
                continue;
            }
            // So is a JAAS configuration (`...ScramLoginModule required username="avl"
            // password="...";`): the rules that read its fields report its password.
            if !v.base64 && memchr::memmem::find(&hay[v.value.clone()], b"LoginModule").is_some() {
                continue;
            }
            claimed.push(v.value.clone());
            // A value under a key that names an address or a user is no secret. A URL with a
            // password in it is left to the URL rules, which read it decoded from base64 too
            // (the extractor does not claim a written one).
            if v.claim_only {
                continue;
            }
            let (secret, layers) = if v.base64 {
                // A value known to be base64: unlike `decode::decode`'s guesses, short values
                // count (a six-letter password is still a password).
                let written = &hay[v.value.clone()];
                let mut decoded = Vec::new();
                if !crate::check::base64_decode_into(written, &mut decoded) || decoded.is_empty() {
                    continue;
                }
                if crate::decode::mostly_printable(&decoded) {
                    (decoded, vec![Encoding::Base64])
                } else if decoded.len() >= 16 {
                    // Binary once decoded: a keytab, a keystore, a random key. The value is
                    // reported as written (its bytes would print as noise).
                    (written.to_vec(), Vec::new())
                } else {
                    continue;
                }
            } else {
                (v.unescaped(hay), Vec::new())
            };
            // A short value counts under a key that names a credential (a six-letter
            // password); elsewhere it is a setting, encoded or not (`LOG_LEVEL: aW5mbw==`,
            // `NODE_ENV: "staging"`).
            if secret.len() < 8
                && !v.user_key
                && !crate::extract::names_credential(&hay[v.key.clone()])
            {
                continue;
            }
            if crate::extract::plainly_public(&secret)
                || crate::extract::host_name(&secret)
                    && !crate::extract::names_credential(&hay[v.key.clone()])
                || v.needs_entropy && (secret.len() < 16 || shannon_entropy(&secret) < 3.0)
            {
                continue;
            }
            let part = Part {
                name: Arc::from(if v.user_key { "user" } else { "key" }),
                range: v.key.clone(),
                value: hay[v.key.clone()].to_vec(),
                rule_id: None,
            };
            let password_key = v.user_key || names_password(&hay[..v.key.end], v.key.start);
            if let Some(f) = self.gate(
                rule,
                v.value,
                &secret,
                hay,
                vec![part],
                in_decoded,
                layers,
                password_key,
                false,
                password_key && !v.needs_entropy,
            ) {
                out.push(f);
            }
        }
    }

    /// The gates every match passes (literal, entropy, placeholder, allowlists, inline allow,
    /// baseline) and the finding it becomes. `password_key`: the value is assigned to a name
    /// that says password (a generic rule's value is then tested as a password literal).
    /// `quoted_literal`: the syntax makes the value a literal ([`Compiled::secret_groups`]),
    /// so it is not tested for code. `set_password`: the value is one an extractor read as a
    /// password set for an account (a credential column's cell, a Secret's `password`), where
    /// a capitalised policy word with digits (`Password1`) is the weak password someone chose,
    /// not a placeholder.
    #[allow(clippy::too_many_arguments)]
    fn gate(
        &self,
        rule: usize,
        span: Range<usize>,
        secret: &[u8],
        hay: &[u8],
        parts: Vec<Part>,
        in_decoded: bool,
        decoded: Vec<Encoding>,
        password_key: bool,
        quoted_literal: bool,
        set_password: bool,
    ) -> Option<Finding> {
        let c = self.compiled(rule)?;
        let spec = &self.inner.rules[rule];
        let inner = &*self.inner;
        let mut dropped = None;
        // A generic rule's value under a name that says password is taken as a password: its
        // literal test and entropy floor are those of the password rules.
        let passwords = match inner.literal[rule] {
            LiteralTest::Password => true,
            LiteralTest::General => password_key,
            LiteralTest::None => false,
        };
        let literal = match inner.literal[rule] {
            LiteralTest::None => true,
            _ if quoted_literal => true,
            _ if passwords => {
                looks_like_password_literal(secret)
                    || set_password && crate::filter::is_policy_word_with_digits(secret)
            }
            _ => looks_like_literal(secret),
        };
        if !literal {
            if !inner.keep_dropped {
                return None;
            }
            dropped = Some(Suppression::Code);
        }
        // A required check drops a match as a reject would; the others are run only for the
        // findings that get through the gates (a failed one lowers the confidence).
        let mut check_passed = None;
        if let Some(ch) = spec.check.filter(|ch| dropped.is_none() && ch.required()) {
            check_passed = Some(check::passes(ch, secret));
            if check_passed == Some(false) {
                if !inner.keep_dropped {
                    return None;
                }
                dropped = Some(Suppression::Rejected);
            }
        }
        let entropy = shannon_entropy(secret);
        // A generic rule's value under a password key needs what `generic.password.quoted`
        // asks of a password, not what the rule asks of a random key.
        let generic_password = password_key && inner.literal[rule] == LiteralTest::General;
        let min_entropy = spec.min_entropy.map(|min| {
            if generic_password {
                min.min(PASSWORD_MIN_ENTROPY)
            } else {
                min
            }
        });
        // The floor of a password (see `entropy_floor`): for values taken as passwords above,
        // and under every rule for passwords, literal test or not.
        let password_floor = passwords || inner.password_rule[rule];
        if dropped.is_none()
            && min_entropy.is_some_and(|min| entropy < entropy_floor(secret, min, password_floor))
        {
            if !inner.keep_dropped {
                return None;
            }
            dropped = Some(Suppression::Entropy);
        }
        let fingerprint = Fingerprint::of(secret, inner.fingerprint_key.as_deref());
        // A published value or an encrypted one is no leak even for rules that keep
        // placeholder-like words (weak passwords); `is_placeholder` checks for them too.
        let placeholder = || {
            if spec.placeholder_filter {
                is_placeholder(secret)
                    && !(set_password && crate::filter::is_policy_word_with_digits(secret))
            } else {
                let s = trim_quotes(secret);
                is_public_value(s)
                    || crate::filter::is_encrypted_value(s)
                    || crate::filter::is_replacement_token(s)
            }
        };
        let suppressed = if dropped.is_some() {
            dropped
        } else if placeholder() || inner.generic[rule] && introduced_as_example(hay, span.start) {
            Some(Suppression::Placeholder)
        } else if [&inner.allow_values, &c.allow]
            .into_iter()
            .any(|re| re.as_ref().is_some_and(|re| re.is_match(secret)))
        {
            Some(Suppression::Allowlist)
        } else if inner.inline_allow && !in_decoded && inline_allows(hay, span.start, &spec.id) {
            Some(Suppression::Inline)
        } else if inner.baseline.contains(&fingerprint) {
            Some(Suppression::Baseline)
        } else {
            None
        };
        if suppressed.is_some() && !inner.keep_suppressed {
            return None;
        }
        let check_passed = check_passed.or_else(|| spec.check.map(|ch| check::passes(ch, secret)));
        let confidence = if check_passed == Some(false) {
            Confidence::Low
        } else {
            spec.confidence
        };
        Some(Finding {
            parts,
            rule_id: spec.id.clone(),
            rule_index: rule,
            range: span,
            line: 0,
            column: 0,
            end_line: 0,
            end_column: 0,
            secret: secret.to_vec(),
            fingerprint,
            entropy,
            confidence,
            check_passed,
            suppressed,
            decoded,
        })
    }
}

/// Whether the text before `at` on its line (up to 200 bytes) presents what follows as an
/// example: `e.g.`, `for example`, `for instance,`, `such as`, `Example of a rejected
/// password:`. A generic rule's value there illustrates a format or a policy; it is not a
/// configured credential.
fn introduced_as_example(hay: &[u8], at: usize) -> bool {
    const REACH: usize = 200;
    let from = at.saturating_sub(REACH);
    let start = memchr::memrchr(b'\n', &hay[from..at]).map_or(from, |p| from + p + 1);
    // Lower-cased on the stack: this runs for every generic candidate that got this far.
    let mut buf = [0u8; REACH];
    let before = &mut buf[..at - start];
    before.copy_from_slice(&hay[start..at]);
    before.make_ascii_lowercase();
    // Each introducer starts a word (`e.g.` not inside `some.g.x`); `for instance` only as the
    // aside it is (`for instance,`), not in `the password for instance db-1`.
    const INTRODUCERS: [&[u8]; 7] = [
        b"e.g.",
        b"for example",
        b"for instance,",
        b"for instance:",
        b"example of",
        b"examples of",
        b"such as",
    ];
    INTRODUCERS.iter().any(|w| {
        memchr::memmem::find_iter(before, w)
            .any(|i| i == 0 || !before[i - 1].is_ascii_alphanumeric() && before[i - 1] != b'.')
    })
}

/// Drops duplicates: overlapping findings of one rule, findings of `generic` rules whose secret
/// overlaps a finding of a specific rule (`token = "ghp_…"` is a GitHub token, not also a
/// generic token), and all but one finding of the same secret range.
fn suppress_duplicates(generic: &[bool], structured: &[bool], out: &mut Vec<Finding>, from: usize) {
    absorb_parts(out, from);
    let found = &out[from..];
    if found.len() < 2 {
        return;
    }
    let mut keep = vec![true; found.len()];
    for i in 0..found.len() {
        for j in i + 1..found.len() {
            if !keep[i] {
                break; // a dropped finding suppresses nothing
            }
            if found[j].range.start >= found[i].range.end {
                break;
            }
            let (a, b) = (&found[i], &found[j]);
            if a.suppressed.is_some() != b.suppressed.is_some() {
                // Reported findings are those a scanner that drops suppressed ones reports.
                continue;
            }
            // A decoded finding's range is the whole encoded span, not its secret: it is
            // compared by value and rule, not by position.
            match (a.decoded.is_empty(), b.decoded.is_empty()) {
                (false, false) => {
                    // Two secrets from one span (or overlapping spans): one finding per value.
                    if a.fingerprint == b.fingerprint {
                        // The specific rule names it (a GitHub token under a Secret's `data:`).
                        if generic[a.rule_index] && !generic[b.rule_index] {
                            keep[i] = false;
                        } else {
                            keep[j] = false;
                        }
                    }
                    continue;
                }
                (true, false) | (false, true) => {
                    let (written, decoded) = if a.decoded.is_empty() { (i, j) } else { (j, i) };
                    let (w, d) = (&found[written], &found[decoded]);
                    if w.rule_index == d.rule_index
                        && w.fingerprint != d.fingerprint
                        && matches!(
                            d.decoded.first(),
                            Some(&Encoding::QuotedPrintable | &Encoding::Joined)
                        )
                    {
                        // In a quoted-printable body the written text is the escaped one
                        // (`Xk9=3Dq2`, a token cut by a soft break), and the first of the
                        // literals a value is split across is a part of it: the decoded value
                        // is the secret.
                        keep[written] = false;
                    } else if w.fingerprint == d.fingerprint || w.rule_index == d.rule_index {
                        // Seen as written: the same value, or the same rule matching the
                        // encoded text itself (a PEM key with its `\n` escapes, a SAS token
                        // with its `%2B`).
                        keep[decoded] = false;
                    } else if generic[w.rule_index] && !generic[d.rule_index] {
                        // A generic match on the encoded blob (`API_KEY: c2tfbGl2...`) gives way
                        // to the specific secret decoded from it.
                        keep[written] = false;
                    } else if generic[d.rule_index] && !generic[w.rule_index] {
                        keep[decoded] = false;
                    } else if generic[w.rule_index] && structured[d.rule_index] {
                        // A generic match on a Secret's base64 `data:` value gives way to the
                        // value the extractor decoded from it.
                        keep[written] = false;
                    } else if !generic[w.rule_index]
                        && w.range == d.range
                        && decodes_to_whole(&w.secret, d)
                    {
                        // A specific rule reports the encoded value, and the decoded secret is
                        // all of it (a kubeconfig's `client-key-data` holding a PEM key): one
                        // credential, reported as written. A part of it (the token inside a
                        // Docker `auth`) is a finding of its own.
                        keep[decoded] = false;
                    }
                    continue;
                }
                (true, true) => {}
            }
            if a.rule_index == b.rule_index {
                // Same rule, overlapping: keep the first (a window artefact otherwise).
                keep[j] = false;
                continue;
            }
            // Specific rules outrank extractors (which know the structure: a CSV column, a
            // Secret's value), which outrank generic `key = value` rules (which only guess).
            let rank = |f: &Finding| match (generic[f.rule_index], structured[f.rule_index]) {
                (false, false) => 2,
                (_, true) => 1,
                (true, false) => 0,
            };
            match (rank(a), rank(b)) {
                (ra, rb) if ra < rb => keep[i] = false,
                (ra, rb) if ra > rb => keep[j] = false,
                // Two rules, one secret (a Paystack key is also shaped like a Stripe key):
                // report it once, under the more confident rule, then the one that found more
                // of the credential (a block of WordPress salts over one salt of it), or the
                // first one loaded.
                _ if a.range == b.range => {
                    if (b.confidence, b.parts.len()) > (a.confidence, a.parts.len()) {
                        keep[i] = false;
                    } else {
                        keep[j] = false;
                    }
                }
                _ => {}
            }
        }
    }
    let mut k = 0;
    out.retain(|_| {
        let idx = k;
        k += 1;
        idx < from || keep[idx - from]
    });
}

/// Folds findings that lie inside a part of a multi-part finding into it: a service-account
/// file's private key is that credential, not a second one. A reported finding is never folded
/// into a suppressed one.
fn absorb_parts(out: &mut Vec<Finding>, from: usize) {
    let found = &mut out[from..];
    if found.len() < 2 || found.iter().all(|f| f.parts.is_empty()) {
        return;
    }
    let mut keep = vec![true; found.len()];
    for i in 0..found.len() {
        if found[i].parts.is_empty() || !keep[i] {
            continue;
        }
        for j in 0..found.len() {
            if i == j || !keep[j] || found[j].rule_index == found[i].rule_index {
                continue;
            }
            let (a, b) = (&found[i], &found[j]);
            if a.suppressed.is_some() && b.suppressed.is_none() {
                continue;
            }
            if !a.decoded.is_empty() && a.decoded != b.decoded {
                continue;
            }
            // A secret decoded from the part (a JSON-escaped PEM key) has the encoded string's
            // range: the part, give or take its quotes.
            let slack = if a.decoded.is_empty() && !b.decoded.is_empty() {
                2
            } else {
                0
            };
            let inside = a.parts.iter().position(|p| {
                p.range.start <= b.range.start + slack
                    && b.range.end <= p.range.end + slack
                    && b.range.start < p.range.end
                    // The part inside a longer string decoded whole (a notebook's source
                    // line holding a key file's `"private_key": "-----BEGIN ...`): the same
                    // key if it begins as the part does.
                    || slack > 0
                        && b.range.start <= p.range.start
                        && p.range.end <= b.range.end
                        && b.secret.len() >= 16
                        && p.value.starts_with(&b.secret[..16])
            });
            if let Some(k) = inside {
                let id = b.rule_id.clone();
                // The same key seen as written and decoded from its JSON string: one part.
                found[i].parts[k].rule_id.get_or_insert(id);
                keep[j] = false;
            }
        }
    }
    let mut k = 0;
    out.retain(|_| {
        let idx = k;
        k += 1;
        idx < from || keep[idx - from]
    });
}

/// Whether the decoded finding `d` is (nearly) everything `encoded` decodes to.
fn decodes_to_whole(encoded: &[u8], d: &Finding) -> bool {
    let whole = match d.decoded.first() {
        Some(Encoding::Base64) => encoded.len() * 3 / 4,
        Some(Encoding::Hex) => encoded.len() / 2,
        _ => encoded.len(),
    };
    d.secret.len() * 10 >= whole * 9
}

/// Counts `\n` bytes, eight at a time (SWAR): a byte of `w ^ 0x0a…` is zero exactly where `w`
/// has a newline, and the high-bit trick marks zero bytes without carries between them.
fn count_newlines(bytes: &[u8]) -> usize {
    const NL: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut words = bytes.chunks_exact(8);
    let mut total = 0;
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().expect("chunks_exact(8)")) ^ NL;
        // High bit of each byte set iff that byte of x is non-zero.
        let nonzero = ((x & LOW7) + LOW7) | x;
        total += (!nonzero & !LOW7).count_ones() as usize;
    }
    total + words.remainder().iter().filter(|&&b| b == b'\n').count()
}

/// Sets line/column fields of `findings` (sorted by start), numbering lines from `base`
/// (line 1 starts at `base`); columns are measured from the previous newline in `hay`. Returns
/// the number of newlines in `base..end`, counted in the same pass.
///
/// The start of the current line is carried from finding to finding, so many findings on one
/// long line (minified code, a base64 blob) cost one pass over it, not one per finding.
fn assign_lines(hay: &[u8], base: usize, findings: &mut [Finding], end: usize) -> usize {
    let mut pos = base;
    let mut line = 1;
    // Where the line holding `pos` starts; looked up once, when there is a finding.
    let mut line_start: Option<usize> = None;
    let find_start = |to: usize| memchr::memrchr(b'\n', &hay[..to]).map_or(0, |p| p + 1);
    for f in findings.iter_mut() {
        let start = f.range.start;
        if start >= pos {
            let gap = &hay[pos..start];
            line += count_newlines(gap);
            line_start = match memchr::memrchr(b'\n', gap) {
                Some(p) => Some(pos + p + 1),
                None => Some(line_start.unwrap_or_else(|| find_start(pos))),
            };
        } else {
            line -= count_newlines(&hay[start..pos]);
            line_start = Some(find_start(start));
        }
        pos = start;
        let start_of_line = line_start.unwrap_or(0);
        f.line = line;
        f.column = start - start_of_line + 1;
        // The credential ends with the secret or with the last part after it.
        let credential_end = f
            .parts
            .iter()
            .filter(|p| p.range.start >= f.range.end && p.range.end <= hay.len())
            .map(|p| p.range.end)
            .fold(f.range.end, usize::max);
        let last = credential_end.saturating_sub(1).max(start);
        let inside = &hay[start..last];
        f.end_line = line + count_newlines(inside);
        let end_line_start =
            memchr::memrchr(b'\n', inside).map_or(start_of_line, |p| start + p + 1);
        f.end_column = credential_end - end_line_start + 1;
    }
    (line - 1) + count_newlines(&hay[pos.min(end)..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_say_encrypted() {
        // (text, the key's text within it)
        for (text, key) in [
            ("<oAuthRefreshTokenEncrypted>", "Token"),
            ("password_ciphertext: ", "password"),
            ("encryptedSecret = ", "Secret"),
        ] {
            let at = text.find(key).unwrap();
            assert!(
                names_encrypted(text.as_bytes(), at..at + key.len()),
                "{text}"
            );
        }
        for (text, key) in [
            (
                "xpack.encryptedSavedObjects.encryptionKey: ",
                "encryptionKey",
            ),
            ("ENCRYPTION_SECRET=", "SECRET"),
            ("api_token: ", "token"),
        ] {
            let at = text.find(key).unwrap();
            assert!(
                !names_encrypted(text.as_bytes(), at..at + key.len()),
                "{text}"
            );
        }
    }

    #[test]
    fn keys_that_name_a_password() {
        for key in [
            "password",
            "DB_PASS",
            "ldapPwd",
            "Passphrase",
            "\"smtp_passwd\"",
            "secret",
        ] {
            assert!(names_password(key.as_bytes(), 0), "{key}");
        }
        for key in ["api_key", "token", "secrets", "secret_key", "pas", "pw"] {
            assert!(!names_password(key.as_bytes(), 0), "{key}");
        }
        // A generic rule's key group starts at its keyword: what is before it decides.
        for (text, start) in [
            ("  secret", 2),
            ("\"pre-shared-secret", 12),
            ("enable_secret", 7),
            ("enable secret", 7),
        ] {
            assert!(names_password(text.as_bytes(), start), "{text}");
        }
        for (text, start) in [
            ("client_secret", 7),
            ("sshKeySecret", 6),
            ("conn_secret", 5),
            ("api secret", 4),
        ] {
            assert!(!names_password(text.as_bytes(), start), "{text}");
        }
    }

    #[test]
    fn case_folding_keeps_one_spelling_of_each_prefix() {
        use regex_syntax::hir::literal::{ExtractKind, Extractor};
        let hir =
            parse_pattern(r"(?i)(?P<k>pass(?:word|wd))[ \t]*=[ \t]*(?P<secret>\S{8,64})").unwrap();
        let mut ex = Extractor::new();
        ex.kind(ExtractKind::Prefix).limit_literal_len(8);
        let lits: Vec<Vec<u8>> = ex
            .extract(&crate::lead::fold_case(&hir))
            .literals()
            .unwrap()
            .iter()
            .map(|l| l.as_bytes().to_vec())
            .collect();
        // One spelling of each: `password`, and `passwd` followed by what may come next.
        assert!(lits.len() <= 8, "{lits:?}");
        assert!(lits.contains(&b"password".to_vec()), "{lits:?}");
        assert!(
            lits.iter()
                .all(|l| l.starts_with(b"password") || l.starts_with(b"passwd")),
            "{lits:?}"
        );
        // Without folding, each letter doubles the set.
        let raw = ex.extract(&hir);
        assert!(raw.len().unwrap_or(usize::MAX) >= 4 * lits.len(), "{raw:?}");
    }

    #[test]
    fn folding_recognises_every_builtin_rule_the_unfolded_check_did() {
        use regex_syntax::hir::literal::{ExtractKind, Extractor};
        // The check without folding, as it was: every spelling of every prefix.
        let unfolded = |hir: &regex_syntax::hir::Hir, rule: &Rule| {
            let mut ex = Extractor::new();
            ex.kind(ExtractKind::Prefix).limit_total(8192);
            ex.extract(hir).literals().is_some_and(|lits| {
                !lits.is_empty()
                    && lits.iter().all(|l| {
                        rule.keywords.iter().any(|kw| {
                            l.as_bytes().len() >= kw.len()
                                && l.as_bytes()[..kw.len()].eq_ignore_ascii_case(kw.as_bytes())
                        })
                    })
            })
        };
        let rules = crate::RuleSet::builtin();
        let (mut before, mut after) = (0, 0);
        for rule in rules
            .rules()
            .iter()
            .filter(|r| !r.case_sensitive && !r.keywords.is_empty())
        {
            let hir = parse_pattern(&rule.pattern).unwrap();
            let old = unfolded(&hir, rule);
            let new = crate::lead::starts_with_keyword(&hir, &rule.keywords, rule.case_sensitive);
            assert!(
                !old || new,
                "{}: recognised before folding, not after",
                rule.id
            );
            before += usize::from(old);
            after += usize::from(new);
        }
        assert!(after >= before && before > 100, "{before} -> {after}");
    }

    fn scanner(src: &str) -> Scanner {
        Scanner::new(RuleSet::from_toml(src, "test.toml").unwrap()).unwrap()
    }

    /// A keyword longer than [`KEYWORD_PREFIX`] is searched for by its prefix and compared
    /// whole at the hit (ASCII case folded; exact for a case-sensitive rule): its prefix alone
    /// triggers nothing, and its whole in any case does.
    #[test]
    fn long_keywords_are_confirmed_whole_at_each_prefix_hit() {
        let rules = |case_sensitive: bool| {
            format!(
                r#"
[[rule]]
id = "long.keyword"
name = "Long"
description = "d"
keywords = ["LongPrefix_Key"]
case_sensitive = {case_sensitive}
pattern = '(?i:longprefix_\w{{3}})[ =]+(?P<secret>zz[a-z0-9]{{18}})\b'
"#
            )
        };
        assert!("longprefix_key".len() > KEYWORD_PREFIX);
        let secret = "zz7q3k9m2x8v4b6n1p5r";
        let s = scanner(&rules(false));
        let mut scratch = s.scratch();
        for (text, found) in [
            (format!("LongPrefix_Key {secret}"), true),
            (format!("LONGPREFIX_KEY={secret}"), true),
            (format!("longprefix_kez {secret}"), false),
            (format!("longprefix {secret}"), false),
            ("longprefix_ke".to_string(), false),
        ] {
            let got = s.scan(&mut scratch, text.as_bytes());
            assert_eq!(!got.is_empty(), found, "{text}");
        }
        let s = scanner(&rules(true));
        let mut scratch = s.scratch();
        assert_eq!(
            s.scan(&mut scratch, format!("LongPrefix_Key {secret}").as_bytes())
                .len(),
            1
        );
        assert!(s
            .scan(&mut scratch, format!("longprefix_key {secret}").as_bytes())
            .is_empty());
    }

    /// A keyword in another script is searched for by its ASCII head and the lead byte of its
    /// first non-ASCII character, and compared whole at each hit: words that share the lead byte
    /// (`парус`, `密度`) trigger nothing, in a small input (searched keyword by keyword) as in a
    /// large one (searched with the automaton). The pattern leaves the keyword out, so that only
    /// the keyword comparison can tell the words apart.
    #[test]
    fn keywords_in_other_scripts_are_confirmed_whole() {
        assert_eq!(pattern_len("hasło".as_bytes()), 4);
        assert_eq!(pattern_len("пароль".as_bytes()), 1);
        assert_eq!(pattern_len(b"password_hash"), KEYWORD_PREFIX);
        let rules = r#"
[[rule]]
id = "intl.password"
name = "Intl"
description = "d"
keywords = ["пароль", "密码", "hasło"]
pattern = '[ =:]+(?P<secret>zz[a-z0-9]{18})\b'
"#;
        let secret = "zz7q3k9m2x8v4b6n1p5r";
        let padding = "x = 1 # ascii filler\n".repeat(20_000);
        // `hasłx` shares `hasło`'s automaton pattern (`has` and the lead byte of `ł`).
        for (word, found) in [
            ("пароль", true),
            ("密码", true),
            ("hasło", true),
            ("парус", false),
            ("密度", false),
            ("hasłx", false),
        ] {
            // A fresh scanner for each: a scanner's first input decides whether keywords are
            // searched one by one (small) or with an automaton (large).
            for pad in ["", padding.as_str()] {
                let s = scanner(rules);
                let mut scratch = s.scratch();
                let text = format!("{pad}{word}: {secret}\n");
                let got = s.scan(&mut scratch, text.as_bytes());
                assert_eq!(
                    got.len(),
                    usize::from(found),
                    "{word} after {} bytes",
                    pad.len()
                );
            }
        }
    }

    const ACME: &str = r#"
[[rule]]
id = "acme.key"
name = "Acme"
description = "d"
keywords = ["acme_"]
pattern = '\b(?P<secret>acme_[a-z0-9]{16})\b'
"#;

    /// Regression: every secret in one encoded span is reported (they share its range), and
    /// one also visible as written inside the span is reported once, as written.
    #[test]
    fn two_secrets_in_one_encoded_span() {
        let s = scanner(ACME);
        let blob = "YSA9IGFjbWVfcTh3N2U2cjV0NHkzdTJpMQpiID0gYWNtZV96OXk4eDd3NnY1dTR0M3MyCg==";
        let found = s.scan(&mut s.scratch(), format!("creds: {blob}\n").as_bytes());
        let secrets: Vec<&[u8]> = found.iter().map(|f| f.secret.as_slice()).collect();
        assert_eq!(
            secrets,
            [b"acme_q8w7e6r5t4y3u2i1", b"acme_z9y8x7w6v5u4t3s2"]
        );
        assert!(found.iter().all(|f| f.decoded == [Encoding::Base64]));

        // Visible as written inside the encoded token too: reported once, as written.
        let found = s.scan(&mut s.scratch(), b"k=%20-acme_q8w7e6r5t4y3u2i1 more\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].decoded.is_empty());
        assert_eq!(found[0].range, 6..27);
    }

    /// An e-mail's quoted-printable body: a token cut by a soft line break is found whole,
    /// at the line and column it starts on; one with no escape in it is reported once, as
    /// written; a file that is no e-mail is not decoded.
    #[test]
    fn quoted_printable_mail_bodies() {
        let s = scanner(ACME);
        let mail = "From: it@example.org\r\nMIME-Version: 1.0\r\n\
            Content-Type: text/plain; charset=utf-8\r\n\
            Content-Transfer-Encoding: quoted-printable\r\n\r\n\
            Hej,\r\nL=C3=B6senord f=C3=B6r API: acme_q8w7e6r5t=\r\n4y3u2i1\r\n\
            reserv: acme_z9y8x7w6v5u4t3s2\r\n";
        let found = s.scan(&mut s.scratch(), mail.as_bytes());
        let got: Vec<(&[u8], usize, usize, &[Encoding])> = found
            .iter()
            .map(|f| (f.secret.as_slice(), f.line, f.column, f.decoded.as_slice()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    &b"acme_q8w7e6r5t4y3u2i1"[..],
                    7,
                    29,
                    &[Encoding::QuotedPrintable][..]
                ),
                (&b"acme_z9y8x7w6v5u4t3s2"[..], 9, 9, &[][..]),
            ]
        );
        let start = mail.find("acme_q8").unwrap();
        // 21 characters and the soft break's three bytes.
        assert_eq!(found[0].range, start..start + 24);

        // The same body in a file that does not start with MIME headers is left as written.
        let body = &mail[mail.find("Hej").unwrap()..];
        let found = s.scan(&mut s.scratch(), body.as_bytes());
        assert_eq!(found.len(), 1);
        assert!(found[0].decoded.is_empty());

        // Under the same rule, the decoded value wins over the escaped text it was written as.
        let pw = r#"
[[rule]]
id = "t.pw"
name = "pw"
description = "d"
keywords = ["pw:"]
pattern = 'pw:(?P<secret>[^\s]{6,40})'
"#;
        let p = scanner(pw);
        let head = "MIME-Version: 1.0\nContent-Transfer-Encoding: quoted-printable\n\n";
        let found = p.scan(
            &mut p.scratch(),
            format!("{head}pw:Xk9=3Dq2zz\n").as_bytes(),
        );
        let got: Vec<(&[u8], &[Encoding])> = found
            .iter()
            .map(|f| (f.secret.as_slice(), f.decoded.as_slice()))
            .collect();
        assert_eq!(got, [(&b"Xk9=q2zz"[..], &[Encoding::QuotedPrintable][..])]);

        // Turned off, the message is scanned as written only.
        let s = ScannerBuilder::new()
            .decode(Encoding::QuotedPrintable, false)
            .build(RuleSet::from_toml(ACME, "test.toml").unwrap())
            .unwrap();
        assert_eq!(s.scan(&mut s.scratch(), mail.as_bytes()).len(), 1);
    }

    /// A key split across string literals is found joined ([`Encoding::Joined`]), once, on
    /// its first line: from the line ends the keyword pass found, in CRLF text too, with the
    /// prefilter off (a walk over the lines), and not with the layer off.
    #[test]
    fn values_split_across_string_literals() {
        let text = "x = 1\nKEY = (\"acme_q8w7e6\"\n       \"r5t4y3u2i1\")\n";
        let php = "x = 1\n$key = 'acme_q8w7e6' .\n       'r5t4y3u2i1';\n";
        let got = |s: &Scanner, hay: &str| -> Vec<(usize, Vec<u8>, Vec<Encoding>)> {
            s.scan(&mut s.scratch(), hay.as_bytes())
                .into_iter()
                .map(|f| (f.line, f.secret, f.decoded))
                .collect()
        };
        let want = vec![(2, b"acme_q8w7e6r5t4y3u2i1".to_vec(), vec![Encoding::Joined])];
        let s = scanner(ACME);
        assert_eq!(got(&s, text), want);
        assert_eq!(got(&s, &text.replace('\n', "\r\n")), want);
        assert_eq!(got(&s, php), want);
        assert_eq!(got(&s, &php.replace('\n', "\r\n")), want);
        let rules = || RuleSet::from_toml(ACME, "test.toml").unwrap();
        let walk = ScannerBuilder::new()
            .prefilter(false)
            .build(rules())
            .unwrap();
        assert_eq!(got(&walk, text), want);
        let off = ScannerBuilder::new()
            .decode(Encoding::Joined, false)
            .build(rules())
            .unwrap();
        assert!(got(&off, text).is_empty());
    }

    #[test]
    fn lines_and_columns() {
        let s = scanner(ACME);
        let hay = b"first\r\nk = acme_q8w7e6r5t4y3u2i1\n\nx acme_z9y8x7w6v5u4t3s2";
        let f = s.scan(&mut s.scratch(), hay);
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].line, f[0].column, f[0].end_line, f[0].end_column),
            (2, 5, 2, 26)
        );
        assert_eq!((f[1].line, f[1].column), (4, 3));
    }

    #[test]
    fn window_merging_reports_each_match_once() {
        let s = scanner(ACME);
        let hay = b"acme_q8w7e6r5t4y3u2i1 acme_q8w7e6r5t4y3u2i1acme_";
        let f = s.scan(&mut s.scratch(), hay);
        assert_eq!(f.len(), 1, "{f:?}");
    }

    /// A window rule's window literals are what every match holds apart from its keyword, and
    /// only whole literals: none made of bytes that are not next to each other.
    #[test]
    fn window_literals_are_held_by_every_match_and_are_not_keywords() {
        let lits = |pattern: &str, keywords: &[&str]| {
            let kws: Vec<Vec<u8>> = keywords.iter().map(|k| k.as_bytes().to_vec()).collect();
            window_literals(&parse_pattern(pattern).unwrap(), &kws)
        };
        assert_eq!(
            lits(
                r"(?i)\b(?:name|key)[ \t]{0,3}=[ \t]{0,3}(?P<key>\w{0,20}secret\w{0,20}),[ \t]{0,3}value=(?P<secret>\S{8,64})",
                &["secret"]
            ),
            Some(vec![b"value=".to_vec()])
        );
        // The keyword is in every window: no gate from it.
        assert_eq!(lits(r"\bAKIA[A-Z0-9]{16}", &["akia"]), None);
        // `:` and `-` are not next to each other in a match: no `:-` literal. A literal that
        // holds a keyword and more is no keyword.
        assert_eq!(
            lits(
                r"https?://[^\s:@/]{0,100}:(?P<secret>[0-9a-f]{8}-[0-9a-f]{4})@git\.example\.com",
                &["example"]
            ),
            Some(vec![b"@git.example.com".to_vec()])
        );
        assert_eq!(
            lits(
                r"https?://[^\s:@/]{0,100}:(?P<secret>[0-9a-f]{8}-[0-9a-f]{4})",
                &["http"]
            ),
            Some(vec![b"://".to_vec()])
        );
        assert_eq!(
            lits(
                r"(?i)\bpassword[ \t]{1,3}(?P<secret>\S{16})[ \t]{1,3}encrypted\b",
                &["encrypted"]
            ),
            Some(vec![b"password".to_vec()])
        );
    }

    /// Large repetitions compile unbounded, but what a rule matches does not change: a match
    /// longer than the pattern allows is dropped, anchored at a keyword or searched in a
    /// window.
    #[test]
    fn relaxed_repetitions_match_what_the_bounded_pattern_matches() {
        let relaxed = relax_repeats(&parse_pattern(r"tok_[a-z0-9]{20,400}x{2,256}").unwrap())
            .expect("a repetition over the limit");
        assert_eq!(relaxed.properties().maximum_len(), None);
        let at_limit = format!("tok_[a-z0-9]{{8,{}}}", crate::relax::RELAX_ABOVE);
        assert!(relax_repeats(&parse_pattern(&at_limit).unwrap()).is_none());
        let token = |n: usize| -> String {
            let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
            (0..n)
                .map(|i| alphabet[(i * 7 + i / 36) % 36] as char)
                .collect()
        };
        // Anchored at its keyword, and (a lead of unbounded length) searched in a window.
        for pattern in [
            r"\b(?P<secret>tok_[a-z0-9]{20,400})\b",
            r"[a-z]{0,20}=(?P<secret>tok_[a-z0-9]{20,400})\b",
        ] {
            let mut rule = Rule::new("t.long", pattern);
            rule.keywords = vec!["tok_".into()];
            let mut rules = RuleSet::empty();
            rules.push(rule).unwrap();
            let scanner = Scanner::new(rules).unwrap();
            let mut scratch = scanner.scratch();
            for (n, found) in [(20, true), (400, true), (401, false), (3000, false)] {
                let text = format!("key=tok_{}\n", token(n));
                let findings = scanner.scan(&mut scratch, text.as_bytes());
                assert_eq!(
                    findings.len(),
                    usize::from(found),
                    "{pattern} {n}: {findings:?}"
                );
            }
        }
    }

    /// The generic rules reach the most keyword hits in real code: searched anchored at each
    /// hit they cost a few transitions per hit, searched in a window around it hundreds of
    /// bytes (a rails scan was 1.22x slower when one alternative of `generic.secret.quoted`
    /// started before its keyword). An alternative added to one of these must start with a
    /// keyword.
    #[test]
    fn busiest_generic_rules_are_searched_anchored_at_their_keywords() {
        let rules = RuleSet::builtin();
        for id in [
            "generic.secret.quoted",
            "generic.secret.unquoted",
            "generic.password.quoted",
            "generic.password.unquoted",
            "generic.secret.uuid_value",
            "generic.bearer_token",
            "generic.auth_header.token",
            "generic.secret.config_set",
            "generic.password.call",
            "generic.secret.call",
            "generic.password.prose",
            // Not generic, but woken by common bytes: `://`, and `ld_` in `field_`.
            "url.basic_auth_credentials",
            "launchdarkly.api_access_token",
        ] {
            let rule = rules.rules().iter().find(|r| &*r.id == id).expect(id);
            let compiled = compile(rule, None).unwrap();
            assert!(
                compiled.keyword_lead.is_some(),
                "{id} is searched in windows"
            );
        }
    }

    #[test]
    fn first_bytes_are_those_a_match_can_begin_with() {
        let starts = |pattern: &str| {
            first_bytes(&parse_pattern(pattern).unwrap()).map(|set| {
                (0..=255u8)
                    .filter(|&b| set[b as usize])
                    .collect::<Vec<u8>>()
            })
        };
        // A leading boundary may also be an escaped `\n`, `\r` or `\t` (see `lead::parse`).
        assert_eq!(starts(r"\b(?:https?|ftp)://").unwrap(), b"\\fh");
        assert_eq!(starts(r"(?i)\b(?:ab|c)").unwrap(), b"AC\\ac");
        // Optional items before the first required one add theirs.
        assert_eq!(starts(r"(?:x[0-9])?[a-b]{2}").unwrap(), b"abx");
        assert_eq!(starts(r"(?:^|[^A-Za-z])k").unwrap().len(), 256 - 51);
        // Matches that may be empty start anywhere.
        assert_eq!(starts(r"a*"), None);
        assert_eq!(starts(r"\b"), None);
        assert!(starts(r"(?u)\w").unwrap().contains(&0xC3));
    }

    #[test]
    fn keyword_lead_is_proven_only_when_every_match_starts_near_a_keyword() {
        let lead = |pattern: &str, keywords: &[&str], case_sensitive: bool| {
            let mut rule = Rule::new("t.t", pattern);
            rule.keywords = keywords.iter().map(|k| k.to_string()).collect();
            rule.case_sensitive = case_sensitive;
            keyword_lead(
                &parse_pattern(pattern).unwrap(),
                &rule.keywords,
                rule.case_sensitive,
            )
        };
        let check = |pattern: &str, keywords: &[&str], case_sensitive: bool| {
            lead(pattern, keywords, case_sensitive) == Some(0)
        };
        // A one-byte boundary class before the keyword, or the escaped line break it also
        // allows (`\n` in a JSON string): matches start at most 2 bytes before it.
        assert_eq!(
            lead(
                r"(?:^|[^A-Za-z0-9_-])(?P<secret>ghp_[A-Za-z0-9]{36})",
                &["ghp_"],
                true
            ),
            Some(2)
        );
        // A class that turns a backslash away is left as it is.
        assert_eq!(
            lead(
                r"(?:^|[^A-Za-z0-9_\\-])(?P<secret>ghp_[A-Za-z0-9]{36})",
                &["ghp_"],
                true
            ),
            Some(1)
        );
        assert_eq!(
            lead(r"[a-z]{0,20}ghp_[A-Za-z0-9]{36}", &["ghp_"], true),
            None
        );
        // Keywords that spell out each digit of a hex class.
        let hex: Vec<String> = "0123456789abcdef"
            .chars()
            .map(|c| format!("0.{c}"))
            .collect();
        let hex: Vec<&str> = hex.iter().map(String::as_str).collect();
        // A leading boundary may be an escaped `\n` (two bytes) instead.
        assert_eq!(
            lead(r"\b(?P<secret>0\.[0-9a-f]{8}-[0-9a-f]{4})", &hex, false),
            Some(2)
        );
        // Items up to a literal keyword: `https` and `+` with up to 8 letters, 14 bytes.
        assert_eq!(
            lead(
                r"(?i)\b(?:https?|sftp)(?:\+[a-z]{2,8})?://[^\s:@/]{1,64}:(?P<secret>[^\s@]{1,64})@",
                &["://"],
                false
            ),
            Some(16)
        );
        assert_eq!(
            lead(r"(?i)\b[a-z]{2,20}://[^\s:@/]{1,64}@", &["://"], false),
            None
        );
        // A line's indentation before a case-insensitive keyword (a class per letter): up to
        // 8 bytes; 40 are too many.
        assert_eq!(
            lead(
                r"(?im)^[ \t]{0,8}user[ \t]{1,4}(?P<user>\S{1,64})",
                &["user"],
                false
            ),
            Some(8)
        );
        assert_eq!(
            lead(
                r"(?im)^[ \t]{0,40}user[ \t]{1,4}(?P<user>\S{1,64})",
                &["user"],
                false
            ),
            None
        );
        assert_eq!(
            lead(r"\b(?P<secret>ghp_[A-Za-z0-9]{36})\b", &["ghp_"], true),
            Some(2)
        );
        assert!(check(r"(?P<secret>ghp_[A-Za-z0-9]{36})\b", &["ghp_"], true));
        assert!(check(
            r"(?i)(?:password|passwd)[\w.-]{0,24}\s{0,3}=",
            &["password", "passwd"],
            false
        ));
        // A case-insensitive pattern cannot lean on a case-sensitive keyword.
        assert!(!check(r"(?i)ghp_[a-z0-9]{36}", &["ghp_"], true));
        // The keyword is not at the start of every match.
        assert!(!check(
            r"(?:^|[^A-Za-z0-9_-])(?P<secret>ghp_[A-Za-z0-9]{36})",
            &["ghp_"],
            true
        ));
        assert!(!check(r"aws.{0,20}secret", &["secret"], false));
        assert!(!check(r"gh[a-z]{3}", &["ghp_"], true));
    }

    #[test]
    fn keywordless_rules_run_in_one_multi_pattern_pass() {
        let src = r#"
[[rule]]
id = "a.nokw"
name = "n"
description = "d"
pattern = '\b(?P<secret>AB[0-9]{6}CD)\b'

[[rule]]
id = "b.nokw"
name = "n"
description = "d"
pattern = '\bzz-(?P<secret>[a-f]{8})\b'

[[rule]]
id = "c.kw"
name = "n"
description = "d"
keywords = ["acme_"]
pattern = '\b(?P<secret>acme_[a-z0-9]{16})\b'
"#;
        let on = scanner(src);
        let off = ScannerBuilder::new()
            .prefilter(false)
            .build(RuleSet::from_toml(src, "t.toml").unwrap())
            .unwrap();
        let hay = b"x AB123456CD y zz-abcdefab acme_q8w7e6r5t4y3u2i1 AB12CD\nAB654321CD";
        let ids = |s: &Scanner| -> Vec<(String, usize)> {
            s.scan(&mut s.scratch(), hay)
                .iter()
                .map(|f| (f.rule_id.to_string(), f.line))
                .collect()
        };
        assert_eq!(
            ids(&on),
            [
                ("a.nokw".to_string(), 1),
                ("b.nokw".to_string(), 1),
                ("c.kw".to_string(), 1),
                ("a.nokw".to_string(), 2)
            ]
        );
        assert_eq!(ids(&on), ids(&off));
    }

    #[test]
    fn newline_count_matches_naive_count() {
        let mut data = Vec::new();
        for i in 0..20_000u32 {
            data.push(if i % 7 == 0 || i % 13 == 0 {
                b'\n'
            } else {
                (i % 251) as u8
            });
        }
        for len in [0, 1, 31, 32, 33, 8159, 8160, 8161, data.len()] {
            let naive = data[..len].iter().filter(|&&b| b == b'\n').count();
            assert_eq!(count_newlines(&data[..len]), naive, "len {len}");
        }
    }

    /// The lane-interleaved search against aho-corasick's own overlapping search, on random
    /// text over a small alphabet (so keywords overlap, nest and straddle lane boundaries).
    #[test]
    fn keyword_hits_equal_a_plain_overlapping_search() {
        let mut rand = crate::keyword_dfa::xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..200 {
            // Keywords over the first six bytes (lower-cased as the scanner's are), text over
            // all nine: upper case, a non-ASCII byte, and bytes no keyword holds.
            let alphabet = b"abcAB\xc3_9-";
            let kws: Vec<Vec<u8>> = (0..1 + rand(12))
                .map(|_| {
                    (0..1 + rand(6))
                        .map(|_| alphabet[rand(6) as usize].to_ascii_lowercase())
                        .collect()
                })
                .collect();
            let hay: Vec<u8> = (0..rand(400)).map(|_| alphabet[rand(9) as usize]).collect();
            let dfa = KeywordDfa::new(&kws).unwrap();
            let naive = aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&kws)
                .unwrap();
            let start = rand(hay.len() as u64 + 1) as usize;
            let end = start + rand((hay.len() - start) as u64 + 1) as usize;
            let mut want: Vec<(usize, usize)> = naive
                .find_overlapping_iter(aho_corasick::Input::new(&hay).span(start..end))
                .map(|m| (m.pattern().as_usize(), m.start()))
                .collect();
            let mut got = Vec::new();
            dfa.hits(&hay, start..end, &mut got);
            let mut sorted = got.clone();
            sorted.sort_unstable();
            let (mut direct, mut lower, mut pairs) = (Vec::new(), Vec::new(), Vec::new());
            direct_keyword_hits(&kws, &hay, start..end, &mut lower, &mut pairs, &mut direct);
            direct.sort_unstable();
            assert_eq!(direct, sorted, "direct search and DFA disagree");
            let mut got: Vec<(usize, usize)> =
                got.iter().map(|(p, s)| (p.as_usize(), *s)).collect();
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(
                got, want,
                "round {round}: keywords {kws:?} range {start}..{end}"
            );
        }
    }

    /// The search table of the built-in keywords (1,600+, so hundreds of states and every
    /// class in use) against aho-corasick's overlapping search, over the rule files' text in
    /// its own case and upper-cased.
    #[test]
    fn keyword_table_of_the_builtin_rules_finds_what_aho_corasick_finds() {
        let scanner = Scanner::new(RuleSet::builtin()).unwrap();
        let patterns = &scanner.inner.patterns;
        let dfa = KeywordDfa::new(patterns).unwrap();
        let naive = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(patterns)
            .unwrap();
        let mut hay = include_bytes!("../rules/generic.toml").to_vec();
        hay.extend(include_bytes!("../rules/saas.toml").to_ascii_uppercase());
        let mut got = Vec::new();
        dfa.hits(&hay, 0..hay.len(), &mut got);
        let mut got: Vec<(usize, usize)> = got.iter().map(|(p, s)| (p.as_usize(), *s)).collect();
        let mut want: Vec<(usize, usize)> = naive
            .find_overlapping_iter(&hay)
            .map(|m| (m.pattern().as_usize(), m.start()))
            .collect();
        got.sort_unstable();
        want.sort_unstable();
        assert!(want.len() > 10_000, "{} hits", want.len());
        assert_eq!(got, want);
    }

    /// Keywords the scanner would not give it (an empty one, upper case) behave as
    /// aho-corasick's do: the empty keyword is hit at every position, the others are found
    /// ignoring ASCII case.
    #[test]
    fn keyword_table_takes_empty_and_upper_case_keywords() {
        let kws: Vec<Vec<u8>> = vec![b"".to_vec(), b"AbC".to_vec(), b"bc".to_vec()];
        let dfa = KeywordDfa::new(&kws).unwrap();
        let hay = b"xxabcABCaBc-bC";
        let mut got = Vec::new();
        dfa.hits(hay, 0..hay.len(), &mut got);
        let empty = got.iter().filter(|(p, _)| p.as_usize() == 0).count();
        assert!(empty >= hay.len(), "{empty} hits of the empty keyword");
        let mut found: Vec<(usize, usize)> = got
            .iter()
            .filter(|(p, _)| p.as_usize() != 0)
            .map(|(p, s)| (p.as_usize(), *s))
            .collect();
        found.sort_unstable();
        let naive = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&kws[1..])
            .unwrap();
        let mut want: Vec<(usize, usize)> = naive
            .find_overlapping_iter(&hay[..])
            .map(|m| (m.pattern().as_usize() + 1, m.start()))
            .collect();
        want.sort_unstable();
        assert_eq!(found, want);
    }

    #[test]
    fn keywords_inside_longer_keywords_still_trigger_their_rules() {
        let src = r#"
[[rule]]
id = "a.long"
name = "n"
description = "d"
keywords = ["sk_live_"]
pattern = '(?P<secret>sk_live_[a-z]{8})'

[[rule]]
id = "b.inner"
name = "n"
description = "d"
keywords = ["LIVE_"]
case_sensitive = true
pattern = '(?P<secret>LIVE_[0-9]{6})'

[[rule]]
id = "c.inner"
name = "n"
description = "d"
keywords = ["live_"]
pattern = '(?P<secret>live_[0-9]{6})'
"#;
        let s = scanner(src);
        // Keyword hits: "sk_live_" (longest at its start) contains "live_".
        let found = s.scan(&mut s.scratch(), b"x sk_live_123456 y sk_LIVE_654321");
        let ids: Vec<&str> = found.iter().map(|f| &*f.rule_id).collect();
        assert_eq!(ids, ["c.inner", "b.inner"]);
    }

    #[cfg(feature = "parallel")]
    #[test]
    fn parallel_scan_equals_serial_scan_across_chunk_boundaries() {
        let s = scanner(ACME);
        let mut hay = Vec::new();
        let mut i = 0u64;
        while hay.len() < 9 << 20 {
            hay.extend_from_slice(b"some filler text on a line\n");
            if i.is_multiple_of(9973) {
                hay.extend_from_slice(format!("key=acme_{:016x}\n", i * 2654435761).as_bytes());
            }
            i += 1;
        }
        let serial = s.scan(&mut s.scratch(), &hay);
        let parallel = s.scan_parallel(&hay);
        assert!(serial.len() > 10);
        assert_eq!(serial, parallel);
        // And both equal one pass over the whole buffer, unchunked.
        let mut whole = Vec::new();
        let mut scratch = s.scratch();
        s.scan_layers(&mut scratch, &hay, 0..hay.len(), hay.len(), 2, &mut whole);
        assign_lines(&hay, 0, &mut whole, hay.len());
        assert_eq!(serial, whole);
    }

    /// A buffer large enough to be scanned in chunks gives what one pass gives, with a rule
    /// whose matches start at a keyword (anchored tries) on keyword-dense text, findings
    /// straddling chunk boundaries, and long lines (columns measured across chunks).
    #[test]
    fn chunked_serial_scan_equals_one_pass() {
        let s = Scanner::new(RuleSet::builtin()).unwrap();
        let mut hay = Vec::new();
        let mut i = 0u64;
        while hay.len() < 2 * SERIAL_CHUNK + (3 << 20) {
            hay.extend_from_slice(b"token token token api_key password= ");
            if i.is_multiple_of(97) {
                hay.extend_from_slice(b"GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u ");
            }
            if i.is_multiple_of(1000) {
                hay.push(b'\n');
            }
            i += 1;
        }
        let chunked = s.scan(&mut s.scratch(), &hay);
        let mut whole = Vec::new();
        let mut scratch = s.scratch();
        s.scan_layers(&mut scratch, &hay, 0..hay.len(), hay.len(), 2, &mut whole);
        assign_lines(&hay, 0, &mut whole, hay.len());
        assert!(chunked.len() > 100, "{}", chunked.len());
        assert_eq!(chunked, whole);
    }

    #[test]
    fn required_literals_are_held_by_every_match() {
        let lits = |p: &str| required_literals(&parse_pattern(p).unwrap());
        let owned = |v: &[&str]| Some(v.iter().map(|l| l.as_bytes().to_vec()).collect::<Vec<_>>());
        assert_eq!(lits(r"(?:^|/)\.kube/[^/]+$"), owned(&[".kube/"]));
        assert_eq!(
            lits(r"(?i)(?:^|/)(?:locales?|i18n)/"),
            owned(&["i18n", "locale"])
        );
        // The longest run wins over a shorter one.
        assert_eq!(lits(r"(?:^|/)etc/config/[\w.-]+$"), owned(&["etc/config/"]));
        // An optional part holds nothing required; a branch without literals spoils its union.
        assert_eq!(lits(r"(?:^|/)(?:secrets?)?[\w.-]+$"), None);
        assert_eq!(lits(r"(?:vault|[a-z]+\.pass)$"), owned(&[".pass", "vault"]));
        assert_eq!(lits(r"(?:vault|[a-z]+)$"), None);
        // Case-insensitive letters are a literal; a Unicode fold (`K` and the Kelvin sign) is not.
        assert_eq!(lits(r"(?i:rabbit)mq"), owned(&["rabbitmq"]));
        assert_eq!(lits(r"(?iu:k)\.conf"), owned(&[".conf"]));
        // A class that matches nothing holds no literal (and does not panic).
        assert_eq!(lits(r"x[^\s\S]"), owned(&["x"]));
        assert_eq!(lits(r"[a&&b]"), None);
    }

    /// A path pattern that can match nothing (a class with no members) builds, and scopes its
    /// rule to no file, as any other pattern that does not match.
    #[test]
    fn path_patterns_that_match_nothing_build() {
        let src = r#"
[[rule]]
id = "t.never"
name = "t"
description = "t"
keywords = ["tok_"]
pattern = '(?P<secret>tok_[a-z0-9]{12})'
paths = ['(?:^|/)x[^\s\S]', '[a&&b]$']
allow_paths = ['[a&&b]']
"#;
        let scanner = Scanner::new(RuleSet::from_toml(src, "t.toml").unwrap()).unwrap();
        assert!(!scanner.path_has_scoped_rules("src/x1"));
        let found = scanner.scan_file(&mut scanner.scratch(), b"tok_abc123def456", Some("x1"));
        assert!(found.is_empty());
    }

    /// Asserts that `path` selects the same rules through [`PathPatterns::each_match`] as with
    /// every pattern searched alone; whether it selects any.
    fn selects_as_every_pattern(paths: &PathPatterns, path: &str) -> bool {
        let sorted = |mut v: Vec<(u32, bool)>| {
            v.sort();
            v.dedup();
            v
        };
        let mut fast = Vec::new();
        paths.each_match(path, |r, a| fast.push((r, a)));
        let mut every = Vec::new();
        for pattern in &paths.patterns {
            pattern.each_match(path, &mut |r, a| every.push((r, a)));
        }
        let any = !every.is_empty();
        assert_eq!(sorted(fast), sorted(every), "{path}");
        any
    }

    /// The shortcuts of path selection (a name or a whole directory found stands for a
    /// match) hold only where they are exact: a class the literal extractor gives up on, a
    /// group that turns case back on, a prefix of a directory name, a partial name. Selection
    /// here is compared with every pattern searched alone.
    #[test]
    fn path_shortcuts_apply_only_where_exact() {
        let mut src = String::new();
        for (i, (paths, allow)) in [
            (r"(?i)[0-9a-f]\.log$", ""),
            (r"(?i)[0-9][0-9][0-9]\.log$", ""),
            (r"(?i)\.(?-i:PEM)$", ""),
            (r"(?i)(?:^|/)(?-i:Test)/", ""),
            (r"(?i)(?:^|/)(?:tests?|specs?)/", ""),
            (
                r"(?i)\.(?:ya?ml|json)$|(?:^|/)[^/.]+$",
                r"(?i)[._-](?:example|sample)\.ya?ml$",
            ),
            (
                r"(?i)(?:^|/)(?:\.env(?:\.[\w-]+)*|[\w.-]+\.ini|(?:group|host)_vars/[\w.-]+)$",
                "",
            ),
        ]
        .iter()
        .enumerate()
        {
            src.push_str(&format!(
                "[[rule]]\nid = \"t.{i}\"\nname = \"t\"\ndescription = \"t\"\nkeywords = [\"tok_\"]\n\
                 pattern = '(?P<secret>tok_[a-z0-9]{{12}})'\npaths = ['{paths}']\n"
            ));
            if !allow.is_empty() {
                src.push_str(&format!("allow_paths = ['{allow}']\n"));
            }
        }
        let scanner = Scanner::new(RuleSet::from_toml(&src, "t.toml").unwrap()).unwrap();
        let paths = &scanner.inner.paths;
        let mut selected = 0;
        for path in [
            "app/x.log",
            "app/a.log",
            "app/x00.log",
            "app/123.LOG",
            "k.pem",
            "k.PEM",
            "test/a.rb",
            "Test/a.rb",
            "a/TESTS/b",
            "contest/test/x",
            "specsheet/x",
            "x/spec",
            "values.YML",
            "values.sample.yml",
            "README",
            "a.b/README",
            "dir/",
            "deploy/.env.prod",
            "group_vars/all",
            "my.envrc",
        ] {
            selected += usize::from(selects_as_every_pattern(paths, path));
        }
        assert!(selected >= 10, "{selected}");
    }

    /// Keywords that only rules scoped to some files have are looked for only in those files
    /// (an automaton of every keyword runs there), before and after the main automaton is built, and a keyword
    /// that a scoped and an unscoped rule share still triggers both where both run.
    #[test]
    fn scoped_only_keywords_are_found_where_their_rules_run() {
        let src = r#"
[[rule]]
id = "t.tf"
name = "t"
description = "t"
keywords = ["tfsecret"]
pattern = '(?P<secret>tfsecret_[a-z0-9]{12})'
paths = ['\.tf$']

[[rule]]
id = "t.shared.scoped"
name = "t"
description = "t"
keywords = ["apitok"]
pattern = 'cfg:(?P<secret>apitok_[a-z0-9]{12})'
paths = ['\.cfg$']

[[rule]]
id = "t.shared"
name = "t"
description = "t"
keywords = ["apitok"]
pattern = '(?P<secret>apitok_[a-z0-9]{12})'
"#;
        let scanner = Scanner::new(RuleSet::from_toml(src, "t.toml").unwrap()).unwrap();
        // The rule's keyword and the line ends of [`JOINTS`].
        assert_eq!(
            scanner.inner.shared,
            1 + JOINTS.len(),
            "{:?}",
            scanner.inner.patterns
        );
        let ids = |found: Vec<Finding>| -> Vec<String> {
            found
                .iter()
                .map(|f| scanner.rules()[f.rule_index].id.to_string())
                .collect()
        };
        let text = b"x tfsecret_abc123def456 y cfg:apitok_q1w2e3r4t5y6\n";
        // Small inputs first (keywords looked for one at a time), then past DIRECT_BYTES
        // (the automata).
        let filler = vec![b'.'; DIRECT_BYTES as usize + 1];
        for round in 0..2 {
            let mut scratch = scanner.scratch();
            for (path, want) in [
                ("main.tf", &["t.tf", "t.shared"][..]),
                ("app.cfg", &["t.shared.scoped"]),
                ("main.rb", &["t.shared"]),
            ] {
                let found = scanner.scan_file(&mut scratch, text, Some(path));
                assert_eq!(ids(found), want, "round {round}: {path}");
            }
            assert_eq!(
                ids(scanner.scan(&mut scratch, text)),
                ["t.shared"],
                "round {round}"
            );
            scanner.scan_file(&mut scratch, &filler, Some("big.txt"));
        }
        assert!(scanner.inner.automaton.get().is_some());
        assert!(scanner.inner.full_automaton.get().is_some());
    }

    /// Searching a path only with the patterns its file name or its literals call for
    /// ([`NameFilter`], [`required_literals`]) changes no path's selection: every pattern
    /// searched on every path reports the same rules.
    #[test]
    fn gated_path_patterns_match_what_every_pattern_would() {
        let scanner = Scanner::new(RuleSet::builtin()).unwrap();
        let paths = &scanner.inner.paths;
        assert!(paths.named.len() > 50, "{}", paths.named.len());
        // The prose rules' scopes end in a branch for names without a dot: named too.
        assert!(
            paths.names.dotless.len() >= 3,
            "{}",
            paths.names.dotless.len()
        );
        // So do `allow_paths` patterns of extensions and sample names, in a filter of their own.
        assert!(paths.allow_named.len() >= 2, "{}", paths.allow_named.len());
        assert!(paths.allow_names.matches(b"conn.go"));
        assert!(paths.rest.len() > 10, "{}", paths.rest.len());
        assert!(
            paths.rest.iter().filter(|(_, l)| !l.is_empty()).count() * 2 > paths.rest.len(),
            "most patterns are gated"
        );
        // Rules share patterns: each is compiled once.
        let distinct: HashSet<&str> = paths.patterns.iter().map(|p| p.pattern.as_str()).collect();
        assert_eq!(distinct.len(), paths.patterns.len());
        let mut examples: Vec<String> = RuleSet::builtin_with_examples()
            .rules()
            .iter()
            .flat_map(|r| {
                let positive = r.examples.iter().map(|e| e.path.clone());
                positive.chain(r.negative_examples.iter().map(|e| e.path.clone()))
            })
            .flatten()
            .collect();
        examples.extend(
            [
                "config/locales/en.yml",
                "app/I18N/messages.properties",
                "deploy/.kube/config",
                "home/ada/.KUBE/prod",
                "etc/openvpn/client/auth.txt",
                "src/RabbitMQ/definitions.json",
                "docs/README.md",
                "config/database.yml",
                ".env.production",
                "Vagrantfile",
                "group_vars/all/vault.yml",
                "spec/cassettes/github.yml",
                "src/main.rs",
                "weird/na\nme",
                "d/a.conf\nb/c.yml",
                "ops/Jenkinsfile",
                "conf.d/NOTES",
                "slack/general/2024-03-14",
                "repo/.git/COMMIT_EDITMSG",
                "notes/.hidden",
                "dir/",
                "src/net/Proxy.C",
                "include/auth.h",
                "pkg/db/conn.go",
                "config/settings.EXAMPLE.yml",
                ".env.sample",
                "docs/Password-Policy.md",
                "src/Tests/models/user_test.rb",
                "lib/testing/helpers.rb",
                "contest/spec",
                "x/test",
                "TEST/a",
                "test/",
                "a/specs/b/tests/c.py",
                "app/Locales/de.YML",
                "notes.MD",
                "deploy/values.Yaml",
                "README",
            ]
            .map(String::from),
        );
        let mut selected = 0;
        for path in &examples {
            selected += usize::from(selects_as_every_pattern(paths, path));
        }
        assert!(examples.len() > 200, "{}", examples.len());
        // Most example paths are there for their rule's scope: not a comparison of nothings.
        assert!(
            selected * 2 > examples.len(),
            "{selected} of {}",
            examples.len()
        );
    }
}
