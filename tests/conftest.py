"""Shared fixtures: a real PostgreSQL and a real Redis, started once per test session.

Every test gets its own database, cloned from a migrated template (a few ms), and a
flushed Redis. Targets are real aiohttp servers on 127.0.0.1.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.embedded import EmbeddedPostgres, EmbeddedRedis
from lighthouse.core.http_client import make_session
from lighthouse.core.metrics import Metrics
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService
from lighthouse.core.storage.database import create_pool, migrate
from targets import Target

TEMPLATE = "lh_template"
# A TimescaleDB 2.x server for the TimescaleDB-mode tests (tests/core/test_timescale.py);
# they skip without it. Its user needs CREATEDB: each test gets a fresh database.
TIMESCALE_DSN = os.environ.get("LIGHTHOUSE_TEST_TIMESCALE_DSN")
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    # Not under a home directory: pgserver opens the parents of its data dir when root.
    path = Path(tempfile.mkdtemp(prefix="lh-test-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
async def pg_server(data_dir: Path) -> AsyncIterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(data_dir)
    await server.start()
    admin = await asyncpg.connect(server.dsn("postgres"))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
        await admin.execute(f"CREATE DATABASE {TEMPLATE}")
    finally:
        await admin.close()
    pool = await create_pool(server.dsn(TEMPLATE), min_size=1, max_size=2)
    try:
        await migrate(pool)
    finally:
        await pool.close()
    yield server
    await server.stop()


@pytest.fixture
async def dsn(pg_server: EmbeddedPostgres) -> AsyncIterator[str]:
    name = f"t{os.getpid()}_{next(_db_counter)}"
    admin = await asyncpg.connect(pg_server.dsn("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    finally:
        await admin.close()
    yield pg_server.dsn(name)
    admin = await asyncpg.connect(pg_server.dsn("postgres"))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(dsn, min_size=1, max_size=10)
    yield p
    await p.close()


@pytest.fixture
async def timescale_pool() -> AsyncIterator[asyncpg.Pool]:
    """A fresh, empty database on the TimescaleDB server (not migrated: tests do that)."""
    if not TIMESCALE_DSN:
        pytest.skip("LIGHTHOUSE_TEST_TIMESCALE_DSN is not set (no TimescaleDB server here)")
    name = f"lh_ts_{os.getpid()}_{next(_db_counter)}"
    admin = await asyncpg.connect(TIMESCALE_DSN)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        pool = await create_pool(urlunsplit(urlsplit(TIMESCALE_DSN)._replace(path=f"/{name}")),
                                 min_size=1, max_size=4)
        try:
            yield pool
        finally:
            await pool.close()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


@pytest.fixture(scope="session")
async def redis_url(data_dir: Path) -> AsyncIterator[str]:
    server = EmbeddedRedis(data_dir / "redis")
    url = await server.start()
    yield url
    await server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
def guard() -> TargetGuard:
    return TargetGuard(allow_private=True)


@pytest.fixture
async def check_context(guard: TargetGuard) -> AsyncIterator[CheckContext]:
    session = make_session(guard)
    yield CheckContext(session=session, guard=guard)
    await session.close()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def service(pool: asyncpg.Pool, guard: TargetGuard, check_context: CheckContext) -> MonitorService:
    return MonitorService(pool, guard, check_context)


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    t = Target()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", t.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    t.port = runner.addresses[0][1]
    yield t
    await runner.cleanup()


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def make_free_port() -> Any:
    return free_port
