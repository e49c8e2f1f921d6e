from __future__ import annotations

import asyncpg
from lighthouse.core.storage.database import migrate


async def test_migrations_are_recorded_and_idempotent(pool: asyncpg.Pool) -> None:
    versions = await pool.fetch("SELECT version, variant FROM schema_migrations ORDER BY 1, 2")
    assert [(r["version"], r["variant"]) for r in versions] == [(1, ""), (2, "plain")]
    assert await migrate(pool) == "plain"
    again = await pool.fetchval("SELECT count(*) FROM schema_migrations")
    assert again == 2
