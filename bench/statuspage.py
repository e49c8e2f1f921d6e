"""Status page and badge benchmark: a page of 50 monitors with 90 days of daily rollups
and 24 hours of hourly rollups, served by the real routes in a server process, loaded by
a client process; a static file on the same server is the baseline in the same run.

    .venv/bin/python bench/statuspage.py --seconds 5 --concurrency 32

Four targets, one after the other: the page as served (rendered at most once per slug and
language every 5 s), the page rendered on every request (ttl 0: every request reads the
rollups and renders), a status badge, and a static file of the same server. Figures:
requests/s and p50/p99 in ms. Targets (2 cores): page p99 < 50 ms, badge >= 2,000 req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, fresh_database, machine, percentile
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService

OWNER = Identity(Provider.API, "bench-status")


async def seed(service: MonitorService, pool: Any, monitors: int) -> tuple[str, str]:
    await service.ensure_user(OWNER)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    hour = now.replace(minute=0, second=0, microsecond=0)
    ids, first = [], ""
    for i in range(monitors):
        m = await service.create_monitor(OWNER, config={"url": f"http://127.0.0.1:9/m{i}"},
                                         interval_s=60, name=f"service {i}")
        ids.append(m.id)
        first = first or str(m.public_id)
    await pool.executemany(
        "INSERT INTO daily_metrics (monitor_id, bucket, checks, ok_checks, avg_latency_ms) "
        "VALUES ($1, $2, 1440, $3, 120)",
        [(mid, today - timedelta(days=d), 1440 - (d % 7)) for mid in ids for d in range(1, 90)])
    await pool.executemany(
        "INSERT INTO hourly_metrics (monitor_id, bucket, checks, ok_checks, avg_latency_ms) "
        "VALUES ($1, $2, 60, 60, $3)",
        [(mid, hour - timedelta(hours=h), 100.0 + (h * 7 + mid) % 40)
         for mid in ids for h in range(24)])
    await pool.executemany(
        "INSERT INTO incidents (monitor_id, started_at, ended_at, end_reason, checks_failed) "
        "VALUES ($1, $2, $3, 'recovered', 3)",
        [(mid, now - timedelta(days=mid % 30 + 1), now - timedelta(days=mid % 30 + 1) +
          timedelta(minutes=12)) for mid in ids[:10]])
    page = await service.create_status_page(OWNER, slug="bench-page", title="Bench")
    return page.slug, first


def serve(dsn: str, port: int, static_dir: str, ready: Any) -> None:
    """The server process: the real routes on one event loop, as one API process runs them."""
    from aiohttp import web
    from lighthouse.api.badges import Badges
    from lighthouse.api.status_page import StatusPages
    from lighthouse.core.storage.database import create_pool

    async def main() -> None:
        pool = await create_pool(dsn, min_size=2, max_size=10)
        service = MonitorService(pool, TargetGuard(allow_private=True))
        app = web.Application()
        StatusPages(service).register(app)
        Badges(service).register(app)
        uncached = web.Application()
        StatusPages(service, ttl=0).register(uncached)
        app.add_subapp("/uncached/", uncached)
        app.router.add_static("/static/", static_dir)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


async def load(url: str, seconds: float, concurrency: int) -> dict[str, float | None]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as s:
        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                async with s.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    return {"rps": round(len(latencies) / seconds), "errors": errors,
            "p50_ms": round(p50 * 1000, 2) if p50 is not None else None,
            "p99_ms": round(p99 * 1000, 2) if p99 is not None else None}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with fresh_database() as (pool, dsn):
        service = MonitorService(pool, TargetGuard(allow_private=True))
        slug, badge_id = await seed(service, pool, args.monitors)
        with tempfile.TemporaryDirectory(prefix="lh-bench-static-") as static:
            # The baseline: a file about the size of a badge, served by aiohttp's static route.
            (Path(static) / "file.svg").write_text("<svg/>" + " " * 900)
            ctx = multiprocessing.get_context("spawn")
            ready = ctx.Event()
            server = ctx.Process(target=serve, args=(dsn, args.port, static, ready), daemon=True)
            server.start()
            try:
                if not ready.wait(60):
                    raise RuntimeError("the server did not start")
                base = f"http://127.0.0.1:{args.port}"
                targets = {
                    "page": f"{base}/status/{slug}",
                    "page_uncached": f"{base}/uncached/status/{slug}",
                    "badge": f"{base}/badge/{badge_id}/status.svg",
                    "static": f"{base}/static/file.svg",
                }
                async with aiohttp.ClientSession() as s, s.get(targets["page"]) as resp:
                    size = len(await resp.read())
                    assert resp.status == 200 and size > 10_000, (resp.status, size)
                figures = {name: await load(url, args.seconds, args.concurrency)
                           for name, url in targets.items()}
            finally:
                server.terminate()
                server.join(10)
    return {"bench": "statuspage", "monitors": args.monitors, "page_bytes": size,
            "concurrency": args.concurrency, "seconds": args.seconds, **figures,
            "machine": machine()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--monitors", type=int, default=50)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--port", type=int, default=18931)
    emit(asyncio.run(run(p.parse_args())))


if __name__ == "__main__":
    main()
