//! The commit graph in topological order (parents before children, then oldest first), the refs
//! reaching its commits, and the tree walker of incremental scans, which reads each distinct tree
//! once by id and reports each blob the first time it meets it, with its commit and path. (A
//! full scan walks the tree table of pass 1 instead: see `table`.)

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use gix::hashtable::HashSet;
use gix::objs::Find;
use gix::ObjectId;

use crate::objects::RawCommit;
use crate::{Problem, Submodule};

/// A ref and the object it finally points to (tags peeled).
#[derive(Clone, Debug)]
pub(crate) struct Tip {
    pub name: String,
    pub id: ObjectId,
}

/// The commits of the walk, in topological order (oldest first).
#[derive(Default)]
pub(crate) struct Graph {
    pub ids: Vec<ObjectId>,
    pub trees: Vec<ObjectId>,
    pub parents: Vec<Box<[u32]>>,
    /// Commits outside the graph whose trees hold what the graph's commits did not introduce
    /// (the excluded side of a range): their blobs are marked seen before the walk.
    pub boundary: Vec<ObjectId>,
    pub position: HashMap<ObjectId, u32>,
    /// Whether a parent was absent because the repository is shallow.
    pub truncated: bool,
}

impl Graph {
    /// Builds the graph of every commit reachable from `tips` out of the commits of pass 1.
    pub fn from_commits(
        commits: &HashMap<ObjectId, RawCommit>,
        tips: &[Tip],
        shallow: &HashSet<ObjectId>,
        problems: &mut Vec<Problem>,
    ) -> Graph {
        let mut found: HashMap<ObjectId, u32> = HashMap::new();
        let mut raw: Vec<(ObjectId, &RawCommit)> = Vec::new();
        let mut stack: Vec<ObjectId> = tips
            .iter()
            .filter(|t| commits.contains_key(&t.id))
            .map(|t| t.id)
            .collect();
        let mut truncated = false;
        while let Some(id) = stack.pop() {
            if found.contains_key(&id) {
                continue;
            }
            let c = &commits[&id];
            found.insert(id, raw.len() as u32);
            raw.push((id, c));
            if shallow.contains(&id) {
                truncated |= !c.parents.is_empty();
                continue;
            }
            for p in c.parents.iter() {
                if commits.contains_key(p) {
                    if !found.contains_key(p) {
                        stack.push(*p);
                    }
                } else {
                    problems.push(Problem {
                        object: Some(*p),
                        file: None,
                        message: format!("commit is missing (a parent of {id})"),
                    });
                }
            }
        }
        let parents: Vec<Box<[u32]>> = raw
            .iter()
            .map(|(id, c)| {
                if shallow.contains(id) {
                    Box::default()
                } else {
                    c.parents
                        .iter()
                        .filter_map(|p| found.get(p).copied())
                        .collect()
                }
            })
            .collect();
        let mut g = Graph::ordered(
            raw.iter().map(|(id, _)| *id).collect(),
            raw.iter().map(|(_, c)| c.tree).collect(),
            &raw.iter().map(|(_, c)| c.time).collect::<Vec<_>>(),
            &parents,
        );
        g.truncated = truncated;
        g
    }

    /// Builds the graph of the commits reachable from `include` and not from `exclude`, or,
    /// with `known` (every commit reachable from `exclude`), not in `known`: a walk that stops
    /// at known commits instead of marking what `exclude` reaches (which reads the excluded
    /// history too).
    pub fn range(
        repo: &gix::Repository,
        include: &[ObjectId],
        exclude: &[ObjectId],
        known: Option<&crate::KnownCommits>,
        problems: &mut Vec<Problem>,
    ) -> Result<Graph, gix::Error> {
        if include.is_empty() {
            // Nothing to start from (every ref still names a commit it named before).
            return Ok(Graph::ordered(Vec::new(), Vec::new(), &[], &[]));
        }
        let (ids, parent_ids, index) = match known {
            Some(known) => {
                let (ids, parent_ids) = known.new_commits(repo, include)?;
                let index = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (*id, i as u32))
                    .collect();
                (ids, parent_ids, index)
            }
            None => walked(
                repo.rev_walk(include.iter().copied())
                    .with_hidden(exclude.iter().copied())
                    .all()?,
            )?,
        };
        let mut boundary = Vec::new();
        let mut trees = Vec::with_capacity(ids.len());
        let mut times = Vec::with_capacity(ids.len());
        for id in &ids {
            match repo.find_commit(*id) {
                Ok(c) => {
                    trees.push(
                        c.tree_id()
                            .map(|t| t.detach())
                            .unwrap_or_else(|_| ObjectId::null(repo.object_hash())),
                    );
                    times.push(c.time().map(|t| t.seconds).unwrap_or(0));
                }
                Err(e) => {
                    problems.push(Problem::object(
                        id,
                        format!("commit could not be read: {e}"),
                    ));
                    trees.push(ObjectId::null(repo.object_hash()));
                    times.push(0);
                }
            }
        }
        let parents: Vec<Box<[u32]>> = parent_ids
            .iter()
            .map(|ps| {
                for p in ps {
                    if !index.contains_key(p) && repo.has_object(p) {
                        boundary.push(*p);
                    }
                }
                ps.iter().filter_map(|p| index.get(p).copied()).collect()
            })
            .collect();
        boundary.sort_unstable();
        boundary.dedup();
        let mut g = Graph::ordered(ids, trees, &times, &parents);
        g.boundary = boundary;
        Ok(g)
    }

    /// The graph of every commit reachable from `include`, read from the commits alone (no
    /// tree, no time: `trees` holds null ids, and the order breaks ties by position only).
    pub fn commits_only(repo: &gix::Repository, include: &[ObjectId]) -> Result<Graph, gix::Error> {
        let walk = repo.rev_walk(include.iter().copied()).all()?;
        let (ids, parent_ids, index) = walked(walk)?;
        let parents: Vec<Box<[u32]>> = parent_ids
            .iter()
            .map(|ps| ps.iter().filter_map(|p| index.get(p).copied()).collect())
            .collect();
        let trees = vec![ObjectId::null(repo.object_hash()); ids.len()];
        let times = vec![0; ids.len()];
        Ok(Graph::ordered(ids, trees, &times, &parents))
    }

    /// The graph of commits `ids` with `parents` (indices into `ids`) and nothing else (no
    /// tree, no time): for which refs reach which commit.
    pub fn from_parts(repo: &gix::Repository, ids: Vec<ObjectId>, parents: &[Box<[u32]>]) -> Graph {
        let trees = vec![ObjectId::null(repo.object_hash()); ids.len()];
        let times = vec![0; ids.len()];
        Graph::ordered(ids, trees, &times, parents)
    }

    /// The graph of commits `ids` (with their root trees, times and parents as indices into
    /// `ids`), renumbered in topological order.
    fn ordered(
        ids: Vec<ObjectId>,
        trees: Vec<ObjectId>,
        times: &[i64],
        parents: &[Box<[u32]>],
    ) -> Graph {
        let order = topological(parents, times);
        let mut new_pos = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_pos[old as usize] = new as u32;
        }
        Graph {
            ids: order.iter().map(|&i| ids[i as usize]).collect(),
            trees: order.iter().map(|&i| trees[i as usize]).collect(),
            parents: order
                .iter()
                .map(|&old| {
                    parents[old as usize]
                        .iter()
                        .map(|&p| new_pos[p as usize])
                        .collect()
                })
                .collect(),
            position: order
                .iter()
                .enumerate()
                .map(|(new, &old)| (ids[old as usize], new as u32))
                .collect(),
            ..Graph::default()
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// For each of `targets` (commit positions), the tips (indices into `tips`) whose history
    /// holds it. `tips` should be in the order the caller wants refs listed.
    pub fn tips_reaching(&self, targets: &[u32], tips: &[Tip]) -> Vec<Vec<u32>> {
        const CHUNK: usize = 1024;
        let mut out = vec![Vec::new(); targets.len()];
        let tip_pos: Vec<(u32, u32)> = tips
            .iter()
            .enumerate()
            .filter_map(|(i, t)| self.position.get(&t.id).map(|&p| (i as u32, p)))
            .collect();
        for (chunk_no, chunk) in targets.chunks(CHUNK).enumerate() {
            let words = chunk.len().div_ceil(64);
            let mut bits = vec![0u64; words * self.len()];
            let mut bit_of: HashMap<u32, Vec<usize>> = HashMap::new();
            for (j, &t) in chunk.iter().enumerate() {
                bit_of.entry(t).or_default().push(j);
            }
            // Commits are in topological order: every parent's bits are final before its children.
            for c in 0..self.len() {
                let (before, rest) = bits.split_at_mut(c * words);
                let mine = &mut rest[..words];
                for &p in self.parents[c].iter() {
                    let theirs = &before[p as usize * words..(p as usize + 1) * words];
                    for (m, t) in mine.iter_mut().zip(theirs) {
                        *m |= t;
                    }
                }
                if let Some(js) = bit_of.get(&(c as u32)) {
                    for &j in js {
                        mine[j / 64] |= 1 << (j % 64);
                    }
                }
            }
            for &(tip, pos) in &tip_pos {
                let row = &bits[pos as usize * words..(pos as usize + 1) * words];
                for (w, &word) in row.iter().enumerate() {
                    let mut word = word;
                    while word != 0 {
                        let j = w * 64 + word.trailing_zeros() as usize;
                        word &= word - 1;
                        out[chunk_no * CHUNK + j].push(tip);
                    }
                }
            }
        }
        out
    }
}

/// The commits of a walk in its order, each one's parent ids, and each id's position.
#[allow(clippy::type_complexity)]
pub(crate) fn walked(
    walk: gix::revision::Walk<'_>,
) -> Result<(Vec<ObjectId>, Vec<Vec<ObjectId>>, HashMap<ObjectId, u32>), gix::Error> {
    let mut ids = Vec::new();
    let mut parent_ids = Vec::new();
    for info in walk {
        let info = info?;
        ids.push(info.id);
        parent_ids.push(info.parent_ids.iter().copied().collect::<Vec<_>>());
    }
    let index = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u32))
        .collect();
    Ok((ids, parent_ids, index))
}

/// Kahn's algorithm; among commits whose parents are all placed, the oldest goes first.
fn topological(parents: &[Box<[u32]>], times: &[i64]) -> Vec<u32> {
    let n = parents.len();
    let mut pending: Vec<u32> = parents.iter().map(|p| p.len() as u32).collect();
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (c, ps) in parents.iter().enumerate() {
        for &p in ps.iter() {
            children[p as usize].push(c as u32);
        }
    }
    let mut ready: BinaryHeap<Reverse<(i64, u32)>> = (0..n as u32)
        .filter(|&c| pending[c as usize] == 0)
        .map(|c| Reverse((times[c as usize], c)))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse((_, c))) = ready.pop() {
        order.push(c);
        for &child in &children[c as usize] {
            pending[child as usize] -= 1;
            if pending[child as usize] == 0 {
                ready.push(Reverse((times[child as usize], child)));
            }
        }
    }
    // A cycle cannot occur in a valid history; if it does, its commits still get walked.
    if order.len() < n {
        let placed: HashSet<u32> = order.iter().copied().collect();
        order.extend((0..n as u32).filter(|c| !placed.contains(c)));
    }
    order
}

/// Reads trees, each distinct one once, and reports blobs the first time it meets them.
pub(crate) struct TreeWalker<'r> {
    repo: &'r gix::Repository,
    buf: Vec<u8>,
    seen_trees: HashSet<ObjectId>,
    seen_blobs: HashSet<ObjectId>,
    pub problems: Vec<Problem>,
    pub submodules: HashMap<String, Submodule>,
    pub trees_read: u64,
    /// Walking the boundary of an incremental scan: gitlinks met are the submodules' state
    /// before the range ([`Submodule::base`]), not commits it records.
    pub boundary: bool,
    /// Gitlinks recorded so far ([`Submodule::met`]).
    gitlinks_met: u64,
}

impl<'r> TreeWalker<'r> {
    pub fn new(repo: &'r gix::Repository) -> Self {
        TreeWalker {
            repo,
            buf: Vec::new(),
            seen_trees: HashSet::default(),
            seen_blobs: HashSet::default(),
            problems: Vec::new(),
            submodules: HashMap::new(),
            trees_read: 0,
            boundary: false,
            gitlinks_met: 0,
        }
    }

    pub fn blobs_seen(&self) -> usize {
        self.seen_blobs.len()
    }

    /// Walks the tree `root` of `commit`, calling `on_blob(blob, path)` for every blob not met
    /// before. A tip that is a blob itself is handled too.
    pub fn walk(
        &mut self,
        root: ObjectId,
        commit: Option<&ObjectId>,
        on_blob: &mut dyn FnMut(&ObjectId, &[u8]),
    ) {
        if root.is_null() {
            return;
        }
        let mut stack: Vec<(ObjectId, Vec<u8>)> = vec![(root, Vec::new())];
        while let Some((tree, path)) = stack.pop() {
            if !self.seen_trees.insert(tree) {
                continue;
            }
            let data = match self.repo.objects.try_find(&tree, &mut self.buf) {
                Ok(Some(d)) if d.kind == gix::objs::Kind::Tree => d,
                Ok(Some(d)) if d.kind == gix::objs::Kind::Blob && path.is_empty() => {
                    // A ref or tag pointing straight at a blob.
                    if self.seen_blobs.insert(tree) {
                        on_blob(&tree, b"");
                    }
                    continue;
                }
                other => {
                    let what = match other {
                        Ok(Some(d)) => format!("expected a tree, found a {}", d.kind),
                        Ok(None) => "tree is missing".into(),
                        Err(e) => format!("tree could not be read: {e}"),
                    };
                    self.problems.push(tree_problem(&tree, &path, commit, what));
                    continue;
                }
            };
            self.trees_read += 1;
            let hash_kind = self.repo.object_hash();
            let mut bad = None;
            // A child's path is built only for what is new: most entries were met before.
            let join = |name: &[u8]| {
                let mut child = Vec::with_capacity(path.len() + 1 + name.len());
                child.extend_from_slice(&path);
                if !path.is_empty() {
                    child.push(b'/');
                }
                child.extend_from_slice(name);
                child
            };
            for entry in gix::objs::TreeRefIter::from_bytes(data.data, hash_kind) {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        bad = Some(e.to_string());
                        break;
                    }
                };
                let oid = entry.oid.to_owned();
                if entry.mode.is_tree() {
                    if !self.seen_trees.contains(&oid) {
                        stack.push((oid, join(entry.filename)));
                    }
                } else if entry.mode.is_commit() {
                    let p = String::from_utf8_lossy(&join(entry.filename)).into_owned();
                    let s = self
                        .submodules
                        .entry(p.clone())
                        .or_insert_with(|| Submodule::new(p));
                    if self.boundary {
                        s.base.push(oid);
                    } else {
                        s.record(oid, self.gitlinks_met);
                        self.gitlinks_met += 1;
                    }
                } else if self.seen_blobs.insert(oid) {
                    on_blob(&oid, &join(entry.filename));
                }
            }
            if let Some(e) = bad {
                self.problems.push(tree_problem(
                    &tree,
                    &path,
                    commit,
                    format!("tree is corrupt: {e}"),
                ));
            }
        }
    }
}

pub(crate) fn tree_problem(
    id: &ObjectId,
    path: &[u8],
    commit: Option<&ObjectId>,
    what: String,
) -> Problem {
    let at = match commit {
        Some(c) => format!(" (at `{}` in commit {c})", String::from_utf8_lossy(path)),
        None => format!(" (at `{}`)", String::from_utf8_lossy(path)),
    };
    Problem {
        object: Some(*id),
        file: None,
        message: format!("{what}{at}"),
    }
}

/// Every blob id in the tree of `root`, with no deduplication against other walks.
pub(crate) fn blobs_of_tree(repo: &gix::Repository, root: ObjectId) -> HashSet<ObjectId> {
    let mut walker = TreeWalker::new(repo);
    let mut out = HashSet::default();
    walker.walk(root, None, &mut |b, _| {
        out.insert(*b);
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ps(v: &[&[u32]]) -> Vec<Box<[u32]>> {
        v.iter().map(|p| p.to_vec().into_boxed_slice()).collect()
    }

    #[test]
    fn parents_come_first_then_the_oldest() {
        // 0 <- 1 <- 3 (merge of 1 and 2), 0 <- 2; 2 is older than 1 by its timestamp; 4 is a
        // second root, newer than everything.
        let parents = ps(&[&[], &[0], &[0], &[1, 2], &[]]);
        let times = [10, 30, 20, 40, 50];
        assert_eq!(topological(&parents, &times), vec![0, 2, 1, 3, 4]);
        // A child dated before its parent still comes after it.
        let parents = ps(&[&[], &[0]]);
        assert_eq!(topological(&parents, &[100, 5]), vec![0, 1]);
    }

    #[test]
    fn tips_reach_their_ancestors_only() {
        let mut g = Graph {
            ids: (0u8..4)
                .map(|i| ObjectId::from_bytes_or_panic(&[i; 20]))
                .collect(),
            parents: ps(&[&[], &[0], &[0], &[1, 2]]),
            ..Graph::default()
        };
        g.position = g
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        let tip = |name: &str, i: usize| Tip {
            name: name.into(),
            id: g.ids[i],
        };
        let tips = [tip("merged", 3), tip("side", 2), tip("root", 0)];
        let reach = g.tips_reaching(&[0, 1, 2], &tips);
        assert_eq!(reach[0], vec![0, 1, 2]);
        assert_eq!(reach[1], vec![0]);
        assert_eq!(reach[2], vec![0, 1]);
    }
}
