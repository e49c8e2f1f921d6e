"""The schedule lives in the monitors table: claims with FOR UPDATE SKIP LOCKED.

Any number of processes on any number of machines run this claim; each due row goes
to exactly one of them. ``next_due`` advances at claim time by whole intervals, so the
rate stays fixed and a process coming back from downtime runs one check per monitor,
not a storm of missed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any
from uuid import UUID

from lighthouse.core.jsonsafe import safe_json_loads
from lighthouse.core.state import Policy, State, Status
from lighthouse.core.storage.database import Pool

# Long enough for the slowest check (timeout <= 120 s) plus flushing its result, but never
# past the next due time: a healthy result does not release its claim (no row rewrite),
# the lease simply runs out before the monitor is due again.
CLAIM_LEASE_S = 180

_CLAIM = """
WITH due AS (
    SELECT id, next_due,
           next_due + make_interval(secs => interval_s::double precision
               * greatest(1, ceil(extract(epoch FROM now() - next_due) / interval_s))) AS next
    FROM monitors
    WHERE state <> 'paused' AND next_due <= now()
      AND (claimed_until IS NULL OR claimed_until <= now())
    ORDER BY next_due
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE monitors m SET
    next_due = due.next,
    claimed_by = $2,
    claimed_until = least(now() + make_interval(secs => $3::double precision), due.next)
FROM due
WHERE m.id = due.id
RETURNING m.id, m.public_id, m.owner_id, m.name, m.type, m.config::text AS config_text,
    m.target_host, m.interval_s,
    m.state, m.state_version, m.consecutive_failures, m.consecutive_successes,
    m.state_since, m.last_alert_at, m.incident_started_at, m.maintenance_until,
    m.incident_failures, m.failure_threshold, m.success_threshold, m.reminder_interval_s, m.language,
    due.next_due AS due_at, now() AS claimed_at
"""


# A claim is decoded for every check: the state by a dict lookup (an Enum call costs about
# a microsecond), the rest of the state only when a result needs it, and one shared
# Policy per distinct setting (a few exist in a fleet).
_STATES = {state.value: state for state in State}


@lru_cache(maxsize=1024)
def _policy(failure_threshold: int, success_threshold: int, reminder_interval_s: int) -> Policy:
    return Policy(failure_threshold=failure_threshold, success_threshold=success_threshold,
                  reminder_interval=timedelta(seconds=reminder_interval_s))


@dataclass
class ClaimedCheck:
    id: int
    owner_id: int
    name: str
    type: str
    # The stored config as text: the scheduler keeps each monitor's parsed config and
    # compares this string to see whether it changed, so a claim decodes no JSON.
    config_text: str
    target_host: str
    interval_s: int
    state_version: int
    # The state and failure streak at the claim: enough for the writer to see that a
    # healthy result changes nothing (most results), without building the whole Status.
    state: State
    consecutive_failures: int
    language: str
    due_at: datetime
    claimed_at: datetime
    # The id people see (CLI, logs, the per-monitor gauges).
    public_id: UUID
    # The claim's row: the rest of the state is decoded from it when a result needs it.
    row: Any = field(repr=False, compare=False)

    @cached_property
    def config(self) -> dict[str, Any]:
        """The stored config, decoded on first use (a parse on a cache miss, tools, tests)."""
        config: dict[str, Any] = safe_json_loads(self.config_text)
        return config

    @cached_property
    def status(self) -> Status:
        """The monitor's state at the claim, for the state machine (a result that is not
        simply healthy): built on first use, most claims never need it."""
        r = self.row
        return Status(
            state=self.state,
            consecutive_failures=self.consecutive_failures,
            consecutive_successes=r["consecutive_successes"],
            state_since=r["state_since"],
            last_alert_at=r["last_alert_at"],
            incident_started_at=r["incident_started_at"],
            maintenance_until=r["maintenance_until"],
            incident_failures=r["incident_failures"],
        )

    @cached_property
    def policy(self) -> Policy:
        r = self.row
        return _policy(r["failure_threshold"], r["success_threshold"], r["reminder_interval_s"])

    @classmethod
    def from_row(cls, r: Any) -> ClaimedCheck:
        # Positional: a claim is decoded for every check, and keywords cost more here.
        return cls(
            r["id"], r["owner_id"], r["name"], r["type"], r["config_text"], r["target_host"],
            r["interval_s"], r["state_version"], _STATES[r["state"]],
            r["consecutive_failures"], r["language"], r["due_at"], r["claimed_at"],
            r["public_id"], r,
        )


async def claim_due(pool: Pool, worker_id: str, limit: int) -> list[ClaimedCheck]:
    rows = await pool.fetch(_CLAIM, limit, worker_id, float(CLAIM_LEASE_S))
    return [ClaimedCheck.from_row(r) for r in rows]


async def release(pool: Pool, worker_id: str, ids: list[int]) -> None:
    """Give back claims we will not run (shutdown): due again at once for anyone."""
    if ids:
        await pool.execute(
            "UPDATE monitors SET claimed_by = NULL, claimed_until = NULL, "
            "next_due = LEAST(next_due, now()) WHERE id = ANY($1::bigint[]) AND claimed_by = $2",
            ids, worker_id,
        )


async def due_backlog(pool: Pool) -> int:
    """Monitors due and not claimed by anyone: a growing number means add workers."""
    count = await pool.fetchval(
        "SELECT count(*) FROM monitors WHERE state <> 'paused' AND next_due <= now() "
        "AND (claimed_until IS NULL OR claimed_until <= now())"
    )
    return int(count or 0)


async def gone_or_paused(pool: Pool, ids: list[int]) -> list[int]:
    """Of ``ids``, the monitors deleted or paused since (their gauges are dropped)."""
    if not ids:
        return []
    rows = await pool.fetch(
        "SELECT x.id FROM unnest($1::bigint[]) AS x(id) WHERE NOT EXISTS ("
        "SELECT 1 FROM monitors m WHERE m.id = x.id AND m.state <> 'paused')",
        ids,
    )
    return [r["id"] for r in rows]
