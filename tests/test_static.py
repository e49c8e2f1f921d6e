"""Lint and the strict type check are part of the test suite, so CI (which runs the
README's test command) fails on either, exactly as it fails on a test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)


def test_ruff_is_clean() -> None:
    done = _run([str(BIN / "ruff"), "check", "--no-cache", "."])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_mypy_strict_is_clean() -> None:
    done = _run([sys.executable, str(ROOT / "tools" / "typecheck.py")])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
