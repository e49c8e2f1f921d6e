"""Scheduler benchmark: N HTTP monitors at interval I against local target servers.

Runs the real claim loop, HTTP checks, state machine and batched writes on an embedded
PostgreSQL; the targets run in a separate process (as they would on other machines).
Prints checks/s, schedule lag p50/p99, missed checks, peak RSS, and the same run's raw
aiohttp ceiling (a plain loop of the same requests at the same concurrency).

    .venv/bin/python bench/scheduler.py --monitors 10000 --interval 30 --duration 60
    .venv/bin/python bench/scheduler.py --monitors 10000 --interval 2 --duration 20  # saturate
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, fresh_database, machine, percentile, rss_mb
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.http_client import make_session
from lighthouse.core.metrics import Metrics
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.scheduler import Scheduler
from lighthouse.core.storage.database import Pool
from lighthouse.core.storage.results import ResultWriter

TARGET_SERVER = r"""
import asyncio, sys
from aiohttp import web
async def ok(_):
    return web.Response(text='{"status":"ok"}', content_type="application/json")
async def main():
    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    hosts = int(sys.argv[1]); port = int(sys.argv[2])
    for i in range(hosts):
        await web.TCPSite(runner, f"127.0.0.{i + 1}", port, backlog=4096).start()
    print("ready", flush=True)
    await asyncio.sleep(float(sys.argv[3]))
asyncio.run(main())
"""


def start_targets(hosts: int, port: int, lifetime_s: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", TARGET_SERVER, str(hosts), str(port),
                             str(lifetime_s)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        raise RuntimeError("target server did not start")
    return proc


def urls(n: int, hosts: int, port: int) -> list[str]:
    return [f"http://127.0.0.{i % hosts + 1}:{port}/m/{i}" for i in range(n)]


async def insert_monitors(pool: Pool, targets: list[str], interval_s: int) -> None:
    """One HTTP monitor per URL, first due spread over one interval from 2 s on."""
    await pool.execute(
        """
        WITH u AS (INSERT INTO users (tier) VALUES ('enterprise') RETURNING id)
        INSERT INTO monitors (owner_id, name, type, config, target_host, interval_s,
                              tier, next_due)
        SELECT u.id, 'm' || g, 'http', jsonb_build_object('url', t.url),
               split_part(split_part(t.url, '//', 2), ':', 1), $2::int, 'enterprise',
               now() + interval '2 seconds' + make_interval(secs => random() * $2::int)
        FROM u, unnest($1::text[]) WITH ORDINALITY AS t(url, g)
        """,
        targets, interval_s,
    )


async def raw_ceiling(targets: list[str], concurrency: int, seconds: float) -> float:
    """A plain aiohttp loop over the same URLs: the most this machine does without us."""
    done = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker(offset: int) -> None:
            nonlocal done
            i = offset
            while time.monotonic() < deadline:
                async with session.get(targets[i % len(targets)]) as resp:
                    await resp.read()
                done += 1
                i += concurrency
        started = time.monotonic()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        return done / (time.monotonic() - started)


async def run(args: argparse.Namespace) -> dict[str, object]:
    port = args.port
    proc = start_targets(args.hosts, port, args.duration * 3 + 120)
    try:
        async with fresh_database() as (pool, _dsn):
            targets = urls(args.monitors, args.hosts, port)
            await insert_monitors(pool, targets, args.interval)
            await pool.execute("CREATE TABLE bench_schedule AS SELECT id, next_due, interval_s "
                               "FROM monitors")
            guard = TargetGuard(allow_private=True)
            session = make_session(guard)
            writer = ResultWriter(pool, "bench")
            writer.start()
            scheduler = Scheduler(
                pool, CheckContext(session, guard), writer, Metrics(), worker_id="bench",
                max_concurrency=args.concurrency, per_host_concurrency=args.per_host,
                tick_s=args.tick,
            )
            t0 = time.monotonic()
            window_start = await pool.fetchval("SELECT now()")
            scheduler.start()
            await asyncio.sleep(args.duration)
            window_end = await pool.fetchval("SELECT now()")
            checks = scheduler.checks_run
            elapsed = time.monotonic() - t0
            lags = list(scheduler.lags)
            await scheduler.stop()
            await session.close()
            # A due slot inside the window (less 2 s of grace at the end) with no check is missed.
            missed = await pool.fetchval(
                """
                WITH slots AS (
                    SELECT b.id, count(*) AS expected
                    FROM bench_schedule b,
                         generate_series(b.next_due, $2::timestamptz,
                                         make_interval(secs => b.interval_s)) AS due
                    WHERE due >= $1::timestamptz AND due < $2::timestamptz - interval '2 seconds'
                    GROUP BY b.id
                ), got AS (SELECT monitor_id, count(*) AS n FROM check_history GROUP BY 1)
                SELECT coalesce(sum(greatest(0, s.expected - coalesce(g.n, 0))), 0)
                FROM slots s LEFT JOIN got g ON g.monitor_id = s.id
                """,
                window_start, window_end,
            )
            rows = await pool.fetchval("SELECT count(*) FROM check_history")
            failed = await pool.fetchval("SELECT count(*) FROM check_history WHERE NOT ok")
        ceiling = await raw_ceiling(targets, args.concurrency, min(10.0, args.duration / 2))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    checks_per_s = checks / elapsed
    return {
        "bench": "scheduler", "monitors": args.monitors, "interval_s": args.interval,
        "duration_s": args.duration, "demand_per_s": round(args.monitors / args.interval, 1),
        "checks_per_s": round(checks_per_s, 1), "rows_written": rows, "failed_checks": failed,
        "lag_p50_s": round(percentile(lags, 0.5) or 0, 4),
        "lag_p99_s": round(percentile(lags, 0.99) or 0, 4),
        "missed": int(missed), "rss_mb": round(rss_mb(), 1),
        "raw_ceiling_per_s": round(ceiling, 1),
        "ratio_to_ceiling": round(checks_per_s / ceiling, 3) if ceiling else None,
        "concurrency": args.concurrency, "machine": machine(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--monitors", type=int, default=10_000)
    p.add_argument("--interval", type=int, default=30)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--concurrency", type=int, default=500)
    p.add_argument("--per-host", type=int, default=64)
    p.add_argument("--hosts", type=int, default=16)
    p.add_argument("--tick", type=float, default=0.25)
    p.add_argument("--port", type=int, default=18000 + os.getpid() % 1000)
    args = p.parse_args()
    if not 1 <= args.duration <= 600:
        p.error("--duration must be 1..600 s")
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
