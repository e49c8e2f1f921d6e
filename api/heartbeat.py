"""Heartbeat ping routes: a job calls its secret URL, the heartbeat check reads the result.

    GET|POST|HEAD /ping/<token>            success
    GET|POST|HEAD /ping/<token>/fail       failure (a POST body up to 1000 characters is kept)
    GET|POST|HEAD /ping/<token>/start      a run started
    GET|POST|HEAD /ping/<token>/<0..255>   exit status: 0 success, anything else failure

200 ``OK`` when recorded, 404 with the API's JSON error shape for an unknown token (same
answer for a malformed one, so tokens cannot be probed by shape). Heartbeat checks read
the pings through the pool in their CheckContext, not through this module.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from lighthouse.api.errors import error_response
from lighthouse.core.checks.heartbeat import MESSAGE_LIMIT, PingKind, record_ping
from lighthouse.core.streams import read_body

from lighthouse.wiring import AppHook

_KINDS: dict[str, PingKind] = {"": "success", "fail": "fail", "start": "start"}
_HEADERS = {"Cache-Control": "no-store"}


def ping_path(token: str, kind: str = "") -> str:
    """The path of a heartbeat's ping URL (prefix it with PUBLIC_BASE_URL)."""
    return f"/ping/{token}" + (f"/{kind}" if kind else "")


def _kind(segment: str) -> PingKind | None:
    if segment in _KINDS:
        return _KINDS[segment]
    # str.isdigit() also accepts "²" or "٣", which int() refuses or reads as another number.
    if segment.isascii() and segment.isdigit() and len(segment) <= 3 and int(segment) <= 255:
        return "success" if int(segment) == 0 else "fail"
    return None


def _not_found() -> web.Response:
    return error_response(404, "not_found", "no heartbeat with this ping URL")


def make_ping_handler(pool: Any) -> Any:
    async def handle(request: web.Request) -> web.Response:
        kind = _kind(request.match_info.get("kind", ""))
        if kind is None:
            return _not_found()
        message: str | None = None
        if request.method == "POST" and request.can_read_body:
            # 4 bytes per character at most: enough for MESSAGE_LIMIT characters of UTF-8.
            raw, _ = await read_body(request.content, MESSAGE_LIMIT * 4)
            message = raw.decode("utf-8", "replace")[:MESSAGE_LIMIT] or None
        found = await record_ping(pool, request.match_info["token"], kind, message)
        if not found:
            return _not_found()
        return web.Response(text="OK\n", headers=_HEADERS)

    return handle


def add_ping_routes(app: web.Application, pool: Any) -> None:
    handler = make_ping_handler(pool)
    for method in ("GET", "POST", "HEAD"):
        app.router.add_route(method, "/ping/{token}", handler)
        app.router.add_route(method, "/ping/{token}/{kind}", handler)


def heartbeat_routes(pool: Any) -> AppHook:
    """The ping routes, for the runtime to add to its HTTP server."""
    return lambda app: add_ping_routes(app, pool)
