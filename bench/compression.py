"""Storage per check result: bytes per history row on plain PostgreSQL and on TimescaleDB
before and after compression (segmentby monitor_id, orderby time DESC, as the migrations
set it), for rows shaped as the result writer writes them.

The rows are what an HTTP check of a healthy JSON endpoint stores: its latency, status,
the request timings in ``details`` (a new connection's DNS and connect spans now and
then), the body sample, a failure now and then with its error, and the worker's name as
production writes it (``host:pid:random``). They go in with the writer's COPY columns
(core/storage/results.py HISTORY_COLUMNS) and its JSON encoding (the pool's codecs).

    export "$(../shared/tools/timescaledb-for-tests.sh <timescaledb source> .venv | tail -n 1)"
    .venv/bin/python bench/compression.py --monitors 200 --days 3 --interval 60
    .venv/bin/python bench/compression.py --monitors 200 --days 3 --interval 60 --page

Without a TimescaleDB server (--dsn or LIGHTHOUSE_TEST_TIMESCALE_DSN) only the plain
figure is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, fresh_database, machine
from lighthouse.core.storage.database import Pool, storage_mode
from lighthouse.core.storage.results import HISTORY_COLUMNS
from queries import database_on

WORKER = "ip-10-0-12-34:48213:9f3a"  # as lighthouse/runtime.py names a worker: host:pid:random
BODY = '{"status":"ok","version":"2.14.1","checks":{"db":"ok","cache":"ok"}}'
# A web page's first KiB, which is what an HTTP check of a page keeps (BODY_SAMPLE_BYTES).
PAGE = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example Store'
        '</title><meta name="viewport" content="width=device-width, initial-scale=1">'
        + '<link rel="stylesheet" href="/assets/app.{n}.css">' * 12
        + '<script src="/assets/vendor.{n}.js" defer></script>' * 12)


def rows_for(monitor_id: int, start: datetime, n: int, interval_s: int,
             rng: random.Random, body: str) -> list[tuple[Any, ...]]:
    out = []
    for i in range(n):
        total = 40 + 80 * rng.random() ** 3
        timings: dict[str, float] = {}
        if rng.random() < 0.05:  # a new connection now and then
            timings["dns_ms"] = round(rng.uniform(0.5, 3), 2)
            timings["connect_ms"] = round(rng.uniform(5, 30), 2)
        timings["first_byte_ms"] = round(total * 0.9, 2)
        timings["total_ms"] = round(total, 2)
        ok = rng.random() > 0.002
        details = {"timings": timings, "body_sample": body if ok else "upstream timeout"}
        out.append((
            start + timedelta(seconds=i * interval_s + rng.uniform(0, 2)), monitor_id, ok,
            200 if ok else 503, round(total), None if ok else "unexpected_status",
            None if ok else "HTTP 503", details, WORKER,
        ))
    return out


async def fill(pool: Pool, monitors: int, days: int, interval_s: int, now: datetime,
               page: bool) -> int:
    ids = [r["id"] for r in await pool.fetch(
        """
        WITH u AS (INSERT INTO users (tier) VALUES ('enterprise') RETURNING id)
        INSERT INTO monitors (owner_id, name, type, config, interval_s, tier, next_due, state)
        SELECT u.id, 'm' || g, 'http', '{}'::jsonb, $2, 'enterprise', now(), 'up'
        FROM u, generate_series(1, $1) g RETURNING id
        """, monitors, interval_s)]
    per_monitor = days * 86400 // interval_s
    start = now - timedelta(days=days)
    rng = random.Random(7)
    written = 0
    async with pool.acquire() as conn:
        for mid in ids:
            # a page's asset names change with each deploy: one version per monitor
            body = PAGE.replace("{n}", f"{mid:08x}")[:1024] if page else BODY
            rows = rows_for(mid, start, per_monitor, interval_s, rng, body)
            await conn.copy_records_to_table("check_history", records=rows,
                                              columns=HISTORY_COLUMNS)
            written += len(rows)
    await pool.execute("VACUUM ANALYZE check_history")
    return written


async def measure(pool: Pool, args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    mode = await storage_mode(pool)
    t = time.perf_counter()
    rows = await fill(pool, args.monitors, args.days, args.interval, now, args.page)
    fill_s = time.perf_counter() - t
    if mode == "plain":
        size = await pool.fetchval("SELECT pg_total_relation_size('check_history')")
        return {"mode": mode, "rows": rows, "bytes_per_row": round(size / rows, 1),
                "total_mb": round(size / 2**20, 1), "fill_s": round(fill_s, 1)}
    before = await pool.fetchval("SELECT hypertable_size('check_history')")
    t = time.perf_counter()
    chunks = await pool.fetchval(
        "SELECT count(compress_chunk(c, if_not_compressed => true)) "
        "FROM show_chunks('check_history') c")
    compress_s = time.perf_counter() - t
    after = await pool.fetchval("SELECT hypertable_size('check_history')")
    return {
        "mode": mode, "rows": rows, "chunks": chunks,
        "bytes_per_row": round(before / rows, 1),
        "compressed_bytes_per_row": round(after / rows, 1),
        "compression_ratio": round(before / after, 1),
        "total_mb": round(before / 2**20, 1), "compressed_mb": round(after / 2**20, 2),
        "fill_s": round(fill_s, 1), "compress_s": round(compress_s, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC)
    out: dict[str, Any] = {"bench": "compression", "monitors": args.monitors,
                           "days": args.days, "interval_s": args.interval,
                           "body": "page" if args.page else "json"}
    async with fresh_database() as (pool, _dsn):
        out["plain"] = await measure(pool, args, now)
    if args.dsn:
        async with database_on(args.dsn) as (pool, _dsn):
            figures = await measure(pool, args, now)
        out[figures["mode"]] = figures
    out["machine"] = machine()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--monitors", type=int, default=200)
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--interval", type=int, default=60)
    p.add_argument("--page", action="store_true",
                   help="bodies are a web page's first KiB (default: a 70-byte JSON answer)")
    p.add_argument("--dsn", default=os.environ.get("LIGHTHOUSE_TEST_TIMESCALE_DSN"),
                   help="a TimescaleDB server (default: LIGHTHOUSE_TEST_TIMESCALE_DSN)")
    args = p.parse_args()
    if not (1 <= args.monitors <= 10_000 and 1 <= args.days <= 30 and args.interval >= 30):
        p.error("--monitors 1..10000, --days 1..30, --interval >= 30")
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
