"""The one HTTP client session the checks share. Its connector comes from the target guard
(core/netguard.py), so every connection a check opens is checked where it is made; the
composition root, the CLI, benchmarks and tests all build it here.

Timings of a request (DNS, connection, first byte) are collected without aiohttp's
``TraceConfig``: with a trace config, every request builds trace objects and awaits a
signal per stage whether or not a connection is opened (about 20 µs per request, a tenth
of a check at saturation, docs/performance.md). The check puts its ``RequestTimings`` in a
context variable; the connector and the resolver below, which run in the check's task (or
a task it started, which copies the context), fill in the spans of a new connection.
"""

from __future__ import annotations

import socket
import time
from contextvars import ContextVar
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver


class RequestTimings:
    """Monotonic marks of one request; 0.0 where the stage did not happen (a reused
    connection has no DNS or connect span)."""

    __slots__ = ("connect_end", "connect_start", "dns_end", "dns_start", "headers", "start")

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.dns_start = self.dns_end = self.connect_start = self.connect_end = 0.0
        self.headers = 0.0

    def as_dict(self, total: float) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.dns_end:
            out["dns_ms"] = round((self.dns_end - self.dns_start) * 1000, 2)
        if self.connect_end:
            # the connection span includes DNS and, for https, the TLS handshake
            out["connect_ms"] = round((self.connect_end - self.connect_start) * 1000, 2)
        if self.headers:
            out["first_byte_ms"] = round((self.headers - self.start) * 1000, 2)
        out["total_ms"] = round(total * 1000, 2)
        return out


# The timings of the request the current task is making (None outside a timed request).
current_timings: ContextVar[RequestTimings | None] = ContextVar("request_timings", default=None)


class _TimedResolver(AbstractResolver):
    """Marks the DNS span of the current request; aiohttp calls it only on a cache miss."""

    def __init__(self, inner: AbstractResolver) -> None:
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        timings = current_timings.get()
        if timings is None:
            return await self._inner.resolve(host, port, family)
        timings.dns_start = time.perf_counter()
        result = await self._inner.resolve(host, port, family)
        timings.dns_end = time.perf_counter()
        return result

    async def close(self) -> None:
        await self._inner.close()


class TimedConnector(aiohttp.TCPConnector):
    """A TCPConnector that marks the span of each new connection (DNS, TCP, TLS) on the
    current request's timings. ``_create_connection`` is where aiohttp's own connection
    trace starts and ends (aiohttp 3.x)."""

    def __init__(self, *, resolver: AbstractResolver | None = None, **kwargs: Any) -> None:
        super().__init__(resolver=_TimedResolver(resolver or DefaultResolver()), **kwargs)

    async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:  # noqa: ASYNC109 (aiohttp's signature)
        timings = current_timings.get()
        if timings is None:
            return await super()._create_connection(req, traces, timeout)
        timings.connect_start = time.perf_counter()
        proto = await super()._create_connection(req, traces, timeout)
        timings.connect_end = time.perf_counter()
        return proto


def make_session(ctx_guard: Any, *, limit: int = 0) -> aiohttp.ClientSession:
    """One client session for all checks: guarded, timed connector, no cookies."""
    connector = ctx_guard.connector(limit=limit, ttl_dns_cache=30, enable_cleanup_closed=True,
                                    connector_class=TimedConnector)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": "Lighthouse-Monitor/0.1 (+https://github.com/lighthouse)"},
        auto_decompress=True,
    )
