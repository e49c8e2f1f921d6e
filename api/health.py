"""GET /health in the seed's shape (answered from core/health.py's background probes), and the
Prometheus exposition on its own port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from lighthouse.core.health import HealthMonitor
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


def health_routes(health: HealthMonitor, extra: Callable[[], dict[str, Any]] | None = None
                  ) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/health")
    async def health_route(_request: web.Request) -> web.Response:
        ok, body = health.snapshot()
        if extra is not None:
            body.update(extra())
        return web.json_response(body, status=200 if ok else 503,
                                 headers={"Cache-Control": "no-store"})

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
