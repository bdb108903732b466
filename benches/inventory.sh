#!/usr/bin/env bash
# Inventory build time and peak memory on synthetic sweeps, next to a baseline measured in the
# same run (`wc -l`, reading the same file once).
#
#   benches/inventory.sh
#
# Realistic JSON Lines scan output (history findings with commit, author, date, refs,
# repository; every finding a distinct location), to show what memory grows with:
#   100k findings of   5k secrets   (20 locations each: a typical sweep)
#   100k findings of 100k secrets   (the same findings, 20x the secrets)
#   200k findings of   1k secrets   (200 each: the default --max-locations)
#     1M findings of   1k secrets   (1,000 each: 5x the findings, the same secrets)
# Needs: hyperfine, python3, GNU time (/usr/bin/time). Machines are shared and noisy: read the
# ratios, measured in the same run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KS=${KEYSWEEP:-$ROOT/target/release/keysweep}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ -z "${KEYSWEEP:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p keysweep-cli)
fi
command -v hyperfine >/dev/null || { echo "missing: hyperfine" >&2; exit 2; }

gen() { # FINDINGS SECRETS FILE
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
n, secrets, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(out, "w") as f:
    for i in range(n):
        s = i % secrets
        repo = (i * 7) % 200
        path = f"src/pkg{i % 300}/mod{i % 97}.py"
        f.write(json.dumps({
            "rule_id": ["aws.access_key_id", "github.pat.classic", "stripe.secret_key.live"][s % 3],
            "rule_name": "x", "path": path, "line": 1 + i % 400, "column": 9,
            "end_line": 1 + i % 400, "end_column": 49, "byte_start": 100, "byte_end": 140,
            "secret": "AKIA*****", "redacted": True, "fingerprint": "%032x" % (s * 2654435761 % (1 << 128)),
            "entropy": 4.1, "confidence": ["high", "medium", "low"][s % 3], "check_passed": None,
            "tags": ["cloud"], "suppressed": None,
            "repository": {"id": f"git.example.com/org/repo{repo}", "root": f"/src/repo{repo}", "path": path},
            "source": "history",
            "git": {"blob": "%040x" % i, "commit": "%040x" % (i * 31),
                    "author_name": f"Dev {i % 113}", "author_email": f"dev{i % 113}@example.com",
                    "date": "20%02d-%02d-%02dT10:00:00+00:00" % (15 + i % 10, 1 + i % 12, 1 + i % 28),
                    "summary": "change", "refs": ["refs/heads/main"], "refs_total": 1,
                    "present_at_head": i % 3 != 0, "reachable": True},
        }) + "\n")
PY
}

printf '%-34s %10s %12s %12s %10s %12s\n' input size inventory "wc -l" ratio "peak RSS"
for spec in "100000 5000" "100000 100000" "200000 1000" "1000000 1000"; do
  set -- $spec
  f=$WORK/sweep-$1-$2.jsonl
  gen "$1" "$2" "$f"
  size=$(du -m "$f" | cut -f1)
  hyperfine -N -w 1 -r 5 --export-json "$WORK/h.json" \
    "$KS inventory --results $f --as-of 2026-12-01 -q -o $WORK/inv.json" \
    "wc -l $f" >/dev/null 2>&1
  read -r inv base < <(python3 -c "
import json; r = json.load(open('$WORK/h.json'))['results']
print(r[0]['mean'], r[1]['mean'])")
  rss=$(/usr/bin/time -f %M "$KS" inventory --results "$f" --as-of 2026-12-01 -q -o "$WORK/inv.json" 2>&1 >/dev/null | tail -1)
  printf '%-34s %8s MB %10.3f s %10.3f s %9.1fx %9s MiB\n' \
    "$1 findings, $2 secrets" "$size" "$inv" "$base" "$(python3 -c "print($inv/$base)")" "$((rss / 1024))"
done
