//! One secret, many places: findings grouped by fingerprint.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use keysweep::{Confidence, Fingerprint};

use crate::History;

/// All findings of one secret (one fingerprint) across history.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Group {
    /// The secret's fingerprint.
    pub fingerprint: Fingerprint,
    /// The rule of the first finding.
    pub rule_id: Arc<str>,
    /// The highest confidence among the findings.
    pub confidence: Confidence,
    /// Indices into [`History::findings`], in history order.
    pub findings: Vec<usize>,
    /// The finding whose commit is oldest in history.
    pub first: usize,
    /// The finding whose commit is newest in history.
    pub last: usize,
    /// Distinct blobs holding the secret.
    pub blobs: usize,
    /// Distinct paths, sorted.
    pub paths: Vec<String>,
    /// Distinct refs reaching it (indices into [`History::refs`]), in listing order.
    pub refs: Vec<u32>,
    /// The secret is still in `HEAD`'s tree.
    pub present_at_head: bool,
}

/// Groups `history`'s findings by fingerprint, ordered by first appearance in history.
pub fn group(history: &History) -> Vec<Group> {
    let mut by_fp: HashMap<Fingerprint, Vec<usize>> = HashMap::new();
    for (i, f) in history.findings.iter().enumerate() {
        by_fp.entry(f.finding.fingerprint).or_default().push(i);
    }
    // Unreachable findings (no commit) sort after every commit.
    let rank = |i: usize| -> u64 {
        history.findings[i]
            .commit
            .map_or(u64::MAX, |c| u64::from(history.commits[c].rank))
    };
    let mut groups: Vec<Group> = by_fp
        .into_iter()
        .map(|(fingerprint, mut idx)| {
            idx.sort_by_key(|&i| (rank(i), i));
            let first = idx[0];
            let last = *idx
                .iter()
                .filter(|&&i| history.findings[i].commit.is_some())
                .max_by_key(|&&i| (rank(i), i))
                .unwrap_or(&first);
            let fs = || idx.iter().map(|&i| &history.findings[i]);
            let blobs = fs().map(|f| f.blob).collect::<BTreeSet<_>>().len();
            let paths: Vec<String> = fs()
                .filter_map(|f| f.path.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            // Union over the distinct commits (each ref list can be long: every pull-request
            // ref of a mirror reaches an old commit).
            let commits: BTreeSet<usize> = fs().filter_map(|f| f.commit).collect();
            let mut reached = vec![false; history.refs.len()];
            for &c in &commits {
                for &r in &history.commits[c].refs {
                    reached[r as usize] = true;
                }
            }
            let refs: Vec<u32> = (0..history.refs.len() as u32)
                .filter(|&r| reached[r as usize])
                .collect();
            Group {
                fingerprint,
                rule_id: history.findings[first].finding.rule_id.clone(),
                confidence: fs()
                    .map(|f| f.finding.confidence)
                    .max()
                    .unwrap_or(Confidence::Low),
                first,
                last,
                blobs,
                paths,
                refs,
                present_at_head: fs().any(|f| f.present_at_head),
                findings: idx,
            }
        })
        .collect();
    groups.sort_by_key(|g| (rank(g.first), g.first));
    groups
}
