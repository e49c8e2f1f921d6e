#!/usr/bin/env python3
"""Bootstrap and run Lighthouse with nothing but Python 3.11+ installed.

    python3 tasks.py run    # create .venv/ if needed, then start the service
    python3 tasks.py test   # create .venv/ if needed, then run the whole test suite

The virtual environment is rebuilt only when pyproject.toml changes (a stamp file
holds its hash), so repeated runs start at once. Before the tests, Debian's chromium is
installed for the browser test (tests/status/test_browser.py) where the machine allows:
as root, with apt-get, when /usr/bin/chromium is missing, within a time limit, and
quietly not when that fails (the test then skips with its reason). LIGHTHOUSE_NO_APT=1
turns this off.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".lighthouse-installed"
CHROMIUM = Path("/usr/bin/chromium")
APT_SECONDS = 600  # apt-get update and install together


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file must also run on an old Python to say so
        sys.exit(f"Lighthouse needs Python 3.11 or newer (this is {sys.version.split()[0]})")
    if not (BIN / "python").exists():
        print("creating .venv/ ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _wanted_stamp():
        return
    print("installing Lighthouse and its dependencies into .venv/ ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[embedded,dev]"], check=True, cwd=ROOT)
    STAMP.write_text(_wanted_stamp())


def ensure_chromium() -> None:
    """Debian's chromium for the browser test, where root and apt-get allow it."""
    if os.environ.get("LIGHTHOUSE_NO_APT") == "1" or CHROMIUM.exists():
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    print("installing chromium for the browser test (LIGHTHOUSE_NO_APT=1 skips this) ...",
          flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    deadline = time.monotonic() + APT_SECONDS
    steps = (["apt-get", "update", "-q"],
             ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"])
    try:
        for step in steps:
            subprocess.run(step, check=True, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=max(1.0, deadline - time.monotonic()))
    except (OSError, subprocess.SubprocessError):
        print("chromium could not be installed; the browser test will be skipped", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "setup"}:
        print(__doc__)
        return 2
    ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "setup":
        return 0
    if command == "run":
        args = [str(BIN / "lighthouse"), "run", *rest]
    else:
        ensure_chromium()
        args = [str(BIN / "python"), "-m", "pytest", *rest]
    os.chdir(ROOT)
    os.execv(args[0], args)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
