//! `keysweep scan --image REF` against a real registry (Debian's docker-registry, started on a
//! free 127.0.0.1 port with its storage in a temporary directory, plain HTTP with
//! --insecure-registry). The tests push images built without a container daemon
//! (tests/common/oci.rs) through the distribution API themselves. Secrets are fake.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use common::oci::{self, layer, Comp, Image};
use common::registry::Registry;
use serde_json::{json, Value};

const GITHUB: &str = "ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u";
const STRIPE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const AWS: &str = "AKIAZ4X7Q2M9R3T8V6WN";
const SLACK: &str = "xoxb-7362617288-2817363719361-Qm3tXkL9pV2rN8cW5yZ1jH4d";
/// The password of the registry with authentication (a test value, never to be printed).
const PASSWORD: &str = "correct-horse-7Qm2";

/// Pushes `images` (one: its manifest under `tag`; several: an index of them, each with
/// the platform its configuration names, under `tag`). Returns the tag's digest and each
/// image's layer digests.
fn push(
    registry: &Registry,
    repo: &str,
    tag: &str,
    images: &[&Image],
) -> (String, Vec<Vec<String>>) {
    let (files, layers) = oci::oci_files(images, false);
    let blob = |digest: &str| -> &[u8] {
        let name = format!("blobs/sha256/{}", &digest[7..]);
        &files.iter().find(|(n, _)| *n == name).unwrap().1
    };
    let index: Value =
        serde_json::from_slice(&files.iter().find(|(n, _)| n == "index.json").unwrap().1).unwrap();
    let mut descriptors = Vec::new();
    for (d, image) in index["manifests"].as_array().unwrap().iter().zip(images) {
        let manifest: Value = serde_json::from_slice(blob(d["digest"].as_str().unwrap())).unwrap();
        for l in manifest["layers"].as_array().unwrap() {
            registry.put_blob(repo, blob(l["digest"].as_str().unwrap()));
        }
        registry.put_blob(repo, blob(manifest["config"]["digest"].as_str().unwrap()));
        let digest = d["digest"].as_str().unwrap();
        let media = d["mediaType"].as_str().unwrap();
        registry.put_manifest(
            repo,
            if images.len() == 1 { tag } else { digest },
            media,
            blob(digest),
        );
        let mut d = d.clone();
        d["platform"] = json!({
            "os": image.config["os"],
            "architecture": image.config["architecture"],
        });
        descriptors.push(d);
    }
    if images.len() == 1 {
        return (
            descriptors[0]["digest"].as_str().unwrap().to_string(),
            layers,
        );
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": descriptors,
    }))
    .unwrap();
    registry.put_manifest(repo, tag, "application/vnd.oci.image.index.v1+json", &index);
    (format!("sha256:{}", oci::sha256(&index)), layers)
}

/// Layer 1 (gzip) adds app/.env; layer 2 (zstd) deletes it and adds srv/key.txt; layer 3
/// (plain) adds etc/slack.conf; the history has a RUN line with a build argument.
fn image() -> Image {
    let env = format!("GITHUB_TOKEN={GITHUB}\n");
    let key = format!("aws_access_key_id = {AWS}\n");
    let slack = format!("slack_token = {SLACK}\n");
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
            (layer(&[("etc/slack.conf", slack.as_bytes())]), Comp::Plain),
        ],
    );
    image.config["history"] = json!([
        {"created_by": "/bin/sh -c #(nop) ADD file:0 in / "},
        {"created_by": format!("RUN |1 STRIPE_KEY={STRIPE} /bin/sh -c ./build.sh")},
        {"created_by": "COPY slack.conf /etc/"},
    ]);
    image
}

/// Runs `keysweep scan --format json` with `args` and an environment of its own (no
/// credential files but those `env` names).
fn scan(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> (Option<i32>, Vec<Value>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keysweep"));
    cmd.current_dir(dir)
        .env_remove("KEYSWEEP_FINGERPRINT_KEY")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("DOCKER_CONFIG")
        .env("HOME", dir)
        .env("XDG_RUNTIME_DIR", dir)
        .env("NO_COLOR", "1")
        .args(["scan", "--no-progress", "--reveal", "--format", "json"])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), v.as_array().unwrap().clone(), stderr)
}

/// What must agree between two scans of one image: rule, secret, path, and where in the image
/// (part, layer digest and position, removed_in, field).
fn essence(findings: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = findings
        .iter()
        .map(|f| {
            let image = &f["image"];
            format!(
                "{} {} {} {} {} {} {}",
                f["rule_id"],
                f["secret"],
                f["path"],
                image["part"],
                image["layer"],
                image["field"],
                image["manifest"]
            )
        })
        .collect();
    out.sort();
    out
}

fn by_secret<'a>(findings: &'a [Value], secret: &str) -> &'a Value {
    let found: Vec<&Value> = findings.iter().filter(|f| f["secret"] == secret).collect();
    assert_eq!(found.len(), 1, "{secret}: {findings:#?}");
    found[0]
}

#[test]
fn pulled_by_tag_and_by_digest_the_findings_are_the_layouts() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let img = image();
    let (digest, layers) = push(&registry, "team/app", "1.0", &[&img]);
    let dir = tempfile::tempdir().unwrap();
    img.write_oci_dir(&dir.path().join("layout"));
    let (code, local, stderr) = scan(dir.path(), &["--image", "layout"], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(local.len(), 4, "{local:#?}");

    let insecure = ["--insecure-registry", registry.host.as_str()];
    for reference in [
        format!("{}/team/app:1.0", registry.host),
        format!("{}/team/app@{digest}", registry.host),
    ] {
        let mut args = vec!["--image", reference.as_str()];
        args.extend(insecure);
        let (code, pulled, stderr) = scan(dir.path(), &args, &[]);
        assert_eq!(code, Some(1), "{reference}: {stderr}");
        assert_eq!(essence(&pulled), essence(&local), "{reference}");
        let key = by_secret(&pulled, AWS);
        let image = &key["image"];
        let pinned = reference.split('@').next().unwrap().to_string() + "@" + &digest;
        assert_eq!(image["name"], pinned.as_str());
        assert_eq!(image["layer"]["digest"], layers[0][1].as_str());
        assert_eq!(
            (
                image["layer"]["index"].as_u64(),
                image["layer"]["count"].as_u64()
            ),
            (Some(2), Some(3))
        );
        assert_eq!(
            by_secret(&pulled, GITHUB)["image"]["layer"]["removed_in"],
            2
        );
        assert!(stderr.contains("1 image(s): 3 layer(s)"), "{stderr}");
    }

    // Without --insecure-registry: HTTPS, which this registry does not speak; the error says
    // what to do.
    let reference = format!("{}/team/app:1.0", registry.host);
    let (code, _, stderr) = scan(dir.path(), &["--image", &reference], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--insecure-registry"), "{stderr}");
    // A tag that is not there.
    let reference = format!("{}/team/app:2.0", registry.host);
    let (code, _, stderr) = scan(
        dir.path(),
        &["--image", &reference, "--insecure-registry", &registry.host],
        &[],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("MANIFEST_UNKNOWN"), "{stderr}");
}

/// Two images in one index: linux/amd64 holds the GitHub token, linux/arm64 the Stripe key.
#[test]
fn an_index_gives_the_platform_asked_for_or_all() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let amd = Image::new(
        "example/multi:1",
        vec![(
            layer(&[("app/.env", format!("GITHUB_TOKEN={GITHUB}\n").as_bytes())]),
            Comp::Gzip,
        )],
    );
    let mut arm = Image::new(
        "example/multi:1",
        vec![(
            layer(&[("app/.env", format!("STRIPE={STRIPE}\n").as_bytes())]),
            Comp::Gzip,
        )],
    );
    arm.config["architecture"] = json!("arm64");
    let (_, layers) = push(&registry, "multi", "1", &[&amd, &arm]);
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("{}/multi:1", registry.host);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--image",
            reference.as_str(),
            "--insecure-registry",
            registry.host.as_str(),
        ];
        args.extend(extra);
        scan(dir.path(), &args, &[])
    };
    let secrets = |f: &[Value]| {
        let mut s: Vec<String> = f
            .iter()
            .map(|f| f["secret"].as_str().unwrap().to_string())
            .collect();
        s.sort();
        s
    };
    let (code, found, stderr) = run(&[]);
    assert_eq!(
        (code, secrets(&found)),
        (Some(1), vec![GITHUB.to_string()]),
        "{stderr}"
    );
    let (code, found, stderr) = run(&["--platform", "linux/arm64"]);
    assert_eq!(
        (code, secrets(&found)),
        (Some(1), vec![STRIPE.to_string()]),
        "{stderr}"
    );
    assert_eq!(found[0]["image"]["layer"]["digest"], layers[1][0].as_str());
    let (code, found, stderr) = run(&["--all-platforms"]);
    assert_eq!(
        (code, secrets(&found)),
        (Some(1), vec![GITHUB.to_string(), STRIPE.to_string()]),
        "{stderr}"
    );
    assert!(stderr.contains("2 image(s)"), "{stderr}");
    let (code, found, stderr) = run(&["--platform", "linux/s390x"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(found.is_empty());
    assert!(
        stderr.contains("no manifest for linux/s390x; it has: linux/amd64, linux/arm64"),
        "{stderr}"
    );
}

#[test]
fn credentials_from_docker_config_pull_and_wrong_ones_fail_without_showing_the_password() {
    let Some(registry) = Registry::start(Some(("ci", PASSWORD))) else {
        return;
    };
    let img = image();
    push(&registry, "private/app", "1", &[&img]);
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("{}/private/app:1", registry.host);
    let args = [
        "--image",
        reference.as_str(),
        "--insecure-registry",
        registry.host.as_str(),
    ];
    let docker = |name: &str, user: &str, password: &str| -> PathBuf {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        std::fs::write(
            d.join("config.json"),
            json!({"auths": {registry.host.clone(): {"auth": auth}}}).to_string(),
        )
        .unwrap();
        d
    };

    // No credentials.
    let (code, found, stderr) = scan(dir.path(), &args, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(found.is_empty());
    assert!(
        stderr.contains("needs credentials") && stderr.contains(&registry.host),
        "{stderr}"
    );

    let good = docker("good", "ci", PASSWORD);
    let (code, found, stderr) = scan(dir.path(), &args, &[("DOCKER_CONFIG", &good)]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(found.len(), 4, "{found:#?}");

    let wrong_password = "wrong-battery-9Zx4";
    let bad = docker("bad", "ci", wrong_password);
    let (code, found, stderr) = scan(dir.path(), &args, &[("DOCKER_CONFIG", &bad)]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(found.is_empty());
    assert!(
        stderr.contains("refused the credential") && stderr.contains("config.json"),
        "{stderr}"
    );
    for secret in [PASSWORD, wrong_password, "d3Jvbmct"] {
        assert!(!stderr.contains(secret), "{stderr}");
    }

    // A credential helper named by credHelpers, asked for the registry on its standard input.
    let helper_dir = dir.path().join("bin");
    std::fs::create_dir_all(&helper_dir).unwrap();
    let helper = helper_dir.join("docker-credential-kswtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\n[ \"$1\" = get ] && [ \"$server\" = \"{}\" ] || exit 1\necho '{{\"ServerURL\":\"'$server'\",\"Username\":\"ci\",\"Secret\":\"{PASSWORD}\"}}'\n",
            registry.host
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let helped = dir.path().join("helped");
    std::fs::create_dir_all(&helped).unwrap();
    std::fs::write(
        helped.join("config.json"),
        json!({"credHelpers": {registry.host.clone(): "kswtest"}}).to_string(),
    )
    .unwrap();
    let path = std::env::join_paths(std::iter::once(helper_dir.clone()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let (code, found, stderr) = scan(
        dir.path(),
        &args,
        &[("DOCKER_CONFIG", &helped), ("PATH", Path::new(&path))],
    );
    assert_eq!((code, found.len()), (Some(1), 4), "{stderr}");

    // Podman's auth file, named by REGISTRY_AUTH_FILE, comes first.
    let podman = docker("podman", "ci", PASSWORD).join("config.json");
    let (code, found, stderr) = scan(
        dir.path(),
        &args,
        &[("REGISTRY_AUTH_FILE", &podman), ("DOCKER_CONFIG", &bad)],
    );
    assert_eq!((code, found.len()), (Some(1), 4), "{stderr}");
}

#[test]
fn a_missing_blob_is_a_problem_naming_the_layer_and_the_rest_is_scanned() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let img = image();
    let (_, layers) = push(&registry, "team/app", "1", &[&img]);
    std::fs::remove_dir_all(registry.blob_dir(&layers[0][1])).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("{}/team/app:1", registry.host);
    let (code, found, stderr) = scan(
        dir.path(),
        &["--image", &reference, "--insecure-registry", &registry.host],
        &[],
    );
    assert_eq!(code, Some(2), "{stderr}");
    by_secret(&found, GITHUB);
    by_secret(&found, SLACK);
    by_secret(&found, STRIPE);
    assert!(found.iter().all(|f| f["secret"] != AWS), "{found:#?}");
    assert!(
        stderr.contains(&format!("layer 2 of 3 ({})", &layers[0][1][..19]))
            && stderr.contains("the registry does not have it"),
        "{stderr}"
    );
}

#[test]
fn a_corrupted_blob_is_a_digest_mismatch_error() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let img = image();
    let (_, layers) = push(&registry, "team/app", "1", &[&img]);
    // The plain layer: one byte of its secret changed, the size kept.
    let data = registry.blob_dir(&layers[0][2]).join("data");
    let mut bytes = std::fs::read(&data).unwrap();
    let at = bytes
        .windows(SLACK.len())
        .position(|w| w == SLACK.as_bytes())
        .unwrap();
    bytes[at + SLACK.len() - 1] = b'X';
    std::fs::write(&data, &bytes).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("{}/team/app:1", registry.host);
    let (code, found, stderr) = scan(
        dir.path(),
        &["--image", &reference, "--insecure-registry", &registry.host],
        &[],
    );
    assert_eq!(code, Some(2), "{stderr}");
    by_secret(&found, AWS);
    assert!(
        stderr.contains(&format!("layer 3 of 3 ({})", &layers[0][2][..19]))
            && stderr.contains("digest mismatch"),
        "{stderr}"
    );
}

/// `--cache`: a second pull reads no layer (the registry has lost them all, and the findings
/// are the same), and the cache is a sweep's work directory shared with `keysweep sweep`.
#[test]
fn cached_layers_are_not_pulled_again_and_the_cache_is_a_sweeps() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let img = image();
    let (_, layers) = push(&registry, "team/app", "1", &[&img]);
    let dir = tempfile::tempdir().unwrap();
    // A sweep's work directory, with a repository swept into it first.
    let repo = common::Repo::new();
    repo.put("config.env", &format!("GITHUB_TOKEN={GITHUB}\n"));
    repo.commit("config");
    let sweep = |workdir: &str| {
        Command::new(env!("CARGO_BIN_EXE_keysweep"))
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .args([
                "sweep",
                "--no-progress",
                "--workdir",
                workdir,
                "--out",
                "out",
            ])
            .arg(&repo.path)
            .output()
            .unwrap()
    };
    let out = sweep("work");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let reference = format!("{}/team/app:1", registry.host);
    let args = [
        "--image",
        reference.as_str(),
        "--insecure-registry",
        registry.host.as_str(),
        "--cache",
        "work",
    ];
    let (code, first, stderr) = scan(dir.path(), &args, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("from the cache"), "{stderr}");
    for layer in &layers[0] {
        std::fs::remove_dir_all(registry.blob_dir(layer)).unwrap();
    }
    let (code, second, stderr) = scan(dir.path(), &args, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("3 layer(s) taken from the cache, not read"),
        "{stderr}"
    );
    assert_eq!(essence(&second), essence(&first));
    assert_eq!(
        by_secret(&second, GITHUB)["image"]["layer"]["removed_in"].as_u64(),
        Some(2)
    );

    // The sweep still re-sweeps from the same cache file, its blobs untouched by the scan.
    let out = sweep("work");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let audit = std::fs::read_to_string(dir.path().join("out/audit.jsonl")).unwrap();
    assert!(audit.contains("\"blobs_scanned\":0"), "{audit}");

    // Without the cache the layers are gone: errors, exit 2.
    let (code, _, stderr) = scan(dir.path(), &args[..4], &[]);
    assert_eq!(code, Some(2), "{stderr}");
}
