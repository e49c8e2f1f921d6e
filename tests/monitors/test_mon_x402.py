"""x402 endpoint monitor against a tiny local x402 server (v2 header + v1 body) on 127.0.0.1."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from lighthouse.core.checks import parse_config
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.checks.x402_endpoint import X402Check, X402Config
from lighthouse.core.errors import InvalidURLError, TargetNotAllowedError, ValidationError
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService

ALICE = Identity(Provider.DISCORD, "5001")
FUJI_USDC = "0x5425890298aed601595a70AB815c96711a31Bc65"
PAY_TO = "0x" + "42" * 20


class PaidServer:
    """A paid route: 402 with PAYMENT-REQUIRED (v2) and the v1 body; knobs to break it."""

    def __init__(self) -> None:
        self.amount = "1000"
        self.pay_to = PAY_TO
        self.mode = "both"  # both | v2 | v1 | open | b64 | html | noextra | v2-in-body
        self.port = 0

    def v2(self) -> dict[str, Any]:
        return {
            "x402Version": 2, "error": "payment required",
            "resource": {"url": f"http://127.0.0.1:{self.port}/v1/check",
                         "description": "check", "mimeType": "application/json"},
            "accepts": [{"scheme": "exact", "network": "eip155:43113", "amount": self.amount,
                         "asset": FUJI_USDC, "payTo": self.pay_to, "maxTimeoutSeconds": 60,
                         "extra": {"name": "USD Coin", "version": "2"}}],
            "extensions": {},
        }

    def v1(self) -> dict[str, Any]:
        return {
            "x402Version": 1, "error": "payment required",
            "accepts": [{"scheme": "exact", "network": "avalanche-fuji",
                         "maxAmountRequired": self.amount, "asset": FUJI_USDC,
                         "payTo": self.pay_to, "maxTimeoutSeconds": 60,
                         "resource": f"http://127.0.0.1:{self.port}/v1/check",
                         "description": "check", "mimeType": "application/json",
                         "extra": {"name": "USD Coin", "version": "2"}}],
        }

    async def handle(self, request: web.Request) -> web.Response:
        if self.mode == "open":
            return web.json_response({"ok": True})
        if self.mode == "html":
            return web.Response(status=402, text="<html>pay me</html>", content_type="text/html")
        v2 = self.v2()
        if self.mode == "noextra":
            del v2["accepts"][0]["extra"]
        header = base64.b64encode(json.dumps(v2).encode()).decode()
        if self.mode == "b64":
            header = "%%%not-base64%%%"
        headers = {"Cache-Control": "no-store"}
        if self.mode in ("both", "v2", "b64", "noextra"):
            headers["PAYMENT-REQUIRED"] = header
        body: dict[str, Any] = self.v1() if self.mode in ("both", "v1", "b64", "noextra") else {}
        if self.mode == "v2-in-body":
            body = v2
        return web.json_response(body, status=402, headers=headers)


@pytest.fixture
async def paid() -> AsyncIterator[PaidServer]:
    server = PaidServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    server.port = runner.addresses[0][1]
    yield server
    await runner.cleanup()


def cfg(paid: PaidServer, **kw: Any) -> X402Config:
    base = {"url": f"http://127.0.0.1:{paid.port}/v1/check", "network": "avalanche-fuji",
            "asset": FUJI_USDC, "pay_to": PAY_TO, "amount": "1000"}
    config = parse_config("x402", {**base, **kw})
    assert isinstance(config, X402Config)
    return config


async def test_healthy_challenge_both_versions(paid: PaidServer, check_context: CheckContext) -> None:
    result = await X402Check().run(cfg(paid, versions="both"), check_context)
    assert result.ok, result.error
    assert result.status_code == 402
    assert result.details["offers"]["v2"][0]["network"] == "eip155:43113"
    assert result.details["offers"]["v1"][0]["network"] == "eip155:43113"  # v1 name mapped


async def test_price_drift(paid: PaidServer, check_context: CheckContext) -> None:
    paid.amount = "2000"
    result = await X402Check().run(cfg(paid), check_context)
    assert not result.ok
    assert result.error_code == "price_drift"
    assert "2000" in (result.error or "") and "1000" in (result.error or "")
    # The monitor follows a deliberate price change once its config says so.
    again = await X402Check().run(cfg(paid, amount=2000), check_context)
    assert again.ok, again.error


async def test_wrong_pay_to_network_asset(paid: PaidServer, check_context: CheckContext) -> None:
    paid.pay_to = "0x" + "66" * 20
    r = await X402Check().run(cfg(paid), check_context)
    assert (r.ok, r.error_code) == (False, "wrong_pay_to")
    r = await X402Check().run(cfg(paid, pay_to=None, network="eip155:84532"), check_context)
    assert (r.ok, r.error_code) == (False, "wrong_network")
    r = await X402Check().run(cfg(paid, pay_to=None, asset="0x" + "77" * 20), check_context)
    assert (r.ok, r.error_code) == (False, "wrong_asset")


@pytest.mark.parametrize(
    ("mode", "versions", "ok", "code"),
    [
        ("v2", "any", True, None),
        ("v2", "v2", True, None),
        ("v2", "both", False, "broken_challenge"),
        ("v2", "v1", False, "broken_challenge"),
        ("v1", "any", True, None),
        ("v1", "v2", False, "broken_challenge"),
        ("b64", "any", False, "broken_challenge"),
        ("b64", "v1", True, None),  # a v1-only monitor ignores the header
        ("html", "any", False, "broken_challenge"),
        ("noextra", "any", False, "broken_challenge"),
        ("v2-in-body", "any", False, "broken_challenge"),
        ("open", "any", False, "paywall_open"),
    ],
)
async def test_challenge_shapes(paid: PaidServer, check_context: CheckContext, mode: str,
                                versions: str, ok: bool, code: str | None) -> None:
    paid.mode = mode
    result = await X402Check().run(cfg(paid, versions=versions), check_context)
    assert (result.ok, result.error_code) == (ok, code), result.error


async def test_domain_requirement_can_be_relaxed(paid: PaidServer, check_context: CheckContext) -> None:
    paid.mode = "noextra"
    result = await X402Check().run(cfg(paid, require_eip712_domain=False, versions="v2"),
                                   check_context)
    assert result.ok, result.error


async def test_unexpected_status_and_down(check_context: CheckContext, target: Any,
                                          make_free_port: Any) -> None:
    r = await X402Check().run(
        parse_config("x402", {"url": f"http://127.0.0.1:{target.port}/status/500"}),  # type: ignore[arg-type]
        check_context,
    )
    assert not r.ok and r.error_code in ("unexpected_status", "paywall_open")
    down = await X402Check().run(
        parse_config("x402", {"url": f"http://127.0.0.1:{make_free_port()}/", "timeout_s": 2}),  # type: ignore[arg-type]
        check_context,
    )
    assert not down.ok and down.error_code == "connection_error"


async def test_official_sdk_decodes_the_fixture(paid: PaidServer, check_context: CheckContext) -> None:
    """Cross-check: the fixture's header is what the x402 SDK itself decodes."""
    sdk_http = pytest.importorskip("x402.http")
    decode = getattr(sdk_http, "decode_payment_required_header", None)
    if decode is None:
        pytest.skip("x402 SDK without decode_payment_required_header")
    header = base64.b64encode(json.dumps(paid.v2()).encode()).decode()
    decoded = decode(header)
    assert str(decoded.accepts[0].amount) == "1000"


GOOD = {"url": "https://api.example.com/v1/check"}


@pytest.mark.parametrize(
    ("config", "error", "field"),
    [
        ({}, ValidationError, "url"),
        ({"url": "file:///etc/passwd"}, InvalidURLError, "url"),
        ({**GOOD, "network": "narnia"}, ValidationError, "network"),
        ({**GOOD, "asset": "USDC"}, ValidationError, "asset"),
        ({**GOOD, "pay_to": "0x12"}, ValidationError, "pay_to"),
        ({**GOOD, "amount": "0.01"}, ValidationError, "amount"),
        ({**GOOD, "amount": 0}, ValidationError, "amount"),
        ({**GOOD, "versions": "v3"}, ValidationError, "versions"),
        ({**GOOD, "headers": {"X-PAYMENT": "e30="}}, ValidationError, "headers"),
        ({**GOOD, "method": "DELETE"}, ValidationError, "method"),
    ],
)
async def test_bad_configs_refused(service: MonitorService, config: dict[str, Any],
                                   error: type[Exception], field: str) -> None:
    with pytest.raises(error) as info:
        await service.create_monitor(ALICE, type="x402", config=config)
    assert info.value.params["field"] == field  # type: ignore[attr-defined]


async def test_created_through_service(service: MonitorService, paid: PaidServer) -> None:
    config = {"url": f"http://127.0.0.1:{paid.port}/v1/check", "network": "eip155:43113",
              "amount": 1000, "pay_to": PAY_TO}
    m = await service.create_monitor(ALICE, type="x402", config=config)
    assert m.type == "x402" and m.config["amount"] == "1000"
    result = await service.check_once("x402", m.config)
    assert result.ok, result.error


async def test_private_target_refused(pool: Any) -> None:
    strict = MonitorService(pool, TargetGuard(allow_private=False))
    for url in ("http://127.0.0.1:4021/v1/check", "http://192.168.1.10/x", "http://[::1]/x"):
        with pytest.raises(TargetNotAllowedError):
            await strict.create_monitor(ALICE, type="x402", config={"url": url})


def test_deeply_nested_json_from_a_target_is_refused_not_a_crash() -> None:
    import sys

    from lighthouse.core.jsonsafe import safe_json_loads

    deep = "[" * 200_000 + "]" * 200_000
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # what importing web3 does
    try:
        with pytest.raises(ValueError):
            safe_json_loads(deep)
        assert safe_json_loads('{"a": [1, 2]}') == {"a": [1, 2]}
    finally:
        sys.setrecursionlimit(old)
