//! Container images through the library: every layout keysweep reads, whiteouts, the
//! configuration and annotations, compression, and what a bomb, a damaged or missing layer do.
//! Images are built here without a container daemon (tests/common/oci.rs). Secrets are fake.

#[path = "../../../tests/common/oci.rs"]
mod oci;

use std::path::Path;

use keysweep::{RuleSet, Scanner};
use keysweep_source::{Collect, Error, Hit, ImagePart, ImageScan, Problem, ProblemKind};
use oci::{layer, Comp, Image};
use serde_json::json;

const GITHUB: &str = "ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u";
const STRIPE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const AWS: &str = "AKIAZ4X7Q2M9R3T8V6WN";
const SLACK: &str = "xoxb-7362617288-2817363719361-Qm3tXkL9pV2rN8cW5yZ1jH4d";

fn scan(
    path: &Path,
) -> (
    Result<keysweep_source::ImageSummary, Error>,
    Vec<Hit>,
    Vec<Problem>,
) {
    let sink = Collect::default();
    let result = ImageScan::new(Scanner::new(RuleSet::builtin()).unwrap()).run(path, &sink);
    let (mut hits, problems) = sink.into_parts();
    hits.sort_by_key(|h| (h.location.display(), h.finding.range.start));
    (result, hits, problems)
}

/// The hit whose secret is `secret` (exactly one).
fn hit<'a>(hits: &'a [Hit], secret: &str) -> &'a Hit {
    let found: Vec<&Hit> = hits
        .iter()
        .filter(|h| &*h.finding.secret == secret.as_bytes())
        .collect();
    assert_eq!(found.len(), 1, "{secret}: {hits:#?}");
    found[0]
}

/// Three layers: the base adds app/.env and etc/app/ (a secret in each), the second deletes
/// app/.env (a whiteout) and makes etc/app opaque, the third adds srv/token.txt.
fn whiteout_image(comp: Comp) -> Image {
    let env = format!("GITHUB_TOKEN={GITHUB}\n");
    let conf = format!("stripe_key: {STRIPE}\n");
    let token = format!("aws_access_key_id = {AWS}\n");
    Image::new(
        "example/app:1",
        vec![
            (
                layer(&[
                    ("app/", b""),
                    ("app/.env", env.as_bytes()),
                    ("etc/app/", b""),
                    ("etc/app/conf.yml", conf.as_bytes()),
                ]),
                comp,
            ),
            (
                layer(&[
                    ("app/", b""),
                    ("app/.wh..env", b""),
                    ("etc/app/", b""),
                    ("etc/app/.wh..wh..opq", b""),
                ]),
                comp,
            ),
            (layer(&[("srv/token.txt", token.as_bytes())]), comp),
        ],
    )
}

#[test]
fn a_file_deleted_by_a_later_layer_is_reported_as_removed_there_in_every_layout() {
    let dir = tempfile::tempdir().unwrap();
    let image = whiteout_image(Comp::Gzip);
    let layouts: Vec<(std::path::PathBuf, Vec<String>)> = vec![
        {
            let p = dir.path().join("oci");
            let d = image.write_oci_dir(&p);
            (p, d)
        },
        {
            let p = dir.path().join("docker.tar");
            let d = oci::write_docker_archive(&p, &[&image]).remove(0);
            (p, d)
        },
        {
            let p = dir.path().join("docker25.tar");
            let d = oci::write_oci_archive(&p, &[&image]).remove(0);
            (p, d)
        },
    ];
    for (path, digests) in layouts {
        let (result, hits, problems) = scan(&path);
        let summary = result.unwrap();
        assert!(problems.is_empty(), "{path:?}: {problems:?}");
        assert_eq!((summary.images, summary.layers), (1, 3), "{path:?}");
        assert_eq!(hits.len(), 3, "{path:?}: {hits:#?}");

        let env = hit(&hits, GITHUB);
        assert_eq!(env.location.path.as_deref(), Some("app/.env"));
        let image = env.location.image().unwrap();
        assert_eq!(image.part, ImagePart::Layer);
        assert_eq!(image.tags, ["example/app:1"]);
        let l = image.layer.as_ref().unwrap();
        assert_eq!(
            (l.index, l.count, l.removed_in),
            (1, 3, Some(2)),
            "{path:?}"
        );
        assert_eq!(l.digest, digests[0]);
        assert!(!env.location.present_at_head());
        assert_eq!(
            (env.finding.line, env.finding.column),
            (1, 14),
            "line and column within the file"
        );

        let conf = hit(&hits, STRIPE).location.image().unwrap();
        assert_eq!(
            conf.layer.as_ref().unwrap().removed_in,
            Some(2),
            "opaque dir"
        );

        let token = hit(&hits, AWS);
        let l = token.location.image().unwrap().layer.as_ref().unwrap();
        assert_eq!((l.index, l.removed_in), (3, None));
        assert_eq!(l.digest, digests[2]);
        assert!(token.location.present_at_head());
    }
}

#[test]
fn plain_gzip_and_zstd_layers_read_alike() {
    let dir = tempfile::tempdir().unwrap();
    for comp in [Comp::Plain, Comp::Gzip, Comp::Zstd] {
        let path = dir.path().join(format!("{comp:?}"));
        whiteout_image(comp).write_oci_dir(&path);
        let (result, hits, problems) = scan(&path);
        assert!(problems.is_empty(), "{comp:?}: {problems:?}");
        assert_eq!(result.unwrap().layers, 3);
        let mut secrets: Vec<&[u8]> = hits.iter().map(|h| &*h.finding.secret).collect();
        secrets.sort();
        let mut want = vec![GITHUB.as_bytes(), STRIPE.as_bytes(), AWS.as_bytes()];
        want.sort();
        assert_eq!(secrets, want, "{comp:?}");
    }
}

#[test]
fn configuration_and_annotations_are_scanned_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut image = Image::new(
        "example/build:2",
        vec![(layer(&[("README", b"nothing here\n")]), Comp::Gzip)],
    );
    image.config["config"]["Env"] = json!(["PATH=/usr/bin", format!("STRIPE_KEY={STRIPE}")]);
    image.config["config"]["Labels"] = json!({"org.example.deploy": format!("token {GITHUB}")});
    // What `docker build --build-arg` and a RUN line leave in the history.
    image.config["history"] = json!([
        {"created_by": "/bin/sh -c #(nop) ADD file:0 in / "},
        {"created_by": format!("RUN |1 AWS_ACCESS_KEY_ID={AWS} /bin/sh -c ./deploy.sh"), "empty_layer": true},
    ]);
    image.annotations = json!({"org.example.notify": format!("slack {SLACK}")});
    let path = dir.path().join("oci");
    image.write_oci_dir(&path);
    let (result, hits, problems) = scan(&path);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(result.unwrap().images, 1);
    let field = |secret: &str| {
        let h = hit(&hits, secret);
        let image = h.location.image().unwrap();
        assert!(image.layer.is_none());
        assert_eq!(h.location.path, None);
        (image.part, image.field.clone().unwrap())
    };
    assert_eq!(
        field(STRIPE),
        (ImagePart::Config, "config.Env[1]".to_string())
    );
    assert_eq!(
        field(GITHUB),
        (
            ImagePart::Config,
            "config.Labels[\"org.example.deploy\"]".to_string()
        )
    );
    assert_eq!(
        field(AWS),
        (ImagePart::Config, "history[1].created_by".to_string())
    );
    assert_eq!(
        field(SLACK),
        (
            ImagePart::Manifest,
            "annotations[\"org.example.notify\"]".to_string()
        )
    );
    assert_eq!(
        hit(&hits, AWS).location.display(),
        "<image config: history[1].created_by>"
    );
}

#[test]
fn archives_inside_a_layer_are_opened_with_their_entry_chain() {
    let dir = tempfile::tempdir().unwrap();
    let env = format!("GITHUB_TOKEN={GITHUB}\n");
    let inner = oci::compress(&layer(&[("conf/.env", env.as_bytes())]), Comp::Gzip);
    let image = Image::new(
        "example/nested:1",
        vec![(layer(&[("opt/bundle.tar.gz", &inner)]), Comp::Zstd)],
    );
    let path = dir.path().join("oci");
    image.write_oci_dir(&path);
    let (_, hits, problems) = scan(&path);
    assert!(problems.is_empty(), "{problems:?}");
    let h = hit(&hits, GITHUB);
    assert_eq!(
        h.location.path.as_deref(),
        Some("opt/bundle.tar.gz!/conf/.env")
    );
    let archive = h.location.archive.as_ref().unwrap();
    assert_eq!(archive.file, "opt/bundle.tar.gz");
    assert_eq!(archive.entries, ["conf/.env"]);
}

#[test]
fn a_layer_bomb_stops_that_layer_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let env = format!("GITHUB_TOKEN={GITHUB}\n");
    let token = format!("aws_access_key_id = {AWS}\n");
    let zeros = vec![0u8; 16 << 20];
    let image = Image::new(
        "example/bomb:1",
        vec![
            (
                layer(&[("a/.env", env.as_bytes()), ("a/zeros", &zeros)]),
                Comp::Gzip,
            ),
            (layer(&[("b/token.txt", token.as_bytes())]), Comp::Gzip),
        ],
    );
    let path = dir.path().join("oci");
    image.write_oci_dir(&path);
    let (result, hits, problems) = scan(&path);
    result.unwrap();
    // Found before the cut, and in the next layer.
    hit(&hits, GITHUB);
    hit(&hits, AWS);
    let bomb: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.message.contains("inflates more than 200:1"))
        .collect();
    assert!(!bomb.is_empty(), "{problems:?}");
    assert_eq!(bomb[0].kind, ProblemKind::Archive);
    assert!(
        bomb[0]
            .path
            .as_deref()
            .unwrap()
            .contains("oci layer 1 of 2 (sha256:"),
        "{:?}",
        bomb[0].path
    );
    assert!(
        bomb[0]
            .message
            .starts_with(bomb[0].path.as_deref().unwrap()),
        "{}",
        bomb[0].message
    );
}

#[test]
fn a_damaged_or_missing_layer_is_reported_and_the_others_are_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let image = whiteout_image(Comp::Gzip);
    let path = dir.path().join("oci");
    let digests = image.write_oci_dir(&path);
    // Layer 3's blob cut in half; layer 2's deleted.
    let blob = |d: &str| path.join("blobs/sha256").join(&d[7..]);
    let data = std::fs::read(blob(&digests[2])).unwrap();
    std::fs::write(blob(&digests[2]), &data[..data.len() / 2]).unwrap();
    std::fs::remove_file(blob(&digests[1])).unwrap();
    let (result, hits, problems) = scan(&path);
    assert_eq!(result.unwrap().layers, 2);
    // Layer 1 is scanned; without layer 2 nothing says its files were removed.
    let env = hit(&hits, GITHUB).location.image().unwrap();
    assert_eq!(env.layer.as_ref().unwrap().removed_in, None);
    assert!(hits.iter().all(|h| &*h.finding.secret != AWS.as_bytes()));
    let missing = problems
        .iter()
        .find(|p| p.kind == ProblemKind::Image)
        .expect("missing layer reported");
    assert!(
        missing.message.starts_with("layer 2 of 3 (sha256:")
            && missing.message.contains("is not in the image"),
        "{missing:?}"
    );
    assert!(
        problems.iter().any(|p| p.kind == ProblemKind::Archive
            && p.path.as_deref().unwrap().contains("layer 3 of 3 (sha256:")),
        "{problems:?}"
    );
}

#[test]
fn layers_shared_by_images_of_one_archive_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let env = format!("GITHUB_TOKEN={GITHUB}\n");
    let base = (layer(&[("base/.env", env.as_bytes())]), Comp::Gzip);
    let a = Image::new(
        "example/a:1",
        vec![base.clone(), (layer(&[("a", b"a\n")]), Comp::Gzip)],
    );
    let b = Image::new(
        "example/b:1",
        vec![base, (layer(&[("b", b"b\n")]), Comp::Gzip)],
    );
    for (name, write) in [
        (
            "docker.tar",
            oci::write_docker_archive as fn(&Path, &[&Image]) -> _,
        ),
        ("docker25.tar", oci::write_oci_archive),
    ] {
        let path = dir.path().join(name);
        write(&path, &[&a, &b]);
        let (result, hits, problems) = scan(&path);
        let summary = result.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            (summary.images, summary.layers, summary.layers_shared),
            (2, 3, 1),
            "{name}"
        );
        assert_eq!(hits.len(), 1, "{name}");
    }
}

#[test]
fn what_is_not_an_image_is_an_error_that_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let message = |p: &Path| match scan(p).0 {
        Err(e @ Error::Image { .. }) => e.to_string(),
        other => panic!("{other:?}"),
    };
    std::fs::write(dir.path().join("x.tar"), b"not a tar at all, just text").unwrap();
    assert!(
        message(&dir.path().join("x.tar")).contains("not a container image"),
        "{}",
        message(&dir.path().join("x.tar"))
    );
    let gz = oci::compress(b"anything", Comp::Gzip);
    std::fs::write(dir.path().join("x.tar.gz"), gz).unwrap();
    assert!(message(&dir.path().join("x.tar.gz")).contains("decompress it first"));
    assert!(matches!(
        scan(&dir.path().join("nope")).0,
        Err(Error::Path { .. })
    ));
}

#[test]
fn a_manifest_naming_paths_outside_the_image_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        (
            "manifest.json".to_string(),
            serde_json::to_vec(
                &json!([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["../../etc/passwd"]}]),
            )
            .unwrap(),
        ),
        ("c.json".to_string(), b"{}".to_vec()),
    ];
    let path = dir.path().join("evil.tar");
    oci::write_tar(&path, &files);
    let (result, hits, problems) = scan(&path);
    result.unwrap();
    assert!(hits.is_empty());
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("points outside the image")),
        "{problems:?}"
    );
}

/// Changes the last byte of `secret` in the (plain) blob at `path` to `X`: the blob still
/// reads, and no longer matches its digest.
fn change_last_byte(path: &Path, secret: &str) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes
        .windows(secret.len())
        .position(|w| w == secret.as_bytes())
        .unwrap();
    bytes[at + secret.len() - 1] = b'X';
    std::fs::write(path, &bytes).unwrap();
}

/// A layer blob whose bytes are not its digest's (here: one byte of a stored string changed,
/// so the layer still reads) is scanned and reported, and the mismatch is an error naming it.
#[test]
fn a_blob_that_does_not_match_its_digest_is_scanned_and_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let image = whiteout_image(Comp::Plain);
    let layout = dir.path().join("layout");
    let digests = image.write_oci_dir(&layout);
    let top = layout.join("blobs/sha256").join(&digests[2][7..]);
    change_last_byte(&top, AWS);

    let (result, hits, problems) = scan(&layout);
    result.unwrap();
    let changed = format!("{}X", &AWS[..AWS.len() - 1]);
    let h = hit(&hits, &changed);
    assert_eq!(
        h.location.image().unwrap().layer.as_ref().unwrap().digest,
        digests[2]
    );
    hit(&hits, GITHUB);
    let mismatch: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.message.contains("digest mismatch"))
        .collect();
    assert_eq!(mismatch.len(), 1, "{problems:#?}");
    assert_eq!(mismatch[0].severity, keysweep_source::Severity::Error);
    assert!(
        mismatch[0].message.contains(&digests[2][..19])
            && mismatch[0].message.contains("layer 3 of 3"),
        "{}",
        mismatch[0].message
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");

    // A configuration that does not match is not read (and says why).
    let dir2 = tempfile::tempdir().unwrap();
    let layout = dir2.path().join("layout");
    image.write_oci_dir(&layout);
    let config = format!("sha256:{}", oci::sha256(&image.config_json()));
    let path = layout.join("blobs/sha256").join(&config[7..]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(b' ');
    std::fs::write(&path, &bytes).unwrap();
    let (result, hits, problems) = scan(&layout);
    result.unwrap();
    hit(&hits, GITHUB);
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("does not match its digest")),
        "{problems:#?}"
    );
}

/// An image whose blobs are named by SHA-512 (the other algorithm the image specification
/// registers) is read and verified like one by SHA-256: a layer changed on disk is a digest
/// mismatch, and a blob named by an algorithm keysweep does not verify is scanned with a warning.
#[test]
fn sha512_digests_are_verified_and_other_algorithms_are_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut image = whiteout_image(Comp::Gzip);
    image.sha512 = true;
    let layout = dir.path().join("layout");
    let digests = image.write_oci_dir(&layout);
    assert!(digests
        .iter()
        .all(|d| d.starts_with("sha512:") && d.len() == 7 + 128));
    let (result, hits, problems) = scan(&layout);
    assert_eq!(result.unwrap().layers, 3);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(hits.len(), 3, "{hits:#?}");
    let env = hit(&hits, GITHUB).location.image().unwrap();
    assert_eq!(env.layer.as_ref().unwrap().digest, digests[0]);
    assert_eq!(env.layer.as_ref().unwrap().removed_in, Some(2));

    // The top layer, plain, one byte of its secret changed: still scanned, and a mismatch.
    let mut image = whiteout_image(Comp::Plain);
    image.sha512 = true;
    let layout = dir.path().join("changed");
    let digests = image.write_oci_dir(&layout);
    let top = layout.join("blobs/sha512").join(&digests[2][7..]);
    change_last_byte(&top, AWS);
    let (result, hits, problems) = scan(&layout);
    result.unwrap();
    hit(&hits, &format!("{}X", &AWS[..AWS.len() - 1]));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].message.contains("digest mismatch")
            && problems[0].message.contains("sha512:")
            && problems[0].message.contains("layer 3 of 3"),
        "{}",
        problems[0].message
    );
    assert_eq!(problems[0].severity, keysweep_source::Severity::Error);

    // The same layer renamed to an algorithm keysweep does not verify: scanned, with a warning.
    let renamed = format!("blake3:{}", &digests[2][7..71]);
    let manifest_path = std::fs::read_dir(layout.join("blobs/sha512"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("\"layers\"")))
        .unwrap();
    let manifest = std::fs::read_to_string(&manifest_path)
        .unwrap()
        .replace(&digests[2], &renamed);
    let manifest_digest = format!("sha512:{}", oci::sha512(manifest.as_bytes()));
    std::fs::write(
        layout.join("blobs/sha512").join(&manifest_digest[7..]),
        &manifest,
    )
    .unwrap();
    std::fs::create_dir_all(layout.join("blobs/blake3")).unwrap();
    std::fs::rename(&top, layout.join("blobs/blake3").join(&renamed[7..])).unwrap();
    let index = std::fs::read_to_string(layout.join("index.json")).unwrap();
    let old_manifest = format!(
        "sha512:{}",
        manifest_path.file_name().unwrap().to_str().unwrap()
    );
    std::fs::write(
        layout.join("index.json"),
        index.replace(&old_manifest, &manifest_digest).replace(
            &format!(
                "\"size\":{}",
                std::fs::metadata(&manifest_path).unwrap().len()
            ),
            &format!("\"size\":{}", manifest.len()),
        ),
    )
    .unwrap();
    let (result, hits, problems) = scan(&layout);
    result.unwrap();
    hit(&hits, &format!("{}X", &AWS[..AWS.len() - 1]));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].severity, keysweep_source::Severity::Warning);
    assert!(
        problems[0].message.contains("not verified") && problems[0].message.contains("layer 3"),
        "{}",
        problems[0].message
    );
}

/// A file a later layer overwrites is reported as removed there (a container sees the new
/// version; the old one is still in its layer); a secret in the new version is present.
#[test]
fn a_file_a_later_layer_overwrites_is_removed_there() {
    let dir = tempfile::tempdir().unwrap();
    let old = format!("GITHUB_TOKEN={GITHUB}\n");
    let new = format!("stripe_key: {STRIPE}\n");
    let image = Image::new(
        "example/app:2",
        vec![
            (
                layer(&[("app/", b""), ("app/.env", old.as_bytes())]),
                Comp::Gzip,
            ),
            (
                layer(&[("app/", b""), ("app/README", b"docs\n")]),
                Comp::Gzip,
            ),
            (layer(&[("app/.env", new.as_bytes())]), Comp::Zstd),
        ],
    );
    let layout = dir.path().join("layout");
    image.write_oci_dir(&layout);
    let (result, hits, problems) = scan(&layout);
    result.unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    let replaced = hit(&hits, GITHUB);
    let l = replaced.location.image().unwrap().layer.clone().unwrap();
    assert_eq!((l.index, l.removed_in), (1, Some(3)));
    assert!(!replaced.location.present_at_head());
    let current = hit(&hits, STRIPE);
    assert_eq!(
        current
            .location
            .image()
            .unwrap()
            .layer
            .as_ref()
            .unwrap()
            .removed_in,
        None
    );
    assert!(current.location.present_at_head());
}

/// A layer cache in memory, counting what is stored.
#[derive(Default)]
struct MemoryCache(std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>);

impl keysweep_source::LayerCache for MemoryCache {
    fn get(&self, digest: &str) -> Option<Vec<u8>> {
        self.0.lock().unwrap().get(digest).cloned()
    }
    fn put(&self, digest: &str, value: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .insert(digest.to_string(), value.to_vec());
    }
}

fn cached_scan(
    path: &Path,
    cache: &std::sync::Arc<MemoryCache>,
) -> (keysweep_source::ImageSummary, Vec<Hit>, Vec<Problem>) {
    let sink = Collect::default();
    let scan = ImageScan::new(Scanner::new(RuleSet::builtin()).unwrap())
        .layer_cache(cache.clone() as std::sync::Arc<dyn keysweep_source::LayerCache>);
    let summary = scan.run(path, &sink).unwrap();
    let (mut hits, problems) = sink.into_parts();
    hits.sort_by_key(|h| (h.location.display(), h.finding.range.start));
    (summary, hits, problems)
}

/// With a layer cache, a layer seen before is not read again (here its blob is even gone) and
/// reports the same findings, whiteouts included; a layer that does not match its digest is
/// never stored; an image sharing a base layer takes it from the cache.
#[test]
fn a_cached_layer_is_not_read_again_and_reports_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let image = whiteout_image(Comp::Gzip);
    let layout = dir.path().join("layout");
    let digests = image.write_oci_dir(&layout);
    let cache = std::sync::Arc::new(MemoryCache::default());
    let (first, hits, problems) = cached_scan(&layout, &cache);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!((first.layers, first.layers_cached), (3, 0));
    assert_eq!(cache.0.lock().unwrap().len(), 3);
    let shown = |hits: &[Hit]| -> Vec<String> {
        hits.iter()
            .map(|h| {
                let layer = h.location.image().unwrap().layer.clone().unwrap();
                format!(
                    "{} {:?} {} {}:{} {:?}",
                    h.location.display(),
                    String::from_utf8_lossy(&h.finding.secret),
                    layer.digest,
                    h.finding.line,
                    h.finding.column,
                    layer.removed_in
                )
            })
            .collect()
    };
    for d in &digests {
        std::fs::remove_file(layout.join("blobs/sha256").join(&d[7..])).unwrap();
    }
    let (second, again, problems) = cached_scan(&layout, &cache);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!((second.layers, second.layers_cached), (0, 3));
    assert_eq!(shown(&again), shown(&hits));
    assert_eq!(
        hit(&again, GITHUB)
            .location
            .image()
            .unwrap()
            .layer
            .as_ref()
            .unwrap()
            .removed_in,
        Some(2)
    );

    // Another image on the same base layer: the base comes from the cache, the rest is read.
    let mut other = whiteout_image(Comp::Gzip);
    other.layers.truncate(1);
    other.layers.push((
        layer(&[("opt/slack.txt", format!("token={SLACK}\n").as_bytes())]),
        Comp::Zstd,
    ));
    let other_dir = dir.path().join("other");
    let other_digests = other.write_oci_dir(&other_dir);
    assert_eq!(other_digests[0], digests[0]);
    let (summary, hits, _) = cached_scan(&other_dir, &cache);
    assert_eq!((summary.layers, summary.layers_cached), (1, 1));
    hit(&hits, GITHUB);
    hit(&hits, SLACK);

    // A layer that does not match its digest is scanned and reported, and not stored.
    let tampered = dir.path().join("tampered");
    let image = whiteout_image(Comp::Plain);
    let digests = image.write_oci_dir(&tampered);
    let top = tampered.join("blobs/sha256").join(&digests[2][7..]);
    change_last_byte(&top, AWS);
    let cache = std::sync::Arc::new(MemoryCache::default());
    let (_, _, problems) = cached_scan(&tampered, &cache);
    assert!(problems
        .iter()
        .any(|p| p.message.contains("digest mismatch")));
    let stored = cache.0.lock().unwrap();
    assert_eq!(stored.len(), 2, "the two good layers only");
    assert!(!stored.contains_key(&digests[2]));
}

/// Blobs by digest, each opened as a stream that returns at most 700 bytes a read, as a
/// network stream does.
struct Trickle(Vec<(String, Vec<u8>)>, Vec<u8>);

struct Short(std::io::Cursor<Vec<u8>>);

impl std::io::Read for Short {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(700);
        self.0.read(&mut buf[..n])
    }
}

impl keysweep_source::RemoteImage for Trickle {
    fn name(&self) -> String {
        "example.test/app:1".into()
    }
    fn tags(&self) -> Vec<String> {
        vec![self.name()]
    }
    fn index(&self) -> Result<Vec<u8>, String> {
        Ok(self.1.clone())
    }
    fn open(
        &self,
        digest: &str,
        _size: Option<u64>,
    ) -> Result<(Box<dyn std::io::Read + Send>, Option<u64>), String> {
        let (_, data) = self
            .0
            .iter()
            .find(|(d, _)| d == digest)
            .ok_or_else(|| format!("{digest} is not here"))?;
        Ok((
            Box::new(Short(std::io::Cursor::new(data.clone()))),
            Some(data.len() as u64),
        ))
    }
}

#[test]
fn streams_with_short_reads_verify_plain_padded_and_gzip_layers() {
    use sha2::Digest;
    let digest = |data: &[u8]| -> String {
        let hex: String = sha2::Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}")
    };
    // A layer as Python's tarfile and many tools write it: padded with zero blocks to a
    // 10,240-byte record, past the end-of-archive marker (what the scan leaves unread).
    for (gzip, padded) in [(false, false), (false, true), (true, true)] {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        let env = "GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\n".to_string();
        header.set_size(env.len() as u64);
        tar.append_data(&mut header, "app/.env", env.as_bytes())
            .unwrap();
        let mut layer = tar.into_inner().unwrap();
        if padded {
            layer.resize(layer.len().div_ceil(10240) * 10240 + 10240, 0);
        }
        if gzip {
            use std::io::Write;
            let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(&layer).unwrap();
            layer = z.finish().unwrap();
        }
        let config = br#"{"config":{}}"#.to_vec();
        let manifest = format!(
            r#"{{"schemaVersion":2,"config":{{"digest":"{}","size":{}}},"layers":[{{"digest":"{}","size":{}}}]}}"#,
            digest(&config),
            config.len(),
            digest(&layer),
            layer.len()
        )
        .into_bytes();
        let index = format!(r#"{{"manifests":[{{"digest":"{}"}}]}}"#, digest(&manifest));
        let blobs = [layer, config, manifest].map(|b| (digest(&b), b)).to_vec();
        let sink = Collect::default();
        ImageScan::new(Scanner::new(RuleSet::builtin()).unwrap())
            .run_remote(&Trickle(blobs, index.into_bytes()), &sink)
            .unwrap();
        let (hits, problems) = sink.into_parts();
        assert!(problems.is_empty(), "gzip {gzip}: {problems:?}");
        assert_eq!(hits.len(), 1, "gzip {gzip}");
    }
}

#[test]
fn a_classic_docker_save_layer_is_checked_against_its_diff_id() {
    let dir = tempfile::tempdir().unwrap();
    let image = whiteout_image(Comp::Plain);
    let archive = dir.path().join("app.tar");
    oci::write_docker_archive(&archive, &[&image]);
    let (result, hits, problems) = scan(&archive);
    result.unwrap();
    hit(&hits, GITHUB);
    assert!(problems.is_empty(), "{problems:#?}");

    // The same archive with one byte of the secret changed in its layer.tar: still scanned,
    // and the layer does not match the diff id the configuration gives.
    let mut bytes = std::fs::read(&archive).unwrap();
    let at = bytes
        .windows(GITHUB.len())
        .position(|w| w == GITHUB.as_bytes())
        .unwrap();
    bytes[at + GITHUB.len() - 1] = b'X';
    std::fs::write(&archive, &bytes).unwrap();
    let (result, hits, problems) = scan(&archive);
    result.unwrap();
    hit(&hits, &format!("{}X", &GITHUB[..GITHUB.len() - 1]));
    let mismatch: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.message.contains("digest mismatch"))
        .collect();
    assert_eq!(mismatch.len(), 1, "{problems:#?}");
}
