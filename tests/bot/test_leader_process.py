"""Two `lighthouse run` processes on one database, aimed at the stand-ins: exactly one runs
the bots (the leader lease, core/leader.py); when it is killed with SIGKILL the other
connects to Discord and Telegram within one lease and a poll (plus its login).

The takeover time is printed (`pytest -s`); LIGHTHOUSE_TEST_LEADER_LEASE_S sets the lease
(default 5 s here, 10 s in the service) to measure it at another value."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn

TESTS = str(Path(__file__).resolve().parents[1])  # for `python -m standins.aimed_cli`
LEASE_S = float(os.environ.get("LIGHTHOUSE_TEST_LEADER_LEASE_S", "5"))
START_S = 60.0


async def start_run(name: str, dsn: str, redis_url: str, tmp: Path, port: int,
                    dc: DiscordStandIn, tg: TelegramStandIn) -> asyncio.subprocess.Process:
    data = tmp / name
    data.mkdir()
    env = {
        **os.environ, "DATABASE_URL": dsn, "REDIS_URL": redis_url,
        "API_HOST": "127.0.0.1", "API_PORT": str(port), "METRICS_PORT": "0",
        "LIGHTHOUSE_DATA_DIR": str(data), "LOG_FORMAT": "text",
        "LIGHTHOUSE_INSTANCE_ID": name, "LIGHTHOUSE_LEADER_LEASE_S": str(LEASE_S),
        "DISCORD_BOT_TOKEN": dc.token,
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.http_url,
        "STANDIN_DISCORD_API_BASE": dc.api_base, "STANDIN_DISCORD_GATEWAY": dc.gateway_url,
        "PYTHONPATH": os.pathsep.join(p for p in (TESTS, os.environ.get("PYTHONPATH")) if p),
    }
    env.pop("LIGHTHOUSE_CONFIG", None)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "standins.aimed_cli", "run", env=env, cwd=data,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def chat_role(http: aiohttp.ClientSession, port: int) -> str | None:
    """What /health says of this process: "leader", "standby", or None (not answering)."""
    try:
        async with http.get(f"http://127.0.0.1:{port}/health") as r:
            body: dict[str, Any] = await r.json()
    except (aiohttp.ClientError, ValueError):
        return None
    return body.get("chat")


async def test_one_of_two_processes_runs_the_bots_and_the_other_takes_over(
    dsn: str, redis_url: str, tmp_path: Path, dc: DiscordStandIn, tg: TelegramStandIn,
    make_free_port: Any,
) -> None:
    ports = {"run-a": make_free_port(), "run-b": make_free_port()}
    procs = {name: await start_run(name, dsn, redis_url, tmp_path, port, dc, tg)
             for name, port in ports.items()}
    try:
        async with aiohttp.ClientSession() as http:
            roles: dict[str, str | None] = {}
            async with asyncio.timeout(START_S):
                while sorted(str(r) for r in roles.values()) != ["leader", "standby"]:
                    await asyncio.sleep(0.2)
                    roles = {n: await chat_role(http, p) for n, p in ports.items()}
            await dc.wait_call("gateway.identify", timeout=START_S)
            await tg.wait_call("getUpdates", timeout=START_S)
            await asyncio.sleep(LEASE_S)  # the standby polls meanwhile and must stay out
            assert {n: await chat_role(http, p) for n, p in ports.items()} == roles
            # Exactly one process logged in to each platform.
            assert len(dc.find("gateway.identify")) == 1
            assert len(dc.find("get_me")) == 1
            assert len(tg.find("getMe")) == 1

            leader = next(n for n, r in roles.items() if r == "leader")
            standby = next(n for n in ports if n != leader)
            dc_since, tg_since = dc.mark(), tg.mark()
            procs[leader].send_signal(signal.SIGKILL)
            killed = time.monotonic()
            await procs[leader].wait()
            wait_s = LEASE_S * 2 + START_S
            identify, poll = await asyncio.gather(
                dc.wait_call("gateway.identify", since=dc_since, timeout=wait_s),
                tg.wait_call("getUpdates", since=tg_since, timeout=wait_s))
            # Call.time is the stand-in's time.monotonic() on arrival (same machine clock).
            discord_s, telegram_s = identify.time - killed, poll.time - killed
            assert await chat_role(http, ports[standby]) == "leader"
            print(f"\nleader lease {LEASE_S:g} s: after SIGKILL the standby connected to "
                  f"Discord in {discord_s:.2f} s, Telegram in {telegram_s:.2f} s")
            # One lease and one poll until it is elected; its logins take the rest.
            assert discord_s <= LEASE_S + LEASE_S / 5 + 10
            assert telegram_s <= LEASE_S + LEASE_S / 5 + 10
            procs[standby].send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                assert await procs[standby].wait() == 0
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
