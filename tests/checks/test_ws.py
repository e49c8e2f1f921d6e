"""The ws check type against real WebSocket servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import WSMsgType, web
from lighthouse.core.checks import parse_config, parse_shorthand
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.checks.ws import WsCheck
from lighthouse.core.errors import InvalidURLError, TierFeatureError
from lighthouse.core.models import Identity, Provider
from lighthouse.core.service import MonitorService


@pytest.fixture
async def ws_server() -> AsyncIterator[str]:
    async def echo(request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(protocols=("v1.lighthouse",))
        await socket.prepare(request)
        async for message in socket:
            if message.type is WSMsgType.TEXT:
                await socket.send_str("pong" if message.data == "ping" else f"echo:{message.data}")
        return socket

    async def hangs_up(request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.close()
        return socket

    async def plain(request: web.Request) -> web.Response:
        return web.Response(text="just a web page")

    app = web.Application()
    app.router.add_get("/echo", echo)
    app.router.add_get("/hangup", hangs_up)
    app.router.add_get("/plain", plain)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"ws://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def _run(check_context: CheckContext, **config: object):  # type: ignore[no-untyped-def]
    return await WsCheck().run(parse_config("ws", config), check_context)  # type: ignore[arg-type]


async def test_handshake_and_exchange(ws_server: str, check_context: CheckContext) -> None:
    result = await _run(check_context, url=f"{ws_server}/echo", send="ping", expect="pong",
                        subprotocols=["v1.lighthouse"])
    assert result.ok, result.error
    assert result.status_code == 101
    assert result.details["reply_sample"] == "pong"
    assert result.details["subprotocol"] == "v1.lighthouse"
    assert result.latency_ms is not None and result.latency_ms > 0


async def test_wrong_reply_fails_with_its_reason(ws_server: str, check_context: CheckContext) -> None:
    result = await _run(check_context, url=f"{ws_server}/echo", send="hello", expect="pong")
    assert not result.ok and result.error_code == "unexpected_reply"
    assert result.details["reply_sample"] == "echo:hello"


async def test_plain_http_is_not_a_websocket(ws_server: str, check_context: CheckContext) -> None:
    result = await _run(check_context, url=f"{ws_server}/plain")
    assert not result.ok and result.error_code == "handshake_refused"
    assert result.status_code == 200


async def test_a_socket_closed_before_replying_fails(ws_server: str, check_context: CheckContext) -> None:
    result = await _run(check_context, url=f"{ws_server}/hangup", expect="anything")
    assert not result.ok and "closed before replying" in (result.error or "")


async def test_nothing_listening_fails(check_context: CheckContext, make_free_port: object) -> None:
    port = make_free_port()  # type: ignore[operator]
    result = await _run(check_context, url=f"ws://127.0.0.1:{port}/", timeout_s=2)
    assert not result.ok and result.error_code


def test_only_ws_urls_are_accepted() -> None:
    with pytest.raises(InvalidURLError) as info:
        parse_config("ws", {"url": "https://example.com/socket"})
    assert info.value.params["reason"] == "scheme"
    assert parse_shorthand("wss://example.com/socket") == ("ws", {"url": "wss://example.com/socket"})


async def test_websocket_monitors_need_the_websocket_feature(
        ws_server: str, service: MonitorService) -> None:
    who = Identity(Provider.API, "ws-owner")
    with pytest.raises(TierFeatureError):
        await service.create_monitor(who, type="ws", config={"url": f"{ws_server}/echo"})
    await service.upgrade_tier(who, "pro", timedelta(days=30))
    m = await service.create_monitor(who, type="ws", config={"url": f"{ws_server}/echo",
                                                             "send": "ping", "expect": "pong"})
    assert m.type == "ws" and m.interval_s == 60
    result = await service.check_once("ws", m.config)
    assert result.ok, result.error
