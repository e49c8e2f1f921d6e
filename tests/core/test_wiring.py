"""Explicit wiring: the runtime lists what a process runs, and adapters cannot add to it.

Adapters (api/, bot/) import lighthouse/wiring.py, never lighthouse/runtime.py, so the
dependency points runtime -> adapters; importing an adapter registers nothing.
"""

from __future__ import annotations

import ast
import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import pytest
from aiohttp import web
from lighthouse.core.alerts.channels.base import Delivery, DeliveryResult, Outcome
from lighthouse.core.settings import Settings

from lighthouse.runtime import (
    DeliveryComponent,
    HttpServers,
    Role,
    build_adapters,
    open_core,
    serve,
)
from lighthouse.wiring import Core

ROOT = Path(__file__).resolve().parents[2]
ADAPTER_MODULES = ("lighthouse.api.routes", "lighthouse.api.heartbeat", "lighthouse.bot.components")
UNKNOWN_TOKEN = "x" * 32  # shaped like a ping token, registered nowhere


def _settings(dsn: str, redis_url: str, tmp: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": dsn, "REDIS_URL": redis_url, "API_HOST": "127.0.0.1",
        "LIGHTHOUSE_DATA_DIR": str(tmp), "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS": True, **extra,
    }
    return Settings(**values)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports in functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _paths(http: HttpServers) -> set[str]:
    app = web.Application(middlewares=http.middlewares)
    for hook in http.hooks:
        hook(app)
    return {r.resource.canonical for r in app.router.routes() if r.resource is not None}


def test_adapters_never_import_the_runtime() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path)
                                            if m == "lighthouse.runtime")
        for folder in ("api", "bot", "core") for path in (ROOT / folder).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) > 40  # the scan saw the packages
    # The shared contract depends on neither side, or the arrow would point back.
    shared = imported_modules(ROOT / "lighthouse" / "wiring.py")
    assert not {m for m in shared if m.startswith(("lighthouse.runtime", "lighthouse.api",
                                                   "lighthouse.bot"))}


def test_importing_the_adapters_registers_nothing(tmp_path: Path) -> None:
    """In a fresh interpreter (this one has imported everything already): importing every
    adapter leaves the runtime unloaded, and the runtime's module state the same."""
    script = f"""
import json, sys
for name in {ADAPTER_MODULES!r}:
    __import__(name)
loaded_by_adapters = "lighthouse.runtime" in sys.modules
import lighthouse.runtime as runtime
def state():
    return {{k: repr(v) for k, v in vars(runtime).items() if not k.startswith("__")}}
before = state()
for name in {ADAPTER_MODULES!r}:
    sys.modules.pop(name)
    __import__(name)
print(json.dumps({{"loaded_by_adapters": loaded_by_adapters, "changed": state() != before}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True, cwd=tmp_path)
    assert json.loads(out.stdout.splitlines()[-1]) == {"loaded_by_adapters": False,
                                                      "changed": False}


@pytest.fixture
async def core(dsn: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Core]:
    settings = _settings(dsn, redis_url, tmp_path, DISCORD_BOT_TOKEN="not-used",
                         TELEGRAM_BOT_TOKEN="123:not-used")
    async with open_core(settings) as c:
        yield c


async def test_checks_get_the_database_through_their_context(core: Core) -> None:
    assert core.check_context.pool is core.pool


@pytest.mark.parametrize(("role", "names", "bots", "paths"), [
    ("worker", [], [], set()),
    # The bots run behind the leader lease: in one process of all that share the database.
    ("all", ["x402-reconciler", "leader:chat"], ["discord", "telegram"],
     {"/v1/pricing", "/ping/{token}", "/ping/{token}/{kind}", "/health/chat"}),
])
async def test_the_runtime_builds_what_the_role_lists(core: Core, role: Role, names: list[str],
                                                     bots: list[str], paths: set[str]) -> None:
    """Nothing is started: building the adapters only collects components and routes."""
    http, delivery = HttpServers(core), DeliveryComponent(core)
    made = build_adapters(core, http, delivery, role)
    assert [c.name for c in made] == names
    assert [p.name for c in made for p in getattr(c, "parts", [])] == bots
    assert paths <= _paths(http)
    if role == "worker":
        assert http.hooks == [] and http.middlewares == []


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as r:
        return r.status, await r.text()


@pytest.mark.parametrize(("role", "stops"), [
    # Started: delivery, scheduler, then (adapters built) http, adapters; stopped in reverse.
    ("worker", ["http", "scheduler", "delivery"]),
    ("all", ["x402-reconciler", "http", "scheduler", "delivery"]),
])
async def test_a_role_serves_its_routes_and_stops_in_reverse(
    dsn: str, redis_url: str, tmp_path: Path, make_free_port: Any, role: Role,
    stops: list[str], caplog: pytest.LogCaptureFixture,
) -> None:
    port, metrics_port = make_free_port(), make_free_port()
    settings = _settings(dsn, redis_url, tmp_path, API_PORT=port, METRICS_PORT=metrics_port)
    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="lighthouse")
    run = asyncio.create_task(serve(settings, role, stop=stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(15):
                while True:
                    try:
                        if (await _get(session, f"{base}/health"))[0] == 200:
                            break
                    except aiohttp.ClientConnectionError:
                        pass
                    await asyncio.sleep(0.05)
            metrics = await _get(session, f"http://127.0.0.1:{metrics_port}/metrics")
            assert metrics[0] == 200
            pricing = await _get(session, f"{base}/v1/pricing")
            ping = await _get(session, f"{base}/ping/{UNKNOWN_TOKEN}")
    finally:
        stop.set()
        async with asyncio.timeout(30):
            code = await run
    assert code == 0
    if role == "worker":
        assert pricing[0] == 404 and ping == (404, "404: Not Found")  # no such routes
    else:
        # The ping handler's own answer, in the API's error shape.
        assert pricing[0] == 200 and ping[0] == 404 and '"code": "not_found"' in ping[1]
    stopped = [r.component for r in caplog.records if r.getMessage() == "stopped"]  # type: ignore[attr-defined]
    assert stopped == stops


def test_the_service_never_aims_discord_py() -> None:
    """discord.py's endpoints are process-wide class attributes: only test code
    (tests/standins/discord_api.py) may set them, never the service."""
    sources = [p for folder in ("api", "bot", "core", "lighthouse") for p in (ROOT / folder).rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in sources
                 if any(attr in p.read_text(encoding="utf-8")
                        for attr in ("Route.BASE", "DEFAULT_GATEWAY"))]
    assert offenders == []
    assert len(sources) > 40


class _BotChannel:
    """Stands for a channel a bot registers once logged in (Telegram, Discord DMs)."""

    kind: ClassVar[str] = "telegram"

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        return DeliveryResult(Outcome.DELIVERED)


async def test_a_bot_that_stops_takes_its_channels_off_the_delivery_worker(core: Core) -> None:
    """A process that steps down as chat leader no longer claims the bots' deliveries."""
    delivery = DeliveryComponent(core)
    await delivery.start()
    try:
        assert delivery.worker is not None
        own = set(delivery.worker.channels)
        delivery.register(_BotChannel())
        assert "telegram" in delivery.worker.channels
        await delivery.unregister_adapters()
        assert set(delivery.worker.channels) == own and own
    finally:
        await delivery.stop()
