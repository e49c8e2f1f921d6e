"""Uptime summaries at a frozen clock just after midnight UTC, on both storage paths.

Midnight is where the rollups are least complete: TimescaleDB's daily aggregate has not
materialized yesterday yet (its policy waits for a whole day before now - 1 hour), and
plain mode's daily row for yesterday is only final once housekeeping has run after
00:00. Whatever is or is not materialized, the figures must be those of the raw rows.

The clock is frozen at 00:05 UTC yesterday: in the past whatever the hour the suite runs
at, and recent enough that TimescaleDB's retention and compression leave the rows alone.
"""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from lighthouse.core.housekeeping import Housekeeper
from lighthouse.core.storage import rollups
from lighthouse.core.storage.database import StorageMode, migrate

FROZEN = (datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
          - timedelta(days=1) + timedelta(minutes=5))
MIDNIGHT = FROZEN.replace(minute=0)
Row = tuple[datetime, int, bool, int, int, None, None, None]


@pytest.fixture(params=["plain", "timescaledb"])
def history(request: pytest.FixtureRequest) -> tuple[asyncpg.Pool, StorageMode]:
    """A migrated database of each mode (TimescaleDB's skips without a server)."""
    if request.param == "plain":
        return request.getfixturevalue("pool"), "plain"
    return request.getfixturevalue("timescale_pool"), "timescaledb"


async def _timescale_ready(pool: asyncpg.Pool) -> None:
    assert await migrate(pool) == "timescaledb"
    # TimescaleDB runs the refresh policies as soon as they exist: this test decides
    # what is materialized.
    await pool.execute(
        "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_refresh_continuous_aggregate'"
    )


async def _fill(pool: asyncpg.Pool, minutes: int) -> tuple[int, list[Row]]:
    mid = int(await pool.fetchval(
        """
        WITH u AS (INSERT INTO users DEFAULT VALUES RETURNING id)
        INSERT INTO monitors (owner_id, name, type, config, interval_s, tier, next_due)
        SELECT id, 'c', 'http', '{}'::jsonb, 60, 'pro', now() FROM u RETURNING id
        """
    ))
    rnd = random.Random(7)
    rows: list[Row] = []
    for i in range(minutes):  # one a minute, the last at 00:04:30
        ok = rnd.random() > 0.03
        rows.append((FROZEN - timedelta(seconds=30, minutes=i), mid, ok, 200 if ok else 500,
                     int(rnd.lognormvariate(4.5, 0.6)), None, None, None))
    await pool.copy_records_to_table("check_history", records=rows, columns=(
        "time", "monitor_id", "ok", "status_code", "latency_ms", "error_code", "error", "details"))
    return mid, rows


def _expected(rows: list[Row], period: str) -> list[Row]:
    """The rows a period covers, by the bucket rule the query layer documents: buckets
    starting at or after FROZEN minus the span, through the one holding FROZEN."""
    span, table = rollups.PERIODS[period]

    def bucket(t: datetime) -> datetime:
        t = t.replace(minute=0, second=0, microsecond=0)
        return t.replace(hour=0) if table == "daily_metrics" else t

    return [r for r in rows if FROZEN - span <= bucket(r[0]) <= FROZEN]


async def _materialize_as_scheduled(pool: asyncpg.Pool, mode: StorageMode) -> None:
    """Bring the rollups to the state their schedules leave at FROZEN."""
    if mode == "plain":
        # Housekeeping every hour for the last four days, the last run at FROZEN
        # (core/housekeeping.py: rollups of the last 2 hours and the last 2 days).
        keeper = Housekeeper(pool, "plain", "clock-test")
        for h in range(4 * 24, -1, -1):
            await keeper.run_due(FROZEN - timedelta(hours=h))
    else:
        # The policies' last runs before FROZEN (sql/0002_history.timescaledb.sql): hourly
        # over 3 days to 1 hour before, daily over 7 days to 1 hour before; and the window
        # tests/core/test_timescale.py used to refresh by hand, 2 days to 1 hour before,
        # which holds no whole day at 00:05 (TimescaleDB refuses it: "refresh window too
        # small").
        for days in (3, 7, 2):
            await rollups.refresh_continuous_aggregates(
                pool, FROZEN - timedelta(days=days), FROZEN - timedelta(hours=1))


async def test_summaries_just_after_midnight_match_the_raw_rows(
    history: tuple[asyncpg.Pool, StorageMode],
) -> None:
    pool, mode = history
    if mode == "timescaledb":
        await _timescale_ready(pool)
    mid, rows = await _fill(pool, 4 * 24 * 60)
    await _materialize_as_scheduled(pool, mode)

    if mode == "plain":
        # Yesterday's daily row is final: the run at FROZEN rolled up 23:00-24:00 first.
        day = await pool.fetchval(
            "SELECT checks FROM daily_metrics WHERE monitor_id = $1 AND bucket = $2",
            mid, MIDNIGHT - timedelta(days=1))
        assert day == sum(1 for r in rows if MIDNIGHT - timedelta(days=1) <= r[0] < MIDNIGHT)

    windows = await rollups.uptime_windows(pool, mid, FROZEN, mode=mode)
    assert [w.period for w in windows] == list(rollups.PERIODS)
    for w in windows:
        covered = _expected(rows, w.period)
        assert (w.period, w.checks, w.ok_checks) == (
            w.period, len(covered), sum(1 for r in covered if r[2]))
        assert w.avg_latency_ms is not None
        assert w.avg_latency_ms == pytest.approx(statistics.fmean(r[4] for r in covered))
        exact_p95 = statistics.quantiles([r[4] for r in covered], n=100)[94]
        assert w.p95_latency_ms is not None
        assert abs(math.log(w.p95_latency_ms / exact_p95)) < 0.11  # one histogram bucket
    # 24 h at 00:05 is 23 whole hours and five minutes of today; 30 d is everything.
    assert windows[0].checks == 23 * 60 + 5 and windows[2].checks == len(rows)
