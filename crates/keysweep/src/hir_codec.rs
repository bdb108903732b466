//! A compact binary form of a parsed pattern (`regex_syntax::hir::Hir`), written by the build
//! script for every built-in rule and read back when a scan first compiles the rule.
//!
//! Compiling a rule used to start by parsing its pattern: lexing the text, building the AST,
//! and translating it, case-insensitive classes folded letter by letter. That was about half
//! of a rule's compile time, and a large tree reaches a hundred or more rules (a pre-commit
//! hook most of its start-up). Rebuilding the same `Hir` from this form takes a walk that
//! calls its constructors, with no parsing or case folding left to do.
//!
//! The build script checks that decoding gives back a `Hir` equal to the parsed one and keeps
//! no encoding for a rule where it would not; such a rule is parsed, as a user rule is.
//!
//! Compiled into the library and included by `build.rs` (next to `src/lead.rs`, whose FNV-1a
//! digest files the stored patterns). Only `regex_syntax` and `std` are used here.
//!
//! The form is a preorder walk, one tag byte per node:
//! - `0` empty;
//! - `1` literal: length (varint), bytes;
//! - `2` byte class / `3` Unicode class: range count (varint), then each range's ends (bytes,
//!   or varint scalar values);
//! - `4` look-around: its `Look::as_repr` (varint);
//! - `5` repetition: min (varint), max + 1 (varint, 0 for none), greedy (byte), sub-node;
//! - `6` capture: index (varint), name length + 1 (varint, 0 for none), name, sub-node;
//! - `7` concatenation / `8` alternation: item count (varint), items.
//!
//! Varints are little-endian base 128.

use regex_syntax::hir::{
    Capture, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind,
    Literal, Look, Repetition,
};

/// A 64-bit FNV-1a digest of a pattern's text and its length: the build script files each
/// stored pattern under it.
pub(crate) fn text_key(text: &str) -> u64 {
    use crate::lead::{fnv1a, FNV_OFFSET};
    fnv1a(
        fnv1a(FNV_OFFSET, text.as_bytes()),
        &(text.len() as u64).to_le_bytes(),
    )
}

/// Appends the encoding of `hir` to `out` (the build script's side; the library's tests use
/// it too).
#[allow(dead_code)]
pub(crate) fn encode(hir: &Hir, out: &mut Vec<u8>) {
    match hir.kind() {
        HirKind::Empty => out.push(0),
        HirKind::Literal(Literal(bytes)) => {
            out.push(1);
            varint(bytes.len() as u64, out);
            out.extend_from_slice(bytes);
        }
        HirKind::Class(Class::Bytes(class)) => {
            out.push(2);
            varint(class.ranges().len() as u64, out);
            for r in class.ranges() {
                out.extend_from_slice(&[r.start(), r.end()]);
            }
        }
        HirKind::Class(Class::Unicode(class)) => {
            out.push(3);
            varint(class.ranges().len() as u64, out);
            for r in class.ranges() {
                varint(u64::from(r.start()), out);
                varint(u64::from(r.end()), out);
            }
        }
        HirKind::Look(look) => {
            out.push(4);
            varint(u64::from(look.as_repr()), out);
        }
        HirKind::Repetition(rep) => {
            out.push(5);
            varint(u64::from(rep.min), out);
            varint(rep.max.map_or(0, |m| u64::from(m) + 1), out);
            out.push(u8::from(rep.greedy));
            encode(&rep.sub, out);
        }
        HirKind::Capture(cap) => {
            out.push(6);
            varint(u64::from(cap.index), out);
            match &cap.name {
                Some(name) => {
                    varint(name.len() as u64 + 1, out);
                    out.extend_from_slice(name.as_bytes());
                }
                None => varint(0, out),
            }
            encode(&cap.sub, out);
        }
        HirKind::Concat(items) | HirKind::Alternation(items) => {
            out.push(if matches!(hir.kind(), HirKind::Concat(_)) {
                7
            } else {
                8
            });
            varint(items.len() as u64, out);
            for item in items {
                encode(item, out);
            }
        }
    }
}

/// The `Hir` encoded at the start of `bytes` (which [`encode`] wrote), or `None` when they
/// are not such an encoding.
pub(crate) fn decode(bytes: &[u8]) -> Option<Hir> {
    let mut at = 0;
    let hir = node(bytes, &mut at, 0)?;
    (at == bytes.len()).then_some(hir)
}

/// Deeper than any built-in pattern nests; a bound on the recursion for corrupt input.
const MAX_DEPTH: usize = 512;

fn node(b: &[u8], at: &mut usize, depth: usize) -> Option<Hir> {
    if depth > MAX_DEPTH {
        return None;
    }
    let tag = *b.get(*at)?;
    *at += 1;
    Some(match tag {
        0 => Hir::empty(),
        1 => {
            let len = usize::try_from(read_varint(b, at)?).ok()?;
            let lit = b.get(*at..at.checked_add(len)?)?;
            *at += len;
            Hir::literal(lit)
        }
        2 => {
            let n = usize::try_from(read_varint(b, at)?).ok()?;
            let pairs = b.get(*at..at.checked_add(n.checked_mul(2)?)?)?;
            *at += pairs.len();
            let ranges = pairs
                .chunks_exact(2)
                .map(|p| ClassBytesRange::new(p[0], p[1]));
            Hir::class(Class::Bytes(ClassBytes::new(ranges)))
        }
        3 => {
            let n = usize::try_from(read_varint(b, at)?).ok()?;
            let mut ranges = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let start = char::from_u32(u32::try_from(read_varint(b, at)?).ok()?)?;
                let end = char::from_u32(u32::try_from(read_varint(b, at)?).ok()?)?;
                ranges.push(ClassUnicodeRange::new(start, end));
            }
            Hir::class(Class::Unicode(ClassUnicode::new(ranges)))
        }
        4 => Hir::look(Look::from_repr(u32::try_from(read_varint(b, at)?).ok()?)?),
        5 => {
            let min = u32::try_from(read_varint(b, at)?).ok()?;
            let max = match read_varint(b, at)? {
                0 => None,
                m => Some(u32::try_from(m - 1).ok()?),
            };
            let greedy = *b.get(*at)? != 0;
            *at += 1;
            let sub = Box::new(node(b, at, depth + 1)?);
            Hir::repetition(Repetition {
                min,
                max,
                greedy,
                sub,
            })
        }
        6 => {
            let index = u32::try_from(read_varint(b, at)?).ok()?;
            let name = match usize::try_from(read_varint(b, at)?).ok()? {
                0 => None,
                n => {
                    let name = b.get(*at..at.checked_add(n - 1)?)?;
                    *at += n - 1;
                    Some(Box::from(std::str::from_utf8(name).ok()?))
                }
            };
            let sub = Box::new(node(b, at, depth + 1)?);
            Hir::capture(Capture { index, name, sub })
        }
        7 | 8 => {
            let n = usize::try_from(read_varint(b, at)?).ok()?;
            let mut items = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                items.push(node(b, at, depth + 1)?);
            }
            if tag == 7 {
                Hir::concat(items)
            } else {
                Hir::alternation(items)
            }
        }
        _ => return None,
    })
}

#[allow(dead_code)]
fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_node_decodes_to_what_was_encoded() {
        for pattern in [
            r"(?i)(?P<key>api[_-]?key)[ \t]{0,3}[:=][ \t]{0,3}['\x22]?(?P<secret>[A-Za-z0-9+/]{32,256}={0,2})\b",
            r"(?m)^(?:IPSec secret|x{2,}?)\s+(\S+)$|\B[^\x00-\x7F]|(?:)",
            r"(?s:.){0,400}?\bnew[ \t]{1,3}Basic\(",
        ] {
            let hir = crate::lead::parse(pattern).unwrap();
            let mut bytes = Vec::new();
            encode(&hir, &mut bytes);
            assert_eq!(decode(&bytes), Some(hir), "{pattern}");
        }
        let unicode = regex_syntax::parse("[α-ω]+ß").unwrap();
        let mut bytes = Vec::new();
        encode(&unicode, &mut bytes);
        assert_eq!(decode(&bytes), Some(unicode));
    }

    #[test]
    fn truncated_or_corrupt_input_decodes_to_none() {
        let hir = crate::lead::parse(r"(?P<secret>ghp_[A-Za-z0-9]{36})").unwrap();
        let mut bytes = Vec::new();
        encode(&hir, &mut bytes);
        for end in 0..bytes.len() {
            assert_eq!(
                decode(&bytes[..end]),
                None,
                "{end} of {} bytes",
                bytes.len()
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
        assert_eq!(decode(&[9]), None);
        // Nesting past the bound is refused rather than followed.
        let deep: Vec<u8> = std::iter::repeat_n([5u8, 0, 0, 1], 600)
            .flatten()
            .chain([0])
            .collect();
        assert_eq!(decode(&deep), None);
    }
}
