"""The scheduler's caps hold with claims queued ahead: at most max_concurrency checks at
once, at most per_host_concurrency on one host, every claim run once, and a stop
releases what was queued and never started."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from aiohttp import web
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.http_client import make_session
from lighthouse.core.metrics import Metrics
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.scheduler import Scheduler
from lighthouse.core.storage.database import create_pool
from lighthouse.core.storage.results import ResultWriter

HOSTS = ("127.0.0.1", "127.0.0.2")


class SlowTargets:
    """One aiohttp app on two loopback addresses, answering after ``delay`` s and counting
    the requests open at once, per host and in all."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.open: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.total_open = self.total_peak = 0
        self.hits = 0

    async def handle(self, request: web.Request) -> web.Response:
        host = request.host.split(":")[0]
        self.open[host] += 1
        self.total_open += 1
        self.peak[host] = max(self.peak[host], self.open[host])
        self.total_peak = max(self.total_peak, self.total_open)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.open[host] -= 1
            self.total_open -= 1
            self.hits += 1
        return web.json_response({"ok": True})


async def _serve(targets: SlowTargets) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_get("/{tail:.*}", targets.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, HOSTS[0], 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await web.TCPSite(runner, HOSTS[1], port).start()
    return runner, port


async def _monitors(pool: asyncpg.Pool, port: int, per_host: int) -> None:
    await pool.execute(
        """
        WITH u AS (INSERT INTO users (tier) VALUES ('enterprise') RETURNING id)
        INSERT INTO monitors (owner_id, name, type, config, target_host, interval_s, tier, next_due)
        SELECT u.id, 'm' || h || '-' || g, 'http',
               jsonb_build_object('url', 'http://' || h || ':' || $1 || '/m' || g), h,
               3600, 'enterprise', now() - interval '1 second'
        FROM u, unnest($2::text[]) h, generate_series(1, $3) g
        """,
        str(port), list(HOSTS), per_host,
    )


@asynccontextmanager
async def _running(dsn: str, pool: asyncpg.Pool, delay: float, per_host: int,
                   **caps: int) -> AsyncIterator[tuple[Scheduler, SlowTargets]]:
    """Slow targets, ``per_host`` monitors on each host, and a scheduler with ``caps``,
    stopped (again, if the test did) and torn down on exit."""
    targets = SlowTargets(delay)
    runner, port = await _serve(targets)
    await _monitors(pool, port, per_host)
    own_pool = await create_pool(dsn, min_size=1, max_size=5)
    guard = TargetGuard(allow_private=True)
    session = make_session(guard)
    writer = ResultWriter(own_pool, "caps", max_delay_s=0.05)
    writer.start()
    scheduler = Scheduler(own_pool, CheckContext(session, guard), writer, Metrics(),
                          worker_id="caps", **caps)
    try:
        yield scheduler, targets
    finally:
        await scheduler.stop()
        await session.close()
        await own_pool.close()
        await runner.cleanup()


async def test_caps_hold_with_claims_queued_ahead(dsn: str, pool: asyncpg.Pool) -> None:
    async with _running(dsn, pool, delay=0.05, per_host=30, max_concurrency=5,
                        per_host_concurrency=3, claim_batch=20, claim_ahead=20
                        ) as (scheduler, targets):
        async with asyncio.timeout(30):
            while scheduler.checks_run < 60:
                await scheduler.tick()
                # claims beyond the running ones wait as claims, not as tasks
                assert len(scheduler._in_flight) <= 5
                await asyncio.sleep(0.01)
    assert targets.total_peak == 5  # the global cap, and it was reached
    assert max(targets.peak.values()) <= 3  # the per-host cap
    counts = await pool.fetch("SELECT monitor_id, count(*) AS n FROM check_history GROUP BY 1")
    assert len(counts) == 60 and {r["n"] for r in counts} == {1}
    assert targets.hits == 60


async def test_stop_releases_queued_claims(dsn: str, pool: asyncpg.Pool) -> None:
    async with _running(dsn, pool, delay=0.3, per_host=10, max_concurrency=2,
                        per_host_concurrency=2, claim_batch=20, claim_ahead=20
                        ) as (scheduler, _targets):
        assert await scheduler.tick() == 20
        assert scheduler.in_flight == 20 and len(scheduler._in_flight) == 2
        await asyncio.sleep(0.05)
        await scheduler.stop(grace_s=5)
        assert scheduler.in_flight == 0
    # the two started finished within the grace; the 18 queued were given back, due now
    assert await pool.fetchval("SELECT count(*) FROM check_history") == 2
    assert await pool.fetchval(
        "SELECT count(*) FROM monitors WHERE claimed_by IS NULL AND next_due <= now()") == 18


async def test_stop_releases_claims_waiting_for_a_host_slot(dsn: str, pool: asyncpg.Pool) -> None:
    """A worker that holds a claim and waits for its host's slot has not started it: the
    stop gives the running checks their grace and releases the waiting claims, even when
    a slot frees during the grace."""
    async with _running(dsn, pool, delay=0.4, per_host=5, max_concurrency=6,
                        per_host_concurrency=1, claim_batch=10, claim_ahead=0
                        ) as (scheduler, targets):
        assert await scheduler.tick() == 6
        for _ in range(500):  # until one check runs on each host (5 s at most)
            if targets.total_open >= 2:
                break
            await asyncio.sleep(0.01)
        assert len(scheduler._in_flight) == 6 and len(scheduler._started) == 2
        await scheduler.stop(grace_s=5)
        assert scheduler.in_flight == 0
    assert targets.hits == 2
    assert await pool.fetchval("SELECT count(*) FROM check_history") == 2
    # the four that waited are due again at once, like the four never claimed
    assert await pool.fetchval(
        "SELECT count(*) FROM monitors WHERE claimed_by IS NULL AND next_due <= now()") == 8
