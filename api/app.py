"""The aiohttp application: health now; the x402-paid /v1 routes plug in here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web
from lighthouse.api.health import health_routes

# Routes added by other adapters (x402 API, Telegram webhook, heartbeat pings) register
# through these hooks so the composition root stays the only place that wires things.
AppHook = Callable[[web.Application], None]


def make_app(
    pool: asyncpg.Pool,
    redis: aioredis.Redis,
    *,
    hooks: list[AppHook] | None = None,
    health_extra: Callable[[], dict[str, Any]] | None = None,
    middlewares: list[Any] | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=middlewares or [],
        client_max_size=256 * 1024,
        handler_args={"max_field_size": 32768, "max_line_size": 32768},
    )
    app.add_routes(health_routes(pool, redis, health_extra))
    for hook in hooks or []:
        hook(app)
    return app
