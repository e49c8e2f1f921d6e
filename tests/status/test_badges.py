"""Badges against the real embedded PostgreSQL and the real aiohttp app on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from lighthouse.api.app import make_app
from lighthouse.api.badges import Badges, badge_svg
from lighthouse.core.models import Identity, Provider
from lighthouse.core.service import MonitorService
from multidict import CIMultiDict

WHO = Identity(Provider.API, "badge-owner")


@pytest.fixture
async def base(pool: asyncpg.Pool, redis: aioredis.Redis,
               service: MonitorService) -> AsyncIterator[str]:
    runner = web.AppRunner(make_app(pool, redis, hooks=[Badges(service, ttl=0).register]))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def _get(url: str, **headers: str) -> tuple[int, str, CIMultiDict[str]]:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as resp:
        return resp.status, await resp.text(), CIMultiDict(resp.headers)


async def _monitor(service: MonitorService, pool: asyncpg.Pool, state: str,
                   publish: bool = True) -> str:
    await service.ensure_user(WHO)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    m = await service.create_monitor(WHO, config={"url": "http://127.0.0.1:9/"}, interval_s=120,
                                     name=f"b-{state}")
    await pool.execute("UPDATE monitors SET state = $2 WHERE id = $1", m.id, state)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for h in range(1, 5):
        await pool.execute("INSERT INTO hourly_metrics (monitor_id, bucket, checks, ok_checks, "
                           "avg_latency_ms) VALUES ($1, $2, 100, $3, 250)",
                           m.id, hour - timedelta(hours=h), 100 if h != 2 else 98)
    if publish:
        await service.create_status_page(WHO, monitors=[str(m.public_id)])
    return str(m.public_id)


async def test_status_uptime_and_response_badges(
    pool: asyncpg.Pool, service: MonitorService, base: str
) -> None:
    up, down = await _monitor(service, pool, "up"), await _monitor(service, pool, "down")
    status, svg, headers = await _get(f"{base}/badge/{up}/status.svg")
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    assert "operational</text>" in svg and "#1e7b34" in svg
    assert headers["Cache-Control"] == "public, max-age=120"
    assert headers["X-Content-Type-Options"] == "nosniff"
    again, _svg, _h = await _get(f"{base}/badge/{up}/status.svg", **{"If-None-Match": headers["ETag"]})
    assert again == 304
    _s, svg, _h = await _get(f"{base}/badge/{down}/status.svg")
    assert "down</text>" in svg and "#b3261e" in svg
    _s, svg, _h = await _get(f"{base}/badge/{up}/uptime.svg?window=24h")
    assert "uptime 24h" in svg and "99.50%" in svg
    _s, svg, _h = await _get(f"{base}/badge/{up}/uptime.svg?window=30d")
    assert "no data" in svg  # no daily rows yet
    _s, svg, _h = await _get(f"{base}/badge/{up}/response.svg")
    assert "250 ms" in svg
    _s, svg, _h = await _get(f"{base}/badge/{up}/status.svg?lang=es")
    assert "estado" in svg and "operativo" in svg


@pytest.mark.parametrize("path", ["not-a-uuid/status.svg",
                                  "00000000-0000-4000-8000-000000000000/uptime.svg"])
async def test_unknown_monitors_are_a_404_badge(base: str, path: str) -> None:
    status, svg, _h = await _get(f"{base}/badge/{path}")
    assert status == 404 and "not found" in svg


async def test_a_bad_window_is_a_400_badge(pool: asyncpg.Pool, service: MonitorService,
                                           base: str) -> None:
    up = await _monitor(service, pool, "up")
    status, svg, _h = await _get(f"{base}/badge/{up}/uptime.svg?window=<b>")
    assert status == 400 and "<b>" not in svg


async def test_a_monitor_on_no_status_page_is_private_and_has_no_badge(
    pool: asyncpg.Pool, service: MonitorService, base: str
) -> None:
    hidden = await _monitor(service, pool, "up", publish=False)
    for kind in ("status.svg", "uptime.svg?window=7d", "response.svg"):
        status, svg, _h = await _get(f"{base}/badge/{hidden}/{kind}")
        assert status == 404 and "not found" in svg and "operational" not in svg
    # Published on a page that lists every monitor of the owner: served.
    await service.create_status_page(WHO)
    status, svg, _h = await _get(f"{base}/badge/{hidden}/status.svg")
    assert status == 200 and "operational" in svg


def test_badge_text_is_escaped() -> None:
    svg = badge_svg("<script>", "a&b", "#000")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a&amp;b" in svg
