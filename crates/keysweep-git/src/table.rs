//! The tree table: every tree of the database as a list of dense child ids, filled in pass 1
//! while the trees are decoded anyway, so that the history walk never decodes a tree again.
//!
//! A dense id numbers every object of the database: the objects of pack `i` are
//! `base[i] + their position in the pack index`, loose objects follow. An entry of the table is
//! a `u32`: [`TREE`] marks a subtree, [`SPECIAL`] an entry whose target is not in the database
//! or is a submodule commit (the low bits then index [`Special`]s), the rest is a dense id.
//! Names are not kept: the walk needs them only for the few paths it reports, and reads those
//! trees again.

use std::collections::HashMap;

use gix::odb::pack;
use gix::ObjectId;

/// Set on entries that are trees.
pub(crate) const TREE: u32 = 1 << 31;
/// Set on entries that are [`Special`]s.
pub(crate) const SPECIAL: u32 = 1 << 30;
const ID: u32 = SPECIAL - 1;

/// An entry that does not point at an object of the database.
#[derive(Clone, Debug)]
pub(crate) enum Special {
    /// A submodule's commit.
    Gitlink(ObjectId),
    /// A blob or tree that is not in the database.
    Missing(ObjectId),
}

/// The dense id space of a repository's objects.
pub(crate) struct Dense<'p> {
    packs: &'p [pack::Bundle],
    bases: Vec<u32>,
    loose_base: u32,
    loose: Vec<ObjectId>,
    loose_ids: HashMap<ObjectId, u32>,
}

impl<'p> Dense<'p> {
    pub fn new(packs: &'p [pack::Bundle], loose: Vec<ObjectId>) -> Dense<'p> {
        let mut bases = Vec::with_capacity(packs.len());
        let mut next = 0u32;
        for p in packs {
            bases.push(next);
            next += p.index.num_objects();
        }
        let loose_ids = loose
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, next + i as u32))
            .collect();
        Dense {
            packs,
            bases,
            loose_base: next,
            loose,
            loose_ids,
        }
    }

    pub fn len(&self) -> usize {
        self.loose_base as usize + self.loose.len()
    }

    pub fn id(&self, oid: &gix::oid) -> Option<u32> {
        for (p, base) in self.packs.iter().zip(&self.bases) {
            if let Some(i) = p.index.lookup(oid) {
                return Some(base + i);
            }
        }
        self.loose_ids.get(oid).copied()
    }

    /// The dense id of entry `index` of pack `pack`.
    pub fn in_pack(&self, pack: usize, index: u32) -> u32 {
        self.bases[pack] + index
    }

    pub fn oid(&self, id: u32) -> ObjectId {
        if id >= self.loose_base {
            return self.loose[(id - self.loose_base) as usize];
        }
        let p = self.bases.partition_point(|&b| b <= id) - 1;
        self.packs[p]
            .index
            .oid_at_index(id - self.bases[p])
            .to_owned()
    }
}

/// Trees by dense id, as filled by pass 1.
#[derive(Default)]
pub(crate) struct TreeTable {
    chunks: Vec<Vec<u32>>,
    /// Per dense id: (chunk, start, len), `chunk == u32::MAX` when the object is not a tree
    /// that was read.
    spans: Vec<(u32, u32, u32)>,
    pub specials: Vec<Special>,
}

/// One worker's share of the table, merged when the worker is done.
#[derive(Default)]
pub(crate) struct TreeBatch {
    pub entries: Vec<u32>,
    pub spans: Vec<(u32, u32, u32)>,
}

impl TreeTable {
    pub fn with_len(n: usize) -> TreeTable {
        TreeTable {
            chunks: Vec::new(),
            spans: vec![(u32::MAX, 0, 0); n],
            specials: Vec::new(),
        }
    }

    pub fn add(&mut self, batch: TreeBatch) {
        let chunk = self.chunks.len() as u32;
        for (id, start, len) in batch.spans {
            self.spans[id as usize] = (chunk, start, len);
        }
        self.chunks.push(batch.entries);
    }

    /// The entries of tree `id`, or `None` when it was not read.
    pub fn get(&self, id: u32) -> Option<&[u32]> {
        let (chunk, start, len) = *self.spans.get(id as usize)?;
        if chunk == u32::MAX {
            return None;
        }
        Some(&self.chunks[chunk as usize][start as usize..(start + len) as usize])
    }
}

/// What the walk over the table found.
#[derive(Default)]
pub(crate) struct TableWalk {
    /// For each target blob met: (blob id, commit position or `None` for a tag on a tree/blob).
    pub found: Vec<(u32, Option<u32>)>,
    /// The tree each object was first met in (`u32::MAX` for roots and unmet objects).
    pub parent: Vec<u32>,
    /// Special entries met: (the tree holding it, special index, commit position).
    pub specials: Vec<(u32, u32, Option<u32>)>,
    /// Roots or subtrees that were not in the table: (id, commit position).
    pub unread: Vec<(u32, Option<u32>)>,
    pub trees: u64,
    pub blobs: u64,
}

/// For every object, a tree that lists it (`u32::MAX` for none): one pass over the whole
/// table, for finding paths when history cannot say (a damaged repository).
pub(crate) fn holders(table: &TreeTable, objects: usize) -> Vec<u32> {
    let mut parent = vec![u32::MAX; objects];
    for tree in 0..objects as u32 {
        let Some(entries) = table.get(tree) else {
            continue;
        };
        for &e in entries {
            if e & SPECIAL != 0 {
                continue;
            }
            let child = (e & ID) as usize;
            if parent[child] == u32::MAX && child != tree as usize {
                parent[child] = tree;
            }
        }
    }
    parent
}

/// Walks `roots` in order (each a commit position or `None`, a root object, and whether that
/// object is a tree), meeting each object once; records the first meeting of every blob in
/// `is_target`.
pub(crate) fn walk(
    table: &TreeTable,
    objects: usize,
    roots: impl Iterator<Item = (Option<u32>, u32, bool)>,
    is_target: impl Fn(u32) -> bool,
) -> TableWalk {
    let mut seen = vec![0u64; objects.div_ceil(64)];
    let mut out = TableWalk {
        parent: vec![u32::MAX; objects],
        ..TableWalk::default()
    };
    let mut stack = Vec::new();
    let mark = |seen: &mut [u64], id: u32| -> bool {
        let (w, b) = (id as usize / 64, id % 64);
        let new = seen[w] & (1 << b) == 0;
        seen[w] |= 1 << b;
        new
    };
    for (commit, root, is_tree) in roots {
        if !mark(&mut seen, root) {
            continue;
        }
        if !is_tree {
            out.blobs += 1;
            if is_target(root) {
                out.found.push((root, commit));
            }
            continue;
        }
        stack.push(root);
        while let Some(tree) = stack.pop() {
            let Some(entries) = table.get(tree) else {
                out.unread.push((tree, commit));
                continue;
            };
            out.trees += 1;
            for &e in entries {
                if e & SPECIAL != 0 {
                    out.specials.push((tree, e & ID, commit));
                    continue;
                }
                let child = e & ID;
                if !mark(&mut seen, child) {
                    continue;
                }
                out.parent[child as usize] = tree;
                if e & TREE != 0 {
                    stack.push(child);
                } else {
                    out.blobs += 1;
                    if is_target(child) {
                        out.found.push((child, commit));
                    }
                }
            }
        }
    }
    out
}
