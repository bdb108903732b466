//! Pass 1: read every object of the object database once, in pack order.
//!
//! Packs are decoded with gix's delta-tree traversal (each base inflated once, its deltas applied
//! on every core), loose objects one by one. Blobs are scanned as they are decoded and only their
//! findings are kept; commits and tags are kept in a compact form, and trees go into the
//! [tree table](crate::table) that the history walk runs over.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use gix::objs::Kind;
use gix::odb::pack;
use gix::ObjectId;
use keysweep::{Finding, Scanner, Scratch};

use crate::table::{Dense, Special, TreeBatch, TreeTable, SPECIAL, TREE};
use crate::{Problem, Progress};

/// What pass 1 keeps of a commit: enough to order history and walk its tree.
#[derive(Clone, Debug)]
pub(crate) struct RawCommit {
    pub tree: ObjectId,
    pub parents: Box<[ObjectId]>,
    /// Committer time, seconds since the epoch: orders commits that the graph leaves unordered.
    pub time: i64,
}

/// Everything pass 1 found.
#[derive(Default)]
pub(crate) struct Collected {
    /// Blobs that have at least one finding.
    pub findings: HashMap<ObjectId, Vec<Finding>>,
    pub commits: HashMap<ObjectId, RawCommit>,
    /// Annotated tag → the object it points to.
    pub tags: HashMap<ObjectId, ObjectId>,
    /// Every tree, as dense child ids.
    pub trees: TreeTable,
    /// Blobs (dense ids) listed in some tree under a name a path-scoped rule may apply to
    /// ([`keysweep::Scanner::may_scope_name`]): scanned again once their path is known.
    pub scoped: HashSet<u32>,
    pub problems: Vec<Problem>,
}

/// Counters, readable while the scan runs.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub objects: AtomicU64,
    pub blobs: AtomicU64,
    pub blob_bytes: AtomicU64,
    pub skipped_binary: AtomicU64,
    pub skipped_large: AtomicU64,
    /// Blobs whose findings came from the [`BlobCache`](crate::BlobCache).
    pub cached: AtomicU64,
}

/// How blobs are chosen for scanning.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlobPolicy {
    pub scan_binary: bool,
    pub max_blob_size: u64,
}

/// State shared by every worker of pass 1.
pub(crate) struct Shared<'a> {
    pub scanner: &'a Scanner,
    pub policy: BlobPolicy,
    pub counters: &'a Counters,
    pub progress: Option<&'a Progress<'a>>,
    pub hash_kind: gix::hash::Kind,
    pub dense: &'a Dense<'a>,
    pub collected: Mutex<Collected>,
    /// Set by the caller to stop the scan.
    pub cancel: &'a AtomicBool,
    /// Findings of blobs scanned before with the same rules and options.
    pub cache: Option<&'a dyn crate::BlobCache>,
    /// Opens blobs that are archives ([`crate::HistoryScan::archives`]).
    pub archives: Option<&'a crate::ArchiveHook<'a>>,
}

impl Counters {
    /// The counts of a finished scan; the caller fills in the rest.
    pub fn into_stats(self) -> crate::HistoryStats {
        crate::HistoryStats {
            objects: self.objects.into_inner(),
            blobs_scanned: self.blobs.into_inner(),
            blob_bytes: self.blob_bytes.into_inner(),
            skipped_binary: self.skipped_binary.into_inner(),
            skipped_large: self.skipped_large.into_inner(),
            blobs_cached: self.cached.into_inner(),
            ..crate::HistoryStats::default()
        }
    }

    fn snapshot(&self) -> [u64; 5] {
        [
            self.objects.load(Ordering::Relaxed),
            self.blobs.load(Ordering::Relaxed),
            self.blob_bytes.load(Ordering::Relaxed),
            self.skipped_binary.load(Ordering::Relaxed),
            self.skipped_large.load(Ordering::Relaxed),
        ]
    }

    fn restore(&self, s: [u64; 5]) {
        self.objects.store(s[0], Ordering::Relaxed);
        self.blobs.store(s[1], Ordering::Relaxed);
        self.blob_bytes.store(s[2], Ordering::Relaxed);
        self.skipped_binary.store(s[3], Ordering::Relaxed);
        self.skipped_large.store(s[4], Ordering::Relaxed);
    }
}

impl Shared<'_> {
    fn problem(&self, p: Problem) {
        self.collected.lock().unwrap().problems.push(p);
    }
}

/// One thread's worker: scans blobs with its own scratch space and batches what it keeps,
/// handing the batch to [`Shared`] when it is dropped.
struct Worker<'s, 'a> {
    shared: &'s Shared<'a>,
    /// Packs read before this one: an object found there was handled already.
    earlier: &'s [pack::Bundle],
    scratch: Scratch,
    findings: Vec<(ObjectId, Vec<Finding>)>,
    commits: Vec<(ObjectId, RawCommit)>,
    tags: Vec<(ObjectId, ObjectId)>,
    trees: TreeBatch,
    scoped: Vec<u32>,
    out: Vec<Finding>,
}

impl<'s, 'a> Worker<'s, 'a> {
    fn new(shared: &'s Shared<'a>, earlier: &'s [pack::Bundle]) -> Self {
        Worker {
            shared,
            earlier,
            scratch: shared.scanner.scratch(),
            findings: Vec::new(),
            commits: Vec::new(),
            tags: Vec::new(),
            trees: TreeBatch::default(),
            scoped: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Handles one object; `dense` is its dense id when the caller knows it.
    fn handle(&mut self, kind: Kind, data: &[u8], id: &gix::oid, dense: Option<u32>) {
        if self.earlier.iter().any(|b| b.index.lookup(id).is_some()) {
            return;
        }
        let counters = self.shared.counters;
        counters.objects.fetch_add(1, Ordering::Relaxed);
        match kind {
            Kind::Blob => self.blob(data, id),
            Kind::Commit => match parse_commit(data, self.shared.hash_kind) {
                Some(c) => self.commits.push((id.to_owned(), c)),
                None => self
                    .shared
                    .problem(Problem::object(id, "commit object could not be parsed")),
            },
            Kind::Tag => {
                match gix::objs::TagRefIter::from_bytes(data, self.shared.hash_kind).target_id() {
                    Ok(target) => self.tags.push((id.to_owned(), target)),
                    Err(_) => self
                        .shared
                        .problem(Problem::object(id, "tag object could not be parsed")),
                }
            }
            Kind::Tree => match dense.or_else(|| self.shared.dense.id(id)) {
                Some(me) => self.tree(data, id, me),
                None => self
                    .shared
                    .problem(Problem::object(id, "tree has no id in the database")),
            },
        }
    }

    fn tree(&mut self, data: &[u8], id: &gix::oid, me: u32) {
        let start = self.trees.entries.len();
        for entry in gix::objs::TreeRefIter::from_bytes(data, self.shared.hash_kind) {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.shared
                        .problem(Problem::object(id, format!("tree is corrupt: {e}")));
                    break;
                }
            };
            let code = if entry.mode.is_commit() {
                self.special(Special::Gitlink(entry.oid.to_owned()))
            } else {
                match self.shared.dense.id(entry.oid) {
                    Some(child) if entry.mode.is_tree() => TREE | child,
                    Some(child) => {
                        if self.shared.scanner.may_scope_name(entry.filename) {
                            self.scoped.push(child);
                        }
                        child
                    }
                    None => self.special(Special::Missing(entry.oid.to_owned())),
                }
            };
            self.trees.entries.push(code);
        }
        let len = self.trees.entries.len() - start;
        self.trees.spans.push((me, start as u32, len as u32));
        if self.trees.entries.len() >= 1 << 20 {
            self.flush();
        }
    }

    fn special(&self, s: Special) -> u32 {
        let mut c = self
            .shared
            .collected
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        c.trees.specials.push(s);
        SPECIAL | (c.trees.specials.len() - 1) as u32
    }

    fn blob(&mut self, data: &[u8], id: &gix::oid) {
        let counters = self.shared.counters;
        let policy = self.shared.policy;
        if data.len() as u64 > policy.max_blob_size {
            counters.skipped_large.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Some(open) = self.shared.archives {
            if let Some(found) = open(id.to_owned(), data) {
                counters.blobs.fetch_add(1, Ordering::Relaxed);
                if !found.is_empty() {
                    self.findings.push((id.to_owned(), found));
                }
                return;
            }
        }
        if !policy.scan_binary && keysweep::is_binary(data) {
            counters.skipped_binary.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Some(cache) = self.shared.cache {
            if let Some(found) = cache.get(id) {
                counters.cached.fetch_add(1, Ordering::Relaxed);
                if !found.is_empty() {
                    self.findings.push((id.to_owned(), found));
                }
                return;
            }
        }
        self.out.clear();
        self.shared
            .scanner
            .scan_into(&mut self.scratch, data, &mut self.out);
        if let Some(cache) = self.shared.cache {
            cache.put(id, &self.out);
        }
        let blobs = counters.blobs.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = counters
            .blob_bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed)
            + data.len() as u64;
        if !self.out.is_empty() {
            self.findings
                .push((id.to_owned(), std::mem::take(&mut self.out)));
        }
        if let Some(progress) = self.shared.progress {
            if blobs.is_multiple_of(256) {
                progress(blobs, bytes);
            }
        }
    }
}

impl Clone for Worker<'_, '_> {
    fn clone(&self) -> Self {
        Worker::new(self.shared, self.earlier)
    }
}

impl Drop for Worker<'_, '_> {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Worker<'_, '_> {
    /// Hands what this worker kept to [`Shared`].
    fn flush(&mut self) {
        if self.findings.is_empty()
            && self.commits.is_empty()
            && self.tags.is_empty()
            && self.trees.spans.is_empty()
            && self.scoped.is_empty()
        {
            return;
        }
        let mut c = self
            .shared
            .collected
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        c.trees.add(std::mem::take(&mut self.trees));
        c.scoped.extend(self.scoped.drain(..));
        // `entry().or_insert`: an object decoded twice (a pack re-read object by object after its
        // fast traversal failed part-way) is kept once.
        for (id, f) in self.findings.drain(..) {
            c.findings.entry(id).or_insert(f);
        }
        c.commits.extend(self.commits.drain(..));
        c.tags.extend(self.tags.drain(..));
    }
}

fn parse_commit(data: &[u8], hash_kind: gix::hash::Kind) -> Option<RawCommit> {
    use gix::objs::commit::ref_iter::Token;
    let mut tree = None;
    let mut parents = Vec::new();
    let mut time = 0;
    for token in gix::objs::CommitRefIter::from_bytes(data, hash_kind) {
        match token.ok()? {
            Token::Tree { id } => tree = Some(id),
            Token::Parent { id } => parents.push(id),
            Token::Author { .. } => {}
            Token::Committer { signature } => {
                time = signature.seconds();
                break;
            }
            _ => break,
        }
    }
    Some(RawCommit {
        tree: tree?,
        parents: parents.into_boxed_slice(),
        time,
    })
}

/// The pack indices and loose object directories of a repository, alternates included.
pub(crate) struct Sources {
    pub packs: Vec<pack::Bundle>,
    /// Loose object directories and the objects in each.
    pub loose: Vec<(PathBuf, Vec<ObjectId>)>,
}

impl Sources {
    pub fn loose_ids(&self) -> Vec<ObjectId> {
        self.loose
            .iter()
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect()
    }
}

pub(crate) fn sources(repo: &gix::Repository, problems: &mut Vec<Problem>) -> Sources {
    use gix::odb::store::structure::Record;
    let hash_kind = repo.object_hash();
    let mut index_paths = Vec::new();
    let mut loose = Vec::new();
    match repo.objects.store_ref().structure() {
        Ok(records) => {
            for record in records {
                match record {
                    Record::LooseObjectDatabase {
                        objects_directory, ..
                    } => loose.push(objects_directory),
                    Record::Index { path, .. } => index_paths.push(path),
                    // A multi-pack index covers the packs beside it; read them one by one.
                    Record::MultiIndex { path, .. } => {
                        let dir = path.parent().unwrap_or(Path::new("."));
                        match std::fs::read_dir(dir) {
                            Ok(entries) => index_paths.extend(
                                entries
                                    .filter_map(|e| e.ok().map(|e| e.path()))
                                    .filter(|p| p.extension().is_some_and(|e| e == "idx")),
                            ),
                            Err(e) => problems.push(Problem::file(
                                dir,
                                format!("cannot list pack directory: {e}"),
                            )),
                        }
                    }
                    Record::Empty => {}
                }
            }
        }
        Err(e) => problems.push(Problem::file(
            repo.objects.store_ref().path(),
            format!("cannot read the object database: {e}"),
        )),
    }
    index_paths.sort();
    index_paths.dedup();
    let mut packs = Vec::new();
    for path in index_paths {
        match pack::Bundle::at(&path, hash_kind) {
            Ok(b) => packs.push(b),
            Err(e) => problems.push(Problem::file(&path, format!("cannot open pack: {e}"))),
        }
    }
    let loose = loose
        .into_iter()
        .map(|dir| {
            let store = gix::odb::loose::Store::at(&dir, hash_kind);
            let mut ids = Vec::new();
            for id in store.iter() {
                match id {
                    Ok(id) => ids.push(id),
                    Err(e) => problems.push(Problem::file(
                        &dir,
                        format!("cannot list loose objects: {e}"),
                    )),
                }
            }
            (dir, ids)
        })
        .collect();
    Sources { packs, loose }
}

/// Reads every object of `sources`, scanning blobs, on `threads` threads.
pub(crate) fn read_all(shared: &Shared<'_>, sources: &Sources, threads: usize) {
    shared.collected.lock().unwrap().trees = TreeTable::with_len(shared.dense.len());
    for (i, bundle) in sources.packs.iter().enumerate() {
        read_pack(shared, &sources.packs[..i], i, bundle, threads);
    }
    for (dir, ids) in &sources.loose {
        read_loose(shared, &sources.packs, dir, ids, threads);
    }
}

fn read_pack(
    shared: &Shared<'_>,
    earlier: &[pack::Bundle],
    pack_no: usize,
    bundle: &pack::Bundle,
    threads: usize,
) {
    let before = shared.counters.snapshot();
    if shared.cancel.load(Ordering::Relaxed) {
        return;
    }
    let mut worker = Worker::new(shared, earlier);
    let result = bundle.index.traverse_with_index(
        &bundle.pack,
        move |kind: Kind, data: &[u8], entry: &pack::index::Entry, _: &dyn gix::Progress| {
            let dense = (kind == Kind::Tree)
                .then(|| bundle.index.lookup(entry.oid))
                .flatten()
                .map(|i| shared.dense.in_pack(pack_no, i));
            worker.handle(kind, data, &entry.oid, dense);
            Ok(())
        },
        &mut gix::progress::Discard,
        shared.cancel,
        pack::index::traverse::with_index::Options {
            check: pack::index::traverse::SafetyCheck::SkipFileAndObjectChecksumVerification,
            thread_limit: Some(threads),
            alloc_limit_bytes: None,
        },
    );
    if shared.cancel.load(Ordering::Relaxed) {
        return; // interrupted on purpose: not a damaged pack
    }
    if let Err(e) = result {
        shared.problem(Problem::file(
            bundle.pack.path(),
            format!("pack could not be decoded in one pass ({e}); reading its objects one by one"),
        ));
        // What the fast pass did is kept (findings, commits and trees are keyed by id, so
        // reading them again changes nothing) but counted once.
        shared.counters.restore(before);
        read_pack_slowly(shared, earlier, pack_no, bundle);
    }
}

/// The fallback for a damaged pack: every object on its own, each failure reported with its id.
fn read_pack_slowly(
    shared: &Shared<'_>,
    earlier: &[pack::Bundle],
    pack_no: usize,
    bundle: &pack::Bundle,
) {
    let mut worker = Worker::new(shared, earlier);
    let mut order: Vec<(u64, u32)> = (0..bundle.index.num_objects())
        .map(|i| (bundle.index.pack_offset_at_index(i), i))
        .collect();
    order.sort_unstable();
    let mut buf = Vec::new();
    let mut inflate = gix::zlib::Inflate::default();
    let mut cache = pack::cache::lru::StaticLinkedList::<64>::default();
    for (_, i) in order {
        if shared.cancel.load(Ordering::Relaxed) {
            return;
        }
        let id = bundle.index.oid_at_index(i).to_owned();
        match bundle.get_object_by_index(i, &mut buf, &mut inflate, &mut cache) {
            Ok((data, _)) => worker.handle(
                data.kind,
                data.data,
                &id,
                Some(shared.dense.in_pack(pack_no, i)),
            ),
            Err(e) => shared.problem(Problem {
                object: Some(id),
                file: Some(bundle.pack.path().to_owned()),
                message: format!("object could not be decoded: {e}"),
            }),
        }
    }
}

fn read_loose(
    shared: &Shared<'_>,
    packs: &[pack::Bundle],
    dir: &Path,
    ids: &[ObjectId],
    threads: usize,
) {
    use rayon::prelude::*;
    let store = gix::odb::loose::Store::at(dir, shared.hash_kind);
    let work = || {
        ids.par_iter().for_each_init(
            || (Worker::new(shared, packs), Vec::new()),
            |(worker, buf), id| {
                if shared.cancel.load(Ordering::Relaxed) {
                    return;
                }
                match store.try_find(id, buf) {
                    Ok(Some(data)) => worker.handle(data.kind, data.data, id, None),
                    Ok(None) => {}
                    Err(e) => shared.problem(Problem {
                        object: Some(*id),
                        file: Some(store.object_path(id)),
                        message: format!("loose object could not be read: {e}"),
                    }),
                }
            },
        )
    };
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}
