"""Scanner.scan_image: a `docker save` archive built here (tarfile, json, hashlib), a secret
added in layer 1 and deleted (whiteout) in layer 2."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import AWS, keysweep_binary

import keysweep


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_600_000_000
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def docker_save(path: Path) -> list[str]:
    """Writes a `docker save` archive at `path`; returns its layers' digests."""
    layers = [
        _tar({"app/deploy.env": f"AWS_ACCESS_KEY_ID={AWS}\n".encode(), "app/README": b"hi\n"}),
        _tar({"app/.wh.deploy.env": b""}),
    ]
    digests = [f"sha256:{_sha256(layer)}" for layer in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/usr/bin"]},
            "rootfs": {"type": "layers", "diff_ids": digests},
        }
    ).encode()
    config_name = f"{_sha256(config)}.json"
    names = [f"{_sha256(layer)}/layer.tar" for layer in layers]
    manifest = [{"Config": config_name, "RepoTags": ["example/app:1"], "Layers": names}]
    files = dict(zip(names, layers))
    files[config_name] = config
    files["manifest.json"] = json.dumps(manifest).encode()
    path.write_bytes(_tar(files))
    return digests


def test_scan_image_finds_a_secret_a_later_layer_deletes(
    tmp_path: Path, scanner: keysweep.Scanner
) -> None:
    image = tmp_path / "app.tar"
    digests = docker_save(image)
    found = scanner.scan_image(image)
    assert len(found) == 1, found
    f = found[0]
    assert f.rule_id == "aws.access_key_id"
    assert f.source == "image"
    assert f.path == "app/deploy.env"
    assert f.image is not None and f.image.endswith("app.tar")
    assert f.image_tags == ["example/app:1"]
    assert f.image_part == "layer"
    assert f.layer_digest == digests[0]
    assert f.layer_index == 1
    assert f.layer_count == 2
    assert f.removed_in == 2
    assert f.image_field is None
    assert f.commit is None and f.submodule is None
    assert f.redacted and AWS not in repr(f)
    assert scanner.scan_image(str(image), reveal=True)[0].reveal() == AWS


def test_scan_image_to_dict_is_the_cli_jsonl_record(
    tmp_path: Path, scanner: keysweep.Scanner
) -> None:
    image = tmp_path / "app.tar"
    docker_save(image)
    out = subprocess.run(
        [str(keysweep_binary()), "scan", "--no-config", "--format", "jsonl", "--image", str(image)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1, out.stderr
    cli = [json.loads(line) for line in out.stdout.splitlines()]
    ours = [f.to_dict() for f in scanner.scan_image(image)]
    assert ours == cli
    assert ours[0]["image"]["layer"]["removed_in"] == 2


def test_scan_image_errors(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    with pytest.raises(OSError):
        scanner.scan_image(tmp_path / "missing.tar")
    not_an_image = tmp_path / "plain.tar"
    not_an_image.write_bytes(_tar({"hello.txt": b"hi\n"}))
    with pytest.raises(ValueError, match="plain.tar"):
        scanner.scan_image(not_an_image)


class _Registry:
    """A minimal OCI distribution endpoint on 127.0.0.1 serving one image (manifest and
    blobs by digest), as a stand-in for a registry: what `scan_image` pulls when no file of
    the given name exists."""

    def __init__(self) -> None:
        import http.server
        import threading

        layers = [
            _tar({"app/deploy.env": f"AWS_ACCESS_KEY_ID={AWS}\n".encode()}),
            _tar({"app/.wh.deploy.env": b""}),
        ]
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Env": ["PATH=/usr/bin"]},
                "rootfs": {"type": "layers", "diff_ids": [f"sha256:{_sha256(x)}" for x in layers]},
            }
        ).encode()
        self.blobs = {f"sha256:{_sha256(b)}": b for b in [config, *layers]}
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": f"sha256:{_sha256(config)}",
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": f"sha256:{_sha256(x)}",
                        "size": len(x),
                    }
                    for x in layers
                ],
            }
        ).encode()
        self.manifest = manifest
        self.requests: list[str] = []
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                registry.requests.append(self.path)
                body: bytes | None = None
                kind = "application/octet-stream"
                if self.path == "/v2/":
                    body = b"{}"
                elif self.path in ("/v2/acme/app/manifests/1.0",):
                    body, kind = registry.manifest, "application/vnd.oci.image.manifest.v1+json"
                elif self.path.startswith("/v2/acme/app/blobs/"):
                    body = registry.blobs.get(self.path.rsplit("/", 1)[1])
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                if kind != "application/octet-stream":
                    self.send_header("Docker-Content-Digest", f"sha256:{_sha256(body)}")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_scan_image_pulls_a_reference_from_a_registry(scanner: keysweep.Scanner) -> None:
    registry = _Registry()
    try:
        host = f"127.0.0.1:{registry.port}"
        found = scanner.scan_image(f"{host}/acme/app:1.0", insecure_registries=[host])
        assert [f.rule_id for f in found] == ["aws.access_key_id"]
        assert found[0].to_dict()["image"]["layer"]["removed_in"] == 2
        assert any(r.startswith("/v2/acme/app/blobs/") for r in registry.requests)
        # Plain HTTP only for the hosts named insecure.
        with pytest.raises(OSError):
            scanner.scan_image(f"{host}/acme/app:1.0")
        # A missing tag names the image.
        with pytest.raises(OSError, match="acme/app"):
            scanner.scan_image(f"{host}/acme/app:2.0", insecure_registries=[host])
        with pytest.raises(ValueError, match="platform"):
            scanner.scan_image(f"{host}/acme/app:1.0", platform="not a platform")
    finally:
        registry.close()


def test_scan_image_with_a_layer_cache_pulls_each_layer_once(
    tmp_path: Path, scanner: keysweep.Scanner
) -> None:
    registry = _Registry()
    try:
        host = f"127.0.0.1:{registry.port}"
        ref = f"{host}/acme/app:1.0"
        first = scanner.scan_image(ref, insecure_registries=[host], cache=tmp_path / "cache")
        blobs = [r for r in registry.requests if "/blobs/" in r]
        assert len(blobs) == 3  # the configuration and two layers
        registry.requests.clear()
        again = scanner.scan_image(ref, insecure_registries=[host], cache=str(tmp_path / "cache"))
        # The configuration is read again (it is scanned too); the layers are not.
        assert [r for r in registry.requests if "/blobs/" in r] == [blobs[0]]
        assert [f.to_dict() for f in again] == [f.to_dict() for f in first]
        assert (tmp_path / "cache" / "cache.redb").is_file()
    finally:
        registry.close()


def test_a_missing_image_file_is_not_pulled(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    # `out/app.tar` that does not exist is a missing file, not a Docker Hub image.
    with pytest.raises(OSError):
        scanner.scan_image(tmp_path / "out" / "app.tar")
