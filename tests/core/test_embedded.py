"""The zero-config default: embedded PostgreSQL and Redis keep their data across restarts."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
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


def test_embedded_postgres_stops_on_clean_exit_after_an_earlier_kill_9() -> None:
    """pgserver counts holders by pid; a process killed with -9 stayed on its list forever,
    so the next clean exit left PostgreSQL running."""
    path = Path(tempfile.mkdtemp(prefix="lh-embedded-", dir="/tmp"))
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from lighthouse.core.embedded import EmbeddedPostgres\n"
        "async def main():\n"
        "    await EmbeddedPostgres(Path(sys.argv[1])).start()\n"
        "    print('ready', flush=True)\n"
        "    await asyncio.sleep(120)\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True)
    pgdata = path / "postgres"
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        assert _alive(postmaster), "postgres outlives its killed parent (the case under test)"

        async def start_use_stop() -> None:
            pg = EmbeddedPostgres(path)
            conn = await asyncpg.connect(await pg.start())
            assert await conn.fetchval("SELECT 1") == 1
            await conn.close()
            await pg.stop()

        asyncio.run(start_use_stop())
        for _ in range(100):  # pg_ctl -w returns once stopped; allow the pid a moment to go
            if not _alive(postmaster):
                break
            time.sleep(0.05)
        assert not _alive(postmaster)
        assert not (pgdata / "postmaster.pid").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(["pkill", "-f", f"postgres -D {pgdata}"], check=False)
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
