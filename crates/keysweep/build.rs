//! Pre-parses the built-in rule files.
//!
//! A pre-commit hook pays for rule loading on every run, and lexing about a megabyte of TOML
//! was a third of keysweep's start-up. The TOML is parsed here, once per build, and embedded
//! as a compact tree of the same values (see `src/builtin.rs` for the format and its
//! decoder); the rules themselves are still built from those values by the one code path
//! that reads user rule files, so built-in and user rules cannot drift apart.
//!
//! A malformed built-in rule file fails the build, naming the file and the TOML error.

use std::fmt::Write as _;
use std::path::Path;

use toml::{Table, Value};

/// Load order of the built-in rule files: a rule id is reported from the first file that
/// defines it, and `generic.toml` goes last.
const FILES: &[&str] = &[
    "cloud.toml",
    "infra.toml",
    "scm.toml",
    "cicd.toml",
    "ai.toml",
    "messaging.toml",
    "payment.toml",
    "observability.toml",
    "identity.toml",
    "private-keys.toml",
    "database.toml",
    "framework.toml",
    "misc.toml",
    "cloud-devops.toml",
    "saas.toml",
    "ai-data-security.toml",
    "credential-files.toml",
    "iot.toml",
    "science.toml",
    "legacy-web.toml",
    "secops.toml",
    "middleware.toml",
    "telephony.toml",
    "generic.toml",
];

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/builtin_format.rs");

    // Every file in rules/ is loaded: a new file that is not listed fails the build rather
    // than silently not shipping.
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "crates/keysweep/rules/*.toml and the list in build.rs differ"
    );

    let mut index = String::from(
        "/// `(file name, pre-parsed rule file)` of every built-in rule file, in load order.\n\
         pub(crate) const FILES: &[(&str, &[u8])] = &[\n",
    );
    for name in FILES {
        let path = dir.join(name);
        let src =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let table: Table = src
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut bytes = Vec::with_capacity(src.len());
        encode_table(&table, &mut bytes, name);
        let bin = format!("{}.bin", name.trim_end_matches(".toml"));
        std::fs::write(out.join(&bin), &bytes).expect("write to OUT_DIR");
        writeln!(
            index,
            "    ({name:?}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{bin}\"))),"
        )
        .unwrap();
    }
    index.push_str("];\n");
    std::fs::write(out.join("builtin_files.rs"), index).expect("write to OUT_DIR");
}

// The format, read back by `src/builtin.rs`: a value is one tag byte and its payload; lengths
// and counts are u32, numbers 8 bytes, all little-endian.
include!("src/builtin_format.rs");

fn encode_len(n: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(&u32::try_from(n).expect("under 4 GiB").to_le_bytes());
}

fn encode_str(s: &str, out: &mut Vec<u8>) {
    encode_len(s.len(), out);
    out.extend_from_slice(s.as_bytes());
}

fn encode_table(t: &Table, out: &mut Vec<u8>, file: &str) {
    out.push(TABLE);
    encode_len(t.len(), out);
    for (k, v) in t {
        encode_str(k, out);
        encode_value(v, out, file);
    }
}

fn encode_value(v: &Value, out: &mut Vec<u8>, file: &str) {
    match v {
        Value::String(s) => {
            out.push(STRING);
            encode_str(s, out);
        }
        Value::Integer(i) => {
            out.push(INTEGER);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Float(f) => {
            out.push(FLOAT);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Boolean(b) => {
            out.push(BOOLEAN);
            out.push(u8::from(*b));
        }
        Value::Array(a) => {
            out.push(ARRAY);
            encode_len(a.len(), out);
            for v in a {
                encode_value(v, out, file);
            }
        }
        Value::Table(t) => encode_table(t, out, file),
        Value::Datetime(d) => panic!("rules/{file}: dates are not rule values ({d})"),
    }
}
