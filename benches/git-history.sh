#!/usr/bin/env bash
# Full-history scan, side by side in one run: the decompression floor (git cat-file reading
# every object once, one thread, in pack order), keysweep --git, and kingfisher.
#
#   benches/git-history.sh REPO
#
# REPO  a clone (bare or not) with long history, kept outside this repository
#       (e.g. rails/rails: 160k commits, 1.24M objects).
#
# Needs: git, hyperfine, kingfisher 2.14 (pip install kingfisher-bin==2.14.0), GNU time.
# Machines are shared and noisy: read the ratios, measured in the same run.
set -euo pipefail

REPO=${1:?usage: benches/git-history.sh REPO}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KS=${KEYSWEEP:-$ROOT/target/release/keysweep}
RUNS=${RUNS:-3}
KF_RUNS=${KF_RUNS:-2}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ -z "${KEYSWEEP:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p keysweep-cli)
fi
for tool in git hyperfine /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

echo "# versions"
"$KS" --version
git --version
command -v kingfisher >/dev/null && kingfisher --version
echo "cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# repository: $REPO"
git -C "$REPO" count-objects -vH | grep -E 'in-pack|size-pack'
echo "commits: $(git -C "$REPO" rev-list --all --count 2>/dev/null || echo '?')"

floor="git -C $REPO cat-file --batch-all-objects --batch --unordered > /dev/null"
ks="$KS scan --git $REPO -q --no-progress -f json > /dev/null || [ \$? -le 2 ]"
kf="kingfisher scan $REPO --git-history full --no-validate --no-update-check -q --format json -o /dev/null || true"

hyperfine -N --warmup 1 --runs "$RUNS" -s none --export-json "$WORK/a.json" \
  -n floor "bash -c '$floor'" -n keysweep "bash -c '$ks'" >/dev/null 2>&1 || \
  hyperfine --warmup 1 --runs "$RUNS" --export-json "$WORK/a.json" -n floor "$floor" -n keysweep "$ks" >/dev/null
if command -v kingfisher >/dev/null; then
  hyperfine --runs "$KF_RUNS" --export-json "$WORK/b.json" -n kingfisher "$kf" >/dev/null
fi

python3 - "$WORK" <<'PY'
import json, os, sys
work = sys.argv[1]
rows = json.load(open(f"{work}/a.json"))["results"]
if os.path.exists(f"{work}/b.json"):
    rows += json.load(open(f"{work}/b.json"))["results"]
t = {r["command"]: r["mean"] for r in rows}
floor = t["floor"]
print("| command | mean (s) | min (s) | ratio to floor |")
print("|---|---|---|---|")
for r in rows:
    print(f"| {r['command']} | {r['mean']:.2f} | {r['min']:.2f} | {r['mean'] / floor:.2f}x |")
if "kingfisher" in t:
    print(f"kingfisher / keysweep: {t['kingfisher'] / t['keysweep']:.1f}x")
PY

echo "# peak RSS"
/usr/bin/time -f "keysweep: %M KB, %e s" bash -c "$ks" 2>&1 | tail -1
/usr/bin/time -f "floor (git cat-file): %M KB, %e s" bash -c "$floor" 2>&1 | tail -1
if command -v kingfisher >/dev/null; then
  /usr/bin/time -f "kingfisher: %M KB, %e s" bash -c "$kf" 2>&1 | tail -1
fi
