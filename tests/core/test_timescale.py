"""The TimescaleDB path. Runs where LIGHTHOUSE_TEST_TIMESCALE_DSN points at a TimescaleDB
2.x server (docker compose on a user's machine, a deployment); skips elsewhere.

The DSN's user needs CREATEDB: each run migrates a fresh database and drops it
(the timescale_pool fixture, tests/conftest.py). The same query layer at a frozen clock
just after midnight, on both paths, is in tests/core/test_rollup_clock.py.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from lighthouse.core.storage import rollups
from lighthouse.core.storage.database import detect_mode, migrate

pytestmark = pytest.mark.skipif(
    not os.environ.get("LIGHTHOUSE_TEST_TIMESCALE_DSN"),
    reason="LIGHTHOUSE_TEST_TIMESCALE_DSN is not set (no TimescaleDB server here)",
)

# The columns the rows below fill (check_history has more, e.g. worker_id).
ROW_COLUMNS = ("time", "monitor_id", "ok", "status_code", "latency_ms", "error_code", "error", "details")


async def pause_refresh_policies(pool: asyncpg.Pool) -> None:
    """Stop the aggregates' refresh policies, which TimescaleDB runs as soon as they are
    created: a test that sets up what is materialized must not race them."""
    await pool.execute(
        "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_refresh_continuous_aggregate'"
    )



async def _monitor(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval(
        """
        WITH u AS (INSERT INTO users DEFAULT VALUES RETURNING id)
        INSERT INTO monitors (owner_id, name, type, config, interval_s, tier, next_due)
        SELECT id, 't', 'http', '{}'::jsonb, 60, 'pro', now() FROM u RETURNING id
        """
    ))


async def test_detects_timescaledb_and_builds_hypertable_policies_and_aggregates(
    timescale_pool: asyncpg.Pool,
) -> None:
    ts_pool = timescale_pool
    async with ts_pool.acquire() as conn:
        assert await detect_mode(conn) == "timescaledb"
    assert await migrate(ts_pool) == "timescaledb"
    assert await migrate(ts_pool) == "timescaledb"  # a rerun is a no-op
    hyper = await ts_pool.fetchval(
        "SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = "
        "'check_history'"
    )
    assert hyper == 1
    segment = await ts_pool.fetchval(
        "SELECT attname FROM timescaledb_information.compression_settings "
        "WHERE hypertable_name = 'check_history' AND segmentby_column_index = 1"
    )
    assert segment == "monitor_id"
    jobs = {r["proc_name"] for r in await ts_pool.fetch("SELECT proc_name FROM timescaledb_information.jobs")}
    assert {"policy_compression", "policy_retention", "policy_refresh_continuous_aggregate"} <= jobs
    views = {r["view_name"] for r in await ts_pool.fetch(
        "SELECT view_name FROM timescaledb_information.continuous_aggregates"
    )}
    assert views == {"hourly_metrics", "daily_metrics"}


async def test_one_query_layer_reads_the_continuous_aggregates(timescale_pool: asyncpg.Pool) -> None:
    ts_pool = timescale_pool
    await migrate(ts_pool)
    mid = await _monitor(ts_pool)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rows = [(now - timedelta(minutes=i), mid, i % 10 != 0, 200, 100 + i % 7, None, None, None)
            for i in range(600)]
    await ts_pool.copy_records_to_table("check_history", records=rows, columns=ROW_COLUMNS)
    # As the policies do, whatever the hour: between 00:00 and 01:00 UTC this window holds
    # no whole day, which TimescaleDB refuses ("refresh window too small") for daily_metrics.
    await rollups.refresh_continuous_aggregates(ts_pool, now - timedelta(days=2),
                                                now - timedelta(hours=1))
    assert await ts_pool.fetchval("SELECT count(*) FROM hourly_metrics") >= 8
    [w] = await rollups.uptime_windows(ts_pool, mid, now, periods=("7d",), mode="timescaledb")
    assert w.checks == 600  # real-time aggregates include the unmaterialized tail
    assert w.ok_checks == sum(1 for r in rows if r[2])
    assert w.p50_latency_ms is not None and 90 < w.p50_latency_ms < 120


async def test_refresh_window_with_no_whole_bucket_is_skipped(timescale_pool: asyncpg.Pool) -> None:
    await migrate(timescale_pool)
    await pause_refresh_policies(timescale_pool)
    mid = await _monitor(timescale_pool)
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    await timescale_pool.copy_records_to_table("check_history", records=[
        (midnight - timedelta(minutes=30), mid, True, 200, 50, None, None, None)],
        columns=ROW_COLUMNS)
    # 00:10 to 00:50 the day before yesterday: no whole hour, no whole day.
    start = midnight - timedelta(days=2) + timedelta(minutes=10)
    await rollups.refresh_continuous_aggregates(timescale_pool, start, start + timedelta(minutes=40))
    with pytest.raises(asyncpg.PostgresError, match="refresh window too small"):
        await timescale_pool.execute(
            "CALL refresh_continuous_aggregate('daily_metrics', $1::timestamptz, $2::timestamptz)",
            start, start + timedelta(minutes=40),
        )
    # 23:00 to 00:50: one whole hour (23:00) and still no whole day.
    await rollups.refresh_continuous_aggregates(timescale_pool, midnight - timedelta(hours=1),
                                                midnight + timedelta(minutes=50))
    assert await timescale_pool.fetchval("SELECT sum(checks) FROM hourly_metrics") == 1


async def test_summaries_match_the_raw_rows_whatever_is_materialized(
    timescale_pool: asyncpg.Pool,
) -> None:
    """The query layer reads finished days, finished hours and the raw tail
    (sql/0018_rollup_reads.timescaledb.sql); whichever aggregate lags, each row counts once."""
    pool = timescale_pool
    assert await migrate(pool) == "timescaledb"
    await pause_refresh_policies(pool)
    mid = await _monitor(pool)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rows = [(now - timedelta(minutes=10 * i), mid, i % 13 != 0, 200, 20 + (i * 37) % 400,
             None, None, None) for i in range(10 * 24 * 6)]
    await pool.copy_records_to_table("check_history", records=rows, columns=ROW_COLUMNS)

    def covered(period: str) -> list[tuple[object, ...]]:
        start, end = rollups.period_range(period, now)
        return [r for r in rows if start <= r[0] < end]  # type: ignore[operator]

    async def refresh(view: str, end: datetime) -> None:
        await pool.execute(
            f"CALL refresh_continuous_aggregate('{view}', $1::timestamptz, $2::timestamptz)",
            now - timedelta(days=11), end)

    midnight = now.replace(hour=0, minute=0)
    states = [
        ("nothing materialized", None),
        ("hourly to 3 days ago", ("hourly_metrics", now.replace(minute=0) - timedelta(days=3))),
        ("daily ahead of hourly", ("daily_metrics", midnight)),
        ("both to an hour ago", ("hourly_metrics", now.replace(minute=0) - timedelta(hours=1))),
    ]
    for state, step in states:
        if step is not None:
            await refresh(*step)
        for w in await rollups.uptime_windows(pool, mid, now, mode="timescaledb"):
            want = covered(w.period)
            assert (state, w.period, w.checks, w.ok_checks) == (
                state, w.period, len(want), sum(1 for r in want if r[2]))
            assert w.avg_latency_ms == pytest.approx(sum(r[4] for r in want) / len(want))  # type: ignore[misc]
    assert await pool.fetchval("SELECT count(*) FROM daily_metrics_finished") >= 9
    assert await pool.fetchval("SELECT count(*) FROM check_history_unmaterialized") <= 12
