#!/usr/bin/env python3
"""Run `mypy --strict` over the installed layout (lighthouse.core, lighthouse.api, ...).

The source folders are mapped onto the lighthouse package by setuptools (core/ ->
lighthouse.core); mypy reads paths, not import hooks, so this builds the same layout
from symlinks in a temporary directory and checks it there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPED = {"core": "core", "api": "api", "bot": "bot"}


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="lh-mypy-") as tmp:
        pkg = Path(tmp) / "lighthouse"
        pkg.mkdir()
        for entry in (ROOT / "lighthouse").iterdir():
            if entry.suffix == ".py":
                (pkg / entry.name).symlink_to(entry)
        for name, folder in MAPPED.items():
            if (ROOT / folder).is_dir():
                (pkg / name).symlink_to(ROOT / folder)
        cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
               "--cache-dir", str(ROOT / ".mypy_cache"), "-p", "lighthouse", *argv]
        return subprocess.run(cmd, cwd=tmp, env={**os.environ, "MYPYPATH": tmp}).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
