"""Settlement through an HTTP facilitator double: every unclear answer is pending, never success."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from lighthouse.core.payments.http_facilitator import HttpFacilitator
from support.evm import LocalChain

from .buyer import official_client, pay_header
from .conftest import ServerFactory

TX = "0x" + "cd" * 32


class Double:
    def __init__(self) -> None:
        self.settle_mode = "ok"
        self.calls: list[dict[str, Any]] = []
        self.url = ""

    async def verify(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(body)
        return web.json_response({"isValid": True, "payer": "0x" + "00" * 20})

    async def settle(self, request: web.Request) -> web.StreamResponse:
        mode = self.settle_mode
        if mode == "ok":
            return web.json_response({"success": True, "transaction": TX, "network": "eip155:43113",
                                      "payer": "0x" + "00" * 20})
        if mode == "hang":
            await asyncio.sleep(5)
        if mode == "html502":
            return web.Response(status=502, text="<html>bad gateway</html>", content_type="text/html")
        if mode == "503success":
            return web.json_response({"success": True, "transaction": TX}, status=503)
        if mode == "truncated":
            return web.Response(status=200, text='{"success": true, "transac',
                                content_type="application/json")
        if mode == "pending":
            return web.json_response({"success": False, "errorReason": "settlement_pending",
                                      "transaction": TX}, status=500)
        return web.json_response({"success": False, "errorReason": "invalid_transaction_state",
                                  "transaction": ""}, status=200)


@pytest.fixture
async def double() -> AsyncIterator[Double]:
    d = Double()
    app = web.Application()
    app.router.add_post("/verify", d.verify)
    app.router.add_post("/settle", d.settle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    d.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield d
    await runner.cleanup()


@pytest.mark.parametrize("mode,status,state", [
    ("ok", 200, "settled"), ("hang", 402, "pending"), ("html502", 402, "pending"),
    ("503success", 402, "pending"), ("truncated", 402, "pending"), ("pending", 402, "pending"),
    ("refused", 402, "failed"),
])
async def test_settle_outcomes(chain: LocalChain, make_server: ServerFactory, double: Double,
                               target: Any, mode: str, status: int, state: str) -> None:
    double.settle_mode = mode
    srv = await make_server(chain, facilitator=HttpFacilitator(double.url, timeout_s=1.0))
    buyer = chain.new_account()
    path = f"/v1/check?url={target.url}"
    async with srv.session.get(srv.url + path) as r:
        req = r.headers["PAYMENT-REQUIRED"]
    headers = await pay_header(official_client(buyer), req)
    async with srv.session.get(srv.url + path, headers=headers) as r:
        assert r.status == status, await r.text()
        receipt = json.loads(base64.b64decode(r.headers["PAYMENT-RESPONSE"]))
        if status == 200:
            assert receipt["success"] is True and receipt["transaction"] == TX
            assert (await r.json())["ok"] is True
        else:
            assert receipt["success"] is False
            assert "ok" not in await r.json()
    row = await srv.pool.fetchrow("SELECT state, tx_hash FROM payments")
    assert row["state"] == state
    if mode == "pending":
        assert row["tx_hash"] == TX
    sent = double.calls[0]
    assert sent["x402Version"] == 2 and sent["paymentRequirements"]["payTo"] == srv.pay_to
