"""Plain-mode rollups, the query layer, retention and once-per-tick housekeeping."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime, timedelta

import asyncpg
from lighthouse.core.housekeeping import Housekeeper
from lighthouse.core.storage import rollups

NOW = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)

# The columns the rows below fill (check_history has more, e.g. worker_id).
ROW_COLUMNS = ("time", "monitor_id", "ok", "status_code", "latency_ms", "error_code", "error", "details")


async def _monitor(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval(
        """
        WITH u AS (INSERT INTO users DEFAULT VALUES RETURNING id)
        INSERT INTO monitors (owner_id, name, type, config, interval_s, tier, next_due)
        SELECT id, 'r', 'http', '{}'::jsonb, 60, 'pro', now() FROM u RETURNING id
        """
    ))


async def _fill(pool: asyncpg.Pool, mid: int, minutes: int, seed: int = 1) -> list[tuple]:
    rnd = random.Random(seed)
    rows = []
    for i in range(minutes):
        t = NOW - timedelta(minutes=i)
        ok = rnd.random() > 0.02
        latency = int(rnd.lognormvariate(4.5, 0.6))  # ~90 ms median, long tail
        rows.append((t, mid, ok, 200 if ok else 500, latency, None, None, None))
    await pool.copy_records_to_table("check_history", records=rows, columns=ROW_COLUMNS)
    return rows


async def test_uptime_windows_match_raw_data(pool: asyncpg.Pool) -> None:
    mid = await _monitor(pool)
    rows = await _fill(pool, mid, 3 * 24 * 60)
    await rollups.refresh_hourly(pool, NOW - timedelta(days=4), NOW + timedelta(hours=1))
    await rollups.refresh_daily(pool, NOW - timedelta(days=4), NOW + timedelta(days=1))
    [w24, w7] = await rollups.uptime_windows(pool, mid, NOW, periods=("24h", "7d"))
    # 24 h from hourly buckets: the 25 buckets whose start lies in [now-24h, now]
    hourly_start = NOW - timedelta(hours=24)
    in24 = [r for r in rows if r[0].replace(minute=0, second=0, microsecond=0) >= hourly_start]
    assert w24.checks == len(in24)
    assert w24.ok_checks == sum(1 for r in in24 if r[2])
    assert w7.checks == len(rows) and w7.ok_checks == sum(1 for r in rows if r[2])
    exact_p95 = statistics.quantiles([r[4] for r in rows], n=100)[94]
    assert w7.p95_latency_ms is not None
    assert abs(math.log(w7.p95_latency_ms / exact_p95)) < 0.11  # one histogram bucket
    exact_avg = statistics.fmean(r[4] for r in rows)
    assert w7.avg_latency_ms is not None and abs(w7.avg_latency_ms - exact_avg) < 0.01
    [w30] = await rollups.uptime_windows(pool, mid, NOW, periods=("30d",))
    assert (w30.checks, w30.ok_checks) == (w7.checks, w7.ok_checks)


async def test_no_data_is_not_uptime(pool: asyncpg.Pool) -> None:
    mid = await _monitor(pool)
    [w] = await rollups.uptime_windows(pool, mid, NOW, periods=("24h",))
    assert (w.checks, w.uptime, w.p50_latency_ms) == (0, None, None)


async def test_hourly_refresh_is_idempotent(pool: asyncpg.Pool) -> None:
    mid = await _monitor(pool)
    await _fill(pool, mid, 120)
    for _ in range(2):
        await rollups.refresh_hourly(pool, NOW - timedelta(hours=3), NOW + timedelta(hours=1))
    total = await pool.fetchval("SELECT sum(checks) FROM hourly_metrics WHERE monitor_id=$1", mid)
    assert total == 120


async def test_retention_deletes_only_expired_rows(pool: asyncpg.Pool) -> None:
    mid = await _monitor(pool)
    old = [(NOW - timedelta(days=91, minutes=i), mid, True, 200, 5, None, None, None)
           for i in range(300)]
    fresh = [(NOW - timedelta(days=89, minutes=i), mid, True, 200, 5, None, None, None)
             for i in range(10)]
    await pool.copy_records_to_table("check_history", records=old + fresh, columns=ROW_COLUMNS)
    deleted = await rollups.delete_expired(pool, NOW)
    assert deleted == 300
    assert await pool.fetchval("SELECT count(*) FROM check_history") == 10


async def test_housekeeping_runs_once_per_tick_across_processes(pool: asyncpg.Pool) -> None:
    a = Housekeeper(pool, "plain", "a")
    b = Housekeeper(pool, "plain", "b")
    ran_a = await a.run_due(NOW)
    ran_b = await b.run_due(NOW)
    assert ran_a == ["rollup_hourly", "rollup_daily", "retention"] and ran_b == []
    later = await b.run_due(NOW + timedelta(minutes=5))
    assert later == ["rollup_hourly"]
