"""Monitor rows: create, find, change state, delete, and read their history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from lighthouse.core.limits import MAX_INTERVAL_S
from lighthouse.core.storage.database import Pool

MONITOR_COLUMNS = """id, public_id, owner_id, name, type, config, target_host, interval_s, tier,
    state, state_since, failure_threshold, success_threshold, reminder_interval_s,
    consecutive_failures, consecutive_successes, language, next_due, created_at, last_check_at,
    last_ok, last_error, last_latency_ms, maintenance_until, incident_started_at, expires_at,
    managed_by"""
# Healthy checks do not rewrite their monitor's row (see core/storage/results.py), so the
# last result is read from check_history, one index probe per monitor. The probe is bounded
# in time: a monitor being checked has a result at most one interval (MAX_INTERVAL_S) plus
# the check's own time old, so it looks back RECENT from now(). TimescaleDB excludes every
# older chunk while planning (it folds now() into a constant for that), where an unbounded
# ORDER BY time DESC LIMIT 1 planned all of them and, for a monitor without results,
# probed all of them.
RECENT = timedelta(seconds=MAX_INTERVAL_S) + timedelta(hours=1)
# A result's time is the moment its check finished, which can be a little before the
# last_check_at the writer stores (a claim dropped after a pause stamps now()).
_SLACK = timedelta(hours=1)
_RECENT_S = int(RECENT.total_seconds())
_SELECT = f"""
SELECT m.id, m.public_id, m.owner_id, m.name, m.type, m.config, m.target_host, m.interval_s,
    m.tier, m.state, m.state_since, m.failure_threshold, m.success_threshold,
    m.reminder_interval_s, m.consecutive_failures, m.consecutive_successes, m.language,
    m.next_due, m.created_at, coalesce(h.time, m.last_check_at) AS last_check_at,
    coalesce(h.ok, m.last_ok) AS last_ok, coalesce(h.error, m.last_error) AS last_error,
    coalesce(h.latency_ms, m.last_latency_ms) AS last_latency_ms, m.maintenance_until,
    m.incident_started_at, m.expires_at, m.managed_by, h.error_code AS last_error_code,
    CASE WHEN h.time IS NULL
              AND m.last_check_at - interval '{int(_SLACK.total_seconds())} s'
                  < now() - interval '{_RECENT_S} s'
         THEN m.last_check_at - interval '{int(_SLACK.total_seconds())} s' END AS older_from,
    now() - interval '{_RECENT_S} s' AS older_until
FROM monitors m
LEFT JOIN LATERAL (
    SELECT time, ok, error, error_code, latency_ms FROM check_history
    WHERE monitor_id = m.id AND time > now() - interval '{_RECENT_S} s'
    ORDER BY time DESC LIMIT 1
) h ON true
"""
# Monitors with nothing in the recent window but a result stored before it (paused for
# a while, or no scheduler running): the check that last wrote their row (last_check_at)
# bounds the search from below, the recent window from above. Never-checked monitors
# (last_check_at NULL) have no result anywhere and skip this. The search walks back a
# week at a time, newest first, so each probe plans a week of chunks, not the whole
# retention (a monitor paused days ago is found by the first).
_OLDER = """
SELECT time, ok, error, error_code, latency_ms FROM check_history
WHERE monitor_id = $1 AND time >= $2 AND time <= $3
ORDER BY time DESC LIMIT 1
"""
_OLDER_STEP = timedelta(days=7)
_OLDER_MAX_STEPS = 60  # over a year of weeks: past any retention


async def _older_result(pool: Pool, monitor_id: int, lo: datetime, hi: datetime) -> Any:
    for _ in range(_OLDER_MAX_STEPS):
        if hi < lo:
            return None
        found = await pool.fetchrow(_OLDER, monitor_id, max(lo, hi - _OLDER_STEP), hi)
        if found is not None:
            return found
        hi -= _OLDER_STEP
    return None


async def _with_older_results(pool: Pool, rows: Sequence[Any]) -> list[Any]:
    """``rows`` with the latest result of those whose result is older than RECENT."""
    out: list[Any] = []
    for r in rows:
        h = None
        if r["older_from"] is not None:
            h = await _older_result(pool, r["id"], r["older_from"], r["older_until"])
        if h is None:
            out.append(r)
        else:
            out.append({**dict(r), "last_check_at": h["time"], "last_ok": h["ok"],
                        "last_error": h["error"], "last_latency_ms": h["latency_ms"],
                        "last_error_code": h["error_code"]})
    return out


async def count(conn: Any, owner_id: int, types: list[str] | None = None) -> int:
    """The owner's monitors, or those of the given types."""
    if types is None:
        return int(await conn.fetchval("SELECT count(*) FROM monitors WHERE owner_id = $1", owner_id))
    return int(await conn.fetchval(
        "SELECT count(*) FROM monitors WHERE owner_id = $1 AND type = ANY($2::text[])",
        owner_id, types,
    ))


async def total(pool: Pool) -> int:
    """Every monitor of the instance, whoever owns it."""
    return int(await pool.fetchval("SELECT count(*) FROM monitors"))


async def unique_name(conn: Any, owner_id: int, label: str) -> str:
    """``label``, or ``label (2)``, ``(3)``... when the owner already has it (names are how
    people refer to monitors in chat, so they must be unambiguous)."""
    taken = {
        r["name"].lower()
        for r in await conn.fetch(
            "SELECT name FROM monitors WHERE owner_id = $1 AND lower(name) LIKE lower($2) || '%'",
            owner_id, label,
        )
    }
    if label.lower() not in taken:
        return label
    for n in range(2, 1000):
        candidate = f"{label} ({n})"
        if candidate.lower() not in taken:
            return candidate
    return f"{label} ({uuid.uuid4().hex[:6]})"


async def insert(conn: Any, *, owner_id: int, name: str, type: str, config: dict[str, Any],
                 target_host: str, interval_s: int, tier: str, failure_threshold: int,
                 success_threshold: int, language: str, next_due: datetime,
                 expires_at: datetime | None) -> Any:
    return await conn.fetchrow(
        f"""
        INSERT INTO monitors (owner_id, name, type, config, target_host, interval_s, tier,
            failure_threshold, success_threshold, language, next_due, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        RETURNING {MONITOR_COLUMNS}
        """,
        owner_id, name, type, config, target_host, interval_s, tier, failure_threshold,
        success_threshold, language, next_due, expires_at,
    )


async def update(conn: Any, monitor_id: int, *, name: str, config: dict[str, Any], target_host: str,
                 interval_s: int, failure_threshold: int, success_threshold: int, language: str,
                 managed_hash: str | None) -> Any:
    """A monitor's definition changed in place: its id, state and history stay. A shorter
    interval takes effect now rather than after the old, longer wait."""
    return await conn.fetchrow(
        f"""
        UPDATE monitors SET name = $2, config = $3, target_host = $4, interval_s = $5::integer,
            failure_threshold = $6, success_threshold = $7, language = $8, managed_hash = $9,
            next_due = least(next_due, now() + make_interval(secs => $5::integer::double precision)),
            updated_at = now()
        WHERE id = $1 RETURNING {MONITOR_COLUMNS}
        """,
        monitor_id, name, config, target_host, interval_s, failure_threshold, success_threshold,
        language, managed_hash,
    )


async def name_taken(conn: Any, owner_id: int, name: str, except_id: int) -> bool:
    return bool(await conn.fetchval(
        "SELECT 1 FROM monitors WHERE owner_id = $1 AND lower(name) = lower($2) AND id <> $3",
        owner_id, name, except_id,
    ))


async def of_owner(pool: Pool, owner_id: int) -> list[Any]:
    return await _with_older_results(pool, await pool.fetch(
        f"{_SELECT} WHERE m.owner_id = $1 ORDER BY m.created_at, m.id", owner_id))


async def find(pool: Pool, owner_id: int, ref: str) -> Any:
    """One of the owner's monitors by id, id prefix (>= 6 characters) or name; exact id
    first, then exact name."""
    row = await pool.fetchrow(
        f"""
        {_SELECT}
        WHERE m.owner_id = $1 AND (m.public_id::text = lower($2) OR lower(m.name) = lower($2)
              OR (length($2) >= 6 AND m.public_id::text LIKE lower($2) || '%'))
        ORDER BY (m.public_id::text = lower($2)) DESC, (lower(m.name) = lower($2)) DESC
        LIMIT 1
        """,
        owner_id, ref,
    )
    return None if row is None else (await _with_older_results(pool, [row]))[0]


async def named_like(pool: Pool, owner_id: int, prefix: str, limit: int) -> list[str]:
    """Names of the owner's monitors that start with ``prefix`` (any case), shortest first."""
    rows = await pool.fetch(
        "SELECT name FROM monitors WHERE owner_id = $1 AND lower(name) LIKE "
        "replace(replace(replace(lower($2), '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%' "
        "ORDER BY length(name), name LIMIT $3",
        owner_id, prefix, limit,
    )
    return [r["name"] for r in rows]


async def last_details(pool: Pool, monitor_id: int,
                       last_check_at: datetime | None) -> dict[str, Any] | None:
    """The details of the result written at ``last_check_at`` (the row's own latest result,
    so the probe is bounded in time and plans one chunk, not the whole retention)."""
    if last_check_at is None:
        return None
    details = await pool.fetchval(
        "SELECT details FROM check_history WHERE monitor_id = $1 AND time = $2 LIMIT 1",
        monitor_id, last_check_at)
    return details if isinstance(details, dict) else None


async def by_public_id(pool: Pool, public_id: uuid.UUID) -> Any:
    row = await pool.fetchrow(f"{_SELECT} WHERE m.public_id = $1", public_id)
    return None if row is None else (await _with_older_results(pool, [row]))[0]


async def set_state(conn: Any, monitor_id: int, assignments: str, *args: Any) -> Any:
    """A state change by a person (pause, resume, maintenance): a new state version, so a
    check that was running meanwhile cannot overwrite it (core/storage/results.py)."""
    return await conn.fetchrow(
        f"UPDATE monitors SET {assignments}, state_since = now(), "
        f"state_version = state_version + 1, updated_at = now() "
        f"WHERE id = $1 RETURNING {MONITOR_COLUMNS}",
        monitor_id, *args,
    )


async def set_token_hash(conn: Any, monitor_id: int, token_hash: str) -> Any:
    await conn.execute("UPDATE heartbeats SET token_hash = $2 WHERE monitor_id = $1",
                       monitor_id, token_hash)
    return await conn.fetchrow(
        f"UPDATE monitors SET config = config || jsonb_build_object('token_hash', $2::text), "
        f"updated_at = now() WHERE id = $1 RETURNING {MONITOR_COLUMNS}",
        monitor_id, token_hash,
    )


async def delete(pool: Pool, monitor_id: int) -> None:
    # History rows have no foreign key (hypertables); retention clears them, and every
    # read goes through an existing monitor.
    await pool.execute("DELETE FROM monitors WHERE id = $1", monitor_id)


async def history(pool: Pool, monitor_id: int, *, before: datetime, since: datetime,
                  limit: int) -> list[Any]:
    return list(await pool.fetch(
        """
        SELECT time, ok, status_code, latency_ms, error_code, error, details, worker_id
        FROM check_history WHERE monitor_id = $1 AND time < $2 AND time >= $3
        ORDER BY time DESC LIMIT $4
        """,
        monitor_id, before, since, limit,
    ))


async def latency_series(pool: Pool, monitor_id: int, since: datetime) -> list[Any]:
    return list(await pool.fetch(
        "SELECT time, latency_ms, ok FROM check_history WHERE monitor_id = $1 AND time >= $2 "
        "ORDER BY time LIMIT 20000",
        monitor_id, since,
    ))
