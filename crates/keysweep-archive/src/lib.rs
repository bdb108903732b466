//! Archives for keysweep's file walker: zip (jar, war, whl, apk, nupkg, ...), tar, tar.gz and
//! gz, recognised by their magic bytes, expanded in memory (never onto disk) and nested up to a
//! depth, each entry named `outer.jar!/inner/path`. Its own crate so that the fuzz target of
//! this parser of untrusted bytes builds without the rest of keysweep.
//!
//! Every limit is explicit and reported when hit, never a crash or an unbounded allocation:
//! nesting depth, entries per archive, total bytes inflated from one archive on disk, bytes per
//! entry, and the inflation ratio of an entry (a zip bomb inflates a kilobyte into gigabytes).
//! Entry names that climb out of the archive (`../`) or are absolute are reported and shown
//! cleaned; since nothing is extracted, they cannot write anywhere.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::io::{Cursor, Read};

/// Limits on what one archive on disk may expand to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Archives inside archives are opened up to this depth (1: only the file itself).
    pub depth: usize,
    /// Entries read from one archive on disk, nested ones included.
    pub entries: usize,
    /// Bytes inflated from one archive on disk, nested ones included.
    pub total: u64,
    /// Bytes of one entry (larger entries are skipped, like large files).
    pub entry: u64,
    /// Inflated bytes per compressed byte of one entry, checked once an entry passes
    /// [`RATIO_FLOOR`] bytes.
    pub ratio: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            depth: 3,
            entries: 100_000,
            total: 1 << 30,
            entry: 256 << 20,
            ratio: 200,
        }
    }
}

/// Entries smaller than this are never judged by their ratio (tiny files compress well).
pub const RATIO_FLOOR: u64 = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// An archive format, as recognised by [`kind`].
pub enum Kind {
    /// Zip and everything built on it (jar, war, ear, whl, apk, nupkg, docx, ...).
    Zip,
    /// A tar archive (ustar, or old v7 by its header checksum).
    Tar,
    /// A gzip stream (a `.tar.gz` is walked as a tar).
    Gzip,
}

/// What `data` is, by its magic bytes.
pub fn kind(data: &[u8]) -> Option<Kind> {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if data.starts_with(&[0x1f, 0x8b]) {
        Some(Kind::Gzip)
    } else if is_tar_header(data) {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// Receives what an archive holds.
pub trait Visitor {
    /// A regular file inside an archive that is not itself an archive to open: its display
    /// path (`outer.jar!/inner/path`), the chain of entry names leading to it from the
    /// outermost archive (cleaned), and its bytes.
    fn entry(&mut self, path: &str, entries: &[String], data: &[u8]);
    /// A limit was hit or something could not be read, so part of the archive was not
    /// scanned; the rest goes on when it can.
    fn problem(&mut self, message: String);
    /// Something suspicious that did not stop the scan (an entry name climbing out of the
    /// archive).
    fn warning(&mut self, message: String);
}

/// Walks one archive on disk (`name`, its bytes `data`), handing `visitor` each file inside.
///
/// ```
/// use keysweep_archive::{walk, Limits, Visitor};
///
/// #[derive(Default)]
/// struct Names(Vec<String>);
/// impl Visitor for Names {
///     fn entry(&mut self, path: &str, _entries: &[String], _data: &[u8]) {
///         self.0.push(path.to_string());
///     }
///     fn problem(&mut self, message: String) { panic!("{message}") }
///     fn warning(&mut self, message: String) { panic!("{message}") }
/// }
///
/// // A gzip stream of one file holding "anykey\n" (what `gzip app.env` writes).
/// let gz = [
///     31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 75, 204, 171, 204, 78, 173, 228, 2, 0, 211, 38, 130,
///     202, 7, 0, 0, 0,
/// ];
/// let mut names = Names::default();
/// walk("app.env.gz", &gz, Limits::default(), &mut names);
/// assert_eq!(names.0, ["app.env.gz!/app.env"]);
/// ```
pub fn walk(name: &str, data: &[u8], limits: Limits, visitor: &mut dyn Visitor) {
    let mut budget = Budget {
        limits,
        entries: 0,
        total: 0,
        stopped: false,
        chain: Vec::new(),
    };
    open(name, data, 1, &mut budget, visitor);
}

struct Budget {
    /// The entry names from the outermost archive to the one being read.
    chain: Vec<String>,
    limits: Limits,
    entries: usize,
    total: u64,
    /// A whole-archive limit was hit: read nothing more.
    stopped: bool,
}

impl Budget {
    /// Counts one more entry; false (and reported once) when over the limit.
    fn entry(&mut self, archive: &str, visitor: &mut dyn Visitor) -> bool {
        if self.stopped {
            return false;
        }
        self.entries += 1;
        if self.entries > self.limits.entries {
            visitor.problem(format!(
                "{archive}: more than {} entries; the rest of the archive is not scanned",
                self.limits.entries
            ));
            self.stopped = true;
            return false;
        }
        true
    }
}

fn open(name: &str, data: &[u8], depth: usize, budget: &mut Budget, visitor: &mut dyn Visitor) {
    match kind(data) {
        Some(Kind::Zip) => zip(name, data, depth, budget, visitor),
        Some(Kind::Tar) => tar(name, data, depth, budget, visitor),
        Some(Kind::Gzip) => gzip(name, data, depth, budget, visitor),
        None => visitor.entry(name, &budget.chain, data),
    }
}

/// An entry (`entry`: its cleaned name, `path`: its display path): a nested archive is opened
/// (depth permitting), anything else visited.
fn member(
    entry: String,
    path: String,
    data: &[u8],
    depth: usize,
    budget: &mut Budget,
    visitor: &mut dyn Visitor,
) {
    budget.chain.push(entry);
    if kind(data).is_some() {
        if depth < budget.limits.depth {
            open(&path, data, depth + 1, budget, visitor);
        } else {
            visitor.problem(format!(
                "{path}: archive nested deeper than {} levels, not opened",
                budget.limits.depth
            ));
        }
    } else {
        visitor.entry(&path, &budget.chain, data);
    }
    budget.chain.pop();
}

/// Reads an entry within the limits. `compressed` is its compressed size when known.
///
/// Whatever was inflated before a limit was hit or the data broke off is returned to be
/// scanned, and the problem says how much that was: a secret at the start of an entry padded
/// to look like a zip bomb, or at the start of a truncated `.gz`, is still found.
fn read_entry(
    archive: &str,
    entry: &str,
    reader: &mut dyn Read,
    compressed: Option<u64>,
    budget: &mut Budget,
    visitor: &mut dyn Visitor,
) -> Option<Vec<u8>> {
    let limits = budget.limits;
    let cap = limits.entry.min(limits.total.saturating_sub(budget.total));
    let mut data = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                visitor.problem(format!(
                    "{archive}!/{entry}: cannot read past byte {}: {e}; what came before is scanned",
                    data.len()
                ));
                break;
            }
        };
        let room = cap.saturating_sub(data.len() as u64) as usize;
        data.extend_from_slice(&chunk[..n.min(room)]);
        let len = data.len() as u64;
        if let Some(c) = compressed {
            if len > RATIO_FLOOR && len > c.max(1).saturating_mul(limits.ratio) {
                visitor.problem(format!(
                    "{archive}!/{entry}: inflates more than {}:1 (a zip bomb?); only its first {} are scanned",
                    limits.ratio,
                    human(len)
                ));
                break;
            }
        }
        if n > room {
            if cap < limits.entry {
                visitor.problem(format!(
                    "{archive}: more than {} inflated; the rest of the archive is not scanned (the first {} of {entry} are)",
                    human(limits.total),
                    human(len)
                ));
                budget.stopped = true;
            } else {
                visitor.problem(format!(
                    "{archive}!/{entry}: larger than {}; only its first {} are scanned",
                    human(limits.entry),
                    human(len)
                ));
            }
            break;
        }
    }
    budget.total += data.len() as u64;
    (!data.is_empty()).then_some(data)
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// The name shown for an entry: `..`, `.` and empty components and leading `/` removed, so
/// that `../../etc/passwd` cannot pose as a path outside the archive. Returns the cleaned name
/// and whether it had to be cleaned.
pub fn clean_name(raw: &str) -> (String, bool) {
    let raw = raw.replace('\\', "/");
    let parts: Vec<&str> = raw
        .split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .collect();
    let cleaned = parts.join("/");
    let tricky = raw.starts_with('/')
        || raw.split('/').any(|p| p == "..")
        || raw.as_bytes().get(1) == Some(&b':');
    (cleaned, tricky)
}

/// The entry's cleaned name (a warning when it had to be cleaned) and its display path.
fn entry_path(archive: &str, raw: &str, visitor: &mut dyn Visitor) -> (String, String) {
    let (cleaned, tricky) = clean_name(raw);
    if tricky {
        visitor.warning(format!(
            "{archive}: entry {raw:?} points outside the archive; scanned as {cleaned:?} (nothing is extracted)"
        ));
    }
    let path = format!("{archive}!/{cleaned}");
    (cleaned, path)
}

fn zip(name: &str, data: &[u8], depth: usize, budget: &mut Budget, visitor: &mut dyn Visitor) {
    let mut archive = match zip::ZipArchive::new(Cursor::new(data)) {
        Ok(a) => a,
        Err(e) => {
            visitor.problem(format!("{name}: not a readable zip archive: {e}"));
            return;
        }
    };
    for i in 0..archive.len() {
        if !budget.entry(name, visitor) {
            return;
        }
        let mut file = match archive.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                visitor.problem(format!("{name}: entry {}: cannot read: {e}", i + 1));
                continue;
            }
        };
        if !file.is_file() {
            continue;
        }
        let raw = match file.name() {
            Ok(n) => n.into_owned(),
            Err(_) => String::from_utf8_lossy(file.name_raw()).into_owned(),
        };
        let (entry_name, path) = entry_path(name, &raw, visitor);
        let compressed = Some(file.compressed_size());
        if let Some(bytes) = read_entry(name, &entry_name, &mut file, compressed, budget, visitor) {
            member(entry_name, path, &bytes, depth, budget, visitor);
        }
        if budget.stopped {
            return;
        }
    }
}

fn tar(name: &str, data: &[u8], depth: usize, budget: &mut Budget, visitor: &mut dyn Visitor) {
    tar_from(name, Cursor::new(data), None, depth, budget, visitor);
}

/// A tar stream; `compressed` is the size of the gzip it comes out of, for the ratio check.
fn tar_from(
    name: &str,
    reader: impl Read,
    compressed: Option<u64>,
    depth: usize,
    budget: &mut Budget,
    visitor: &mut dyn Visitor,
) {
    let mut archive = tar::Archive::new(reader);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            visitor.problem(format!("{name}: not a readable tar archive: {e}"));
            return;
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                visitor.problem(format!("{name}: cannot read the next entry: {e}"));
                return; // a broken tar stream cannot be resynchronised
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        if !budget.entry(name, visitor) {
            return;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let (entry_name, path) = entry_path(name, &raw, visitor);
        // The whole gzip stream's size bounds every entry's ratio.
        if let Some(bytes) = read_entry(name, &entry_name, &mut entry, compressed, budget, visitor)
        {
            member(entry_name, path, &bytes, depth, budget, visitor);
        }
        if budget.stopped {
            return;
        }
    }
}

/// A gzip stream: a tar inside (`.tar.gz`, `.tgz`) is walked as a stream; anything else is one
/// member named after the file without `.gz`.
fn gzip(name: &str, data: &[u8], depth: usize, budget: &mut Budget, visitor: &mut dyn Visitor) {
    let mut head = [0u8; 512];
    let mut probe = flate2::read::MultiGzDecoder::new(data);
    let mut got = 0;
    while got < head.len() {
        match probe.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if got == 0 => {
                visitor.problem(format!("{name}: not a readable gzip stream: {e}"));
                return;
            }
            // Broken off early: what did inflate is read (and reported) below.
            Err(_) => break,
        }
    }
    let compressed = Some(data.len() as u64);
    if is_tar_header(&head[..got]) {
        let reader = flate2::read::MultiGzDecoder::new(data);
        tar_from(name, reader, compressed, depth, budget, visitor);
        return;
    }
    if !budget.entry(name, visitor) {
        return;
    }
    let inner = name
        .rsplit('/')
        .next()
        .unwrap_or(name)
        .strip_suffix(".gz")
        .unwrap_or("content")
        .to_string();
    let mut reader = flate2::read::MultiGzDecoder::new(data);
    if let Some(bytes) = read_entry(name, &inner, &mut reader, compressed, budget, visitor) {
        let path = format!("{name}!/{inner}");
        member(inner, path, &bytes, depth, budget, visitor);
    }
}

/// Whether `block` starts with a tar header: the `ustar` magic, or (old tar) a valid header
/// checksum.
fn is_tar_header(data: &[u8]) -> bool {
    let Some(block) = data.get(..512) else {
        return false;
    };
    if &block[257..262] == b"ustar" {
        return true;
    }
    // Every file is asked this: the octal checksum field rules out nearly all of them first.
    let Some(stored) = std::str::from_utf8(&block[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok())
    else {
        return false;
    };
    // The checksum counts its own field as spaces.
    let sum: u32 = block[..148]
        .iter()
        .chain(&block[156..])
        .map(|&b| u32::from(b))
        .sum::<u32>()
        + 8 * 32;
    stored == sum && block[0] != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_climb_out() {
        assert_eq!(
            clean_name("config/app.yml"),
            ("config/app.yml".into(), false)
        );
        assert_eq!(clean_name("../../etc/passwd"), ("etc/passwd".into(), true));
        assert_eq!(clean_name("/abs/path"), ("abs/path".into(), true));
        assert_eq!(clean_name("a/./b//c"), ("a/b/c".into(), false));
        assert_eq!(
            clean_name("C:\\windows\\x.ini"),
            ("C:/windows/x.ini".into(), true)
        );
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(kind(b"PK\x03\x04rest"), Some(Kind::Zip));
        assert_eq!(kind(&[0x1f, 0x8b, 8, 0]), Some(Kind::Gzip));
        assert_eq!(kind(b"plain text"), None);
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(kind(&tar), Some(Kind::Tar));
        // An old (v7) tar has no magic: its header checksum tells.
        let mut old = tar::Header::new_old();
        old.set_path("a.txt").unwrap();
        old.set_size(3);
        old.set_cksum();
        let mut data = old.as_bytes().to_vec();
        data.extend_from_slice(b"abc");
        assert_eq!(kind(&data), Some(Kind::Tar));
        data[0] ^= 1;
        assert_eq!(kind(&data), None);
    }
}
