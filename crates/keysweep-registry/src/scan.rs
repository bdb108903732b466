//! Scanning an image argument: a local archive or layout, or else a registry reference.

use std::path::Path;

use keysweep_source::{ImageScan, ImageSummary, Sink};

use crate::{Puller, Reference};

/// Whether `TEXT` (an image argument for which no file or directory exists) is an image to pull from
/// a registry: when it names a registry host (a first `/`-separated component with a `.` or a
/// `:`, or `localhost`), or has an explicit `:tag` or `@digest`, or its last component has no
/// `.` (a bare `name` or `org/name`: no file extension). Never when it starts with `/`, `./`,
/// `../` or `~`, or has a `\`. So `out/app.tar`, `app.tar.gz` or `./app` that does not exist
/// is a missing file, not a Docker Hub image.
pub fn is_reference(text: &str) -> bool {
    if text.is_empty()
        || text == "."
        || text == ".."
        || text.starts_with(['/', '~'])
        || text.starts_with("./")
        || text.starts_with("../")
        || text.contains('\\')
    {
        return false;
    }
    let (name, digest) = match text.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (text, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    let host = name
        .split_once('/')
        .is_some_and(|(first, _)| first.contains(['.', ':']) || first == "localhost");
    digest.is_some() || last.contains(':') || host || !last.contains('.')
}

/// Scans `image` as `keysweep scan --image` does: the `docker save` archive or OCI layout
/// at that path if there is one, else the registry image it names (when it looks like a
/// reference: [`is_reference`]), pulled with `puller`. The error says what failed, naming the
/// file or the image, never a credential.
pub fn scan_image(
    scan: &ImageScan,
    puller: &Puller,
    image: &Path,
    sink: &dyn Sink,
) -> Result<ImageSummary, String> {
    if std::fs::symlink_metadata(image).is_ok() {
        return scan.run(image, sink).map_err(|e| e.to_string());
    }
    let text = image
        .to_str()
        .filter(|t| is_reference(t))
        .ok_or_else(|| {
            format!(
                "no such file: {} (not pulled from a registry: it looks like a file path; a reference to pull names a registry host, a :tag or @digest, or has no file extension)",
                image.display()
            )
        })?;
    let reference = Reference::parse(text).map_err(|e| format!("no such file, and {e}"))?;
    let pulled = puller.pull(&reference).map_err(|e| {
        // The problem names the image already.
        let e = e.to_string();
        let e = e
            .strip_prefix(&format!("{reference}: "))
            .map_or(e.clone(), str::to_string);
        // `app.tar` is a valid Docker Hub reference too: say why it was pulled.
        if text.starts_with(&format!("{}/", reference.registry())) {
            e
        } else {
            format!(
                "{reference}: {e} (no file {text} exists; it was pulled as a registry reference)"
            )
        }
    })?;
    scan.run_remote(&pulled, sink).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::is_reference as is_registry_reference;

    #[test]
    fn only_what_looks_like_a_reference_is_pulled() {
        for pulled in [
            "app",
            "acme/app",
            "alpine:3.19",
            "acme/my.app:1.0",
            "app.tar:latest",
            "ghcr.io/acme/app",
            "ghcr.io/acme/app:1.4",
            "localhost/app",
            "127.0.0.1:5000/app.tar",
            "acme/my.app@sha256:0123",
        ] {
            assert!(is_registry_reference(pulled), "{pulled}");
        }
        for file in [
            "out/app.tar",
            "app.tar",
            "app.tar.gz",
            "app.tgz",
            "images/app.oci",
            "acme/my.app",
            "./app",
            "../app",
            "/srv/app",
            "~/app",
            "out\\app",
            ".",
            "",
        ] {
            assert!(!is_registry_reference(file), "{file}");
        }
    }
}
