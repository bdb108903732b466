#!/usr/bin/env bash
# Builds every fuzz target and runs each for a short, fixed number of runs starting from its
# seed corpus (fuzz/seeds/TARGET): a target that stops building, or crashes on its seeds or on
# what a few thousand mutations of them reach, fails. CI runs this; longer campaigns are
# `cargo fuzz run TARGET` (see README).
#
#   fuzz/run-seeds.sh [RUNS]        (default 3000 runs per target)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and a C++ compiler for libFuzzer.
# cargo-fuzz needs nightly features: RUSTC_BOOTSTRAP=1 enables them on a stable toolchain.
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${1:-3000}
export RUSTC_BOOTSTRAP=1
cargo fuzz build --sanitizer none -O
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in $(cargo fuzz list); do
  # A copy: libFuzzer adds what it finds to the corpus directory it is given.
  mkdir -p "$work/$target"
  cp -r "seeds/$target/." "$work/$target/"
  echo "fuzz: $target ($RUNS runs)"
  cargo fuzz run --sanitizer none -O "$target" "$work/$target" -- \
    -runs="$RUNS" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=0 >"$work/$target.log" 2>&1 || {
      tail -40 "$work/$target.log"
      echo "fuzz target $target failed (log above)" >&2
      exit 1
    }
done
echo "fuzz: every target ran $RUNS times without a crash"
