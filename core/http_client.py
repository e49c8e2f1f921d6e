"""The one HTTP client session the checks share. Its connector comes from the target guard
(core/netguard.py), so every connection a check opens is checked where it is made; the
composition root, the CLI, benchmarks and tests all build it here."""

from __future__ import annotations

from typing import Any

import aiohttp


def make_session(ctx_guard: Any, *, limit: int = 0) -> aiohttp.ClientSession:
    """One client session for all checks: guarded connector, timing traces, no cookies."""
    from lighthouse.core.checks.http import trace_config

    connector = ctx_guard.connector(limit=limit, ttl_dns_cache=30, enable_cleanup_closed=True)
    return aiohttp.ClientSession(
        connector=connector,
        trace_configs=[trace_config()],
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": "Lighthouse-Monitor/0.1 (+https://github.com/lighthouse)"},
        auto_decompress=True,
    )
