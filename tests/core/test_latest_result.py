"""The latest result shown with a monitor, on both storage paths (TimescaleDB's skips
without LIGHTHOUSE_TEST_TIMESCALE_DSN).

Healthy checks do not rewrite their monitor's row, so the read layer finds the latest
result in check_history (core/storage/monitors.py): first in the recent window, then, for
a monitor with nothing there, between the check that last wrote its row and that window.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from lighthouse.core.storage import monitors
from lighthouse.core.storage.database import StorageMode, migrate

ROW_COLUMNS = ("time", "monitor_id", "ok", "status_code", "latency_ms", "error_code", "error",
               "details")
DAYS = 10


@pytest.fixture(params=["plain", "timescaledb"])
def history(request: pytest.FixtureRequest) -> tuple[asyncpg.Pool, StorageMode]:
    """A database of each mode; TimescaleDB's is migrated by the test."""
    if request.param == "plain":
        return request.getfixturevalue("pool"), "plain"
    return request.getfixturevalue("timescale_pool"), "timescaledb"


async def _monitors(pool: asyncpg.Pool, names: list[str]) -> tuple[int, dict[str, int]]:
    rows = await pool.fetch(
        """
        WITH u AS (INSERT INTO users DEFAULT VALUES RETURNING id)
        INSERT INTO monitors (owner_id, name, type, config, interval_s, tier, next_due,
                              created_at, state)
        SELECT u.id, n, 'http', '{}'::jsonb, 60, 'pro', now(), now() - interval '11 days', 'up'
        FROM u, unnest($1::text[]) n RETURNING owner_id, id, name
        """,
        names,
    )
    return rows[0]["owner_id"], {r["name"]: r["id"] for r in rows}


async def _hourly_rows(pool: asyncpg.Pool, monitor_id: int, newest: datetime) -> datetime:
    """A result every hour for DAYS days, the newest at ``newest`` (latency = hours back)."""
    rows = [(newest - timedelta(hours=h), monitor_id, True, 200, h, None, None, None)
            for h in range(DAYS * 24)]
    await pool.copy_records_to_table("check_history", records=rows, columns=ROW_COLUMNS)
    return newest


async def test_the_latest_result_of_each_kind_of_monitor(
    history: tuple[asyncpg.Pool, StorageMode],
) -> None:
    pool, mode = history
    assert await migrate(pool) == mode
    now = datetime.now(UTC)
    owner, ids = await _monitors(pool, ["active", "paused", "paused long ago", "never", "refused"])
    # Active: UP since its first check DAYS ago (the last write of its row), checked since.
    active_at = await _hourly_rows(pool, ids["active"], now - timedelta(minutes=5))
    # Paused three days ago: nothing in the recent window the read looks at first.
    paused_at = await _hourly_rows(pool, ids["paused"], now - timedelta(days=3))
    # Paused nine days ago: the read walks back more than one week to find it.
    long_ago = await _hourly_rows(pool, ids["paused long ago"], now - timedelta(days=9))
    await pool.execute(
        "UPDATE monitors SET last_check_at = $2, last_ok = true, last_latency_ms = 1 "
        "WHERE id = ANY($1::bigint[])", [ids["active"], ids["paused"], ids["paused long ago"]],
        now - timedelta(days=2 * DAYS))
    await pool.execute("UPDATE monitors SET state = 'paused', state_since = $2 WHERE id = $1",
                       ids["paused"], paused_at)
    await pool.execute("UPDATE monitors SET state = 'paused', state_since = $2 WHERE id = $1",
                       ids["paused long ago"], long_ago)
    # Its first check failed and the history row was refused (quarantined): the row's
    # own columns are the latest result there is.
    await pool.execute(
        "UPDATE monitors SET state = 'pending', last_check_at = $2, last_ok = false, "
        "last_error = 'HTTP 503', last_latency_ms = 7 WHERE id = $1",
        ids["refused"], now - timedelta(minutes=1))
    await pool.execute("UPDATE monitors SET state = 'pending' WHERE id = $1", ids["never"])

    expected = {
        "active": (active_at, True, 0),
        "paused": (paused_at, True, 0),
        "paused long ago": (long_ago, True, 0),
        "never": (None, None, None),
        "refused": (now - timedelta(minutes=1), False, 7),
    }

    def seen(row: object) -> tuple[object, object, object]:
        assert row is not None
        r: dict[str, object] = dict(row)  # type: ignore[call-overload]
        return r["last_check_at"], r["last_ok"], r["last_latency_ms"]

    listed = {r["name"]: seen(r) for r in await monitors.of_owner(pool, owner)}
    assert listed == expected
    for name, want in expected.items():
        public_id = await pool.fetchval("SELECT public_id FROM monitors WHERE id = $1", ids[name])
        assert seen(await monitors.by_public_id(pool, public_id)) == want
        assert seen(await monitors.find(pool, owner, name)) == want
    assert await monitors.by_public_id(pool, uuid.uuid4()) is None
    assert await monitors.find(pool, owner, "no such monitor") is None


async def test_a_monitor_never_checked_is_not_looked_for_in_every_chunk(
    timescale_pool: asyncpg.Pool,
) -> None:
    assert await migrate(timescale_pool) == "timescaledb"
    _owner, ids = await _monitors(timescale_pool, ["busy", "never"])
    await _hourly_rows(timescale_pool, ids["busy"], datetime.now(UTC))
    chunks = await timescale_pool.fetchval("SELECT count(*) FROM show_chunks('check_history')")
    assert chunks >= DAYS
    public_id = await timescale_pool.fetchval("SELECT public_id FROM monitors WHERE id = $1",
                                              ids["never"])
    plan = "\n".join(r[0] for r in await timescale_pool.fetch(
        f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
        f"{monitors._SELECT} WHERE m.public_id = $1", public_id))  # the read by_public_id runs
    planned = set(re.findall(r"_hyper_\d+_\d+_chunk", plan))
    # The recent window (one maximum interval and an hour) spans two or three daily chunks.
    assert 1 <= len(planned) <= 3, plan
    row = await monitors.by_public_id(timescale_pool, public_id)
    assert row is not None and row["last_check_at"] is None
