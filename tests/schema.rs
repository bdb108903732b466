//! Every JSON output validates against the schema published in `docs/schema/` (generated from
//! the types that write it): findings (JSON and JSON Lines, from files, archives, standard
//! input, history and pending changes), the inventory (and `--group`), and baselines.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{keysweep, Repo};
use serde_json::Value;

fn schema(name: &str) -> (boon::Schemas, boon::SchemaIndex) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schema")
        .join(name);
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let id = schema["$id"].as_str().unwrap().to_string();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(&id, schema).unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(&id, &mut schemas).unwrap();
    (schemas, index)
}

fn validate(name: &str, doc: &Value) -> Result<(), String> {
    let (schemas, index) = schema(name);
    schemas.validate(doc, index).map_err(|e| format!("{e:#}"))
}

fn run(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = keysweep(dir, args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn records(bytes: &[u8]) -> Vec<Value> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Array(a)) => a,
        _ => bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect(),
    }
}

fn a_repository() -> Repo {
    let r = Repo::new();
    r.put(
        "app/settings.py",
        "STRIPE = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\nAWS = \"AKIAUJZDEGXDNCF32EPF\"  # keysweep:allow\n",
    );
    r.put(
        "deploy/k8s.yaml",
        "data:\n  DB_URL: cG9zdGdyZXM6Ly9hcHA6UzNjcjN0UGFzc3cwcmQhQGRiOjU0MzIvYXBw\n",
    );
    r.commit("add settings");
    r.put("app/settings.py", "STRIPE = os.environ['STRIPE']\n");
    r.commit("read it from the environment");
    r.put(
        "new.env",
        "GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\n",
    );
    r.git(&["add", "new.env"]);
    r
}

#[test]
fn every_finding_record_validates() {
    let r = a_repository();
    // An archive with a secret inside.
    let status = Command::new("python3")
        .current_dir(&r.path)
        .args([
            "-c",
            "import zipfile; z=zipfile.ZipFile('dist.jar','w'); z.writestr('config/app.env','SLACK=xoxb-7362617288-2817363719361-Qm3tXkL9pV2rN8cW5yZ1jH4d\\n'); z.close()",
        ])
        .status()
        .expect("python3 is needed to build the test archive");
    assert!(status.success());

    let mut seen_sources = std::collections::BTreeSet::new();
    let mut check = |bytes: &[u8], what: &str| {
        let rows = records(bytes);
        assert!(!rows.is_empty(), "{what}: no findings");
        for row in rows {
            validate("finding.json", &row).unwrap_or_else(|e| panic!("{what}: {e}\n{row:#}"));
            seen_sources.insert(row["source"].as_str().unwrap().to_string());
        }
    };
    check(
        &run(&r.path, &["scan", "-f", "json", "--show-suppressed", "."]),
        "files, json",
    );
    check(&run(&r.path, &["scan", "-f", "jsonl", "."]), "files, jsonl");
    check(
        &run(
            &r.path,
            &["scan", "--git", "-f", "jsonl", "--unreachable", "."],
        ),
        "history",
    );
    check(
        &run(&r.path, &["scan", "--staged", "-f", "json", "."]),
        "staged",
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_keysweep"))
        .current_dir(std::env::temp_dir())
        .args(["scan", "-f", "jsonl", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"token: ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\n")
        .unwrap();
    check(&child.wait_with_output().unwrap().stdout, "stdin");

    // A container image: files in layers (one removed by a later layer) and configuration
    // fields.
    let env = b"GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\n";
    let mut image = common::oci::Image::new(
        "example/app:1",
        vec![
            (
                common::oci::layer(&[("app/.env", env)]),
                common::oci::Comp::Gzip,
            ),
            (
                common::oci::layer(&[("app/.wh..env", b"")]),
                common::oci::Comp::Gzip,
            ),
        ],
    );
    image.config["config"]["Env"] = serde_json::json!(["STRIPE=sk_live_4eC39HqLyjWDarjtT1zdp7dc"]);
    common::oci::write_oci_archive(&r.path.join("../image.tar"), &[&image]);
    let rows = records(&run(
        &r.path,
        &["scan", "-f", "json", "--image", "../image.tar"],
    ));
    assert_eq!(rows.len(), 2);
    check(&serde_json::to_vec(&rows).unwrap(), "image");

    let want: Vec<&str> = vec!["change", "file", "history", "image", "stdin"];
    assert_eq!(
        seen_sources.iter().map(String::as_str).collect::<Vec<_>>(),
        want
    );

    // The archive entry and the decoded secret are among them, with their typed fields.
    let rows = records(&run(&r.path, &["scan", "-f", "json", "."]));
    let jar = rows
        .iter()
        .find(|v| v["archive"]["file"] == "dist.jar")
        .unwrap();
    assert_eq!(
        jar["archive"]["entries"],
        serde_json::json!(["config/app.env"])
    );
    assert_eq!(jar["path"], "dist.jar!/config/app.env");
    assert!(rows
        .iter()
        .any(|v| v["decoded"] == serde_json::json!(["base64"])));
}

#[test]
fn the_validator_rejects_what_is_not_a_finding() {
    let r = a_repository();
    let rows = records(&run(&r.path, &["scan", "-f", "json", "."]));
    let mut bad = rows[0].clone();
    bad["confidence"] = "very".into();
    assert!(validate("finding.json", &bad).is_err());
    let mut bad = rows[0].clone();
    bad["source"] = "ftp".into();
    assert!(validate("finding.json", &bad).is_err());
    let mut bad = rows[0].clone();
    bad["fingerprint"] = "not-hex".into();
    assert!(validate("finding.json", &bad).is_err());
}

#[test]
fn inventory_group_and_baseline_validate() {
    let r = a_repository();
    let inv: Value =
        serde_json::from_slice(&run(&r.path, &["inventory", "--git", "-q", "."])).unwrap();
    assert!(!inv["secrets"].as_array().unwrap().is_empty());
    validate("inventory.json", &inv).unwrap();

    let group: Value = serde_json::from_slice(&run(
        &r.path,
        &["scan", "--git", "--group", "-f", "json", "-q", "."],
    ))
    .unwrap();
    validate("inventory.json", &group).unwrap();

    let base: Value =
        serde_json::from_slice(&run(&r.path, &["baseline", "create", "-q", "."])).unwrap();
    assert!(!base["secrets"].as_array().unwrap().is_empty());
    validate("baseline.json", &base).unwrap();
    let mut bad = base.clone();
    bad["secrets"][0]["extra"] = 1.into();
    assert!(validate("baseline.json", &bad).is_err());
}
