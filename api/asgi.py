"""Serve an ASGI application from an aiohttp handler (HTTP only, no websockets).

The MCP SDK's streamable HTTP transport is an ASGI application; the API is aiohttp. This
bridge lets one aiohttp route hand a request to it, so MCP shares the API's process, port,
middlewares and lifecycle.

Why not the aiohttp-asgi package: its ``receive()`` answers every call after the body with
another empty body chunk, never ``http.disconnect``, and the MCP transport waits for
``http.disconnect`` in a loop (a busy loop that never yields to the event loop); it also
mounts a resource without a route, which the paywall middleware (it reads
``request.match_info.route``) does not expect.

What ASGI asks of a server and this bridge does:
- ``receive()`` gives the body (already read and bounded by aiohttp's ``client_max_size``)
  as one message, then blocks until the client goes away, answering ``http.disconnect``.
- A response sent in one body message becomes a plain ``web.Response`` (aiohttp sets
  Content-Length, middlewares may still add headers); one sent in several (server-sent
  events) is streamed as it comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DISCONNECT_POLL_S = 0.5  # how often a waiting receive() looks at the connection
# Framing headers belong to the connection aiohttp writes, not to the application.
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


def http_scope(request: web.Request) -> Scope:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": f"{request.version.major}.{request.version.minor}",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.raw_path.split("?", 1)[0].encode("latin-1"),
        "query_string": request.rel_url.raw_query_string.encode("latin-1"),  # still percent-encoded
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in request.raw_headers],
        "client": tuple(peer[:2]) if isinstance(peer, tuple) else None,
        "server": tuple(sock[:2]) if isinstance(sock, tuple) else None,
    }


async def serve_asgi(app: ASGIApp, request: web.Request, body: bytes) -> web.StreamResponse:
    """Run ``app`` for this request, whose body the caller has read (``body``)."""
    start: Message | None = None
    chunks: list[bytes] = []
    stream: web.StreamResponse | None = None
    body_given = False
    finished = asyncio.Event()

    async def receive() -> Message:
        nonlocal body_given
        if not body_given:
            body_given = True
            return {"type": "http.request", "body": body, "more_body": False}
        while not finished.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            try:
                await asyncio.wait_for(finished.wait(), DISCONNECT_POLL_S)
            except TimeoutError:
                pass
        return {"type": "http.disconnect"}

    def headers_of(message: Message) -> list[tuple[str, str]]:
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])
                if k.decode("latin-1").lower() not in _HOP_BY_HOP]

    async def send(message: Message) -> None:
        nonlocal start, stream
        kind = message["type"]
        if kind == "http.response.start":
            if start is not None:
                raise RuntimeError("http.response.start sent twice")
            start = message
            return
        if kind != "http.response.body" or start is None:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")
        data = bytes(message.get("body", b""))
        more = bool(message.get("more_body", False))
        if stream is None and not more:
            chunks.append(data)  # the common case: the whole answer at once
            return
        if stream is None:
            stream = web.StreamResponse(status=int(start["status"]))
            for name, value in headers_of(start):
                stream.headers.add(name, value)
            await stream.prepare(request)
            for earlier in chunks:
                await stream.write(earlier)
            chunks.clear()
        await stream.write(data)
        if not more:
            await stream.write_eof()

    try:
        await app(http_scope(request), receive, send)
    finally:
        finished.set()
    if stream is not None:
        return stream
    if start is None:
        raise RuntimeError("the ASGI application sent no response")
    return web.Response(status=int(start["status"]), body=b"".join(chunks),
                        headers=CIMultiDict(headers_of(start)))
