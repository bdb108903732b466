//! Go RE2 patterns rewritten as keysweep patterns.
//!
//! keysweep parses patterns over bytes with Unicode classes off, like Go's ASCII `\b`, `\w`
//! and `\d`. What still differs is rewritten here, in one pass over the Go text:
//!
//! - `\s` is Go's `[\t\n\f\r ]` (keysweep's ASCII `\s` also has `\v`);
//! - inside a class, `[` (outside `[:name:]`), `&`, `~` and a second `-` are literals in Go
//!   but nested classes and set operators in keysweep: they are escaped;
//! - `\Q...\E` quoting and octal escapes (`\101`) become escaped literals and `\x{..}`;
//! - capture groups lose their names (gitleaks only numbers them), and the group holding the
//!   secret is named `secret` (with `secret2`, ... for alternatives: see [`Secret`]).
//!
//! Then the pattern is parsed the way keysweep's engine parses it, to pick the secret group
//! (see [`translate`]) and to check that every match contains one of the rule's keywords.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Which capture group holds the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Secret {
    /// `secretGroup = N` (N >= 1).
    Group(usize),
    /// No `secretGroup`: gitleaks takes the first non-empty capture group, or the whole match
    /// when there is none.
    FirstNonEmpty,
}

/// Why a pattern could not be translated, and which gitleaks field is at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PatternError {
    /// `regex` or `secretGroup`.
    pub field: &'static str,
    pub message: String,
}

fn regex_error(message: impl Into<String>) -> PatternError {
    PatternError {
        field: "regex",
        message: message.into(),
    }
}

/// One piece of a rewritten pattern: text, or the opening of a capture group whose name is
/// decided once the groups are known.
enum Piece {
    Text(String),
    Capture,
}

/// Go's `\s`, as a class body.
const GO_SPACE: &str = r"\t\n\f\r ";

/// Rewrites Go syntax into keysweep syntax, every capture group unnamed.
fn lex(go: &str) -> Result<Vec<Piece>, PatternError> {
    let chars: Vec<char> = go.chars().collect();
    let mut out = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    // Inside a class: whether the last character written was an unescaped `-`.
    let mut in_class = false;
    let mut last_dash = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&e) = chars.get(i + 1) else {
                return Err(regex_error("trailing backslash"));
            };
            i += 2;
            last_dash = false;
            match e {
                'Q' => {
                    let mut j = i;
                    while j < chars.len() && !(chars[j] == '\\' && chars.get(j + 1) == Some(&'E')) {
                        j += 1;
                    }
                    for &q in &chars[i..j] {
                        escape_char(q, &mut text);
                    }
                    i = (j + 2).min(chars.len());
                }
                'E' => {} // a stray \E is ignored by Go too
                'C' => {
                    return Err(regex_error(
                        r"`\C` (any single byte) has no keysweep equivalent",
                    ))
                }
                's' if in_class => text.push_str(GO_SPACE),
                's' => text.push_str(&format!("[{GO_SPACE}]")),
                'S' => text.push_str(&format!("[^{GO_SPACE}]")),
                '0'..='7' => {
                    // Go: up to three octal digits (a lone \1-\7 is a back-reference: an error).
                    let mut value = e.to_digit(8).unwrap_or(0);
                    let mut digits = 1;
                    while digits < 3 {
                        match chars.get(i).and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                value = value * 8 + d;
                                i += 1;
                                digits += 1;
                            }
                            None => break,
                        }
                    }
                    if digits == 1 && e != '0' {
                        return Err(regex_error(format!(
                            r"`\{e}`: back-references are not supported (by Go's regexp either)"
                        )));
                    }
                    text.push_str(&format!(r"\x{{{value:x}}}"));
                }
                _ => {
                    text.push('\\');
                    text.push(e);
                }
            }
            continue;
        }
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    text.push(']');
                }
                '[' => {
                    // `[:alpha:]` is a class in both; any other `[` is a literal in Go.
                    let rest: String = chars[i..].iter().take(12).collect();
                    if let Some(end) = posix_class_len(&rest) {
                        text.extend(&chars[i..i + end]);
                        i += end;
                        last_dash = false;
                        continue;
                    }
                    text.push_str(r"\[");
                }
                '&' => text.push_str(r"\&"),
                '~' => text.push_str(r"\~"),
                '-' if last_dash => {
                    text.push_str(r"\-");
                    last_dash = false;
                    i += 1;
                    continue;
                }
                _ => text.push(c),
            }
            last_dash = c == '-';
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                last_dash = false;
                text.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    text.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    text.push_str(r"\]");
                    i += 1;
                }
                continue;
            }
            '(' if chars.get(i + 1) == Some(&'?') => {
                let name_at = match (chars.get(i + 2), chars.get(i + 3)) {
                    (Some('P'), Some('<')) => Some(i + 4),
                    (Some('<'), Some(n)) if *n != '=' && *n != '!' => Some(i + 3),
                    _ => None,
                };
                match name_at {
                    Some(start) => {
                        let Some(len) = chars[start..].iter().position(|&n| n == '>') else {
                            return Err(regex_error("unclosed group name"));
                        };
                        out.push(Piece::Text(std::mem::take(&mut text)));
                        out.push(Piece::Capture);
                        i = start + len + 1;
                    }
                    None => {
                        text.push_str("(?");
                        i += 2;
                    }
                }
                continue;
            }
            '(' => {
                out.push(Piece::Text(std::mem::take(&mut text)));
                out.push(Piece::Capture);
            }
            // Go repeats with `{n}`, `{n,}` and `{n,m}`; any other brace is a literal.
            '{' => match repetition_len(&chars[i..]) {
                Some(len) => {
                    text.extend(&chars[i..i + len]);
                    i += len;
                    continue;
                }
                None => text.push_str(r"\{"),
            },
            '}' => text.push_str(r"\}"),
            _ => text.push(c),
        }
        i += 1;
    }
    out.push(Piece::Text(text));
    Ok(out)
}

/// The length of a repetition `{n}`, `{n,}` or `{n,m}` at the start of `chars`.
fn repetition_len(chars: &[char]) -> Option<usize> {
    let digits = |from: usize| {
        chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let min = digits(1);
    if min == 0 {
        return None;
    }
    let mut at = 1 + min;
    if chars.get(at) == Some(&',') {
        at += 1 + digits(at + 1);
    }
    (chars.get(at) == Some(&'}')).then_some(at + 1)
}

/// The length of a `[:name:]` or `[:^name:]` at the start of `s`, if it is one.
fn posix_class_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix("[:")?;
    let end = body.find(":]")?;
    let name = body[..end].strip_prefix('^').unwrap_or(&body[..end]);
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase())).then(|| end + 4)
}

/// Appends `c` as a literal (for `\Q...\E`).
fn escape_char(c: char, out: &mut String) {
    if regex_syntax::is_meta_character(c) || matches!(c, '&' | '~' | '-' | '#' | ' ') {
        out.push('\\');
    }
    out.push(c);
}

/// Renders the pieces, naming capture group `i` (1-based) `names[i - 1]` when it has a name.
fn render(pieces: &[Piece], names: &[Option<String>]) -> String {
    let mut out = String::new();
    let mut group = 0;
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Capture => {
                match names.get(group).and_then(Option::as_ref) {
                    Some(n) => {
                        out.push_str("(?P<");
                        out.push_str(n);
                        out.push('>');
                    }
                    None => out.push('('),
                }
                group += 1;
            }
        }
    }
    out
}

/// Parses a pattern as keysweep's engine does ([`keysweep::parse_pattern`]).
pub(crate) fn parse(pattern: &str) -> Result<Hir, String> {
    keysweep::parse_pattern(pattern)
}

/// A Go pattern (a path or allowlist regex, no secret) as a keysweep pattern.
pub(crate) fn translate_plain(go: &str) -> Result<String, PatternError> {
    let pieces = lex(go)?;
    let pattern = render(&pieces, &[]);
    parse(&pattern).map_err(regex_error)?;
    Ok(pattern)
}

/// A rule's Go pattern as a keysweep pattern whose `secret` group(s) hold what gitleaks
/// reports as the secret.
///
/// With `secretGroup = N`, group N becomes `secret`. Without, gitleaks reports the first
/// non-empty capture group, or the whole match when none captured anything; keysweep
/// reports the first of the groups named `secret`, `secret2`, ... that took part in the
/// match. Those agree when the named groups can never match empty and every match has one of
/// them: so the groups are named up to the first that takes part in every match, and a
/// pattern where that is not enough is an error asking for `secretGroup`.
pub(crate) fn translate(go: &str, secret: Secret) -> Result<String, PatternError> {
    let pieces = lex(go)?;
    let unnamed = render(&pieces, &[]);
    let hir = parse(&unnamed).map_err(regex_error)?;
    let mut groups = Vec::new();
    collect_groups(&hir, true, &mut groups);
    groups.sort_by_key(|g| g.index);
    let names: Vec<Option<String>> = match secret {
        Secret::Group(n) => {
            if n > groups.len() {
                return Err(PatternError {
                    field: "secretGroup",
                    message: format!(
                        "is {n}, but the regex has {} capture group(s)",
                        groups.len()
                    ),
                });
            }
            (1..=groups.len())
                .map(|i| (i == n).then(|| "secret".to_string()))
                .collect()
        }
        Secret::FirstNonEmpty if groups.is_empty() => Vec::new(),
        Secret::FirstNonEmpty => {
            let last = groups
                .iter()
                .position(|g| g.always && g.min_len > 0)
                .unwrap_or(groups.len() - 1);
            let named = &groups[..=last];
            let exact =
                named.iter().all(|g| g.min_len > 0) && always_captures(&hir, &|i| i <= named.len());
            if !exact {
                return Err(PatternError {
                    field: "secretGroup",
                    message: "is not set, so gitleaks reports the first non-empty capture group, \
                              or the whole match when no group captured anything; keysweep \
                              reports the first group that took part in the match, and in this \
                              regex a group can match empty or no group may take part: set \
                              `secretGroup` to the group that holds the secret"
                        .into(),
                });
            }
            (0..named.len())
                .map(|i| {
                    Some(if i == 0 {
                        "secret".to_string()
                    } else {
                        format!("secret{}", i + 1)
                    })
                })
                .collect()
        }
    };
    Ok(render(&pieces, &names))
}

/// A capture group: its index, shortest match, and whether every match of the whole
/// pattern passes through it.
struct Group {
    index: usize,
    min_len: usize,
    always: bool,
}

fn collect_groups(h: &Hir, always: bool, out: &mut Vec<Group>) {
    match h.kind() {
        HirKind::Capture(c) => {
            out.push(Group {
                index: c.index as usize,
                min_len: c.sub.properties().minimum_len().unwrap_or(0),
                always,
            });
            collect_groups(&c.sub, always, out);
        }
        HirKind::Concat(v) => v.iter().for_each(|s| collect_groups(s, always, out)),
        HirKind::Alternation(v) => v.iter().for_each(|s| collect_groups(s, false, out)),
        HirKind::Repetition(r) => collect_groups(&r.sub, always && r.min > 0, out),
        _ => {}
    }
}

/// Whether every match of `h` passes through a capture group for which `named` holds.
fn always_captures(h: &Hir, named: &dyn Fn(usize) -> bool) -> bool {
    match h.kind() {
        HirKind::Capture(c) => named(c.index as usize) || always_captures(&c.sub, named),
        HirKind::Concat(v) => v.iter().any(|s| always_captures(s, named)),
        HirKind::Alternation(v) => v.iter().all(|s| always_captures(s, named)),
        HirKind::Repetition(r) => r.min > 0 && always_captures(&r.sub, named),
        _ => false,
    }
}

/// Strings kept when expanding a pattern into the finite set of texts it matches.
const MAX_STRINGS: usize = 64;
/// Distinct (lowercased) bytes a class may have to count as a few literals.
const MAX_CLASS: usize = 4;

/// Whether every match of `pattern` contains one of `keywords` (lowercase), compared ASCII
/// case-insensitively: keysweep searches for a rule's pattern only around its keywords, where
/// gitleaks only asks that the keyword be somewhere in the file. Sound, not complete: `false`
/// can also mean "could not tell".
pub(crate) fn keywords_cover(pattern: &str, keywords: &[String]) -> bool {
    let Ok(hir) = parse(pattern) else {
        return false;
    };
    let kws: Vec<&[u8]> = keywords.iter().map(|k| k.as_bytes()).collect();
    covered(&hir, &kws)
}

fn all_contain(strings: &[Vec<u8>], kws: &[&[u8]]) -> bool {
    strings.iter().all(|s| {
        kws.iter()
            .any(|k| !k.is_empty() && s.windows(k.len()).any(|w| w.eq_ignore_ascii_case(k)))
    })
}

fn covered(h: &Hir, kws: &[&[u8]]) -> bool {
    if let Some(strings) = finite(h) {
        return all_contain(&strings, kws);
    }
    // Every match starts (ends) with one of a few literals.
    if [Edge::Prefix, Edge::Suffix]
        .into_iter()
        .any(|e| edge(h, e).is_some_and(|s| all_contain(&s, kws)))
    {
        return true;
    }
    match h.kind() {
        HirKind::Capture(c) => covered(&c.sub, kws),
        HirKind::Alternation(v) => v.iter().all(|s| covered(s, kws)),
        HirKind::Repetition(r) => r.min > 0 && covered(&r.sub, kws),
        HirKind::Concat(v) => {
            if v.iter().any(|s| covered(s, kws)) {
                return true;
            }
            // Runs of adjacent parts: the end of one part, whole finite parts, the start of
            // the next; each product is a contiguous piece of every match.
            for start in 0..v.len() {
                let Some(mut acc) = finite(&v[start]).or_else(|| edge(&v[start], Edge::Suffix))
                else {
                    continue;
                };
                for part in &v[start + 1..] {
                    let (next, last) = match finite(part) {
                        Some(f) => (product(&acc, &f), false),
                        None => (
                            edge(part, Edge::Prefix).and_then(|p| product(&acc, &p)),
                            true,
                        ),
                    };
                    let Some(next) = next else { break };
                    acc = next;
                    if all_contain(&acc, kws) {
                        return true;
                    }
                    if last {
                        break;
                    }
                }
            }
            false
        }
        _ => false,
    }
}

#[derive(Clone, Copy)]
enum Edge {
    Prefix,
    Suffix,
}

/// A few literals one of which starts (ends) every match of `h`, lowercased; `None` when
/// there are too many to say.
fn edge(h: &Hir, e: Edge) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let kind = match e {
        Edge::Prefix => ExtractKind::Prefix,
        Edge::Suffix => ExtractKind::Suffix,
    };
    let seq = Extractor::new().kind(kind).extract(h);
    let lits: Vec<Vec<u8>> = seq
        .literals()?
        .iter()
        .map(|l| l.as_bytes().to_ascii_lowercase())
        .collect();
    // Shorter literals are still prefixes (suffixes) of every match: shorten them until
    // few enough are distinct.
    let mut len = lits.iter().map(Vec::len).max()?;
    while len > 0 {
        let mut out: Vec<Vec<u8>> = Vec::new();
        for l in &lits {
            let cut = match e {
                Edge::Prefix => &l[..l.len().min(len)],
                Edge::Suffix => &l[l.len().saturating_sub(len)..],
            };
            if !out.iter().any(|o| o == cut) {
                out.push(cut.to_vec());
            }
        }
        if out.len() <= MAX_STRINGS {
            return Some(out);
        }
        len -= 1;
    }
    None
}

/// The texts `h` matches (ASCII-lowercased, deduplicated), when they are few.
fn finite(h: &Hir) -> Option<Vec<Vec<u8>>> {
    let out = match h.kind() {
        HirKind::Empty | HirKind::Look(_) => vec![Vec::new()],
        HirKind::Literal(l) => vec![l.0.to_ascii_lowercase()],
        HirKind::Class(c) => class_bytes(c)?.into_iter().map(|b| vec![b]).collect(),
        HirKind::Capture(c) => finite(&c.sub)?,
        HirKind::Concat(v) => {
            let mut acc = vec![Vec::new()];
            for part in v {
                acc = product(&acc, &finite(part)?)?;
            }
            acc
        }
        HirKind::Alternation(v) => {
            let mut acc: Vec<Vec<u8>> = Vec::new();
            for part in v {
                for s in finite(part)? {
                    if !acc.contains(&s) {
                        acc.push(s);
                    }
                }
                if acc.len() > MAX_STRINGS {
                    return None;
                }
            }
            acc
        }
        HirKind::Repetition(r) => {
            let max = r.max?;
            if max > 8 {
                return None;
            }
            let sub = finite(&r.sub)?;
            let mut acc: Vec<Vec<u8>> = Vec::new();
            let mut power = vec![Vec::new()];
            for n in 0..=max {
                if n >= r.min {
                    for s in &power {
                        if !acc.contains(s) {
                            acc.push(s.clone());
                        }
                    }
                }
                if n < max {
                    power = product(&power, &sub)?;
                }
            }
            acc
        }
    };
    (out.len() <= MAX_STRINGS).then_some(out)
}

fn product(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len().saturating_mul(b.len()) > MAX_STRINGS {
        return None;
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    for x in a {
        for y in b {
            let s = [x.as_slice(), y.as_slice()].concat();
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    Some(out)
}

/// The bytes of a small class, lowercased.
fn class_bytes(c: &Class) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut add = |lo: u32, hi: u32| -> Option<()> {
        if hi - lo > 2 * MAX_CLASS as u32 || hi > 0x7f {
            return None;
        }
        for b in lo..=hi {
            let b = (b as u8).to_ascii_lowercase();
            if !out.contains(&b) {
                out.push(b);
            }
        }
        Some(())
    };
    match c {
        Class::Bytes(b) => {
            for r in b.ranges() {
                add(r.start().into(), r.end().into())?;
            }
        }
        Class::Unicode(u) => {
            for r in u.ranges() {
                add(r.start().into(), r.end().into())?;
            }
        }
    }
    (out.len() <= MAX_CLASS).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(go: &str, secret: Secret) -> String {
        translate(go, secret).unwrap()
    }

    #[test]
    fn secret_group_n_is_named_and_other_names_dropped() {
        assert_eq!(
            t(r"(key)\s*=\s*(?P<val>[a-z]{8})(x)?", Secret::Group(2)),
            r"(key)[\t\n\f\r ]*=[\t\n\f\r ]*(?P<secret>[a-z]{8})(x)?"
        );
        let e = translate(r"(a)(b)", Secret::Group(3)).unwrap_err();
        assert_eq!(e.field, "secretGroup");
        assert!(e.message.contains("2 capture group"), "{}", e.message);
        // A Go group named like keysweep's secret groups loses its name.
        assert_eq!(
            t(r"(?P<secret_x>ab)(cd)", Secret::Group(2)),
            r"(ab)(?P<secret>cd)"
        );
    }

    #[test]
    fn without_secret_group_the_first_non_empty_group_is_the_secret() {
        assert_eq!(
            t(r"token=([a-z]{8})", Secret::FirstNonEmpty),
            r"token=(?P<secret>[a-z]{8})"
        );
        assert_eq!(
            t(r"token=[a-z]{8}", Secret::FirstNonEmpty),
            r"token=[a-z]{8}"
        );
        // Later groups never hold the secret once one always does.
        assert_eq!(
            t(r"(?:k|key)=([a-z]{8})(;)", Secret::FirstNonEmpty),
            r"(?:k|key)=(?P<secret>[a-z]{8})(;)"
        );
        // Alternatives that each capture: the first that took part is the secret.
        assert_eq!(
            t(r"(?:a=([0-9]{4})|b=([a-z]{4}))", Secret::FirstNonEmpty),
            r"(?:a=(?P<secret>[0-9]{4})|b=(?P<secret2>[a-z]{4}))"
        );
        // A group that can be empty, or a match with no group: gitleaks would skip to the
        // next group or report the whole match; keysweep cannot.
        for go in [r"(\s*)(tok[a-z]{4})", r"(?:x([a-z]{4})|y[a-z]{4})"] {
            let e = translate(go, Secret::FirstNonEmpty).unwrap_err();
            assert_eq!(e.field, "secretGroup", "{go}");
        }
    }

    #[test]
    fn go_syntax_is_rewritten() {
        // Classes: `[` `&&` `--` `~~` are literals in Go.
        assert_eq!(translate_plain(r"[a[]").unwrap(), r"[a\[]");
        assert_eq!(translate_plain(r"[a&&b~~c]").unwrap(), r"[a\&\&b\~\~c]");
        assert_eq!(translate_plain(r"[+--]").unwrap(), r"[+-\-]");
        assert_eq!(translate_plain(r"[[:alpha:]_]").unwrap(), r"[[:alpha:]_]");
        assert_eq!(translate_plain(r"[]a]").unwrap(), r"[\]a]");
        assert_eq!(
            translate_plain(r"[\s\S]").unwrap(),
            r"[\t\n\f\r [^\t\n\f\r ]]"
        );
        // Quoting and octal.
        assert_eq!(translate_plain(r"\Qa.b*\Ec").unwrap(), r"a\.b\*c");
        // Braces that do not repeat are literals.
        assert_eq!(
            translate_plain(r"a{2}b{1,}c{1,3}").unwrap(),
            r"a{2}b{1,}c{1,3}"
        );
        assert_eq!(
            translate_plain(r"\${{[^}]+}}x{,3}").unwrap(),
            r"\$\{\{[^}]+\}\}x\{,3\}"
        );
        assert_eq!(translate_plain(r"\101\0").unwrap(), r"\x{41}\x{0}");
        assert!(translate_plain(r"a\C").is_err());
        assert!(translate_plain(r"(a)\1").is_err());
    }

    #[test]
    fn rewritten_patterns_match_like_go() {
        let is_match = |pattern: &str, hay: &str| {
            let re = regex_automata::meta::Regex::builder()
                .build_from_hir(&parse(pattern).unwrap())
                .unwrap();
            re.is_match(hay.as_bytes())
        };
        let p = translate_plain(r"a\sb").unwrap();
        assert!(is_match(&p, "a b"));
        assert!(!is_match(&p, "a\x0bb"), "Go's \\s has no vertical tab");
        let p = translate_plain(r"\bkey\b").unwrap();
        assert!(is_match(&p, "a key!"));
        assert!(
            is_match(&p, "ékey"),
            "Go's \\b is ASCII: é is no word character"
        );
        let p = translate_plain(r"[a&&b]").unwrap();
        assert!(is_match(&p, "&"));
        let p = translate_plain("(?i)jeton é").unwrap();
        assert!(is_match(&p, "JETON é"));
    }

    #[test]
    fn keywords_must_be_inside_every_match() {
        let cover = |go: &str, kws: &[&str]| {
            let p = translate(go, Secret::FirstNonEmpty).unwrap();
            keywords_cover(&p, &kws.iter().map(|k| k.to_string()).collect::<Vec<_>>())
        };
        assert!(cover(r"ocid1\.[a-z]{10}", &["ocid"]));
        assert!(cover(
            r"\b((?:A3T[A-Z0-9]|AKIA|ASIA)[A-Z2-7]{16})\b",
            &["a3t", "akia", "asia"]
        ));
        assert!(cover(
            r"(?i)[\w.-]{0,50}?(?:access|auth|(?-i:[Aa]pi|API)|key|passw(?:or)?d|token)[ \t]{0,3}=[ \t]{0,3}([\w.=-]{10,150})",
            &["access", "api", "auth", "key", "passwd", "password", "token"]
        ));
        assert!(!cover(r"sk_live_[0-9a-z]{24}", &["stripe"]));
        assert!(!cover(r"(?:AKIA|ASIA)[A-Z2-7]{16}", &["akia"]));
        // The keyword spans a literal and the first pass of a repetition.
        assert!(cover(
            r"xox[pe](?:-[0-9]{10,13}){3}-[a-z]{28}",
            &["xoxp-", "xoxe-"]
        ));
        // An unescaped dot matches any byte: "hooksXslack" has no keyword.
        assert!(!cover(r"hooks.slack.com/[a-z]{20}", &["hooks.slack.com"]));
    }
}
