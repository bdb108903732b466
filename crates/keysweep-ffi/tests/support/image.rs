//! A `docker save` archive written without a container daemon: a secret added in layer 1 and
//! deleted (a whiteout) in layer 2. Digests are real SHA-256.
#![allow(dead_code)] // each test uses a different part

use std::path::Path;

use sha2::{Digest, Sha256};

/// The fake AWS key id in layer 1 (the format is checked; the key does not exist).
pub const IMAGE_KEY: &str = "AKIAZX5HBT2RQ7MWNK4D";

fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, name, *data).unwrap();
    }
    tar.into_inner().unwrap()
}

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The image's two layers (plain tar) and its configuration; `digests` of the layers.
pub fn parts() -> (Vec<Vec<u8>>, String) {
    let secret = format!("AWS_ACCESS_KEY_ID={IMAGE_KEY}\n");
    let layers = vec![
        tar(&[
            ("app/deploy.env", secret.as_bytes()),
            ("app/README", b"hi\n"),
        ]),
        tar(&[("app/.wh.deploy.env", b"")]),
    ];
    let digests = digests(&layers);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Env":["PATH=/usr/bin"]}},"rootfs":{{"type":"layers","diff_ids":["{}","{}"]}}}}"#,
        digests[0], digests[1]
    );
    (layers, config)
}

/// The digests (`sha256:...`) of `layers`.
pub fn digests(layers: &[Vec<u8>]) -> Vec<String> {
    layers
        .iter()
        .map(|l| format!("sha256:{}", sha256(l)))
        .collect()
}

/// Writes the archive at `path`; returns the layers' digests (`sha256:...`).
pub fn docker_save(path: &Path) -> Vec<String> {
    let (layers, config) = parts();
    let ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    let digests = digests(&layers);
    let config_name = format!("{}.json", sha256(config.as_bytes()));
    let names: Vec<String> = ids.iter().map(|id| format!("{id}/layer.tar")).collect();
    let manifest = format!(
        r#"[{{"Config":"{config_name}","RepoTags":["example/app:1"],"Layers":["{}","{}"]}}]"#,
        names[0], names[1]
    );
    let mut files: Vec<(&str, &[u8])> = vec![
        (&names[0], &layers[0]),
        (&names[1], &layers[1]),
        (&config_name, config.as_bytes()),
        ("manifest.json", manifest.as_bytes()),
    ];
    files.sort_by_key(|(n, _)| *n == "manifest.json");
    std::fs::write(path, tar(&files)).unwrap();
    digests
}
