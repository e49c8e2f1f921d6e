"""Users and the identities (Discord, Telegram, wallet, API) that lead to them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lighthouse.core.storage.database import Pool

_ENSURE = """
WITH found AS (
    SELECT u.* FROM users u JOIN user_identities i ON i.user_id = u.id
    WHERE i.provider = $1 AND i.subject = $2
), made AS (
    INSERT INTO users (language) SELECT $3 WHERE NOT EXISTS (SELECT 1 FROM found)
    RETURNING *
), linked AS (
    INSERT INTO user_identities (provider, subject, user_id)
    SELECT $1, $2, id FROM made ON CONFLICT DO NOTHING RETURNING user_id
)
SELECT * FROM found UNION ALL SELECT made.* FROM made JOIN linked ON linked.user_id = made.id
"""


async def ensure(pool: Pool, provider: str, subject: str) -> Any:
    """The user behind an identity, created at first contact; None when a concurrent first
    contact won the race (read it again with ``find``)."""
    return await pool.fetchrow(_ENSURE, provider, subject, None)


async def find(pool: Pool, provider: str, subject: str) -> Any:
    return await pool.fetchrow(
        "SELECT u.* FROM users u JOIN user_identities i ON i.user_id = u.id "
        "WHERE i.provider = $1 AND i.subject = $2",
        provider, subject,
    )


async def lock(conn: Any, user_id: int) -> None:
    """Serialize an owner's changes that check a limit (two creates cannot pass it together)."""
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)


async def set_language(pool: Pool, user_id: int, language: str | None) -> None:
    """The override on the user, and (when set) on their monitors and channels, which
    alerts read without a join."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE users SET language = $2 WHERE id = $1", user_id, language)
        if language is not None:
            await conn.execute("UPDATE monitors SET language = $2 WHERE owner_id = $1", user_id, language)
            await conn.execute(
                "UPDATE alert_channels SET language = $2 WHERE owner_id = $1", user_id, language
            )


async def extend_tier(pool: Pool, user_id: int, tier_name: str, period: timedelta) -> Any:
    """Set the tier and extend its end from now or from the current end, whichever is later;
    the owner's monitors follow."""
    async with pool.acquire() as conn, conn.transaction():
        return await extend_tier_on(conn, user_id, tier_name, period)


async def extend_tier_on(conn: Any, user_id: int, tier_name: str, period: timedelta) -> Any:
    """``extend_tier`` inside the caller's transaction (a monitor bought with its period)."""
    row = await conn.fetchrow(
        """
        UPDATE users SET tier = $2,
            tier_expires_at = greatest(coalesce(tier_expires_at, now()), now()) + $3
        WHERE id = $1 RETURNING *
        """,
        user_id, tier_name, period,
    )
    await conn.execute(
        "UPDATE monitors SET tier = $2, expires_at = $3 WHERE owner_id = $1",
        user_id, tier_name, row["tier_expires_at"],
    )
    return row


async def set_tier(pool: Pool, user_id: int, tier_name: str, expires_at: datetime | None, *,
                   monitors_tier: str, monitors_expire_at: datetime | None) -> Any:
    """Set the tier and its end (None: until changed); the owner's monitors take the plan
    the owner is judged by (``monitors_tier``, which the instance's floor may raise)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE users SET tier = $2, tier_expires_at = $3 WHERE id = $1 RETURNING *",
            user_id, tier_name, expires_at,
        )
        await conn.execute(
            "UPDATE monitors SET tier = $2, expires_at = $3 WHERE owner_id = $1",
            user_id, monitors_tier, monitors_expire_at,
        )
    return row
