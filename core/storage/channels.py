"""Alert channel rows: an owner's (or one monitor's) destinations for alerts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lighthouse.core.storage.database import Pool
from lighthouse.core.storage.users import lock


async def add(pool: Pool, *, owner_id: int, kind: str, config: dict[str, Any],
              same: Callable[[dict[str, Any]], bool], monitor_id: int | None,
              language: str | None, default_language: str, min_severity: str,
              managed_by: str | None = None) -> int:
    """The same channel added again is re-enabled, not duplicated (and keeps who manages
    it: a channel the operator added by hand stays theirs when the file names it too).
    ``same`` tells a stored config equal to the new one: encrypted secrets differ in every
    encryption, so SQL equality cannot. The row is rewritten with ``config``, so one stored
    in plaintext is encrypted now."""
    async with pool.acquire() as conn, conn.transaction():
        await lock(conn, owner_id)
        candidates = await conn.fetch(
            "SELECT id, config FROM alert_channels WHERE owner_id = $1 AND kind = $2 "
            "AND monitor_id IS NOT DISTINCT FROM $3 ORDER BY id",
            owner_id, kind, monitor_id,
        )
        existing = next((r["id"] for r in candidates if same(r["config"])), None)
        if existing:
            await conn.execute(
                "UPDATE alert_channels SET enabled = true, disabled_reason = NULL, "
                "language = coalesce($2, language), min_severity = $3, config = $4 WHERE id = $1",
                existing, language, min_severity, config,
            )
            return int(existing)
        return int(await conn.fetchval(
            "INSERT INTO alert_channels (owner_id, monitor_id, kind, config, language, "
            "min_severity, managed_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            owner_id, monitor_id, kind, config, language or default_language, min_severity,
            managed_by,
        ))


async def of_owner(pool: Pool, owner_id: int) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT c.id, c.kind, c.config, c.language, c.enabled, c.disabled_reason, c.monitor_id, "
        "c.min_severity, c.managed_by, c.last_delivery_at, m.name AS monitor_name "
        "FROM alert_channels c LEFT JOIN monitors m ON m.id = c.monitor_id "
        "WHERE c.owner_id = $1 ORDER BY c.id",
        owner_id,
    )
    return [dict(r) for r in rows]


async def of_monitor(pool: Pool, monitor_id: int) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT id, kind, config, language, enabled, disabled_reason, min_severity, created_at "
        "FROM alert_channels WHERE monitor_id = $1 ORDER BY id",
        monitor_id,
    )
    return [dict(r) for r in rows]


async def delete_of_monitor(pool: Pool, monitor_id: int, channel_id: int) -> bool:
    deleted = await pool.fetchval(
        "DELETE FROM alert_channels WHERE id = $1 AND monitor_id = $2 RETURNING id",
        channel_id, monitor_id,
    )
    return deleted is not None


async def delete(pool: Pool, owner_id: int, channel_id: int, *, managed_only: bool) -> bool:
    done = await pool.fetchval(
        "DELETE FROM alert_channels WHERE id = $1 AND owner_id = $2 "
        "AND (NOT $3 OR managed_by IS NOT NULL) RETURNING id",
        channel_id, owner_id, managed_only,
    )
    return done is not None


async def upsert_keyed(pool: Pool, *, owner_id: int, kind: str, key: dict[str, Any],
                       config: dict[str, Any], monitor_id: int | None, language: str) -> int:
    """The one channel of ``kind`` whose config contains ``key``: created, or re-enabled with
    ``config`` merged in and the new language."""
    async with pool.acquire() as conn, conn.transaction():
        await lock(conn, owner_id)
        existing = await conn.fetchval(
            "SELECT id FROM alert_channels WHERE owner_id = $1 AND kind = $2 "
            "AND config @> $3 AND monitor_id IS NOT DISTINCT FROM $4 ORDER BY id LIMIT 1",
            owner_id, kind, key, monitor_id,
        )
        if existing:
            await conn.execute(
                "UPDATE alert_channels SET config = config || $2, language = $3, "
                "enabled = true, disabled_reason = NULL WHERE id = $1",
                existing, config, language,
            )
            return int(existing)
        return int(await conn.fetchval(
            "INSERT INTO alert_channels (owner_id, monitor_id, kind, config, language) "
            "VALUES ($1, $2, $3, $4, $5) RETURNING id",
            owner_id, monitor_id, kind, config, language,
        ))


async def keyed(pool: Pool, kind: str, key: dict[str, Any], owner_id: int | None
                ) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT c.id, c.owner_id, c.monitor_id, c.config, c.language, c.enabled, "
        "c.disabled_reason, m.name AS monitor_name FROM alert_channels c "
        "LEFT JOIN monitors m ON m.id = c.monitor_id "
        "WHERE c.kind = $1 AND c.config @> $2 AND ($3::bigint IS NULL OR c.owner_id = $3) "
        "ORDER BY c.id",
        kind, key, owner_id,
    )
    return [dict(r) for r in rows]


async def update(pool: Pool, ids: list[int], *, enabled: bool | None, drop_keys: list[str]) -> int:
    done = await pool.fetch(
        "UPDATE alert_channels SET enabled = coalesce($2, enabled), "
        "disabled_reason = CASE WHEN coalesce($2, enabled) THEN NULL ELSE disabled_reason END, "
        "config = config - $3::text[] WHERE id = ANY($1::bigint[]) RETURNING id",
        ids, enabled, drop_keys,
    )
    return len(done)


async def move(pool: Pool, kind: str, field: str, old: Any, new: Any) -> int:
    done = await pool.fetch(
        "UPDATE alert_channels SET config = jsonb_set(config, ARRAY[$2::text], $4) "
        "WHERE kind = $1 AND config @> jsonb_build_object($2::text, $3::jsonb) RETURNING id",
        kind, field, old, new,
    )
    return len(done)


async def one(pool: Pool, owner_id: int, channel_id: int) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT c.id, c.kind, c.config, c.language, c.enabled, c.disabled_reason, c.monitor_id, "
        "c.min_severity, m.name AS monitor_name FROM alert_channels c "
        "LEFT JOIN monitors m ON m.id = c.monitor_id WHERE c.owner_id = $1 AND c.id = $2",
        owner_id, channel_id,
    )
    return dict(row) if row is not None else None


async def remove(pool: Pool, owner_id: int, channel_id: int) -> bool:
    """Deleting a channel drops its pending deliveries too (outbox rows cascade)."""
    done = await pool.fetchval(
        "DELETE FROM alert_channels WHERE owner_id = $1 AND id = $2 RETURNING id",
        owner_id, channel_id,
    )
    return done is not None


async def configs_of_kinds(pool: Pool, kinds: list[str]) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT id, kind, config FROM alert_channels WHERE kind = ANY($1::text[]) ORDER BY id",
        kinds)
    return [dict(r) for r in rows]


async def replace_config(pool: Pool, channel_id: int, old: dict[str, Any],
                         new: dict[str, Any]) -> int:
    """Swap a config only if nobody changed it meanwhile (another process resealing)."""
    done = await pool.fetchval(
        "UPDATE alert_channels SET config = $3 WHERE id = $1 AND config = $2 RETURNING id",
        channel_id, old, new,
    )
    return 0 if done is None else 1
