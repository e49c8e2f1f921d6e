"""Rows a monitors-as-code file manages (``managed_by``, sql/0015_managed_by.sql): list them,
insert many at once, refresh their entry hashes, delete them. Every statement that removes
or rewrites names ``managed_by IS NOT NULL``, so a monitor made elsewhere cannot be hit by
an apply whatever the caller passes."""

from __future__ import annotations

from typing import Any

from lighthouse.core.storage.database import Pool
from lighthouse.core.storage.monitors import MONITOR_COLUMNS

# Serializes applies (a SIGHUP while `lighthouse apply` runs, two processes starting).
_APPLY_LOCK = 7_263_411_903


async def lock_apply(conn: Any) -> None:
    """Held to the end of the transaction: concurrent applies take turns."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _APPLY_LOCK)


async def of_owner(pool: Pool, owner_id: int) -> list[Any]:
    """The owner's managed monitors, without their configs (not needed when unchanged)."""
    return list(await pool.fetch(
        "SELECT id, public_id, managed_by, managed_hash, name, type, state, maintenance_until, "
        "config->>'token_hash' AS token_hash FROM monitors "
        "WHERE owner_id = $1 AND managed_by IS NOT NULL",
        owner_id,
    ))


async def by_ids(pool: Pool, ids: list[int]) -> list[Any]:
    return list(await pool.fetch(
        f"SELECT {MONITOR_COLUMNS} FROM monitors WHERE id = ANY($1::bigint[])", ids,
    ))


async def unmanaged_names(pool: Pool, owner_id: int) -> list[str]:
    return [r["name"] for r in await pool.fetch(
        "SELECT name FROM monitors WHERE owner_id = $1 AND managed_by IS NULL", owner_id)]


async def count_unmanaged(pool: Pool, owner_id: int, types: list[str] | None = None) -> int:
    return int(await pool.fetchval(
        "SELECT count(*) FROM monitors WHERE owner_id = $1 AND managed_by IS NULL "
        "AND ($2::text[] IS NULL OR type = ANY($2::text[]))",
        owner_id, types,
    ))


async def insert_many(conn: Any, owner_id: int, rows: list[dict[str, Any]]) -> list[Any]:
    """Many monitors in one statement (one round trip for 10,000)."""
    if not rows:
        return []

    def column(name: str) -> list[Any]:
        return [r[name] for r in rows]

    return list(await conn.fetch(
        f"""
        INSERT INTO monitors (owner_id, name, type, config, target_host, interval_s, tier,
            failure_threshold, success_threshold, language, next_due, expires_at, managed_by,
            managed_hash)
        SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::text[], $6::int[],
            $7::text[], $8::smallint[], $9::smallint[], $10::text[], $11::timestamptz[],
            $12::timestamptz[], $13::text[], $14::text[]) AS u
        RETURNING {MONITOR_COLUMNS}
        """,
        owner_id, column("name"), column("type"), column("config"), column("target_host"),
        column("interval_s"), column("tier"), column("failure_threshold"),
        column("success_threshold"), column("language"), column("next_due"),
        column("expires_at"), column("managed_by"), column("managed_hash"),
    ))


async def mark(conn: Any, monitor_id: int, managed_by: str, managed_hash: str) -> None:
    """A monitor created one by one (a heartbeat, with its ping row) joins the file."""
    await conn.execute("UPDATE monitors SET managed_by = $2, managed_hash = $3 WHERE id = $1",
                       monitor_id, managed_by, managed_hash)


async def set_hashes(conn: Any, ids: list[int], hashes: list[str]) -> None:
    await conn.execute(
        "UPDATE monitors m SET managed_hash = u.h FROM unnest($1::bigint[], $2::text[]) AS u(id, h) "
        "WHERE m.id = u.id AND m.managed_by IS NOT NULL",
        ids, hashes,
    )


async def delete_many(conn: Any, owner_id: int, ids: list[int]) -> int:
    done = await conn.fetch(
        "DELETE FROM monitors WHERE owner_id = $1 AND id = ANY($2::bigint[]) "
        "AND managed_by IS NOT NULL RETURNING id",
        owner_id, ids,
    )
    return len(done)

