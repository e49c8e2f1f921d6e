"""Many processes: N `lighthouse worker` processes share one PostgreSQL.

One embedded PostgreSQL and Redis, HTTP monitors against local target servers in a
separate process (bench/scheduler.py's), and for each N a fresh database cloned from one
template. Each worker is the real CLI (`lighthouse worker`: scheduler and alert delivery)
started as a subprocess with its own /metrics port. In a steady window it measures:

- checks/s from the history table (rows written in the window) and from the workers;
- transactions/s: PostgreSQL's own count (pg_stat_database.xact_commit delta) and the
  workers' split (lighthouse_claim_queries_total, lighthouse_result_write_transactions_total);
- duplicates: the same monitor checked twice for one due time (interval slot), over the
  whole run: due times claimed twice (a trigger in the bench database logs every claim) plus
  history rows beyond their monitor's claims (each claim runs at most one check);
- takeover (N >= 2): all but --takeover-monitors monitors are deleted (below capacity: in a
  backlog every due monitor waits its turn, which is capacity, not takeover), the backlog
  drains, and one worker is killed with SIGKILL; for every monitor it held a lease on, the
  time until another worker checks it, against the lease period.

The default load (60,000 monitors at 30 s, 2,000 checks/s) is above what one 2-core machine
runs for workers, PostgreSQL and targets together, so checks/s is the capacity.

    .venv/bin/python bench/workers.py                      # N = 1, 2, 4, 8
    .venv/bin/python bench/workers.py --workers 4 --monitors 30000 --interval 30 --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine, percentile
from lighthouse.core.embedded import EmbeddedPostgres, EmbeddedRedis
from lighthouse.core.storage.database import create_pool, migrate
from lighthouse.core.storage.schedule import CLAIM_LEASE_S
from scheduler import insert_monitors, start_targets, urls

TEMPLATE = "lh_bench_template"
# Counters summed over the workers' /metrics (name without the _total suffix the parser drops).
COUNTERS = {
    "checks": "lighthouse_checks",
    "claims": "lighthouse_claim_queries",
    "claimed": "lighthouse_monitors_claimed",
    "writes": "lighthouse_result_write_transactions",
}


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen[bytes]
    api_port: int
    metrics_port: int


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_worker(name: str, dsn: str, redis_url: str, workdir: Path,
                 args: argparse.Namespace) -> Worker:
    api_port, metrics_port = free_port(), free_port()
    data = workdir / name
    data.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ, "DATABASE_URL": dsn, "REDIS_URL": redis_url,
        "API_HOST": "127.0.0.1", "API_PORT": str(api_port), "METRICS_PORT": str(metrics_port),
        "LIGHTHOUSE_DATA_DIR": str(data), "LIGHTHOUSE_INSTANCE_ID": name,
        "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS": "1", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "text",
        "LIGHTHOUSE_MAX_CONCURRENT_CHECKS": str(args.concurrency),
        "LIGHTHOUSE_PER_HOST_CONCURRENCY": str(args.per_host),
    }
    env.pop("LIGHTHOUSE_CONFIG", None)
    log = open(data / "worker.log", "wb")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen([sys.executable, "-m", "lighthouse.cli", "worker"], env=env,
                            cwd=data, stdout=log, stderr=subprocess.STDOUT)
    return Worker(name, proc, api_port, metrics_port)


async def wait_healthy(session: aiohttp.ClientSession, workers: list[Worker],
                       timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    for w in workers:
        while True:
            if w.proc.poll() is not None:
                raise RuntimeError(f"{w.name} exited with {w.proc.returncode}")
            try:
                async with session.get(f"http://127.0.0.1:{w.api_port}/health") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{w.name} did not become healthy")
            await asyncio.sleep(0.2)


async def scrape(session: aiohttp.ClientSession, workers: list[Worker]) -> dict[str, float]:
    totals = dict.fromkeys(COUNTERS, 0.0)
    by_family = {v: k for k, v in COUNTERS.items()}
    for w in workers:
        if w.proc.poll() is not None:
            continue
        async with session.get(f"http://127.0.0.1:{w.metrics_port}/metrics") as r:
            text = await r.text()
        for family in text_string_to_metric_families(text):
            key = by_family.get(family.name)
            if key is None:
                continue
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    totals[key] += sample.value
    return totals


async def xact_commit(conn: asyncpg.Connection, db: str) -> int:
    value = await conn.fetchval(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", db)
    return int(value)


async def prepare_template(pg: EmbeddedPostgres, admin: asyncpg.Connection,
                           targets: list[str], interval_s: int) -> None:
    await admin.execute(f"CREATE DATABASE {TEMPLATE}")
    pool = await create_pool(pg.dsn(TEMPLATE), min_size=1, max_size=2)
    try:
        await migrate(pool)
        await insert_monitors(pool, targets, interval_s)
        await pool.execute(CLAIM_LOG)
    finally:
        await pool.close()


# The bench database only: every claim (an UPDATE that moves next_due forward) is logged
# with the due time it claimed. A duplicate check needs a due time claimed twice, since each
# claim runs at most one check; and no monitor may have more history rows than claims.
CLAIM_LOG = """
CREATE TABLE bench_claims (id bigint, due timestamptz, claimed_at timestamptz, worker text);
CREATE FUNCTION bench_log_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_claims
    SELECT n.id, o.next_due, now(), n.claimed_by
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.next_due > o.next_due;
    RETURN NULL;
END $$;
CREATE TRIGGER bench_log_claims AFTER UPDATE ON monitors
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bench_log_claims();
"""

DUPLICATES = """
SELECT (SELECT count(*) - count(DISTINCT (id, due)) FROM bench_claims) AS claimed_twice,
       (SELECT coalesce(sum(greatest(0, h.n - coalesce(c.n, 0))), 0)
        FROM (SELECT monitor_id, count(*) AS n FROM check_history GROUP BY 1) h
        LEFT JOIN (SELECT id, count(*) AS n FROM bench_claims GROUP BY 1) c
          ON c.id = h.monitor_id) AS checks_beyond_claims,
       (SELECT count(*) FROM bench_claims) AS claims
"""

# For each monitor the victim held a lease on when it died: when another worker next
# checked it (NULL: not within the observation).
TAKEOVER = """
SELECT l.id, l.claimed_until,
       (SELECT min(h.time) FROM check_history h
        WHERE h.monitor_id = l.id AND h.time > $2 AND h.worker_id <> $1) AS taken_at
FROM unnest($3::bigint[], $4::timestamptz[]) AS l(id, claimed_until)
"""


async def run_one(n: int, args: argparse.Namespace, pg: EmbeddedPostgres,
                  admin: asyncpg.Connection, redis_url: str, workdir: Path,
                  session: aiohttp.ClientSession) -> dict[str, Any]:
    db = f"lh_bench_w{n}"
    await admin.execute(f"DROP DATABASE IF EXISTS {db}")
    await admin.execute(f"CREATE DATABASE {db} TEMPLATE {TEMPLATE}")
    dsn = pg.dsn(db)
    conn = await asyncpg.connect(dsn)
    workers: list[Worker] = []
    try:
        # Spread the first due times again from now: the template's are in the past.
        await conn.execute(
            "UPDATE monitors SET next_due = now() + interval '3 seconds' "
            "+ make_interval(secs => random() * interval_s)")
        await conn.execute("TRUNCATE bench_claims")  # the line above is no claim
        workers = [start_worker(f"w{n}-{i}", dsn, redis_url, workdir, args) for i in range(n)]
        await wait_healthy(session, workers)
        await asyncio.sleep(args.warmup)
        t0, m0, x0 = await conn.fetchval("SELECT now()"), await scrape(session, workers), \
            await xact_commit(conn, db)
        await asyncio.sleep(args.duration)
        t1, m1, x1 = await conn.fetchval("SELECT now()"), await scrape(session, workers), \
            await xact_commit(conn, db)
        window = (t1 - t0).total_seconds()
        rows = await conn.fetchval(
            "SELECT count(*) FROM check_history WHERE time >= $1 AND time < $2", t0, t1)
        rate = {k: (m1[k] - m0[k]) / window for k in COUNTERS}
        result: dict[str, Any] = {
            "workers": n, "window_s": round(window, 1),
            "demand_per_s": round(args.monitors / args.interval, 1),
            "checks_per_s": round(rows / window, 1),
            "checks_per_s_workers": round(rate["checks"], 1),
            "xact_per_s": round((x1 - x0) / window, 1),
            "claim_tx_per_s": round(rate["claims"], 1),
            "monitors_per_claim": round(rate["claimed"] / rate["claims"], 1) if rate["claims"]
            else None,
            "write_tx_per_s": round(rate["writes"], 1),
        }
        # The rest: health probes, the delivery worker's outbox polls, backlog samples.
        result["other_tx_per_s"] = round(
            result["xact_per_s"] - result["claim_tx_per_s"] - result["write_tx_per_s"], 1)
        if n >= 2:
            # Takeover is measured below capacity: in a backlog every due monitor waits its
            # turn, the dead worker's as much as any, and that is capacity, not takeover.
            await conn.execute("DELETE FROM monitors WHERE id > $1", args.takeover_monitors)
            result["backlog_drained_s"] = await drain(conn, args)
            result.update(await kill_one(workers[0], conn, args))
        for w in workers:
            if w.proc.poll() is None:
                w.proc.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait()
        dup = await conn.fetchrow(DUPLICATES)
        result["duplicates"] = int(dup["claimed_twice"]) + int(dup["checks_beyond_claims"])
        result["claims_logged"] = int(dup["claims"])
        result["history_rows"] = int(await conn.fetchval("SELECT count(*) FROM check_history"))
        size = await conn.fetchrow(
            "SELECT pg_total_relation_size('check_history') AS total, "
            "pg_relation_size('check_history') AS heap")
        if result["history_rows"]:
            result["bytes_per_row"] = round(size["total"] / result["history_rows"], 1)
            result["heap_bytes_per_row"] = round(size["heap"] / result["history_rows"], 1)
        return result
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait()
        await conn.close()
        await admin.execute(f"DROP DATABASE IF EXISTS {db}")


async def drain(conn: asyncpg.Connection, args: argparse.Namespace) -> float | None:
    """Seconds until no monitor is overdue by more than 2 s (None: not within 3 intervals)."""
    started = time.monotonic()
    while time.monotonic() - started < 3 * args.interval:
        overdue = await conn.fetchval(
            "SELECT count(*) FROM monitors WHERE next_due < now() - interval '2 seconds' "
            "AND (claimed_until IS NULL OR claimed_until <= now())")
        if overdue == 0:
            waited = time.monotonic() - started
            await asyncio.sleep(5)  # the results of the last overdue checks are written
            return round(waited, 1)
        await asyncio.sleep(1)
    return None


async def kill_one(victim: Worker, conn: asyncpg.Connection,
                   args: argparse.Namespace) -> dict[str, Any]:
    """SIGKILL one worker; how long until its leased monitors are checked by another."""
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait()
    killed_at = await conn.fetchval("SELECT now()")
    # A dead worker's claims stay on the rows until someone claims them again, which is
    # only possible once claimed_until has passed: this is what it held.
    held = await conn.fetch(
        "SELECT id, claimed_until FROM monitors WHERE claimed_by = $1 AND claimed_until > $2",
        victim.name, killed_at)
    lease_s = min(float(CLAIM_LEASE_S), float(args.interval))
    await asyncio.sleep(lease_s + 5)
    rows = await conn.fetch(TAKEOVER, victim.name, killed_at, [r["id"] for r in held],
                            [r["claimed_until"] for r in held])
    delays = [(r["taken_at"] - killed_at).total_seconds() for r in rows if r["taken_at"]]
    return {
        "killed_leases": len(held),
        "taken_over": len(delays),
        "takeover_p50_s": round(percentile(delays, 0.5) or 0, 2),
        "takeover_max_s": round(max(delays), 2) if delays else None,
        "lease_period_s": lease_s,
        "takeover_within_lease": bool(held) and len(delays) == len(held)
        and max(delays) <= lease_s,
    }


def table(results: list[dict[str, Any]]) -> str:
    cols = ["workers", "demand_per_s", "checks_per_s", "xact_per_s", "claim_tx_per_s",
            "monitors_per_claim", "write_tx_per_s", "duplicates", "killed_leases",
            "taken_over", "takeover_p50_s", "takeover_max_s", "lease_period_s"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in results:
        lines.append("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="lh-bench-workers-", dir="/tmp"))
    port = args.port
    targets_proc = start_targets(args.hosts, port, 3600)
    pg = EmbeddedPostgres(workdir / "pg")
    rd = EmbeddedRedis(workdir / "redis")
    results: list[dict[str, Any]] = []
    try:
        admin_dsn = await pg.start()
        redis_url = await rd.start()
        admin = await asyncpg.connect(admin_dsn)
        try:
            await prepare_template(pg, admin, urls(args.monitors, args.hosts, port),
                                   args.interval)
            async with aiohttp.ClientSession() as session:
                for n in args.workers:
                    figures = await run_one(n, args, pg, admin, redis_url, workdir, session)
                    print(figures, flush=True)
                    results.append(figures)
        finally:
            await admin.close()
    finally:
        targets_proc.terminate()
        targets_proc.wait(timeout=10)
        await rd.stop()
        await pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(table(results), flush=True)
    return {"bench": "workers", "monitors": args.monitors, "interval_s": args.interval,
            "duration_s": args.duration, "runs": results, "machine": machine()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--monitors", type=int, default=60_000)
    p.add_argument("--interval", type=int, default=30)  # the shortest a monitor may have
    p.add_argument("--duration", type=float, default=30.0)
    # Past one interval every monitor has been checked once and is UP: healthy rows keep
    # their lease until the next due time, the state a long-running worker is killed in.
    p.add_argument("--warmup", type=float, default=None, help="default: interval + 5 s")
    p.add_argument("--takeover-monitors", type=int, default=3000,
                   help="monitors kept for the kill test (below capacity)")
    p.add_argument("--concurrency", type=int, default=500)
    p.add_argument("--per-host", type=int, default=64)
    p.add_argument("--hosts", type=int, default=16)
    p.add_argument("--port", type=int, default=19000 + os.getpid() % 1000)
    args = p.parse_args()
    if args.warmup is None:
        args.warmup = args.interval + 5.0
    if not all(1 <= n <= 32 for n in args.workers):
        p.error("--workers must be 1..32")
    if not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 600:
        p.error("--duration must be 1..600 s, --warmup 0..600 s")
    # SIGTERM unwinds like Ctrl-C, so the workers, PostgreSQL and the targets are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    emit(asyncio.run(run(args)))


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
