#!/usr/bin/env bash
# Every test of keysweep: the README's test command, and what `.ci/run` runs after its
# formatting and lint checks. Installs what the tests need first (tests/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
tests/setup.sh
# A one-off build: incremental caches would add ~2.5 GB to the target directory for nothing.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# The browser test must not skip here: tests/setup.sh installed the browser.
export KEYSWEEP_REQUIRE_BROWSER=1
cargo test --workspace
# The Python package (built into .venv by tests/setup.sh), then its Ray tests in a network
# namespace where only loopback exists (Ray binds the machine's interfaces): as root a new
# network namespace, otherwise one inside an unprivileged user namespace.
(cd crates/keysweep-py && ../../.venv/bin/python -m pytest -q -m "not ray")
netns=(unshare --net)
[ "$(id -u)" -eq 0 ] || netns=(unshare --map-root-user --net)
if "${netns[@]}" true 2>/dev/null; then
  (cd crates/keysweep-py && timeout 900 "${netns[@]}" sh -c \
    'ip link set lo up && exec ../../.venv/bin/python -m pytest -q -m ray')
else
  # No namespace to be had: the Ray tests say so and fail, unless KEYSWEEP_SKIP names ray.
  (cd crates/keysweep-py && ../../.venv/bin/python -m pytest -q -m ray)
fi
fuzz/run-seeds.sh 20000
