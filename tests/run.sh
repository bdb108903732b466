#!/usr/bin/env bash
# Every test of keysweep: the README's test command, and what `.ci/run` runs after its
# formatting and lint checks. Installs what the tests need first (tests/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
tests/setup.sh
# The browser test must not skip here: tests/setup.sh installed the browser.
export KEYSWEEP_REQUIRE_BROWSER=1
cargo test --workspace
fuzz/run-seeds.sh 20000
