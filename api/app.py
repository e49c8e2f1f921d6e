"""The aiohttp application: health now; the x402-paid /v1 routes plug in here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from lighthouse.api.health import health_routes
from lighthouse.core.health import HealthMonitor
from lighthouse.core.storage.database import Pool

from lighthouse.wiring import AppHook, Middleware


def make_app(
    pool: Pool,
    redis: aioredis.Redis,
    *,
    hooks: list[AppHook] | None = None,
    health_extra: Callable[[], dict[str, Any]] | None = None,
    middlewares: list[Middleware] | None = None,
    health: HealthMonitor | None = None,
) -> web.Application:
    """``hooks``: routes of the other adapters (x402 API, Telegram webhook, heartbeat pings),
    collected by the composition root. ``health``: the process's monitor (the runtime's,
    with its parts); without one the app probes ``pool`` and ``redis`` itself while it runs."""
    app = web.Application(
        middlewares=middlewares or [],
        client_max_size=256 * 1024,
        handler_args={"max_field_size": 32768, "max_line_size": 32768},
    )
    if health is None:
        health = own = HealthMonitor(pool, redis)

        async def start_probes(_app: web.Application) -> None:
            await own.start()

        async def stop_probes(_app: web.Application) -> None:
            await own.stop()

        app.on_startup.append(start_probes)
        app.on_cleanup.append(stop_probes)
    app.add_routes(health_routes(health, health_extra))
    for hook in hooks or []:
        hook(app)
    return app
