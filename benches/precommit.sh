#!/usr/bin/env bash
# Pre-commit latency: wall time of a staged scan of a one-file change, process start and rule
# compilation included, side by side in one run with the peers' staged modes.
#
#   benches/precommit.sh [REPO]
#
# REPO  optional working tree to copy (e.g. a rails/rails checkout); default: a synthetic
#       repository of $FILES small source files.
#
# Each tool is checked first to actually report the staged fake secret. Baseline: `git
# diff --cached --quiet`, the cheapest thing a hook can do in the same repository.
# Needs: git, hyperfine; optional: kingfisher (pip install kingfisher-bin==2.14.0), gitleaks.
# Machines are shared and noisy: read the ratios, measured in the same run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KS=${KEYSWEEP:-$ROOT/target/release/keysweep}
FILES=${FILES:-2000}
RUNS=${RUNS:-40}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ -z "${KEYSWEEP:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p keysweep-cli)
fi
command -v hyperfine >/dev/null || { echo "missing: hyperfine" >&2; exit 2; }

REPO=$WORK/repo
if [ -n "${1:-}" ]; then
  git clone -q --no-hardlinks "$1" "$REPO"
else
  mkdir -p "$REPO/src"
  for i in $(seq 1 "$FILES"); do
    printf 'def f%d(x):\n    return x * %d  # module %d\n' "$i" "$i" "$i" > "$REPO/src/m$i.py"
  done
  git -C "$REPO" init -q
  git -C "$REPO" add -A
fi
git -C "$REPO" -c user.name=b -c user.email=b@example.com -c commit.gpgsign=false \
  commit -qm base --allow-empty
# The change: one new line with a fake secret in one existing (or new) file.
target=$(git -C "$REPO" ls-files | awk '/\.(py|rb|js|go|rs|c)$/ { print; exit }' || true)
[ -n "$target" ] || target=app.py
printf 'STRIPE_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"\n' >> "$REPO/$target"
git -C "$REPO" add "$target"

echo "# versions"
"$KS" --version
git --version
command -v kingfisher >/dev/null && kingfisher --version || echo "kingfisher: not installed"
command -v gitleaks >/dev/null && gitleaks version || echo "gitleaks: not installed"
echo "cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# repository: $(git -C "$REPO" ls-files | wc -l) tracked files; staged change: $target"

declare -a names cmds
names+=("git diff --cached --quiet (baseline)")
cmds+=("git -C $REPO diff --cached --quiet")
names+=("keysweep scan --staged")
cmds+=("$KS scan --staged -q --no-progress $REPO")
if command -v kingfisher >/dev/null; then
  names+=("kingfisher scan --staged --no-validate")
  cmds+=("kingfisher scan --staged --no-validate --no-update-check -q $REPO")
fi
if command -v gitleaks >/dev/null; then
  names+=("gitleaks git --staged")
  cmds+=("gitleaks git --pre-commit --staged --no-banner $REPO")
fi

# Each scanner must see the secret (non-zero exit or output naming it).
for i in "${!names[@]}"; do
  [ "$i" -eq 0 ] && continue
  set +e
  out=$(cd "$REPO" && eval "${cmds[$i]}" 2>&1)
  code=$?
  set -e
  if [ $code -eq 0 ] && ! grep -qi -E 'stripe|finding' <<<"$out"; then
    echo "warning: ${names[$i]} did not report the staged secret" >&2
  fi
done

args=()
for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
(cd "$REPO" && hyperfine -N -i --warmup 3 --runs "$RUNS" --export-markdown "$WORK/t.md" "${args[@]}" >/dev/null)
echo
cat "$WORK/t.md"
