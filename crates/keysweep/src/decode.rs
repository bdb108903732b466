//! Decoding layers: spans of a haystack that look like encoded text (base64, hex,
//! percent-encoding, escape sequences, JSON strings) and whole UTF-16 buffers, decoded so the
//! rules can see what they hide.
//!
//! Candidate selection keeps the fast path fast: one table-driven pass over the bytes finds
//! runs of the base64 and hex alphabets, and `memchr` finds `%` and `\`; a span is decoded only
//! when its length and composition fit, and its decoding is kept only when it is mostly
//! printable text. Nothing here allocates unless a candidate is found.

use std::ops::Range;

/// An encoding keysweep sees through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Encoding {
    /// Base64, standard or URL-safe alphabet, padded or not.
    Base64,
    /// Hexadecimal digits, two per byte.
    Hex,
    /// URL percent-encoding (`%40`).
    Percent,
    /// `\xXX` and `\uXXXX` escape sequences (and the usual `\n`, `\t`, ...) outside JSON.
    Escape,
    /// A JSON string literal's escapes (`\n` inside a PEM key, `\"`, `\/`, `\uXXXX`).
    Json,
    /// UTF-16 text (little or big endian), recognised by its byte order mark or by
    /// NUL-interleaved ASCII.
    Utf16,
    /// The quoted-printable bodies of an e-mail message (`=C3=B6`, `=3D`, lines broken with a
    /// trailing `=`): text in any language other than English, and long tokens, are cut and
    /// escaped in them.
    QuotedPrintable,
    /// String literals a value is split across, one per line, joined by the language's
    /// concatenation or by none (`("SG.Sf…"` on one line, `"KE6Q…")` on the next: Python and
    /// C join adjacent literals; `+`, `.`, `&` elsewhere): decoded to the first line with
    /// the pieces joined into one literal.
    Joined,
}

impl Encoding {
    /// Every encoding, in a fixed order.
    pub const ALL: [Encoding; 8] = [
        Encoding::Base64,
        Encoding::Hex,
        Encoding::Percent,
        Encoding::Escape,
        Encoding::Json,
        Encoding::Utf16,
        Encoding::QuotedPrintable,
        Encoding::Joined,
    ];

    /// The lowercase name used in output: `base64`, `hex`, `percent`, `escape`, `json`,
    /// `utf16`, `quoted-printable`, `joined`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
            Encoding::Escape => "escape",
            Encoding::Json => "json",
            Encoding::Utf16 => "utf16",
            Encoding::QuotedPrintable => "quoted-printable",
            Encoding::Joined => "joined",
        }
    }

    /// Parses [`as_str`](Encoding::as_str)'s names.
    pub fn parse(s: &str) -> Option<Encoding> {
        Encoding::ALL.into_iter().find(|e| e.as_str() == s)
    }

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shortest base64 run decoded (16 decoded bytes: `password=` and a short value).
pub(crate) const MIN_BASE64: usize = 20;
/// Shortest hex run decoded.
pub(crate) const MIN_HEX: usize = 32;
/// Longest span decoded: larger encoded blobs (images in data URIs, bundled fonts) are left
/// alone.
pub(crate) const MAX_SPAN: usize = 1 << 20;

const B64: u8 = 1;
const HEX: u8 = 2;
const UPPER: u8 = 4;
const LOWER: u8 = 8;
const DIGIT: u8 = 16;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = match c {
            b'A'..=b'F' => B64 | HEX | UPPER,
            b'G'..=b'Z' => B64 | UPPER,
            b'a'..=b'f' => B64 | HEX | LOWER,
            b'g'..=b'z' => B64 | LOWER,
            b'0'..=b'9' => B64 | HEX | DIGIT,
            b'+' | b'/' | b'-' | b'_' => B64,
            _ => 0,
        };
        b += 1;
    }
    t
};

/// Finds candidate spans in `hay[range]` for the enabled encodings (a bit set of
/// [`Encoding::bit`]) and appends them to `out`.
pub(crate) fn candidates(
    hay: &[u8],
    range: Range<usize>,
    enabled: u8,
    out: &mut Vec<(Encoding, Range<usize>)>,
) {
    let want_b64 = enabled & Encoding::Base64.bit() != 0;
    let want_hex = enabled & Encoding::Hex.bit() != 0;
    if want_b64 || want_hex {
        runs(hay, range.clone(), want_b64, want_hex, out);
    }
    if enabled & Encoding::Percent.bit() != 0 {
        percent_spans(hay, range.clone(), out);
    }
    if enabled & (Encoding::Escape.bit() | Encoding::Json.bit()) != 0 {
        escape_spans(hay, range.clone(), enabled, out);
    }
    if enabled & Encoding::Joined.bit() != 0 {
        joined_spans(hay, range, out);
    }
}

/// Runs of the base64 alphabet: base64 if long enough and mixed (upper, lower and a digit:
/// identifiers and words are not), hex if all hex digits, with a digit, and long enough (hex
/// of text always has digits: every other nibble of a printable byte is 2 to 7).
///
/// Every run of interest holds an ASCII digit, so the loop jumps from digit to digit (eight
/// bytes at a time, see [`next_digit`]) and walks only the runs around them. Prose and most
/// code are crossed at close to memory speed.
fn runs(
    hay: &[u8],
    range: Range<usize>,
    want_b64: bool,
    want_hex: bool,
    out: &mut Vec<(Encoding, Range<usize>)>,
) {
    let in_class = |b: u8| CLASS[b as usize] & B64 != 0;
    let end = range.end.min(hay.len());
    let mut i = range.start;
    // A run that began before the range belongs to whoever scans that part (a parallel
    // scan's previous chunk). Walk no further than the range: a chunk never walks the bytes
    // of the next one, so a run of gigabytes costs each chunk only its own bytes.
    if i > 0 && i < hay.len() && in_class(hay[i - 1]) {
        while i < end && in_class(hay[i]) {
            i += 1;
        }
    }
    // Invariant: every run that starts before `i` was looked at, and `hay[i - 1]` is not in
    // the alphabet (so the run around the next digit starts at `i` or later).
    while i < end {
        let Some(digit) = next_digit(hay, i, end) else {
            break;
        };
        let mut start = digit;
        while start > i && in_class(hay[start - 1]) {
            start -= 1;
        }
        i = consider_run(hay, start, end, want_b64, want_hex, out) + 1;
    }
    // A run starting before `end` whose digits all come after it: it holds `end - 1`.
    if i < end && in_class(hay[end - 1]) {
        let mut start = end - 1;
        while start > i && in_class(hay[start - 1]) {
            start -= 1;
        }
        consider_run(hay, start, end, want_b64, want_hex, out);
    }
}

/// Looks at the run starting at `start`; returns its end, or `end` (the end of the range
/// scanned) if the run is too long to decode and reaches past it. No run is walked further
/// than [`MAX_SPAN`] past its start or past `end`, whichever is later, so the work is linear
/// in the range whatever the input.
fn consider_run(
    hay: &[u8],
    start: usize,
    end: usize,
    want_b64: bool,
    want_hex: bool,
    out: &mut Vec<(Encoding, Range<usize>)>,
) -> usize {
    let in_class = |b: u8| CLASS[b as usize] & B64 != 0;
    let (mut any, mut all) = (0u8, 0xffu8);
    let mut stop = start;
    let limit = hay.len().min(start + MAX_SPAN + 1);
    while stop < limit && in_class(hay[stop]) {
        let c = CLASS[hay[stop] as usize];
        any |= c;
        all &= c;
        stop += 1;
    }
    let len = stop - start;
    if len > MAX_SPAN {
        // Too long to be a candidate: skip the rest of it, within the range.
        while stop < end && in_class(hay[stop]) {
            stop += 1;
        }
        return stop;
    }
    if len < MIN_BASE64 || any & DIGIT == 0 {
        return stop;
    }
    if want_hex && all & HEX != 0 && len >= MIN_HEX && len.is_multiple_of(2) {
        out.push((Encoding::Hex, start..stop));
        return stop;
    }
    if want_b64 && len % 4 != 1 && looks_base64(any) {
        // Padding belongs to the run.
        let mut j = stop;
        while j < hay.len() && j < stop + 2 && hay[j] == b'=' {
            j += 1;
        }
        out.push((Encoding::Base64, start..j));
    }
    stop
}

/// The first ASCII digit in `hay[from..to]`, eight bytes at a time: a byte-wise range test
/// on a `u64` (no carry crosses a byte: each lane's operands stay below 256).
fn next_digit(hay: &[u8], from: usize, to: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const SEVEN: u64 = LO * 0x7f;
    const HIGH: u64 = LO * 0x80;
    let mut i = from;
    while i + 8 <= to {
        let word = u64::from_le_bytes(hay[i..i + 8].try_into().expect("8 bytes"));
        let low7 = word & SEVEN;
        // High bit set in each lane holding b'0'..=b'9' (0x2f < b < 0x3a, b < 0x80).
        let hit = (LO * (0x7f + 0x3a) - low7) & !word & (low7 + LO * (0x7f - 0x2f)) & HIGH;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    (i..to).find(|&j| hay[j].is_ascii_digit())
}

/// Upper and lower case letters and a digit: 20 or more base64 characters of encoded text
/// almost always have all three (no digit in 20 random ones: 1.5%), identifiers, words and
/// paths seldom do.
fn looks_base64(classes: u8) -> bool {
    classes & (UPPER | LOWER | DIGIT) == UPPER | LOWER | DIGIT
}

fn is_token_byte(b: u8) -> bool {
    !matches!(
        b,
        b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'`' | b'<' | b'>' | b'(' | b')'
    )
}

/// Tokens (runs without spaces or quotes) holding a `%XX` escape.
fn percent_spans(hay: &[u8], range: Range<usize>, out: &mut Vec<(Encoding, Range<usize>)>) {
    let end = range.end.min(hay.len());
    let mut at = range.start;
    while let Some(p) = memchr::memchr(b'%', &hay[at..end]) {
        let p = at + p;
        if p + 2 < hay.len() && hay[p + 1].is_ascii_hexdigit() && hay[p + 2].is_ascii_hexdigit() {
            let mut s = p;
            while s > 0 && p - s < MAX_SPAN && is_token_byte(hay[s - 1]) {
                s -= 1;
            }
            let mut e = p + 3;
            while e < hay.len() && e - s < MAX_SPAN && is_token_byte(hay[e]) {
                e += 1;
            }
            // A token with an escape before the range belongs to the previous chunk.
            if memchr::memchr(b'%', &hay[s..range.start.clamp(s, p)]).is_none() {
                out.push((Encoding::Percent, s..e));
            }
            at = e.max(p + 1);
        } else {
            at = p + 1;
        }
        if at >= end {
            break;
        }
    }
}

/// Quoted strings (or, unquoted, the rest of the line) holding a backslash escape: JSON when
/// double-quoted with JSON escapes only, `escape` otherwise.
fn escape_spans(
    hay: &[u8],
    range: Range<usize>,
    enabled: u8,
    out: &mut Vec<(Encoding, Range<usize>)>,
) {
    let end = range.end.min(hay.len());
    let mut at = range.start;
    while let Some(p) = memchr::memchr(b'\\', &hay[at..end]) {
        let p = at + p;
        let next = hay.get(p + 1).copied().unwrap_or(0);
        if !matches!(
            next,
            b'n' | b'r' | b't' | b'u' | b'x' | b'/' | b'"' | b'\'' | b'\\'
        ) {
            at = p + 1;
            if at >= end {
                break;
            }
            continue;
        }
        // The line holding the escape bounds the string.
        let line_start = memchr::memrchr(b'\n', &hay[..p]).map_or(0, |i| i + 1);
        let line_end = memchr::memchr(b'\n', &hay[p..]).map_or(hay.len(), |i| p + i);
        // The opening quote: the nearest unescaped quote before the escape.
        let mut q = p;
        let mut quote = None;
        while q > line_start {
            q -= 1;
            if matches!(hay[q], b'"' | b'\'') && (q == 0 || hay[q - 1] != b'\\') {
                quote = Some((q, hay[q]));
                break;
            }
        }
        let (start, stop) = match quote {
            Some((q, ch)) => {
                let mut e = p;
                let mut close = line_end;
                while e < line_end {
                    if hay[e] == b'\\' {
                        e += 2;
                        continue;
                    }
                    if hay[e] == ch {
                        close = e;
                        break;
                    }
                    e += 1;
                }
                (q + 1, close)
            }
            None => (line_start, line_end),
        };
        let stop = stop.min(hay.len());
        // A string with an escape before the range belongs to the previous chunk.
        let owned = memchr::memchr(
            b'\\',
            &hay[start.min(p)..range.start.clamp(start.min(p), p)],
        )
        .is_none();
        if owned && stop > start && stop - start <= MAX_SPAN && hides_text(&hay[start..stop]) {
            let body = &hay[start..stop];
            let json = quote.is_some_and(|(_, c)| c == b'"')
                && memchr::memmem::find(body, b"\\x").is_none()
                && memchr::memmem::find(body, b"\\'").is_none();
            let kind = if json {
                Encoding::Json
            } else {
                Encoding::Escape
            };
            if enabled & kind.bit() != 0 {
                out.push((kind, start..stop));
            }
        }
        at = stop.max(p + 2);
        if at >= end {
            break;
        }
    }
}

/// Longest piece of a joined value (its characters between the quotes).
const MAX_PIECE: usize = 256;
/// Most pieces joined into one value.
const MAX_PIECES: usize = 8;

/// A byte of a value split into pieces: printable ASCII but a space, a quote or a backslash
/// (tokens and passwords; words of prose and SQL split across lines hold spaces).
fn is_piece_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'`' | b'\\')
}

/// The string literal that ends the line ending at `nl` (a `\n`), before a joiner: the
/// positions of its opening and closing quotes, and its quote byte. The line may end `"…"`, `"…" +`, `'…' .`,
/// `"…" & _` or `"…" \`; the literal holds 6 to [`MAX_PIECE`] token bytes.
fn literal_before(hay: &[u8], nl: usize) -> Option<(usize, usize, u8)> {
    let mut i = nl;
    let blank = |b: u8| b == b' ' || b == b'\t' || b == b'\r';
    while i > 0 && blank(hay[i - 1]) {
        i -= 1;
    }
    // A joiner: `+`, `.`, `&`, a line continuation `\`, Visual Basic's `& _`.
    if i > 1 && hay[i - 1] == b'_' && blank(hay[i - 2]) {
        i -= 2;
        while i > 0 && blank(hay[i - 1]) {
            i -= 1;
        }
        if i == 0 || hay[i - 1] != b'&' {
            return None;
        }
        i -= 1;
    } else {
        // `+`, `.`, `&` or `\`, or `+ \` (a joiner and a line continuation).
        for _ in 0..2 {
            if i > 0 && matches!(hay[i - 1], b'+' | b'.' | b'&' | b'\\') {
                i -= 1;
                while i > 0 && blank(hay[i - 1]) {
                    i -= 1;
                }
            }
        }
    }
    while i > 0 && blank(hay[i - 1]) {
        i -= 1;
    }
    let close = i.checked_sub(1)?;
    let quote = hay[close];
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let mut open = close;
    while open > 0 && close - open <= MAX_PIECE && is_piece_byte(hay[open - 1]) {
        open -= 1;
    }
    let open = open.checked_sub(1)?;
    (hay[open] == quote && close - open > 6).then_some((open, close, quote))
}

/// The string literal that starts the line after `nl`, after an optional joiner (`+ "…"`):
/// its contents' range, of 4 to [`MAX_PIECE`] token bytes.
fn literal_after(hay: &[u8], nl: usize) -> Option<Range<usize>> {
    let mut j = nl + 1;
    let blank = |b: u8| b == b' ' || b == b'\t';
    while j < hay.len() && blank(hay[j]) {
        j += 1;
    }
    if j < hay.len() && matches!(hay[j], b'+' | b'.' | b'&') {
        j += 1;
        while j < hay.len() && blank(hay[j]) {
            j += 1;
        }
    }
    let quote = *hay.get(j)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let start = j + 1;
    let mut end = start;
    while end < hay.len() && end - start <= MAX_PIECE && is_piece_byte(hay[end]) {
        end += 1;
    }
    if hay.get(end) != Some(&quote) || end - start < 4 {
        return None;
    }
    // A name, not a piece: `"zone" = "…"` (a map's next entry), `"b": …`, and a Valve
    // KeyValues entry's `"port"<tab>"3306"` (SourceMod's databases.cfg).
    let mut k = end + 1;
    while k < hay.len() && (hay[k] == b' ' || hay[k] == b'\t') {
        k += 1;
    }
    let tabbed_value = hay[end + 1..k].contains(&b'\t') && hay.get(k) == Some(&b'"');
    (!matches!(hay.get(k), Some(b'=' | b':')) && !tabbed_value).then_some(start..end)
}

/// The line break ending the line that goes on after a literal closing at `close` (its quote),
/// if nothing but a joiner follows it there.
fn joint_after(hay: &[u8], close: usize) -> Option<usize> {
    let mut i = close + 1;
    let blank = |b: u8| b == b' ' || b == b'\t' || b == b'\r';
    while i < hay.len() && blank(hay[i]) {
        i += 1;
    }
    for _ in 0..2 {
        if i < hay.len() && matches!(hay[i], b'+' | b'.' | b'&' | b'\\' | b'_') {
            i += 1;
            while i < hay.len() && blank(hay[i]) {
                i += 1;
            }
        }
    }
    (hay.get(i) == Some(&b'\n')).then_some(i)
}

/// Values split across string literals on consecutive lines ([`Encoding::Joined`]), walking
/// every line of `hay[range]` (the scanner finds the line ends to look at in its keyword pass
/// instead, [`joined_spans_at`]): where one ends in a quote or a joiner.
fn joined_spans(hay: &[u8], range: Range<usize>, out: &mut Vec<(Encoding, Range<usize>)>) {
    let end = range.end.min(hay.len());
    let ends = memchr::memchr_iter(b'\n', &hay[range.start..end]).map(|p| range.start + p);
    joined_spans_at(hay, ends, out);
}

/// [`Encoding::Joined`] spans whose first line ends at one of `ends` (positions of `\n`, in
/// increasing order): from the start of the first literal's line to the last literal's
/// closing quote. A span belongs to the range holding its first line break; the line breaks
/// inside a span are not looked at again.
pub(crate) fn joined_spans_at(
    hay: &[u8],
    ends: impl IntoIterator<Item = usize>,
    out: &mut Vec<(Encoding, Range<usize>)>,
) {
    let mut after = 0;
    for nl in ends {
        if nl < after || nl >= hay.len() {
            continue;
        }
        // Most lines end in a letter, a digit or a bracket: one byte tells.
        let last = match hay[..nl] {
            [.., b'\r'] if nl >= 2 => hay[nl - 2],
            [.., b] => b,
            [] => continue,
        };
        if !matches!(
            last,
            b'"' | b'\'' | b'+' | b'.' | b'&' | b'\\' | b'_' | b' ' | b'\t'
        ) {
            continue;
        }
        let Some(span) = join_at(hay, nl, None) else {
            continue;
        };
        after = span.end;
        out.push((Encoding::Joined, span));
    }
}

/// The value split across lines whose first line ends at `nl` (see [`Encoding::Joined`]): its
/// span, from the start of that line to the end of the last piece (past a closing quote); and,
/// into `out` if given, the first line up to the end of the first piece's contents, then the
/// contents of the pieces after it, then the closing quote. `None` when no literal or
/// continued value ends the line, or no piece goes on after it. The scan (which finds the
/// spans) and the decoder (which joins a span) walk the pieces alike through this one walk.
fn join_at(hay: &[u8], nl: usize, mut out: Option<&mut Vec<u8>>) -> Option<Range<usize>> {
    let mut push = |bytes: &[u8]| {
        if let Some(out) = out.as_deref_mut() {
            out.extend_from_slice(bytes);
        }
    };
    let mut joint = nl;
    let mut end = None;
    let line = |open: usize| memchr::memrchr(b'\n', &hay[..open]).map_or(0, |p| p + 1);
    if let Some((open, close, quote)) = literal_before(hay, nl) {
        let mut line = line(open);
        // A value opened on the line after its name (`API_KEY = (` or Java's `SECRET =`, then
        // the pieces, one a line): the span starts at the name's line.
        if line > 0 && hay[line..open].iter().all(|&b| b == b' ' || b == b'\t') {
            let before = hay[..line - 1].trim_ascii_end();
            if matches!(before.last(), Some(b'(' | b'=')) {
                line = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
            }
        }
        push(&hay[line..close]);
        for _ in 1..MAX_PIECES {
            let Some(piece) = literal_after(hay, joint) else {
                break;
            };
            push(&hay[piece.clone()]);
            end = Some(piece.end + 1);
            match joint_after(hay, piece.end) {
                Some(next) => joint = next,
                None => break,
            }
        }
        push(&[quote]);
        return end.map(|end| line..end);
    }
    let (open, backslash) = continued_value_before(hay, nl)?;
    let line = line(open);
    push(&hay[line..backslash]);
    for _ in 1..MAX_PIECES {
        let Some((piece, next)) = continued_piece_after(hay, joint) else {
            break;
        };
        push(&hay[piece.clone()]);
        // A quoted scalar's closing quote belongs to the span (the first of a triple quote's).
        let quote = hay
            .get(piece.end)
            .copied()
            .filter(|&q| q == b'"' || q == b'\'');
        end = Some(piece.end + usize::from(quote.is_some()));
        match next {
            Some(next) => joint = next,
            None => {
                if let Some(q) = quote {
                    push(&[q]);
                }
                break;
            }
        }
    }
    end.map(|end| line..end)
}

/// The value of a `key=value\` line (a Java properties file's continuation: the value goes
/// on after the line break and the next line's indentation, `here.apiKey=61-lWmeh…\` then
/// `    b67FJ…`): where it starts, and where its backslash is. 8 to [`MAX_PIECE`] bytes of no
/// space or quote before the backslash, after `=` or `:`.
fn continued_value_before(hay: &[u8], nl: usize) -> Option<(usize, usize)> {
    let mut i = nl;
    if i > 0 && hay[i - 1] == b'\r' {
        i -= 1;
    }
    let backslash = i.checked_sub(1).filter(|&b| hay[b] == b'\\')?;
    let mut open = backslash;
    while open > 0
        && backslash - open <= MAX_PIECE
        && is_piece_byte(hay[open - 1])
        && !matches!(hay[open - 1], b'=' | b':')
    {
        open -= 1;
    }
    let mut sep = open.checked_sub(1)?;
    // A double-quoted YAML scalar broken with an escaped line break (`api-key: "mL6j…\`), or
    // a TOML or Python triple-quoted string (`token = """xkLg…\`), where a backslash ends
    // the line and the string goes on after the next line's indentation.
    if matches!(hay[sep], b'"' | b'\'') {
        let quote = hay[sep];
        let mut quotes = 0;
        while quotes < 3 && hay[sep] == quote {
            quotes += 1;
            sep = sep.checked_sub(1)?;
        }
        if !(quotes == 3 || quotes == 1 && quote == b'"') {
            return None;
        }
        while sep > 0 && (hay[sep] == b' ' || hay[sep] == b'\t') {
            sep -= 1;
        }
    }
    (matches!(hay[sep], b'=' | b':') && backslash - open >= 8).then_some((open, backslash))
}

/// The piece of a continued value on the line after `nl`: the line's bytes after its
/// indentation, 4 to [`MAX_PIECE`] of no space or quote, and the line break ending it when
/// the value goes on again (a `\\` before it).
fn continued_piece_after(hay: &[u8], nl: usize) -> Option<(Range<usize>, Option<usize>)> {
    let mut j = nl + 1;
    while j < hay.len() && (hay[j] == b' ' || hay[j] == b'\t') {
        j += 1;
    }
    let start = j;
    while j < hay.len() && j - start <= MAX_PIECE && is_piece_byte(hay[j]) {
        j += 1;
    }
    if j - start < 4 {
        return None;
    }
    let piece = start..j;
    match hay.get(j..).unwrap_or_default() {
        [] | [b'\n', ..] | [b'\r', b'\n', ..] | [b'"' | b'\'', ..] => Some((piece, None)),
        [b'\\', b'\n', ..] => Some((piece, Some(j + 1))),
        [b'\\', b'\r', b'\n', ..] => Some((piece, Some(j + 2))),
        _ => None,
    }
}

/// [`Encoding::Joined`]: `span` (from [`joined_spans_at`]) with its pieces joined
/// ([`join_at`] from its first line break).
fn join_literals(span: &[u8], out: &mut Vec<u8>) -> bool {
    // The pieces start at the span's first line break, or at its second when the span starts
    // at the name's line above them (`API_KEY = (`).
    let (len, mut from) = (out.len(), 0);
    for _ in 0..2 {
        let Some(nl) = memchr::memchr(b'\n', &span[from..]).map(|p| from + p) else {
            return false;
        };
        if join_at(span, nl, Some(out)).is_some() {
            return true;
        }
        out.truncate(len);
        from = nl + 1;
    }
    false
}

/// Whether a string's escapes can hide a secret from the rules: escaped quotes (`\"` around an
/// assigned value), `\x`/`\u` sequences and `\/` (anything may be behind them), or line
/// breaks inside a PEM block or glued to a long token or to an assignment (`\nkey=...`).
/// Strings whose only other escapes are `\n` and `\t` (most of them in source code) read the
/// same to the rules either way, and are not decoded.
fn hides_text(body: &[u8]) -> bool {
    let mut at = 0;
    // Looked for once, at the first `\n`.
    let mut pem = None;
    while let Some(p) = memchr::memchr(b'\\', &body[at..]) {
        let p = at + p;
        match body.get(p + 1) {
            Some(b'"' | b'\'' | b'x' | b'u' | b'/') => return true,
            Some(b'n')
                if *pem
                    .get_or_insert_with(|| memchr::memmem::find(body, b"-----BEGIN").is_some()) =>
            {
                return true
            }
            // A line break glued to a token (`...for now:\nhf_bhUg...` in a chat export's
            // JSON): the `n` would join the token's first word, and no rule would see where
            // it starts. Text after `\n` is words, seldom a 20-character run.
            Some(b'n' | b't' | b'r')
                if token_run(&body[p + 2..]) >= 20 || assignment(&body[p + 2..]) =>
            {
                return true
            }
            _ => {}
        }
        at = p + 2;
        if at >= body.len() {
            break;
        }
    }
    false
}

/// Whether `s` starts with a name assigned a value (`key=...`, `password: ...`): a config
/// file quoted in a JSON string (`[api]\nemail=...\nkey=...`), where the `n` of the escape
/// would join the name.
fn assignment(s: &[u8]) -> bool {
    let name = token_run(s);
    (2..=40).contains(&name)
        && match s.get(name) {
            Some(b'=') => true,
            Some(b':') => s.get(name + 1) == Some(&b' '),
            _ => false,
        }
}

/// The length of the run of token bytes (letters, digits, `_`, `-`) at the start of `s`.
fn token_run(s: &[u8]) -> usize {
    s.iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        .count()
}

/// Decodes `data` as one layer of `encoding`, as the scanner does for a candidate span (for
/// UTF-16: a whole buffer, byte order from its mark or its NULs). `None` when it does not
/// decode, or not to mostly printable text, which the scanner would not look at.
///
/// For the fuzz targets only (feature `fuzzing`): not part of the stable API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub fn decode_layer(encoding: Encoding, data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    if encoding == Encoding::Utf16 {
        let order = utf16_text(data)?;
        utf16_to_utf8(data, order, &mut out);
        return Some(out);
    }
    if encoding == Encoding::QuotedPrintable {
        return quoted_printable_bodies(data, &mut out).map(|_| out);
    }
    decode(encoding, data, &mut out).then_some(out)
}

/// Decodes `span` as `encoding` into `out` (cleared first). Returns false when it does not
/// decode to mostly printable text, which is then not worth scanning.
pub(crate) fn decode(encoding: Encoding, span: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let ok = match encoding {
        Encoding::Base64 => base64(span, out),
        Encoding::Hex => hex(span, out),
        Encoding::Percent => percent(span, out),
        Encoding::Escape | Encoding::Json => unescape(span, out),
        Encoding::Joined => join_literals(span, out),
        // Whole buffers only: see `utf16_text` and `quoted_printable_bodies`.
        Encoding::Utf16 | Encoding::QuotedPrintable => return false,
    };
    ok && out.len() >= 8 && out.as_slice() != span && mostly_printable(out)
}

/// At least 90% printable ASCII or whitespace, or valid non-ASCII UTF-8.
pub(crate) fn mostly_printable(bytes: &[u8]) -> bool {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            // Cut in the middle of a character at the end: judge the rest.
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    let bad = text
        .bytes()
        .filter(|&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t') || b == 0x7f)
        .count();
    bad * 10 <= text.len()
}

/// Base64 in either alphabet, padding optional (the structural checks' decoder). The first
/// 64 characters are decoded and judged first: most candidates are random keys or binary
/// data, rejected without decoding the rest.
fn base64(span: &[u8], out: &mut Vec<u8>) -> bool {
    const PREFIX: usize = 64;
    if span.len() > PREFIX + 8 {
        if !crate::check::base64_decode_into(&span[..PREFIX], out) || !mostly_printable(out) {
            return false;
        }
        out.clear();
    }
    crate::check::base64_decode_into(span, out)
}

pub(crate) fn hex(span: &[u8], out: &mut Vec<u8>) -> bool {
    if !span.len().is_multiple_of(2) {
        return false;
    }
    // Judge the first 32 bytes first: digests and binary data stop here.
    if span.len() > 72 {
        if !hex(&span[..64], out) || !mostly_printable(out) {
            return false;
        }
        out.clear();
    }
    out.reserve(span.len() / 2);
    for pair in span.chunks_exact(2) {
        match (hex_value(pair[0]), hex_value(pair[1])) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            _ => return false,
        }
    }
    true
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

pub(crate) fn percent(span: &[u8], out: &mut Vec<u8>) -> bool {
    out.reserve(span.len());
    let mut i = 0;
    let mut any = false;
    while i < span.len() {
        if span[i] == b'%' && i + 2 < span.len() {
            if let (Some(h), Some(l)) = (hex_value(span[i + 1]), hex_value(span[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                any = true;
                continue;
            }
        }
        out.push(span[i]);
        i += 1;
    }
    any
}

/// Backslash escapes: `\n \r \t \b \f \0 \" \' \\ \/`, `\xXX`, `\uXXXX` (with UTF-16
/// surrogate pairs). Unknown escapes are kept as written.
pub(crate) fn unescape(span: &[u8], out: &mut Vec<u8>) -> bool {
    out.reserve(span.len());
    let mut i = 0;
    let mut any = false;
    while i < span.len() {
        let b = span[i];
        if b != b'\\' || i + 1 >= span.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let e = span[i + 1];
        let simple = match e {
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'b' => Some(8),
            b'f' => Some(12),
            b'0' => Some(0),
            b'"' | b'\'' | b'\\' | b'/' => Some(e),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            any = true;
            continue;
        }
        if e == b'x' && i + 3 < span.len() {
            if let (Some(h), Some(l)) = (hex_value(span[i + 2]), hex_value(span[i + 3])) {
                out.push(h << 4 | l);
                i += 4;
                any = true;
                continue;
            }
        }
        if e == b'u' {
            if let Some(unit) = u16_at(span, i + 2) {
                let (c, used) = if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate: a low one must follow.
                    match (span.get(i + 6..i + 8), u16_at(span, i + 8)) {
                        (Some(b"\\u"), Some(low)) if (0xDC00..0xE000).contains(&low) => {
                            let c = 0x10000
                                + ((u32::from(unit) - 0xD800) << 10)
                                + (u32::from(low) - 0xDC00);
                            (char::from_u32(c), 12)
                        }
                        _ => (None, 6),
                    }
                } else {
                    (char::from_u32(u32::from(unit)), 6)
                };
                let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += used;
                any = true;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    any
}

fn u16_at(span: &[u8], at: usize) -> Option<u16> {
    let digits = span.get(at..at + 4)?;
    let mut v = 0u16;
    for &d in digits {
        v = v << 4 | u16::from(hex_value(d)?);
    }
    Some(v)
}

/// Byte order of UTF-16 text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Utf16 {
    /// Little endian (Windows' default).
    Le,
    /// Big endian.
    Be,
}

/// Leading bytes that [`is_binary`] looks at.
pub const BINARY_PROBE: usize = 8 << 10;

/// The binary-detection policy of every keysweep input (files, archive entries, standard
/// input, history blobs, pending changes): data is binary when its first [`BINARY_PROBE`]
/// bytes hold a NUL byte, unless it is UTF-16 text (a byte order mark, or ASCII with a NUL in
/// every other byte), which the scanner decodes.
///
/// ```
/// let utf16: Vec<u8> = "token = abc\r\n".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
/// assert!(!keysweep::is_binary(&utf16));
/// assert!(!keysweep::is_binary(b"plain text"));
/// assert!(keysweep::is_binary(b"\x7fELF\x02\x01\x01\x00\x00\x00"));
/// ```
pub fn is_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(BINARY_PROBE)]).is_some() && utf16_text(data).is_none()
}

/// Whether `data` looks like UTF-16 text: a byte order mark, or (in its first 1 KiB) ASCII
/// characters with a NUL in every other byte. Such files hold NUL bytes, so binary detection
/// asks this first.
pub(crate) fn utf16_text(data: &[u8]) -> Option<Utf16> {
    // A byte order mark, if what follows decodes to text (binary data may start with one).
    let bom = match data {
        [0xFF, 0xFE, ..] => Some(Utf16::Le),
        [0xFE, 0xFF, ..] => Some(Utf16::Be),
        _ => None,
    };
    if let Some(order) = bom {
        let head = &data[..data.len().min(1026) & !1];
        let mut text = Vec::new();
        utf16_to_utf8(head, order, &mut text);
        let replaced = text.windows(3).filter(|w| w == &[0xEF, 0xBF, 0xBD]).count();
        return (mostly_printable(&text) && replaced * 20 <= head.len() / 2).then_some(order);
    }
    let head = &data[..data.len().min(1024) & !1];
    // Every file is asked this; text without a NUL is answered without counting.
    if head.len() < 16 || memchr::memchr(0, head).is_none() {
        return None;
    }
    let pairs = head.len() / 2;
    let (mut le, mut be) = (0, 0);
    for p in head.chunks_exact(2) {
        let printable = |b: u8| (0x20..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t');
        if p[1] == 0 && printable(p[0]) {
            le += 1;
        } else if p[0] == 0 && printable(p[1]) {
            be += 1;
        }
    }
    if le * 10 >= pairs * 9 {
        Some(Utf16::Le)
    } else if be * 10 >= pairs * 9 {
        Some(Utf16::Be)
    } else {
        None
    }
}

/// Where the bytes of a transcoded UTF-16 buffer came from: a checkpoint every few KiB of
/// output, refined by transcoding forward from it. Findings are few, so this costs little and
/// keeps the map a thousandth of the text instead of four times it.
pub(crate) struct Utf16Map {
    order: Utf16,
    /// (output position, input offset) at character boundaries, the first at (0, start).
    checkpoints: Vec<(usize, usize)>,
    /// (output length, input offset just past the last code unit).
    end: (usize, usize),
}

const CHECKPOINT_STRIDE: usize = 4096;

fn units(data: &[u8], order: Utf16) -> impl Iterator<Item = u16> + '_ {
    data.chunks_exact(2).map(move |p| match order {
        Utf16::Le => u16::from_le_bytes([p[0], p[1]]),
        Utf16::Be => u16::from_be_bytes([p[0], p[1]]),
    })
}

/// A decoded UTF-16 item: the character (U+FFFD for an unpaired surrogate) and its width in
/// input bytes.
fn char_of(r: Result<char, std::char::DecodeUtf16Error>) -> (char, usize) {
    match r {
        Ok(c) => (c, c.len_utf16() * 2),
        Err(_) => (char::REPLACEMENT_CHARACTER, 2),
    }
}

impl Utf16Map {
    /// The offset in `data` of the code unit that produced output byte `pos`; for `pos` at
    /// the end of the output, the end of the input.
    pub(crate) fn offset(&self, data: &[u8], pos: usize) -> usize {
        if pos >= self.end.0 {
            return self.end.1;
        }
        let k = self.checkpoints.partition_point(|&(o, _)| o <= pos) - 1;
        let (mut o, mut i) = self.checkpoints[k];
        for r in char::decode_utf16(units(&data[i..], self.order)) {
            let (c, width) = char_of(r);
            if o + c.len_utf8() > pos {
                return i;
            }
            o += c.len_utf8();
            i += width;
        }
        self.end.1
    }
}

/// Transcodes UTF-16 to UTF-8 (unpaired surrogates become U+FFFD) into `out` (cleared first),
/// returning where each output byte came from.
pub(crate) fn utf16_to_utf8(data: &[u8], order: Utf16, out: &mut Vec<u8>) -> Utf16Map {
    out.clear();
    let skip = match (order, data) {
        (Utf16::Le, [0xFF, 0xFE, ..]) | (Utf16::Be, [0xFE, 0xFF, ..]) => 2,
        _ => 0,
    };
    let mut checkpoints = vec![(0, skip)];
    let mut next = CHECKPOINT_STRIDE;
    let mut offset = skip;
    let mut buf = [0u8; 4];
    for r in char::decode_utf16(units(&data[skip..], order)) {
        let (c, width) = char_of(r);
        if out.len() >= next {
            checkpoints.push((out.len(), offset));
            next = out.len() + CHECKPOINT_STRIDE;
        }
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        offset += width;
    }
    Utf16Map {
        order,
        checkpoints,
        end: (out.len(), offset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values split across literals on consecutive lines are joined, in the syntaxes of
    /// Python and C (adjacent literals), JavaScript, Java and Go (`+`), PHP (`.`), Visual
    /// Basic (`& _`) and a shell-like `\` continuation; lists, prose and single literals are
    /// not.
    #[test]
    fn literals_split_across_lines_are_joined() {
        let joined = |text: &str| -> Vec<String> {
            let mut spans = Vec::new();
            candidates(
                text.as_bytes(),
                0..text.len(),
                Encoding::Joined.bit(),
                &mut spans,
            );
            spans
                .into_iter()
                .map(|(e, span)| {
                    assert_eq!(e, Encoding::Joined);
                    let mut out = Vec::new();
                    assert!(decode(e, &text.as_bytes()[span], &mut out));
                    String::from_utf8(out).unwrap()
                })
                .collect()
        };
        assert_eq!(
            joined("x = 1\nKEY = (\"SG.SfXXAZqUOpjPfMQ\"\n       \"KE6QKMD.LIKc0F\")\nend\n"),
            ["KEY = (\"SG.SfXXAZqUOpjPfMQKE6QKMD.LIKc0F\""]
        );
        assert_eq!(
            joined("const t = \"ghp_R2d5QyYz8m\" +\r\n  \"vW7xN1bT4cL6\" +\n  \"fH9gD2sA\";\n"),
            ["const t = \"ghp_R2d5QyYz8mvW7xN1bT4cL6fH9gD2sA\""]
        );
        assert_eq!(
            joined("$k = 'q8Xv2LmZ7pRt' .\n     '4YwK9sNb3Jd6';\n"),
            ["$k = 'q8Xv2LmZ7pRt4YwK9sNb3Jd6'"]
        );
        assert_eq!(
            joined("Const K = \"q8Xv2LmZ7pRt\" & _\n    \"4YwK9sNb3Jd6\"\n"),
            ["Const K = \"q8Xv2LmZ7pRt4YwK9sNb3Jd6\""]
        );
        assert_eq!(
            joined("API_KEY = \"q8Xv2LmZ7pRt\" + \\\n    \"4YwK9sNb3Jd6\"\n"),
            ["API_KEY = \"q8Xv2LmZ7pRt4YwK9sNb3Jd6\""]
        );
        assert_eq!(
            joined("PW = (\"Tundra!561d\"\n      \"ocketBliHN3\")  # split\n"),
            ["PW = (\"Tundra!561docketBliHN3\""]
        );
        // A double-quoted YAML scalar broken with an escaped line break.
        assert_eq!(
            joined("ils:\n  api-key: \"mL6jqSEan8mKPFrBDRX4\\\n    JqX7QbAzWqQlTyUc3H8a\"\n"),
            ["  api-key: \"mL6jqSEan8mKPFrBDRX4JqX7QbAzWqQlTyUc3H8a\""]
        );
        assert_eq!(
            joined("    private static final String CLIENT_SECRET =\n        \"nfBf54WNFHJ5\" +\n        \"5IkOYLtE9q\";\n"),
            ["    private static final String CLIENT_SECRET =\n        \"nfBf54WNFHJ55IkOYLtE9q\""]
        );
        // The pieces start on the line after the name.
        assert_eq!(
            joined("# split for the linter\nSAFESEND_API_KEY = (\n    \"EJFhXqTrqQqjJhzc\"\n    \"AuZzNyZCoOfsr0ss\"\n)\n"),
            ["SAFESEND_API_KEY = (\n    \"EJFhXqTrqQqjJhzcAuZzNyZCoOfsr0ss\""]
        );
        // A TOML (or Python) triple-quoted string continued with a backslash.
        assert_eq!(
            joined(
                "provider = \"spire\"\ntoken = \"\"\"xkLguakV9XX9hEmJ\\\nZbpxYT3G6IWkQ4SF\"\"\"\n"
            ),
            ["token = \"\"\"xkLguakV9XX9hEmJZbpxYT3G6IWkQ4SF\""]
        );
        assert_eq!(
            joined("KEY = '''q8Xv2LmZ7pRt4Ywk\\\n    K9sNb3Jd6'''\n"),
            ["KEY = '''q8Xv2LmZ7pRt4YwkK9sNb3Jd6'"]
        );
        // A Java properties value continued with a backslash.
        assert_eq!(
            joined("here.url=https://x\nhere.apiKey=61-lWmehBjMdmG_2mCHwfb\\\n    b67FJPxwwZ3lRCLa6X4sk\nnext=1\n"),
            ["here.apiKey=61-lWmehBjMdmG_2mCHwfbb67FJPxwwZ3lRCLa6X4sk"]
        );
        // A list (commas), words with spaces, a literal alone, a short first piece.
        for text in [
            "hosts = [\n  \"alpha.example.com\",\n  \"beta.example.com\"\n]\n",
            "msg = (\"the quick brown\"\n       \"fox jumps over\")\n",
            "KEY = \"q8Xv2LmZ7pRt4YwK9sNb3Jd6\"\nOTHER = 1\n",
            "x = (\"ab\"\n     \"q8Xv2LmZ7pRt4YwK9sNb3Jd6\")\n",
            "  ~ \"token\" = \"vrhOi5H1CxnhUi5meZo5D1b0\"\n    \"zone\"  = \"kestrel.dev\"\n",
        ] {
            assert!(joined(text).is_empty(), "{text:?}");
        }
    }

    /// A run longer than any decodable span (a megabyte of `A`, a line of base64 without
    /// newlines) is no candidate, and chunks of it give what the whole gives: each chunk walks
    /// only its own bytes (it used to walk to the run's end, quadratic over the chunks).
    #[test]
    fn runs_longer_than_a_span_are_skipped_chunk_by_chunk() {
        let mut hay = vec![b'A'; 3 * MAX_SPAN];
        hay[MAX_SPAN + 5] = b'7';
        hay.extend_from_slice(b" c2VjcmV0PVpxOHZSMm1UNnBMOXdYM24= tail");
        let all = Encoding::Base64.bit() | Encoding::Hex.bit();
        let mut whole = Vec::new();
        candidates(&hay, 0..hay.len(), all, &mut whole);
        assert_eq!(whole.len(), 1, "{whole:?}");
        assert_eq!(
            &hay[whole[0].1.clone()],
            b"c2VjcmV0PVpxOHZSMm1UNnBMOXdYM24="
        );
        for chunk in [4096, 65_536, MAX_SPAN - 3, MAX_SPAN + 1] {
            let mut parts = Vec::new();
            let mut at = 0;
            while at < hay.len() {
                let end = (at + chunk).min(hay.len());
                candidates(&hay, at..end, all, &mut parts);
                at = end;
            }
            assert_eq!(parts, whole, "chunk {chunk}");
        }
    }

    #[test]
    fn decode_layer_decodes_one_layer() {
        assert_eq!(
            decode_layer(Encoding::Percent, b"p%40ss%2Fw0rd-and-more").unwrap(),
            b"p@ss/w0rd-and-more"
        );
        assert_eq!(
            decode_layer(Encoding::Base64, b"aGVsbG8gd29ybGQh").unwrap(),
            b"hello world!"
        );
        assert_eq!(
            decode_layer(Encoding::Hex, b"da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            None
        );
    }

    fn spans(hay: &[u8]) -> Vec<(Encoding, &str)> {
        let mut out = Vec::new();
        candidates(hay, 0..hay.len(), 0xff, &mut out);
        out.iter()
            .map(|(e, r)| (*e, std::str::from_utf8(&hay[r.clone()]).unwrap()))
            .collect()
    }

    fn decoded(e: Encoding, s: &str) -> Option<String> {
        let mut out = Vec::new();
        decode(e, s.as_bytes(), &mut out).then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn base64_both_alphabets_padded_or_not() {
        // "password=hunter2-but-longer?" in both alphabets.
        assert_eq!(
            decoded(Encoding::Base64, "cGFzc3dvcmQ9aHVudGVyMi1idXQtbG9uZ2VyPw=="),
            Some("password=hunter2-but-longer?".into())
        );
        assert_eq!(
            decoded(Encoding::Base64, "cGFzc3dvcmQ9aHVudGVyMi1idXQtbG9uZ2VyPw"),
            Some("password=hunter2-but-longer?".into())
        );
        // Random bytes (a raw key) are not text.
        assert_eq!(
            decoded(
                Encoding::Base64,
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
            ),
            None
        );
    }

    #[test]
    fn candidates_are_selective() {
        let hay = b"let veryLongIdentifierNameWithoutDigits = 1; \
                    auth: Basic dXNlcjpzM2NyM3QtcGFzc3dvcmQtdmFsdWU= \
                    sha = da39a3ee5e6b4b0d3255bfef95601890afd80709 \
                    url = postgres://app:p%40ss%2Fw0rd@db:5432/x";
        let found = spans(hay);
        assert!(found.contains(&(Encoding::Base64, "dXNlcjpzM2NyM3QtcGFzc3dvcmQtdmFsdWU=")));
        assert!(found.contains(&(Encoding::Hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709")));
        assert!(found.contains(&(Encoding::Percent, "postgres://app:p%40ss%2Fw0rd@db:5432/x")));
        assert!(!found.iter().any(|(_, s)| s.contains("veryLong")));
        // The SHA-1 decodes to bytes, not text.
        assert_eq!(
            decoded(Encoding::Hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            None
        );
        assert_eq!(
            decoded(Encoding::Hex, "70617373776f72643d733363723374"),
            Some("password=s3cr3t".into())
        );
    }

    #[test]
    fn escapes_and_json_strings() {
        let hay =
            br#"{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"}"#;
        let found = spans(hay);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, Encoding::Json);
        assert!(found[0].1.starts_with("-----BEGIN"));
        assert_eq!(
            decoded(Encoding::Json, found[0].1).unwrap(),
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
        );
        // A line break glued to a token is decoded; one before words is not.
        let chat = br#"{"text": "use the org token for now:\n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\nthanks"}"#;
        let found = spans(chat);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, Encoding::Json);
        let prose = br#"{"text": "first line\nsecond line with words\tand a tab"}"#;
        assert!(spans(prose).is_empty());
        let rc = br#"{"content": "My ~/.zuliprc:\n[api]\nemail=nadia@fjordlabs.example\nkey=r0j1X3WSTMysRj77PUa1Glfat2aG7LjV\n"}"#;
        assert!(spans(rc)
            .iter()
            .any(|(e, s)| *e == Encoding::Json && s.contains("key=r0j1")));
        let py = br"key = '\x73\x6b\x5f\x6c\x69\x76\x65\x5f\x61\x62'";
        let found = spans(py);
        assert_eq!(found[0].0, Encoding::Escape);
        assert_eq!(decoded(Encoding::Escape, found[0].1).unwrap(), "sk_live_ab");
        assert_eq!(
            decoded(Encoding::Json, r"caf\u00e9 \ud83d\ude00 \/path\t").unwrap(),
            "café 😀 /path\t"
        );
    }

    #[test]
    fn quoted_printable_bodies_and_offsets() {
        let mail = b"Return-Path: <a@b>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n\
            --b1\nContent-Type: text/plain\nContent-Transfer-Encoding: Quoted-Printable\n\n\
            Senha provis=C3=B3ria: a=3Db=\nc d=\n=zz\n\
            --b1\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nYT0zRA=3D\n--b1--\n";
        let mut out = Vec::new();
        let map = quoted_printable_bodies(mail, &mut out).expect("a message with a QP part");
        assert_eq!(out, "Senha provis\u{f3}ria: a=bc d=zz\n".as_bytes());
        let body = memchr::memmem::find(mail, b"Senha").unwrap();
        // Before the first escape, after one (`=C3=B3` is two bytes out, six in), after a soft
        // break, and the `=` kept as written.
        assert_eq!(map.offset(0), body);
        assert_eq!(map.offset(12), body + 12);
        assert_eq!(map.offset(14), body + 18);
        let bc = out.iter().position(|&b| b == b'c').unwrap();
        assert_eq!(mail[map.offset(bc)], b'c');
        let z = out.iter().position(|&b| b == b'z').unwrap();
        assert_eq!(&mail[map.offset(z) - 1..map.offset(z) + 2], b"=zz");
        // A range ending before a soft break ends there; one ending after an escape ends
        // after its three bytes.
        let b = out.iter().position(|&x| x == b'b').unwrap();
        assert_eq!(mail[map.offset(b + 1)], b'c');
        assert_eq!(map.end_offset(b + 1), map.offset(b) + 1);
        assert_eq!(map.end_offset(14), body + 18);
        // A `-----` rule inside a body is text, not a boundary.
        let ruled = b"MIME-Version: 1.0\nContent-Transfer-Encoding: quoted-printable\n\n\
            intro\n-----\nkey=3Dvalue\n";
        quoted_printable_bodies(ruled, &mut out).expect("decoded past the rule");
        assert!(out.ends_with(b"-----\nkey=value\n"));

        // No MIME headers at the top, or no escape in any QP body: nothing to decode.
        assert!(quoted_printable_bodies(b"x = a=3Db\n", &mut out).is_none());
        let plain = b"MIME-Version: 1.0\nContent-Transfer-Encoding: quoted-printable\n\nhello\n";
        assert!(quoted_printable_bodies(plain, &mut out).is_none());
        let code = b"import os\nContent-Transfer-Encoding: quoted-printable\n\na=3Db\n";
        assert!(quoted_printable_bodies(code, &mut out).is_none());
    }

    #[test]
    fn utf16_detection_and_offsets() {
        let text = "k = é\n";
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(utf16_text(&le), Some(Utf16::Le));
        let mut out = Vec::new();
        let map = utf16_to_utf8(&le, Utf16::Le, &mut out);
        assert_eq!(out, text.as_bytes());
        assert_eq!(map.offset(&le, 0), 2); // after the BOM
        assert_eq!(map.offset(&le, 4), 10); // 'é', first byte
        assert_eq!(map.offset(&le, 5), 10); // 'é', second byte
        assert_eq!(map.offset(&le, 6), 12); // '\n'
        assert_eq!(map.offset(&le, out.len()), le.len());
        // Across many checkpoints, with astral characters and an unpaired surrogate: every
        // output byte maps to the code unit that produced it.
        let mut units: Vec<u16> = Vec::new();
        let mut owner = Vec::new(); // per output byte, the input offset
        for i in 0..20_000u32 {
            let c = match i % 7 {
                0 => '😀',
                1 => 'é',
                _ => (b'a' + (i % 26) as u8) as char,
            };
            let at = units.len() * 2;
            if i % 1000 == 999 {
                units.push(0xD800); // unpaired
                owner.extend([at; 3]);
                continue;
            }
            owner.extend(std::iter::repeat_n(at, c.len_utf8()));
            let mut b = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut b));
        }
        let data: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        let map = utf16_to_utf8(&data, Utf16::Le, &mut out);
        assert_eq!(out.len(), owner.len());
        for pos in (0..out.len()).step_by(97).chain([out.len() - 1]) {
            assert_eq!(map.offset(&data, pos), owner[pos], "output byte {pos}");
        }
        assert_eq!(map.offset(&data, out.len()), data.len());
        let be: Vec<u8> = "password = x\n"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        assert_eq!(utf16_text(&be), Some(Utf16::Be));
        assert_eq!(utf16_text(&[0u8; 64]), None);
    }

    /// The skipping run finder against a byte-by-byte one, on random text dense with runs of
    /// every length around the thresholds, at random range starts.
    #[test]
    fn run_finder_matches_naive() {
        fn naive(hay: &[u8], range: Range<usize>) -> Vec<(Encoding, Range<usize>)> {
            let in_class = |b: u8| CLASS[b as usize] & B64 != 0;
            let mut out = Vec::new();
            let mut i = 0;
            while i < hay.len() {
                if !in_class(hay[i]) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < hay.len() && in_class(hay[i]) {
                    i += 1;
                }
                if start < range.start || start >= range.end {
                    continue;
                }
                let run = &hay[start..i];
                let any = run.iter().fold(0, |a, &b| a | CLASS[b as usize]);
                let all = run.iter().fold(0xff, |a, &b| a & CLASS[b as usize]);
                if run.len() < MIN_BASE64 || any & DIGIT == 0 {
                    continue;
                }
                if all & HEX != 0 && run.len() >= MIN_HEX && run.len().is_multiple_of(2) {
                    out.push((Encoding::Hex, start..i));
                } else if run.len() >= MIN_BASE64 && run.len() % 4 != 1 && looks_base64(any) {
                    let pad = hay[i..].iter().take(2).take_while(|&&b| b == b'=').count();
                    out.push((Encoding::Base64, start..i + pad));
                }
            }
            out
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"aB3+/=_- .\n\"0f9cA";
        for _ in 0..2000 {
            let len = (next() % 300) as usize;
            let mut hay = Vec::with_capacity(len);
            while hay.len() < len {
                // Runs of random length, separated by one random byte.
                let run = (next() % 45) as usize;
                let hexy = next() % 3 == 0;
                for _ in 0..run {
                    let pool: &[u8] = if hexy { b"0123456789abcdef" } else { alphabet };
                    hay.push(pool[(next() % pool.len() as u64) as usize]);
                }
                hay.push(b" =\n:"[(next() % 4) as usize]);
            }
            let start = if hay.is_empty() {
                0
            } else {
                (next() % (hay.len() as u64 + 1)) as usize
            };
            let end = start + (next() % (hay.len() - start + 1) as u64) as usize;
            let mut fast = Vec::new();
            runs(&hay, start..end, true, true, &mut fast);
            // The naive finder sees a run that began before `start` as not owned.
            let owned_start = if start > 0
                && start < hay.len()
                && CLASS[hay[start - 1] as usize] & B64 != 0
                && CLASS[hay[start] as usize] & B64 != 0
            {
                let mut s = start;
                while s < hay.len() && CLASS[hay[s] as usize] & B64 != 0 {
                    s += 1;
                }
                s
            } else {
                start
            };
            assert_eq!(
                fast,
                naive(&hay, owned_start..end),
                "{:?} {start}..{end}",
                String::from_utf8_lossy(&hay)
            );
        }
    }

    #[test]
    fn digit_search_matches_naive() {
        let hay: Vec<u8> = (0..=255u8)
            .chain(b"abc/:09 ".iter().copied())
            .cycle()
            .take(3000)
            .collect();
        for from in 0..40 {
            for to in [from, from + 1, from + 9, 300, 2999, 3000] {
                let to = to.max(from);
                let naive = (from..to).find(|&j| hay[j].is_ascii_digit());
                assert_eq!(next_digit(&hay, from, to), naive, "{from}..{to}");
            }
        }
        let no_digits = b"the quick brown fox jumps over the lazy dog ".repeat(10);
        assert_eq!(next_digit(&no_digits, 0, no_digits.len()), None);
    }

    #[test]
    fn printable() {
        assert!(mostly_printable(b"hello world\n"));
        assert!(mostly_printable("héllo wörld".as_bytes()));
        assert!(!mostly_printable(&[0x89, b'P', b'N', b'G', 0, 0, 0, 13]));
    }
}

/// How far into a buffer [`quoted_printable_bodies`] looks for the headers of an e-mail.
const MAIL_PROBE: usize = 16 << 10;

/// The first match of `needle` (lowercase ASCII) in `hay`, in any ASCII case.
fn find_ascii_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (first, rest) = needle.split_first()?;
    let mut at = 0;
    while let Some(i) = memchr::memchr2(*first, first.to_ascii_uppercase(), &hay[at..]) {
        let i = at + i;
        if hay.len() - i > rest.len() && hay[i + 1..i + 1 + rest.len()].eq_ignore_ascii_case(rest) {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

/// Where the bytes of [`quoted_printable_bodies`]' output came from: (output position, input
/// offset, after a soft line break) at the start of each body and after each escape or soft
/// line break; between two, output and input advance together.
#[derive(Debug, Default)]
pub(crate) struct QpMap {
    points: Vec<(usize, usize, bool)>,
    /// The input's length: no offset is past it.
    len: usize,
}

impl QpMap {
    /// The input offset of output position `at` (where the byte there came from).
    pub(crate) fn offset(&self, at: usize) -> usize {
        let i = self.points.partition_point(|&(out, ..)| out <= at);
        self.at_point(i, at)
    }

    /// The input offset just past output position `at - 1` (the end of a range ending at
    /// `at`): a soft line break right after the range is not part of it.
    pub(crate) fn end_offset(&self, at: usize) -> usize {
        let mut i = self.points.partition_point(|&(out, ..)| out <= at);
        while i > 0 && self.points[i - 1].0 == at && self.points[i - 1].2 {
            i -= 1;
        }
        self.at_point(i, at)
    }

    fn at_point(&self, i: usize, at: usize) -> usize {
        let offset = match i.checked_sub(1).map(|i| self.points[i]) {
            Some((out, input, _)) => input + (at - out),
            None => at,
        };
        offset.min(self.len)
    }
}

/// The quoted-printable bodies of an e-mail message (RFC 2045), decoded one after another
/// into `out` (cleared first), each ended by a line break, with the map back to `data`; `None`
/// when `data` does not start like a message ([`starts_with_mime_headers`]) or holds no
/// quoted-printable part with an escape or a soft line break in it.
///
/// A part is quoted-printable when its `Content-Transfer-Encoding` header says so; its body
/// runs from the blank line after the header to the next boundary line (`--` and no space)
/// or the end. Escapes with two hex digits (either case) become their byte, `=` and optional
/// spaces before a line break join the lines, and any other `=` is kept.
pub(crate) fn quoted_printable_bodies(data: &[u8], out: &mut Vec<u8>) -> Option<QpMap> {
    out.clear();
    if !starts_with_mime_headers(data) {
        return None;
    }
    let mut map = QpMap {
        points: Vec::new(),
        len: data.len(),
    };
    let (mut changed, mut at) = (false, 0);
    while let Some(h) = find_ascii_ci(&data[at..], b"content-transfer-encoding:") {
        let value = at + h + b"content-transfer-encoding:".len();
        at = value;
        let v = &data[value..];
        let v = &v[v.iter().take_while(|b| matches!(b, b' ' | b'\t')).count()..];
        if v.len() < 16 || !v[..16].eq_ignore_ascii_case(b"quoted-printable") {
            continue;
        }
        // The body: after the blank line that ends the part's headers.
        let Some(blank) = body_start(data, value) else {
            break;
        };
        let end = boundary_after(data, blank);
        map.points.push((out.len(), blank, false));
        changed |= decode_qp(&data[blank..end], blank, out, &mut map);
        if out.last() != Some(&b'\n') {
            out.push(b'\n');
        }
        at = end;
    }
    changed.then_some(map)
}

/// Whether `data` starts with the header block of a MIME message: header lines (`Name:
/// value`, folded lines indented) up to a blank line, within the first 16 KiB, one of them
/// `MIME-Version`, `Content-Type` or `Content-Transfer-Encoding`; an mbox file's `From ` line
/// may come first. Most other files fail at their first line.
fn starts_with_mime_headers(data: &[u8]) -> bool {
    let head = &data[..data.len().min(MAIL_PROBE)];
    let mut lines = head.split(|&b| b == b'\n');
    if head.starts_with(b"From ") {
        lines.next();
    }
    let mut mime = false;
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return mime;
        }
        if matches!(line[0], b' ' | b'\t') {
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            return false;
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-') {
            return false;
        }
        mime |= [
            &b"mime-version"[..],
            b"content-type",
            b"content-transfer-encoding",
        ]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h));
    }
    false
}

/// Where the first blank line at or after `from` ends (the first `\n` followed by `\n` or
/// `\r\n`): one pass, whatever the file's line endings.
fn body_start(data: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = memchr::memchr(b'\n', &data[at..]) {
        let nl = at + i;
        match &data[nl + 1..] {
            [b'\n', ..] => return Some(nl + 2),
            [b'\r', b'\n', ..] => return Some(nl + 3),
            _ => at = nl + 1,
        }
    }
    None
}

/// The start of the first line at or after `from` that ends a MIME body, or the end of
/// `data`: a boundary line (`--`, no space or tab, and something other than dashes: a
/// signature's `-- ` and a `-----` rule are text) or the `From ` line of the next message of
/// an mbox file.
fn boundary_after(data: &[u8], from: usize) -> usize {
    let mut line = from;
    while line < data.len() {
        let end = memchr::memchr(b'\n', &data[line..]).map_or(data.len(), |i| line + i);
        let text = data[line..end]
            .strip_suffix(b"\r")
            .unwrap_or(&data[line..end]);
        let boundary = text.len() > 2
            && text.starts_with(b"--")
            && !text.iter().any(|&b| b == b' ' || b == b'\t')
            && text.iter().any(|&b| b != b'-');
        if boundary || text.starts_with(b"From ") {
            return line;
        }
        line = end + 1;
    }
    data.len()
}

/// Decodes one quoted-printable body (at `base` in the input) onto `out`, adding a map point
/// after each escape and soft line break. Returns whether there was any.
fn decode_qp(body: &[u8], base: usize, out: &mut Vec<u8>, map: &mut QpMap) -> bool {
    let (mut i, mut changed) = (0, false);
    while let Some(e) = memchr::memchr(b'=', &body[i..]) {
        let e = i + e;
        out.extend_from_slice(&body[i..e]);
        let rest = &body[e + 1..];
        let spaces = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let skip = match &rest[spaces..] {
            [b'\r', b'\n', ..] => Some(spaces + 2),
            [b'\n', ..] => Some(spaces + 1),
            _ => None,
        };
        i = if let Some(skip) = skip {
            e + 1 + skip
        } else if let [h, l, ..] = rest {
            match (hex_value(*h), hex_value(*l)) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    e + 3
                }
                _ => {
                    out.push(b'=');
                    i = e + 1;
                    continue;
                }
            }
        } else {
            out.push(b'=');
            i = e + 1;
            continue;
        };
        changed = true;
        map.points.push((out.len(), base + i, skip.is_some()));
    }
    out.extend_from_slice(&body[i..]);
    changed
}
