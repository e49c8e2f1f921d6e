"""`lighthouse apply` and the running service's SIGHUP: the same file, the same outcome
(lighthouse/apply_cli.py, lighthouse/config_reload.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from lighthouse.core.errors import ConfigurationError
from lighthouse.core.settings import Settings

from lighthouse import cli
from lighthouse.runtime import serve

FILE = """\
monitors:
  - name: Home
    interval: 60
    config: {url: "http://127.0.0.1:9/home"}
  - name: Job
    type: heartbeat
    config: {period_s: 3600}
"""


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, dsn: str, redis_url: str, tmp_path: Path) -> Path:
    for key, value in {"DATABASE_URL": dsn, "REDIS_URL": redis_url,
                       "LIGHTHOUSE_DATA_DIR": str(tmp_path / "data"),
                       "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS": "true",
                       "PUBLIC_BASE_URL": "https://status.example"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("LIGHTHOUSE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./lighthouse.yaml here
    return tmp_path


async def lighthouse(*argv: str) -> int:
    # The command runs its own event loop, as from a shell: in a thread beside this one.
    return await asyncio.to_thread(cli.main, list(argv))


async def names(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["name"] for r in await conn.fetch("SELECT name FROM monitors ORDER BY name")]
    finally:
        await conn.close()


async def test_apply_command_plans_applies_and_refuses_with_exit_codes(
        cli_env: Path, dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = cli_env / "lighthouse.yaml"
    path.write_text(FILE)

    assert await lighthouse("apply", "--dry-run", str(path)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["~ tier none -> enterprise", '+ monitor "Home" (http)', '+ monitor "Job" (heartbeat)',
                   "plan: 2 to add, 1 to change, 0 to remove, 0 monitors unchanged"]
    assert await names(dsn) == []

    assert await lighthouse("apply") == 0  # ./lighthouse.yaml by default
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "applied: 2 to add, 1 to change, 0 to remove, 0 monitors unchanged"
    assert out[-1].startswith("ping URL of 'Job' (shown once, keep it): https://status.example/ping/")
    assert await names(dsn) == ["Home", "Job"]

    assert await lighthouse("apply", str(path)) == 0
    assert capsys.readouterr().out.splitlines() == [
        "applied: 0 to add, 0 to change, 0 to remove, 2 monitors unchanged"]

    path.write_text(FILE.replace("interval: 60", "interval: 5").replace("  - name: Job\n", "  - nme: Job\n"))
    assert await lighthouse("apply", str(path)) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{path}:5: monitors[1].name: required",
        f"{path}:5: monitors[1].nme: unknown key 'nme' (expected one of: id, name, type, interval, "
        "failure_threshold, success_threshold, language, config)",
        f"lighthouse apply: {path} refused; nothing was changed",
    ]
    path.write_text(FILE.replace("interval: 60", "interval: 5"))
    assert await lighthouse("apply", str(path)) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{path}:3: monitors[0].interval: expected 30 to 86400 seconds")
    assert await names(dsn) == ["Home", "Job"]

    path.unlink()
    assert await lighthouse("apply") == 2
    assert "give a FILE" in capsys.readouterr().err


def settings(dsn: str, redis_url: str, tmp: Path, port: int, config: Path) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": dsn, "REDIS_URL": redis_url, "API_HOST": "127.0.0.1", "API_PORT": port,
        "METRICS_PORT": 0, "LIGHTHOUSE_DATA_DIR": str(tmp / "data"),
        "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS": True, "LIGHTHOUSE_CONFIG": str(config),
    }
    return Settings(**values)


async def until(check: Callable[[], bool], seconds: float = 15) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if check():
                return
            await asyncio.sleep(0.05)


async def test_the_service_applies_its_file_at_start_and_on_sighup(
        dsn: str, redis_url: str, tmp_path: Path, make_free_port: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "lighthouse.yaml"
    path.write_text(FILE)
    caplog.set_level(logging.INFO, logger="lighthouse")
    stop = asyncio.Event()
    run = asyncio.create_task(serve(settings(dsn, redis_url, tmp_path, make_free_port(), path),
                                    stop=stop))

    def applies() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage() == "config applied"]

    try:
        await until(lambda: len(applies()) == 1)
        assert await names(dsn) == ["Home", "Job"]
        # Its ping token is a secret: not in the log, and the log says how to set one.
        assert any("set config.token" in r.getMessage() for r in caplog.records)

        os.kill(os.getpid(), signal.SIGHUP)  # unchanged: nothing to do
        await until(lambda: len(applies()) == 2)
        assert [applies()[1].__dict__[k] for k in ("added", "changed", "removed", "unchanged")] == [
            0, 0, 0, 2]

        path.write_text(FILE.replace("name: Home", "name: Home page"))
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: len(applies()) == 3)
        assert await names(dsn) == ["Home page", "Job"]

        path.write_text("monitors: [\n")  # saved half-written: refused, nothing removed
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: any(r.getMessage().startswith("config file refused")
                                for r in caplog.records))
        assert await names(dsn) == ["Home page", "Job"]
        assert not run.done()
    finally:
        stop.set()
        async with asyncio.timeout(30):
            code = await run
    assert code == 0


async def test_a_refused_file_stops_start_up(dsn: str, redis_url: str, tmp_path: Path,
                                             make_free_port: Any) -> None:
    path = tmp_path / "lighthouse.yaml"
    path.write_text(FILE.replace("interval: 60", "interval: 1"))
    with pytest.raises(ConfigurationError) as info:
        await serve(settings(dsn, redis_url, tmp_path, make_free_port(), path), stop=asyncio.Event())
    assert f"{path}:3: monitors[0].interval: expected 30 to 86400 seconds" in str(info.value)
    assert await names(dsn) == []
