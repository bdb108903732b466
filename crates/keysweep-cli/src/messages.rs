//! Every message keysweep prints on stderr goes through here: one prefix per kind, names made
//! terminal-safe, never a secret's bytes.

use std::io::Write;

use keysweep_report::terminal_safe;
use keysweep_source::{Problem, ProblemKind, Severity};

pub use keysweep_source::io_reason;

/// `keysweep: error: …`
pub fn error(message: &str) {
    line("error", message);
}

/// `keysweep: warning: …`
pub fn warning(message: &str) {
    line("warning", message);
}

/// `keysweep: note: …`
pub fn note(message: &str) {
    line("note", message);
}

fn line(kind: &str, message: &str) {
    // One write per line, so lines from several threads never interleave.
    let text = format!("keysweep: {kind}: {}\n", terminal_safe(message));
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Prints a problem a job reported.
pub fn problem(p: &Problem) {
    let text = match (p.kind, &p.path) {
        (ProblemKind::Unreadable, Some(path)) => format!("cannot read {path}: {}", p.message),
        // Their messages start with the entry's path inside the archive.
        (ProblemKind::Archive | ProblemKind::PathTrick, _) => p.message.clone(),
        _ => p.to_string(),
    };
    match p.severity {
        Severity::Error => error(&text),
        Severity::Warning => warning(&text),
        Severity::Note => note(&text),
    }
}

/// A summary line (printed as is, after the findings).
pub fn summary(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", terminal_safe(text));
}
