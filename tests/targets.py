"""Real HTTP servers on 127.0.0.1 used as monitor targets."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Target:
    """A real HTTP server on 127.0.0.1 whose answers a test controls."""

    status: int = 200
    body: bytes = b'{"status": "ok"}'
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    hits: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def path(self, p: str) -> str:
        return f"http://127.0.0.1:{self.port}{p}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        if request.path == "/redirect":
            raise web.HTTPFound("/")
        if request.path == "/loop":
            raise web.HTTPFound("/loop")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return web.Response(status=self.status, body=self.body, headers=self.headers)
