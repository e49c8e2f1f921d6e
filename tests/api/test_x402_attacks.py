"""Attack tests (notes/x402.md §10): right status, no handler run, no settlement, no balance moved."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest
from aiohttp import web
from lighthouse.api.x402.paywall import Paywall
from lighthouse.core.payments.facilitator import SettleResult
from support.evm import LocalChain

from .buyer import official_client, pay_header
from .conftest import Server, ServerFactory


def b64(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


async def challenge(srv: Server, path: str) -> dict[str, Any]:
    async with srv.session.get(srv.url + path) as r:
        assert r.status == 402
        return json.loads(base64.b64decode(r.headers["PAYMENT-REQUIRED"]))


def forged(chain: LocalChain, buyer: Any, req: dict[str, Any], **over: Any) -> dict[str, str]:
    """A v2 payload signed with the test signer; ``over`` changes the authorization or accepted."""
    accepted = dict(req["accepts"][0])
    accepted.update(over.pop("accepted", {}))
    now = int(time.time())
    kwargs: dict[str, Any] = {"to": accepted["payTo"], "value": int(accepted["amount"]),
                              "valid_before": now + 60}
    kwargs.update(over)
    auth = chain.sign_authorization(buyer, **kwargs)
    payload = {"x402Version": 2, "resource": req["resource"], "accepted": accepted,
               "payload": auth.to_x402(), "extensions": {}}
    return {"PAYMENT-SIGNATURE": b64(payload)}


@pytest.fixture
async def paid(chain: LocalChain, make_server: ServerFactory, target: Any) -> tuple[Server, Any, str]:
    srv = await make_server(chain)
    buyer = chain.new_account()
    await chain.mint(buyer.address, 1_000_000)
    return srv, buyer, f"/v1/check?url={target.url}"


async def assert_nothing_paid(srv: Server, chain: LocalChain, buyer: Any, before: int = 1_000_000) -> None:
    assert await chain.token_balance(srv.pay_to) == 0
    assert await chain.token_balance(buyer.address) == before
    assert await srv.pool.fetchval("SELECT count(*) FROM payments WHERE state='settled'") == 0


async def test_concurrent_double_spend_serves_once(paid: tuple[Server, Any, str], chain: LocalChain,
                                                   target: Any) -> None:
    srv, buyer, path = paid
    req = await challenge(srv, path)
    headers = await pay_header(official_client(buyer), b64(req))

    async def one() -> int:
        async with srv.session.get(srv.url + path, headers=headers) as r:
            await r.read()
            return r.status

    statuses = await asyncio.gather(*(one() for _ in range(100)))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 402}
    assert await chain.token_balance(srv.pay_to) == 1000
    assert await srv.pool.fetchval("SELECT count(*) FROM payments") == 1
    assert await srv.pool.fetchval("SELECT state FROM payments") == "settled"


@pytest.mark.parametrize("case", [
    "wrong_payto_auth", "wrong_payto_accepted", "underpay", "lowered_accepted_amount",
    "wrong_asset", "wrong_chain", "expired", "not_yet_valid", "other_resource", "other_signer",
])
async def test_refused_payments(paid: tuple[Server, Any, str], chain: LocalChain, case: str) -> None:
    srv, buyer, path = paid
    req = await challenge(srv, path)
    now = int(time.time())
    other = chain.new_account().address
    over: dict[str, Any] = {
        "wrong_payto_auth": {"to": other},
        "wrong_payto_accepted": {"to": other, "accepted": {"payTo": other}},
        "underpay": {"value": 999},
        "lowered_accepted_amount": {"value": 1, "accepted": {"amount": "1"}},
        "wrong_asset": {"accepted": {"asset": "0x" + "22" * 20}},
        "wrong_chain": {"accepted": {"network": "eip155:84532"}},
        "expired": {"valid_before": now + 3},
        "not_yet_valid": {"valid_after": now + 120},
        "other_resource": {},
        "other_signer": {"from_address": other},
    }[case]
    headers = forged(chain, buyer, req, **over)
    request_path = path
    if case == "other_resource":
        request_path = path + "&x=1"  # same route, other query: other resource URL
    async with srv.session.get(srv.url + request_path, headers=headers) as r:
        assert r.status == 402, (case, await r.text())
        assert "PAYMENT-REQUIRED" in r.headers
    await assert_nothing_paid(srv, chain, buyer)


async def test_own_signer_accepted(paid: tuple[Server, Any, str], chain: LocalChain) -> None:
    srv, buyer, path = paid
    headers = forged(chain, buyer, await challenge(srv, path))
    async with srv.session.get(srv.url + path, headers=headers) as r:
        assert r.status == 200, await r.text()


@pytest.mark.parametrize("header,value", [
    ("PAYMENT-SIGNATURE", "not base64!!"),
    ("PAYMENT-SIGNATURE", base64.b64encode(b"not json").decode()),
    ("PAYMENT-SIGNATURE", b64([1, 2])),
    ("PAYMENT-SIGNATURE", b64({"x402Version": 2})),
    ("PAYMENT-SIGNATURE", b64({"x402Version": 1, "scheme": "exact", "network": "avalanche-fuji",
                               "payload": {}})),
    ("PAYMENT-SIGNATURE", b64({"x402Version": 2, "accepted": {}, "payload": {"signature": "0x",
                               "authorization": {}}})),
    ("X-PAYMENT", "e30="),
    ("PAYMENT-SIGNATURE", "A" * 12_000),
])
async def test_malformed_is_400(paid: tuple[Server, Any, str], chain: LocalChain,
                                header: str, value: str) -> None:
    srv, buyer, path = paid
    async with srv.session.get(srv.url + path, headers={header: value}) as r:
        assert r.status == 400, await r.text()
        assert (await r.json())["error"]["code"] in ("invalid_payload", "invalid_x402_version")
    await assert_nothing_paid(srv, chain, buyer)


async def test_oversized_header_is_400(paid: tuple[Server, Any, str]) -> None:
    srv, _, path = paid
    for size in (17_000, 40_000):
        async with srv.session.get(srv.url + path, headers={"PAYMENT-SIGNATURE": "A" * size}) as r:
            assert r.status == 400


async def test_head_and_options_do_not_bypass(paid: tuple[Server, Any, str], chain: LocalChain) -> None:
    srv, buyer, path = paid
    headers = forged(chain, buyer, await challenge(srv, path))
    async with srv.session.head(srv.url + path, headers=headers) as r:
        assert r.status == 402
    async with srv.session.options(srv.url + path, headers=headers) as r:
        assert r.status in (405, 402)
    await assert_nothing_paid(srv, chain, buyer)
    # The same authorization still works once on GET (HEAD reserved nothing).
    async with srv.session.get(srv.url + path, headers=headers) as r:
        assert r.status == 200


async def test_handler_error_releases_and_does_not_settle(
    paid: tuple[Server, Any, str], chain: LocalChain, target: Any
) -> None:
    srv, buyer, _ = paid
    calls = {"n": 0}

    async def boom(request: web.Request) -> web.Response:
        calls["n"] += 1
        return web.json_response({"error": "nope"}, status=500)

    path = f"/v1/check?url={target.url}"
    await challenge(srv, path)
    # The route is bound at registration; exercise the paywall on a fresh app instead.
    pw: Paywall = srv.api.paywall

    async def fake_price(request: web.Request) -> tuple[int, str]:
        return 1000, "x"

    pw.paid("GET", "/boom", fake_price)
    app = web.Application(middlewares=srv.api.middlewares)
    app.router.add_get("/boom", boom)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    pw_base = pw.public_base_url
    pw.public_base_url = url
    try:
        async with srv.session.get(url + "/boom") as r:
            req = json.loads(base64.b64decode(r.headers["PAYMENT-REQUIRED"]))
        headers = forged(chain, buyer, req)
        async with srv.session.get(url + "/boom", headers=headers) as r:
            assert r.status == 500
            assert "PAYMENT-RESPONSE" not in r.headers
        assert calls["n"] == 1
        assert await srv.pool.fetchval("SELECT state FROM payments") == "released"
        await assert_nothing_paid(srv, chain, buyer)
    finally:
        pw.public_base_url = pw_base
        await runner.cleanup()


class FailingSettle:
    def __init__(self, inner: Any, outcome: str) -> None:
        self.inner = inner
        self.outcome = outcome

    async def verify(self, v: Any) -> Any:
        return await self.inner.verify(v)

    async def settle(self, v: Any) -> SettleResult:
        if self.outcome == "failed":
            return SettleResult("failed", "", "invalid_transaction_state")
        return SettleResult("unknown", "0x" + "ab" * 32, "timeout")

    async def tx_state(self, v: Any, tx: str | None) -> Any:
        return await self.inner.tx_state(v, tx)

    async def close(self) -> None:
        await self.inner.close()


@pytest.mark.parametrize("outcome,state", [("failed", "failed"), ("unknown", "pending")])
async def test_settlement_failure_gives_no_content(
    chain: LocalChain, make_server: ServerFactory, target: Any, outcome: str, state: str
) -> None:
    from lighthouse.core.payments.facilitator import LocalFacilitator

    inner = LocalFacilitator({43113: chain.rpc_url}, "0x" + bytes(chain.relayer.key).hex())
    srv = await make_server(chain, facilitator=FailingSettle(inner, outcome))
    buyer = chain.new_account()
    await chain.mint(buyer.address, 1_000_000)
    body = {"type": "http", "config": {"url": target.url}, "tier": "basic"}
    async with srv.session.post(srv.url + "/v1/monitors", json=body) as r:
        req = r.headers["PAYMENT-REQUIRED"]
    headers = await pay_header(official_client(buyer), req)
    async with srv.session.post(srv.url + "/v1/monitors", json=body, headers=headers) as r:
        assert r.status == 402
        receipt = json.loads(base64.b64decode(r.headers["PAYMENT-RESPONSE"]))
        assert receipt["success"] is False
    assert await srv.pool.fetchval("SELECT count(*) FROM monitors") == 0
    assert await srv.pool.fetchval("SELECT state FROM payments") == state
    # Asking again with the same payment never runs the handler while undecided.
    async with srv.session.post(srv.url + "/v1/monitors", json=body, headers=headers) as r:
        assert r.status == 402
    assert await srv.pool.fetchval("SELECT count(*) FROM monitors") == 0


async def test_reconciler_settles_pending_from_chain(
    paid: tuple[Server, Any, str], chain: LocalChain
) -> None:
    srv, buyer, path = paid
    headers = forged(chain, buyer, await challenge(srv, path))
    async with srv.session.get(srv.url + path, headers=headers) as r:
        assert r.status == 200
    await srv.pool.execute("UPDATE payments SET state='pending'")
    rec = srv.api.reconciler
    assert rec is not None
    counts = await rec.run_once()
    assert counts["settled"] == 1
    assert await srv.pool.fetchval("SELECT state FROM payments") == "settled"


async def test_503_without_payment_address(make_server: ServerFactory, target: Any) -> None:
    srv = await make_server(None, paid=False)
    async with srv.session.get(f"{srv.url}/v1/check?url={target.url}") as r:
        assert r.status == 503
        assert (await r.json())["error"]["code"] == "payments_unavailable"
    async with srv.session.get(srv.url + "/v1/pricing") as r:
        assert r.status == 200


async def test_strict_json_and_discovery(chain: LocalChain, make_server: ServerFactory, target: Any) -> None:
    srv = await make_server(chain)
    async with srv.session.post(srv.url + "/v1/monitors",
                                json={"config": {"url": target.url}, "bogus": 1}) as r:
        assert r.status == 400
    async with srv.session.post(srv.url + "/v1/monitors", data=b"{not json") as r:
        assert r.status == 400
    async with srv.session.post(srv.url + "/v1/monitors",
                                json={"config": {"url": target.url}, "tier": "free"}) as r:
        assert r.status == 400
    async with srv.session.get(srv.url + "/.well-known/x402") as r:
        doc = await r.json()
        assert srv.url + "/v1/check" in doc["resources"]
    async with srv.session.get(srv.url + "/openapi.json") as r:
        oa = await r.json()
        assert "x-payment-info" in oa["paths"]["/v1/check"]["get"]
        assert "402" in oa["paths"]["/v1/monitors"]["post"]["responses"]
    async with srv.session.get(srv.url + "/.well-known/agent-card") as r:
        assert (await r.json())["payment"]["protocol"] == "x402"
    async with srv.session.get(srv.url + "/docs") as r:
        assert r.status == 200 and "x402" in await r.text()


async def test_v1_x_payment_and_replay_after_restart(
    chain: LocalChain, make_server: ServerFactory, target: Any
) -> None:
    srv = await make_server(chain)
    buyer = chain.new_account()
    await chain.mint(buyer.address, 1_000_000)
    path = f"/v1/check?url={target.url}"
    async with srv.session.get(srv.url + path) as r:
        body = await r.json()
    offer = body["accepts"][0]
    assert body["x402Version"] == 1 and offer["network"] == "avalanche-fuji"
    auth = chain.sign_authorization(buyer, to=offer["payTo"], value=int(offer["maxAmountRequired"]),
                                    valid_before=int(time.time()) + 60)
    headers = {"X-PAYMENT": b64({"x402Version": 1, "scheme": "exact", "network": "avalanche-fuji",
                                 "payload": auth.to_x402()})}
    async with srv.session.get(srv.url + path, headers=headers) as r:
        assert r.status == 200, await r.text()
        assert json.loads(base64.b64decode(r.headers["X-PAYMENT-RESPONSE"]))["success"] is True
    # A second server on the same database (a restart) refuses the replay.
    srv2 = await make_server(chain)
    srv2.api.paywall.pay_to = srv.pay_to
    async with srv2.session.get(srv2.url + path, headers=headers) as r:
        assert r.status == 402
    assert await chain.token_balance(srv.pay_to) == 1000


async def test_boot_domain_check_drops_mismatched_network(
    chain: LocalChain, make_server: ServerFactory
) -> None:
    from dataclasses import replace

    from lighthouse.api.routes import verify_domains
    from lighthouse.core.payments.domains import expected_separator

    srv = await make_server(chain)
    net = srv.api.paywall.networks[0]
    assert expected_separator(net) == await chain.domain_separator()
    assert (await verify_domains(srv.api)) == {"eip155:43113": "ok"}
    srv.api.paywall.networks[0] = replace(net, name="USDC")  # the Base Sepolia name on Fuji
    assert (await verify_domains(srv.api)) == {"eip155:43113": "mismatch"}
    assert srv.api.paywall.networks == []


async def test_monitor_refused_before_settlement_costs_nothing(
    chain: LocalChain, make_server: ServerFactory, target: Any
) -> None:
    srv = await make_server(chain)
    buyer = chain.new_account()
    await chain.mint(buyer.address, 1_000_000)
    body = {"config": {"url": target.url}, "tier": "basic", "interval_s": 60}  # basic: >= 900 s
    async with srv.session.post(srv.url + "/v1/monitors", json=body) as r:
        req = r.headers["PAYMENT-REQUIRED"]
    headers = await pay_header(official_client(buyer), req)
    async with srv.session.post(srv.url + "/v1/monitors", json=body, headers=headers) as r:
        assert r.status == 400, await r.text()
        assert (await r.json())["error"]["code"] == "invalid_interval"
        assert "PAYMENT-RESPONSE" not in r.headers
    await assert_nothing_paid(srv, chain, buyer)
    assert await srv.pool.fetchval("SELECT state FROM payments") == "released"
    assert await srv.pool.fetchval("SELECT count(*) FROM monitors") == 0


async def test_challenge_offered_without_rpc_or_facilitator(
    make_server: ServerFactory, target: Any
) -> None:
    # PAYMENT_ADDRESS and the USDC address but no RPC, key or facilitator: the 402 is still
    # offered; a payment attempt gets a clear 503, never a 5xx from a crash.
    srv = await make_server(None, USDC_CONTRACT_ADDRESS="0x5425890298aed601595a70AB815c96711a31Bc65")
    path = f"/v1/check?url={target.url}"
    async with srv.session.get(srv.url + path) as r:
        assert r.status == 402
        req = json.loads(base64.b64decode(r.headers["PAYMENT-REQUIRED"]))
    assert req["accepts"][0]["extra"] == {"name": "USD Coin", "version": "2"}
    assert len(r.headers["PAYMENT-REQUIRED"]) < 8192


def test_deeply_nested_payment_header_is_a_400_not_a_crash() -> None:
    import sys

    from lighthouse.core.payments.verifier import PaymentError, decode_header

    deep = base64.b64encode(b"[" * 6000 + b"]" * 6000).decode()
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # what importing web3 does
    try:
        with pytest.raises(PaymentError) as info:
            decode_header(deep)
    finally:
        sys.setrecursionlimit(old)
    assert info.value.status == 400
