//! Answers kept on disk between runs ([`AnswerStore`]), so that a daily sweep or a repeated
//! scan does not ask a provider again about a credential it answered for recently.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableDefinition};

use crate::{Status, Validation};

/// Key: a SHA-256 over the credential and the validator's configuration. Value: JSON.
const ANSWERS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("answers-v1");

/// Definite answers (`live`, `invalid`) of earlier runs, on disk, each for a time to live.
///
/// Keys are SHA-256 digests over the rule id, the secret, its parts, the rule's validator and
/// the validator's origin overrides: the file never holds a secret, an answer is never reused
/// for another rule or after the rule's validator changed, and a run pointed at a test server
/// never answers for the real provider. Values hold the verdict, its (already redacted) reason
/// and identity, and when it was checked. `unknown` and `error` are never stored: they say
/// nothing lasting about the credential.
///
/// One process at a time: [`open`](Self::open) fails with [`StoreErrorKind::Busy`] while
/// another holds the file. Expired answers are removed when the store is opened.
///
/// ```
/// use std::time::Duration;
/// use keysweep_validate::{AnswerStore, Validator};
///
/// let dir = tempfile::tempdir()?;
/// let store = AnswerStore::open(dir.path().join("answers.redb"), Duration::from_secs(86_400))?;
/// assert_eq!(store.len()?, 0);
/// let validator = Validator::builder().answer_store(store).build()?;
/// assert_eq!(validator.stats().stored_hits, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AnswerStore {
    db: Database,
    ttl: Duration,
    path: PathBuf,
}

impl fmt::Debug for AnswerStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnswerStore")
            .field("path", &self.path)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    /// When the provider answered, in Unix seconds.
    at: u64,
    status: Status,
    reason: String,
    identity: Vec<(String, String)>,
}

impl AnswerStore {
    /// Opens (creating it if needed) the store at `path`, whose answers live for `ttl`, and
    /// removes the expired ones. A zero `ttl` keeps nothing: every lookup misses.
    pub fn open(path: impl AsRef<Path>, ttl: Duration) -> Result<AnswerStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let db = match Database::create(&path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(StoreError::new(&path, StoreErrorKind::Busy))
            }
            Err(e) => {
                return Err(StoreError::new(
                    &path,
                    StoreErrorKind::Database(e.to_string()),
                ))
            }
        };
        let store = AnswerStore { db, ttl, path };
        store.purge(SystemTime::now())?;
        Ok(store)
    }

    /// Where the store is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long answers live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The number of answers held (expired ones included until the next open).
    pub fn len(&self) -> Result<usize, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        match r.open_table(ANSWERS) {
            Ok(t) => Ok(t.len().map_err(|e| self.err(e))? as usize),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Whether no answer is held.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// The answer stored under `key`, unless it expired; its reason says how old it is.
    pub(crate) fn get(
        &self,
        key: &[u8; 32],
        now: SystemTime,
    ) -> Result<Option<Validation>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = match r.open_table(ANSWERS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        let Some(raw) = table.get(&key[..]).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let Ok(stored) = serde_json::from_slice::<Stored>(raw.value()) else {
            // An entry of another format is a miss; the next answer replaces it.
            return Ok(None);
        };
        let Some(age) = self.age(stored.at, now) else {
            return Ok(None);
        };
        Ok(Some(Validation {
            status: stored.status,
            reason: format!(
                "{} (stored answer, checked {} ago)",
                stored.reason,
                human_age(age)
            ),
            identity: stored.identity,
        }))
    }

    /// Stores a definite answer (`live` or `invalid`; others are ignored).
    pub(crate) fn put(
        &self,
        key: &[u8; 32],
        v: &Validation,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        if !matches!(v.status, Status::Live | Status::Invalid) || self.ttl.is_zero() {
            return Ok(());
        }
        let stored = Stored {
            at: unix(now),
            status: v.status,
            reason: v.reason.clone(),
            identity: v.identity.clone(),
        };
        let bytes = serde_json::to_vec(&stored).map_err(|e| self.err(e))?;
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = txn.open_table(ANSWERS).map_err(|e| self.err(e))?;
            t.insert(&key[..], &bytes[..]).map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// The age of an answer checked at `at`, if it is still alive at `now`. An answer from
    /// the future (a clock set back) is not trusted.
    fn age(&self, at: u64, now: SystemTime) -> Option<Duration> {
        let age = unix(now).checked_sub(at).map(Duration::from_secs)?;
        (age < self.ttl).then_some(age)
    }

    fn purge(&self, now: SystemTime) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = txn.open_table(ANSWERS).map_err(|e| self.err(e))?;
            t.retain(|_, v| {
                serde_json::from_slice::<Stored>(v)
                    .ok()
                    .and_then(|s| self.age(s.at, now))
                    .is_some()
            })
            .map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    fn err(&self, e: impl fmt::Display) -> StoreError {
        StoreError::new(&self.path, StoreErrorKind::Database(e.to_string()))
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn human_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

/// Why an [`AnswerStore`] could not be opened, read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    path: PathBuf,
    kind: StoreErrorKind,
}

/// What went wrong with an [`AnswerStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// Another process has the store open.
    Busy,
    /// The database failed (I/O, a damaged file).
    Database(String),
}

impl StoreError {
    fn new(path: &Path, kind: StoreErrorKind) -> StoreError {
        StoreError {
            path: path.to_path_buf(),
            kind,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &StoreErrorKind {
        &self.kind
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.kind {
            StoreErrorKind::Busy => write!(f, "{p}: the answer store is in use by another process"),
            StoreErrorKind::Database(m) => write!(f, "{p}: answer store: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: Status) -> Validation {
        Validation {
            status,
            reason: "HTTP 200".into(),
            identity: vec![("user".into(), "octocat".into())],
        }
    }

    #[test]
    fn answers_live_for_their_ttl_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.redb");
        let now = SystemTime::now();
        let key = [7u8; 32];
        {
            let s = AnswerStore::open(&path, Duration::from_secs(3600)).unwrap();
            s.put(&key, &answer(Status::Live), now - Duration::from_secs(120))
                .unwrap();
            let v = s.get(&key, now).unwrap().unwrap();
            assert_eq!(v.status, Status::Live);
            assert_eq!(v.identity, answer(Status::Live).identity);
            assert!(v.reason.contains("checked 2 min ago"), "{}", v.reason);
            // Past the TTL it is a miss.
            assert!(s
                .get(&key, now + Duration::from_secs(3600))
                .unwrap()
                .is_none());
            // Another key is a miss.
            assert!(s.get(&[8u8; 32], now).unwrap().is_none());
            // A second opener is refused while the first holds it.
            let busy = AnswerStore::open(&path, Duration::from_secs(3600)).unwrap_err();
            assert_eq!(busy.kind(), &StoreErrorKind::Busy);
        }
        let s = AnswerStore::open(&path, Duration::from_secs(3600)).unwrap();
        assert_eq!(s.get(&key, now).unwrap().unwrap().status, Status::Live);
        // Reopened with a shorter TTL, the answer has expired and is purged.
        drop(s);
        let s = AnswerStore::open(&path, Duration::from_secs(60)).unwrap();
        assert_eq!(s.len().unwrap(), 0);
    }

    #[test]
    fn only_definite_answers_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let s = AnswerStore::open(dir.path().join("a.redb"), Duration::from_secs(60)).unwrap();
        let now = SystemTime::now();
        for (i, st) in [Status::Unknown, Status::Error].into_iter().enumerate() {
            s.put(&[i as u8; 32], &answer(st), now).unwrap();
        }
        assert_eq!(s.len().unwrap(), 0);
        s.put(&[9; 32], &answer(Status::Invalid), now).unwrap();
        assert_eq!(s.len().unwrap(), 1);
        // A clock set back does not trust an answer from the future.
        assert!(s
            .get(&[9; 32], now - Duration::from_secs(10))
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.redb");
        std::fs::write(&path, b"this is not a database, just some bytes").unwrap();
        let e = AnswerStore::open(&path, Duration::from_secs(60)).unwrap_err();
        assert!(matches!(e.kind(), StoreErrorKind::Database(_)), "{e:?}");
        assert!(e.to_string().contains("a.redb"), "{e}");
    }
}
