//! `keysweep scan --image`: the real binary over images built without a container daemon
//! (tests/common/oci.rs): a `docker save` archive, its newer OCI form and an OCI layout
//! directory, in every output format; exit statuses; a damaged layer. Secrets are fake.

mod common;

use std::path::Path;

use common::keysweep;
use common::oci::{self, layer, Comp, Image};
use serde_json::{json, Value};

const GITHUB: &str = "ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u";
const STRIPE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const AWS: &str = "AKIAZ4X7Q2M9R3T8V6WN";

/// Layer 1 (gzip) adds app/.env; layer 2 (zstd) deletes it and adds srv/key.txt; the
/// configuration's history has a RUN line with a build argument.
fn image() -> Image {
    let env = format!("GITHUB_TOKEN={GITHUB}\n");
    let key = format!("aws_access_key_id = {AWS}\n");
    let mut image = Image::new(
        "example/app:1.0",
        vec![
            (
                layer(&[("app/", b""), ("app/.env", env.as_bytes())]),
                Comp::Gzip,
            ),
            (
                layer(&[("app/.wh..env", b""), ("srv/key.txt", key.as_bytes())]),
                Comp::Zstd,
            ),
        ],
    );
    image.config["history"] = json!([
        {"created_by": "/bin/sh -c #(nop) ADD file:0 in / "},
        {"created_by": format!("RUN |1 STRIPE_KEY={STRIPE} /bin/sh -c ./build.sh")},
    ]);
    image
}

fn json_scan(dir: &Path, image: &str) -> (Option<i32>, Vec<Value>, String) {
    let out = keysweep(
        dir,
        &[
            "scan",
            "--no-progress",
            "--format",
            "json",
            "--image",
            image,
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        out.status.code(),
        v.as_array().unwrap().clone(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn by_secret<'a>(findings: &'a [Value], prefix: &str) -> &'a Value {
    let found: Vec<&Value> = findings
        .iter()
        .filter(|f| f["secret"].as_str().unwrap().starts_with(prefix))
        .collect();
    assert_eq!(found.len(), 1, "{prefix}: {findings:#?}");
    found[0]
}

#[test]
fn every_layout_gives_the_same_findings_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let img = image();
    oci::write_docker_archive(&dir.path().join("docker.tar"), &[&img]);
    oci::write_oci_archive(&dir.path().join("docker25.tar"), &[&img]);
    let digests = img.write_oci_dir(&dir.path().join("layout"));
    for name in ["docker.tar", "docker25.tar", "layout"] {
        let (code, findings, stderr) = json_scan(dir.path(), name);
        assert_eq!(code, Some(1), "{name}: {stderr}");
        assert_eq!(findings.len(), 3, "{name}: {findings:#?}");
        assert!(
            stderr.contains("3 finding(s) in 1 image(s): 2 layer(s)"),
            "{stderr}"
        );

        let env = by_secret(&findings, "ghp_");
        assert_eq!(env["source"], "image");
        assert_eq!(env["path"], "app/.env");
        assert_eq!(
            (env["line"].as_u64(), env["column"].as_u64()),
            (Some(1), Some(14))
        );
        assert_eq!(env["image"]["name"], name);
        assert_eq!(env["image"]["tags"], json!(["example/app:1.0"]));
        assert_eq!(env["image"]["part"], "layer");
        let layer = &env["image"]["layer"];
        assert_eq!(
            (layer["index"].as_u64(), layer["count"].as_u64()),
            (Some(1), Some(2))
        );
        assert_eq!(layer["removed_in"], 2, "{name}");
        if name != "docker.tar" {
            // Blob digests (the classic archive names layers by their tar's digest).
            assert_eq!(layer["digest"], digests[0].as_str());
        }

        let key = by_secret(&findings, "AKIA");
        assert_eq!(key["path"], "srv/key.txt");
        assert_eq!(key["image"]["layer"]["index"], 2);
        assert!(key["image"]["layer"].get("removed_in").is_none());

        let run = by_secret(&findings, "sk_l");
        assert_eq!(run["image"]["part"], "config");
        assert_eq!(run["image"]["field"], "history[1].created_by");
        assert!(run.get("path").is_none());
        assert_eq!(run["context"], "deployment");
    }
}

#[test]
fn human_jsonl_and_sarif_name_the_image_and_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    oci::write_oci_archive(&dir.path().join("app.tar"), &[&image()]);
    let out = keysweep(dir.path(), &["scan", "--no-progress", "--image", "app.tar"]);
    assert_eq!(out.status.code(), Some(1));
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(human.contains("app/.env:1:14  github."), "{human}");
    assert!(
        human.contains("in image app.tar (example/app:1.0), layer 1 of 2 (sha256:"),
        "{human}"
    );
    assert!(
        human.contains("removed in layer 2, but still in the image for anyone who pulls it"),
        "{human}"
    );
    assert!(
        human.contains("<image config: history[1].created_by>:1:"),
        "{human}"
    );
    assert!(!human.contains(GITHUB), "redacted by default");

    let out = keysweep(
        dir.path(),
        &[
            "scan",
            "--no-progress",
            "--format",
            "jsonl",
            "--image",
            "app.tar",
        ],
    );
    let lines: Vec<Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["source"] == "image"));

    let out = keysweep(
        dir.path(),
        &[
            "scan",
            "--no-progress",
            "--format",
            "sarif",
            "--image",
            "app.tar",
        ],
    );
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let env = results
        .iter()
        .find(|r| r["properties"]["image"]["layer"]["index"] == 1)
        .unwrap();
    assert_eq!(env["properties"]["source"], "image");
    assert_eq!(env["properties"]["image"]["layer"]["removed_in"], 2);
    assert_eq!(
        env["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app/.env"
    );
}

#[test]
fn a_damaged_layer_exits_2_and_the_rest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let img = image();
    let layout = dir.path().join("layout");
    let digests = img.write_oci_dir(&layout);
    let blob = layout.join("blobs/sha256").join(&digests[1][7..]);
    let data = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, &data[..data.len() / 3]).unwrap();
    let (code, findings, stderr) = json_scan(dir.path(), "layout");
    assert_eq!(code, Some(2), "{stderr}");
    // Layer 1 and the configuration are reported; layer 2's key is not.
    by_secret(&findings, "ghp_");
    by_secret(&findings, "sk_l");
    assert!(findings
        .iter()
        .all(|f| !f["secret"].as_str().unwrap().starts_with("AKIA")));
    assert!(
        stderr.contains(&format!(
            "error: layout layer 2 of 2 ({}): cannot read",
            &digests[1][..19]
        )),
        "{stderr}"
    );
}

#[test]
fn what_is_not_an_image_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let out = keysweep(dir.path(), &["scan", "--no-progress", "--image", "empty"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("empty: not a container image: no manifest.json"),
        "{stderr}"
    );
    let out = keysweep(dir.path(), &["scan", "--image", "empty", "."]);
    assert_eq!(out.status.code(), Some(2), "--image takes no PATH");
}

#[test]
fn help_describes_image() {
    let out = keysweep(Path::new("."), &["scan", "--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("--image <REF>"), "{help}");
    assert!(help.contains("removed in that layer"), "{help}");
}

#[test]
fn a_missing_image_file_is_not_pulled_from_docker_hub() {
    let dir = tempfile::tempdir().unwrap();
    for path in ["out/app.tar", "app.tar.gz", "./app", "acme/my.app"] {
        let out = keysweep(dir.path(), &["scan", "--no-progress", "--image", path]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {stderr}");
        assert!(
            stderr.contains(&format!("no such file: {path}")),
            "{path}: {stderr}"
        );
        assert!(
            !stderr.contains("docker.io") && !stderr.contains("pulled as a registry reference"),
            "{path}: {stderr}"
        );
    }
}
