"""The database as scheduler: two schedulers, one database, no duplicate checks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.http_client import make_session
from lighthouse.core.metrics import Metrics
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.scheduler import Scheduler
from lighthouse.core.service import MonitorService
from lighthouse.core.storage.database import create_pool
from lighthouse.core.storage.results import ResultWriter
from lighthouse.core.storage.schedule import claim_due
from targets import Target


async def _make_monitors(pool: asyncpg.Pool, target: Target, n: int, interval: int = 3600) -> None:
    """n monitors owned by enterprise users, all due now."""
    await pool.execute(
        """
        WITH u AS (INSERT INTO users (tier) VALUES ('enterprise') RETURNING id)
        INSERT INTO monitors (owner_id, name, type, config, target_host, interval_s, tier, next_due)
        SELECT u.id, 'm' || g, 'http', jsonb_build_object('url', $1 || '?m=' || g), '127.0.0.1',
               $3, 'enterprise', now() - interval '1 second'
        FROM u, generate_series(1, $2) g
        """,
        target.url, n, interval,
    )


class Stack:
    def __init__(self, dsn: str, name: str) -> None:
        self.dsn, self.name = dsn, name

    async def __aenter__(self) -> Scheduler:
        self.pool = await create_pool(self.dsn, min_size=1, max_size=5)
        guard = TargetGuard(allow_private=True)
        self.session = make_session(guard)
        self.writer = ResultWriter(self.pool, self.name, max_delay_s=0.05)
        self.writer.start()
        self.scheduler = Scheduler(
            self.pool, CheckContext(self.session, guard), self.writer, Metrics(),
            worker_id=self.name, max_concurrency=50, claim_batch=20,
        )
        return self.scheduler

    async def __aexit__(self, *exc: object) -> None:
        await self.scheduler.stop()
        await self.session.close()
        await self.pool.close()


async def test_two_schedulers_share_work_without_duplicates(dsn: str, pool: asyncpg.Pool,
                                                            target: Target) -> None:
    n = 400
    await _make_monitors(pool, target, n)
    async with Stack(dsn, "alpha") as a, Stack(dsn, "beta") as b:
        async with asyncio.timeout(30):
            while await pool.fetchval("SELECT count(*) FROM check_history") < n:
                await asyncio.gather(a.tick(), b.tick())
                await asyncio.sleep(0.02)
        # Everything is claimed and not due for an hour: more ticks claim nothing.
        assert await a.tick() == 0 and await b.tick() == 0
    per_monitor = await pool.fetch(
        "SELECT monitor_id, count(*) AS n FROM check_history GROUP BY monitor_id"
    )
    assert len(per_monitor) == n
    assert {r["n"] for r in per_monitor} == {1}
    assert target.hits == n
    assert a.checks_run + b.checks_run == n
    assert a.checks_run > 0 and b.checks_run > 0, "both schedulers should have taken work"
    # Healthy results leave their claim to run out no later than the next due time.
    assert await pool.fetchval("SELECT count(*) FROM monitors WHERE claimed_until > next_due") == 0


async def test_next_due_advances_by_whole_intervals_without_catch_up(pool: asyncpg.Pool,
                                                                     target: Target) -> None:
    await _make_monitors(pool, target, 1, interval=60)
    # Ten minutes of downtime: one claim, and next_due lands in the future on the same phase.
    await pool.execute("UPDATE monitors SET next_due = now() - interval '605 seconds'")
    before = await pool.fetchval("SELECT next_due FROM monitors")
    claims = await claim_due(pool, "w", 10)
    assert len(claims) == 1
    after, now = await pool.fetchrow("SELECT next_due, now() FROM monitors")
    assert after > now
    steps = (after - before) / timedelta(seconds=60)
    assert steps == round(steps) and steps == 11
    await pool.execute("UPDATE monitors SET claimed_until = now() - interval '1 second'")
    assert await claim_due(pool, "w", 10) == []  # not due again yet


async def test_paused_monitors_are_never_claimed(pool: asyncpg.Pool, target: Target) -> None:
    await _make_monitors(pool, target, 3)
    await pool.execute("UPDATE monitors SET state = 'paused' WHERE name <> 'm1'")
    claims = await claim_due(pool, "w", 10)
    assert [c.name for c in claims] == ["m1"]


async def test_expired_lease_is_reclaimed(pool: asyncpg.Pool, target: Target) -> None:
    await _make_monitors(pool, target, 1)
    [first] = await claim_due(pool, "dead-worker", 10)
    # The worker died mid-check; its lease runs out and the monitor is due again.
    await pool.execute(
        "UPDATE monitors SET claimed_until = now() - interval '1 second', next_due = now()"
    )
    [again] = await claim_due(pool, "live-worker", 10)
    assert again.id == first.id
    assert await pool.fetchval("SELECT claimed_by FROM monitors") == "live-worker"


async def test_state_survives_restart_without_repaging(dsn: str, pool: asyncpg.Pool,
                                                       target: Target) -> None:
    svc = MonitorService(pool, TargetGuard(True))
    who = Identity(Provider.API, "restart")
    await svc.ensure_user(who)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    m = await svc.create_monitor(who, config={"url": target.url}, interval_s=30)
    target.status = 500
    for round_ in range(5):  # each round is a fresh process: new pool, new scheduler
        await pool.execute("UPDATE monitors SET next_due = now() - interval '1 ms'")
        async with Stack(dsn, f"proc{round_}") as s:
            async with asyncio.timeout(10):
                while s.checks_run < 1:
                    await s.tick()
                    await asyncio.sleep(0.01)
    row = await pool.fetchrow("SELECT state, consecutive_failures FROM monitors WHERE id=$1", m.id)
    assert (row["state"], row["consecutive_failures"]) == ("down", 5)
    kinds = [r["alert_type"] for r in await pool.fetch("SELECT alert_type FROM alerts")]
    assert kinds == ["downtime"], "restarts must neither re-page nor forget the incident"


async def test_healthy_results_do_not_rewrite_the_monitor_row(dsn: str, pool: asyncpg.Pool,
                                                              target: Target) -> None:
    svc = MonitorService(pool, TargetGuard(True))
    who = Identity(Provider.API, "healthy")
    await svc.ensure_user(who)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    m = await svc.create_monitor(who, config={"url": target.url}, interval_s=30)
    await pool.execute("UPDATE monitors SET state = 'up'")
    versions = []
    async with Stack(dsn, "solo") as s:
        for n in (1, 2):
            # Time travel: make it due now (the lease ends at the due time by construction).
            await pool.execute("UPDATE monitors SET next_due = now() - interval '1 ms', "
                               "claimed_until = now() - interval '1 ms'")
            async with asyncio.timeout(10):
                while s.checks_run < n:
                    await s.tick()
                    await asyncio.sleep(0.01)
            await s._writer.flush()
            versions.append(await pool.fetchrow(
                "SELECT state_version, last_check_at, claimed_until <= next_due AS lease_ok "
                "FROM monitors"))
    assert [v["state_version"] for v in versions] == [0, 0]  # no state write at all
    assert all(v["lease_ok"] for v in versions)
    assert versions[1]["last_check_at"] is None  # the row keeps no per-check data ...
    fresh = await svc.get_monitor(who, str(m.public_id))
    latest = await pool.fetchval("SELECT max(time) FROM check_history")
    assert fresh.last_check_at == latest and fresh.last_ok is True  # ... the read layer does
    assert target.hits == 2
