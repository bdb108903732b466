#!/usr/bin/env bash
# Installs what keysweep's tests need on a Debian-like machine, skipping what is there:
#   git, a C compiler, Python 3 (test fixtures, the C ABI and ctypes tests)
#   zstd (zstd-compressed container image layers, written as container tools write them)
#   chromium and chromium-driver (the HTML inventory report in a real browser)
#   valgrind (the C ABI under valgrind), util-linux (setpriv, unshare: fault tests)
#   cargo-fuzz (each fuzz target built and run on its seeds)
#   iproute2 (`ip`: the Ray tests bring up loopback in a network namespace of their own)
#   postgresql, mariadb-server, redis-server (keysweep-dbcheck's tests start throwaway servers
#   of their own on free 127.0.0.1 ports; the services the packages may start are not used),
#   openssl (the command: a self-signed certificate for those servers' TLS)
#   docker-registry (tests/registry.rs starts its own on a free 127.0.0.1 port, storage in a
#   temporary directory; the service the package installs is stopped and disabled: it would
#   hold port 5000), apache2-utils (`htpasswd -B`: the bcrypt password file of its auth test)
#   openssh-server (sshd and ssh-keygen: the SSH key check's tests start a throwaway sshd of
#   their own on a free 127.0.0.1 port; installed without starting the package's system sshd)
#   .venv: a virtualenv in the checkout (gitignored) with maturin, and the Python package
#   `keysweep` built from crates/keysweep-py (debug, with `maturin develop`) with its `ray` and
#   `test` extras (ray, pytest, mypy)
# Without them the tests that need them fail and say what to install (KEYSWEEP_SKIP=tool,...
# skips them visibly instead).
set -euo pipefail
cd "$(dirname "$0")/.."

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
have ip || missing+=(iproute2)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
have mariadbd || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
have redis-server || missing+=(redis-server)
have openssl || missing+=(openssl)
{ [ -x /usr/sbin/sshd ] && have ssh-keygen; } || missing+=(openssh-server)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
have bash || missing+=(bash)
have zstd || missing+=(zstd)
have docker-registry || missing+=(docker-registry)
have htpasswd || missing+=(apache2-utils)

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
    # openssh-server's package would start a system sshd on port 22: a policy-rc.d that
    # refuses every start keeps it (and any other service these packages bring) stopped.
    # Only ours, only for this install; one already there (containers have one) is kept.
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
      $sudo chmod 755 /usr/sbin/policy-rc.d
      policy=1
      trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
    # The tests start registries and sshd of their own; the packaged services are not wanted
    # (where services start at all: containers often have a policy-rc.d that forbids it).
    if [[ " ${missing[*]} " == *" docker-registry "* ]]; then
      if have systemctl && [ -d /run/systemd/system ]; then
        $sudo systemctl disable --now docker-registry >/dev/null 2>&1 || true
      elif have service; then
        $sudo service docker-registry stop >/dev/null 2>&1 || true
      fi
    fi
    if [ -n "$policy" ]; then
      $sudo rm -f /usr/sbin/policy-rc.d
      trap - EXIT
      # Nor at the next boot, where systemd runs the machine.
      if [[ " ${missing[*]} " == *" openssh-server "* ]] && [ -d /run/systemd/system ]; then
        $sudo systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
      fi
    fi
  fi
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "tests/setup.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --quiet
fi

# The Python package, into .venv: a debug build (the tests scan small inputs; a release build
# of the extension would add minutes). Rebuilt every time, so the tests see this checkout.
if [ ! -x .venv/bin/maturin ]; then
  echo "tests/setup.sh: creating .venv with maturin" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'maturin>=1.9,<2'
fi
echo "tests/setup.sh: building the keysweep Python package into .venv (maturin develop)" >&2
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop --quiet --manifest-path crates/keysweep-py/Cargo.toml \
  --extras ray,test >/dev/null
