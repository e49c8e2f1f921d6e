"""Status page rows and the reads one page needs, each a single indexed statement over the
page's monitors (rollups only: daily for the 90-day bar, hourly for the 24 h chart).

Every monitor read joins on the page's owner, so a page never shows another's monitors.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from lighthouse.core.storage.database import Pool

_COLUMNS = "id, owner_id, slug, title, monitor_ids, created_at, managed_by"


async def insert(pool: Pool, owner_id: int, slug: str, title: str,
                 monitor_ids: Sequence[int], managed_by: str | None = None) -> Any | None:
    """The new row, or None when the slug is taken."""
    try:
        return await pool.fetchrow(
            f"INSERT INTO status_pages (owner_id, slug, title, monitor_ids, managed_by) "
            f"VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}",
            owner_id, slug, title, list(monitor_ids), managed_by)
    except asyncpg.UniqueViolationError:
        return None


async def update(pool: Pool, owner_id: int, slug: str, title: str,
                 monitor_ids: Sequence[int]) -> Any | None:
    return await pool.fetchrow(
        f"UPDATE status_pages SET title = $3, monitor_ids = $4 WHERE owner_id = $1 AND slug = $2 "
        f"RETURNING {_COLUMNS}", owner_id, slug, title, list(monitor_ids))


CHANGES = "lighthouse_status"  # the NOTIFY channel of sql/0027_status_notify.sql


async def listen_changes(pool: Pool, on_change: Callable[[str], None],
                         on_lost: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    """Hold one connection that LISTENs for status page changes ('o:<owner id>',
    's:<slug>'); ``on_lost`` when that connection ends. Returns the closer."""
    conn = await pool.acquire()

    def notified(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        on_change(payload)

    def terminated(_conn: Any) -> None:
        on_lost()

    try:
        await conn.add_listener(CHANGES, notified)
        conn.add_termination_listener(terminated)
    except BaseException:
        await pool.release(conn)
        raise

    async def close() -> None:
        try:
            conn.remove_termination_listener(terminated)
            if not conn.is_closed():
                await conn.remove_listener(CHANGES, notified)
        finally:
            await pool.release(conn)

    return close


async def published_monitor(pool: Pool, public_id: uuid.UUID) -> Any:
    """id, name, state and interval of the monitor when one of its owner's status pages
    shows it (a page that names none shows them all); else None. One probe of the
    monitor row: a badge needs nothing of its history here."""
    return await pool.fetchrow(
        "SELECT m.id, m.name, m.state, m.interval_s FROM monitors m WHERE m.public_id = $1 "
        "AND EXISTS (SELECT 1 FROM status_pages p WHERE p.owner_id = m.owner_id "
        "AND (cardinality(p.monitor_ids) = 0 OR m.id = ANY(p.monitor_ids)))", public_id)


async def of_owner(pool: Pool, owner_id: int) -> list[Any]:
    return list(await pool.fetch(
        f"SELECT {_COLUMNS} FROM status_pages WHERE owner_id = $1 ORDER BY created_at, id",
        owner_id))


async def delete(pool: Pool, owner_id: int, slug: str) -> bool:
    status = await pool.execute("DELETE FROM status_pages WHERE owner_id = $1 AND slug = $2",
                                owner_id, slug)
    return bool(status.endswith(" 1"))


async def by_slug(pool: Pool, slug: str) -> Any | None:
    return await pool.fetchrow(f"SELECT {_COLUMNS} FROM status_pages WHERE slug = $1", slug)


async def page_monitors(pool: Pool, owner_id: int, monitor_ids: Sequence[int]) -> list[Any]:
    """The owner's monitors on the page (all of them when the page names none)."""
    return list(await pool.fetch(
        "SELECT * FROM monitors WHERE owner_id = $1 "
        "AND (cardinality($2::bigint[]) = 0 OR id = ANY($2::bigint[])) ORDER BY name, id",
        owner_id, list(monitor_ids)))


async def daily(pool: Pool, monitor_ids: Sequence[int], since: datetime) -> list[Any]:
    return list(await pool.fetch(
        "SELECT monitor_id, bucket, checks, ok_checks FROM daily_metrics "
        "WHERE monitor_id = ANY($1::bigint[]) AND bucket >= $2", list(monitor_ids), since))


async def hourly(pool: Pool, monitor_ids: Sequence[int], since: datetime) -> list[Any]:
    return list(await pool.fetch(
        "SELECT monitor_id, bucket, checks, ok_checks, avg_latency_ms FROM hourly_metrics "
        "WHERE monitor_id = ANY($1::bigint[]) AND bucket >= $2 ORDER BY bucket",
        list(monitor_ids), since))


async def incidents(pool: Pool, monitor_ids: Sequence[int], since: datetime,
                    limit: int) -> list[Any]:
    return list(await pool.fetch(
        "SELECT monitor_id, started_at, ended_at, end_reason FROM incidents "
        "WHERE monitor_id = ANY($1::bigint[]) AND (ended_at IS NULL OR ended_at >= $2) "
        "ORDER BY started_at DESC LIMIT $3", list(monitor_ids), since, limit))


async def maintenance(pool: Pool, monitor_ids: Sequence[int], now: datetime) -> list[Any]:
    return list(await pool.fetch(
        "SELECT monitor_id, starts_at, ends_at FROM maintenance_windows "
        "WHERE monitor_id = ANY($1::bigint[]) AND ends_at > $2 ORDER BY starts_at LIMIT 20",
        list(monitor_ids), now))


async def public_ids(pool: Pool, monitor_ids: Sequence[int]) -> dict[int, str]:
    """The public ids of monitors, by internal id (what the API and chat show)."""
    return {r["id"]: str(r["public_id"]) for r in await pool.fetch(
        "SELECT id, public_id FROM monitors WHERE id = ANY($1::bigint[])", list(monitor_ids))}
