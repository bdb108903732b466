//! `--validate`: asking each finding's provider whether its credential works
//! (keysweep-validate), and `--only-live`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use keysweep::Rule;
use keysweep_report::{IdentityField, RecordValidation};
use keysweep_source::{Hit, Source};
use keysweep_validate::ssh::{self, SshTarget};
use keysweep_validate::{AnswerStore, Status, Validation, Validator};

/// Validation options shared by `scan` and `inventory`.
#[derive(Args, Debug, Clone, Default)]
pub struct ValidateArgs {
    /// Ask each finding's provider whether the credential still works (live, invalid, unknown,
    /// error; with the account and scopes where the provider says). This SENDS EACH SECRET TO
    /// ITS PROVIDER (GitHub's API for a GitHub token, the database server for a connection
    /// URL): off by default, never in the pre-commit hook unless you add it there.
    #[arg(long)]
    pub validate: bool,
    /// Report only findings whose credential is live (implies --validate).
    #[arg(long)]
    pub only_live: bool,
    /// Let validation connect to loopback, private, link-local and metadata addresses (a
    /// self-hosted database or GitLab on the internal network). Refused by default: a found
    /// URL could point a request anywhere.
    #[arg(long)]
    pub allow_internal: bool,
    /// With --validate, also try each SSH private key found in a file on the SSH hosts that
    /// same file names (ssh config, ssh:// URLs, `ssh`/`scp`/`rsync` commands, `git@host:`,
    /// Ansible inventories, host/user/port settings). THIS LOGS IN TO THOSE HOSTS with the key
    /// (and disconnects at once, opening no session and running nothing); the host key is
    /// not verified. Users are only those the file names; at most 5 hosts per key.
    #[arg(long)]
    pub validate_ssh: bool,
    /// Send validation requests meant for ORIGIN to BASE instead, for self-hosted providers:
    /// `https://api.github.com=https://github.example.com/api/v3`. Repeatable.
    #[arg(long = "validate-origin", value_name = "ORIGIN=BASE")]
    pub origins: Vec<String>,
    /// Validation requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub validate_concurrency: usize,
    /// Seconds one validation may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub validate_timeout: u64,
    /// Keep definite answers (live, invalid) in FILE between runs and answer from it for
    /// --validate-ttl instead of asking again. It holds SHA-256 digests, never secrets. A
    /// sweep keeps one in its workdir (validation.redb) unless this names another.
    #[arg(long, value_name = "FILE")]
    pub validate_store: Option<PathBuf>,
    /// How long a stored answer is trusted: 3600, 90m, 24h, 7d; 0 stores nothing.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_ttl)]
    pub validate_ttl: Option<Duration>,
}

/// A time to live: seconds, or a number with s, m, h or d.
fn parse_ttl(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (digits, unit) = match t.as_bytes().last() {
        Some(b's') => (&t[..t.len() - 1], 1u64),
        Some(b'm') => (&t[..t.len() - 1], 60),
        Some(b'h') => (&t[..t.len() - 1], 3600),
        Some(b'd') => (&t[..t.len() - 1], 86_400),
        _ => (t, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is not a duration (e.g. 3600, 90m, 24h, 7d)"))
}

impl ValidateArgs {
    /// Whether to validate at all.
    pub fn enabled(&self) -> bool {
        self.validate || self.only_live
    }

    /// `--validate-ssh` only adds to a validation that was asked for (`configured`: by the
    /// configuration file).
    pub fn check(&self, configured: bool) -> Result<(), String> {
        if self.validate_ssh && !self.enabled() && !configured {
            return Err("--validate-ssh tries SSH keys as part of --validate: add --validate (or --only-live)".into());
        }
        Ok(())
    }

    /// The validator these options describe, without an answer store (for revocations,
    /// which are never stored).
    pub fn validator(&self) -> Result<Validator, String> {
        self.builder()?
            .build()
            .map_err(|e| format!("cannot set up validation: {e}"))
    }

    /// The validator with the answer store at `--validate-store`, or at `default` when that is
    /// not given. A store that cannot be opened (in use, damaged) is not used, and the second
    /// value says so.
    pub fn validator_with_store(
        &self,
        default: Option<PathBuf>,
    ) -> Result<(Validator, Option<String>), String> {
        let mut b = self.builder()?;
        let mut warning = None;
        if let Some(path) = self.validate_store.clone().or(default) {
            let ttl = self.validate_ttl.unwrap_or(Duration::from_secs(86_400));
            match AnswerStore::open(&path, ttl) {
                Ok(store) => b = b.answer_store(store),
                Err(e) => warning = Some(format!("{e}; validating without it")),
            }
        }
        let v = b
            .build()
            .map_err(|e| format!("cannot set up validation: {e}"))?;
        Ok((v, warning))
    }

    fn builder(&self) -> Result<keysweep_validate::ValidatorBuilder, String> {
        let mut b = Validator::builder()
            .allow_internal(self.allow_internal)
            .concurrency(self.validate_concurrency.max(1))
            .timeout(Duration::from_secs(self.validate_timeout.max(1)));
        for o in &self.origins {
            let Some((from, to)) = o.split_once('=') else {
                return Err(format!(
                    "--validate-origin {o:?}: expected ORIGIN=BASE (https://api.github.com=https://ghe.example.com/api/v3)"
                ));
            };
            b = b.origin_override(from, to);
        }
        Ok(b)
    }
}

/// What the provider said, as the report writes it.
pub fn record(v: Validation) -> RecordValidation {
    RecordValidation {
        status: v.status.as_str().to_string(),
        reason: v.reason,
        identity: v
            .identity
            .into_iter()
            .map(|(name, value)| IdentityField { name, value })
            .collect(),
    }
}

/// The answer for a finding whose rule has no validator (nothing is sent).
fn no_validator() -> RecordValidation {
    unknown("no validator for this rule")
}

fn unknown(reason: &str) -> RecordValidation {
    RecordValidation {
        status: Status::Unknown.as_str().to_string(),
        reason: reason.to_string(),
        identity: Vec::new(),
    }
}

/// The answer for an SSH key without `--validate-ssh` (nothing is sent).
const SSH_NOT_ASKED: &str = "SSH keys are tried only with --validate-ssh (which logs in to the hosts named in the key's file)";

/// Whether a rule's validator logs in to SSH hosts.
fn is_ssh(rule: &Rule) -> bool {
    rule.validate.as_ref().is_some_and(|v| v.kind == "ssh")
}

/// What is left out of a validation, for its summary line.
#[derive(Default)]
struct Left {
    /// Findings of rules without a validator.
    without: usize,
    /// SSH keys not tried (no --validate-ssh, or not in a file on disk).
    ssh: usize,
}

/// Validates `items` (each with a validator and its SSH targets) and says what happened, for
/// stderr. Shared by scans and sweeps.
fn validate_items(
    args: &ValidateArgs,
    store: Option<PathBuf>,
    items: &[(&Rule, &keysweep::Finding, &[SshTarget])],
    left: Left,
) -> Result<(Vec<RecordValidation>, String), String> {
    let (validator, warning) = args.validator_with_store(store)?;
    if let Some(w) = warning {
        crate::messages::warning(&w);
    }
    let answers = validator.validate_all_at(items);
    let count = |s: Status| answers.iter().filter(|v| v.status == s).count();
    let stats = validator.stats();
    if let Some(e) = validator.store_error() {
        crate::messages::warning(&format!(
            "{e} ({} failure(s); those answers were asked again or not kept)",
            stats.store_errors
        ));
    }
    let stored = if stats.stored_hits > 0 {
        format!(", {} from the answer store", stats.stored_hits)
    } else {
        String::new()
    };
    let summary = format!(
        "; validated {} finding(s) ({} distinct credential(s), {} request(s){stored}): {} live, {} invalid, {} unknown, {} error{}{}",
        items.len(),
        stats.checked + stats.stored_hits,
        stats.requests,
        count(Status::Live),
        count(Status::Invalid),
        count(Status::Unknown),
        count(Status::Error),
        if left.without > 0 {
            format!("; {} finding(s) of rules without a validator", left.without)
        } else {
            String::new()
        },
        if left.ssh > 0 {
            format!(
                "; {} SSH key(s) not tried{}",
                left.ssh,
                if args.validate_ssh { " (not in a file on disk)" } else { " (--validate-ssh tries them)" }
            )
        } else {
            String::new()
        }
    );
    Ok((answers.into_iter().map(record).collect(), summary))
}

/// The SSH hosts named in the file a hit is in, read again from disk (only plain files are:
/// not standard input, history, archives or images). `Err` says why there are none to look
/// for.
fn ssh_targets(
    hit: &Hit,
    files: &mut HashMap<String, Result<Vec<u8>, String>>,
) -> Result<Vec<SshTarget>, &'static str> {
    let loc = &hit.location;
    let path = match (&loc.source, &loc.path, &loc.archive, &loc.path_base64) {
        (Source::File, Some(p), None, None) => p,
        _ => return Err("SSH hosts are looked for only in files on disk (not in history, archives, images or standard input)"),
    };
    let bytes = files
        .entry(path.clone())
        .or_insert_with(|| std::fs::read(path).map_err(|e| e.to_string()));
    let Ok(bytes) = bytes else {
        return Err("the key's file could not be read again to look for SSH hosts");
    };
    let f = &hit.finding;
    let same = bytes
        .get(f.range.clone())
        .is_some_and(|b| !f.decoded.is_empty() || b == f.secret.as_slice());
    if !same {
        return Err("the key's file changed since it was scanned");
    }
    Ok(ssh::targets_in(bytes))
}

/// Validates every unsuppressed hit whose rule has a validator; `None` for the others
/// (suppressed findings are never sent anywhere). SSH keys are tried on the hosts their file
/// names only with `--validate-ssh`. Returns the answers in `hits`' order and a summary for
/// stderr.
pub fn validate_hits(
    args: &ValidateArgs,
    rules: &[Rule],
    hits: &[Hit],
) -> Result<(Vec<Option<RecordValidation>>, String), String> {
    let mut answers: Vec<Option<RecordValidation>> = vec![None; hits.len()];
    let mut items = Vec::new();
    let mut targets = Vec::new();
    let mut at = Vec::new();
    let mut left = Left::default();
    let mut files = HashMap::new();
    for (i, h) in hits.iter().enumerate() {
        if h.finding.suppressed.is_some() {
            continue;
        }
        let rule = &rules[h.finding.rule_index];
        if rule.validate.is_none() {
            answers[i] = Some(no_validator());
            left.without += 1;
            continue;
        }
        if is_ssh(rule) {
            if !args.validate_ssh {
                answers[i] = Some(unknown(SSH_NOT_ASKED));
                left.ssh += 1;
                continue;
            }
            match ssh_targets(h, &mut files) {
                Ok(t) => targets.push(t),
                Err(why) => {
                    answers[i] = Some(unknown(why));
                    left.ssh += 1;
                    continue;
                }
            }
        } else {
            targets.push(Vec::new());
        }
        items.push((rule, &h.finding));
        at.push(i);
    }
    let items: Vec<(&Rule, &keysweep::Finding, &[SshTarget])> = items
        .into_iter()
        .zip(&targets)
        .map(|((r, f), t)| (r, f, t.as_slice()))
        .collect();
    let (validated, summary) = validate_items(args, None, &items, left)?;
    for (i, v) in at.into_iter().zip(validated) {
        answers[i] = Some(v);
    }
    Ok((answers, summary))
}

/// Keeps only the hits whose answer is `live` (and their answers).
pub fn only_live(hits: &mut Vec<Hit>, answers: &mut Vec<Option<RecordValidation>>) {
    let keep: Vec<bool> = answers
        .iter()
        .map(|a| a.as_ref().is_some_and(|v| v.status == "live"))
        .collect();
    let mut k = keep.iter();
    hits.retain(|_| *k.next().unwrap_or(&false));
    let mut k = keep.iter();
    answers.retain(|_| *k.next().unwrap_or(&false));
}

/// Validates the records of a sweep (read back from its cache, secrets in full in memory):
/// each unsuppressed record gets its answer; with `--only-live` the others are dropped.
/// Returns a summary for stderr.
pub fn validate_records(
    args: &ValidateArgs,
    store: Option<PathBuf>,
    rules: &[Rule],
    repos: &mut [keysweep_sweep::RepoResult],
) -> Result<String, String> {
    let by_id: std::collections::HashMap<&str, &Rule> = rules.iter().map(|r| (&*r.id, r)).collect();
    let mut at = Vec::new();
    let mut findings = Vec::new();
    let mut left = Left::default();
    for (ri, repo) in repos.iter_mut().enumerate() {
        for (i, rec) in repo.records.iter_mut().enumerate() {
            if rec.suppressed.is_some() {
                continue;
            }
            match by_id.get(rec.rule_id.as_str()) {
                // A sweep keeps no file to look for hosts in.
                Some(rule) if is_ssh(rule) => {
                    left.ssh += 1;
                    rec.validation = Some(unknown(if args.validate_ssh {
                        "a sweep keeps no file to look for SSH hosts in"
                    } else {
                        SSH_NOT_ASKED
                    }));
                }
                Some(rule) if rule.validate.is_some() => {
                    let parts = rec
                        .parts
                        .iter()
                        .map(|p| keysweep::Part::new(&p.name, p.value.clone().into_bytes()))
                        .collect();
                    findings.push((
                        *rule,
                        keysweep::Finding::of_secret(
                            &rec.rule_id,
                            rec.secret.clone().into_bytes(),
                            parts,
                        ),
                    ));
                    at.push((ri, i));
                }
                _ => {
                    left.without += 1;
                    rec.validation = Some(no_validator());
                }
            }
        }
    }
    let items: Vec<(&Rule, &keysweep::Finding, &[SshTarget])> =
        findings.iter().map(|(r, f)| (*r, f, &[][..])).collect();
    let (answers, summary) = validate_items(args, store, &items, left)?;
    for ((ri, i), v) in at.into_iter().zip(answers) {
        repos[ri].records[i].validation = Some(v);
    }
    if args.only_live {
        for repo in repos.iter_mut() {
            repo.records
                .retain(|r| r.validation.as_ref().is_some_and(|v| v.status == "live"));
        }
    }
    Ok(summary)
}
