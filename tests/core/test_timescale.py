"""The TimescaleDB path. Runs where LIGHTHOUSE_TEST_TIMESCALE_DSN points at a TimescaleDB
2.x server (docker compose on a user's machine, a deployment); skips elsewhere.

The DSN's user needs CREATEDB: each run migrates a fresh database and drops it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from lighthouse.core.storage import rollups
from lighthouse.core.storage.database import create_pool, detect_mode, migrate

TS_DSN = os.environ.get("LIGHTHOUSE_TEST_TIMESCALE_DSN")
pytestmark = pytest.mark.skipif(
    not TS_DSN, reason="LIGHTHOUSE_TEST_TIMESCALE_DSN is not set (no TimescaleDB server here)"
)

# The columns the rows below fill (check_history has more, e.g. worker_id).
ROW_COLUMNS = ("time", "monitor_id", "ok", "status_code", "latency_ms", "error_code", "error", "details")


def _with_db(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
async def ts_pool() -> AsyncIterator[asyncpg.Pool]:
    assert TS_DSN
    name = f"lh_ts_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(TS_DSN)
    await admin.execute(f"CREATE DATABASE {name}")
    pool = await create_pool(_with_db(TS_DSN, name), min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


async def test_detects_timescaledb_and_builds_hypertable_policies_and_aggregates(
    ts_pool: asyncpg.Pool,
) -> None:
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


async def test_one_query_layer_reads_the_continuous_aggregates(ts_pool: asyncpg.Pool) -> None:
    await migrate(ts_pool)
    mid = await ts_pool.fetchval(
        """
        WITH u AS (INSERT INTO users DEFAULT VALUES RETURNING id)
        INSERT INTO monitors (owner_id, name, type, config, interval_s, tier, next_due)
        SELECT id, 't', 'http', '{}'::jsonb, 60, 'pro', now() FROM u RETURNING id
        """
    )
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rows = [(now - timedelta(minutes=i), mid, i % 10 != 0, 200, 100 + i % 7, None, None, None)
            for i in range(600)]
    await ts_pool.copy_records_to_table("check_history", records=rows, columns=ROW_COLUMNS)
    for view in ("hourly_metrics", "daily_metrics"):
        await ts_pool.execute(
            f"CALL refresh_continuous_aggregate('{view}', $1::timestamptz, $2::timestamptz)",
            now - timedelta(days=2), now - timedelta(hours=1),
        )
    [w] = await rollups.uptime_windows(ts_pool, mid, now, periods=("7d",), mode="timescaledb")
    assert w.checks == 600  # real-time aggregates include the unmaterialized tail
    assert w.ok_checks == sum(1 for r in rows if r[2])
    assert w.p50_latency_ms is not None and 90 < w.p50_latency_ms < 120
