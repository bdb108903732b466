//! Reading saved scan results (JSON Lines, or a JSON array) back into [`Record`]s.

use std::io::{self, BufRead, BufReader, Read};

use crate::record::Record;

/// Reads saved results from `reader`: JSON Lines (`--format jsonl`), or one JSON array
/// (`--format json`). Each record goes to `each`; a line or element that is not a finding
/// goes to `bad` as a message with its line (or element) number, never its content (it may
/// hold a secret), and the rest is still read. `name` names the input in messages. Fails only
/// when the input cannot be read (or, for an array, is not JSON).
///
/// ```
/// let text = "{\"not\":\"a finding\"}\n\n";
/// let mut bad = Vec::new();
/// keysweep_report::read_records(text.as_bytes(), "results.jsonl", |_| {}, |m| bad.push(m)).unwrap();
/// assert_eq!(bad.len(), 1);
/// assert!(bad[0].starts_with("results.jsonl:1: "), "{}", bad[0]);
/// ```
pub fn read_records(
    reader: impl Read,
    name: &str,
    mut each: impl FnMut(Record),
    mut bad: impl FnMut(String),
) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let starts_array = loop {
        let buf = reader.fill_buf()?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => break buf[i] == b'[',
            None if buf.is_empty() => return Ok(()),
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    if starts_array {
        let rows: Vec<serde_json::Value> = serde_json::from_reader(reader).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a JSON array of findings: {}", safe_json_error(&e)),
            )
        })?;
        for (i, v) in rows.into_iter().enumerate() {
            match serde_json::from_value::<Record>(v) {
                Ok(r) => each(r),
                Err(e) => bad(format!(
                    "{name}: finding {}: {}; skipped",
                    i + 1,
                    safe_json_error(&e)
                )),
            }
        }
        return Ok(());
    }
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Record>(&line) {
            Ok(r) => each(r),
            Err(e) => bad(format!(
                "{name}:{number}: {}; line skipped",
                safe_json_error(&e)
            )),
        }
    }
}

/// A JSON error without any quoted input (serde quotes wrongly typed values, which could be a
/// secret).
pub fn safe_json_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match e.classify() {
        serde_json::error::Category::Data if message.starts_with("missing field") => message
            .split(" at line")
            .next()
            .unwrap_or(&message)
            .to_string(),
        serde_json::error::Category::Data => {
            format!(
                "not a keysweep finding (a field has the wrong type or value, column {})",
                e.column()
            )
        }
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("not valid JSON (column {})", e.column())
        }
        serde_json::error::Category::Io => "read error".into(),
    }
}
