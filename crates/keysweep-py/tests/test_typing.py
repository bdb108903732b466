"""The package's stubs and code, and these tests, type-check with `mypy --strict`
(settings in pyproject.toml)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from conftest import need

CRATE = Path(__file__).resolve().parents[1]


def test_mypy_strict() -> None:
    need("mypy", importlib.util.find_spec("mypy") is not None, "pip install mypy")
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict"], cwd=CRATE, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
