"""Status pages against the real embedded PostgreSQL: monitors in every state, rollup rows,
an incident and a maintenance window, served by the real aiohttp app on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from lighthouse.api.app import make_app
from lighthouse.api.status_page import CSP, StatusPages, chart_svg, language
from lighthouse.core.charts import HourPoint, geometry
from lighthouse.core.errors import (
    MonitorNotFoundError,
    SlugTakenError,
    StatusPageNotFoundError,
    TierFeatureError,
    ValidationError,
)
from lighthouse.core.models import Identity, Provider
from lighthouse.core.service import MonitorService
from multidict import CIMultiDict

OWNER = Identity(Provider.API, "status-owner")
OTHER = Identity(Provider.API, "someone-else")
STATES = ("up", "down", "pending", "paused", "maintenance")


async def _monitors(service: MonitorService, pool: asyncpg.Pool) -> dict[str, int]:
    await service.ensure_user(OWNER)
    await service.ensure_user(OTHER)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    ids: dict[str, int] = {}
    now = datetime.now(UTC)
    for i, state in enumerate(STATES):
        name = "<script>alert(1)</script> api" if state == "up" else f"svc-{state}"
        m = await service.create_monitor(OWNER, config={"url": f"http://127.0.0.1:{9 + i}/"},
                                         interval_s=60, name=name)
        ids[state] = m.id
        until = now + timedelta(hours=2) if state == "maintenance" else None
        await pool.execute("UPDATE monitors SET state = $2, maintenance_until = $3 WHERE id = $1",
                           m.id, state, until)
    private = await service.create_monitor(OTHER, config={"url": "http://127.0.0.1:20/"},
                                           interval_s=60, name="secret-of-other")
    ids["other"] = private.id
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(1, 40):
        ok = 1440 if day != 3 else 1000  # one bad day three days ago
        await pool.execute("INSERT INTO daily_metrics (monitor_id, bucket, checks, ok_checks) "
                           "VALUES ($1, $2, 1440, $3)", ids["up"], today - timedelta(days=day), ok)
    hour = now.replace(minute=0, second=0, microsecond=0)
    for h in range(0, 24):
        await pool.execute("INSERT INTO hourly_metrics (monitor_id, bucket, checks, ok_checks, "
                           "avg_latency_ms) VALUES ($1, $2, 60, 60, $3)",
                           ids["up"], hour - timedelta(hours=h), 100.0 + h)
    await pool.execute("INSERT INTO incidents (monitor_id, started_at, checks_failed) "
                       "VALUES ($1, $2, 3)", ids["down"], now - timedelta(minutes=95))
    await pool.execute("INSERT INTO incidents (monitor_id, started_at, ended_at, end_reason, "
                       "checks_failed) VALUES ($1, $2, $3, 'recovered', 3)", ids["up"],
                       now - timedelta(days=3, hours=2), now - timedelta(days=3, hours=1))
    await pool.execute("INSERT INTO maintenance_windows (monitor_id, starts_at, ends_at) "
                       "VALUES ($1, $2, $3)", ids["paused"], now + timedelta(days=1),
                       now + timedelta(days=1, hours=1))
    return ids


async def _new_day(pool: asyncpg.Pool) -> None:
    """A daily rollup row for svc-down (no uptime so far): a change no trigger reports."""
    await pool.execute(
        "INSERT INTO daily_metrics (monitor_id, bucket, checks, ok_checks) SELECT id, $1, 10, 10 "
        "FROM monitors WHERE name = 'svc-down'",
        datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1))


@pytest.fixture
async def site(pool: asyncpg.Pool, redis: aioredis.Redis,
               service: MonitorService) -> AsyncIterator[tuple[str, StatusPages]]:
    pages = StatusPages(service, ttl=0)
    runner = web.AppRunner(make_app(pool, redis, hooks=[pages.register]))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", pages
    finally:
        await runner.cleanup()


async def _get(url: str, **headers: str) -> tuple[int, str, CIMultiDict[str]]:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as resp:
        return resp.status, await resp.text(), CIMultiDict(resp.headers)


async def test_a_page_shows_every_state_escaped_and_only_its_owner(
    pool: asyncpg.Pool, service: MonitorService, site: tuple[str, StatusPages]
) -> None:
    ids = await _monitors(service, pool)
    page = await service.create_status_page(OWNER, slug="acme-status", title="Acme <b>")
    status, html, headers = await _get(f"{site[0]}/status/{page.slug}")
    assert status == 200
    assert headers["Content-Security-Policy"] == CSP and "script-src" not in CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"].startswith("public, max-age=")
    assert headers["Content-Encoding"] == "gzip"  # the client asked for it
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; api" in html
    assert "Acme &lt;b&gt;" in html and " style=" not in html and "<style" not in html
    for label in ("Operational", "Down", "Checking", "Paused", "Under maintenance"):
        assert f">{label}</span>" in html
    assert "secret-of-other" not in html
    assert html.count('<li class="d-') == 90 * len(STATES)
    bad_day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    assert f'class="d-down" title="{bad_day}: 69.44% uptime"' in html
    assert "Some systems are down" in html
    assert "<polyline points=" in html
    assert "1 hour 35 minutes so far" in html  # the open incident
    assert "for 1 hour" in html  # the closed one
    assert html.count("UTC to ") == 2  # maintenance now and the planned window
    assert "Last updated" in html
    # A page naming an other owner's monitor cannot be made; a listed page shows its own only.
    other_id = await pool.fetchval("SELECT public_id FROM monitors WHERE id = $1", ids["other"])
    with pytest.raises(MonitorNotFoundError):
        await service.create_status_page(OWNER, monitors=[str(other_id)])
    # Even a row naming it (written around the service) shows the owner's monitors only.
    await pool.execute("UPDATE status_pages SET monitor_ids = $1 WHERE slug = 'acme-status'",
                       [ids["other"], ids["down"]])
    _s, forced, _h = await _get(f"{site[0]}/status/acme-status")
    assert "secret-of-other" not in forced and "svc-down" in forced
    only = await service.create_status_page(OWNER, monitors=["svc-down"])
    _s, html2, _h = await _get(f"{site[0]}/status/{only.slug}")
    assert "svc-down" in html2 and "svc-paused" not in html2


async def test_spanish_by_query_then_accept_language(
    pool: asyncpg.Pool, service: MonitorService, site: tuple[str, StatusPages]
) -> None:
    await _monitors(service, pool)
    page = await service.create_status_page(OWNER, slug="acme-es")
    _s, es, headers = await _get(f"{site[0]}/status/acme-es", **{"Accept-Language": "es-ES,en;q=0.5"})
    assert headers["Content-Language"] == "es" and '<html lang="es">' in es
    assert "Operativo" in es and "Operational" not in es
    _s, en, _h = await _get(f"{site[0]}/status/{page.slug}?lang=en", **{"Accept-Language": "es"})
    assert '<html lang="en">' in en


@pytest.mark.parametrize("slug", ["nope-not-here", "AB", "x" * 49, "bad.slug", "a_b%3Cscript%3E"])
async def test_bad_or_unknown_slugs_are_404(site: tuple[str, StatusPages], slug: str) -> None:
    status, html, headers = await _get(f"{site[0]}/status/{slug}")
    assert status == 404 and "No status page here." in html
    assert headers["Content-Security-Policy"] == CSP


async def test_the_stylesheet_is_same_origin_and_cached(site: tuple[str, StatusPages]) -> None:
    status, css, headers = await _get(f"{site[0]}/status/static/status.css")
    assert status == 200 and "prefers-color-scheme: dark" in css
    assert headers["Content-Type"].startswith("text/css")
    status, _css, _h = await _get(f"{site[0]}/status/static/status.css",
                                  **{"If-None-Match": headers["ETag"]})
    assert status == 304


async def test_slug_rules(pool: asyncpg.Pool, service: MonitorService) -> None:
    free = Identity(Provider.API, "on-the-free-plan")
    await service.ensure_user(free)
    with pytest.raises(TierFeatureError):  # the plans sell status pages from Standard
        await service.create_status_page(free, slug="free-page")
    await service.ensure_user(OWNER)
    await service.ensure_user(OTHER)
    await pool.execute("UPDATE users SET tier = 'standard' WHERE id <> $1",
                       (await service.find_user(free)).id)  # type: ignore[union-attr]
    random = await service.create_status_page(OWNER)
    assert re.fullmatch(r"[a-z2-7]{24}", random.slug)
    for bad in ("ab", "UPPER", "with space", "a" * 49, "dots.here"):
        with pytest.raises(ValidationError):
            await service.create_status_page(OWNER, slug=bad)
    await service.create_status_page(OWNER, slug="mine")
    with pytest.raises(SlugTakenError):
        await service.create_status_page(OTHER, slug="mine")
    assert [p.slug for p in await service.list_status_pages(OWNER)] == [random.slug, "mine"]
    assert await service.list_status_pages(OTHER) == []
    with pytest.raises(StatusPageNotFoundError):
        await service.remove_status_page(OTHER, "mine")  # not theirs
    await service.remove_status_page(OWNER, "mine")
    with pytest.raises(StatusPageNotFoundError):
        await service.status_view("mine")


async def test_the_page_is_cached_per_slug_for_its_ttl(
    pool: asyncpg.Pool, service: MonitorService, redis: aioredis.Redis
) -> None:
    await _monitors(service, pool)
    await service.create_status_page(OWNER, slug="cached")
    pages = StatusPages(service, ttl=60)
    runner = web.AppRunner(make_app(pool, redis, hooks=[pages.register]))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        _s, first, _h = await _get(f"{base}/status/cached")
        # New rollup rows are no state change: the cached copy stands until its TTL.
        await _new_day(pool)
        _s, again, _h = await _get(f"{base}/status/cached")
        assert again == first and "100% uptime over the last 90 days" not in again
    finally:
        await runner.cleanup()


async def test_a_state_change_shows_on_the_next_request_not_after_the_ttl(
    pool: asyncpg.Pool, service: MonitorService, redis: aioredis.Redis
) -> None:
    await _monitors(service, pool)
    await service.create_status_page(OWNER, slug="live", monitors=["svc-down"])
    pages = StatusPages(service, ttl=300)
    runner = web.AppRunner(make_app(pool, redis, hooks=[pages.register]))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"


    async def told(before: int) -> None:
        """PostgreSQL's notice reached the page cache (milliseconds; the TTL is 300 s)."""
        for _ in range(200):
            if pages.invalidations > before:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("no change notification within 2 s")

    try:
        _s, first, _h = await _get(f"{base}/status/live?lang=en")
        assert ">Down</span>" in first
        seen = pages.invalidations
        await service.pause(OWNER, "svc-down")  # a state change, through the service
        await told(seen)
        _s, after, _h = await _get(f"{base}/status/live?lang=en")
        assert ">Paused</span>" in after and ">Down</span>" not in after
        # A change written around the service (as the scheduler's result writer does).
        seen = pages.invalidations
        await pool.execute("UPDATE monitors SET state = 'up' WHERE name = 'svc-down'")
        await told(seen)
        _s, up, _h = await _get(f"{base}/status/live?lang=en")
        assert ">Operational</span>" in up
        # Only a change of what the page shows drops it: another owner's monitor does not.
        _s, _html, _h = await _get(f"{base}/status/live?lang=en")
        cached = dict(pages._cache)
        seen = pages.invalidations
        await pool.execute("UPDATE monitors SET state = 'down' WHERE name = 'secret-of-other'")
        await told(seen)
        assert pages._cache == cached
        seen = pages.invalidations
        await service.remove_status_page(OWNER, "live")  # gone at once too
        await told(seen)
        status, _html, _h = await _get(f"{base}/status/live")
        assert status == 404
    finally:
        await runner.cleanup()


def test_chart_leaves_gaps_marks_failures_and_language_picks_the_best() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    hours = [HourPoint(t0, 60, 60, 10.0), HourPoint(t0, 60, 60, 20.0), HourPoint(t0, 0, 0, None),
             HourPoint(t0, 60, 30, 40.0)]
    lines, bands, top = chart_svg(hours)
    assert len(lines) == 2 and top == "50 ms"  # 44 rounded up to a round axis
    assert lines[0].count(",") == 2 and lines[1].count(",") == 2  # one point: a short stroke
    assert len(bands) == 1 and float(bands[0][0]) == pytest.approx(500.0)
    # The chat PNG paints the same geometry (core/charts.py): one code path.
    g = geometry(hours, 600, 76)
    assert [len(run) for run in g.lines] == [2, 1] and g.top_ms == 50.0
    assert chart_svg([])[0] == [] and chart_svg([])[2] == ""

    class Req:
        def __init__(self, q: dict[str, str], h: dict[str, str]) -> None:
            self.query, self.headers = q, h

    assert language(Req({}, {"Accept-Language": "fr, es;q=0.8, en;q=0.9"})) == "en"  # type: ignore[arg-type]
    assert language(Req({}, {"Accept-Language": "fr, es;q=0.8"})) == "es"  # type: ignore[arg-type]
    assert language(Req({"lang": "es"}, {"Accept-Language": "en"})) == "es"  # type: ignore[arg-type]
    assert language(Req({"lang": "zz"}, {})) == "en"  # type: ignore[arg-type]


async def test_an_expired_page_is_served_once_stale_while_one_render_runs(
    pool: asyncpg.Pool, service: MonitorService, redis: aioredis.Redis
) -> None:
    await _monitors(service, pool)
    await service.create_status_page(OWNER, slug="stale")
    pages = StatusPages(service, ttl=0.2)
    runner = web.AppRunner(make_app(pool, redis, hooks=[pages.register]))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        await _get(f"{base}/status/stale")
        await _new_day(pool)
        await asyncio.sleep(0.3)
        _s, stale, _h = await _get(f"{base}/status/stale")
        marker = "100% uptime over the last 90 days"
        assert marker not in stale  # the old copy, while the new one renders
        for _ in range(50):
            await asyncio.sleep(0.05)
            _s, fresh, _h = await _get(f"{base}/status/stale")
            if marker in fresh:
                break
        assert marker in fresh
    finally:
        await runner.cleanup()
