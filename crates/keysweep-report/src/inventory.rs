//! The secret inventory: one entry per distinct secret (fingerprint) across every scan result
//! and repository given, with its locations, lifecycle, owners and a priority.
//!
//! Findings arrive one at a time ([`Inventory::add`]) as [`Record`]s, read from saved scan
//! results or made from a scan run now. Memory grows with the number of distinct secrets:
//! strings are interned, and each secret keeps at most `max_locations` locations (its counts,
//! first and last sighting stay exact).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::rc::Rc;

use keysweep::{Confidence, Fingerprint};
use keysweep_source::dates::format_day;
use keysweep_source::Context;
use schemars::JsonSchema;
use serde::Serialize;

use crate::codeowners::CodeOwners;
use crate::record::Record;

type Id = u32;

/// Interned strings: each distinct string is stored once (shared by the map and the table).
#[derive(Default)]
struct Strings {
    ids: HashMap<Rc<str>, Id>,
    all: Vec<Rc<str>>,
}

impl Strings {
    fn id(&mut self, s: &str) -> Id {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.all.len() as Id;
        let shared: Rc<str> = Rc::from(s);
        self.all.push(Rc::clone(&shared));
        self.ids.insert(shared, id);
        id
    }

    /// The id of `s` if it was interned, without interning it.
    fn lookup(&self, s: &str) -> Option<Id> {
        self.ids.get(s).copied()
    }

    fn get(&self, id: Id) -> &str {
        &self.all[id as usize]
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Commit {
    id: Id,
    author_name: Id,
    author_email: Id,
    date: Id,
    /// Seconds since the epoch, for ordering.
    time: i64,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Loc {
    repo: Id,
    path: Id,
    line: usize,
    column: usize,
    commit: Option<Commit>,
    refs: Vec<Id>,
    present: bool,
}

struct Entry {
    /// The most production-like context it was seen in.
    context: Context,
    rules: BTreeSet<Id>,
    /// 0 low, 1 medium, 2 high: the highest seen.
    confidence: u8,
    secret: String,
    locations: Vec<Loc>,
    seen: HashSet<(Id, Id, usize, usize, Option<Id>)>,
    total: u64,
    present: bool,
    repos: BTreeSet<Id>,
    paths: BTreeSet<Id>,
    refs: BTreeSet<Id>,
    /// First and last sighting with a commit: (time, location).
    first: Option<Loc>,
    last: Option<Loc>,
    /// Introducing authors: (name, email) -> earliest time.
    authors: HashMap<(Id, Id), i64>,
    /// What `--validate` found (the most conclusive answer of its findings).
    validation: Option<crate::RecordValidation>,
}

/// Builds the inventory, one finding at a time.
///
/// ```
/// use keysweep_report::{Inventory, Record};
///
/// let line = r#"{"rule_id":"stripe.secret_key.live","path":"a.env","source":"file","line":1,"column":12,
///   "secret":"sk_l*****","redacted":true,"fingerprint":"00112233445566778899aabbccddeeff","confidence":"high"}"#;
/// let record: Record = serde_json::from_str(line).unwrap();
/// let mut inventory = Inventory::new(200);
/// inventory.add(&record);
/// inventory.add(&record); // the same location again adds nothing
/// let doc = inventory.finish(0, &mut |_| None);
/// assert_eq!(doc.summary.secrets, 1);
/// assert_eq!(doc.secrets[0].locations_total, 1);
/// ```
pub struct Inventory {
    strings: Strings,
    entries: HashMap<Fingerprint, Entry>,
    /// Repository id -> a local root where it was scanned.
    roots: BTreeMap<Id, PathBuf>,
    max_locations: usize,
    /// Findings added (suppressed ones not included).
    pub findings: u64,
    /// Suppressed findings added, and left out.
    pub suppressed: u64,
}

const MAX_AUTHORS: usize = 10;
/// Paths and refs listed per secret (their counts are not kept beyond it; locations are).
const MAX_LIST: usize = 100;

impl Inventory {
    /// An empty inventory keeping at most `max_locations` locations per secret (counts, first
    /// and last sighting and authors stay exact beyond it).
    pub fn new(max_locations: usize) -> Inventory {
        Inventory {
            strings: Strings::default(),
            entries: HashMap::new(),
            roots: BTreeMap::new(),
            max_locations,
            findings: 0,
            suppressed: 0,
        }
    }

    /// Adds one finding. Suppressed findings (triaged, allowed) are counted, not inventoried.
    pub fn add(&mut self, row: &Record) {
        let fingerprint = row.fingerprint;
        let confidence = confidence_rank(row.confidence);
        if row.suppressed.is_some() {
            self.suppressed += 1;
            return;
        }
        self.findings += 1;
        let Inventory {
            strings: s,
            entries,
            roots,
            max_locations,
            ..
        } = self;
        // The repository and the path inside it when the record names them, else none (a
        // plain path).
        let location = &row.location;
        let shown_path = location.display();
        let (repo, path) = match &location.repository {
            Some(r) => {
                let id = s.id(&r.id);
                roots.entry(id).or_insert_with(|| PathBuf::from(&r.root));
                (id, s.id(r.path.as_deref().unwrap_or(&shown_path)))
            }
            None => (s.id(""), s.id(&shown_path)),
        };
        let history = location.history();
        // A finding from the working tree or pending changes is in the current code; a history
        // finding says whether its blob is at HEAD.
        let present = location.present_at_head();
        // (commit, author name, author email, date, seconds): interned only if kept below, so
        // that memory follows the locations kept, not the findings read.
        let date_text = history
            .and_then(|g| g.commit.as_ref())
            .map(|c| c.date.to_string());
        let raw = history.and_then(|g| {
            let c = g.commit.as_ref()?;
            Some((
                c.id.as_str(),
                c.author_name.as_str(),
                c.author_email.as_str(),
                date_text.as_deref().unwrap_or(""),
                c.date.seconds,
            ))
        });

        let entry = entries.entry(fingerprint).or_insert_with(|| Entry {
            context: location.context,
            rules: BTreeSet::new(),
            confidence,
            secret: row.redacted_secret(),
            locations: Vec::new(),
            seen: HashSet::new(),
            total: 0,
            present: false,
            repos: BTreeSet::new(),
            paths: BTreeSet::new(),
            refs: BTreeSet::new(),
            first: None,
            last: None,
            authors: HashMap::new(),
            validation: None,
        });
        if let Some(v) = &row.validation {
            if entry
                .validation
                .as_ref()
                .is_none_or(|have| conclusiveness(&v.status) > conclusiveness(&have.status))
            {
                entry.validation = Some(v.clone());
            }
        }
        // The same location from another run (or the same results read twice) counts once.
        // A commit never interned cannot be part of a location seen before.
        let commit_key = match raw {
            None => Some(None),
            Some(c) => s.lookup(c.0).map(Some),
        };
        if let Some(ck) = commit_key {
            if entry.seen.contains(&(repo, path, row.line, row.column, ck)) {
                return;
            }
        }
        let keep = entry.locations.len() < *max_locations;
        // Ordered by time, then commit id: never by input order.
        let (is_first, is_last) = match raw {
            Some(c) => {
                let key = |o: &Option<Loc>| {
                    o.as_ref()
                        .and_then(|l| l.commit)
                        .map(|o| (o.time, s.get(o.id)))
                };
                (
                    key(&entry.first).is_none_or(|o| (c.4, c.0) < o),
                    key(&entry.last).is_none_or(|o| (c.4, c.0) > o),
                )
            }
            None => (false, false),
        };
        let commit = raw.filter(|_| keep || is_first || is_last).map(|c| Commit {
            id: s.id(c.0),
            author_name: s.id(c.1),
            author_email: s.id(c.2),
            date: s.id(c.3),
            time: c.4,
        });
        let rule = s.id(&row.rule_id);
        let refs: Vec<Id> = history
            .map(|g| g.refs.iter().map(|r| s.id(r)).collect())
            .unwrap_or_default();

        entry.total += 1;
        entry.context = rank_context(entry.context, location.context);
        entry.rules.insert(rule);
        entry.confidence = entry.confidence.max(confidence);
        entry.present |= present;
        entry.repos.insert(repo);
        if entry.paths.len() < MAX_LIST {
            entry.paths.insert(path);
        }
        for &r in &refs {
            if entry.refs.len() < MAX_LIST {
                entry.refs.insert(r);
            }
        }
        if let Some(c) = raw {
            let author = (s.id(c.1), s.id(c.2));
            let t = entry.authors.entry(author).or_insert(c.4);
            *t = (*t).min(c.4);
        }
        let location = Loc {
            repo,
            path,
            line: row.line,
            column: row.column,
            commit,
            refs,
            present,
        };
        if is_first {
            entry.first = Some(location.clone());
        }
        if is_last {
            entry.last = Some(location.clone());
        }
        if keep {
            entry
                .seen
                .insert((repo, path, row.line, row.column, commit.map(|c| c.id)));
            entry.locations.push(location);
        }
    }

    /// The finished inventory, entries in priority order, borrowing the inventory's strings.
    /// `as_of` (days since the epoch) dates the exposure ages; `read_codeowners` reads a
    /// repository's CODEOWNERS from its local root.
    pub fn finish(
        &self,
        as_of: i64,
        read_codeowners: &mut dyn FnMut(&std::path::Path) -> Option<CodeOwners>,
    ) -> Doc<'_> {
        let s = &self.strings;
        let mut owners_of: HashMap<Id, Option<CodeOwners>> = HashMap::new();
        let mut secrets: Vec<(&Fingerprint, Secret<'_>)> = Vec::with_capacity(self.entries.len());
        let mut by_provider: BTreeMap<&str, u64> = BTreeMap::new();
        let mut by_confidence: BTreeMap<u8, u64> = BTreeMap::new();
        let mut by_repo: BTreeMap<Id, (u64, u64)> = BTreeMap::new();
        let (mut present_count, mut locations) = (0u64, 0u64);
        for (fingerprint, e) in &self.entries {
            let rule_ids: Vec<&str> = e.rules.iter().map(|&r| s.get(r)).collect();
            let provider = provider(rule_ids.first().copied().unwrap_or(""));
            *by_provider.entry(provider).or_default() += 1;
            *by_confidence.entry(e.confidence).or_default() += 1;
            for &r in &e.repos {
                let c = by_repo.entry(r).or_default();
                c.0 += 1;
                c.1 += u64::from(e.present);
            }
            present_count += u64::from(e.present);
            locations += e.total;

            let first_time = e.first.as_ref().and_then(|l| l.commit).map(|c| c.time);
            let exposure_days = first_time
                .filter(|&t| t != i64::MAX)
                // Calendar days (UTC) from the day it was first committed to `as_of`.
                .map(|t| (as_of - t.div_euclid(86_400)).max(0));

            let mut codeowners: BTreeSet<&str> = BTreeSet::new();
            for l in &e.locations {
                if let Some(root) = self.roots.get(&l.repo) {
                    owners_of
                        .entry(l.repo)
                        .or_insert_with(|| read_codeowners(root));
                }
            }
            for l in &e.locations {
                if let Some(Some(o)) = owners_of.get(&l.repo) {
                    // The owners outlive this loop: copy them into the interner-free list.
                    codeowners.extend(o.owners(s.get(l.path)).iter().map(String::as_str));
                }
            }
            let codeowners: Vec<String> = codeowners.into_iter().map(str::to_string).collect();
            let mut authors: Vec<(&(Id, Id), &i64)> = e.authors.iter().collect();
            authors.sort_by_key(|&(&(n, m), &t)| (t, s.get(n), s.get(m)));
            let authors: Vec<String> = authors
                .into_iter()
                .take(MAX_AUTHORS)
                .map(|(&(n, m), _)| person(s.get(n), s.get(m)))
                .collect();
            let mut locs: Vec<&Loc> = e.locations.iter().collect();
            locs.sort_by(|a, b| {
                (
                    s.get(a.repo),
                    s.get(a.path),
                    a.line,
                    a.column,
                    commit_time(a),
                )
                    .cmp(&(
                        s.get(b.repo),
                        s.get(b.path),
                        b.line,
                        b.column,
                        commit_time(b),
                    ))
            });
            let validation = e.validation.clone();
            let base = priority(e.confidence, e.present, e.total, exposure_days, e.context);
            let secret = Secret {
                rank: 0,
                priority: match validation.as_ref().map(|v| v.status.as_str()) {
                    // A working credential first: it is the one to rotate now.
                    Some("live") => ((base + 30.0).min(100.0) * 10.0).round() / 10.0,
                    // The provider refused it: revoked or rotated already.
                    Some("invalid") => ((base - 30.0).max(0.0) * 10.0).round() / 10.0,
                    _ => base,
                },
                validation,
                context: e.context.as_str(),
                fingerprint: fingerprint.to_string(),
                rule_ids,
                provider,
                confidence: confidence_name(e.confidence),
                secret: &e.secret,
                present_at_head: e.present,
                exposure_days,
                first_introduced: e.first.as_ref().map(|l| sighting(s, l)),
                last_seen: e.last.as_ref().map(|l| sighting(s, l)),
                locations_total: e.total,
                repositories: sorted(e.repos.iter().map(|&r| display_repo(s.get(r)))),
                paths: sorted(e.paths.iter().map(|&p| s.get(p))),
                refs: sorted(e.refs.iter().map(|&r| s.get(r))),
                owners: Owners {
                    authors,
                    codeowners,
                },
                locations: locs
                    .into_iter()
                    .map(|l| LocationOut {
                        at: sighting(s, l),
                        line: l.line,
                        column: l.column,
                        refs: l.refs.iter().map(|&r| s.get(r)).collect(),
                        present_at_head: l.present,
                    })
                    .collect(),
            };
            secrets.push((fingerprint, secret));
        }
        // Highest priority first; ties broken by fingerprint so the order never depends on
        // input order or hashing.
        let live = |s: &Secret<'_>| s.validation.as_ref().is_some_and(|v| v.status == "live");
        secrets.sort_by(|a, b| {
            live(&b.1)
                .cmp(&live(&a.1))
                .then_with(|| b.1.priority.total_cmp(&a.1.priority))
                .then_with(|| a.0.cmp(b.0))
        });
        let secrets: Vec<Secret<'_>> = secrets
            .into_iter()
            .enumerate()
            .map(|(i, (_, mut v))| {
                v.rank = i + 1;
                v
            })
            .collect();
        let mut by_provider: Vec<ProviderCount<'_>> = by_provider
            .into_iter()
            .map(|(provider, secrets)| ProviderCount { provider, secrets })
            .collect();
        by_provider.sort_by(|a, b| {
            b.secrets
                .cmp(&a.secrets)
                .then_with(|| a.provider.cmp(b.provider))
        });
        let mut by_repository: Vec<RepoCount<'_>> = by_repo
            .into_iter()
            .map(|(r, (n, p))| RepoCount {
                repository: display_repo(s.get(r)),
                secrets: n,
                present_at_head: p,
            })
            .collect();
        by_repository.sort_by(|a, b| {
            b.secrets
                .cmp(&a.secrets)
                .then_with(|| a.repository.cmp(b.repository))
        });
        let by_confidence = by_confidence
            .iter()
            .rev()
            .map(|(&c, &secrets)| ConfidenceCount {
                confidence: confidence_name(c),
                secrets,
            })
            .collect();
        Doc {
            keysweep_inventory: 1,
            as_of: format_day(as_of),
            summary: Summary {
                secrets: secrets.len(),
                locations,
                repositories: by_repository.len(),
                present_at_head: present_count,
                history_only: secrets.len() as u64 - present_count,
                findings_read: self.findings,
                suppressed_skipped: self.suppressed,
                by_provider,
                by_repository,
                by_confidence,
            },
            secrets,
        }
    }
}

/// The inventory document: what `--format json` prints and the HTML report embeds (schema:
/// `docs/schema/inventory.json`).
#[derive(Serialize, JsonSchema)]
#[schemars(
    title = "keysweep inventory",
    description = "One entry per distinct secret: `keysweep inventory --format json`."
)]
pub struct Doc<'a> {
    /// The format version (1).
    pub keysweep_inventory: u32,
    /// The day exposure ages are counted to (`YYYY-MM-DD`).
    pub as_of: String,
    /// Counts over all secrets.
    pub summary: Summary<'a>,
    /// One entry per distinct secret, highest priority first.
    pub secrets: Vec<Secret<'a>>,
}

/// Counts over all secrets.
#[derive(Serialize, JsonSchema)]
pub struct Summary<'a> {
    /// Distinct secrets.
    pub secrets: usize,
    /// Findings of them (locations).
    pub locations: u64,
    /// Repositories they were found in.
    pub repositories: usize,
    /// Secrets in the current code of some repository.
    pub present_at_head: u64,
    /// Secrets only in history.
    pub history_only: u64,
    /// Findings read.
    pub findings_read: u64,
    /// Suppressed findings read and left out.
    pub suppressed_skipped: u64,
    /// Secrets per provider, most first.
    pub by_provider: Vec<ProviderCount<'a>>,
    /// Secrets per repository, most first.
    pub by_repository: Vec<RepoCount<'a>>,
    /// Secrets per confidence, highest first.
    pub by_confidence: Vec<ConfidenceCount>,
}

/// Secrets of one provider.
#[derive(Serialize, JsonSchema)]
pub struct ProviderCount<'a> {
    /// The provider (a rule id's first part).
    pub provider: &'a str,
    /// Its distinct secrets.
    pub secrets: u64,
}

/// Secrets of one repository.
#[derive(Serialize, JsonSchema)]
pub struct RepoCount<'a> {
    /// The repository id (`(no repository)` for plain paths).
    pub repository: &'a str,
    /// Its distinct secrets.
    pub secrets: u64,
    /// Of them, those in its current code.
    pub present_at_head: u64,
}

/// Secrets of one confidence.
#[derive(Serialize, JsonSchema)]
pub struct ConfidenceCount {
    /// `low`, `medium` or `high`.
    pub confidence: &'static str,
    /// Distinct secrets whose highest confidence it is.
    pub secrets: u64,
}

/// One distinct secret.
#[derive(Serialize, JsonSchema)]
pub struct Secret<'a> {
    /// Position in priority order, from 1.
    pub rank: usize,
    /// How urgently to rotate it, 0 to 100 (see [`priority`]).
    pub priority: f64,
    /// The most production-like context it was seen in (`config`, `deployment`, `source`,
    /// `generated`, `vendored`, `docs`, `example`, `test`, `fixture`).
    pub context: &'static str,
    /// The secret's fingerprint (32 hex digits).
    pub fingerprint: String,
    /// The rules that found it.
    pub rule_ids: Vec<&'a str>,
    /// The provider: the first rule id's first part.
    pub provider: &'a str,
    /// The highest confidence of its findings.
    pub confidence: &'static str,
    /// The secret, redacted.
    pub secret: &'a str,
    /// Whether it is in the current code of some repository.
    pub present_at_head: bool,
    /// Days from its first commit to `as_of` (absent without history).
    pub exposure_days: Option<i64>,
    /// Its oldest sighting with a commit.
    pub first_introduced: Option<Sighting<'a>>,
    /// Its newest sighting with a commit.
    pub last_seen: Option<Sighting<'a>>,
    /// All its findings (locations), including those not listed.
    pub locations_total: u64,
    /// Repositories it was found in.
    pub repositories: Vec<&'a str>,
    /// Paths it was found at (at most 100).
    pub paths: Vec<&'a str>,
    /// Refs reaching its commits (at most 100).
    pub refs: Vec<&'a str>,
    /// Who to ask.
    pub owners: Owners,
    /// Its locations (at most `--max-locations`).
    pub locations: Vec<LocationOut<'a>>,
    /// What the provider said with `--validate`: a `live` secret comes first whatever its
    /// priority, and its priority gains 30; an `invalid` one loses 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<crate::RecordValidation>,
}

/// How much an answer says: `live` and `invalid` settle it, `unknown` less, `error` nothing.
fn conclusiveness(status: &str) -> u8 {
    match status {
        "live" => 3,
        "invalid" => 2,
        "unknown" => 1,
        _ => 0,
    }
}

/// Who owns a secret.
#[derive(Serialize, JsonSchema)]
pub struct Owners {
    /// Authors of the commits that introduced it, earliest first (at most 10).
    pub authors: Vec<String>,
    /// CODEOWNERS owners of its paths.
    pub codeowners: Vec<String>,
}

/// Where and when a secret was seen.
#[derive(Clone, Serialize, JsonSchema)]
pub struct Sighting<'a> {
    /// The repository id.
    pub repository: Option<&'a str>,
    /// The path (in the repository, when there is one).
    pub path: &'a str,
    /// The commit that introduced it there.
    pub commit: Option<&'a str>,
    /// That commit's author name.
    pub author_name: Option<&'a str>,
    /// That commit's author email.
    pub author_email: Option<&'a str>,
    /// That commit's author date (ISO 8601).
    pub date: Option<&'a str>,
}

/// One location of a secret.
#[derive(Serialize, JsonSchema)]
pub struct LocationOut<'a> {
    /// Where and when.
    #[serde(flatten)]
    pub at: Sighting<'a>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Refs reaching its commit.
    pub refs: Vec<&'a str>,
    /// Whether this location is in the current code.
    pub present_at_head: bool,
}

fn commit_time(l: &Loc) -> i64 {
    l.commit.map_or(i64::MIN, |c| c.time)
}

fn sorted<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = it.collect();
    v.sort_unstable();
    v
}

/// Plain paths (no repository) are inventoried under the empty repository id.
fn display_repo(r: &str) -> &str {
    if r.is_empty() {
        "(no repository)"
    } else {
        r
    }
}

fn person(name: &str, email: &str) -> String {
    match (name.is_empty(), email.is_empty()) {
        (false, false) => format!("{name} <{email}>"),
        (false, true) => name.to_string(),
        (true, false) => format!("<{email}>"),
        (true, true) => "unknown".into(),
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn sighting<'a>(s: &'a Strings, l: &Loc) -> Sighting<'a> {
    let c = l.commit.as_ref();
    Sighting {
        repository: non_empty(s.get(l.repo)),
        path: s.get(l.path),
        commit: c.map(|c| s.get(c.id)),
        author_name: c.map(|c| s.get(c.author_name)),
        author_email: c.map(|c| s.get(c.author_email)),
        date: c.and_then(|c| non_empty(s.get(c.date))),
    }
}

/// The provider is the first part of a rule id (`github` of `github.pat.classic`).
pub fn provider(rule_id: &str) -> &str {
    rule_id.split('.').next().unwrap_or(rule_id)
}

fn confidence_name(c: u8) -> &'static str {
    ["low", "medium", "high"][c.min(2) as usize]
}

fn confidence_rank(c: Confidence) -> u8 {
    match c {
        Confidence::Low => 0,
        Confidence::Medium => 1,
        Confidence::High => 2,
    }
}

/// 0 to 100: how urgently a secret should be rotated.
///
/// - confidence: high 40, medium 25, low 10 (a high-confidence match is almost surely live);
/// - still present at HEAD in some repository: +25 (anyone with the code has it now);
/// - spread: up to 20, 5 per doubling of the number of locations (more copies, more places
///   to clean and more people who saw it);
/// - exposure: up to 15, reached after two years (the longer it leaked, the likelier it was
///   harvested);
/// - where it was seen at best (its most production-like context): configuration and
///   deployment files +5, source 0, generated and vendored code -10, documentation and
///   examples -20, tests and fixtures -25 (a key in `spec/fixtures` is usually a fake; one in
///   `config/production.yml` is usually live).
pub fn priority(
    confidence: u8,
    present: bool,
    locations: u64,
    exposure_days: Option<i64>,
    context: Context,
) -> f64 {
    let c = [10.0, 25.0, 40.0][confidence.min(2) as usize];
    let p = if present { 25.0 } else { 0.0 };
    let spread = (5.0 * (1.0 + locations as f64).log2()).min(20.0);
    let age = exposure_days.map_or(0.0, |d| (d as f64 / 730.0 * 15.0).min(15.0));
    let place = match context {
        Context::Config | Context::Deployment => 5.0,
        Context::Source => 0.0,
        Context::Generated | Context::Vendored => -10.0,
        Context::Docs | Context::Example => -20.0,
        Context::Test | Context::Fixture => -25.0,
    };
    let total: f64 = c + p + spread + age + place;
    (total.clamp(0.0, 100.0) * 10.0).round() / 10.0
}

/// The more production-like of two contexts ([`Context::ALL`]'s order).
fn rank_context(a: Context, b: Context) -> Context {
    let rank = |c: Context| Context::ALL.iter().position(|&x| x == c).unwrap_or(0);
    if rank(b) < rank(a) {
        b
    } else {
        a
    }
}

/// One row per secret, for spreadsheets. Cells that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or carriage return: paths and author names come from
/// scanned repositories) are prefixed with `'`.
pub fn csv(doc: &Doc<'_>) -> String {
    const HEADER: &str = "rank,priority,context,fingerprint,provider,rule_ids,confidence,secret,\
        present_at_head,exposure_days,locations,repositories,repository_list,paths,\
        first_repository,first_path,first_commit,first_author,first_date,last_date,owners,validation";
    let mut out = HEADER.to_string() + "\n";
    let opt = |v: Option<&str>| v.unwrap_or("").to_string();
    for e in &doc.secrets {
        let first = e.first_introduced.as_ref();
        let author = first
            .map(|f| person(f.author_name.unwrap_or(""), f.author_email.unwrap_or("")))
            .unwrap_or_default();
        let owners: Vec<&str> = e
            .owners
            .codeowners
            .iter()
            .chain(&e.owners.authors)
            .map(String::as_str)
            .collect();
        let cells = [
            e.rank.to_string(),
            e.priority.to_string(),
            e.context.to_string(),
            e.fingerprint.clone(),
            e.provider.to_string(),
            e.rule_ids.join(";"),
            e.confidence.to_string(),
            e.secret.to_string(),
            e.present_at_head.to_string(),
            e.exposure_days.map_or(String::new(), |d| d.to_string()),
            e.locations_total.to_string(),
            e.repositories.len().to_string(),
            e.repositories.join(";"),
            e.paths.join(";"),
            opt(first.and_then(|f| f.repository)),
            opt(first.map(|f| f.path)),
            opt(first.and_then(|f| f.commit)),
            author,
            opt(first.and_then(|f| f.date)),
            opt(e.last_seen.as_ref().and_then(|l| l.date)),
            owners.join(";"),
            e.validation.as_ref().map_or(String::new(), |v| v.summary()),
        ];
        let row: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out += &row.join(",");
        out.push('\n');
    }
    out
}

fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The inventory for a terminal: one block per secret, rotate-first at the top. Text from
/// scanned data is made [terminal-safe](crate::terminal_safe).
pub fn human(doc: &Doc<'_>) -> String {
    use crate::terminal_safe as safe;
    let mut out = String::new();
    let list = |items: &[&str], total: usize| {
        let mut s = items
            .iter()
            .take(5)
            .map(|p| safe(p))
            .collect::<Vec<_>>()
            .join(", ");
        if total > 5 {
            s += &format!(" (+{} more)", total - 5);
        }
        s
    };
    let when = |s: &Option<Sighting<'_>>| match s {
        Some(s) => format!(
            "{} {}{}",
            s.commit.map_or("", |c| &c[..c.len().min(10)]),
            s.date.map_or("", |d| &d[..d.len().min(10)]),
            s.author_name
                .map_or(String::new(), |a| format!(" by {}", safe(a)))
        ),
        None => "no commit".into(),
    };
    for e in &doc.secrets {
        out += &format!(
            "{}  {}  {}  priority {}  {} location(s), {} path(s)  {}\n",
            e.rule_ids.join(","),
            e.secret,
            e.confidence,
            e.priority,
            e.locations_total,
            e.paths.len(),
            if e.present_at_head {
                "still at HEAD"
            } else {
                "history only"
            },
        );
        if let Some(v) = &e.validation {
            out += &format!("    validation: {}\n", safe(&v.summary()));
        }
        if e.first_introduced.is_some() {
            out += &format!(
                "    first {}  last {}\n",
                when(&e.first_introduced),
                when(&e.last_seen)
            );
        }
        out += &format!("    paths: {}\n", list(&e.paths, e.paths.len()));
        if !e.refs.is_empty() {
            let refs: Vec<String> = e.refs.iter().map(|r| r.to_string()).collect();
            out += &format!(
                "    refs: {}\n",
                safe(&crate::short_list(&refs, refs.len()))
            );
        }
    }
    out
}

const HTML_TEMPLATE: &str = include_str!("inventory.html");
const PLACEHOLDER: &str = "/*KEYSWEEP_INVENTORY_DATA*/null";

/// Locations per secret embedded in the HTML report (the page says "showing N of M"): enough
/// to act on, small enough for a browser to load a large sweep.
pub const HTML_MAX_LOCATIONS: usize = 200;

/// The self-contained HTML report: the template with the document embedded as a script
/// literal. `<` is escaped inside the JSON so no string in it can close the script element.
pub fn html(doc: &mut Doc<'_>) -> String {
    for s in &mut doc.secrets {
        s.locations.truncate(HTML_MAX_LOCATIONS);
    }
    let data = serde_json::to_string(doc)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    HTML_TEMPLATE.replacen(PLACEHOLDER, &data, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inventory redacts for itself: callers may hand it records that hold the secret.
    #[test]
    fn an_unredacted_record_is_inventoried_redacted() {
        let line = r#"{"rule_id":"github.pat.classic","path":"a.env","source":"file","line":1,"column":1,"secret":"ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u","redacted":false,"fingerprint":"00112233445566778899aabbccddeeff","confidence":"high","parts":[{"name":"token","value":"ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u","redacted":false}]}"#;
        let mut inventory = Inventory::new(20);
        inventory.add(&serde_json::from_str::<Record>(line).unwrap());
        let mut doc = inventory.finish(0, &mut |_| None);
        let json = serde_json::to_string(&doc).unwrap();
        let csv = csv(&doc);
        let html = html(&mut doc);
        for out in [&json, &csv, &html] {
            assert!(
                !out.contains("R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u"),
                "{out}"
            );
        }
        assert!(json.contains("ghp_*****"), "{json}");
    }

    #[test]
    fn priority_orders_what_matters() {
        let s = Context::Source;
        let high_present_old = priority(2, true, 8, Some(900), s);
        let high_present_new = priority(2, true, 1, Some(3), s);
        let high_history = priority(2, false, 1, Some(3), s);
        let low_present = priority(0, true, 1, Some(3), s);
        assert!(high_present_old > high_present_new);
        assert!(high_present_new > high_history);
        assert!(high_history > low_present - 25.0 + 10.0);
        assert!(high_present_old <= 100.0);
        assert_eq!(
            priority(2, true, u64::MAX, Some(i64::MAX), Context::Config),
            100.0
        );
        // Production configuration outranks the same secret in a fixture or a guide.
        let config = priority(2, true, 1, Some(3), Context::Config);
        assert!(config > priority(2, true, 1, Some(3), Context::Docs));
        assert!(
            priority(2, true, 1, Some(3), Context::Docs)
                > priority(2, true, 1, Some(3), Context::Fixture)
        );
        assert_eq!(
            rank_context(Context::Fixture, Context::Config),
            Context::Config
        );
    }

    #[test]
    fn csv_quotes_and_defuses() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-12.5"), "-12.5");
        assert_eq!(csv_cell("@team"), "'@team");
    }

    #[test]
    fn html_cannot_close_its_script() {
        let mut inv = Inventory::new(10);
        let row = serde_json::json!({
            "rule_id": "acme.key", "path": "</script><img src=x onerror=alert(1)>",
            "source": "file", "line": 1, "column": 1, "secret": "*****", "redacted": true,
            "fingerprint": "00112233445566778899aabbccddeeff", "confidence": "high"
        });
        inv.add(&serde_json::from_value(row).unwrap());
        let page = html(&mut inv.finish(0, &mut |_| None));
        assert!(!page.contains("</script><img"));
        assert!(page.contains("\\u003c/script>\\u003cimg"));
        assert!(!page.contains(PLACEHOLDER));
    }
}
