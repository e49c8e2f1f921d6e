"""Read-path benchmark: uptime/latency summaries for 24 h, 7 d, 30 d and 90 d, and the
monitor read with its latest result, on plain PostgreSQL and on TimescaleDB.

1,000 monitors, all created 91 days ago. The measured monitor has 90 days of 1-minute
results (129,600 raw rows) and went UP at its first check (the last row write, so the
result writer left last_check_at 90 days back); 997 others have 90 days of hourly results
(2.16 M raw rows), so the indexes and chunks are as deep as a 1,000-monitor installation's;
one of them was paused 3 days ago (its latest result is older than the recent window the
read looks in first); one monitor has never been checked (the worst case for a "latest
result" probe: nothing to find).

- Plain path (the embedded PostgreSQL, or a plain server given with --dsn): the measured
  monitor is rolled up by the real plain-mode rollup code (core/storage/rollups.py); the
  others' rollup rows are inserted directly.
- TimescaleDB path (--dsn of a server with the extension, e.g. the one docker-compose.yml
  runs, or the throwaway server the TimescaleDB-mode tests use): the continuous aggregates are
  refreshed as their policies would leave them (up to one hour before now), and chunks
  older than 7 days are compressed, as the compression policy would.

Each figure goes through the query layer the API and the bots use. Every --dsn (default:
LIGHTHOUSE_TEST_TIMESCALE_DSN when set) is measured, and the embedded plain PostgreSQL
too unless a plain server was among them; a table of both paths goes to stderr and the
JSON line holds both.

    .venv/bin/python bench/queries.py --runs 200
    .venv/bin/python bench/queries.py --runs 200 --dsn "$LIGHTHOUSE_TEST_TIMESCALE_DSN"
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import asyncpg
from _common import emit, fresh_database, machine, percentile
from lighthouse.core.storage import monitors, rollups
from lighthouse.core.storage.database import Pool, create_pool, migrate, storage_mode

DAYS = 90


@asynccontextmanager
async def database_on(dsn: str) -> AsyncIterator[tuple[Pool, str]]:
    """A fresh, migrated database on the server at ``dsn`` (its user needs CREATEDB)."""
    name = f"lh_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        db_dsn = urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))
        pool = await create_pool(db_dsn, min_size=2, max_size=20)
        try:
            await migrate(pool)
            yield pool, db_dsn
        finally:
            await pool.close()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


def _floor(t: datetime, step: timedelta) -> datetime:
    s = int(step.total_seconds())
    return datetime.fromtimestamp(int(t.timestamp()) // s * s, UTC)


async def _seed(pool: Pool, n: int, now: datetime) -> tuple[int, int, uuid.UUID, uuid.UUID]:
    rows = await pool.fetch(
        """
        WITH u AS (INSERT INTO users (tier) VALUES ('pro') RETURNING id)
        INSERT INTO monitors (owner_id, name, type, config, interval_s, tier, next_due,
                              created_at, state)
        SELECT u.id, 'm' || g, 'http', '{}'::jsonb, 60, 'pro', now(),
               $2::timestamptz - interval '91 days', 'up'
        FROM u, generate_series(1, $1) g RETURNING id, public_id
        """,
        n, now,
    )
    subject, quiet = rows[0], rows[-1]
    await pool.execute(
        """
        INSERT INTO check_history (time, monitor_id, ok, status_code, latency_ms)
        SELECT $2::timestamptz - make_interval(mins => g), $1, random() > 0.001, 200,
               (40 + 80 * random() ^ 3)::int
        FROM generate_series(0, $3 * 1440 - 1) g
        """,
        subject["id"], now, DAYS,
    )
    # As the result writer leaves a healthy monitor: its row last written by the check
    # that took it from pending to UP, 90 days ago (core/storage/results.py).
    await pool.execute(
        "UPDATE monitors SET last_check_at = $2::timestamptz - make_interval(days => $3), "
        "last_ok = true, last_latency_ms = 50 WHERE id = $1",
        subject["id"], now, DAYS,
    )
    await pool.execute("UPDATE monitors SET state = 'pending' WHERE id = $1", quiet["id"])
    return subject["id"], quiet["id"], subject["public_id"], quiet["public_id"]


async def _pause(pool: Pool, monitor_id: int, now: datetime) -> uuid.UUID:
    """``monitor_id`` (hourly results, UP for 90 days) as if paused 3 days ago."""
    paused_at = now - timedelta(days=3)
    await pool.execute("DELETE FROM check_history WHERE monitor_id = $1 AND time > $2",
                       monitor_id, paused_at)
    return uuid.UUID(str(await pool.fetchval(
        "UPDATE monitors SET state = 'paused', state_since = $2, last_ok = true, "
        "last_check_at = $2::timestamptz - make_interval(days => $3) "
        "WHERE id = $1 RETURNING public_id",
        monitor_id, paused_at, DAYS - 3,
    )))


async def _others_raw(pool: Pool, others: list[int], now: datetime) -> None:
    await pool.execute(
        """
        INSERT INTO check_history (time, monitor_id, ok, status_code, latency_ms)
        SELECT date_trunc('hour', $2::timestamptz) - make_interval(hours => g) + interval '7 min',
               m, true, 200, 80
        FROM generate_series(0, $3 * 24 - 1) g, unnest($1::bigint[]) m
        ORDER BY 1, 2
        """,
        others, now, DAYS,
    )


async def _prepare_plain(pool: Pool, subject: int, others: list[int], now: datetime) -> None:
    await rollups.refresh_hourly(pool, now - timedelta(days=DAYS + 1), now + timedelta(hours=1))
    await rollups.refresh_daily(pool, now - timedelta(days=DAYS + 1), now + timedelta(days=1))
    await _others_raw(pool, others, now)
    hist = [0] * (rollups.HIST_BUCKETS + 2)
    hist[22] = 60
    for table, step, n in (("hourly_metrics", "hour", DAYS * 24), ("daily_metrics", "day", DAYS)):
        await pool.execute(
            f"""
            INSERT INTO {table} (monitor_id, bucket, checks, ok_checks, avg_latency_ms,
                min_latency_ms, max_latency_ms, p50_latency_ms, p95_latency_ms, p99_latency_ms,
                latency_hist)
            SELECT m, date_trunc('{step}', $2::timestamptz) - make_interval({step}s => g),
                   60, 60, 80, 40, 120, 80, 110, 118, $3::int[]
            FROM unnest($1::bigint[]) m, generate_series(0, $4 - 1) g
            """,
            others, now, hist, n,
        )


async def _prepare_timescaledb(pool: Pool, now: datetime) -> None:
    # As the refresh policies leave them (end_offset 1 hour, sql/0002_history.timescaledb.sql):
    # whole buckets only, the last hour and the open day left to the real-time part.
    start = _floor(now - timedelta(days=DAYS + 1), timedelta(days=1))
    end = now - timedelta(hours=1)
    for view, step in (("hourly_metrics", timedelta(hours=1)), ("daily_metrics", timedelta(days=1))):
        await pool.execute(
            f"CALL refresh_continuous_aggregate('{view}', $1::timestamptz, $2::timestamptz)",
            start, _floor(end, step),
        )
    await pool.execute(
        "SELECT compress_chunk(c, if_not_compressed => true) "
        "FROM show_chunks('check_history', older_than => $1::timestamptz) c",
        now - timedelta(days=7),
    )


async def measure(pool: Pool, runs: int, now: datetime, monitors_n: int) -> dict[str, object]:
    mode = await storage_mode(pool)
    t = time.perf_counter()
    subject, quiet, subject_pid, quiet_pid = await _seed(pool, monitors_n, now)
    others = [
        r["id"] for r in await pool.fetch(
            "SELECT id FROM monitors WHERE id <> ALL($1::bigint[]) ORDER BY id", [subject, quiet]
        )
    ]
    if mode == "timescaledb":
        await _others_raw(pool, others, now)
        paused_pid = await _pause(pool, others[0], now)
        await _prepare_timescaledb(pool, now)
    else:
        await _prepare_plain(pool, subject, others, now)
        paused_pid = await _pause(pool, others[0], now)
    await pool.execute("ANALYZE")
    setup_s = time.perf_counter() - t
    raw_rows = await pool.fetchval("SELECT count(*) FROM check_history")
    hourly_rows = await pool.fetchval("SELECT count(*) FROM hourly_metrics")
    chunks = (
        await pool.fetchval("SELECT count(*) FROM show_chunks('check_history')")
        if mode == "timescaledb" else 0
    )
    timings: dict[str, list[float]] = {p: [] for p in rollups.PERIODS}
    timings["latest"] = []
    timings["latest_unchecked"] = []
    timings["latest_paused"] = []
    # The machine's floor in the same loop: one round trip doing nothing, and a fixed
    # 20,000-step Python loop with no I/O at all (about 0.2 ms). On a shared machine their
    # p99 shows how much of every p99 here is the scheduler, not the query.
    timings["select_1"] = []
    timings["cpu_loop"] = []
    windows = {}
    for _ in range(runs):
        for period in rollups.PERIODS:
            t = time.perf_counter()
            [w] = await rollups.uptime_windows(pool, subject, now, periods=(period,), mode=mode)
            timings[period].append((time.perf_counter() - t) * 1000)
            windows[period] = w
        for key, pid in (("latest", subject_pid), ("latest_unchecked", quiet_pid),
                         ("latest_paused", paused_pid)):
            t = time.perf_counter()
            row = await monitors.by_public_id(pool, pid)
            timings[key].append((time.perf_counter() - t) * 1000)
            assert row is not None
            if key == "latest":
                assert now - row["last_check_at"] < timedelta(minutes=2), row["last_check_at"]
            elif key == "latest_paused":
                assert now - row["last_check_at"] < timedelta(days=3, hours=2), row["last_check_at"]
            else:
                assert row["last_check_at"] is None
        t = time.perf_counter()
        await pool.fetchval("SELECT 1")
        timings["select_1"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        sum(range(20_000))
        timings["cpu_loop"].append((time.perf_counter() - t) * 1000)
    return {
        "mode": mode, "raw_rows": raw_rows, "hourly_rows": hourly_rows, "chunks": chunks,
        "setup_s": round(setup_s, 1),
        "ms": {p: round(statistics.median(v), 3) for p, v in timings.items()},
        "ms_p99": {p: round(percentile(v, 0.99) or 0, 3) for p, v in timings.items()},
        "checks": {p: w.checks for p, w in windows.items()},
        "uptime": {p: round(w.uptime or 0, 5) for p, w in windows.items()},
        "p95_ms": {p: round(w.p95_latency_ms or 0, 1) for p, w in windows.items()},
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    paths: dict[str, object] = {}
    for dsn in args.dsn:
        async with database_on(dsn) as (pool, _dsn):
            figures = await measure(pool, args.runs, now, args.monitors)
        paths[str(figures.pop("mode"))] = figures
    if "plain" not in paths and not args.no_embedded:
        async with fresh_database() as (pool, _dsn):
            figures = await measure(pool, args.runs, now, args.monitors)
        paths[str(figures.pop("mode"))] = figures
    return {"bench": "queries", "monitors": args.monitors, "runs": args.runs, **paths,
            "machine": machine()}


def table(result: dict[str, object]) -> str:
    """Median / p99 ms of each query on each path, one row per query."""
    paths = [p for p in ("plain", "timescaledb") if isinstance(result.get(p), dict)]
    lines = ["| query | " + " | ".join(f"{p} median / p99 ms" for p in paths) + " |",
             "|---|" + "---|" * len(paths)]
    keys = [*rollups.PERIODS, "latest", "latest_unchecked", "latest_paused", "select_1", "cpu_loop"]
    for key in keys:
        cells = []
        for p in paths:
            figures = result[p]
            assert isinstance(figures, dict)
            cells.append(f"{figures['ms'][key]:.3f} / {figures['ms_p99'][key]:.3f}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--monitors", type=int, default=1000)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--dsn", action="append",
                   help="a PostgreSQL or TimescaleDB server to measure as well (a throwaway "
                        "database is created on it and dropped); repeatable; default: "
                        "LIGHTHOUSE_TEST_TIMESCALE_DSN when set")
    p.add_argument("--no-embedded", action="store_true",
                   help="measure only the --dsn server, not the embedded plain PostgreSQL")
    args = p.parse_args()
    if args.dsn is None:
        env = os.environ.get("LIGHTHOUSE_TEST_TIMESCALE_DSN")
        args.dsn = [env] if env else []
    if not (3 <= args.monitors <= 10_000 and 1 <= args.runs <= 10_000):
        p.error("--monitors 3..10000, --runs 1..10000")
    if args.no_embedded and not args.dsn:
        p.error("--no-embedded needs --dsn")
    result = asyncio.run(run(args))
    print(table(result), file=sys.stderr, flush=True)
    emit(result)


if __name__ == "__main__":
    main()
