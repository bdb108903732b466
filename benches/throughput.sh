#!/usr/bin/env bash
# Side-by-side throughput of keysweep, kingfisher and ripgrep, measured in one run.
#
#   benches/throughput.sh TREE [BIG_MB]
#
# TREE    a checked-out source tree (e.g. the rails worktree; keep it outside this repository)
# BIG_MB  size of the single large file for the one-file benchmark (default 1024)
#
# Needs: hyperfine, ripgrep (rg), kingfisher 2.14 (pip install kingfisher-bin==2.14.0),
# GNU time (/usr/bin/time). Machines are shared and noisy: read the ratios, which are measured
# in the same run, rather than the absolute times.
set -euo pipefail

TREE=${1:?usage: benches/throughput.sh TREE [BIG_MB]}
BIG_MB=${2:-1024}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KS=${KEYSWEEP:-$ROOT/target/release/keysweep}
RUNS=${RUNS:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ ! -x "$KS" ] || [ -z "${KEYSWEEP:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p keysweep-cli)
fi
for tool in hyperfine rg kingfisher /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

echo "# versions"
"$KS" --version
kingfisher --version
rg --version | head -1
echo "cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# Bytes in the tree, counted the way the scanners see it (regular files, .git excluded).
bytes=$(find "$TREE" -type f -not -path '*/.git/*' -printf '%s\n' | awk '{s+=$1} END {print s}')
files=$(find "$TREE" -type f -not -path '*/.git/*' | wc -l)
echo "# tree: $TREE: $files files, $((bytes / 1000000)) MB"

# The keyword alternation for ripgrep: every built-in rule's keywords, as fixed strings.
"$KS" rules list --format json | python3 -c '
import json, sys
kws = sorted({k for r in json.load(sys.stdin) for k in r["keywords"]})
print("\n".join(kws))' > "$WORK/keywords.txt"
echo "keywords: $(wc -l < "$WORK/keywords.txt")"

hyperfine --warmup 1 --runs "$RUNS" -i --style basic --export-json "$WORK/tree.json" \
  -n keysweep "$KS scan -q --no-progress --format json '$TREE' > /dev/null" \
  -n kingfisher "kingfisher scan '$TREE' --no-validate --no-update-check -q --format json -o /dev/null" \
  -n ripgrep "rg -c -i -F -f '$WORK/keywords.txt' '$TREE' > /dev/null" >&2

python3 - "$WORK/tree.json" "$bytes" <<'EOF'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
mb = int(sys.argv[2]) / 1e6
ks = res["keysweep"]["mean"]
print("# tree scan (mean of runs)")
print(f"{'tool':<12}{'seconds':>10}{'MB/s':>10}{'time / keysweep':>18}")
for name in ("keysweep", "kingfisher", "ripgrep"):
    t = res[name]["mean"]
    print(f"{name:<12}{t:>10.3f}{mb / t:>10.0f}{t / ks:>18.2f}")
EOF

# One large file: the tree's text files concatenated until BIG_MB.
big="$WORK/big.txt"
python3 - "$TREE" "$big" "$BIG_MB" <<'EOF'
import os, sys
tree, out, target = sys.argv[1], sys.argv[2], int(sys.argv[3]) << 20
chunks = []
for d, _, fs in os.walk(tree):
    if "/.git" in d:
        continue
    for f in fs:
        p = os.path.join(d, f)
        try:
            b = open(p, "rb").read()
        except OSError:
            continue
        if b"\0" not in b[:8192]:
            chunks.append(b)
written = 0
with open(out, "wb") as o:
    while written < target:
        for b in chunks:
            b = b[: target - written]
            o.write(b)
            written += len(b)
            if written >= target:
                break
EOF
hyperfine --warmup 1 --runs 3 -i --style basic --export-json "$WORK/big.json" \
  -n keysweep "$KS scan -q --no-progress --max-file-size 64G --format json '$big' > /dev/null" \
  -n ripgrep "rg -c -i -F -f '$WORK/keywords.txt' '$big' > /dev/null" >&2
/usr/bin/time -f '%M' -o "$WORK/rss" "$KS" scan -q --no-progress --max-file-size 64G --format json "$big" > /dev/null || true
python3 - "$WORK/big.json" "$BIG_MB" "$(tail -1 "$WORK/rss")" <<'EOF'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
mb = int(sys.argv[2]) * 1048576 / 1e6
print(f"# one {sys.argv[2]} MiB file")
for name in ("keysweep", "ripgrep"):
    t = res[name]["mean"]
    print(f"{name:<12}{t:>10.3f} s{mb / t:>10.0f} MB/s")
print(f"keysweep peak RSS: {int(sys.argv[3]) / 1024:.0f} MiB (scanned in 128 MiB mapped segments, each released when done)")
EOF

# Start-up: an empty directory, the full built-in rule set.
mkdir -p "$WORK/empty"
hyperfine --warmup 3 --runs 30 -N --style basic --export-json "$WORK/start.json" \
  "$KS scan -q --no-progress $WORK/empty" >&2
python3 - "$WORK/start.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"# start-up, empty directory: {r['mean'] * 1000:.1f} ms mean, {r['min'] * 1000:.1f} ms min")
EOF
