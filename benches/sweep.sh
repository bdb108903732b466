#!/usr/bin/env bash
# Sweeps of many repositories, side by side in one run:
#   1. the sum of `keysweep scan --git` over every repository (the baseline),
#   2. the first `keysweep sweep` over the same repositories (empty cache),
#   3. a re-sweep with nothing changed,
#   4. a re-sweep after one new commit (a new file) in every repository.
# Prints wall time, peak RSS, blobs scanned and findings of each, and the ratios the README
# reports. Repositories: local bare clones (hard links, nothing copied) of the real ones under
# $MIRRORS whose packs are under $MAX_PACK_MB, plus generated ones with planted fake secrets up
# to $REPOS in all. Everything is written under $WORK, outside the project.
#
#   benches/sweep.sh
#   REPOS=50 MIRRORS=/work/.mirror MAX_PACK_MB=100 WORK=/tmp/ks-sweep KEYSWEEP=path benches/sweep.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KS=${KEYSWEEP:-$ROOT/target/release/keysweep}
[ -n "${KEYSWEEP:-}" ] || (cd "$ROOT" && cargo build --release -q -p keysweep-cli)
REPOS=${REPOS:-50}
MIRRORS=${MIRRORS:-/work/.mirror}
MAX_PACK_MB=${MAX_PACK_MB:-100}
WORK=${WORK:-$(mktemp -d)}
rm -rf "$WORK/src" "$WORK/work" "$WORK/out"
mkdir -p "$WORK/src"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com GIT_CONFIG_NOSYSTEM=1

n=0
for m in "$MIRRORS"/*/repo; do
  [ -d "$m" ] || continue
  kb=$(du -sk "$m/objects" | cut -f1)
  [ "$kb" -le $((MAX_PACK_MB * 1024)) ] || continue
  [ "$n" -lt "$REPOS" ] || break
  git clone -q --mirror --local "$m" "$WORK/src/real-$n.git"
  n=$((n + 1))
done
real=$n
# Generated repositories: 30 commits each, some with fake secrets (right formats, never issued).
while [ "$n" -lt "$REPOS" ]; do
  d="$WORK/src/gen-$n"
  git init -q -b main "$d"
  for c in $(seq 1 30); do
    printf 'module %s\nvalue = %s\n' "$c" "$RANDOM$RANDOM" >"$d/src-$((c % 7)).txt"
    if [ $((c % 10)) -eq 0 ]; then
      printf 'GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA%04d\n' "$c$n" >"$d/.env"
    fi
    git -C "$d" add -A && git -C "$d" commit -qm "change $c"
  done
  n=$((n + 1))
done
ls -d "$WORK"/src/* >"$WORK/repos.txt"
size=$(du -scm "$WORK"/src/* | tail -1 | cut -f1)
echo "repositories: $n ($real real, $((n - real)) generated), $size MB on disk"

measure() { # label command...: wall seconds and peak RSS (KB) into $WORK/m.<label>
  local label=$1
  shift
  /usr/bin/time -f "%e %M" -o "$WORK/m.$label" "$@" >/dev/null 2>"$WORK/err.$label" || true
  read -r secs rss <"$WORK/m.$label"
  echo "$label: ${secs} s, peak RSS $((rss / 1024)) MB"
}

# 1. The sum of scan --git, one repository after another.
scan_all() {
  : >"$WORK/scan.jsonl"
  while read -r r; do
    "$KS" scan --git --no-config --no-progress -f jsonl "$r" >>"$WORK/scan.jsonl" 2>/dev/null || true
  done <"$WORK/repos.txt"
}
export -f scan_all
export KS WORK
measure scan bash -c scan_all
# 2-3. Sweeps.
sweep() { "$KS" sweep --repos-from "$WORK/repos.txt" --workdir "$WORK/work" --out "$WORK/out" --no-progress; }
export -f sweep
measure first bash -c sweep
cp "$WORK/out/audit.jsonl" "$WORK/audit.first"
measure unchanged bash -c sweep
cp "$WORK/out/audit.jsonl" "$WORK/audit.unchanged"
# 4. One new commit in every repository (bare ones through plumbing).
while read -r r; do
  if [ -d "$r/.git" ]; then
    printf 'new file %s\n' "$RANDOM" >"$r/new.txt"
    git -C "$r" add -A && git -C "$r" commit -qm "one more"
  else
    # Mirrors may be partial clones (blobs missing): the new tree is made without reading them.
    blob=$(printf 'new file %s\n' "$RANDOM" | git -C "$r" hash-object -w --stdin)
    tree=$( (git -C "$r" ls-tree HEAD | grep -v $'\tnew-bench-file.txt$' || true
      printf '100644 blob %s\tnew-bench-file.txt\n' "$blob") | git -C "$r" mktree --missing)
    commit=$(git -C "$r" commit-tree "$tree" -p HEAD -m "one more")
    git -C "$r" update-ref HEAD "$commit"
  fi
done <"$WORK/repos.txt"
measure commit bash -c sweep
cp "$WORK/out/audit.jsonl" "$WORK/audit.commit"

python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
t = {k: tuple(map(float, open(f"{w}/m.{k}").read().split())) for k in ("scan", "first", "unchanged", "commit")}
def audit(name):
    rows = [json.loads(l) for l in open(f"{w}/audit.{name}")]
    return sum(r["blobs_scanned"] for r in rows), sum(r["findings"] for r in rows), sum(r["status"] != "swept" for r in rows)
scan_findings = sum(1 for l in open(f"{w}/scan.jsonl") if l.strip())
print()
print("| run | wall | peak RSS | blobs scanned | findings | vs sum of scan --git |")
print("|---|---|---|---|---|---|")
print(f"| sum of `scan --git` | {t['scan'][0]:.2f} s | {t['scan'][1]/1024:.0f} MB (largest single scan) | | {scan_findings} | 1.00 |")
for name, label in (("first", "first sweep"), ("unchanged", "re-sweep, nothing changed"), ("commit", "re-sweep, one new commit per repository")):
    blobs, findings, failed = audit(name)
    note = f" ({failed} failed)" if failed else ""
    print(f"| {label} | {t[name][0]:.2f} s | {t[name][1]/1024:.0f} MB | {blobs} | {findings}{note} | {t[name][0]/t['scan'][0]:.2f} |")
print()
print(f"re-sweep / first sweep: unchanged {t['unchanged'][0]/t['first'][0]:.1%}, after one commit {t['commit'][0]/t['first'][0]:.1%}")
PY
