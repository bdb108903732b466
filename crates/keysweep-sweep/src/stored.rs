//! Findings as the cache stores them.
//!
//! [`Record`] serialises its location flat (`#[serde(flatten)]` of [`Location`], its internally
//! tagged [`Source`] and the commit in [`HistoryOrigin`]): right for `findings.jsonl`, slow to
//! read back, because serde buffers every field of a flattened struct before it can tell them
//! apart. A re-sweep reads every finding of every repository from the cache, so the cache keeps
//! the same fields nested instead ([`Stored`]): a plain struct that serde_json reads in one
//! pass, about three times as fast. Written from borrowed fields (nothing is copied to store a
//! record), read back owned. The conversions destructure every struct without `..`: a field
//! added to [`Record`] or [`Location`] does not compile until it is stored here too.

use std::borrow::Cow;

use keysweep_report::{Record, RecordPart, RecordValidation};
use keysweep_source::{
    ArchiveEntry, ChangeOrigin, CommitInfo, Context, HistoryOrigin, ImageOrigin, Location,
    Repository, Source, SubmoduleOrigin,
};
use serde::{Deserialize, Serialize};

/// A [`Record`] with its location nested: borrowed from a record to be written, owned when
/// read. Field names are short: this is the cache's own format, read back only by
/// [`Stored::into_record`].
#[derive(Serialize, Deserialize)]
pub(crate) struct Stored<'a> {
    id: Cow<'a, str>,
    name: Cow<'a, str>,
    path: Option<Cow<'a, str>>,
    path_b64: Option<Cow<'a, str>>,
    src: StoredSource<'a>,
    ctx: Context,
    archive: Option<Cow<'a, ArchiveEntry>>,
    repo: Option<Cow<'a, Repository>>,
    sub: Option<Cow<'a, SubmoduleOrigin>>,
    pos: [usize; 6],
    secret: Cow<'a, str>,
    redacted: bool,
    fp: keysweep::Fingerprint,
    entropy: f64,
    conf: keysweep::Confidence,
    check: Option<bool>,
    tags: Cow<'a, [String]>,
    supp: Option<keysweep::Suppression>,
    dec: Cow<'a, [keysweep::Encoding]>,
    parts: Cow<'a, [RecordPart]>,
    val: Option<Cow<'a, RecordValidation>>,
}

/// [`Source`], externally tagged (read without buffering).
#[derive(Serialize, Deserialize)]
enum StoredSource<'a> {
    File,
    Stdin,
    History(StoredHistory<'a>),
    Change(Cow<'a, ChangeOrigin>),
    Image(Cow<'a, ImageOrigin>),
}

/// [`HistoryOrigin`] with its commit nested.
#[derive(Serialize, Deserialize)]
struct StoredHistory<'a> {
    blob: Cow<'a, str>,
    commit: Option<Cow<'a, CommitInfo>>,
    refs: Cow<'a, [String]>,
    refs_total: usize,
    at_head: bool,
    reachable: bool,
    damaged: bool,
}

impl<'a> Stored<'a> {
    /// The stored form of `record`, borrowing from it.
    pub(crate) fn of(record: &'a Record) -> Stored<'a> {
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
        } = record;
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
                    blob: Cow::Borrowed(blob),
                    commit: commit.as_ref().map(Cow::Borrowed),
                    refs: Cow::Borrowed(refs),
                    refs_total: *refs_total,
                    at_head: *present_at_head,
                    reachable: *reachable,
                    damaged: *damaged,
                })
            }
            Source::Change { git } => StoredSource::Change(Cow::Borrowed(git)),
            Source::Image { image } => StoredSource::Image(Cow::Borrowed(image)),
        };
        Stored {
            id: Cow::Borrowed(rule_id),
            name: Cow::Borrowed(rule_name),
            path: path.as_deref().map(Cow::Borrowed),
            path_b64: path_base64.as_deref().map(Cow::Borrowed),
            src,
            ctx: *context,
            archive: archive.as_ref().map(Cow::Borrowed),
            repo: repository.as_ref().map(Cow::Borrowed),
            sub: submodule.as_ref().map(Cow::Borrowed),
            pos: [
                *line,
                *column,
                *end_line,
                *end_column,
                *byte_start,
                *byte_end,
            ],
            secret: Cow::Borrowed(secret),
            redacted: *redacted,
            fp: *fingerprint,
            entropy: *entropy,
            conf: *confidence,
            check: *check_passed,
            tags: Cow::Borrowed(tags),
            supp: *suppressed,
            dec: Cow::Borrowed(decoded),
            parts: Cow::Borrowed(parts),
            val: validation.as_ref().map(Cow::Borrowed),
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
                    blob: h.blob.into_owned(),
                    commit: h.commit.map(Cow::into_owned),
                    refs: h.refs.into_owned(),
                    refs_total: h.refs_total,
                    present_at_head: h.at_head,
                    reachable: h.reachable,
                    damaged: h.damaged,
                },
            },
            StoredSource::Change(git) => Source::Change {
                git: git.into_owned(),
            },
            StoredSource::Image(image) => Source::Image {
                image: image.into_owned(),
            },
        };
        Record {
            rule_id: id.into_owned(),
            rule_name: name.into_owned(),
            location: Location {
                path: path.map(Cow::into_owned),
                path_base64: path_b64.map(Cow::into_owned),
                source,
                context: ctx,
                archive: archive.map(Cow::into_owned),
                repository: repo.map(Cow::into_owned),
                submodule: sub.map(Cow::into_owned),
            },
            line,
            column,
            end_line,
            end_column,
            byte_start,
            byte_end,
            secret: secret.into_owned(),
            redacted,
            fingerprint: fp,
            entropy,
            confidence: conf,
            check_passed: check,
            tags: tags.into_owned(),
            suppressed: supp,
            decoded: dec.into_owned(),
            parts: parts.into_owned(),
            validation: val.map(Cow::into_owned),
        }
    }
}
