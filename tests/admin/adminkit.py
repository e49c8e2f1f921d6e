"""Helpers for the operator tests: the installed `lighthouse` console script run as a
subprocess (never blocking the loop that serves the targets), a webhook receiver on
127.0.0.1, and a `lighthouse run` process whose stderr is read line by line."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

LIGHTHOUSE = str(Path(sys.executable).with_name("lighthouse"))
CLI_TIMEOUT_S = 60.0
# Variables that would point a process at other servers, bots or payments.
_SCRUB = re.compile(r"^(DATABASE_URL|REDIS_URL|PRIVATE_KEY|DISCORD_.*|TELEGRAM_.*|API_.*|"
                    r"METRICS_PORT|PORT|LIGHTHOUSE_.*|RPC_URL_.*|FACILITATOR_URL|X402_.*|"
                    r"PAYMENT_ADDRESS|PUBLIC_BASE_URL|USDC_CONTRACT_ADDRESS|LOG_.*|LC_.*|LANG|"
                    r"LANGUAGE)$")


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not _SCRUB.match(k)}
    env["LANG"] = "C.UTF-8"
    env.update(values)
    return env


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


async def cli(*args: str, env: Mapping[str, str]) -> Result:
    proc = await asyncio.create_subprocess_exec(
        LIGHTHOUSE, *args, env=dict(env), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(CLI_TIMEOUT_S):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that answers ``status``."""

    status: int = 200
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), json.loads(await request.read())))
        return web.json_response({"ok": self.status < 300}, status=self.status)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    app = web.Application()
    app.router.add_post("/hook", r.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    r.port = runner.addresses[0][1]
    try:
        yield r
    finally:
        await runner.cleanup()


class Service:
    """`lighthouse run` as a subprocess; its stderr is collected line by line."""

    def __init__(self, env: Mapping[str, str], argv: tuple[str, ...] = ("run",)) -> None:
        self.env = dict(env)
        self.argv = argv
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._new = asyncio.Event()

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            LIGHTHOUSE, *self.argv, env=self.env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))
            self._new.set()
        self._new.set()

    async def wait_line(self, match: Callable[[str], bool], timeout: float = 60.0) -> str:  # noqa: ASYNC109
        """The first line (seen so far or to come) that ``match`` accepts."""
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for line in self.lines[seen:]:
                    if match(line):
                        return line
                seen = len(self.lines)
                assert self.proc is not None
                if self.proc.returncode is not None and self._reader is not None \
                        and self._reader.done():
                    raise AssertionError("the service exited:\n" + self.tail())
                self._new.clear()
                await self._new.wait()

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.lines[-n:])

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.terminate()
        try:
            async with asyncio.timeout(30):
                code = await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            code = await self.proc.wait()
        if self._reader is not None:
            await self._reader
        return code


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postmaster(pgdata: Path) -> tuple[int, str]:
    """(pid, socket dir) of the PostgreSQL running on ``pgdata`` (its postmaster.pid)."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return int(lines[0]), lines[4]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_sync(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LIGHTHOUSE, *args], env=dict(env), capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S)
