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

use std::io::{BufRead, Cursor, Read};

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
    /// Every entry of the outermost tar of a [`walk_stream`] (files, directories, links),
    /// by its cleaned name, before its data is read: for callers to whom names matter on
    /// their own (a container layer's whiteouts, `.wh.NAME`). Nothing by default.
    fn listed(&mut self, _name: &str) {}
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
        list: false,
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
    /// Tell the visitor every name of the outermost tar ([`Visitor::listed`]).
    list: bool,
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

/// How a stream given to [`walk_stream`] is compressed, by its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (possibly several members).
    Gzip,
    /// Zstandard (possibly several frames).
    Zstd,
}

impl Compression {
    /// The compression of a stream starting with `head`.
    pub fn of(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// `gzip`, `zstd` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Walks a tar stream read once from `reader` (plain, gzip or zstd, told by its magic bytes),
/// never holding more than one entry in memory: a container image layer. `compressed` is the
/// stream's size on disk when known. Returns the compression found.
///
/// The limits apply as to an archive on disk, and also to every byte inflated from the
/// stream, entries skipped or not: once the stream inflates past [`Limits::total`], or past
/// [`Limits::ratio`] times `compressed` (a layer bomb), reading stops with a problem that says
/// so; everything before was scanned. A stream that breaks off or is damaged is reported the
/// same way.
///
/// ```
/// use keysweep_archive::{walk_stream, Compression, Limits, Visitor};
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
/// let mut tar = tar::Builder::new(Vec::new());
/// let mut header = tar::Header::new_gnu();
/// header.set_size(7);
/// tar.append_data(&mut header, "etc/app.env", &b"anykey\n"[..])?;
/// let layer = tar.into_inner()?;
///
/// let mut names = Names::default();
/// let found = walk_stream("layer", &mut &layer[..], None, Limits::default(), &mut names);
/// assert_eq!(found, Compression::None);
/// assert_eq!(names.0, ["layer!/etc/app.env"]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn walk_stream(
    name: &str,
    reader: &mut dyn Read,
    compressed: Option<u64>,
    limits: Limits,
    visitor: &mut dyn Visitor,
) -> Compression {
    let mut budget = Budget {
        limits,
        entries: 0,
        total: 0,
        stopped: false,
        chain: Vec::new(),
        list: true,
    };
    let mut reader = std::io::BufReader::with_capacity(256 << 10, reader);
    let head = match reader.fill_buf() {
        Ok(h) => h,
        Err(e) => {
            visitor.problem(format!("{name}: cannot read: {e}"));
            return Compression::None;
        }
    };
    let compression = Compression::of(head);
    let inflated: Box<dyn Read + '_> = match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Zstd => match ruzstd::decoding::StreamingDecoder::new(reader) {
            Ok(d) => Box::new(ZstdFrames(Some(d))),
            Err(e) => {
                visitor.problem(format!("{name}: not a readable zstd stream: {e}"));
                return compression;
            }
        },
    };
    let capped = Capped {
        inner: inflated,
        read: 0,
        total: limits.total,
        ratio_cap: compressed.map(|c| c.max(1).saturating_mul(limits.ratio)),
        ratio: limits.ratio,
        tripped: None,
    };
    tar_from(name, capped, None, 1, &mut budget, visitor);
    compression
}

/// A zstd stream of one or more frames (`zstd` and `cat a.zst b.zst` write several).
struct ZstdFrames<R: std::io::BufRead>(
    Option<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>,
);

impl<R: std::io::BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(decoder) = self.0.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The end of a frame: another may follow.
            let Some((mut source, frames)) = self.0.take().map(|d| d.into_parts()) else {
                return Ok(0);
            };
            if source.fill_buf()?.is_empty() {
                return Ok(0);
            }
            // Reads the next frame's header.
            self.0 = Some(
                ruzstd::decoding::StreamingDecoder::new_with_decoder(source, frames)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?,
            );
        }
    }
}

/// Counts what a stream inflates and fails, for good, once it passes the total or the
/// ratio: tar then stops, having scanned everything before.
struct Capped<R> {
    inner: R,
    read: u64,
    total: u64,
    ratio_cap: Option<u64>,
    ratio: u64,
    tripped: Option<String>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(why) = &self.tripped {
            return Err(std::io::Error::other(why.clone()));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let over_ratio = self
            .ratio_cap
            .is_some_and(|cap| self.read > RATIO_FLOOR && self.read > cap);
        if self.read > self.total || over_ratio {
            let why = if over_ratio {
                format!(
                    "inflates more than {}:1 (a decompression bomb?); stopped after {}",
                    self.ratio,
                    human(self.read)
                )
            } else {
                format!("inflates to more than {}; stopped there", human(self.total))
            };
            self.tripped = Some(why.clone());
            return Err(std::io::Error::other(why));
        }
        Ok(n)
    }
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
        if budget.list && budget.chain.is_empty() {
            visitor.listed(&clean_name(&String::from_utf8_lossy(&entry.path_bytes())).0);
        }
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

    #[derive(Default)]
    struct Seen {
        entries: Vec<(String, Vec<u8>)>,
        listed: Vec<String>,
        problems: Vec<String>,
    }

    impl Visitor for Seen {
        fn entry(&mut self, path: &str, _entries: &[String], data: &[u8]) {
            self.entries.push((path.to_string(), data.to_vec()));
        }
        fn problem(&mut self, message: String) {
            self.problems.push(message);
        }
        fn warning(&mut self, message: String) {
            self.problems.push(message);
        }
        fn listed(&mut self, name: &str) {
            self.listed.push(name.to_string());
        }
    }

    fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            tar.append_data(&mut h, name, *data).unwrap();
        }
        tar.into_inner().unwrap()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    fn stream(data: &[u8], limits: Limits) -> (Compression, Seen) {
        let mut seen = Seen::default();
        let c = walk_stream(
            "layer",
            &mut &data[..],
            Some(data.len() as u64),
            limits,
            &mut seen,
        );
        (c, seen)
    }

    #[test]
    fn streams_plain_gzip_and_zstd_alike() {
        let tar = layer(&[
            ("app/.env", b"TOKEN=abc\n"),
            ("app/.wh.old.env", b""),
            ("etc/.wh..wh..opq", b""),
        ]);
        let zstd = ruzstd::encoding::compress_to_vec(
            &tar[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        // Two frames, as `cat a.zst b.zst` makes: the second holds the end of the tar.
        let (a, b) = tar.split_at(700);
        let mut frames =
            ruzstd::encoding::compress_to_vec(a, ruzstd::encoding::CompressionLevel::Fastest);
        frames.extend(ruzstd::encoding::compress_to_vec(
            b,
            ruzstd::encoding::CompressionLevel::Fastest,
        ));
        for (data, want) in [
            (tar.clone(), Compression::None),
            (gzip(&tar), Compression::Gzip),
            (zstd, Compression::Zstd),
            (frames, Compression::Zstd),
        ] {
            let (c, seen) = stream(&data, Limits::default());
            assert_eq!(c, want);
            assert_eq!(seen.problems, Vec::<String>::new(), "{want:?}");
            assert_eq!(
                seen.entries,
                [("layer!/app/.env".to_string(), b"TOKEN=abc\n".to_vec())]
            );
            assert_eq!(
                seen.listed,
                ["app/.env", "app/.wh.old.env", "etc/.wh..wh..opq"]
            );
        }
    }

    #[test]
    fn a_layer_bomb_stops_with_a_problem_after_what_came_first() {
        let zeros = vec![0u8; 8 << 20];
        let tar = layer(&[
            ("first.env", b"TOKEN=abc\n"),
            ("bomb.bin", &zeros),
            ("after.env", b"x\n"),
        ]);
        let gz = gzip(&tar);
        assert!(gz.len() * 200 < tar.len(), "{}", gz.len());
        let (_, seen) = stream(&gz, Limits::default());
        // What inflated before the cut is scanned (the start of bomb.bin); nothing after.
        let names: Vec<&str> = seen.entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["layer!/first.env", "layer!/bomb.bin"]);
        assert!(seen.entries[1].1.len() < 8 << 20);
        assert!(
            seen.problems
                .iter()
                .any(|p| p.contains("inflates more than 200:1")),
            "{:?}",
            seen.problems
        );
        // The total limit stops a stream too, whatever its ratio.
        let limits = Limits {
            total: 4 << 20,
            ..Limits::default()
        };
        let (_, seen) = stream(&tar, limits);
        assert!(
            seen.problems
                .iter()
                .any(|p| p.contains("inflates to more than 4 MiB")),
            "{:?}",
            seen.problems
        );
    }

    #[test]
    fn a_damaged_stream_is_a_problem_not_a_panic() {
        let tar = layer(&[("a.env", b"TOKEN=abc\n"), ("b.env", &[b'x'; 100_000])]);
        let mut gz = gzip(&tar);
        let n = gz.len();
        gz.truncate(n / 2);
        let (_, seen) = stream(&gz, Limits::default());
        assert_eq!(seen.entries[0].0, "layer!/a.env");
        assert!(!seen.problems.is_empty());
        let mut zstd = ruzstd::encoding::compress_to_vec(
            &tar[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        for b in &mut zstd[20..60] {
            *b ^= 0x5a;
        }
        let (c, seen) = stream(&zstd, Limits::default());
        assert_eq!(c, Compression::Zstd);
        assert!(!seen.problems.is_empty());
    }
}
