"""The result write path under hostile data and database faults (issue 17, points 1 and 2).

One target's bad text must never stop the results of every other monitor; a row the
database still refuses is quarantined, not retried forever; history rows survive any
failure until they are written.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from lighthouse.core.checks.base import CheckContext, CheckResult
from lighthouse.core.embedded import EmbeddedPostgres
from lighthouse.core.http_client import make_session
from lighthouse.core.metrics import Metrics
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.scheduler import Scheduler
from lighthouse.core.storage.database import create_pool, migrate
from lighthouse.core.storage.results import Finished, ResultWriter
from lighthouse.core.storage.schedule import claim_due


async def _monitors(pool: asyncpg.Pool, urls: list[str], conditions: list[str] | None = None) -> None:
    owner = await pool.fetchval("INSERT INTO users (tier) VALUES ('enterprise') RETURNING id")
    for i, url in enumerate(urls):
        config: dict[str, object] = {"url": url}
        if conditions:
            config["conditions"] = conditions
        await pool.execute(
            "INSERT INTO monitors (owner_id, name, type, config, target_host, interval_s, tier, "
            "next_due, failure_threshold) VALUES ($1, $2, 'http', $3, '127.0.0.1', 3600, "
            "'enterprise', now() - interval '1 second', 1)",
            owner, f"m{i}", config,
        )


@pytest.fixture
async def hostile_target() -> AsyncIterator[str]:
    """/nul answers text with NUL bytes; /json a JSON body whose string holds \\u0000 and a
    lone surrogate escape; anything else a healthy answer."""

    async def handle(request: web.Request) -> web.Response:
        if request.path == "/nul":
            return web.Response(body=b"ok\x00binary\x00\xff\xfe", content_type="text/plain")
        if request.path == "/json":
            return web.Response(body=b'{"status": "bad\\u0000\\ud800", "k\\u0000": 1}',
                                content_type="application/json")
        return web.Response(text="healthy")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_nul_and_surrogates_from_a_target_never_stop_other_results(
        dsn: str, pool: asyncpg.Pool, hostile_target: str) -> None:
    """The bug: a body with NUL and a failing condition put \\u0000 into the alert's jsonb,
    the state transaction failed, and the same batch was retried forever for everyone."""
    healthy = [f"{hostile_target}/ok{i}" for i in range(40)]
    await _monitors(pool, [f"{hostile_target}/nul", f"{hostile_target}/json", *healthy],
                    conditions=['[BODY] contains "healthy"'])
    metrics = Metrics()
    run_pool = await create_pool(dsn, min_size=1, max_size=5)
    guard = TargetGuard(allow_private=True)
    session = make_session(guard)
    writer = ResultWriter(run_pool, "w", max_delay_s=0.05, metrics=metrics)
    writer.start()
    scheduler = Scheduler(run_pool, CheckContext(session, guard), writer, metrics, worker_id="w",
                          max_concurrency=20, claim_batch=100)
    try:
        async with asyncio.timeout(20):
            while await pool.fetchval("SELECT count(*) FROM check_history") < 42:
                await scheduler.tick()
                await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
        await session.close()
        await run_pool.close()
    assert writer.pending == 0
    rows = await pool.fetch("SELECT m.name, h.ok, h.error, h.details FROM check_history h "
                            "JOIN monitors m ON m.id = h.monitor_id")
    assert len(rows) == 42
    by_name = {r["name"]: r for r in rows}
    assert all(by_name[f"m{i}"]["ok"] for i in range(2, 42))
    assert by_name["m0"]["ok"] is False and by_name["m1"]["ok"] is False
    # Both bad monitors went DOWN with an alert whose payload kept what could be kept.
    alerts = await pool.fetch("SELECT m.name, a.payload FROM alerts a JOIN monitors m "
                              "ON m.id = a.monitor_id ORDER BY m.name")
    assert [a["name"] for a in alerts] == ["m0", "m1"]
    stored = str([a["payload"] for a in alerts]) + str([by_name["m0"]["details"], by_name["m1"]["details"]])
    assert "\x00" not in stored and "\ud800" not in stored
    assert await pool.fetchval("SELECT count(*) FROM alert_outbox") >= 0  # fan-out committed
    assert await pool.fetchval("SELECT count(*) FROM quarantined_results") == 0
    assert writer.quarantined == 0


async def _claims(pool: asyncpg.Pool, n: int) -> list[Finished]:
    await _monitors(pool, [f"http://127.0.0.1:9/{i}" for i in range(n)])
    claims = await claim_due(pool, "w", n)
    at = datetime.now(UTC)
    return [Finished(c, CheckResult(ok=False, latency_ms=5.0, status_code=500, error_code="http_status",
                                    error="HTTP 500"), at, c.config["url"]) for c in claims]


async def test_a_row_the_database_refuses_is_quarantined_and_the_rest_written(
        pool: asyncpg.Pool) -> None:
    """Data cleaning cannot foresee every refusal (here a latency past int4): the batch is
    split until the row is found, it is set aside with its error, everything else lands."""
    items = await _claims(pool, 200)
    poison = items[137]
    poison.result = CheckResult(ok=False, latency_ms=1e13, status_code=500, error_code="x",
                                error="poison \x00 row")
    metrics = Metrics()
    writer = ResultWriter(pool, "w", metrics=metrics)
    for f in items:
        writer.add(f)
    await writer.flush()
    assert writer.pending == 0
    assert await pool.fetchval("SELECT count(*) FROM check_history") == 199
    assert await pool.fetchval("SELECT count(DISTINCT monitor_id) FROM check_history "
                               "WHERE monitor_id <> $1", poison.claim.id) == 199
    assert await pool.fetchval("SELECT count(*) FROM monitors WHERE state = 'down'") == 199
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 199
    q = await pool.fetchrow("SELECT * FROM quarantined_results")
    assert q["monitor_id"] == poison.claim.id and q["stage"] == "history"
    assert "int" in q["error"] and "out of" in q["error"]
    assert "1e+13" in q["result"]["latency_ms"].__repr__() or q["result"]["latency_ms"] == 1e13
    assert "\\x00" in q["result"]["error"]  # the evidence, escaped
    # Its claim was released, so its next check decides again.
    assert await pool.fetchval("SELECT claimed_by FROM monitors WHERE id = $1", poison.claim.id) is None
    assert writer.quarantined == 1
    assert metrics.results_quarantined._value.get() == 1


async def test_history_rows_kept_when_only_the_copy_fails(pool: asyncpg.Pool) -> None:
    """The bug: the state committed, the COPY failed, and the retry list was emptied before
    the retry, so a second failure lost the rows. Now each part is marked on its own."""
    items = await _claims(pool, 30)
    writer = ResultWriter(pool, "w")
    for f in items:
        writer.add(f)
    await pool.execute("ALTER TABLE check_history RENAME TO check_history_away")
    for _ in range(2):  # fails twice: the rows must survive both
        with pytest.raises(asyncpg.exceptions.UndefinedTableError):
            await writer.flush()
        assert writer.pending == 30
    # The state went through once: DOWN with one alert each, never repeated by the retries.
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 30
    await pool.execute("ALTER TABLE check_history_away RENAME TO check_history")
    await writer.flush()
    assert writer.pending == 0
    assert await pool.fetchval("SELECT count(*) FROM check_history") == 30
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 30
    assert await pool.fetchval("SELECT count(*) FROM monitors WHERE state = 'down'") == 30


async def test_no_history_row_lost_while_postgresql_is_stopped() -> None:
    """A real outage: the server stops with results buffered, starts again, and every row
    arrives exactly once through the same pool."""
    path = Path(tempfile.mkdtemp(prefix="lh-outage-", dir="/tmp"))
    pg = EmbeddedPostgres(path)
    try:
        dsn = await pg.start()
        pool = await create_pool(dsn, min_size=1, max_size=4)
        try:
            await migrate(pool)
            items = await _claims(pool, 50)
            writer = ResultWriter(pool, "w")
            await pg.stop()
            for f in items:
                writer.add(f)
            with pytest.raises((OSError, asyncpg.exceptions.PostgresError,
                                asyncpg.exceptions.InterfaceError)):
                await writer.flush()
            assert writer.pending == 50
            await asyncio.sleep(0.1)
            assert writer.stalled_s() > 0
            pg = EmbeddedPostgres(path)
            await pg.start()
            async with asyncio.timeout(30):
                while writer.pending:
                    try:
                        await writer.flush()
                    except (OSError, asyncpg.exceptions.PostgresError, asyncpg.exceptions.InterfaceError):
                        await asyncio.sleep(0.2)
            assert await pool.fetchval("SELECT count(*) FROM check_history") == 50
            assert await pool.fetchval("SELECT count(DISTINCT monitor_id) FROM check_history") == 50
            assert await pool.fetchval("SELECT count(*) FROM alerts") == 50
            assert writer.stalled_s() == 0
        finally:
            await pool.close()
    finally:
        await pg.stop()
        shutil.rmtree(path, ignore_errors=True)


async def test_buffer_is_bounded_and_drops_are_counted(pool: asyncpg.Pool) -> None:
    items = await _claims(pool, 12)
    metrics = Metrics()
    writer = ResultWriter(pool, "w", max_buffered=10, metrics=metrics)
    for f in items:
        writer.add(f)
    assert writer.pending == 10 and writer.dropped == 2
    assert metrics.results_dropped._value.get() == 2
    await writer.flush()
    # The newest ten were kept: the oldest two were dropped.
    written = {r["monitor_id"] for r in await pool.fetch("SELECT monitor_id FROM check_history")}
    assert written == {f.claim.id for f in items[2:]}
