//! Container images as a source of [`Hit`]s: a `docker save` or `podman save` archive (the
//! classic `manifest.json` layout, or the OCI layout that newer Docker writes inside it), an
//! OCI image layout directory, or an OCI archive (`podman save --format oci-archive`).
//!
//! Every layer is read once as a stream (plain, gzip or zstd), never extracted; a layer that
//! several images of one archive share is scanned once, by digest. The image configuration
//! (environment, labels, command, the history's `created_by` lines where `RUN` commands and
//! build arguments are recorded) and the manifests' annotations are scanned field by field.
//! A file that a later layer deletes (a whiteout) is still reported, marked with the layer that
//! removed it: the bytes are still in the image for anyone who pulls it.
//!
//! An image elsewhere (in a registry) is read through [`RemoteImage`]: the same scan, its blobs
//! streamed from wherever the implementation fetches them. Every blob named by a SHA-256 digest
//! (OCI layouts and archives, registries) is verified while it is read: a layer whose bytes do
//! not match is still scanned, and the mismatch is an error.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keysweep::{Finding, Scanner, Scratch};
use rayon::prelude::*;
use serde_json::Value;

use crate::archive;
use crate::context::Context;
use crate::digest::{ContentDigest, Hasher};
use crate::files::{io_reason, scan_bytes, Error};
use crate::job::{Cancel, Counters, Counts, Events, Problem, ProblemKind, Severity, Sink};
use crate::location::{
    display_path, ArchiveEntry, Hit, ImageLayer, ImageOrigin, ImagePart, Location, Source,
};

/// Manifests, indexes and configurations larger than this are refused (they are JSON of a few
/// kilobytes).
const MAX_JSON: u64 = 16 << 20;
/// Indexes nested deeper than this are not followed.
const MAX_INDEX_DEPTH: usize = 4;

/// Scans container images: every layer, the configuration and the manifests' annotations.
///
/// ```
/// use keysweep::{RuleSet, Scanner};
/// use keysweep_source::{Collect, ImagePart, ImageScan};
///
/// // An OCI image layout with one layer (a plain tar) holding app/.env.
/// let dir = tempfile::tempdir()?;
/// let mut tar = tar::Builder::new(Vec::new());
/// let mut header = tar::Header::new_gnu();
/// let env = b"GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\n";
/// header.set_size(env.len() as u64);
/// tar.append_data(&mut header, "app/.env", &env[..])?;
/// let layer = tar.into_inner()?;
/// // Blobs are stored under their SHA-256, which keysweep verifies as it reads them.
/// let blob = |data: &[u8]| -> std::io::Result<String> {
///     let digest = keysweep_source::Algorithm::Sha256.digest(data);
///     std::fs::create_dir_all(dir.path().join("blobs/sha256"))?;
///     std::fs::write(dir.path().join("blobs/sha256").join(digest.hex()), data)?;
///     Ok(digest.to_string())
/// };
/// let layer = blob(&layer)?;
/// let config = blob(br#"{"config":{"Env":["PATH=/usr/bin"]}}"#)?;
/// let manifest = format!(
///     r#"{{"schemaVersion":2,"config":{{"digest":"{config}"}},"layers":[{{"digest":"{layer}"}}]}}"#
/// );
/// let manifest = blob(manifest.as_bytes())?;
/// std::fs::write(dir.path().join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
/// std::fs::write(
///     dir.path().join("index.json"),
///     format!(r#"{{"schemaVersion":2,"manifests":[{{"digest":"{manifest}"}}]}}"#),
/// )?;
///
/// let sink = Collect::default();
/// let summary = ImageScan::new(Scanner::new(RuleSet::builtin())?).run(dir.path(), &sink)?;
/// let (hits, problems) = sink.into_parts();
/// assert!(problems.is_empty(), "{problems:?}");
/// assert_eq!((summary.images, summary.layers), (1, 1));
/// let image = hits[0].location.image().unwrap();
/// assert_eq!(image.part, ImagePart::Layer);
/// assert_eq!(hits[0].location.path.as_deref(), Some("app/.env"));
/// assert_eq!(image.layer.as_ref().unwrap().digest, layer);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ImageScan {
    scanner: Scanner,
    max_file_size: u64,
    scan_binary: bool,
    limits: archive::Limits,
    threads: Option<usize>,
    counters: Arc<Counters>,
    cancel: Cancel,
    cache: Option<Arc<dyn LayerCache>>,
}

/// Layers already scanned, by digest: an image scan with one ([`ImageScan::layer_cache`])
/// neither downloads nor reads a layer it holds, and stores each layer it reads and verifies.
///
/// Values are opaque bytes the scan writes and reads back; a value that does not decode is
/// as good as absent. The cache must hold the values of one [`ImageScan::cache_fingerprint`]
/// only (keysweep's sweep cache keeps one table per fingerprint).
pub trait LayerCache: Send + Sync {
    /// What was stored for the layer `digest` (`sha256:HEX`), if anything.
    fn get(&self, digest: &str) -> Option<Vec<u8>>;
    /// Stores `value` for the layer `digest`. Failing to store is not an error of the scan.
    fn put(&self, digest: &str, value: &[u8]);
}

/// A layer as a [`LayerCache`] keeps it: its findings with their entry chains, and its
/// whiteouts.
#[derive(serde::Serialize, serde::Deserialize)]
struct CachedLayer {
    found: Vec<(Finding, Vec<String>)>,
    whiteouts: Whiteouts,
}

/// What an image scan did, beyond the shared [`Counts`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ImageSummary {
    /// Files in layers (and entries of archives in them) scanned, bytes, skips, hits, errors
    /// (of all runs of this scan).
    pub counts: Counts,
    /// Images (manifests) found.
    pub images: usize,
    /// Layers read.
    pub layers: usize,
    /// Layers listed by a second image of the same archive, not read again.
    pub layers_shared: usize,
    /// Layers not read because the [layer cache](ImageScan::layer_cache) held them (their
    /// findings are reported from it); not counted in `layers`.
    pub layers_cached: usize,
    /// Fields of configurations and manifests scanned.
    pub fields: u64,
}

impl ImageScan {
    /// A scan with `scanner`: binary files skipped, files over 256 MiB cut there, layers and
    /// the archives inside them read within the default [limits](archive::Limits), on rayon's
    /// global thread pool.
    pub fn new(scanner: Scanner) -> ImageScan {
        ImageScan {
            scanner,
            max_file_size: crate::files::DEFAULT_MAX_FILE_SIZE,
            scan_binary: false,
            limits: archive::Limits::default(),
            threads: None,
            counters: Arc::default(),
            cancel: Cancel::new(),
            cache: None,
        }
    }

    /// Keeps what each layer holds in `cache`, by digest: a layer already there is neither
    /// downloaded nor read again, in this image or any other. Only layers named by their
    /// digest (OCI layouts and archives, registries) and read whole without a problem, their
    /// digest verified, are stored. `cache` must be dedicated to this scan's
    /// [`cache_fingerprint`](Self::cache_fingerprint).
    pub fn layer_cache(mut self, cache: Arc<dyn LayerCache>) -> ImageScan {
        self.cache = Some(cache);
        self
    }

    /// A digest (32 hex digits) of everything that shapes what this scan finds in a layer:
    /// the scanner's [settings](keysweep::Scanner::settings_digest), the file size limit,
    /// whether binary files are scanned, and the archive limits.
    pub fn cache_fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"keysweep-image-layer 2\0");
        h.update(self.scanner.settings_digest().as_bytes());
        h.update(
            format!(
                "\0{}\0{}\0{:?}",
                self.max_file_size, self.scan_binary, self.limits
            )
            .as_bytes(),
        );
        h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Scans at most this many bytes of one file in a layer (the rest is reported unscanned).
    pub fn max_file_size(mut self, bytes: u64) -> ImageScan {
        self.max_file_size = bytes;
        self
    }

    /// Scans binary files too ([`keysweep::is_binary`]).
    pub fn scan_binary(mut self, yes: bool) -> ImageScan {
        self.scan_binary = yes;
        self
    }

    /// The limits of one layer, as of one archive: entries, bytes inflated, inflation ratio
    /// against the compressed layer (a layer bomb), and the depth of archives inside it.
    pub fn limits(mut self, limits: archive::Limits) -> ImageScan {
        self.limits = limits;
        self
    }

    /// Runs on a pool of `n` threads of its own instead of rayon's global pool.
    pub fn threads(mut self, n: usize) -> ImageScan {
        self.threads = Some(n.max(1));
        self
    }

    /// Stops the scan when `cancel` is cancelled.
    pub fn cancel(mut self, cancel: Cancel) -> ImageScan {
        self.cancel = cancel;
        self
    }

    /// Counters updated while the scan runs.
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Scans the image at `image`: a `docker save` / `podman save` archive, an OCI archive,
    /// or an OCI image layout directory. Parts that cannot be read (a missing blob, a damaged
    /// layer) are reported to `sink` and the rest is scanned; an error means nothing was.
    pub fn run(&self, image: &Path, sink: &dyn Sink) -> Result<ImageSummary, Error> {
        let store = Store::open(image)?;
        let name = display_path(image).0;
        let images = discover(&store, image)?;
        self.run_store(&store, name, images, sink)
    }

    /// Scans an image that is not on disk (one in a registry): the manifests its
    /// [index](RemoteImage::index) lists, their configurations and layers, each blob opened by
    /// [`RemoteImage::open`] and streamed into the scan as [`run`](Self::run) streams it.
    /// Locations name the image by [`RemoteImage::name`].
    pub fn run_remote(
        &self,
        image: &dyn RemoteImage,
        sink: &dyn Sink,
    ) -> Result<ImageSummary, Error> {
        let store = Store::Remote(image);
        let name = image.name();
        let fail = |message: String| Error::RemoteImage {
            name: name.clone(),
            message,
        };
        let index = store.json(INDEX).map_err(fail)?;
        let mut images = Vec::new();
        oci_index(&store, &name, &index, INDEX, &image.tags(), 0, &mut images);
        if images.is_empty() {
            return Err(fail("the index lists no image manifest".into()));
        }
        self.run_store(&store, name, images, sink)
    }

    fn run_store(
        &self,
        store: &Store<'_>,
        name: String,
        images: Vec<(Plan, Vec<Problem>)>,
        sink: &dyn Sink,
    ) -> Result<ImageSummary, Error> {
        let work = || {
            let mut run = Run {
                scan: self,
                store,
                name,
                sink,
                seen: HashMap::new(),
                configs: HashSet::new(),
                summary: ImageSummary::default(),
            };
            run.summary.images = images.len();
            for (plan, problems) in images {
                for p in problems {
                    self.report(sink, p);
                }
                if self.cancel.is_cancelled() {
                    break;
                }
                run.image(&plan);
            }
            run.summary
        };
        let mut summary = match self.threads {
            None => work(),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::Threads(e.to_string()))?
                .install(work),
        };
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        summary.counts = self.counters.snapshot();
        Ok(summary)
    }

    /// Runs [`run`](Self::run) on its own thread and returns its events as an iterator;
    /// dropping the iterator cancels the scan.
    pub fn spawn(&self, image: PathBuf) -> Events<Result<ImageSummary, Error>> {
        let scan = self.clone();
        Events::spawn(self.cancel.clone(), move |sink| scan.run(&image, sink))
    }

    fn report(&self, sink: &dyn Sink, p: Problem) {
        if p.severity == Severity::Error {
            self.counters.errors(1);
        }
        sink.problem(p);
    }
}

/// An image that is not on disk, such as one in a registry: an index of its manifests and a
/// way to open any blob (manifest, configuration, layer) by digest. [`ImageScan::run_remote`]
/// scans it; every blob it opens is verified against its SHA-256 digest while it is read.
///
/// ```
/// use std::io::Read;
/// use keysweep::{RuleSet, Scanner};
/// use keysweep_source::{Collect, ImageScan, RemoteImage};
/// ///
/// /// Blobs held in memory, by digest.
/// struct InMemory(Vec<(String, Vec<u8>)>, Vec<u8>);
/// impl RemoteImage for InMemory {
///     fn name(&self) -> String { "example.test/app:1".into() }
///     fn tags(&self) -> Vec<String> { vec!["example.test/app:1".into()] }
///     fn index(&self) -> Result<Vec<u8>, String> { Ok(self.1.clone()) }
///     fn open(&self, digest: &str, _size: Option<u64>)
///         -> Result<(Box<dyn Read + Send>, Option<u64>), String> {
///         let (_, data) = self.0.iter().find(|(d, _)| d == digest)
///             .ok_or_else(|| format!("{digest} is not here"))?;
///         Ok((Box::new(std::io::Cursor::new(data.clone())), Some(data.len() as u64)))
///     }
/// }
/// let digest = |data: &[u8]| -> String {
///     keysweep_source::Algorithm::Sha256.digest(data).to_string()
/// };
/// let mut tar = tar::Builder::new(Vec::new());
/// let mut header = tar::Header::new_gnu();
/// let env = b"GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\n";
/// header.set_size(env.len() as u64);
/// tar.append_data(&mut header, "app/.env", &env[..])?;
/// let layer = tar.into_inner()?;
/// let config = br#"{"config":{}}"#.to_vec();
/// let manifest = format!(
///     r#"{{"schemaVersion":2,"config":{{"digest":"{}"}},"layers":[{{"digest":"{}"}}]}}"#,
///     digest(&config), digest(&layer),
/// ).into_bytes();
/// let index = format!(r#"{{"manifests":[{{"digest":"{}"}}]}}"#, digest(&manifest));
/// let blobs = [layer, config, manifest].map(|b| (digest(&b), b)).to_vec();
///
/// let sink = Collect::default();
/// let scan = ImageScan::new(Scanner::new(RuleSet::builtin())?);
/// scan.run_remote(&InMemory(blobs, index.into_bytes()), &sink)?;
/// let (hits, problems) = sink.into_parts();
/// assert!(problems.is_empty(), "{problems:?}");
/// assert_eq!(hits[0].location.image().unwrap().name, "example.test/app:1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RemoteImage: Sync {
    /// The image's name in locations and problems, such as `registry/repository:tag@digest`.
    fn name(&self) -> String;
    /// The names the image is known by (recorded in each location's `tags`).
    fn tags(&self) -> Vec<String>;
    /// An OCI image index (JSON): the manifests to scan, by digest, as a layout's
    /// `index.json` lists them.
    fn index(&self) -> Result<Vec<u8>, String>;
    /// Opens the blob `digest` (a manifest, a configuration or a layer) as a stream, and says
    /// its size if it knows it. `size` is the size its descriptor gives, if one does. The
    /// error says why it cannot be read (without credentials).
    fn open(
        &self,
        digest: &str,
        size: Option<u64>,
    ) -> Result<(Box<dyn Read + Send>, Option<u64>), String>;
}

/// The index of an OCI layout, and of a [`RemoteImage`].
const INDEX: &str = "index.json";

/// Where an image's parts are: a directory (an OCI layout), a tar archive (indexed once), or
/// somewhere else.
enum Store<'r> {
    Dir(PathBuf),
    Tar {
        file: PathBuf,
        members: HashMap<String, Member>,
    },
    Remote(&'r dyn RemoteImage),
}

enum Member {
    Data {
        offset: u64,
        size: u64,
    },
    /// A link to another member (its name, resolved).
    Link(String),
}

impl Store<'_> {
    fn open(path: &Path) -> Result<Store<'static>, Error> {
        let meta = std::fs::metadata(path).map_err(|source| Error::Path {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            return Ok(Store::Dir(path.to_path_buf()));
        }
        let not_image = |message: String| Error::Image {
            path: path.to_path_buf(),
            message,
        };
        let mut file = File::open(path).map_err(|source| Error::Path {
            path: path.to_path_buf(),
            source,
        })?;
        let mut magic = [0u8; 4];
        let got = file.read(&mut magic).unwrap_or(0);
        if archive::Compression::of(&magic[..got]) != archive::Compression::None {
            return Err(not_image(
                "a compressed archive: decompress it first (an image archive is read in place, by offset)".into(),
            ));
        }
        file.rewind().map_err(|e| not_image(io_reason(&e)))?;
        let mut members = HashMap::new();
        let mut tar = tar::Archive::new(file);
        let entries = tar
            .entries_with_seek()
            .map_err(|e| not_image(format!("not a container image: {}", io_reason(&e))))?;
        for entry in entries {
            let entry = entry.map_err(|e| {
                not_image(format!(
                    "not a container image: neither a directory nor a readable tar archive (docker save, podman save, OCI archive): {}",
                    io_reason(&e)
                ))
            })?;
            let name = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
            let kind = entry.header().entry_type();
            let member = if kind.is_symlink() || kind.is_hard_link() {
                let Some(target) = entry.link_name_bytes() else {
                    continue;
                };
                let target = String::from_utf8_lossy(&target).into_owned();
                let target = if kind.is_symlink() && !target.starts_with('/') {
                    let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                    normalize(&format!("{dir}/{target}"))
                } else {
                    normalize(&target)
                };
                Member::Link(target)
            } else if kind.is_file() {
                Member::Data {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                }
            } else {
                continue;
            };
            members.insert(name, member);
        }
        Ok(Store::Tar {
            file: path.to_path_buf(),
            members,
        })
    }

    /// The member `name` points at, links followed (a few hops).
    fn member(&self, name: &str) -> Option<(u64, u64)> {
        let Store::Tar { members, .. } = self else {
            return None;
        };
        let mut name = normalize(name);
        for _ in 0..8 {
            match members.get(&name)? {
                Member::Data { offset, size } => return Some((*offset, *size)),
                Member::Link(to) => name = to.clone(),
            }
        }
        None
    }

    fn has(&self, name: &str) -> bool {
        match self {
            Store::Dir(dir) => dir.join(name).is_file(),
            Store::Tar { .. } => self.member(name).is_some(),
            // Only opening a blob tells whether the registry has it.
            Store::Remote(_) => true,
        }
    }

    /// Opens the part `name` (a path inside the image) for reading; returns it and its size
    /// (if known). `declared` is the size its descriptor gives.
    fn part(
        &self,
        name: &str,
        declared: Option<u64>,
    ) -> Result<(Box<dyn Read + Send>, Option<u64>), String> {
        let (clean, tricky) = archive::clean_name(name);
        if tricky {
            return Err(format!("{name:?} points outside the image; not read"));
        }
        match self {
            Store::Dir(dir) => {
                let file = File::open(dir.join(&clean)).map_err(|e| missing(&clean, &e))?;
                let size = file.metadata().map_err(|e| io_reason(&e))?.len();
                Ok((Box::new(file), Some(size)))
            }
            Store::Tar { file, .. } => {
                let (offset, size) = self
                    .member(&clean)
                    .ok_or_else(|| format!("{clean} is not in the archive"))?;
                let mut f = File::open(file).map_err(|e| io_reason(&e))?;
                f.seek(SeekFrom::Start(offset)).map_err(|e| io_reason(&e))?;
                Ok((Box::new(f.take(size)), Some(size)))
            }
            Store::Remote(image) => {
                if clean == INDEX {
                    let index = image.index()?;
                    let size = index.len() as u64;
                    return Ok((Box::new(io::Cursor::new(index)), Some(size)));
                }
                let digest = clean
                    .strip_prefix("blobs/")
                    .and_then(|rest| rest.split_once('/'))
                    .map(|(alg, hex)| format!("{alg}:{hex}"))
                    .ok_or_else(|| format!("{clean} is not a blob"))?;
                image.open(&digest, declared)
            }
        }
    }

    /// Reads a small part (JSON) whole, its digest verified if its path names one.
    fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        let (reader, size) = self.part(name, None)?;
        let size = size.unwrap_or(0);
        if size > MAX_JSON {
            return Err(format!(
                "{name} is {size} bytes, more than a manifest or configuration can be; not read"
            ));
        }
        let mut data = Vec::with_capacity(size as usize);
        reader
            .take(MAX_JSON + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("{name}: {}", io_reason(&e)))?;
        if data.len() as u64 > MAX_JSON {
            return Err(format!(
                "{name} is more than {MAX_JSON} bytes, more than a manifest or configuration can be; not read"
            ));
        }
        if let Some(expected) = digest_of_path(name) {
            let actual = expected.algorithm().digest(&data);
            if actual != expected {
                return Err(format!(
                    "{name} does not match its digest: its digest is {actual}; not read"
                ));
            }
        }
        Ok(data)
    }

    fn json(&self, name: &str) -> Result<Value, String> {
        let data = self.read(name)?;
        serde_json::from_slice(&data).map_err(|e| format!("{name} is not valid JSON: {e}"))
    }
}

fn missing(name: &str, e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::NotFound {
        format!("{name} is not in the image")
    } else {
        format!("{name}: {}", io_reason(e))
    }
}

/// A path inside an archive without `./`, `..` resolved (never above the root), no leading `/`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The blob path of a digest (`sha256:HEX` → `blobs/sha256/HEX`), if it is a well-formed one.
fn blob_path(digest: &str) -> Option<String> {
    let (algorithm, hex) = digest.split_once(':')?;
    let ok = |s: &str, extra: &[u8]| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
    };
    (ok(algorithm, b"+._-") && ok(hex, b"=_-")).then(|| format!("blobs/{algorithm}/{hex}"))
}

/// The digest a blob path names (`blobs/sha256/HEX`, `blobs/sha512/HEX`), which its bytes
/// must have.
fn digest_of_path(path: &str) -> Option<ContentDigest> {
    ContentDigest::of_blob_path(&normalize(path))
}

/// One image (a manifest) to scan.
#[derive(Debug, Default)]
struct Plan {
    tags: Vec<String>,
    /// The manifest's digest (OCI).
    manifest: Option<String>,
    /// The configuration's path in the store.
    config: Option<String>,
    /// Layers from the base up: path in the store, digest (if known yet), size (if the
    /// manifest gives it).
    layers: Vec<(String, Option<String>, Option<u64>)>,
    /// Annotation fields to scan: the field's name and its text.
    annotations: Vec<(String, String)>,
}

/// The images in a store, each with the problems met finding it.
fn discover(store: &Store<'_>, path: &Path) -> Result<Vec<(Plan, Vec<Problem>)>, Error> {
    let fail = |message: String| Error::Image {
        path: path.to_path_buf(),
        message,
    };
    let name = display_path(path).0;
    if store.has("index.json") {
        let index = store.json("index.json").map_err(fail)?;
        let mut out = Vec::new();
        oci_index(store, &name, &index, "index.json", &[], 0, &mut out);
        if out.is_empty() {
            return Err(fail("index.json lists no image manifest".into()));
        }
        return Ok(out);
    }
    if store.has("manifest.json") {
        let manifest = store.json("manifest.json").map_err(fail)?;
        let Some(list) = manifest.as_array() else {
            return Err(fail("manifest.json is not a list of images".into()));
        };
        let plans = list
            .iter()
            .map(|m| {
                let strings = |key: &str| -> Vec<String> {
                    m[key]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let layers = strings("Layers")
                    .into_iter()
                    .map(|path| {
                        let digest = path
                            .strip_prefix("blobs/")
                            .and_then(|rest| rest.split_once('/'))
                            .map(|(alg, hex)| format!("{alg}:{hex}"));
                        (path, digest, None)
                    })
                    .collect();
                let plan = Plan {
                    tags: strings("RepoTags"),
                    manifest: None,
                    config: m["Config"].as_str().map(str::to_string),
                    layers,
                    annotations: Vec::new(),
                };
                (plan, Vec::new())
            })
            .collect();
        return Ok(plans);
    }
    Err(fail(
        "not a container image: no manifest.json (docker save, podman save) nor index.json (OCI layout)"
            .into(),
    ))
}

/// The images an OCI index lists (nested indexes followed).
fn oci_index(
    store: &Store<'_>,
    image: &str,
    index: &Value,
    where_: &str,
    tags: &[String],
    depth: usize,
    out: &mut Vec<(Plan, Vec<Problem>)>,
) {
    let Some(manifests) = index["manifests"].as_array() else {
        return;
    };
    for (i, descriptor) in manifests.iter().enumerate() {
        let mut problems = Vec::new();
        let mut tags = tags.to_vec();
        let annotations = annotations_of(descriptor, &format!("{where_} manifests[{i}]"));
        for key in [
            "org.opencontainers.image.ref.name",
            "io.containerd.image.name",
        ] {
            if let Some(t) = descriptor["annotations"][key].as_str() {
                if !tags.iter().any(|x| x == t) {
                    tags.push(t.to_string());
                }
            }
        }
        let digest = descriptor["digest"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let Some(path) = blob_path(&digest) else {
            problems.push(Problem::error(
                ProblemKind::Image,
                image,
                format!("{where_}: manifests[{i}] has no valid digest ({digest:?})"),
            ));
            out.push((Plan::default(), problems));
            continue;
        };
        let manifest = match store.json(&path) {
            Ok(m) => m,
            Err(e) => {
                // A multi-platform index names every platform; an archive often holds one.
                let severity = if depth > 0 && !store.has(&path) {
                    Severity::Note
                } else {
                    Severity::Error
                };
                problems.push(Problem {
                    severity,
                    kind: ProblemKind::Image,
                    path: Some(image.to_string()),
                    message: format!("manifest {digest}: {e}"),
                });
                out.push((Plan::default(), problems));
                continue;
            }
        };
        if manifest.get("manifests").is_some() {
            if depth < MAX_INDEX_DEPTH {
                oci_index(store, image, &manifest, &digest, &tags, depth + 1, out);
            }
            continue;
        }
        let layers = manifest["layers"]
            .as_array()
            .map(|ls| {
                ls.iter()
                    .map(|l| {
                        let digest = l["digest"].as_str().unwrap_or_default().to_string();
                        let path = blob_path(&digest).unwrap_or_else(|| digest.clone());
                        (path, Some(digest), l["size"].as_u64())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut fields = annotations;
        fields.extend(annotations_of(&manifest, "annotations"));
        let plan = Plan {
            tags,
            config: manifest["config"]["digest"].as_str().and_then(blob_path),
            manifest: Some(digest),
            layers,
            annotations: fields,
        };
        out.push((plan, problems));
    }
}

/// `FIELD["key"]` and `key=value` of every annotation of `v`.
fn annotations_of(v: &Value, field: &str) -> Vec<(String, String)> {
    v["annotations"]
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| {
                    let text = v.as_str()?;
                    Some((format!("{field}[{k:?}]"), format!("{k}={text}")))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What a layer deletes or replaces from the layers below it.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Whiteouts {
    /// Paths deleted (files or whole directories), from `.wh.NAME`.
    paths: Vec<String>,
    /// Directories made opaque (everything below them from lower layers hidden).
    opaque: Vec<String>,
    /// Every other entry of the layer, as [`name_hash`]es, sorted: a file a lower layer has
    /// at one of these paths is replaced (overwritten) by this layer.
    names: Vec<u64>,
}

/// A stable 64-bit hash of an entry name (FNV-1a): layers of hundreds of thousands of
/// entries keep 8 bytes each, and the hashes are the same in every run (the layer cache
/// stores them).
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Whiteouts {
    fn add(&mut self, name: &str) {
        let (dir, base) = name.rsplit_once('/').unwrap_or(("", name));
        if base == ".wh..wh..opq" {
            self.opaque.push(dir.to_string());
        } else if let Some(target) = base.strip_prefix(".wh.") {
            if !target.starts_with(".wh.") {
                self.paths.push(if dir.is_empty() {
                    target.to_string()
                } else {
                    format!("{dir}/{target}")
                });
            }
        } else if !name.is_empty() {
            self.names.push(name_hash(name));
        }
    }

    /// Done adding: the names sorted for lookups.
    fn finish(&mut self) {
        self.names.sort_unstable();
        self.names.dedup();
    }

    /// Whether a file at `path` in a lower layer is deleted or replaced by this one.
    fn remove(&self, path: &str) -> bool {
        let under = |dir: &str| {
            dir.is_empty()
                || path
                    .strip_prefix(dir)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        self.paths.iter().any(|p| p == path || under(p))
            || self.opaque.iter().any(|d| under(d))
            || self.names.binary_search(&name_hash(path)).is_ok()
    }
}

/// A layer scanned: findings with the entry chain inside the layer, and its whiteouts.
struct Layer {
    found: Vec<(Finding, Vec<String>)>,
    whiteouts: Arc<Whiteouts>,
    /// Taken from the layer cache, not read.
    cached: bool,
}

/// One run over a store.
struct Run<'a> {
    scan: &'a ImageScan,
    store: &'a Store<'a>,
    name: String,
    sink: &'a dyn Sink,
    /// Layers read, by digest (or path), with their whiteouts.
    seen: HashMap<String, Arc<Whiteouts>>,
    /// Configurations scanned (images of an archive may share one).
    configs: HashSet<String>,
    summary: ImageSummary,
}

impl Run<'_> {
    fn origin(&self, plan: &Plan, part: ImagePart) -> ImageOrigin {
        ImageOrigin {
            name: self.name.clone(),
            tags: plan.tags.clone(),
            manifest: plan.manifest.clone(),
            part,
            layer: None,
            field: None,
        }
    }

    fn problem(&self, message: String) {
        self.scan.report(
            self.sink,
            Problem::error(ProblemKind::Image, self.name.clone(), message),
        );
    }

    fn image(&mut self, plan: &Plan) {
        let config = plan.config.as_ref().and_then(|path| {
            let value = self
                .store
                .json(path)
                .map_err(|e| self.problem(format!("configuration: {e}")))
                .ok()?;
            Some((path, value))
        });
        // A `docker save` archive without blobs names layers by their uncompressed digest.
        let diff_ids: Vec<String> = config
            .as_ref()
            .and_then(|(_, c)| c["rootfs"]["diff_ids"].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut scratch = self.scan.scanner.scratch();
        if let Some((path, value)) = &config {
            if self.configs.insert((*path).clone()) {
                let mut fields = Vec::new();
                config_fields(value, &mut fields);
                self.fields(&mut scratch, plan, ImagePart::Config, &fields);
            }
        }
        self.fields(&mut scratch, plan, ImagePart::Manifest, &plan.annotations);

        let count = plan.layers.len();
        // (position, path, digest, size, whether the digest is the config's diff id).
        let layers: Vec<(usize, &String, String, Option<u64>, bool)> = plan
            .layers
            .iter()
            .enumerate()
            .map(|(i, (path, digest, size))| match digest {
                Some(d) => (i, path, d.clone(), *size, false),
                None if diff_ids.len() == count => (i, path, diff_ids[i].clone(), *size, true),
                None => (i, path, path.clone(), *size, false),
            })
            .collect();
        let mut todo = Vec::new();
        let mut claimed = HashSet::new();
        for (i, path, digest, size, diff_id) in &layers {
            if self.seen.contains_key(digest) || !claimed.insert(digest.clone()) {
                self.summary.layers_shared += 1;
            } else {
                todo.push((*i, *path, digest.clone(), *size, *diff_id));
            }
        }
        let scan = self.scan;
        let store = self.store;
        let name = &self.name;
        let sink = self.sink;
        let read: Vec<(usize, String, Option<Layer>)> = todo
            .into_par_iter()
            .map(|(i, path, digest, size, diff_id)| {
                let at = LayerAt {
                    path,
                    digest: &digest,
                    size,
                    index: i + 1,
                    count,
                    diff_id,
                };
                let layer = scan.layer(store, name, &at, sink);
                (i, digest, layer)
            })
            .collect();
        for (_, _, layer) in &read {
            match layer {
                Some(l) if l.cached => self.summary.layers_cached += 1,
                Some(_) => self.summary.layers += 1,
                None => {}
            }
        }
        let mut found = Vec::new();
        for (i, digest, layer) in read {
            let layer = layer.unwrap_or(Layer {
                found: Vec::new(),
                whiteouts: Arc::default(),
                cached: false,
            });
            self.seen
                .insert(digest.clone(), Arc::clone(&layer.whiteouts));
            found.push((i, digest, layer.found));
        }
        let whiteouts: Vec<Arc<Whiteouts>> = layers
            .iter()
            .map(|(_, _, d, _, _)| self.seen.get(d).cloned().unwrap_or_default())
            .collect();
        for (i, digest, findings) in found {
            for (finding, chain) in findings {
                let inner = chain.first().cloned().unwrap_or_default();
                let removed_in = (i + 1..count)
                    .find(|&k| whiteouts[k].remove(&inner))
                    .map(|k| k + 1);
                let mut origin = self.origin(plan, ImagePart::Layer);
                origin.layer = Some(ImageLayer {
                    digest: digest.clone(),
                    index: i + 1,
                    count,
                    removed_in,
                });
                let mut location =
                    Location::new(Some(chain.join("!/")), Source::Image { image: origin });
                if chain.len() > 1 {
                    location.archive = Some(ArchiveEntry {
                        file: inner,
                        entries: chain[1..].to_vec(),
                    });
                }
                self.scan.counters.hits(1);
                self.sink.hit(Hit { finding, location });
            }
        }
    }

    /// Scans each field's text on its own: its location names the field.
    fn fields(
        &mut self,
        scratch: &mut Scratch,
        plan: &Plan,
        part: ImagePart,
        fields: &[(String, String)],
    ) {
        let mut done = HashSet::new();
        for (field, text) in fields {
            // `container_config` repeats `config` in images Docker built.
            if text.is_empty() || !done.insert(text) {
                continue;
            }
            self.summary.fields += 1;
            self.scan.counters.bytes(text.len() as u64);
            let findings = self.scan.scanner.scan_file(scratch, text.as_bytes(), None);
            for finding in findings {
                let mut origin = self.origin(plan, part);
                origin.field = Some(field.clone());
                let mut location = Location::new(None, Source::Image { image: origin });
                location.context = Context::Deployment;
                self.scan.counters.hits(1);
                self.sink.hit(Hit { finding, location });
            }
        }
    }
}

/// The fields of an image configuration worth scanning, named as they are in it.
fn config_fields(config: &Value, out: &mut Vec<(String, String)>) {
    for key in ["config", "container_config"] {
        let c = &config[key];
        if let Some(env) = c["Env"].as_array() {
            for (i, e) in env.iter().enumerate() {
                if let Some(e) = e.as_str() {
                    out.push((format!("{key}.Env[{i}]"), e.to_string()));
                }
            }
        }
        for field in ["Cmd", "Entrypoint"] {
            let text = match &c[field] {
                Value::Array(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
                Value::String(s) => s.clone(),
                _ => continue,
            };
            out.push((format!("{key}.{field}"), text));
        }
        if let Some(labels) = c["Labels"].as_object() {
            for (k, v) in labels {
                if let Some(v) = v.as_str() {
                    out.push((format!("{key}.Labels[{k:?}]"), format!("{k}={v}")));
                }
            }
        }
    }
    if let Some(history) = config["history"].as_array() {
        for (i, h) in history.iter().enumerate() {
            for field in ["created_by", "comment"] {
                if let Some(text) = h[field].as_str() {
                    out.push((format!("history[{i}].{field}"), text.to_string()));
                }
            }
        }
    }
}

/// Where a layer is: its path in the store, its digest, the size its manifest gives, and its
/// position (`index` of `count`, from the base up).
struct LayerAt<'a> {
    path: &'a str,
    digest: &'a str,
    size: Option<u64>,
    index: usize,
    count: usize,
    /// `digest` is the configuration's diff id (a classic `docker save` layer, named by
    /// path): the SHA-256 of the layer uncompressed, checked when the layer is a plain tar.
    diff_id: bool,
}

impl ImageScan {
    /// Reads one layer; `None` when it could not be opened at all.
    fn layer(
        &self,
        store: &Store<'_>,
        image: &str,
        at: &LayerAt<'_>,
        sink: &dyn Sink,
    ) -> Option<Layer> {
        let label = format!("layer {} of {}", at.index, at.count);
        let digest = at.digest;
        // The digest the layer's blob path names: the cache's key (a layer named otherwise,
        // as in a classic `docker save` archive, is not looked up or stored).
        let cache = self
            .cache
            .as_ref()
            .zip(digest_of_path(at.path).map(|d| d.to_string()));
        if let Some((cache, key)) = &cache {
            let hit = cache
                .get(key)
                .and_then(|v| serde_json::from_slice::<CachedLayer>(&v).ok());
            if let Some(c) = hit {
                return Some(Layer {
                    found: c.found,
                    whiteouts: Arc::new(c.whiteouts),
                    cached: true,
                });
            }
        }
        // Whether the layer was read whole without a problem: only then is it cached.
        let clean = std::cell::Cell::new(true);
        let fail = |e: String| {
            clean.set(false);
            self.report(
                sink,
                Problem::error(
                    ProblemKind::Image,
                    image,
                    format!("{label} ({}): {e}", short(digest)),
                ),
            );
        };
        let (reader, size) = match store.part(at.path, at.size) {
            Ok(r) => r,
            Err(e) => {
                fail(e);
                return None;
            }
        };
        if let (Some(declared), Some(size)) = (at.size, size) {
            if declared != size {
                fail(format!(
                    "the manifest says the blob is {declared} bytes; it is {size}"
                ));
            }
        }
        let mut reader = io::BufReader::new(reader);
        let expected = digest_of_path(at.path).or_else(|| {
            // A diff id names the uncompressed tar: it can check a layer stored plain (as
            // `docker save` stores them), not a compressed one.
            let plain = reader
                .fill_buf()
                .is_ok_and(|head| archive::Compression::of(head) == archive::Compression::None);
            (at.diff_id && plain)
                .then(|| ContentDigest::parse(digest))
                .flatten()
        });
        if expected.is_none() && normalize(at.path).starts_with("blobs/") {
            // A blob named by a digest of an algorithm not verified here (or malformed).
            self.report(
                sink,
                Problem::warning(
                    ProblemKind::Image,
                    image,
                    format!(
                        "{label} ({}): not verified: the digest is not sha256 or sha512 as the image specification registers them; the layer is scanned as read",
                        short(digest)
                    ),
                ),
            );
        }
        let mut verify = Verify {
            inner: reader,
            hasher: expected.as_ref().map(|d| Hasher::new(d.algorithm())),
            expected,
            read: 0,
            limit: at.size.or(size),
        };
        let mut limits = self.limits;
        limits.entry = limits.entry.min(self.max_file_size);
        let mut visitor = LayerVisitor {
            scan: self,
            scratch: self.scanner.scratch(),
            sink,
            problem_path: format!("{image} {label} ({})", short(digest)),
            found: Vec::new(),
            whiteouts: Whiteouts::default(),
            troubled: false,
        };
        let mut reader = Cancellable {
            inner: &mut verify,
            cancel: &self.cancel,
        };
        // Problems inside the stream start with this name: the image, the layer, its digest.
        let name = visitor.problem_path.clone();
        archive::walk_stream(&name, &mut reader, size.or(at.size), limits, &mut visitor);
        self.counters.archives(1);
        let verified = verify.expected.is_some();
        if self.cancel.is_cancelled() {
            clean.set(false);
        } else if let Err(e) = verify.finish() {
            fail(e);
        }
        visitor.whiteouts.finish();
        let layer = CachedLayer {
            found: visitor.found,
            whiteouts: visitor.whiteouts,
        };
        if let Some((cache, key)) = &cache {
            if verified && clean.get() && !visitor.troubled {
                if let Ok(value) = serde_json::to_vec(&layer) {
                    cache.put(key, &value);
                }
            }
        }
        Some(Layer {
            found: layer.found,
            whiteouts: Arc::new(layer.whiteouts),
            cached: false,
        })
    }
}

/// `sha256:` and the first 12 hex digits.
fn short(digest: &str) -> &str {
    match digest.split_once(':') {
        Some((alg, hex)) => &digest[..(alg.len() + 1 + hex.len().min(12))],
        None => digest,
    }
}

/// A reader that hashes what it reads, for a blob whose digest is known, and refuses to read
/// past the size the blob should have (a server sending without end).
struct Verify<R> {
    inner: R,
    /// Hashing what is read, with the algorithm of `expected`.
    hasher: Option<Hasher>,
    /// The digest the bytes must have; `None`: not a blob named by its digest.
    expected: Option<ContentDigest>,
    read: u64,
    limit: Option<u64>,
}

impl<R: Read> Read for Verify<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.limit.is_some_and(|limit| self.read > limit) {
            return Err(io::Error::other(format!(
                "the blob is longer than the {} bytes its manifest gives",
                self.limit.unwrap_or_default()
            )));
        }
        if self.expected.is_some() {
            if let Some(h) = &mut self.hasher {
                h.update(&buf[..n]);
            }
        }
        Ok(n)
    }
}

impl<R: Read> Verify<R> {
    /// Reads what the scan left (the end of a tar, compression trailers) and compares the
    /// digest of the whole blob.
    fn finish(mut self) -> Result<(), String> {
        if self.expected.is_none() {
            return Ok(());
        }
        // Read (and hash) the rest before taking `expected` out: `read` hashes only while it
        // is set.
        io::copy(&mut self, &mut io::sink())
            .map_err(|e| format!("not verified against its digest: {}", io_reason(&e)))?;
        let (Some(expected), Some(hasher)) = (self.expected.take(), self.hasher.take()) else {
            return Ok(());
        };
        let actual = hasher.finish();
        if actual == expected {
            Ok(())
        } else {
            Err(format!(
                "digest mismatch: the blob's digest is {actual} ({} bytes); the bytes read are not the layer the manifest names (findings in it are still reported)",
                self.read
            ))
        }
    }
}

/// A reader that ends in an error once the scan is cancelled (a layer stops between reads).
struct Cancellable<'a, R> {
    inner: R,
    cancel: &'a Cancel,
}

impl<R: Read> Read for Cancellable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::other("cancelled"));
        }
        self.inner.read(buf)
    }
}

struct LayerVisitor<'a> {
    scan: &'a ImageScan,
    scratch: Scratch,
    sink: &'a dyn Sink,
    problem_path: String,
    found: Vec<(Finding, Vec<String>)>,
    whiteouts: Whiteouts,
    /// A problem or warning was reported: the layer is not cached (a cached layer would not
    /// report it again).
    troubled: bool,
}

impl archive::Visitor for LayerVisitor<'_> {
    fn entry(&mut self, _path: &str, entries: &[String], data: &[u8]) {
        let scan = self.scan;
        if scan.cancel.is_cancelled() {
            return;
        }
        if !scan.scan_binary && keysweep::is_binary(data) {
            scan.counters.skipped_binary(1);
            return;
        }
        scan.counters.files(1);
        scan.counters.bytes(data.len() as u64);
        let path = entries.join("!/");
        let findings = scan_bytes(&scan.scanner, &mut self.scratch, data, Some(&path));
        self.found
            .extend(findings.into_iter().map(|f| (f, entries.to_vec())));
    }

    fn problem(&mut self, message: String) {
        self.troubled = true;
        if self.scan.cancel.is_cancelled() {
            return;
        }
        let p = Problem::error(ProblemKind::Archive, self.problem_path.clone(), message);
        self.scan.report(self.sink, p);
    }

    fn warning(&mut self, message: String) {
        self.troubled = true;
        let p = Problem::warning(ProblemKind::PathTrick, self.problem_path.clone(), message);
        self.scan.report(self.sink, p);
    }

    fn listed(&mut self, name: &str) {
        self.whiteouts.add(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whiteouts_delete_files_directories_and_opaque_contents() {
        let mut w = Whiteouts::default();
        w.add("app/.wh..env");
        w.add("srv/.wh.cache");
        w.add("etc/conf/.wh..wh..opq");
        w.add("usr/.wh..wh.plnk"); // aufs bookkeeping, not a deletion
        assert!(w.remove("app/.env"));
        assert!(!w.remove("app/.env.example"));
        assert!(!w.remove("app/x/.env"));
        assert!(w.remove("srv/cache"));
        assert!(w.remove("srv/cache/token"));
        assert!(!w.remove("srv/cachet"));
        assert!(w.remove("etc/conf/secrets.yml"));
        assert!(!w.remove("etc/conf"));
        assert!(!w.remove("etc/config/x"));
        assert!(!w.remove("usr/.wh.plnk"));
        let mut root = Whiteouts::default();
        root.add(".wh..wh..opq");
        assert!(root.remove("anything/at/all"));

        // Entries at a path replace what lower layers had there (and nothing else).
        let mut w = Whiteouts::default();
        for name in ["app", "app/.env", "srv/cache/token"] {
            w.add(name);
        }
        w.finish();
        assert!(w.remove("app/.env") && w.remove("srv/cache/token") && w.remove("app"));
        assert!(!w.remove("app/.env.example") && !w.remove("srv/cache") && !w.remove("x"));
        assert_eq!(
            name_hash("app/.env"),
            0x2c05_50b2_4192_b304,
            "FNV-1a, stable across runs"
        );
    }

    #[test]
    fn blob_paths_accept_digests_only() {
        assert_eq!(
            blob_path("sha256:abc123").as_deref(),
            Some("blobs/sha256/abc123")
        );
        assert_eq!(blob_path("sha256:../../etc"), None);
        assert_eq!(blob_path("sha256:ABC"), None);
        assert_eq!(blob_path("nodigest"), None);
        assert_eq!(blob_path("sha256:"), None);
    }

    #[test]
    fn archive_paths_normalize_without_climbing() {
        assert_eq!(normalize("./manifest.json"), "manifest.json");
        assert_eq!(normalize("abc/../blobs/sha256/x"), "blobs/sha256/x");
        assert_eq!(normalize("../../x"), "x");
        assert_eq!(short("sha256:0123456789abcdef"), "sha256:0123456789ab");
    }
}
