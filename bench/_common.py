"""Shared set-up for benchmarks: an embedded PostgreSQL in a temp dir, a fresh database."""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from lighthouse.core.embedded import EmbeddedPostgres
from lighthouse.core.storage.database import Pool, create_pool, migrate


@asynccontextmanager
async def fresh_database(max_size: int = 20) -> AsyncIterator[tuple[Pool, str]]:
    path = Path(tempfile.mkdtemp(prefix="lh-bench-", dir="/tmp"))
    pg = EmbeddedPostgres(path)
    try:
        dsn = await pg.start()
        pool = await create_pool(dsn, min_size=2, max_size=max_size)
        try:
            await migrate(pool)
            yield pool, dsn
        finally:
            await pool.close()
    finally:
        await pg.stop()
        shutil.rmtree(path, ignore_errors=True)


def rss_mb() -> float:
    """Peak resident set of this process (the scheduler), in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "machine": platform.machine()}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[idx]


def emit(figures: dict[str, Any]) -> None:
    """The last line of every benchmark: one JSON object."""
    print(json.dumps(figures, default=str), flush=True)


async def raw_connection(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn)
