//! The little BSON that MongoDB authentication needs: documents of strings, numbers, booleans,
//! binary data and nested documents; other types are read over (their size is known) and kept
//! as [`Value::Other`].

/// Documents nested deeper than this are refused (a server's reply is untrusted input).
const MAX_DEPTH: usize = 32;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Double(f64),
    String(String),
    Document(Doc),
    Array(Doc),
    /// Subtype and bytes.
    Binary(u8, Vec<u8>),
    Bool(bool),
    Null,
    Int32(i32),
    Int64(i64),
    /// A type this module reads over without keeping, by its BSON type byte.
    Other(u8),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Doc(pub(crate) Vec<(String, Value)>);

impl Doc {
    pub(crate) fn new() -> Doc {
        Doc(Vec::new())
    }

    pub(crate) fn with(mut self, key: &str, value: Value) -> Doc {
        self.0.push((key.to_string(), value));
        self
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn get_number(&self, key: &str) -> Option<f64> {
        match *self.get(key)? {
            Value::Double(d) => Some(d),
            Value::Int32(i) => Some(i as f64),
            Value::Int64(i) => Some(i as f64),
            Value::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }

    pub(crate) fn get_binary(&self, key: &str) -> Option<&[u8]> {
        match self.get(key)? {
            Value::Binary(_, b) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = vec![0; 4];
        for (key, value) in &self.0 {
            let (tag, body): (u8, Vec<u8>) = match value {
                Value::Double(d) => (0x01, d.to_le_bytes().to_vec()),
                Value::String(s) => (0x02, string(s)),
                Value::Document(d) => (0x03, d.encode()),
                Value::Array(d) => (0x04, d.encode()),
                Value::Binary(sub, b) => {
                    let mut v = (b.len() as i32).to_le_bytes().to_vec();
                    v.push(*sub);
                    v.extend_from_slice(b);
                    (0x05, v)
                }
                Value::Bool(b) => (0x08, vec![*b as u8]),
                Value::Null => (0x0A, vec![]),
                Value::Int32(i) => (0x10, i.to_le_bytes().to_vec()),
                Value::Int64(i) => (0x12, i.to_le_bytes().to_vec()),
                Value::Other(_) => continue, // never built by this crate
            };
            out.push(tag);
            out.extend_from_slice(key.as_bytes());
            out.push(0);
            out.extend_from_slice(&body);
        }
        out.push(0);
        let len = (out.len() as i32).to_le_bytes();
        out[..4].copy_from_slice(&len);
        out
    }

    /// Decodes one document that fills `bytes` exactly.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Doc, String> {
        let mut r = Reader {
            data: bytes,
            pos: 0,
        };
        let doc = r.document(0)?;
        if r.pos != bytes.len() {
            return Err("BSON: bytes after the document".into());
        }
        Ok(doc)
    }
}

fn string(s: &str) -> Vec<u8> {
    let mut v = ((s.len() + 1) as i32).to_le_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| format!("BSON: truncated at byte {}", self.pos))?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn len(&mut self) -> Result<usize, String> {
        let at = self.pos;
        usize::try_from(self.i32()?).map_err(|_| format!("BSON: negative length at byte {at}"))
    }

    fn cstring(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("BSON: unterminated name at byte {}", self.pos))?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.len()?;
        let b = self.take(n)?;
        match b.split_last() {
            Some((0, s)) => Ok(String::from_utf8_lossy(s).into_owned()),
            _ => Err(format!(
                "BSON: string not NUL-terminated before byte {}",
                self.pos
            )),
        }
    }

    fn document(&mut self, depth: usize) -> Result<Doc, String> {
        if depth > MAX_DEPTH {
            return Err("BSON: documents nested too deep".into());
        }
        let start = self.pos;
        let len = self.len()?;
        if len < 5 || start + len > self.data.len() {
            return Err(format!(
                "BSON: document length {len} at byte {start} does not fit"
            ));
        }
        let end = start + len;
        let mut doc = Doc::new();
        loop {
            let tag = self.take(1)?[0];
            if tag == 0 {
                break;
            }
            let key = self.cstring()?;
            let value = match tag {
                0x01 => Value::Double(f64::from_le_bytes(
                    self.take(8)?.try_into().expect("8 bytes"),
                )),
                0x02 => Value::String(self.string()?),
                0x03 => Value::Document(self.document(depth + 1)?),
                0x04 => Value::Array(self.document(depth + 1)?),
                0x05 => {
                    let n = self.len()?;
                    let sub = self.take(1)?[0];
                    Value::Binary(sub, self.take(n)?.to_vec())
                }
                0x08 => Value::Bool(self.take(1)?[0] != 0),
                0x0A => Value::Null,
                0x10 => Value::Int32(self.i32()?),
                0x12 => Value::Int64(i64::from_le_bytes(
                    self.take(8)?.try_into().expect("8 bytes"),
                )),
                0x06 | 0x7F | 0xFF => Value::Other(tag), // undefined, max key, min key
                0x07 => self.take(12).map(|_| Value::Other(tag))?, // ObjectId
                0x09 | 0x11 => self.take(8).map(|_| Value::Other(tag))?, // datetime, timestamp
                0x13 => self.take(16).map(|_| Value::Other(tag))?, // decimal128
                0x0D | 0x0E => self.string().map(|_| Value::Other(tag))?, // code, symbol
                0x0B => {
                    self.cstring()?;
                    self.cstring()?;
                    Value::Other(tag)
                }
                0x0C => {
                    self.string()?;
                    self.take(12)?;
                    Value::Other(tag)
                }
                0x0F => {
                    let n = self.len()?;
                    self.take(n.saturating_sub(4))?;
                    Value::Other(tag)
                }
                other => {
                    return Err(format!(
                        "BSON: unknown type 0x{other:02x} for field {key:?}"
                    ))
                }
            };
            doc.0.push((key, value));
            if self.pos > end {
                return Err(format!(
                    "BSON: a field overruns its document at byte {start}"
                ));
            }
        }
        if self.pos != end {
            return Err(format!(
                "BSON: document at byte {start} ends at {}, not {end}",
                self.pos
            ));
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of bsonspec.org.
    #[test]
    fn spec_examples() {
        let hello = b"\x16\x00\x00\x00\x02hello\x00\x06\x00\x00\x00world\x00\x00";
        let doc = Doc::new().with("hello", Value::String("world".into()));
        assert_eq!(doc.encode(), hello);
        assert_eq!(Doc::decode(hello).unwrap(), doc);

        let array = b"\x31\x00\x00\x00\x04BSON\x00\x26\x00\x00\x00\x020\x00\x08\x00\x00\x00awesome\x00\x011\x00\x33\x33\x33\x33\x33\x33\x14\x40\x102\x00\xc2\x07\x00\x00\x00\x00";
        let doc = Doc::decode(array).unwrap();
        let Some(Value::Array(items)) = doc.get("BSON") else {
            panic!("{doc:?}")
        };
        assert_eq!(items.get_str("0"), Some("awesome"));
        assert_eq!(items.get_number("1"), Some(5.05));
        assert_eq!(items.get_number("2"), Some(1986.0));
        assert_eq!(doc.encode(), array);
    }

    #[test]
    fn round_trip_and_skipped_types() {
        let doc = Doc::new()
            .with("saslStart", Value::Int32(1))
            .with("payload", Value::Binary(0, b"n,,n=u,r=abc".to_vec()))
            .with(
                "options",
                Value::Document(Doc::new().with("skipEmptyExchange", Value::Bool(true))),
            )
            .with("big", Value::Int64(-5))
            .with("none", Value::Null);
        assert_eq!(Doc::decode(&doc.encode()).unwrap(), doc);

        // An ObjectId and a timestamp among the fields are read over.
        let mut raw = Doc::new().with("ok", Value::Double(1.0)).encode();
        raw.pop();
        raw.extend_from_slice(b"\x07_id\x00");
        raw.extend_from_slice(&[7; 12]);
        raw.extend_from_slice(b"\x11ts\x00");
        raw.extend_from_slice(&[1; 8]);
        raw.push(0);
        let len = (raw.len() as i32).to_le_bytes();
        raw[..4].copy_from_slice(&len);
        let doc = Doc::decode(&raw).unwrap();
        assert_eq!(doc.get_number("ok"), Some(1.0));
        assert_eq!(doc.get("_id"), Some(&Value::Other(0x07)));
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        let good = Doc::new()
            .with("a", Value::String("bc".into()))
            .with(
                "d",
                Value::Document(Doc::new().with("e", Value::Binary(0, vec![1, 2]))),
            )
            .encode();
        for n in 0..good.len() {
            assert!(Doc::decode(&good[..n]).is_err(), "truncated at {n}");
        }
        for i in 0..good.len() {
            for b in [0x00, 0x7f, 0xff] {
                let mut bad = good.clone();
                bad[i] = b;
                let _ = Doc::decode(&bad);
            }
        }
        let mut deep = Doc::new();
        for _ in 0..40 {
            deep = Doc::new().with("x", Value::Document(deep));
        }
        assert!(Doc::decode(&deep.encode()).unwrap_err().contains("deep"));
    }
}
