"""Read-path benchmark: uptime/latency summaries for 24 h, 7 d, 30 d and 90 d.

One monitor has 90 days of 1-minute results (129,600 raw rows, rolled up by the real
plain-mode rollup code); 999 other monitors have 90 days of hourly and daily rollup rows,
so the indexes are as deep as a 1,000-monitor installation's. Each period's summary is
read through the query layer the API and the bots use.

    .venv/bin/python bench/queries.py --runs 200
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, fresh_database, machine, percentile
from lighthouse.core.storage import rollups

DAYS = 90


async def run(args: argparse.Namespace) -> dict[str, object]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    async with fresh_database() as (pool, _dsn):
        ids = [r["id"] for r in await pool.fetch(
            """
            WITH u AS (INSERT INTO users (tier) VALUES ('pro') RETURNING id)
            INSERT INTO monitors (owner_id, name, type, config, interval_s, tier, next_due)
            SELECT u.id, 'm' || g, 'http', '{}'::jsonb, 60, 'pro', now()
            FROM u, generate_series(1, $1) g RETURNING id
            """,
            args.monitors,
        )]
        subject, others = ids[0], ids[1:]
        t = time.perf_counter()
        await pool.execute(
            """
            INSERT INTO check_history (time, monitor_id, ok, status_code, latency_ms)
            SELECT $2::timestamptz - make_interval(mins => g), $1, random() > 0.001, 200,
                   (40 + 80 * random() ^ 3)::int
            FROM generate_series(0, $3 * 1440 - 1) g
            """,
            subject, now, DAYS,
        )
        await rollups.refresh_hourly(pool, now - timedelta(days=DAYS + 1), now + timedelta(hours=1))
        await rollups.refresh_daily(pool, now - timedelta(days=DAYS + 1), now + timedelta(days=1))
        subject_s = time.perf_counter() - t
        hist = [0] * 57
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
        await pool.execute("ANALYZE")
        raw_rows = await pool.fetchval("SELECT count(*) FROM check_history")
        hourly_rows = await pool.fetchval("SELECT count(*) FROM hourly_metrics")
        timings: dict[str, list[float]] = {p: [] for p in rollups.PERIODS}
        windows = {}
        for _ in range(args.runs):
            for period in rollups.PERIODS:
                t = time.perf_counter()
                [w] = await rollups.uptime_windows(pool, subject, now, periods=(period,))
                timings[period].append((time.perf_counter() - t) * 1000)
                windows[period] = w
    return {
        "bench": "queries", "monitors": args.monitors, "raw_rows": raw_rows,
        "hourly_rows": hourly_rows, "setup_s": round(subject_s, 1),
        "ms": {p: round(statistics.median(v), 3) for p, v in timings.items()},
        "ms_p99": {p: round(percentile(v, 0.99) or 0, 3) for p, v in timings.items()},
        "checks": {p: w.checks for p, w in windows.items()},
        "uptime": {p: round(w.uptime or 0, 5) for p, w in windows.items()},
        "p95_ms": {p: round(w.p95_latency_ms or 0, 1) for p, w in windows.items()},
        "runs": args.runs, "machine": machine(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--monitors", type=int, default=1000)
    p.add_argument("--runs", type=int, default=200)
    args = p.parse_args()
    if not (2 <= args.monitors <= 10_000 and 1 <= args.runs <= 10_000):
        p.error("--monitors 2..10000, --runs 1..10000")
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
