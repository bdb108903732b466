#!/usr/bin/env bash
# False alarms on third-party code: scans directories of code that holds no live secrets of
# its own (clones and package trees kept outside the project), with the default output, and
# prints the findings by context label and by rule, next to a baseline binary's in the same run.
# Judging each remaining finding (real key, fixture, false alarm) is done by hand from the JSONL
# it leaves in $OUT.
#
#   benches/false-alarms.sh DIR...
#   KEYSWEEP=path/to/keysweep BASELINE=path/to/old/keysweep OUT=/tmp/fa benches/false-alarms.sh DIR...
#
# The README's table used: rails/rails (a worktree), rust-lang/cargo, kubernetes/examples, a
# cargo registry's src/ and a Python site-packages holding awscli, botocore, moto and cfn-lint.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KS=${KEYSWEEP:-$ROOT/target/release/keysweep}
[ $# -gt 0 ] || { echo "usage: $0 DIR..." >&2; exit 2; }
[ -n "${KEYSWEEP:-}" ] || (cd "$ROOT" && cargo build --release -q -p keysweep-cli)
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
run() { # name binary
  local name=$1 bin=$2 start end
  shift 2
  start=$(date +%s%N)
  # Exit 1 means findings; only 2 and above are errors.
  "$bin" scan --no-config --no-progress -f jsonl "$@" >"$OUT/$name.jsonl" 2>"$OUT/$name.err" || [ $? -eq 1 ]
  end=$(date +%s%N)
  echo "$name $(((end - start) / 1000000))" >>"$OUT/times"
}
: >"$OUT/times"
bytes=$(du -scb "$@" | tail -1 | cut -f1)
if [ -n "${BASELINE:-}" ]; then run baseline "$BASELINE" "$@"; fi
run keysweep "$KS" "$@"
python3 - "$OUT" "$bytes" <<'PY'
import collections, json, os, sys
out, size = sys.argv[1], int(sys.argv[2])
times = dict(l.split() for l in open(f"{out}/times"))
for name in ("baseline", "keysweep"):
    path = f"{out}/{name}.jsonl"
    if not os.path.exists(path):
        continue
    rows = [json.loads(l) for l in open(path) if l.strip()]
    secs = int(times[name]) / 1000
    print(f"## {name}: {len(rows)} findings in {size / 1e6:.0f} MB, {secs:.1f} s ({size / 1e6 / secs:.0f} MB/s)")
    ctx = collections.Counter(r.get("context", "-") for r in rows)
    print("by context: " + ", ".join(f"{k} {v}" for k, v in ctx.most_common()))
    for rule, n in collections.Counter(r["rule_id"] for r in rows).most_common(12):
        print(f"  {n:5d}  {rule}")
print(f"(JSONL in {out})")
PY
