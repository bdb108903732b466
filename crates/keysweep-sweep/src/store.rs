//! The on-disk cache: one redb file in the work directory.
//!
//! - `blobs-<fingerprint>`: blob id → what a scan of that blob found, for one rule set and set of
//!   scan options (their fingerprint names the table, so changing either starts a new table and
//!   a sweep drops the others).
//! - `layers-<fingerprint>`: image layer digest → what a scan of that layer found and the
//!   files its whiteouts delete (`keysweep scan --image --cache`; shared by every image).
//! - `repos`: repository key → its state after its last sweep: the rule fingerprint, the tips
//!   of its refs and its findings with their provenance (what an unchanged repository reports
//!   without reading a blob).
//!
//! redb commits are atomic and crash-safe: a sweep killed at any point leaves the last
//! committed state, and each repository's blobs and state are committed together.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use keysweep::Finding;
use keysweep_git::{BlobCache, KnownCommits, ObjectId};
use keysweep_report::Record;
use keysweep_source::Algorithm;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use serde::{Deserialize, Serialize};

use crate::stored::Stored;

const REPOS: TableDefinition<&str, &[u8]> = TableDefinition::new("repos");
/// Repository key → its findings (JSON Lines, parsed and written in parallel), apart from `repos` so that a re-sweep that changes
/// none of them rewrites only the small state.
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
/// Repository key → the commits its refs reached at its last sweep
/// ([`keysweep_git::KnownCommits`]): a re-sweep reads only commits added since.
const COMMITS: TableDefinition<&str, &[u8]> = TableDefinition::new("commits");
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
/// Bumped when the layout of what is stored changes: a cache of another format is dropped.
const FORMAT: &str = "2";
/// The page cache of the database.
const CACHE_BYTES: usize = 64 << 20;

/// A repository's state after its last sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RepoState {
    /// Fingerprint of the rules and options it was swept with.
    pub rules: String,
    /// Its refs and the commits they named.
    pub tips: Vec<(String, String)>,
    /// Its findings, secrets unredacted (the cache file is readable by its owner only).
    pub records: Vec<Record>,
    /// Distinct blobs reachable from its refs.
    pub reachable_blobs: u64,
    /// The SHA-256 (hex) of its findings as stored, set by [`Store::commit`]: equal digests,
    /// equal findings. `None` for a state of earlier versions.
    pub records_digest: Option<String>,
}

/// What `repos` holds: the state without its findings.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredState {
    pub(crate) rules: String,
    pub(crate) tips: Vec<(String, String)>,
    pub(crate) reachable_blobs: u64,
    /// Digest of the stored findings (absent in caches of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) records_digest: Option<String>,
}

/// The cache database of a work directory.
pub struct Store {
    db: Arc<Database>,
    path: PathBuf,
}

/// Why the cache could not be used.
#[derive(Debug)]
pub enum StoreError {
    /// Another process (a sweep) has the cache open.
    Busy(PathBuf),
    /// Anything else, as a message naming the file.
    Other(String),
}

fn msg(path: &Path, what: &str, e: impl std::fmt::Display) -> String {
    format!("cache {}: {what}: {e}", path.display())
}

impl Store {
    /// Opens (or creates) `dir/cache.redb`. A damaged file is moved aside to
    /// `cache.redb.damaged` and a new one is started; the note says so.
    pub fn open(dir: &Path) -> Result<(Store, Option<String>), StoreError> {
        let path = dir.join("cache.redb");
        let mut note = None;
        // redb's page cache defaults to 1 GiB; a sweep's memory should go to scanning.
        let create = |p: &Path| Database::builder().set_cache_size(CACHE_BYTES).create(p);
        let db = match create(&path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(StoreError::Busy(dir.to_owned()))
            }
            Err(e) => {
                let aside = dir.join("cache.redb.damaged");
                std::fs::rename(&path, &aside).map_err(|re| {
                    StoreError::Other(msg(&path, "damaged and cannot be moved aside", re))
                })?;
                note = Some(format!(
                    "the cache {} was damaged ({e}); it was moved to {} and is rebuilt: this sweep scans every blob again",
                    path.display(),
                    aside.display()
                ));
                create(&path).map_err(|e| StoreError::Other(msg(&path, "cannot be created", e)))?
            }
        };
        restrict(&path);
        let store = Store {
            db: Arc::new(db),
            path,
        };
        store.check_format()?;
        Ok((store, note))
    }

    fn check_format(&self) -> Result<(), StoreError> {
        // The common case, read only: a write transaction commits to disk (fsync), which a
        // worker opening the cache for each repository would pay every time.
        let current = self.db.begin_read().ok().and_then(|r| {
            let meta = r.open_table(META).ok()?;
            let v = meta.get("format").ok()??;
            Some(v.value() == FORMAT)
        });
        if current == Some(true) {
            return Ok(());
        }
        let err =
            |e: &dyn std::fmt::Display| StoreError::Other(msg(&self.path, "cannot be written", e));
        let txn = self.db.begin_write().map_err(|e| err(&e))?;
        let stale = {
            let mut meta = txn.open_table(META).map_err(|e| err(&e))?;
            let current = meta
                .get("format")
                .map_err(|e| err(&e))?
                .map(|v| v.value().to_string());
            let stale = current.as_deref().is_some_and(|f| f != FORMAT);
            meta.insert("format", FORMAT).map_err(|e| err(&e))?;
            stale
        };
        if stale {
            let names: Vec<String> = redb::ReadableDatabase::begin_read(&*self.db)
                .ok()
                .and_then(|r| {
                    r.list_tables()
                        .ok()
                        .map(|t| t.map(|h| h.name().to_string()).collect())
                })
                .unwrap_or_default();
            for name in names.iter().filter(|n| {
                n.starts_with("blobs-") || ["repos", "records", "commits"].contains(&n.as_str())
            }) {
                let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(name);
                let _ = txn.delete_table(def);
            }
        }
        txn.commit().map_err(|e| err(&e))
    }

    /// The path of the cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Drops the blob tables of other rule fingerprints than `keep`.
    pub fn drop_other_rules(&self, keep: &str) -> Result<(), String> {
        let err = |e: &dyn std::fmt::Display| msg(&self.path, "cannot be written", e);
        let names: Vec<String> = {
            let r = self.db.begin_read().map_err(|e| err(&e))?;
            let names = r
                .list_tables()
                .map_err(|e| err(&e))?
                .map(|h| h.name().to_string())
                .collect();
            names
        };
        let keep = blob_table_name(keep);
        let stale: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with("blobs-") && **n != keep)
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(|e| err(&e))?;
        for name in stale {
            let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(name);
            txn.delete_table(def).map_err(|e| err(&e))?;
        }
        txn.commit().map_err(|e| err(&e))
    }

    /// The layer cache of image scans with the fingerprint `fingerprint`
    /// ([`keysweep_source::ImageScan::cache_fingerprint`]), in table `layers-<fingerprint>`;
    /// the tables of other fingerprints are dropped. Each layer is committed as it is stored,
    /// so a scan stopped halfway keeps the layers it finished.
    pub fn layers(&self, fingerprint: &str) -> Result<Arc<LayerTable>, String> {
        let err = |e: &dyn std::fmt::Display| msg(&self.path, "cannot be written", e);
        let name = format!("layers-{fingerprint}");
        let txn = self.db.begin_write().map_err(|e| err(&e))?;
        let stale: Vec<String> = txn
            .list_tables()
            .map_err(|e| err(&e))?
            .map(|h| h.name().to_string())
            .filter(|n| n.starts_with("layers-") && *n != name)
            .collect();
        for stale in &stale {
            let def: TableDefinition<&str, &[u8]> = TableDefinition::new(stale);
            txn.delete_table(def).map_err(|e| err(&e))?;
        }
        // Created now, so that reads find it.
        txn.open_table(TableDefinition::<&str, &[u8]>::new(&name))
            .map_err(|e| err(&e))?;
        txn.commit().map_err(|e| err(&e))?;
        Ok(Arc::new(LayerTable {
            db: Arc::clone(&self.db),
            path: self.path.clone(),
            name,
            error: Mutex::new(None),
        }))
    }

    /// Whether the repository `key` has a state from a sweep with the rule fingerprint
    /// `rules` (its findings are not read).
    pub fn swept_with(&self, key: &str, rules: &str) -> Result<bool, String> {
        Ok(self.state(key)?.is_some_and(|s| s.rules == rules))
    }

    /// The state of the repository `key` after its last sweep, without its findings.
    pub(crate) fn state(&self, key: &str) -> Result<Option<StoredState>, String> {
        let err = |e: &dyn std::fmt::Display| msg(&self.path, "cannot be read", e);
        let r = self.db.begin_read().map_err(|e| err(&e))?;
        let table = match r.open_table(REPOS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(err(&e)),
        };
        let Some(v) = table.get(key).map_err(|e| err(&e))? else {
            return Ok(None);
        };
        // A state that no longer parses (written by another version) is as good as none.
        Ok(serde_json::from_slice::<StoredState>(v.value()).ok())
    }

    /// The findings of the repository `key` at its last sweep (`None` when there are none
    /// stored or they do not read back).
    pub(crate) fn records(&self, key: &str) -> Result<Option<Vec<Record>>, String> {
        let err = |e: &dyn std::fmt::Display| msg(&self.path, "cannot be read", e);
        let r = self.db.begin_read().map_err(|e| err(&e))?;
        match r.open_table(RECORDS) {
            Ok(t) => Ok(t
                .get(key)
                .map_err(|e| err(&e))?
                .and_then(|v| decode_records(v.value()))),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(err(&e)),
        }
    }

    /// The state of the repository `key` after its last sweep.
    pub fn repo(&self, key: &str) -> Result<Option<RepoState>, String> {
        let Some(state) = self.state(key)? else {
            return Ok(None);
        };
        Ok(self.records(key)?.map(|records| RepoState {
            rules: state.rules,
            tips: state.tips,
            records,
            reachable_blobs: state.reachable_blobs,
            records_digest: state.records_digest,
        }))
    }

    /// The commits the refs of repository `key` reached at its last sweep, if they were kept
    /// (and read back whole).
    pub fn known_commits(&self, key: &str) -> Result<Option<KnownCommits>, String> {
        let err = |e: &dyn std::fmt::Display| msg(&self.path, "cannot be read", e);
        let r = self.db.begin_read().map_err(|e| err(&e))?;
        let table = match r.open_table(COMMITS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(err(&e)),
        };
        let Some(v) = table.get(key).map_err(|e| err(&e))? else {
            return Ok(None);
        };
        Ok(KnownCommits::from_bytes(v.value()))
    }

    /// The blob cache for the rule fingerprint `rules`: reads see what is committed, writes
    /// wait in memory until [`commit`](Store::commit).
    pub fn blobs(&self, rules: &str) -> Result<Arc<BlobTable>, String> {
        let name = blob_table_name(rules);
        let reader = {
            let r = self
                .db
                .begin_read()
                .map_err(|e| msg(&self.path, "cannot be read", e))?;
            let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&name);
            match r.open_table(def) {
                Ok(t) => Some(t),
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(e) => return Err(msg(&self.path, "cannot be read", e)),
            }
        };
        Ok(Arc::new(BlobTable {
            name,
            reader,
            pending: Mutex::new(HashMap::new()),
        }))
    }

    /// Commits a repository's state, the blobs its sweep scanned and the commits its refs
    /// reach, together. Its findings are written only when `records_changed` (the stored ones
    /// are otherwise the same, and so is their digest, which `state` then carries); when they
    /// are, `state.records_digest` is set to their new digest.
    pub fn commit(
        &self,
        key: &str,
        state: &mut RepoState,
        blobs: &BlobTable,
        known: Option<&KnownCommits>,
        records_changed: bool,
    ) -> Result<(), String> {
        let err = |e: &dyn std::fmt::Display| msg(&self.path, "cannot be written", e);
        let pending = std::mem::take(&mut *blobs.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let records = if records_changed || state.records_digest.is_none() {
            let bytes = encode_records(&state.records).map_err(|e| err(&e))?;
            state.records_digest = Some(Algorithm::Sha256.digest(&bytes).hex().to_owned());
            Some(bytes)
        } else {
            None
        };
        let value = serde_json::to_vec(&StoredState {
            rules: state.rules.clone(),
            tips: state.tips.clone(),
            reachable_blobs: state.reachable_blobs,
            records_digest: state.records_digest.clone(),
        })
        .map_err(|e| err(&e))?;
        let txn = self.db.begin_write().map_err(|e| err(&e))?;
        {
            let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&blobs.name);
            let mut table = txn.open_table(def).map_err(|e| err(&e))?;
            for (id, found) in &pending {
                table
                    .insert(id.as_slice(), found.as_slice())
                    .map_err(|e| err(&e))?;
            }
            let mut repos = txn.open_table(REPOS).map_err(|e| err(&e))?;
            repos.insert(key, value.as_slice()).map_err(|e| err(&e))?;
            if let Some(records) = &records {
                let mut table = txn.open_table(RECORDS).map_err(|e| err(&e))?;
                table.insert(key, records.as_slice()).map_err(|e| err(&e))?;
            }
            let mut commits = txn.open_table(COMMITS).map_err(|e| err(&e))?;
            match known {
                Some(k) => {
                    commits
                        .insert(key, k.to_bytes().as_slice())
                        .map_err(|e| err(&e))?;
                }
                // Stale commits would make the next sweep skip what they name: none is safe.
                None => {
                    commits.remove(key).map_err(|e| err(&e))?;
                }
            }
        }
        txn.commit().map_err(|e| err(&e))
    }
}

/// Findings as stored: one JSON object a line (serde_json's compact form has no newline),
/// so that both directions run on every core, each in the cache's nested form ([`Stored`]):
/// a re-sweep of repositories with thousands of findings spends most of its time here.
fn encode_records(records: &[Record]) -> Result<Vec<u8>, serde_json::Error> {
    use rayon::prelude::*;
    let lines = records
        .par_iter()
        .map(|r| serde_json::to_vec(&Stored::of(r)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(lines.join(&b'\n'))
}

/// What [`encode_records`] wrote (or, line by line, a [`Record`] as earlier versions stored
/// it); `None` for anything else (as good as no state).
fn decode_records(bytes: &[u8]) -> Option<Vec<Record>> {
    use rayon::prelude::*;
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    lines
        .par_iter()
        .map(|line| {
            // serde writes fields in order: a record of earlier versions starts with its rule.
            if line.starts_with(b"{\"rule_id\":") {
                serde_json::from_slice::<Record>(line).ok()
            } else {
                serde_json::from_slice::<Stored>(line)
                    .ok()
                    .map(Stored::into_record)
            }
        })
        .collect()
}

fn blob_table_name(rules: &str) -> String {
    format!("blobs-{rules}")
}

/// The cache holds secrets: only its owner may read it.
fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Opens the image layer cache in `dir` (created if need be; the cache file of a sweep's work
/// directory) for the fingerprint `fingerprint`
/// ([`keysweep_source::ImageScan::cache_fingerprint`]), with a note when a damaged cache was
/// moved aside. Fails with a message (naming the directory) when another sweep or scan has it
/// open or it cannot be created.
pub fn open_layer_cache(
    dir: &Path,
    fingerprint: &str,
) -> Result<(Arc<LayerTable>, Option<String>), String> {
    std::fs::create_dir_all(dir).map_err(|e| {
        format!(
            "the cache directory {} cannot be created: {}",
            dir.display(),
            keysweep_source::io_reason(&e)
        )
    })?;
    let (store, note) = Store::open(dir).map_err(|e| match e {
        StoreError::Busy(d) => format!(
            "the cache in {} is in use by another sweep or scan",
            d.display()
        ),
        StoreError::Other(m) => m,
    })?;
    Ok((store.layers(fingerprint)?, note))
}

/// One fingerprint's image layer cache, as a [`keysweep_source::LayerCache`].
pub struct LayerTable {
    db: Arc<Database>,
    path: PathBuf,
    name: String,
    /// The first write that failed (a full disk): said once, after the scan.
    error: Mutex<Option<String>>,
}

impl LayerTable {
    /// Why storing a layer failed, if it did (the scan itself went on).
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn write(&self, digest: &str, value: &[u8]) -> Result<(), String> {
        let err = |e: &dyn std::fmt::Display| msg(&self.path, "cannot be written", e);
        let txn = self.db.begin_write().map_err(|e| err(&e))?;
        {
            let def: TableDefinition<&str, &[u8]> = TableDefinition::new(&self.name);
            let mut table = txn.open_table(def).map_err(|e| err(&e))?;
            table.insert(digest, value).map_err(|e| err(&e))?;
        }
        txn.commit().map_err(|e| err(&e))
    }
}

impl keysweep_source::LayerCache for LayerTable {
    fn get(&self, digest: &str) -> Option<Vec<u8>> {
        let r = self.db.begin_read().ok()?;
        let def: TableDefinition<&str, &[u8]> = TableDefinition::new(&self.name);
        let table = r.open_table(def).ok()?;
        let v = table.get(digest).ok()??;
        Some(v.value().to_vec())
    }

    fn put(&self, digest: &str, value: &[u8]) {
        if let Err(e) = self.write(digest, value) {
            let mut first = self.error.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert(e);
        }
    }
}

/// One rule fingerprint's blob cache, as a [`BlobCache`] for history scans.
pub struct BlobTable {
    name: String,
    reader: Option<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>,
    pending: Mutex<HashMap<ObjectId, Vec<u8>>>,
}

impl BlobCache for BlobTable {
    fn get(&self, blob: &gix::oid) -> Option<Vec<Finding>> {
        // Only what earlier repositories committed: a history scan meets each blob once, so
        // what this one put is never asked for again (and reads take no lock).
        let v = self.reader.as_ref()?.get(blob.as_bytes()).ok()??;
        decode(v.value())
    }

    fn put(&self, blob: &gix::oid, findings: &[Finding]) {
        let value = if findings.is_empty() {
            Vec::new()
        } else {
            match serde_json::to_vec(findings) {
                Ok(v) => v,
                Err(_) => return,
            }
        };
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(blob.to_owned(), value);
    }
}

/// Findings as stored: empty for none. What does not decode is as good as not cached.
fn decode(v: &[u8]) -> Option<Vec<Finding>> {
    if v.is_empty() {
        Some(Vec::new())
    } else {
        serde_json::from_slice(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::{decode_records, encode_records};

    /// Every field and every kind of source survives the cache's nested form.
    #[test]
    fn every_field_survives_the_stored_form() {
        let history = br#"{"rule_id":"aws.access_key","rule_name":"AWS","path":"a.env","path_base64":"YS5lbnY=","source":"history","git":{"blob":"b1","commit":"c1","author_name":"Ada","author_email":"ada@example.com","date":"2020-09-13T14:26:40+02:00","summary":"add","refs":["refs/heads/main"],"refs_total":3,"present_at_head":true,"reachable":true,"damaged":true},"context":"config","archive":{"file":"x.zip","entries":["a.env"]},"repository":{"id":"github.com/a/b","root":"/r","path":"a.env"},"submodule":{"path":"vendor/x","commit":"c2","depth":1},"line":2,"column":3,"end_line":4,"end_column":5,"byte_start":6,"byte_end":7,"secret":"AKIA","redacted":false,"fingerprint":"0123456789abcdef0123456789abcdef","entropy":3.5,"confidence":"medium","check_passed":true,"tags":["cloud"],"suppressed":"allowlist","decoded":["base64"],"parts":[{"name":"key_id","value":"k","redacted":true,"rule_id":"r2"}],"validation":{"status":"live","reason":"ok","identity":[{"name":"account","value":"1"}]}}"#;
        let change = br#"{"rule_id":"r","path":"b","source":"change","git":{"change":"staged","blob":"b2"},"line":1,"column":1,"secret":"s","redacted":false,"fingerprint":"00000000000000000000000000000000","confidence":"high"}"#;
        let image = br#"{"rule_id":"r","source":"image","image":{"name":"i.tar","tags":["t"],"manifest":"sha256:m","part":"layer","layer":{"digest":"sha256:l","index":1,"count":2,"removed_in":2}},"line":1,"column":1,"secret":"s","redacted":false,"fingerprint":"00000000000000000000000000000000","confidence":"high"}"#;
        let stdin = br#"{"rule_id":"r","source":"stdin","line":1,"column":1,"secret":"s","redacted":false,"fingerprint":"00000000000000000000000000000000","confidence":"low"}"#;
        for line in [&history[..], change, image, stdin] {
            let record: keysweep_report::Record = serde_json::from_slice(line).unwrap();
            let bytes = encode_records(std::slice::from_ref(&record)).unwrap();
            assert!(!bytes.starts_with(b"{\"rule_id\""), "stored nested");
            assert_eq!(decode_records(&bytes), Some(vec![record.clone()]));
        }
    }

    #[test]
    fn records_round_trip_line_by_line_and_damage_is_no_state() {
        assert_eq!(
            decode_records(&encode_records(&[]).unwrap()),
            Some(Vec::new())
        );
        let line = br#"{"rule_id":"r","path":"a\nb.env","source":"file","line":1,"column":1,"secret":"x\ny","redacted":false,"fingerprint":"00000000000000000000000000000000","confidence":"high"}"#;
        let records = decode_records(line).expect("a record");
        assert_eq!(records[0].secret, "x\ny");
        let bytes = encode_records(&[records[0].clone(), records[0].clone()]).unwrap();
        assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(decode_records(&bytes).unwrap(), vec![records[0].clone(); 2]);
        assert_eq!(decode_records(b"[not json"), None);
    }
}
