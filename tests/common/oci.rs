//! Container images built by tests without a container daemon: layer tarballs written with the
//! `tar` crate, compressed with flate2 (gzip) or the `zstd` command (Zstandard, as container
//! tools write it), then laid out as `docker save` writes them (classic and the newer
//! OCI-in-archive form) or as an OCI image layout directory. Digests are real SHA-256.
#![allow(dead_code)] // each test crate uses a different part

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// How a layer is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comp {
    Plain,
    Gzip,
    Zstd,
}

/// An uncompressed layer: `(name, bytes)`; a name ending in `/` is a directory.
pub fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        if let Some(dir) = name.strip_suffix('/') {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            h.set_mode(0o755);
            tar.append_data(&mut h, dir, &[][..]).unwrap();
        } else {
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            tar.append_data(&mut h, name, *data).unwrap();
        }
    }
    tar.into_inner().unwrap()
}

pub fn compress(data: &[u8], comp: Comp) -> Vec<u8> {
    match comp {
        Comp::Plain => data.to_vec(),
        Comp::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(data).unwrap();
            gz.finish().unwrap()
        }
        Comp::Zstd => {
            let mut child = Command::new("zstd")
                .args(["-q", "-c", "-3"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("the zstd command (Debian package zstd; tests/setup.sh installs it)");
            let mut stdin = child.stdin.take().unwrap();
            let input = data.to_vec();
            let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
            let out = child.wait_with_output().unwrap();
            writer.join().unwrap();
            assert!(out.status.success());
            out.stdout
        }
    }
}

pub fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn sha512(data: &[u8]) -> String {
    sha2::Sha512::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An image: layers (uncompressed tar, how its blob is compressed), the configuration (its
/// `rootfs` is filled in), manifest annotations and a tag.
pub struct Image {
    pub layers: Vec<(Vec<u8>, Comp)>,
    pub config: Value,
    pub annotations: Value,
    pub tag: String,
    /// Blobs named by their SHA-512 instead of their SHA-256 (OCI layouts and archives).
    pub sha512: bool,
}

impl Image {
    pub fn new(tag: &str, layers: Vec<(Vec<u8>, Comp)>) -> Image {
        let history: Vec<Value> = (0..layers.len())
            .map(|i| json!({"created_by": format!("/bin/sh -c #(nop) ADD file:{i} in / ")}))
            .collect();
        Image {
            layers,
            config: json!({
                "architecture": "amd64",
                "os": "linux",
                "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
                "history": history,
            }),
            annotations: json!({}),
            tag: tag.to_string(),
            sha512: false,
        }
    }

    /// The layer blobs as stored (compressed).
    pub fn blobs(&self) -> Vec<Vec<u8>> {
        self.layers.iter().map(|(t, c)| compress(t, *c)).collect()
    }

    /// The configuration with `rootfs.diff_ids`.
    pub fn config_json(&self) -> Vec<u8> {
        let mut c = self.config.clone();
        let ids: Vec<String> = self
            .layers
            .iter()
            .map(|(t, _)| format!("sha256:{}", sha256(t)))
            .collect();
        c["rootfs"] = json!({"type": "layers", "diff_ids": ids});
        serde_json::to_vec(&c).unwrap()
    }

    /// Writes the OCI blobs (layers, config, manifest) into `files` as `blobs/sha256/HEX`;
    /// returns the manifest's descriptor and the layer digests.
    fn oci_blobs(&self, files: &mut Vec<(String, Vec<u8>)>) -> (Value, Vec<String>) {
        let algorithm = if self.sha512 { "sha512" } else { "sha256" };
        let mut put = |data: Vec<u8>| -> (String, usize) {
            let hex = if self.sha512 {
                sha512(&data)
            } else {
                sha256(&data)
            };
            let len = data.len();
            files.push((format!("blobs/{algorithm}/{hex}"), data));
            (format!("{algorithm}:{hex}"), len)
        };
        let mut layers = Vec::new();
        let mut digests = Vec::new();
        for ((_, comp), blob) in self.layers.iter().zip(self.blobs()) {
            let media = match comp {
                Comp::Plain => "application/vnd.oci.image.layer.v1.tar",
                Comp::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
                Comp::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
            };
            let (digest, size) = put(blob);
            digests.push(digest.clone());
            layers.push(json!({"mediaType": media, "digest": digest, "size": size}));
        }
        let (config, config_size) = put(self.config_json());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
            "layers": layers,
            "annotations": self.annotations,
        });
        let (digest, size) = put(serde_json::to_vec(&manifest).unwrap());
        let descriptor = json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
            "annotations": {"org.opencontainers.image.ref.name": self.tag},
        });
        (descriptor, digests)
    }

    /// An OCI image layout directory; returns the layer digests.
    pub fn write_oci_dir(&self, dir: &Path) -> Vec<String> {
        let (files, digests) = oci_files(&[self], false);
        for (name, data) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        }
        digests.into_iter().next().unwrap()
    }
}

/// Files of an archive or a directory: `(path, bytes)`.
pub type Files = Vec<(String, Vec<u8>)>;

/// The files of an OCI layout holding `images`, with a Docker `manifest.json` too when
/// `docker` (what `docker save` writes since Docker 25); and each image's layer digests.
pub fn oci_files(images: &[&Image], docker: bool) -> (Files, Vec<Vec<String>>) {
    let mut files = Vec::new();
    let mut descriptors = Vec::new();
    let mut all = Vec::new();
    let mut docker_manifest = Vec::new();
    for image in images {
        let (descriptor, digests) = image.oci_blobs(&mut files);
        let config = files.iter().rev().nth(1).map(|(n, _)| n.clone()).unwrap();
        docker_manifest.push(json!({
            "Config": config,
            "RepoTags": [image.tag],
            "Layers": digests.iter().map(|d| format!("blobs/sha256/{}", &d[7..])).collect::<Vec<_>>(),
        }));
        descriptors.push(descriptor);
        all.push(digests);
    }
    files.sort();
    files.dedup_by(|a, b| a.0 == b.0);
    files.push((
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    files.push((
        "index.json".into(),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": descriptors})).unwrap(),
    ));
    if docker {
        files.push((
            "manifest.json".into(),
            serde_json::to_vec(&docker_manifest).unwrap(),
        ));
    }
    (files, all)
}

/// A tar archive of `files` (in order).
pub fn write_tar(path: &Path, files: &[(String, Vec<u8>)]) {
    let mut tar = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, name, &data[..]).unwrap();
    }
    tar.finish().unwrap();
}

/// A classic `docker save` archive (before Docker 25; what `podman save` writes):
/// `ID/layer.tar` (uncompressed), `HEX.json`, `manifest.json`. Returns each image's layer
/// digests (their diff ids).
pub fn write_docker_archive(path: &Path, images: &[&Image]) -> Vec<Vec<String>> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut manifest = Vec::new();
    let mut all = Vec::new();
    for image in images {
        let config = image.config_json();
        let config_name = format!("{}.json", sha256(&config));
        let mut layers = Vec::new();
        let mut digests = Vec::new();
        for (tar, _) in &image.layers {
            let id = sha256(tar);
            digests.push(format!("sha256:{id}"));
            let name = format!("{id}/layer.tar");
            if !files.iter().any(|(n, _)| *n == name) {
                files.push((name.clone(), tar.clone()));
            }
            layers.push(name);
        }
        files.push((config_name.clone(), config));
        manifest.push(json!({"Config": config_name, "RepoTags": [image.tag], "Layers": layers}));
        all.push(digests);
    }
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    write_tar(path, &files);
    all
}

/// The newer `docker save` archive (Docker 25 on): an OCI layout with a `manifest.json`.
pub fn write_oci_archive(path: &Path, images: &[&Image]) -> Vec<Vec<String>> {
    let (files, digests) = oci_files(images, true);
    write_tar(path, &files);
    digests
}
