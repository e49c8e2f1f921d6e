"""WebSocket endpoints: the opening handshake (HTTP 101), and optionally one exchange.

A WebSocket API can be down while the same host answers plain HTTP fine (a proxy that
drops the Upgrade header, a crashed socket server behind a healthy web app), so an
``http`` check does not cover it. This check opens the socket through the guarded
session (the SSRF guard applies at connect time as for every check), optionally sends
one text message and waits for a reply containing ``expect``, then closes cleanly.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aiohttp
from lighthouse.core.checks.base import (
    CheckConfig,
    CheckContext,
    CheckResult,
    CheckTypeBase,
    Fact,
    PreflightContext,
)
from lighthouse.core.checks.base import (
    mark as _,
)
from lighthouse.core.checks.http import classify_exception
from lighthouse.core.checks.jsonrpc import validate_headers
from lighthouse.core.urls import validate_url
from pydantic import Field, field_validator

REPLY_SAMPLE_CHARS = 200
MAX_MESSAGE_BYTES = 1 << 20  # a reply bigger than this is a failure, not a memory cost


def validate_ws_url(value: str) -> str:
    return validate_url(value, ("ws", "wss"))


class WsConfig(CheckConfig):
    url: str = Field(description="ws:// or wss:// URL")
    headers: dict[str, str] = Field(default_factory=dict, max_length=30)
    subprotocols: list[str] = Field(default_factory=list, max_length=10)
    send: str | None = Field(default=None, min_length=1, max_length=4096,
                             description="one text message sent once connected")
    expect: str | None = Field(default=None, min_length=1, max_length=1024,
                               description="text the first reply must contain (needs send, or "
                                           "a server that speaks first)")
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    max_latency_ms: int | None = Field(default=None, gt=0, le=60_000,
                                       description="fail when the handshake takes longer")
    verify_tls: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return validate_ws_url(value)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return validate_headers(value)


class WsCheck(CheckTypeBase):
    name: ClassVar[str] = "ws"
    config_model: ClassVar[type[CheckConfig]] = WsConfig
    required_feature: ClassVar[str | None] = "websocket"
    example: ClassVar[dict[str, Any]] = {"url": "wss://example.com/socket",
                                         "send": '{"op": "ping"}', "expect": "pong"}

    def from_shorthand(self, text: str) -> dict[str, Any] | None:
        url = text.strip().strip("<>").strip()
        return {"url": url} if url.lower().startswith(("ws://", "wss://")) else None

    def shorthand(self, config: WsConfig) -> str | None:
        return config.url

    def facts(self, data: dict[str, Any]) -> list[Fact]:
        details = data.get("details") or {}
        reply = details.get("reply_sample") if isinstance(details, dict) else None
        return [Fact(_("Reply: {value}"), reply)] if reply else []

    def target_host(self, config: WsConfig) -> str:
        return (urlsplit(config.url).hostname or "").lower()

    def describe(self, config: WsConfig) -> str:
        return config.url

    async def preflight(self, config: WsConfig, ctx: PreflightContext) -> None:
        try:
            await ctx.guard.resolve(self.target_host(config))
        except OSError:
            return  # an unresolvable host is a failing check, not a refused monitor

    async def run(self, config: WsConfig, ctx: CheckContext) -> CheckResult:
        started = time.perf_counter()
        details: dict[str, Any] = {}
        try:
            async with asyncio.timeout(config.timeout_s):
                async with ctx.session.ws_connect(
                    config.url, headers=config.headers or None,
                    protocols=tuple(config.subprotocols), ssl=config.verify_tls,
                    autoping=True, max_msg_size=MAX_MESSAGE_BYTES,
                ) as socket:
                    handshake_ms = (time.perf_counter() - started) * 1000
                    details["handshake_ms"] = round(handshake_ms, 1)
                    if socket.protocol:
                        details["subprotocol"] = socket.protocol
                    if config.send is not None:
                        await socket.send_str(config.send)
                    reply: str | None = None
                    if config.expect is not None:
                        reply = await _first_text(socket)
                        details["reply_sample"] = reply[:REPLY_SAMPLE_CHARS]
        except Exception as exc:  # every failure of the target is a result, not a crash
            code, text = classify_exception(exc, config.timeout_s)
            if isinstance(exc, aiohttp.WSServerHandshakeError):
                code, text = "handshake_refused", f"HTTP {exc.status}: not a WebSocket endpoint"
            return CheckResult(ok=False, latency_ms=(time.perf_counter() - started) * 1000,
                               status_code=getattr(exc, "status", None), error_code=code,
                               error=text, details=details)
        result = CheckResult(ok=True, latency_ms=handshake_ms, status_code=101, details=details)
        if config.expect is not None and (reply is None or config.expect not in reply):
            result.ok, result.error_code = False, "unexpected_reply"
            result.error = f"the reply does not contain {config.expect!r}"
        elif config.max_latency_ms is not None and handshake_ms > config.max_latency_ms:
            result.ok, result.error_code = False, "slow_response"
            result.error = f"{handshake_ms:.0f} ms > {config.max_latency_ms} ms"
        return result


async def _first_text(socket: aiohttp.ClientWebSocketResponse) -> str:
    """The first text (or UTF-8 binary) message; a close before it is a failure."""
    message = await socket.receive()
    if message.type is aiohttp.WSMsgType.TEXT:
        return str(message.data)
    if message.type is aiohttp.WSMsgType.BINARY:
        return bytes(message.data).decode("utf-8", "replace")
    raise ConnectionError(f"the socket closed before replying ({message.type.name.lower()})")
