//! SARIF output checked against the official SARIF 2.1.0 JSON schema (OASIS), with format
//! assertions on: plain findings, suppressed findings, history findings with provenance.
//!
//! `tests/fixtures/sarif-schema-2.1.0.json` is the OASIS schema, unmodified (its `$id` names
//! its source); it is vendored because tests have no network.

mod common;

use std::path::Path;

use common::{keysweep, Repo};
use serde_json::Value;

const SCHEMA_ID: &str =
    "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json";

/// Validates `doc`; returns the validation errors as text.
fn validate(doc: &Value) -> Result<(), String> {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(schema_path).unwrap()).unwrap();
    assert_eq!(schema["$id"], SCHEMA_ID);
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(SCHEMA_ID, schema).unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(SCHEMA_ID, &mut schemas).unwrap();
    schemas.validate(doc, index).map_err(|e| format!("{e:#}"))
}

fn sarif(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["scan", "--no-progress", "--format", "sarif"];
    all.extend_from_slice(args);
    let out = keysweep(dir, &all);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let r = Repo::new();
    r.put(
        "app/settings.py",
        "STRIPE = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\n\
         AWS = \"AKIAUJZDEGXDNCF32EPF\"  # keysweep:allow\n\
         EXAMPLE = \"AKIAIOSFODNN7EXAMPLE\"\n",
    );
    r.put(
        "dir with space/#odd.env",
        "AWS_ACCESS_KEY_ID=AKIAQW4RZT7MN2XKLP3V\n",
    );
    r.commit("add settings");

    let plain = sarif(&r.path, &["."]);
    assert_eq!(plain["runs"][0]["results"].as_array().unwrap().len(), 2);
    validate(&plain).unwrap();

    let suppressed = sarif(&r.path, &["--show-suppressed", "."]);
    // Matches the gates drop as not secrets are listed too; the four findings are the rest.
    let dropped = [
        "rejected by its rule: not a secret",
        "below the rule's minimum entropy",
        "looks like code, not a literal",
    ];
    let results: Vec<&Value> = suppressed["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            !r["suppressions"][0]["justification"]
                .as_str()
                .is_some_and(|j| dropped.contains(&j))
        })
        .collect();
    assert_eq!(results.len(), 4);
    let kinds: Vec<&str> = results
        .iter()
        .filter_map(|r| r["suppressions"][0]["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["inSource", "external"]);
    validate(&suppressed).unwrap();

    let history = sarif(&r.path, &["--git", "."]);
    let results = history["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .all(|r| r["properties"]["git"]["commit"].is_string()));
    validate(&history).unwrap();

    let staged = {
        r.put("new.cfg", "token = AKIAZX5HBT2RQ7MWNK4D\n");
        r.git(&["add", "new.cfg"]);
        sarif(&r.path, &["--staged", "."])
    };
    assert_eq!(staged["runs"][0]["results"].as_array().unwrap().len(), 1);
    validate(&staged).unwrap();

    let image = {
        let mut image = common::oci::Image::new(
            "example/app:1",
            vec![(
                common::oci::layer(&[(
                    "srv/key.txt",
                    b"aws_access_key_id = AKIAQW4RZT7MN2XKLP3V\n",
                )]),
                common::oci::Comp::Zstd,
            )],
        );
        image.config["history"] = serde_json::json!([{"created_by": "RUN |1 STRIPE=sk_live_4eC39HqLyjWDarjtT1zdp7dc /bin/sh -c make"}]);
        common::oci::write_docker_archive(&r.path.join("../image.tar"), &[&image]);
        sarif(&r.path, &["--image", "../image.tar"])
    };
    let results = image["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r["properties"]["source"] == "image"));
    validate(&image).unwrap();

    // The check can fail: a document the schema rejects is rejected.
    let mut broken = plain.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(validate(&broken).is_err());
    let mut broken = plain;
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    assert!(validate(&broken).is_err());
}
