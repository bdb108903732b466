//! A real registry for tests: Debian's docker-registry, started on a free 127.0.0.1 port
//! with its storage in a temporary directory, plain HTTP, optionally behind htpasswd
//! authentication; and pushing blobs and manifests to it through the distribution API.
#![allow(dead_code)] // each test crate uses a different part

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::Digest;

use super::need;

/// A registry serving from a temporary directory until dropped.
pub struct Registry {
    child: Child,
    pub dir: tempfile::TempDir,
    pub host: String,
    /// `user:password` for pushing, when it requires authentication.
    pub login: Option<(String, String)>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    /// Starts one; `None` (after saying SKIPPED) when docker-registry is missing and
    /// KEYSWEEP_SKIP names it.
    pub fn start(auth: Option<(&str, &str)>) -> Option<Registry> {
        let present = Path::new("/usr/bin/docker-registry").exists()
            || Command::new("docker-registry")
                .arg("--version")
                .output()
                .is_ok();
        if !need(
            "docker-registry",
            present,
            "Debian package docker-registry (tests/setup.sh installs it)",
        ) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let mut auth_config = String::new();
        if let Some((user, password)) = auth {
            if !need(
                "htpasswd",
                Command::new("htpasswd").arg("-h").output().is_ok(),
                "Debian package apache2-utils (tests/setup.sh installs it)",
            ) {
                return None;
            }
            let file = dir.path().join("htpasswd");
            let out = Command::new("htpasswd")
                .args(["-B", "-b", "-c"])
                .arg(&file)
                .args([user, password])
                .output()
                .unwrap();
            assert!(out.status.success(), "htpasswd failed");
            auth_config = format!(
                "auth:\n  htpasswd:\n    realm: keysweep-test\n    path: {}\n",
                file.display()
            );
        }
        let storage = dir.path().join("storage");
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n{auth_config}",
            storage.display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let registry = Registry {
            child,
            dir,
            host,
            login: auth.map(|(u, p)| (u.to_string(), p.to_string())),
        };
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(&registry.host).is_ok() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "docker-registry did not start on {}",
                registry.host
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(registry)
    }

    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::blocking::RequestBuilder {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("http://{}{url}", self.host)
        };
        let r = reqwest::blocking::Client::new().request(method, url);
        match &self.login {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    /// Uploads a blob (POST, then PUT with its digest).
    pub fn put_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = format!("sha256:{:x}", sha2::Sha256::digest(data));
        let r = self
            .request(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 202, "upload start: {:?}", r.text());
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = if location.starts_with("http") {
            location
        } else {
            format!("http://{}{location}", self.host)
        };
        let r = self
            .request(reqwest::Method::PUT, &format!("{url}{sep}digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "upload: {:?}", r.text());
        digest
    }

    pub fn put_manifest(&self, repo: &str, reference: &str, media: &str, data: &[u8]) {
        let r = self
            .request(
                reqwest::Method::PUT,
                &format!("/v2/{repo}/manifests/{reference}"),
            )
            .header("content-type", media)
            .body(data.to_vec())
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "manifest: {:?}", r.text());
    }

    /// Pushes an image of plain tar `layers` and the configuration `config` under `tag`;
    /// returns the manifest's digest.
    pub fn push_plain(&self, repo: &str, tag: &str, layers: &[Vec<u8>], config: &[u8]) -> String {
        let layers: Vec<_> = layers
            .iter()
            .map(|l| {
                json!({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": self.put_blob(repo, l), "size": l.len()})
            })
            .collect();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": self.put_blob(repo, config), "size": config.len()},
            "layers": layers,
        }))
        .unwrap();
        self.put_manifest(
            repo,
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            &manifest,
        );
        format!("sha256:{:x}", sha2::Sha256::digest(&manifest))
    }

    /// Where the registry stores blob `digest`.
    pub fn blob_dir(&self, digest: &str) -> PathBuf {
        let hex = &digest[7..];
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
    }
}
