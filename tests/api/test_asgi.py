"""The aiohttp -> ASGI bridge (api/asgi.py) against small ASGI apps on 127.0.0.1: the scope,
the body in, one-message and streamed answers out, and http.disconnect when the client
goes away (what the MCP transport waits for)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from lighthouse.api.asgi import ASGIApp, Message, Receive, Scope, Send, serve_asgi

Serve = Callable[[ASGIApp], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    runners: list[web.AppRunner] = []

    async def start(asgi: ASGIApp) -> str:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await serve_asgi(asgi, request, await request.read())

        app = web.Application()
        app.router.add_route("*", "/asgi", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/asgi"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_scope_body_and_one_message_answer(serve: Serve) -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen["scope"] = scope
        seen["message"] = await receive()
        await send({"type": "http.response.start", "status": 201, "headers": [
            (b"content-type", b"application/json"), (b"content-length", b"999"), (b"x-kept", b"yes")]})
        await send({"type": "http.response.body", "body": b'{"ok":true}'})

    url = await serve(app)
    async with aiohttp.ClientSession() as s, s.post(url + "?a=1&b=%20", data=b"hello",
                                                     headers={"X-Test": "v"}) as r:
        assert r.status == 201 and await r.read() == b'{"ok":true}'
        # The app's own Content-Length is not trusted: aiohttp frames the body it sends.
        assert r.headers["Content-Length"] == "11" and r.headers["X-Kept"] == "yes"
        assert r.headers["Content-Type"] == "application/json"
    scope = seen["scope"]
    assert scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/asgi"
    assert scope["query_string"] == b"a=1&b=%20" and scope["raw_path"] == b"/asgi"
    assert (b"x-test", b"v") in scope["headers"] and scope["client"][0] == "127.0.0.1"
    assert seen["message"] == {"type": "http.request", "body": b"hello", "more_body": False}


async def test_streamed_answer_arrives_in_order(serve: Serve) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        for n in range(3):
            await send({"type": "http.response.body", "body": f"data: {n}\n\n".encode(), "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    url = await serve(app)
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        assert r.headers["Content-Type"] == "text/event-stream"
        assert await r.read() == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"


async def test_receive_reports_the_client_going_away(serve: Serve) -> None:
    disconnected = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "http.request"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        message: Message = await receive()  # blocks until the client leaves
        if message["type"] == "http.disconnect":
            disconnected.set()

    url = await serve(app)
    async with aiohttp.ClientSession() as s:
        r = await s.get(url)
        assert await r.content.readexactly(5) == b"first"
        r.close()  # drop the connection mid-stream
    await asyncio.wait_for(disconnected.wait(), 5)


async def test_an_app_that_answers_nothing_is_a_server_error(serve: Serve) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()

    url = await serve(app)
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        assert r.status == 500
