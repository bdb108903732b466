//! The commits a repository's refs reached when it was last scanned, with their parents: what
//! an incremental re-scan keeps so that it reads only the commits added since, instead of every
//! commit of every ref (mirrors of hosted repositories carry thousands of refs; walking their
//! history again costs more than scanning what one new commit added).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use gix::ObjectId;

use crate::walk::{walked, Graph, Tip};
use crate::{tips, Error, Peel};

/// The commits reachable from a repository's refs at some moment, each with its parents.
///
/// Built by [`KnownCommits::read`], brought up to date (and used) by
/// [`refs_reaching_known`](crate::refs_reaching_known), given to
/// [`HistoryScan::known_commits`](crate::HistoryScan::known_commits), and kept between runs
/// with [`to_bytes`](Self::to_bytes) / [`from_bytes`](Self::from_bytes).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("keysweep-known-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # std::fs::create_dir_all(&dir)?;
/// # let git = |args: &[&str]| std::process::Command::new("git").current_dir(&dir)
/// #     .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"])
/// #     .args(args).output().map(|o| assert!(o.status.success(), "{o:?}"));
/// # git(&["init", "-q", "-b", "main"])?;
/// # git(&["commit", "-q", "--allow-empty", "-m", "first"])?;
/// # git(&["commit", "-q", "--allow-empty", "-m", "second"])?;
/// let known = keysweep_git::KnownCommits::read(&dir)?;
/// assert_eq!(known.len(), 2);
/// let again = keysweep_git::KnownCommits::from_bytes(&known.to_bytes()).unwrap();
/// assert_eq!(again.len(), 2);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct KnownCommits {
    ids: Vec<ObjectId>,
    parents: Vec<Box<[u32]>>,
    index: Arc<HashMap<ObjectId, u32>>,
}

const MAGIC: &[u8; 6] = b"KSKC1\n";

impl KnownCommits {
    /// Every commit reachable from the refs of the repository at `path` now.
    pub fn read(path: impl AsRef<Path>) -> Result<KnownCommits, Error> {
        let path = path.as_ref();
        let repo = gix::discover(path).map_err(|e| Error::Open {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let mut known = KnownCommits::default();
        known.extend(&repo, path)?;
        Ok(known)
    }

    /// How many commits it holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it holds no commit.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether `id` is one of its commits.
    pub fn contains(&self, id: &gix::oid) -> bool {
        self.index.contains_key(id)
    }

    /// What it knows of the object a ref names, for [`tips`]: a known id is a commit, so a ref
    /// naming it needs no peeling (with thousands of refs, reading each object to see whether
    /// it is a tag is most of the cost of listing them).
    pub(crate) fn peel(&self, id: &gix::oid) -> Peel {
        if self.contains(id) {
            Peel::NotATag
        } else {
            Peel::Unknown
        }
    }

    /// The commits as bytes: a header, then per commit its id, its number of parents and their
    /// positions. What [`from_bytes`](Self::from_bytes) reads.
    pub fn to_bytes(&self) -> Vec<u8> {
        let width = self.ids.first().map_or(20, |id| id.as_bytes().len());
        let mut out = Vec::with_capacity(16 + self.ids.len() * (width + 12));
        out.extend_from_slice(MAGIC);
        out.push(width as u8);
        out.extend_from_slice(&(self.ids.len() as u32).to_le_bytes());
        for (id, parents) in self.ids.iter().zip(&self.parents) {
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(&(parents.len() as u32).to_le_bytes());
            for p in parents.iter() {
                out.extend_from_slice(&p.to_le_bytes());
            }
        }
        out
    }

    /// Reads what [`to_bytes`](Self::to_bytes) wrote; `None` for anything else (a damaged or
    /// foreign value is as good as none: the caller reads the repository again).
    pub fn from_bytes(bytes: &[u8]) -> Option<KnownCommits> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let (&width, rest) = rest.split_first()?;
        let width = usize::from(width);
        if width != 20 && width != 32 {
            return None;
        }
        let (n, mut rest) = take_u32(rest)?;
        let n = n as usize;
        // Each commit takes at least width + 4 bytes: a count beyond that is damage.
        if n > rest.len() / (width + 4) {
            return None;
        }
        let mut ids = Vec::with_capacity(n);
        let mut parents = Vec::with_capacity(n);
        for _ in 0..n {
            if rest.len() < width {
                return None;
            }
            let (id, tail) = rest.split_at(width);
            ids.push(ObjectId::try_from(id).ok()?);
            let (count, mut tail) = take_u32(tail)?;
            if count as usize > tail.len() / 4 {
                return None;
            }
            let mut ps = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let (p, t) = take_u32(tail)?;
                if p as usize >= n {
                    return None;
                }
                ps.push(p);
                tail = t;
            }
            parents.push(ps.into_boxed_slice());
            rest = tail;
        }
        if !rest.is_empty() {
            return None;
        }
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        Some(KnownCommits {
            ids,
            parents,
            index: Arc::new(index),
        })
    }

    /// Adds the commits reachable from the repository's refs that it does not hold yet: a walk
    /// that stops at every commit it holds, so its cost is that of the new commits. Returns
    /// the refs read (listing order), for the caller's use.
    pub(crate) fn extend(
        &mut self,
        repo: &gix::Repository,
        path: &Path,
    ) -> Result<Vec<Tip>, Error> {
        let mut problems = Vec::new();
        let refs = tips(repo, &|id| self.peel(id), &mut problems);
        if let Some(p) = problems.first() {
            return Err(Error::Open {
                path: path.to_owned(),
                message: p.to_string(),
            });
        }
        let starts: Vec<ObjectId> = refs
            .iter()
            .map(|t| t.id)
            .filter(|id| !self.contains(id) && repo.find_commit(*id).is_ok())
            .collect();
        self.walk_from(repo, &starts).map_err(|e| Error::Open {
            path: path.to_owned(),
            message: format!("the commit graph cannot be walked: {e}"),
        })?;
        Ok(refs)
    }

    /// The commits reachable from `starts` that it does not hold, added (in walk order); the
    /// number added.
    pub(crate) fn walk_from(
        &mut self,
        repo: &gix::Repository,
        starts: &[ObjectId],
    ) -> Result<usize, gix::Error> {
        if starts.is_empty() {
            return Ok(0);
        }
        let (new_ids, parent_ids) = self.new_commits(repo, starts)?;
        let base = self.ids.len() as u32;
        let mut index = (*self.index).clone();
        for (i, id) in new_ids.iter().enumerate() {
            index.insert(*id, base + i as u32);
        }
        for ps in &parent_ids {
            // A parent the repository lacks (a shallow boundary) is left out, as a walk does.
            self.parents
                .push(ps.iter().filter_map(|p| index.get(p).copied()).collect());
        }
        let added = new_ids.len();
        self.ids.extend(new_ids);
        self.index = Arc::new(index);
        Ok(added)
    }

    /// The commits reachable from `starts` that it does not hold, each with its parent ids,
    /// in walk order.
    #[allow(clippy::type_complexity)]
    pub(crate) fn new_commits(
        &self,
        repo: &gix::Repository,
        starts: &[ObjectId],
    ) -> Result<(Vec<ObjectId>, Vec<Vec<ObjectId>>), gix::Error> {
        let known = Arc::clone(&self.index);
        let walk = repo
            .rev_walk(starts.iter().copied())
            .selected(move |id| !known.contains_key(id))?;
        let (ids, parent_ids, _) = walked(walk)?;
        Ok((ids, parent_ids))
    }

    /// The commits as a graph in topological order (no trees, no times), for
    /// [`Graph::tips_reaching`].
    pub(crate) fn graph(&self, repo: &gix::Repository) -> Graph {
        Graph::from_parts(repo, self.ids.clone(), &self.parents)
    }
}

fn take_u32(b: &[u8]) -> Option<(u32, &[u8])> {
    if b.len() < 4 {
        return None;
    }
    let (n, rest) = b.split_at(4);
    Some((u32::from_le_bytes(n.try_into().ok()?), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::try_from(&[n; 20][..]).unwrap()
    }

    fn sample() -> KnownCommits {
        let ids = vec![id(1), id(2), id(3)];
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        KnownCommits {
            ids,
            parents: vec![Box::new([]), Box::new([0]), Box::new([0, 1])],
            index: Arc::new(index),
        }
    }

    #[test]
    fn bytes_round_trip() {
        let k = sample();
        let back = KnownCommits::from_bytes(&k.to_bytes()).unwrap();
        assert_eq!(back.ids, k.ids);
        assert_eq!(back.parents, k.parents);
        assert!(back.contains(&id(3)));
        assert!(!back.contains(&id(4)));
    }

    #[test]
    fn damaged_bytes_are_none() {
        let bytes = sample().to_bytes();
        assert!(KnownCommits::from_bytes(b"").is_none());
        assert!(KnownCommits::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(KnownCommits::from_bytes(&longer).is_none());
        // A parent position beyond the commits.
        let mut bad = bytes.clone();
        let last = bad.len() - 4;
        bad[last..].copy_from_slice(&99u32.to_le_bytes());
        assert!(KnownCommits::from_bytes(&bad).is_none());
        // A huge count.
        let mut huge = bytes;
        huge[7..11].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(KnownCommits::from_bytes(&huge).is_none());
    }
}
