#!/usr/bin/env bash
# Container image benchmark: builds an OCI image layout of four gzip layers from files already
# on this machine (/usr/lib: shared libraries, Python and Node sources, a JDK; about 1.9 GB
# uncompressed), then times `keysweep scan --image` (all cores, and one thread) next to
# reading the same layers with `tar -xzOf LAYER > /dev/null`, with peak RSS
# (/usr/bin/time -v); then the same scan twice with a layer cache (--cache), empty and filled.
#
#   benches/image.sh [WORKDIR] [KEYSWEEP]   (default: /tmp/keysweep-image-bench, target/release/keysweep)
set -euo pipefail
work=${1:-/tmp/keysweep-image-bench}
bin=${2:-$(dirname "$0")/../target/release/keysweep}
mkdir -p "$work" && cd "$work"
if [ ! -f layout/index.json ]; then
  rm -rf layout layers && mkdir -p layout/blobs/sha256 layers
  i=0
  for set in "usr/lib/x86_64-linux-gnu" \
             "usr/lib/python3 usr/lib/python3.11 usr/lib/node_modules usr/lib/git-core usr/lib/gcc" \
             "usr/lib/google-cloud-sdk/lib" "usr/lib/jvm"; do
    i=$((i+1))
    # shellcheck disable=SC2086 # word splitting intended: several directories per layer
    tar -C / -cf "layers/l$i.tar" --ignore-failed-read $set 2>/dev/null || true
    gzip -6 -c "layers/l$i.tar" > "layers/l$i.tar.gz"
  done
  python3 - <<'PY'
import hashlib, json
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(f"layout/blobs/sha256/{h}", "wb").write(data)
    return f"sha256:{h}", len(data)
layers = []
for i in range(1, 5):
    d, n = put(open(f"layers/l{i}.tar.gz", "rb").read())
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": n})
c, cn = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/usr/bin"]},
                        "history": [{"created_by": f"COPY layer {i}"} for i in range(4)]}).encode())
m, mn = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c, "size": cn},
                        "layers": layers}).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m, "size": mn}]},
          open("layout/index.json", "w"))
open("layout/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
fi
echo "layers (uncompressed, gzip):"; ls -l layers
measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -v "$@" > /dev/null 2> "$work/time.txt" || true
  printf '%-34s %8s s  peak RSS %6d MB\n' "$label" \
    "$(grep 'Elapsed (wall clock)' "$work/time.txt" | awk '{print $NF}')" \
    "$(( $(grep 'Maximum resident' "$work/time.txt" | awk '{print $NF}') / 1024 ))"
}
measure "tar -xzOf, 4 layers in turn" sh -c 'for l in layers/l*.tar.gz; do tar -xzOf "$l"; done'
measure "keysweep scan --image" "$bin" scan --no-progress -q -f json --image layout
measure "keysweep scan --image -j1" "$bin" scan --no-progress -q -f json -j1 --image layout
# The layer cache: the first run reads and stores every layer, the second reads none.
rm -rf "$work/cache"
measure "keysweep scan --image --cache (empty)" "$bin" scan --no-progress -q -f json --cache "$work/cache" --image layout
measure "keysweep scan --image --cache (filled)" "$bin" scan --no-progress -q -f json --cache "$work/cache" --image layout
ls -l "$work/cache/cache.redb"
"$bin" scan --no-progress -f json --image layout 2>&1 >/dev/null | tail -1
