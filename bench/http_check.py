"""The HTTP check's own cost over a bare aiohttp request, in one process, no database.

Rounds alternate between a plain aiohttp loop (``session.get`` + ``read``, as the raw
ceiling of bench/scheduler.py) and ``HttpCheck.run`` through the guarded session the
scheduler uses, each from the same number of concurrent tasks over the same loopback
targets (bench/scheduler.py's fixed-answer servers in a second process). Prints the CPU
microseconds per request of this process for each, medians over the rounds: the gap is
what the check adds (its timings, body sample, result) to the request itself.

    .venv/bin/python bench/http_check.py --requests 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine
from lighthouse.core.checks import get_check_type, parse_config
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.http_client import make_session
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.scheduler import tune_gc
from scheduler import start_targets, urls


async def timed_round(requests: int, concurrency: int,
                      one: Callable[[int], Awaitable[None]]) -> tuple[float, float]:
    """(CPU µs per request of this process, requests/s) for ``requests`` calls of ``one``."""
    per_task = requests // concurrency

    async def worker(offset: int) -> None:
        for k in range(per_task):
            await one(offset + k * concurrency)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = per_task * concurrency
    return cpu * 1e6 / done, done / wall


async def run(args: argparse.Namespace) -> dict[str, object]:
    tune_gc()
    proc = start_targets(args.hosts, args.port, 600.0)
    try:
        targets = urls(args.requests, args.hosts, args.port)
        check = get_check_type("http")
        configs = [parse_config("http", {"url": url}) for url in targets]
        guard = TargetGuard(allow_private=True)
        checked = make_session(guard)
        ctx = CheckContext(checked, guard)
        plain = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        failures = 0

        async def raw(i: int) -> None:
            async with plain.get(targets[i]) as resp:
                await resp.read()

        async def checked_run(i: int) -> None:
            nonlocal failures
            result = await check.run(configs[i], ctx)
            failures += not result.ok

        figures: dict[str, list[tuple[float, float]]] = {"raw": [], "check": []}
        for one in (raw, checked_run):  # warm both connection pools
            await timed_round(args.concurrency * 4, args.concurrency, one)
        for _ in range(args.rounds):
            for name, one in (("raw", raw), ("check", checked_run)):
                figures[name].append(await timed_round(args.requests, args.concurrency, one))
        await plain.close()
        await checked.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    us = {k: round(statistics.median(v[0] for v in rounds), 1) for k, rounds in figures.items()}
    # Rounds run in pairs, so the machine's drift moves both members of a pair alike.
    gaps = [c[0] - r[0] for r, c in zip(figures["raw"], figures["check"], strict=True)]
    rate = {k: round(statistics.median(v[1] for v in rounds)) for k, rounds in figures.items()}
    return {
        "bench": "http_check", "requests": args.requests, "rounds": args.rounds,
        "concurrency": args.concurrency, "raw_cpu_us_per_request": us["raw"],
        "check_cpu_us_per_request": us["check"],
        "check_over_raw_us": round(statistics.median(gaps), 1),
        "rounds_us": {k: [round(v[0], 1) for v in rounds] for k, rounds in figures.items()},
        "cpu_ratio": round(us["raw"] / us["check"], 3),
        "raw_per_s": rate["raw"], "check_per_s": rate["check"], "failed_checks": failures,
        "machine": machine(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=500)
    p.add_argument("--hosts", type=int, default=16)
    p.add_argument("--port", type=int, default=19000 + os.getpid() % 1000)
    args = p.parse_args()
    if not 1 <= args.rounds <= 50 or not 1_000 <= args.requests <= 1_000_000:
        p.error("--rounds must be 1..50 and --requests 1,000..1,000,000")
    if args.requests < args.concurrency:
        p.error("--requests must be at least --concurrency")
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
