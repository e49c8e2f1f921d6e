"""Maintenance windows planned ahead, and applying those that have started."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lighthouse.core.storage.database import Pool

_COLUMNS = """w.id, w.monitor_id, w.starts_at, w.ends_at, m.public_id AS monitor_public_id,
    m.name AS monitor_name"""

# A due window is deleted as it is applied, so any number of processes may run this: row
# locks make each window apply once. A paused monitor stays paused (its window is dropped);
# one already in maintenance keeps the later end.
_APPLY_DUE = """
WITH due AS (
    DELETE FROM maintenance_windows WHERE starts_at <= now() RETURNING monitor_id, ends_at
), latest AS (
    SELECT monitor_id, max(ends_at) AS ends_at FROM due GROUP BY monitor_id
)
UPDATE monitors m SET
    state = 'maintenance',
    maintenance_until = greatest(CASE WHEN m.state = 'maintenance' THEN m.maintenance_until END,
                                 latest.ends_at),
    state_since = CASE WHEN m.state = 'maintenance' THEN m.state_since ELSE now() END,
    state_version = m.state_version + 1,
    updated_at = now()
FROM latest
WHERE m.id = latest.monitor_id AND m.state <> 'paused' AND latest.ends_at > now()
RETURNING m.id, m.public_id, m.name, m.type, m.maintenance_until
"""


async def add(pool: Pool, monitor_id: int, starts_at: datetime, ends_at: datetime) -> Any:
    async with pool.acquire() as conn:
        window_id = await conn.fetchval(
            "INSERT INTO maintenance_windows (monitor_id, starts_at, ends_at) VALUES ($1, $2, $3) "
            "RETURNING id", monitor_id, starts_at, ends_at)
        return await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM maintenance_windows w JOIN monitors m ON m.id = w.monitor_id "
            "WHERE w.id = $1", window_id)


async def of_owner(pool: Pool, owner_id: int, monitor_id: int | None = None) -> list[Any]:
    return list(await pool.fetch(
        f"SELECT {_COLUMNS} FROM maintenance_windows w JOIN monitors m ON m.id = w.monitor_id "
        "WHERE m.owner_id = $1 AND ($2::bigint IS NULL OR w.monitor_id = $2) "
        "ORDER BY w.starts_at, w.id", owner_id, monitor_id))


async def cancel(pool: Pool, monitor_id: int) -> int:
    done = await pool.fetch("DELETE FROM maintenance_windows WHERE monitor_id = $1 RETURNING id",
                            monitor_id)
    return len(done)


async def apply_due(pool: Pool) -> list[Any]:
    """Windows that have started put their monitors into maintenance; returns those monitors."""
    return list(await pool.fetch(_APPLY_DUE))
