//! Findings as the cache stores them.
//!
//! [`Record`] serialises its location flat (`#[serde(flatten)]` of [`Location`], its internally
//! tagged [`Source`] and the commit in [`HistoryOrigin`]): right for `findings.jsonl`, slow to
//! read back, because serde buffers every field of a flattened struct before it can tell them
//! apart. A re-sweep reads every finding of every repository from the cache, so the cache keeps
//! the same fields nested instead ([`Stored`]): a plain struct that serde_json reads in one
//! pass, about three times as fast. The conversions destructure every struct without `..`: a
//! field added to [`Record`] or [`Location`] does not compile until it is stored here too.

use keysweep_report::{Record, RecordPart, RecordValidation};
use keysweep_source::{
    ArchiveEntry, ChangeOrigin, CommitInfo, Context, HistoryOrigin, ImageOrigin, Location,
    Repository, Source, SubmoduleOrigin,
};
use serde::{Deserialize, Serialize};

/// A [`Record`] with its location nested. Field names are short: this is the cache's own
/// format, read back only by [`Stored::into_record`].
#[derive(Serialize, Deserialize)]
pub(crate) struct Stored {
    id: String,
    name: String,
    path: Option<String>,
    path_b64: Option<String>,
    src: StoredSource,
    ctx: Context,
    archive: Option<ArchiveEntry>,
    repo: Option<Repository>,
    sub: Option<SubmoduleOrigin>,
    pos: [usize; 6],
    secret: String,
    redacted: bool,
    fp: keysweep::Fingerprint,
    entropy: f64,
    conf: keysweep::Confidence,
    check: Option<bool>,
    tags: Vec<String>,
    supp: Option<keysweep::Suppression>,
    dec: Vec<keysweep::Encoding>,
    parts: Vec<RecordPart>,
    val: Option<RecordValidation>,
}

/// [`Source`], externally tagged (read without buffering).
#[derive(Serialize, Deserialize)]
enum StoredSource {
    File,
    Stdin,
    History(StoredHistory),
    Change(ChangeOrigin),
    Image(ImageOrigin),
}

/// [`HistoryOrigin`] with its commit nested.
#[derive(Serialize, Deserialize)]
struct StoredHistory {
    blob: String,
    commit: Option<CommitInfo>,
    refs: Vec<String>,
    refs_total: usize,
    at_head: bool,
    reachable: bool,
    damaged: bool,
}

impl Stored {
    /// The stored form of `record`.
    pub(crate) fn of(record: &Record) -> Stored {
        let Record {
            rule_id,
            rule_name,
            location,
            line,
            column,
            end_line,
            end_column,
            byte_start,
            byte_end,
            secret,
            redacted,
            fingerprint,
            entropy,
            confidence,
            check_passed,
            tags,
            suppressed,
            decoded,
            parts,
            validation,
        } = record.clone();
        let Location {
            path,
            path_base64,
            source,
            context,
            archive,
            repository,
            submodule,
        } = location;
        let src = match source {
            Source::File => StoredSource::File,
            Source::Stdin => StoredSource::Stdin,
            Source::History { git } => {
                let HistoryOrigin {
                    blob,
                    commit,
                    refs,
                    refs_total,
                    present_at_head,
                    reachable,
                    damaged,
                } = git;
                StoredSource::History(StoredHistory {
                    blob,
                    commit,
                    refs,
                    refs_total,
                    at_head: present_at_head,
                    reachable,
                    damaged,
                })
            }
            Source::Change { git } => StoredSource::Change(git),
            Source::Image { image } => StoredSource::Image(image),
        };
        Stored {
            id: rule_id,
            name: rule_name,
            path,
            path_b64: path_base64,
            src,
            ctx: context,
            archive,
            repo: repository,
            sub: submodule,
            pos: [line, column, end_line, end_column, byte_start, byte_end],
            secret,
            redacted,
            fp: fingerprint,
            entropy,
            conf: confidence,
            check: check_passed,
            tags,
            supp: suppressed,
            dec: decoded,
            parts,
            val: validation,
        }
    }

    /// The record it stores.
    pub(crate) fn into_record(self) -> Record {
        let Stored {
            id,
            name,
            path,
            path_b64,
            src,
            ctx,
            archive,
            repo,
            sub,
            pos: [line, column, end_line, end_column, byte_start, byte_end],
            secret,
            redacted,
            fp,
            entropy,
            conf,
            check,
            tags,
            supp,
            dec,
            parts,
            val,
        } = self;
        let source = match src {
            StoredSource::File => Source::File,
            StoredSource::Stdin => Source::Stdin,
            StoredSource::History(h) => Source::History {
                git: HistoryOrigin {
                    blob: h.blob,
                    commit: h.commit,
                    refs: h.refs,
                    refs_total: h.refs_total,
                    present_at_head: h.at_head,
                    reachable: h.reachable,
                    damaged: h.damaged,
                },
            },
            StoredSource::Change(git) => Source::Change { git },
            StoredSource::Image(image) => Source::Image { image },
        };
        Record {
            rule_id: id,
            rule_name: name,
            location: Location {
                path,
                path_base64: path_b64,
                source,
                context: ctx,
                archive,
                repository: repo,
                submodule: sub,
            },
            line,
            column,
            end_line,
            end_column,
            byte_start,
            byte_end,
            secret,
            redacted,
            fingerprint: fp,
            entropy,
            confidence: conf,
            check_passed: check,
            tags,
            suppressed: supp,
            decoded: dec,
            parts,
            validation: val,
        }
    }
}
