"""Shields-style SVG badges: ``/badge/<monitor public id>/status.svg``, ``uptime.svg``
(``?window=24h|7d|30d``) and ``response.svg``.

Text is escaped (monitor state words and figures only, but a language's words are data
too); each badge carries an ETag over its bytes and ``Cache-Control`` for one check
interval, since it cannot change faster than the monitor is checked. Rendered badges are
kept in the process for a few seconds, so a README viewed by many costs one read.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from aiohttp import web
from lighthouse.api.status_page import SECURITY_HEADERS
from lighthouse.core.errors import MonitorNotFoundError, ValidationError
from lighthouse.core.i18n import SUPPORTED, gettext
from lighthouse.core.service import MonitorService
from lighthouse.core.service.status_pages import BadgeFacts
from lighthouse.core.state import State
from markupsafe import escape

CACHE_SECONDS = 5
MAX_AGE_CAP = 3600
# Colours with at least 4.5:1 contrast against white text.
GREEN, RED, AMBER, GREY, LABEL = "#1e7b34", "#b3261e", "#8a5a00", "#555d66", "#3d434a"
# The SVG uses presentation attributes only: nothing to allow.
BADGE_CSP = "default-src 'none'"


def _width(text: str) -> int:
    # Verdana 11 px averages about 6.5 px a character; shields.io pads 10 px a side.
    return int(len(text) * 6.5) + 12


def badge_svg(label: str, message: str, colour: str) -> str:
    lw, mw = _width(label), _width(message)
    label_x, msg_x = lw / 2, lw + mw / 2
    lab, m = escape(label), escape(message)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lw + mw}" height="20" role="img" '
        f'aria-label="{lab}: {m}"><title>{lab}: {m}</title>'
        f'<rect width="{lw}" height="20" fill="{LABEL}"/>'
        f'<rect x="{lw}" width="{mw}" height="20" fill="{colour}"/>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
        f'font-size="11"><text x="{label_x:.1f}" y="14">{lab}</text>'
        f'<text x="{msg_x:.1f}" y="14">{m}</text></g></svg>'
    )


def _state(lang: str, f: BadgeFacts) -> tuple[str, str, str]:
    from lighthouse.api.status_page import state_label

    colour = {State.UP: GREEN, State.DOWN: RED}.get(f.state, AMBER if f.state is not State.PAUSED
                                                     else GREY)
    return gettext(lang, "status"), state_label(lang, f.state).lower(), colour


def _uptime(lang: str, f: BadgeFacts, window: str) -> tuple[str, str, str]:
    label = gettext(lang, "uptime {window}").format(window=window)
    if f.uptime is None:
        return label, gettext(lang, "no data"), GREY
    colour = GREEN if f.uptime >= 0.999 else AMBER if f.uptime >= 0.99 else RED
    return label, f"{f.uptime * 100:.2f}%", colour


def _response(lang: str, f: BadgeFacts) -> tuple[str, str, str]:
    label = gettext(lang, "response")
    if f.latency_ms is None:
        return label, gettext(lang, "no data"), GREY
    colour = GREEN if f.latency_ms < 500 else AMBER if f.latency_ms < 2000 else RED
    return label, f"{f.latency_ms:.0f} ms", colour


@dataclass
class _Badge:
    expires: float
    body: bytes
    etag: str
    max_age: int
    status: int


class Badges:
    def __init__(self, service: MonitorService, ttl: float = CACHE_SECONDS) -> None:
        self.service = service
        self.ttl = ttl
        self._cache: dict[tuple[str, str, str, str], _Badge] = {}

    def register(self, app: web.Application) -> None:
        app.router.add_get("/badge/{ref}/{kind:(status|uptime|response)}.svg", self.badge)

    async def _render(self, ref: str, kind: str, window: str, lang: str) -> _Badge:
        try:
            if kind == "status":
                facts = await self.service.badge_facts(ref)
                parts = _state(lang, facts)
            elif kind == "uptime":
                facts = await self.service.badge_facts(ref, window=window)
                parts = _uptime(lang, facts, window)
            else:
                facts = await self.service.badge_facts(ref, latency=True)
                parts = _response(lang, facts)
            status, max_age = 200, min(facts.interval_s, MAX_AGE_CAP)
        except MonitorNotFoundError:
            parts, status, max_age = (gettext(lang, "status"), gettext(lang, "not found"), GREY), 404, 60
        except ValidationError:
            parts = (gettext(lang, "uptime"), gettext(lang, "window: 24h, 7d or 30d"), GREY)
            status, max_age = 400, 60
        body = badge_svg(*parts).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        return _Badge(time.monotonic() + self.ttl, body, etag, max_age, status)

    async def badge(self, request: web.Request) -> web.Response:
        ref, kind = request.match_info["ref"][:64], request.match_info["kind"]
        window = request.query.get("window", "24h")[:16] if kind == "uptime" else ""
        lang = request.query.get("lang", "en")
        lang = lang if lang in SUPPORTED else "en"
        key = (ref, kind, window, lang)
        hit = self._cache.get(key)
        if hit is None or hit.expires <= time.monotonic():
            hit = await self._render(ref, kind, window, lang)
            if len(self._cache) > 10_000:  # random ids must not grow it without bound
                self._cache.clear()
            self._cache[key] = hit
        headers = {**SECURITY_HEADERS, "Content-Security-Policy": BADGE_CSP, "ETag": hit.etag,
                   "Cache-Control": f"public, max-age={hit.max_age}"}
        if hit.status == 200 and request.headers.get("If-None-Match") == hit.etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=hit.body, status=hit.status, content_type="image/svg+xml",
                            charset="utf-8", headers=headers)
