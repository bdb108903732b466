"""Helpers shared by the Python tests: fake secrets, git repositories made with the git CLI,
the `keysweep` binary of this checkout, and `need()` (as tests/common/mod.rs has it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import keysweep

# Fake credentials (right format, never issued).
GH = "ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u"
SLACK = "xoxb-4279965680133-8722359450601-SG2fdI4QYaoOc6fzlDHhRC53"
STRIPE = "sk_live_ESy7UK5YE60Mld2X2dZgxT12"
AWS = "AKIAZ4X7Q2M9R3T8V6WN"

CHECKOUT = Path(__file__).resolve().parents[3]


def skipped(tool: str) -> bool:
    """Whether KEYSWEEP_SKIP (comma-separated, or `all`) names `tool`."""
    skip = os.environ.get("KEYSWEEP_SKIP", "")
    return any(t.strip() in (tool, "all") for t in skip.split(","))


def need(tool: str, present: bool, install: str) -> None:
    """For a test that needs an external tool: missing, the test fails and says what to
    install, unless KEYSWEEP_SKIP names the tool: then it is skipped, visibly (SKIPPED on
    stderr and in pytest's summary). Never a silent pass."""
    if present:
        return
    if skipped(tool):
        print(f"SKIPPED: {tool} is missing ({install})", file=sys.stderr)
        pytest.skip(f"SKIPPED: {tool} is missing ({install})")
    pytest.fail(
        f"this test needs {tool}, which is missing: {install} "
        f"(or set KEYSWEEP_SKIP={tool} to skip it)",
        pytrace=False,
    )


class Repo:
    """A git repository made with the git CLI, with fixed authors and dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = 1_600_000_000
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        date = f"{self.clock} +0000"
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "Ada Dev",
            "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada Dev",
            "GIT_COMMITTER_EMAIL": "ada@example.com",
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_DATE": date,
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.path.parent),
        }
        out = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args],
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, f"git {args}: {out.stderr}"
        return out.stdout.strip()

    def put(self, rel: str, text: str) -> None:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    def commit(self, message: str) -> str:
        """Stages everything and commits; returns the commit id."""
        self.clock += 3600
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


def keysweep_binary() -> Path:
    """The `keysweep` binary of this checkout (debug build, under CARGO_TARGET_DIR or
    target/), built first: nothing to do when it is up to date (tests/run.sh's cargo test
    built it), and never an older binary left there by another checkout state."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", CHECKOUT / "target"))
    subprocess.run(
        ["cargo", "build", "--quiet", "--offline", "-p", "keysweep-cli"], cwd=CHECKOUT, check=True
    )
    return target / "debug" / "keysweep"


@pytest.fixture(scope="session")
def scanner() -> keysweep.Scanner:
    return keysweep.Scanner()
