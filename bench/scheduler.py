"""Scheduler benchmark: N HTTP monitors at interval I against local target servers.

Runs the real claim loop, HTTP checks, state machine and batched writes on an embedded
PostgreSQL; the targets run in a separate process (as they would on other machines).
Prints checks/s, schedule lag p50/p99, missed checks, peak RSS, and the same run's raw
aiohttp ceiling (a plain loop of the same requests at the same concurrency, half of it
before the scheduler's window and half after).

    .venv/bin/python bench/scheduler.py --monitors 10000 --interval 30 --duration 60
    .venv/bin/python bench/scheduler.py --monitors 300000 --interval 30 --duration 40 --warmup 150
    .venv/bin/python bench/scheduler.py --monitors 300000 --interval 30 --duration 40 --warmup 150 --rounds 4

The second and third are saturated, measured on a fleet that has run (every monitor
checked once). With ``--rounds N`` the window is cut into N parts with a raw loop
before each and after the last, the scheduler paused (it claims nothing and its claims
drain) while the raw loop runs: a VM whose speed drifts within the run then moves each
part's two figures alike, and the ratio is given per part and as their median.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, fresh_database, machine, percentile, rss_mb
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.http_client import make_session
from lighthouse.core.metrics import Metrics
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.scheduler import Scheduler, tune_gc
from lighthouse.core.storage.database import Pool
from lighthouse.core.storage.results import ResultWriter

# The target servers stand for the monitored sites on other machines: they must cost as
# little as possible here, or the 2 cores go to them and both figures measure the target.
# "minimal" answers every request head with one fixed keep-alive response (an asyncio
# protocol, no HTTP parsing beyond finding the end of each head); "aiohttp" is aiohttp.web.
MINIMAL_TARGET = r"""
import asyncio, sys
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: 15\r\n\r\n" b'{"status":"ok"}')
class Answer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.pending = b""
    def data_received(self, data):
        data = self.pending + data
        heads = data.count(b"\r\n\r\n")  # GET requests: a head and no body
        self.pending = data[data.rfind(b"\r\n\r\n") + 4:] if heads else data
        if heads:
            self.transport.write(RESPONSE * heads)
async def main():
    loop = asyncio.get_running_loop()
    hosts = int(sys.argv[1]); port = int(sys.argv[2])
    for i in range(hosts):
        await loop.create_server(Answer, f"127.0.0.{i + 1}", port, backlog=4096)
    print("ready", flush=True)
    await asyncio.sleep(float(sys.argv[3]))
asyncio.run(main())
"""

AIOHTTP_TARGET = r"""
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


def start_targets(hosts: int, port: int, lifetime_s: float,
                  kind: str = "minimal") -> subprocess.Popen[str]:
    code = MINIMAL_TARGET if kind == "minimal" else AIOHTTP_TARGET
    proc = subprocess.Popen([sys.executable, "-c", code, str(hosts), str(port),
                             str(lifetime_s)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        raise RuntimeError("target server did not start")
    return proc


class CpuMeter:
    """CPU seconds (user + system) spent by each part of the run: this process (the
    scheduler, or the raw loop), the target servers, and the PostgreSQL server with its
    backends. Per check, these say where the two cores went whatever else ran beside us;
    a backend that exits between two readings takes its time with it."""

    _TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, targets_pid: int, postmaster_pid: int | None = None) -> None:
        self._pids = {"scheduler": os.getpid(), "targets": targets_pid}
        self._postmaster = postmaster_pid

    @classmethod
    def _stat(cls, pid: int) -> tuple[int, float] | None:
        """(parent pid, CPU seconds) of ``pid`` from /proc, or None when it is gone."""
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / cls._TICK

    def reading(self) -> dict[str, float]:
        out = {}
        for name, pid in self._pids.items():
            stat = self._stat(pid)
            out[name] = stat[1] if stat else 0.0
        if self._postmaster is not None:
            total = 0.0
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    stat = self._stat(int(entry))
                    if stat and (int(entry) == self._postmaster or stat[0] == self._postmaster):
                        total += stat[1]
            out["postgres"] = total
        return out

    @staticmethod
    def per_item_us(before: dict[str, float], after: dict[str, float],
                    items: int) -> dict[str, float]:
        return {k: round((after[k] - before[k]) * 1e6 / max(items, 1), 1) for k in after}


class GcClock:
    """Seconds the cyclic garbage collector ran in this process (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


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


class PausableScheduler(Scheduler):
    """The scheduler, with a switch that stops its claims (bench only): while paused, what
    it claimed drains and the raw loop has the process to itself. It reaches into the
    scheduler's claim loop (``_room``, ``_claiming``): a tick that is claiming when the
    pause starts stops at its next batch."""

    paused = False

    @property
    def _room(self) -> int:
        return 0 if self.paused else super()._room

    async def pause(self, limit_s: float = 30.0) -> None:
        self.paused = True
        for _ in range(int(limit_s / 0.05)):  # until no claim runs or is made (bounded)
            if self.in_flight == 0 and not self._claiming.locked():
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the scheduler did not drain")


async def raw_ceiling(targets: list[str], concurrency: int, seconds: float,
                      meter: CpuMeter, gc_clock: GcClock,
                      session: aiohttp.ClientSession | None = None,
                      ) -> tuple[float, dict[str, float], float]:
    """A plain aiohttp loop over the same URLs: the most this machine does without us.
    Returns requests/s, the CPU microseconds per request of each process, and the share
    of the time this process spent in the garbage collector. ``session``: one to reuse
    (its connections already open) instead of a new one."""
    if session is None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as own:
            return await raw_ceiling(targets, concurrency, seconds, meter, gc_clock, own)
    done = 0
    deadline = time.monotonic() + seconds

    async def worker(offset: int) -> None:
        nonlocal done
        i = offset
        while time.monotonic() < deadline:
            async with session.get(targets[i % len(targets)]) as resp:
                await resp.read()
            done += 1
            i += concurrency
    started = time.monotonic()
    before, gc_before = meter.reading(), gc_clock.seconds
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    elapsed = time.monotonic() - started
    return (done / elapsed, CpuMeter.per_item_us(before, meter.reading(), done),
            (gc_clock.seconds - gc_before) / elapsed)


async def warm_up(pool: Pool, writer: ResultWriter, limit_s: float) -> float:
    """Run until every monitor has been checked once (at most ``limit_s``); 0 skips.

    Without it every check of a short saturated run is its monitor's first: a config
    parse, a full claim and a state write (pending -> up) that a running fleet does not
    pay. Returns the seconds it took; the measured window starts after it."""
    if limit_s <= 0:
        return 0.0
    started = time.monotonic()
    deadline = started + limit_s
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        pending = await pool.fetchval("SELECT count(*) FROM monitors WHERE state = 'pending'")
        if pending == 0:
            break
    await writer.flush()
    return time.monotonic() - started


async def run(args: argparse.Namespace) -> dict[str, object]:
    port = args.port
    gc_clock = GcClock()
    tune_gc()  # the scheduler's collector settings for both raw runs too (start() sets them)
    proc = start_targets(args.hosts, port, args.duration * 3 + args.warmup + 120, args.target)
    parts: list[dict[str, Any]] = []
    try:
        targets = urls(args.monitors, args.hosts, port)
        # The raw loop brackets the scheduler's window, half before and half after, so a
        # machine whose speed drifts during the run (a shared VM) moves both figures alike;
        # with --rounds it runs between the parts of the window instead (interleaved below).
        raw_s = min(10.0, args.duration / 2)
        raws: list[tuple[float, dict[str, float], float]] = []
        if args.rounds == 1:
            raws.append(await raw_ceiling(targets, args.concurrency, raw_s, CpuMeter(proc.pid),
                                          gc_clock))
        async with fresh_database() as (pool, _dsn):
            await insert_monitors(pool, targets, args.interval)
            await pool.execute("CREATE TABLE bench_schedule AS SELECT id, next_due, interval_s "
                               "FROM monitors")
            guard = TargetGuard(allow_private=True)
            session = make_session(guard)
            writer = ResultWriter(pool, "bench")
            writer.start()
            scheduler = PausableScheduler(
                pool, CheckContext(session, guard), writer, Metrics(), worker_id="bench",
                max_concurrency=args.concurrency, per_host_concurrency=args.per_host,
                tick_s=args.tick, config_cache=max(200_000, args.monitors),
            )
            backend = await pool.fetchval("SELECT pg_backend_pid()")
            postmaster = CpuMeter._stat(backend)
            meter = CpuMeter(proc.pid, postmaster[0] if postmaster else None)
            scheduler.start()
            warmed = await warm_up(pool, writer, args.warmup)
            scheduler.lags.clear()
            window_start = await pool.fetchval("SELECT now()")
            if args.rounds == 1:
                part = await measure(scheduler, meter, gc_clock, args.duration)
                parts.append(part)
            else:
                parts, raws = await interleaved(scheduler, writer, meter, gc_clock, targets,
                                                args, proc.pid)
            window_end = await pool.fetchval("SELECT now()")
            lags = list(scheduler.lags)
            await scheduler.stop()
            await session.close()
            # A due slot inside the window (less 2 s of grace at the end) with no check is
            # missed; with --rounds the pauses leave slots unchecked, so none is counted.
            missed = None if args.rounds > 1 else await pool.fetchval(
                """
                WITH slots AS (
                    SELECT b.id, count(*) AS expected
                    FROM bench_schedule b,
                         generate_series(b.next_due, $2::timestamptz,
                                         make_interval(secs => b.interval_s)) AS due
                    WHERE due >= $1::timestamptz AND due < $2::timestamptz - interval '2 seconds'
                    GROUP BY b.id
                ), got AS (SELECT monitor_id, count(*) AS n FROM check_history
                           WHERE time >= $1::timestamptz GROUP BY 1)
                SELECT coalesce(sum(greatest(0, s.expected - coalesce(g.n, 0))), 0)
                FROM slots s LEFT JOIN got g ON g.monitor_id = s.id
                """,
                window_start, window_end,
            )
            rows = await pool.fetchval("SELECT count(*) FROM check_history")
            failed = await pool.fetchval("SELECT count(*) FROM check_history WHERE NOT ok")
        if args.rounds == 1:
            raws.append(await raw_ceiling(targets, args.concurrency, raw_s, CpuMeter(proc.pid),
                                          gc_clock))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    checks = sum(p["checks"] for p in parts)
    elapsed = sum(p["seconds"] for p in parts)
    checks_per_s = checks / elapsed
    ceiling = statistics.mean(r[0] for r in raws)
    # Each part against the mean of the raw loops on both sides of it.
    part_ratios = [p["checks"] / p["seconds"] / ((raws[i][0] + raws[i + 1][0]) / 2)
                   for i, p in enumerate(parts)]
    cpu_sched = {k: round(sum(p["cpu_s"][k] for p in parts) * 1e6 / max(checks, 1), 1)
                 for k in parts[0]["cpu_s"]}
    cpu_raw = {k: round(statistics.mean(r[1][k] for r in raws), 1) for k in raws[0][1]}
    return {
        "bench": "scheduler", "monitors": args.monitors, "interval_s": args.interval,
        "duration_s": args.duration, "rounds": args.rounds, "warmup_s": round(warmed, 1),
        "demand_per_s": round(args.monitors / args.interval, 1),
        "checks_per_s": round(checks_per_s, 1), "rows_written": rows, "failed_checks": failed,
        "lag_p50_s": round(percentile(lags, 0.5) or 0, 4),
        "lag_p99_s": round(percentile(lags, 0.99) or 0, 4),
        "missed": None if missed is None else int(missed), "rss_mb": round(rss_mb(), 1),
        "raw_ceiling_per_s": round(ceiling, 1),
        "raw_runs_per_s": [round(r[0], 1) for r in raws],
        "ratio_to_ceiling": round(checks_per_s / ceiling, 3) if ceiling else None,
        "ratio_per_part": [round(r, 3) for r in part_ratios],
        "ratio_median": round(statistics.median(part_ratios), 3),
        "cpu_us_per_check": cpu_sched, "raw_cpu_us_per_request": cpu_raw,
        "gc_share": {"scheduler": round(sum(p["gc_s"] for p in parts) / elapsed, 3),
                     "raw": round(statistics.mean(r[2] for r in raws), 3)},
        "target": args.target, "concurrency": args.concurrency, "machine": machine(),
    }


async def measure(scheduler: Scheduler, meter: CpuMeter, gc_clock: GcClock,
                  seconds: float) -> dict[str, Any]:
    """Checks, seconds, CPU seconds by process and collector seconds of ``seconds`` of
    the running scheduler."""
    t0, cpu_before, gc_before = time.monotonic(), meter.reading(), gc_clock.seconds
    checks_before = scheduler.checks_run
    await asyncio.sleep(seconds)
    cpu_after = meter.reading()
    return {"checks": scheduler.checks_run - checks_before, "seconds": time.monotonic() - t0,
            "cpu_s": {k: cpu_after[k] - cpu_before[k] for k in cpu_after},
            "gc_s": gc_clock.seconds - gc_before}


async def interleaved(scheduler: PausableScheduler, writer: ResultWriter, meter: CpuMeter,
                      gc_clock: GcClock, targets: list[str], args: argparse.Namespace,
                      targets_pid: int,
                      ) -> tuple[list[dict[str, Any]], list[tuple[float, dict[str, float], float]]]:
    """raw, part, raw, part, ..., raw: the scheduler paused and drained (its results
    written) while the raw loop runs, resumed for each part of the window."""
    part_s = args.duration / args.rounds
    raw_s = min(5.0, part_s / 2)
    parts, raws = [], []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as raw_session:
        for i in range(args.rounds + 1):
            await scheduler.pause()
            await writer.flush()
            ran = scheduler.checks_run
            raws.append(await raw_ceiling(targets, args.concurrency, raw_s,
                                          CpuMeter(targets_pid), gc_clock, raw_session))
            if scheduler.checks_run != ran:
                raise RuntimeError("the scheduler ran checks while the raw loop measured")
            if i == args.rounds:
                break
            scheduler.paused = False
            parts.append(await measure(scheduler, meter, gc_clock, part_s))
    return parts, raws


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
    p.add_argument("--warmup", type=float, default=0.0,
                   help="seconds at most to run first, until every monitor has been checked "
                        "once; the measured window starts after it (0: no warm-up)")
    p.add_argument("--rounds", type=int, default=1,
                   help="parts of the window, with a raw loop before each and after the "
                        "last while the scheduler is paused (saturated runs; 1: the raw "
                        "loop before the database is made and after the scheduler stops)")
    p.add_argument("--target", choices=("minimal", "aiohttp"), default="minimal",
                   help="target servers: a fixed-answer protocol (default) or aiohttp.web")
    args = p.parse_args()
    if not 1 <= args.duration <= 600:
        p.error("--duration must be 1..600 s")
    if not 1 <= args.rounds <= 20:
        p.error("--rounds must be 1..20")
    if not 0 <= args.warmup <= 600:
        p.error("--warmup must be 0..600 s")
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
