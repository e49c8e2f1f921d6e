"""Real HTTP servers on 127.0.0.1 used as monitor targets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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
    raw_paths: list[str] = field(default_factory=list)  # path and query of each request, as sent

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def path(self, p: str) -> str:
        return f"http://127.0.0.1:{self.port}{p}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        self.raw_paths.append(request.raw_path)
        if request.path == "/redirect":
            raise web.HTTPFound("/")
        if request.path == "/loop":
            raise web.HTTPFound("/loop")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return web.Response(status=self.status, body=self.body, headers=self.headers)


def _pieces(data: bytes) -> list[bytes]:
    """Two non-empty halves (one piece when there is nothing to split)."""
    cut = max(1, len(data) // 2)
    return [data[:cut], data[cut:]] if len(data) > 1 else [data]


async def _write_split(writer: asyncio.StreamWriter, head: bytes, body: bytes, *,
                       chunked: bool, pause_s: float) -> None:
    """Headers and the first half of the body in one TCP write, the rest after a pause."""
    if chunked:
        parts = [b"%x\r\n%s\r\n" % (len(p), p) for p in _pieces(body) if p]
        parts[-1] += b"0\r\n\r\n"
    else:
        parts = _pieces(body)
    writer.write(head + parts[0])
    await writer.drain()
    for part in parts[1:]:
        await asyncio.sleep(pause_s)  # the reader sees the first part alone
        writer.write(part)
        await writer.drain()


@dataclass
class SplitTarget:
    """A raw HTTP/1.1 server on 127.0.0.1 that sends every response body in two TCP writes.

    ``answer`` makes the body from the request body (a JSON-RPC target echoes the id).
    Content-Length framing by default, chunked with ``chunked=True``.
    """

    answer: Callable[[bytes], bytes]
    status: int = 200
    chunked: bool = False
    pause_s: float = 0.05
    content_type: str = "application/json"
    extra_headers: dict[str, str] = field(default_factory=dict)
    port: int = 0
    hits: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def __aenter__(self) -> SplitTarget:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            request_body = await reader.readexactly(length) if length else b""
            self.hits += 1
            body = self.answer(request_body)
            lines = [f"HTTP/1.1 {self.status} X", f"Content-Type: {self.content_type}",
                     "Connection: close"]
            lines.append("Transfer-Encoding: chunked" if self.chunked else f"Content-Length: {len(body)}")
            lines.extend(f"{k}: {v}" for k, v in self.extra_headers.items())
            response_head = ("\r\n".join(lines) + "\r\n\r\n").encode()
            await _write_split(writer, response_head, body, chunked=self.chunked, pause_s=self.pause_s)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def split_request(port: int, method: str, path: str, body: bytes, *,
                        headers: dict[str, str] | None = None, chunked: bool = False,
                        pause_s: float = 0.05) -> tuple[int, bytes]:
    """Send a request whose body arrives in two TCP writes; return (status, response body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
                 "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"]
        lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        await _write_split(writer, head, body, chunked=chunked, pause_s=pause_s)
        raw = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
    response_head, _, response_body = raw.partition(b"\r\n\r\n")
    status = int(response_head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in response_head.lower():
        response_body = _unchunk(response_body)
    return status, response_body


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return out
