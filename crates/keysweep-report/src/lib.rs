//! keysweep's outputs, over one unit: the [`Hit`](keysweep_source::Hit) (a finding and its
//! typed location) and its serialised form, the [`Record`].
//!
//! - [`Report`]: human lines, JSON, JSON Lines and SARIF 2.1.0;
//! - [`Record`]: a finding as JSON output writes it and saved results are read back
//!   ([`read_records`]);
//! - [`Baseline`]: triaged findings by fingerprint;
//! - [`Inventory`]: one entry per distinct secret across runs and repositories, as JSON, CSV,
//!   HTML or human lines;
//! - [`schema`]: JSON Schemas of the records, the inventory and baselines, generated from the
//!   types (published in `docs/schema/`);
//! - [`write_output`]: `-o FILE` that writes through to what is there.
//!
//! ```
//! use keysweep::{RuleSet, Scanner};
//! use keysweep_report::{Format, Report};
//! use keysweep_source::{Hit, Location};
//!
//! let scanner = Scanner::new(RuleSet::builtin()).unwrap();
//! let text = b"AWS_ACCESS_KEY_ID=AKIAZ4X7Q2M9R3T8V6WN\n";
//! let hits: Vec<Hit> = scanner
//!     .scan(&mut scanner.scratch(), text)
//!     .into_iter()
//!     .map(|finding| Hit { finding, location: Location::file("deploy.env".as_ref()) })
//!     .collect();
//! let report = Report { scanner: &scanner, hits: &hits, reveal: false, color: false, name_repositories: false, validations: &[] };
//! let mut out = Vec::new();
//! report.write(&mut out, Format::Human).unwrap();
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "deploy.env:1:19  aws.access_key_id  AKIA*****  high  [config]\n"
//! );
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod baseline;
pub mod codeowners;
mod files;
pub mod inventory;
mod output;
mod record;
mod results;
pub mod schema;

pub use baseline::{Baseline, BaselineError};
pub use files::write_output;
pub use inventory::Inventory;
pub use output::{short_list, terminal_safe, Format, Report};
pub use record::{public_part, redact, shown, IdentityField, Record, RecordPart, RecordValidation};
pub use results::{read_records, safe_json_error};
