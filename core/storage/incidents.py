"""Incident rows: opened when a monitor goes DOWN, closed when it recovers.

The result writer opens and closes them inside its state transaction
(core/storage/results.py), so an incident and the state change that made it commit
together. One statement per batch for each direction, and only for monitors whose state
changed that way, so a batch of healthy results pays nothing.

A person ends an incident early by pausing the monitor or putting it in maintenance
(``close_open``, core/service/monitors.py): those leave DOWN without a recovery.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import asyncpg
from lighthouse.core.storage.database import Pool

log = logging.getLogger(__name__)

EndReason = Literal["recovered", "paused", "maintenance"]

_OPEN = """
INSERT INTO incidents (monitor_id, started_at, first_error_code, first_error, checks_failed)
SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::int[])
ON CONFLICT (monitor_id) WHERE ended_at IS NULL DO NOTHING
"""

# $3/$4 (the earliest and latest start) are plain values, so TimescaleDB plans only the
# chunks that hold the starts, not every chunk for a time known only per row.
_FIRST_ERRORS = """
SELECT u.id, h.error_code, h.error
FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, started_at)
JOIN LATERAL (
    SELECT error_code, error FROM check_history
    WHERE monitor_id = u.id AND time = u.started_at AND NOT ok
      AND time >= $3 AND time <= $4
    LIMIT 1
) h ON true
"""

# A monitor that went DOWN before incidents were recorded has no open row: its recovery
# still leaves one, without a first error.
_CLOSE = """
WITH u AS (
    SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::int[])
         AS u(id, started_at, ended_at, failures)
), closed AS (
    UPDATE incidents i SET ended_at = u.ended_at, end_reason = 'recovered',
                           checks_failed = u.failures
    FROM u WHERE i.monitor_id = u.id AND i.ended_at IS NULL
    RETURNING i.monitor_id
)
INSERT INTO incidents (monitor_id, started_at, ended_at, end_reason, checks_failed)
SELECT u.id, u.started_at, u.ended_at, 'recovered', u.failures FROM u
WHERE u.started_at IS NOT NULL AND u.id NOT IN (SELECT monitor_id FROM closed)
"""


@dataclass(frozen=True)
class Opening:
    monitor_id: int
    started_at: datetime
    error_code: str | None
    error: str | None
    failures: int


@dataclass(frozen=True)
class Closing:
    monitor_id: int
    started_at: datetime | None
    ended_at: datetime
    failures: int


async def with_first_errors(conn: Any, opened: list[Opening]) -> list[Opening]:
    """The openings with the error of their first failing check, read from its history row.

    That check ran in an earlier batch, unless the threshold is 1 (then it is this one,
    whose error the opening already holds). Read before the state transaction and not in
    it: history and state are written independently, so a history table that cannot be
    read must not stop states and alerts; the opening then keeps the error it has.
    """
    earlier = [o for o in opened if o.failures > 1]
    if not earlier:
        return opened
    try:
        starts = [o.started_at for o in earlier]
        rows = await conn.fetch(_FIRST_ERRORS, [o.monitor_id for o in earlier], starts,
                                min(starts), max(starts))
    except (asyncpg.PostgresError, OSError) as exc:
        log.warning("first errors of new incidents unreadable; keeping the latest",
                    extra={"error": str(exc)[:200]})
        return opened
    found = {r["id"]: (r["error_code"], r["error"]) for r in rows}
    return [replace(o, error_code=found[o.monitor_id][0], error=found[o.monitor_id][1])
            if o.monitor_id in found else o for o in opened]


async def write(conn: Any, opened: Sequence[Opening], closed: Sequence[Closing]) -> None:
    """Open and close incidents, in the caller's transaction."""
    if opened:
        await conn.execute(
            _OPEN, [o.monitor_id for o in opened], [o.started_at for o in opened],
            [o.error_code for o in opened], [o.error for o in opened],
            [o.failures for o in opened],
        )
    if closed:
        await conn.execute(
            _CLOSE, [c.monitor_id for c in closed], [c.started_at for c in closed],
            [c.ended_at for c in closed], [c.failures for c in closed],
        )


async def close_open(conn: Any, monitor_id: int, reason: EndReason) -> None:
    """End the monitor's open incident now (a person paused it or began maintenance)."""
    await conn.execute(
        "UPDATE incidents i SET ended_at = greatest(now(), i.started_at), end_reason = $2, "
        "checks_failed = m.incident_failures FROM monitors m "
        "WHERE i.monitor_id = $1 AND i.ended_at IS NULL AND m.id = i.monitor_id",
        monitor_id, reason,
    )


async def of_monitor(pool: Pool, monitor_id: int, limit: int) -> list[Any]:
    """Newest first; an open incident's failed checks are the live count on its monitor."""
    return list(await pool.fetch(
        """
        SELECT i.id, i.started_at, i.ended_at, i.end_reason, i.first_error_code, i.first_error,
               CASE WHEN i.ended_at IS NULL THEN m.incident_failures ELSE i.checks_failed END
                   AS checks_failed
        FROM incidents i JOIN monitors m ON m.id = i.monitor_id
        WHERE i.monitor_id = $1
        ORDER BY i.started_at DESC, i.id DESC
        LIMIT $2
        """,
        monitor_id, limit,
    ))
