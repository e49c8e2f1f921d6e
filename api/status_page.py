"""Public status pages: ``/status/<slug>`` as server-rendered HTML, no JavaScript.

The page is Jinja2 with autoescaping on (monitor names are user input), styled only by a
same-origin stylesheet (``/status/static/status.css``) so the Content-Security-Policy can
refuse every inline script and style. Charts are SVG drawn here from the rollups the
service reads (core/service/status_pages.py), with the geometry the chat chart uses too
(core/charts.py). A rendered page is kept a few seconds per slug and language, and dropped
at once when PostgreSQL notifies a change of what it shows (a monitor's state, the page),
so a state change shows on the next request, not after the TTL.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from babel.dates import format_datetime
from babel.numbers import format_percent
from jinja2 import DictLoader, Environment, select_autoescape
from lighthouse.core.charts import HourPoint, geometry
from lighthouse.core.errors import StatusPageNotFoundError
from lighthouse.core.i18n import SUPPORTED, format_duration, gettext, to_lang
from lighthouse.core.service import MonitorService
from lighthouse.core.service.status_pages import Day, PageMonitor, StatusView
from lighthouse.core.state import State

log = logging.getLogger(__name__)

CACHE_SECONDS = 5
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CHART_W, CHART_H = 600, 80

CSS = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1a1a1a; --muted: #4d4d4d;
  --card: #f4f5f7; --line: #d0d4da; --up: #1e7b34; --down: #b3261e; --warn: #8a5a00;
  --none: #c4c8ce; --chart: #1f5fbf; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #101214; --fg: #eceff1; --muted: #b8bec4; --card: #1b1f23; --line: #33393f;
    --up: #4cc26a; --down: #ff7a70; --warn: #f0b429; --none: #4a5057; --chart: #7fb0ff; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 52rem; padding: 1.5rem 1rem; background: var(--bg);
  color: var(--fg); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.2rem; margin: 2rem 0 .75rem; }
.summary { font-weight: 600; } .muted, footer { color: var(--muted); }
section.monitor { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: .75rem 1rem; margin: 0 0 1rem; }
section.monitor h3 { display: flex; justify-content: space-between; gap: 1rem; margin: 0;
  font-size: 1.05rem; overflow-wrap: anywhere; }
.state { font-weight: 700; white-space: nowrap; }
.state-up { color: var(--up); } .state-down { color: var(--down); }
.state-pending, .state-maintenance, .state-paused { color: var(--warn); }
ol.bar { display: flex; gap: 1px; list-style: none; padding: 0; margin: .5rem 0 .25rem;
  height: 28px; }
ol.bar li { flex: 1; border-radius: 1px; background: var(--none); }
ol.bar li.d-up { background: var(--up); } ol.bar li.d-partial { background: var(--warn); }
ol.bar li.d-down { background: var(--down); }
.legend { display: flex; justify-content: space-between; font-size: .85rem; color: var(--muted); }
svg.chart { width: 100%; height: auto; margin-top: .5rem; }
svg.chart polyline { fill: none; stroke: var(--chart); stroke-width: 2; }
svg.chart line { stroke: var(--line); stroke-width: 1; }
svg.chart rect.fail { fill: var(--down); opacity: .2; }
svg.chart text { fill: var(--muted); font-size: 11px; }
ul.events { padding-left: 1.25rem; }
a { color: var(--chart); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
""".strip().encode()
# Served so a browser's automatic /favicon.ico request does not end in a 404 on the console.
FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
           b'<circle cx="8" cy="8" r="7" fill="#1e7b34"/></svg>')
CSS_ETAG = '"' + hashlib.sha256(CSS).hexdigest()[:16] + '"'

PAGE = """<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<link rel="stylesheet" href="/status/static/status.css">
<link rel="icon" href="/status/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<header>
<h1>{{ title }}</h1>
<p class="summary">{{ summary }}</p>
</header>
<main>
<h2>{{ t.monitors }}</h2>
{% if not monitors %}<p>{{ t.no_monitors }}</p>{% endif %}
{% for m in monitors %}
<section class="monitor" aria-labelledby="m{{ loop.index }}">
<h3 id="m{{ loop.index }}"><span class="name">{{ m.name }}</span>
<span class="state state-{{ m.state }}">{{ m.state_label }}</span></h3>
<p class="muted">{{ m.uptime_text }}</p>
<ol class="bar" aria-label="{{ t.bar_label }}">
{% for d in m.days %}<li class="d-{{ d.level }}" title="{{ d.text }}"></li>
{% endfor %}</ol>
<div class="legend" aria-hidden="true"><span>{{ t.days_ago }}</span><span>{{ t.today }}</span></div>
<svg class="chart" viewBox="0 0 {{ chart_w }} {{ chart_h + 16 }}" role="img" aria-label="{{ m.chart_label }}">
<title>{{ m.chart_label }}</title>
{% for x, w in m.bands %}<rect class="fail" x="{{ x }}" y="0" width="{{ w }}" height="{{ chart_h }}"/>
{% endfor %}<line x1="0" y1="{{ chart_h }}" x2="{{ chart_w }}" y2="{{ chart_h }}"/>
{% for points in m.lines %}<polyline points="{{ points }}"/>
{% endfor %}<text x="0" y="{{ chart_h + 13 }}">{{ t.hours_ago }}</text>
<text x="{{ chart_w }}" y="{{ chart_h + 13 }}" text-anchor="end">{{ m.chart_max }}</text>
</svg>
</section>
{% endfor %}
<h2>{{ t.maintenance }}</h2>
{% if maintenance %}<ul class="events">
{% for w in maintenance %}<li><strong>{{ w.monitor }}</strong>: {{ w.text }}</li>
{% endfor %}</ul>{% else %}<p>{{ t.no_maintenance }}</p>{% endif %}
<h2>{{ t.incidents }}</h2>
{% if incidents %}<ul class="events">
{% for i in incidents %}<li><strong>{{ i.monitor }}</strong>: {{ i.text }}</li>
{% endfor %}</ul>{% else %}<p>{{ t.no_incidents }}</p>{% endif %}
</main>
<footer><p>{{ updated }}</p>
<nav aria-label="{{ t.language }}">{% for code, name in languages %}
<a href="?lang={{ code }}" hreflang="{{ code }}" lang="{{ code }}">{{ name }}</a>
{%- if not loop.last %} · {% endif %}{% endfor %}</nav>
</footer>
</body>
</html>
"""

NOT_FOUND = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ text }}</title>
<link rel="stylesheet" href="/status/static/status.css"></head>
<body><main><h1>{{ text }}</h1></main></body></html>
"""

_env = Environment(loader=DictLoader({"page.html": PAGE, "404.html": NOT_FOUND}),
                   autoescape=select_autoescape(default=True, default_for_string=True))


def language(request: web.Request) -> str:
    """``?lang=`` first, then the best of ``Accept-Language`` we have, else English."""
    asked = request.query.get("lang")
    if asked and asked.split("-")[0].lower() in SUPPORTED:
        return to_lang(asked)
    ranked: list[tuple[float, str]] = []
    for part in request.headers.get("Accept-Language", "")[:500].split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag.split("-")[0].lower() in SUPPORTED and q > 0:
            ranked.append((q, tag))
    return to_lang(max(ranked, key=lambda x: x[0])[1]) if ranked else "en"


def _when(lang: str, dt: datetime) -> str:
    return str(format_datetime(dt.astimezone(UTC), "medium", tzinfo=UTC, locale=lang)) + " UTC"


def state_label(lang: str, state: State) -> str:
    return {
        State.UP: gettext(lang, "Operational"),
        State.DOWN: gettext(lang, "Down"),
        State.PENDING: gettext(lang, "Checking"),
        State.PAUSED: gettext(lang, "Paused"),
        State.MAINTENANCE: gettext(lang, "Under maintenance"),
    }[state]


@functools.lru_cache(maxsize=4096)
def _percent(lang: str, ratio: float) -> str:
    # Cached: Babel's formatter costs tens of microseconds, and a page of 50 monitors
    # formats 4,500 days whose values mostly repeat.
    return str(format_percent(round(ratio, 4), "#,##0.##%", locale=lang))


def _day(lang: str, d: Day, texts: tuple[str, str]) -> dict[str, str]:
    day = d.day.isoformat()
    if d.uptime is None:
        return {"level": "none", "text": texts[0].format(day=day)}
    level = "up" if d.uptime >= 0.999 else "partial" if d.uptime >= 0.95 else "down"
    return {"level": level, "text": texts[1].format(day=day, uptime=_percent(lang, d.uptime))}


def chart_svg(hours: list[HourPoint]) -> tuple[list[str], list[tuple[str, str]], str]:
    """The SVG parts of the shared chart (core/charts.py): polyline point lists, failed
    hours as (x, width) bands, and the y-axis maximum as a label ("" without data)."""
    g = geometry(hours, CHART_W, CHART_H - 4)
    lines = []
    for run in g.lines:
        pts = [(x, y + 4) for x, y in run]
        if len(pts) == 1:  # a single point draws nothing as a polyline: a short segment
            pts.append((pts[0][0] + 2, pts[0][1]))
        lines.append(" ".join(f"{x:.1f},{y:.1f}" for x, y in pts))
    bands = [(f"{x0:.1f}", f"{x1 - x0:.1f}") for x0, x1 in g.failures]
    return lines, bands, f"{g.top_ms:.0f} ms" if g.has_data else ""


def _monitor(lang: str, m: PageMonitor) -> dict[str, object]:
    lines, bands, top = chart_svg(m.hours)
    texts = (gettext(lang, "{day}: no data"), gettext(lang, "{day}: {uptime} uptime"))
    return {
        "name": m.name, "state": m.state.value, "state_label": state_label(lang, m.state),
        "uptime_text": (gettext(lang, "{uptime} uptime over the last 90 days").format(
            uptime=_percent(lang, m.uptime_90d)) if m.uptime_90d is not None
            else gettext(lang, "No checks in the last 90 days yet")),
        "days": [_day(lang, d, texts) for d in m.days],
        "lines": lines, "bands": bands,
        "chart_label": gettext(lang, "Average response time per hour, last 24 hours"),
        "chart_max": top,
    }


def render(view: StatusView, lang: str) -> str:
    ms = view.monitors
    down = sum(1 for m in ms if m.state is State.DOWN)
    summary = (gettext(lang, "Some systems are down") if down else
               gettext(lang, "All systems operational"))
    t = {
        "monitors": gettext(lang, "Monitors"),
        "no_monitors": gettext(lang, "This page lists no monitors yet."),
        "bar_label": gettext(lang, "Uptime per day, last 90 days"),
        "days_ago": gettext(lang, "90 days ago"), "today": gettext(lang, "Today"),
        "hours_ago": gettext(lang, "24 hours ago"),
        "maintenance": gettext(lang, "Maintenance"),
        "no_maintenance": gettext(lang, "No maintenance planned."),
        "incidents": gettext(lang, "Recent incidents"),
        "no_incidents": gettext(lang, "No incidents in the last 90 days."),
        "language": gettext(lang, "Language"),
    }
    incidents = [{
        "monitor": i.monitor,
        "text": (gettext(lang, "down since {start} ({duration} so far)") if i.ended_at is None
                 else gettext(lang, "down from {start} for {duration}")).format(
            start=_when(lang, i.started_at),
            duration=format_duration(lang, i.duration)),
    } for i in view.incidents]
    maintenance = [{"monitor": w.monitor, "text": gettext(lang, "{start} to {end}").format(
        start=_when(lang, w.starts_at), end=_when(lang, w.ends_at))} for w in view.maintenance]
    return _env.get_template("page.html").render(
        lang=lang, title=view.page.title, summary=summary, t=t,
        monitors=[_monitor(lang, m) for m in ms], incidents=incidents, maintenance=maintenance,
        updated=gettext(lang, "Last updated {time}").format(time=_when(lang, view.generated_at)),
        languages=[("en", "English"), ("es", "Español")], chart_w=CHART_W, chart_h=CHART_H)


def _render_bytes(view: StatusView, lang: str) -> tuple[bytes, bytes]:
    body = render(view, lang).encode()
    return body, gzip.compress(body, 6)


@dataclass
class _Cached:
    expires: float
    body: bytes
    status: int
    # Compressed once per render: 90 tooltips a monitor repeat a lot (about a tenth the size).
    gzipped: bytes = b""
    owner_id: int | None = None  # whose monitors it shows (None: a "no such page")


class StatusPages:
    """The routes; ``ttl``: seconds a rendered page is served again without a render.

    A page leaves the cache before its TTL when the database says what it shows changed
    (sql/0027_status_notify.sql: a monitor of its owner changed state, or the page itself
    changed), whichever process made the change. Without that connection (lost, or a
    server that refuses LISTEN) pages still refresh every ``ttl`` seconds."""

    def __init__(self, service: MonitorService, ttl: float = CACHE_SECONDS) -> None:
        self.service = service
        self.ttl = ttl
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[_Cached]] = {}
        self._generation = 0  # bumped by every invalidation: a render it overtook is not kept
        self._close_listener: Callable[[], Awaitable[None]] | None = None
        self.invalidations = 0

    def register(self, app: web.Application) -> None:
        app.router.add_get("/status/static/status.css", self.stylesheet)
        app.router.add_get("/status/static/favicon.svg", self.favicon)
        app.router.add_get("/status/{slug}", self.page)
        app.on_startup.append(self._listen)
        app.on_cleanup.append(self._unlisten)

    async def _listen(self, _app: web.Application) -> None:
        try:
            self._close_listener = await self.service.watch_status_pages(self.changed,
                                                                        self._lost)
        except Exception as exc:  # whatever the database says, pages still work by TTL
            log.warning("status pages: no change notifications (%s); pages refresh every %s s",
                        exc, self.ttl)

    def _lost(self) -> None:
        log.warning("status pages: the change notification connection closed; pages refresh "
                    "every %s s", self.ttl)
        self._close_listener = None

    async def _unlisten(self, _app: web.Application) -> None:
        close, self._close_listener = self._close_listener, None
        if close is not None:
            await close()

    def changed(self, what: str) -> None:
        """'o:<owner id>': drop the pages of that owner; 's:<slug>': drop that page."""
        kind, _, value = what.partition(":")
        if kind == "o" and value.isdigit():
            owner = int(value)
            stale = [k for k, v in self._cache.items() if v.owner_id == owner]
        elif kind == "s":
            stale = [k for k in self._cache if k[0] == value]
        else:
            return
        self._generation += 1
        self.invalidations += 1
        for key in stale:
            self._cache.pop(key, None)

    async def stylesheet(self, request: web.Request) -> web.Response:
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600", "ETag": CSS_ETAG}
        if request.headers.get("If-None-Match") == CSS_ETAG:
            return web.Response(status=304, headers=headers)
        return web.Response(body=CSS, content_type="text/css", charset="utf-8", headers=headers)

    async def _render(self, slug: str, lang: str) -> _Cached:
        try:
            view = await self.service.status_view(slug)
        except StatusPageNotFoundError:
            text = gettext(lang, "No status page here.")
            body = _env.get_template("404.html").render(lang=lang, text=text).encode()
            return _Cached(time.monotonic() + self.ttl, body, 404)
        # Rendering 50 monitors' 90-day bars takes tens of ms of CPU: in a thread, so the
        # loop keeps answering cached pages and badges meanwhile.
        body, gzipped = await asyncio.to_thread(_render_bytes, view, lang)
        return _Cached(time.monotonic() + self.ttl, body, 200, gzipped, view.page.owner_id)

    async def _refresh(self, key: tuple[str, str]) -> _Cached:
        generation = self._generation
        try:
            hit = await self._render(*key)
            if len(self._cache) > 10_000:  # probes of random slugs must not grow it forever
                self._cache.clear()
            if generation == self._generation:  # else a change came in while it rendered
                self._cache[key] = hit
            return hit
        finally:
            self._pending.pop(key, None)

    async def favicon(self, _request: web.Request) -> web.Response:
        return web.Response(body=FAVICON, content_type="image/svg+xml",
                            headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=86400"})

    async def page(self, request: web.Request) -> web.Response:
        slug = request.match_info["slug"][:64]
        lang = language(request)
        key = (slug, lang)
        hit = self._cache.get(key)
        if hit is None or hit.expires <= time.monotonic():
            # One render per slug and language at a time: a crowd arriving as the entry
            # expires waits for that one (or, when a copy exists, gets it a moment stale).
            # A page dropped for a change has no copy: nobody gets the old state again.
            task = self._pending.get(key)
            if task is None:
                task = self._pending[key] = asyncio.ensure_future(self._refresh(key))
            if hit is None or self.ttl <= 0:
                hit = await asyncio.shield(task)
        headers = {**SECURITY_HEADERS, "Content-Language": lang,
                   "Vary": "Accept-Language, Accept-Encoding",
                   "Cache-Control": f"public, max-age={int(self.ttl)}"}
        body = hit.body
        if hit.gzipped and "gzip" in request.headers.get("Accept-Encoding", ""):
            body, headers["Content-Encoding"] = hit.gzipped, "gzip"
        return web.Response(body=body, status=hit.status, content_type="text/html",
                            charset="utf-8", headers=headers)


def status_routes(service: MonitorService) -> StatusPages:
    return StatusPages(service)
