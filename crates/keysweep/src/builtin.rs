//! The built-in rule files, parsed at build time (`build.rs`) and embedded as a compact tree
//! of TOML values, which [`decode`] reads back as a tree of [`Val`]s borrowing the embedded
//! strings (the same values parsing the file would give, with no string copied and no map
//! built). Lexing the TOML on every run was a third of a pre-commit scan's start-up; building
//! `toml::Table`s from the tree, then dropping them, was 40 % of loading the rules.
//!
//! Format: a value is a tag byte and its payload. Strings are a u32 length and UTF-8 bytes;
//! integers and floats 8 bytes; booleans one byte; arrays a u32 count and that many values;
//! tables a u32 count and that many (string key, value) pairs. All little-endian.

use crate::rule::Val;

include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));

include!("builtin_format.rs");

/// Decodes one pre-parsed rule file; without `examples`, the rules' `examples` and
/// `negative_examples` are skipped, not decoded (they are 45 % of the bytes, and only checking
/// the rules needs them). The bytes come from this crate's own build script, so malformed
/// input is a bug, reported by a panic that names the offset.
pub(crate) fn decode(bytes: &'static [u8], examples: bool) -> Vec<(&'static str, Val<'static>)> {
    let mut r = Reader {
        bytes,
        at: 0,
        examples,
    };
    match r.value() {
        Val::Table(t) if r.at == bytes.len() => t,
        _ => r.bug(),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    examples: bool,
}

impl<'a> Reader<'a> {
    #[cold]
    fn bug(&self) -> ! {
        panic!(
            "pre-parsed built-in rules are malformed at byte {} (a build script bug)",
            self.at
        )
    }

    fn take<const N: usize>(&mut self) -> [u8; N] {
        match self.bytes.get(self.at..self.at + N) {
            Some(b) => {
                self.at += N;
                b.try_into().unwrap_or_else(|_| self.bug())
            }
            None => self.bug(),
        }
    }

    fn len(&mut self) -> usize {
        u32::from_le_bytes(self.take()) as usize
    }

    fn str(&mut self) -> &'a str {
        let n = self.len();
        let bytes: &'a [u8] = self.bytes;
        let Some(b) = bytes.get(self.at..self.at + n) else {
            self.bug()
        };
        self.at += n;
        match std::str::from_utf8(b) {
            Ok(s) => s,
            Err(_) => self.bug(),
        }
    }

    /// Steps over one value without building it.
    fn skip(&mut self) {
        let [tag] = self.take();
        match tag {
            STRING => {
                let n = self.len();
                self.at += n;
            }
            INTEGER | FLOAT => self.at += 8,
            BOOLEAN => self.at += 1,
            ARRAY => {
                for _ in 0..self.len() {
                    self.skip();
                }
            }
            TABLE => {
                for _ in 0..self.len() {
                    let n = self.len();
                    self.at += n;
                    self.skip();
                }
            }
            _ => self.bug(),
        }
    }

    fn value(&mut self) -> Val<'a> {
        let [tag] = self.take();
        match tag {
            STRING => Val::Str(self.str()),
            INTEGER => Val::Int(i64::from_le_bytes(self.take())),
            FLOAT => Val::Float(f64::from_bits(u64::from_le_bytes(self.take()))),
            BOOLEAN => Val::Bool(self.take::<1>()[0] != 0),
            ARRAY => {
                let n = self.len();
                let mut a = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    a.push(self.value());
                }
                Val::Array(a)
            }
            TABLE => {
                let n = self.len();
                let mut t = Vec::with_capacity(n.min(1 << 10));
                for _ in 0..n {
                    let k = self.str();
                    if !self.examples && matches!(k, "examples" | "negative_examples") {
                        self.skip();
                        continue;
                    }
                    t.push((k, self.value()));
                }
                Val::Table(t)
            }
            _ => self.bug(),
        }
    }
}

#[cfg(test)]
mod tests {
    /// The embedded tree is exactly what parsing the TOML gives, file by file; without
    /// examples, the same less the rules' `examples` and `negative_examples`.
    #[test]
    fn pre_parsed_files_equal_their_toml() {
        assert!(!super::FILES.is_empty());
        for (name, bytes) in super::FILES {
            let path = format!("{}/rules/{name}", env!("CARGO_MANIFEST_DIR"));
            let src = std::fs::read_to_string(&path).unwrap();
            let mut parsed: toml::Table = src.parse().unwrap();
            let decoded = |examples| super::Val::Table(super::decode(bytes, examples)).to_toml();
            assert_eq!(decoded(true), toml::Value::Table(parsed.clone()), "{name}");
            let Some(toml::Value::Array(rules)) = parsed.get_mut("rule") else {
                panic!("{name}: no [[rule]]")
            };
            for rule in rules {
                let toml::Value::Table(rule) = rule else {
                    panic!("{name}: a rule is not a table")
                };
                assert!(
                    rule.remove("examples").is_some(),
                    "{name}: rule without examples"
                );
                rule.remove("negative_examples");
            }
            assert_eq!(decoded(false), toml::Value::Table(parsed), "{name}");
        }
    }
}
