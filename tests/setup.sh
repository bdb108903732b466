#!/usr/bin/env bash
# Installs what keysweep's tests need on a Debian-like machine, skipping what is there:
#   git, a C compiler, Python 3 (test fixtures, the C ABI and ctypes tests)
#   chromium and chromium-driver (the HTML inventory report in a real browser)
#   valgrind (the C ABI under valgrind), util-linux (setpriv, unshare: fault tests)
#   cargo-fuzz (each fuzz target built and run on its seeds)
# Without them the tests that need them fail and say what to install (KEYSWEEP_SKIP=tool,...
# skips them visibly instead).
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
have git || missing+=(git)
have cc || missing+=(gcc)
have c++ || missing+=(g++)
have python3 || missing+=(python3)
have chromium || missing+=(chromium)
have chromedriver || missing+=(chromium-driver)
have valgrind || missing+=(valgrind)
have setpriv || missing+=(util-linux)
have bash || missing+=(bash)

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if have sudo; then sudo="sudo"; else
      echo "tests/setup.sh: not root and no sudo; install: ${missing[*]}" >&2
      missing=()
    fi
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "tests/setup.sh: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "tests/setup.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --quiet
fi
