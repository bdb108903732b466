//! `keysweep inventory`: one entry per distinct secret across saved scan results and
//! repositories scanned now.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;

use serde_json::Value;

use crate::codeowners::{self, CodeOwners};
use crate::inventory::{self, Inventory, Row};
use crate::output::{self, Report};
use crate::{InventoryArgs, InventoryFormat, EXIT_ERROR};

pub fn run(mut args: InventoryArgs) -> Result<u8, String> {
    let scan_now = !args.input.paths.is_empty();
    if args.results.is_empty() && !scan_now {
        return Err("nothing to inventory: give saved results (--results FILE), paths or repositories to scan (--git, --repos-from FILE)".into());
    }
    if args.input.changes() {
        return Err("inventory scans working trees or, with --git, history; not --staged, --unstaged or --untracked".into());
    }
    let as_of = args.as_of.unwrap_or_else(inventory::today);
    let mut inv = Inventory::new(args.max_locations.max(1));
    let mut problems = 0usize;

    // A file that cannot be read is reported and the others are still used.
    for file in &args.results {
        match read_results(file, &mut inv) {
            Ok(bad_lines) => problems += bad_lines,
            Err(e) => {
                eprintln!("keysweep: error: {e}");
                problems += 1;
            }
        }
    }
    if scan_now {
        let setup = crate::cmd_scan::prepare(&args.input)?;
        let progress = !args.no_progress && io::stderr().is_terminal();
        let collected = crate::cmd_scan::collect(&args.input, &setup, progress)?;
        if collected.errors {
            problems += 1;
        }
        let report = Report {
            scanner: &setup.scanner,
            files: &collected.files,
            reveal: false,
            summary: String::new(),
        };
        for value in output::json_rows(&report) {
            let row: Row = serde_json::from_value(value)
                .map_err(|e| format!("internal error: scan output does not parse: {e}"))?;
            inv.add(row)
                .map_err(|e| format!("internal error: scan output rejected: {e}"))?;
        }
        // Scanning the paths is done; free them before the inventory is built.
        args.input.paths.clear();
    }

    let mut doc = inv.finish(as_of, &mut read_codeowners);
    let body = match args.format {
        InventoryFormat::Json => {
            serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n"
        }
        InventoryFormat::Csv => inventory::csv(&doc),
        InventoryFormat::Html => inventory::html(&mut doc),
    };
    match &args.output {
        Some(path) => crate::baseline::write_atomically(path, body.as_bytes())
            .map_err(|e| format!("cannot write {}: {}", path.display(), output::io_reason(&e)))?,
        None => {
            let mut out = io::stdout().lock();
            match out.write_all(body.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    return Err(format!("cannot write output: {}", output::io_reason(&e)))
                }
                _ => {}
            }
        }
    }
    if !args.quiet {
        let sum = &doc.summary;
        eprintln!(
            "inventory: {} secret(s) ({} at HEAD, {} history only) in {} repositor{} from {} finding(s){}{}",
            sum.secrets,
            sum.present_at_head,
            sum.history_only,
            sum.repositories,
            if sum.repositories == 1 { "y" } else { "ies" },
            sum.findings_read,
            if sum.suppressed_skipped > 0 {
                format!("; {} suppressed finding(s) left out", sum.suppressed_skipped)
            } else {
                String::new()
            },
            if problems > 0 {
                format!("; {problems} problem(s) reported above")
            } else {
                String::new()
            },
        );
    }
    Ok(if problems > 0 { EXIT_ERROR } else { 0 })
}

/// Reads one results file (JSON Lines, or a JSON array as `--format json` writes) into the
/// inventory. A line that is not a finding is reported with its line number and skipped; the
/// message never quotes the line (it may hold a secret). Returns the number of such lines.
fn read_results(path: &Path, inv: &mut Inventory) -> Result<usize, String> {
    let name = if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(path)
                .map_err(|e| format!("cannot read {name}: {}", output::io_reason(&e)))?,
        )
    };
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let starts_array = loop {
        let buf = reader
            .fill_buf()
            .map_err(|e| format!("cannot read {name}: {}", output::io_reason(&e)))?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let array = buf[i] == b'[';
                break array;
            }
            None if buf.is_empty() => return Ok(0),
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    let mut bad = 0;
    let mut report = |what: String| {
        eprintln!("keysweep: error: {what}");
        bad += 1;
    };
    if starts_array {
        let rows: Vec<Value> = serde_json::from_reader(reader)
            .map_err(|e| format!("{name}: not a JSON array of findings: {}", safe(&e)))?;
        for (i, v) in rows.into_iter().enumerate() {
            match serde_json::from_value::<Row>(v) {
                Ok(row) => {
                    if let Err(e) = inv.add(row) {
                        report(format!("{name}: finding {}: {e}; skipped", i + 1));
                    }
                }
                Err(e) => report(format!("{name}: finding {}: {}; skipped", i + 1, safe(&e))),
            }
        }
    } else {
        let mut line = Vec::new();
        let mut number = 0usize;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| format!("cannot read {name}: {}", output::io_reason(&e)))?;
            if n == 0 {
                break;
            }
            number += 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Row>(&line) {
                Ok(row) => {
                    if let Err(e) = inv.add(row) {
                        report(format!("{name}:{number}: {e}; line skipped"));
                    }
                }
                Err(e) => report(format!("{name}:{number}: {}; line skipped", safe(&e))),
            }
        }
    }
    Ok(bad)
}

/// A JSON error without any quoted input (serde quotes wrongly typed values, which could be
/// a secret).
fn safe(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match e.classify() {
        serde_json::error::Category::Data if message.starts_with("missing field") => message
            .split(" at line")
            .next()
            .unwrap_or(&message)
            .to_string(),
        serde_json::error::Category::Data => {
            format!(
                "not a keysweep finding (a field has the wrong type, column {})",
                e.column()
            )
        }
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("not valid JSON (column {})", e.column())
        }
        serde_json::error::Category::Io => "read error".into(),
    }
}

/// The CODEOWNERS of the repository at `root`: from the working tree, else from HEAD.
fn read_codeowners(root: &Path) -> Option<CodeOwners> {
    for rel in codeowners::LOCATIONS {
        let text = std::fs::read(root.join(rel))
            .ok()
            .or_else(|| keysweep_git::read_head_file(root, rel));
        if let Some(text) = text {
            return Some(CodeOwners::parse(&String::from_utf8_lossy(&text)));
        }
    }
    None
}
