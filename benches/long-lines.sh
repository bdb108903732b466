#!/usr/bin/env bash
# Inputs that once made decoding super-linear: one line of 1 GiB of `A`, and 512 MB of random
# base64 on one line. Time, throughput and peak RSS of `keysweep scan` with decoding on and off,
# next to `cat` reading the same file in the same run (the baseline).
#
#   benches/long-lines.sh [GIB]      (default 1: the `A` file's size in GiB; base64 is half)
#
# Needs GNU time (/usr/bin/time) and python3. Files go to a temporary directory.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KS=${KEYSWEEP:-$ROOT/target/release/keysweep}
GIB=${1:-1}
[ -x "$KS" ] && [ -n "${KEYSWEEP:-}" ] || (cd "$ROOT" && cargo build --release -q -p keysweep-cli)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 - "$WORK" "$GIB" <<'PY'
import base64, os, sys
work, gib = sys.argv[1], float(sys.argv[2])
size = int(gib * (1 << 30))
with open(f"{work}/a.txt", "wb") as f:
    block = b"A" * (1 << 20)
    for _ in range(size >> 20):
        f.write(block)
with open(f"{work}/b64.txt", "wb") as f:
    for _ in range(size // 2 // (3 << 20)):
        f.write(base64.b64encode(os.urandom(3 << 20)))
PY
printf "%-10s %-14s %9s %10s %10s %8s\n" input run seconds MB/s "peak MB" "x cat"
for input in a.txt b64.txt; do
  f="$WORK/$input"
  mb=$(( $(stat -c %s "$f") / 1000000 ))
  base=$( { /usr/bin/time -f "%e" cat "$f" >/dev/null; } 2>&1 | tail -1 )
  printf "%-10s %-14s %9s %10s %10s %8s\n" "$input" "cat" "$base" \
    "$(python3 -c "print(round($mb / max($base, 0.01)))")" - 1.0
  for run in "decoding on:" "decoding off:--decode-depth 0"; do
    name=${run%%:*}; flags=${run#*:}
    # Exit status 1 (findings) is fine here.
    out=$( { /usr/bin/time -f "%e %M" "$KS" scan -q --no-progress --no-config --max-file-size 8G $flags "$f" >/dev/null || true; } 2>&1 | tail -1 )
    secs=${out% *}; kb=${out#* }
    printf '%-10s %-14s %9s %10s %10s %8s\n' "$input" "$name" "$secs" \
      "$(python3 -c "print(round($mb / max($secs, 0.01)))")" "$((kb / 1024))" \
      "$(python3 -c "print(round($secs / max($base, 0.01), 1))")"
  done
done
