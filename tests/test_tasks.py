"""tasks.py installs Debian's chromium for the browser test only where it may, and never
fails the test command when it cannot (a stand-in apt-get on PATH records the calls)."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tasks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lighthouse_tasks", ROOT / "tasks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A failing apt-get first on PATH; returns the file its calls are written to."""
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "apt-get"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexit 100\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("LIGHTHOUSE_NO_APT", raising=False)
    return log


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_a_failed_install_is_quiet_and_no_apt_turns_it_off(
    apt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = _tasks()
    monkeypatch.setattr(tasks, "CHROMIUM", tmp_path / "no-chromium-here")
    tasks.ensure_chromium()  # apt-get fails: no exception
    assert apt.read_text().splitlines() == ["update -q"]  # it stopped at the failed step
    assert "could not be installed" in capsys.readouterr().out
    apt.unlink()
    monkeypatch.setenv("LIGHTHOUSE_NO_APT", "1")
    tasks.ensure_chromium()
    assert not apt.exists()
    monkeypatch.delenv("LIGHTHOUSE_NO_APT")
    monkeypatch.setattr(tasks, "CHROMIUM", tmp_path)  # present: nothing to do
    tasks.ensure_chromium()
    assert not apt.exists()
