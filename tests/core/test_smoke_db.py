from __future__ import annotations

import asyncpg
from lighthouse.core.storage.database import load_migrations, migrate


async def test_migrations_are_recorded_and_idempotent(pool: asyncpg.Pool) -> None:
    versions = await pool.fetch("SELECT version, variant FROM schema_migrations ORDER BY 1, 2")
    expected = [(m.version, m.variant or "") for m in load_migrations()
                if m.variant in (None, "plain")]
    assert [(r["version"], r["variant"]) for r in versions] == expected
    assert expected[:2] == [(1, ""), (2, "plain")]
    assert await migrate(pool) == "plain"
    again = await pool.fetchval("SELECT count(*) FROM schema_migrations")
    assert again == len(expected)
