"""Heartbeat ping routes: a job calls its secret URL, the heartbeat check reads the result.

    GET|POST|HEAD /ping/<token>            success
    GET|POST|HEAD /ping/<token>/fail       failure (a POST body up to 1000 characters is kept)
    GET|POST|HEAD /ping/<token>/start      a run started
    GET|POST|HEAD /ping/<token>/<0..255>   exit status: 0 success, anything else failure

200 ``OK`` when recorded, 404 with the API's JSON error shape for an unknown token (same
answer for a malformed one, so tokens cannot be probed by shape). Heartbeat checks read
the pings through the pool in their CheckContext, not through this module.

Each token may ping PING_LIMIT times a minute (a job in a tight loop, or someone who
learnt the URL, would otherwise write to PostgreSQL as fast as they can send): past it,
429 with Retry-After. The count is one Redis round trip (a fixed window per token hash,
INCR and EXPIRE in one MULTI); Redis down or slow means no limit, not no pings.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from lighthouse.api.errors import error_response
from lighthouse.core.checks.heartbeat import MESSAGE_LIMIT, TOKEN_RE, PingKind, record_ping
from lighthouse.core.streams import read_body
from redis.exceptions import RedisError

from lighthouse.wiring import AppHook

log = logging.getLogger(__name__)

_KINDS: dict[str, PingKind] = {"": "success", "fail": "fail", "start": "start"}
_HEADERS = {"Cache-Control": "no-store"}
PING_LIMIT = 60  # pings per token per window
WINDOW_S = 60
REDIS_TIMEOUT_S = 0.25  # longer than this, the ping goes through unlimited
_WARN_EVERY_S = 60.0


class PingLimiter:
    """A fixed window per token in Redis; keys hold a hash of the token, never the token."""

    def __init__(self, redis: aioredis.Redis, *, limit: int = PING_LIMIT, window_s: int = WINDOW_S,
                 clock: Callable[[], float] = time.time, prefix: str = "lh:ping:") -> None:
        self._redis = redis
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._prefix = prefix
        self._warned_at = -math.inf

    async def retry_after(self, token: str) -> int | None:
        """None when the ping may go through; else the seconds until the window ends."""
        now = self._clock()
        window = int(now // self.window_s)
        key = f"{self._prefix}{hashlib.sha256(token.encode()).hexdigest()[:32]}:{window}"
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_S):
                pipe = self._redis.pipeline(transaction=True)
                pipe.incr(key)
                pipe.expire(key, self.window_s + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError, TimeoutError) as exc:
            if time.monotonic() - self._warned_at > _WARN_EVERY_S:  # one line a minute, not one a ping
                self._warned_at = time.monotonic()
                log.warning("ping rate limit unavailable; pings go through unlimited",
                            extra={"error": f"{type(exc).__name__}: {str(exc)[:200]}"})
            return None
        if int(count) <= self.limit:
            return None
        return max(1, math.ceil((window + 1) * self.window_s - now))


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


def make_ping_handler(pool: Any, limiter: PingLimiter | None = None) -> Any:
    async def handle(request: web.Request) -> web.Response:
        kind = _kind(request.match_info.get("kind", ""))
        token = request.match_info["token"]
        if kind is None or not TOKEN_RE.match(token):
            return _not_found()
        wait = await limiter.retry_after(token) if limiter is not None else None
        if wait is not None:
            return error_response(429, "rate_limited",
                                  f"more than {limiter.limit if limiter else 0} pings a minute "
                                  f"for this URL; retry in {wait} s",
                                  headers={"Retry-After": str(wait)}, retry_after_s=wait)
        message: str | None = None
        if request.method == "POST" and request.can_read_body:
            # 4 bytes per character at most: enough for MESSAGE_LIMIT characters of UTF-8.
            raw, _ = await read_body(request.content, MESSAGE_LIMIT * 4)
            message = raw.decode("utf-8", "replace")[:MESSAGE_LIMIT] or None
        found = await record_ping(pool, token, kind, message)
        if not found:
            return _not_found()
        return web.Response(text="OK\n", headers=_HEADERS)

    return handle


def add_ping_routes(app: web.Application, pool: Any, redis: aioredis.Redis | None = None, *,
                    limiter: PingLimiter | None = None) -> None:
    """``redis``: where pings are counted per token (or a ``limiter`` of one's own);
    without either they are not limited."""
    if limiter is None and redis is not None:
        limiter = PingLimiter(redis)
    handler = make_ping_handler(pool, limiter)
    for method in ("GET", "POST", "HEAD"):
        app.router.add_route(method, "/ping/{token}", handler)
        app.router.add_route(method, "/ping/{token}/{kind}", handler)


def heartbeat_routes(pool: Any, redis: aioredis.Redis | None = None) -> AppHook:
    """The ping routes, for the runtime to add to its HTTP server."""
    return lambda app: add_ping_routes(app, pool, redis)
