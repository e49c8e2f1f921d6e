"""Named leases in PostgreSQL: one holder at a time, renewed by the holder, taken over by
anyone once expired. Every time is the database's clock, so hosts need not agree."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from lighthouse.core.storage.database import Pool

# One statement acquires, renews and takes over: the row is written only when it is ours
# already or has expired, so two contenders can never both get `true`.
_ACQUIRE = """
INSERT INTO leases AS l (name, holder, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3::double precision))
ON CONFLICT (name) DO UPDATE SET
    holder = EXCLUDED.holder,
    expires_at = EXCLUDED.expires_at,
    acquired_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.acquired_at ELSE now() END
WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()
RETURNING true
"""


class Holder(NamedTuple):
    holder: str
    expires_at: datetime
    acquired_at: datetime


async def acquire(pool: Pool, name: str, holder: str, ttl_s: float) -> bool:
    """Take or renew the lease for ``ttl_s`` seconds; False while another holds it."""
    return bool(await pool.fetchval(_ACQUIRE, name, holder, float(ttl_s)))


async def release(pool: Pool, name: str, holder: str) -> bool:
    """Give the lease up at once (a clean stop), so a standby need not wait for expiry."""
    return bool(await pool.fetchval(
        "DELETE FROM leases WHERE name = $1 AND holder = $2 RETURNING true", name, holder))


async def current(pool: Pool, name: str) -> Holder | None:
    """Who holds the lease now (None: nobody, or it has expired)."""
    row = await pool.fetchrow(
        "SELECT holder, expires_at, acquired_at FROM leases WHERE name = $1 "
        "AND expires_at > now()", name)
    return None if row is None else Holder(row["holder"], row["expires_at"], row["acquired_at"])
