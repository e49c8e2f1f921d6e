"""`lighthouse check`: one check, JSON out, exit 0 up / 1 down / 2 bad config; guard applies."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from targets import Target

LIGHTHOUSE = str(Path(sys.executable).with_name("lighthouse"))


async def run(*args: str, allow_private: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the CLI without blocking the loop that serves the target."""
    env = {k: v for k, v in os.environ.items() if k != "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS"}
    if allow_private:
        env["LIGHTHOUSE_ALLOW_PRIVATE_TARGETS"] = "1"
    proc = await asyncio.create_subprocess_exec(
        LIGHTHOUSE, "check", *args, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


async def test_check_up_down_and_bad_config(target: Target) -> None:
    up = await run(target.url)
    assert up.returncode == 0, up.stderr
    body = json.loads(up.stdout)
    assert body["ok"] is True and body["status_code"] == 200 and body["type"] == "http"
    target.status = 503
    down = await run(target.url)
    assert down.returncode == 1
    assert json.loads(down.stdout)["error_code"] == "unexpected_status"
    bad = await run("--config", '{"url": "gopher://x"}')
    assert bad.returncode == 2
    assert json.loads(bad.stdout)["error"]["code"] == "invalid_url"
    not_json = await run("--config", "{nope")
    assert not_json.returncode == 2


async def test_check_refuses_private_targets_by_default(target: Target) -> None:
    out = await run(target.url, allow_private=False)
    assert out.returncode == 1
    assert json.loads(out.stdout)["error"]["code"] == "target_not_allowed"
    assert target.hits == 0


def test_version() -> None:
    out = subprocess.run([LIGHTHOUSE, "version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == "0.1.0"
