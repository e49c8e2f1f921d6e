"""GET /health in the seed's shape, and the Prometheus exposition on its own port."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

HEALTH_TIMEOUT_S = 2.0


async def probe(pool: asyncpg.Pool, redis: aioredis.Redis) -> tuple[int, dict[str, Any]]:
    async def db() -> str:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S):
                await pool.fetchval("SELECT 1")
            return "connected"
        except Exception:
            return "disconnected"

    async def rd() -> str:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S):
                await redis.ping()
            return "connected"
        except Exception:
            return "disconnected"

    database, cache = await asyncio.gather(db(), rd())
    ok = database == "connected" and cache == "connected"
    body = {
        "status": "ok" if ok else "degraded",
        "database": database,
        "redis": cache,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    return (200 if ok else 503), body


def health_routes(pool: asyncpg.Pool, redis: aioredis.Redis, extra: Any = None) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/health")
    async def health(_request: web.Request) -> web.Response:
        status, body = await probe(pool, redis)
        if extra is not None:
            body.update(extra())
        return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})

    return routes


def metrics_app(registry: CollectorRegistry) -> web.Application:
    async def metrics(_request: web.Request) -> web.Response:
        data = generate_latest(registry)
        resp = web.Response(body=data)
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app
