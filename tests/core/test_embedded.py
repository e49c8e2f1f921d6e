"""The zero-config default: embedded PostgreSQL and Redis keep their data across restarts."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis
from lighthouse.core.embedded import EmbeddedPostgres, EmbeddedRedis


async def test_embedded_servers_keep_data_across_restarts() -> None:
    path = Path(tempfile.mkdtemp(prefix="lh-embedded-", dir="/tmp"))
    try:
        pg, rd = EmbeddedPostgres(path), EmbeddedRedis(path)
        dsn, url = await pg.start(), await rd.start()
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')")
        await conn.close()
        client = aioredis.from_url(url)
        await client.set("kept", "world")
        await client.aclose()
        await pg.stop()
        await rd.stop()

        pg2, rd2 = EmbeddedPostgres(path), EmbeddedRedis(path)
        dsn2, url2 = await pg2.start(), await rd2.start()
        try:
            conn = await asyncpg.connect(dsn2)
            assert await conn.fetchval("SELECT v FROM kept") == "hello"
            await conn.close()
            client = aioredis.from_url(url2)
            assert await client.get("kept") == b"world"
            await client.aclose()
        finally:
            await pg2.stop()
            await rd2.stop()
    finally:
        shutil.rmtree(path, ignore_errors=True)
