"""End to end on a local EVM: the official x402 client pays, the API serves, USDC moves once."""

from __future__ import annotations

import base64
import json

from lighthouse.core.tiers import tier
from support.evm import LocalChain

from .buyer import official_client, pay_header
from .conftest import ServerFactory


async def test_buyer_pays_creates_a_monitor_and_reads_it(
    chain: LocalChain, make_server: ServerFactory, target: object
) -> None:
    srv = await make_server(chain)
    buyer = chain.new_account()
    await chain.mint(buyer.address, 5_000_000)
    price = tier("basic").price_atomic_per_month
    body = {"type": "http", "config": {"url": target.url}, "tier": "basic"}  # type: ignore[attr-defined]

    async with srv.session.post(srv.url + "/v1/monitors", json=body) as r:
        assert r.status == 402
        assert r.headers["Cache-Control"] == "no-store"
        challenge = r.headers["PAYMENT-REQUIRED"]
        v1 = await r.json()
    assert v1["x402Version"] == 1 and v1["accepts"][0]["maxAmountRequired"] == str(price)
    v2 = json.loads(base64.b64decode(challenge))
    assert v2["accepts"][0]["amount"] == str(price) and v2["accepts"][0]["network"] == "eip155:43113"

    headers = await pay_header(official_client(buyer), challenge)
    async with srv.session.post(srv.url + "/v1/monitors", json=body, headers=headers) as r:
        assert r.status == 201, await r.text()
        created = await r.json()
        receipt = json.loads(base64.b64decode(r.headers["PAYMENT-RESPONSE"]))
    assert receipt["success"] is True and receipt["transaction"].startswith("0x")
    assert await chain.token_balance(srv.pay_to) == price
    assert await chain.token_balance(buyer.address) == 5_000_000 - price

    mid, token = created["monitor"]["id"], created["management_token"]
    auth = {"Authorization": f"Bearer {token}"}
    async with srv.session.get(f"{srv.url}/v1/monitors/{mid}", headers=auth) as r:
        assert r.status == 200
        assert (await r.json())["monitor"]["tier"] == "basic"
    async with srv.session.get(f"{srv.url}/v1/monitors/{mid}/checks", headers=auth) as r:
        assert r.status == 200 and (await r.json())["checks"] == []
    async with srv.session.get(f"{srv.url}/v1/monitors/{mid}/uptime", headers=auth) as r:
        assert r.status == 200
    async with srv.session.get(f"{srv.url}/v1/monitors/{mid}") as r:
        assert r.status == 401

    # Replaying the same payment: the recorded outcome, no second monitor, no second transfer.
    async with srv.session.post(srv.url + "/v1/monitors", json=body, headers=headers) as r:
        assert r.status == 402
    assert await chain.token_balance(srv.pay_to) == price
    assert await srv.pool.fetchval("SELECT count(*) FROM monitors") == 1
    row = await srv.pool.fetchrow("SELECT * FROM payments")
    assert row["state"] == "settled" and row["tx_hash"] == receipt["transaction"]

    async with srv.session.delete(f"{srv.url}/v1/monitors/{mid}", headers=auth) as r:
        assert r.status == 200
    async with srv.session.get(f"{srv.url}/v1/monitors/{mid}", headers=auth) as r:
        assert r.status == 404


async def test_one_off_check_paid_get(
    chain: LocalChain, make_server: ServerFactory, target: object
) -> None:
    srv = await make_server(chain)
    buyer = chain.new_account()
    await chain.mint(buyer.address, 10_000)
    url = f"{srv.url}/v1/check?url={target.url}"  # type: ignore[attr-defined]
    async with srv.session.get(url) as r:
        assert r.status == 402
        challenge = r.headers["PAYMENT-REQUIRED"]
    headers = await pay_header(official_client(buyer), challenge)
    async with srv.session.get(url, headers=headers) as r:
        assert r.status == 200, await r.text()
        result = await r.json()
        assert "PAYMENT-RESPONSE" in r.headers
    assert result["ok"] is True
    assert await chain.token_balance(srv.pay_to) == 1000


async def test_seed_subscribe_alias_and_post_checks(
    chain: LocalChain, make_server: ServerFactory, target: object
) -> None:
    srv = await make_server(chain)
    buyer = chain.new_account()
    await chain.mint(buyer.address, 5_000_000)
    client = official_client(buyer)
    body = {"user_address": buyer.address, "target_type": "http",
            "target_config": {"url": target.url}, "tier": "standard"}  # type: ignore[attr-defined]
    async with srv.session.post(srv.url + "/subscribe", json=body) as r:
        assert r.status == 402
        headers = await pay_header(client, r.headers["PAYMENT-REQUIRED"])
    async with srv.session.post(srv.url + "/subscribe", json=body, headers=headers) as r:
        assert r.status == 201, await r.text()
        sub = await r.json()
    assert sub["status"] == "active" and sub["check_frequency"] == 300
    assert sub["payment_chain"] == "eip155:43113" and sub["payment_tx"].startswith("0x")
    assert await chain.token_balance(srv.pay_to) == tier("standard").price_atomic_per_month

    check = {"type": "http", "config": {"url": target.url}}  # type: ignore[attr-defined]
    async with srv.session.post(srv.url + "/v1/checks", json=check) as r:
        assert r.status == 402
        headers = await pay_header(client, r.headers["PAYMENT-REQUIRED"])
    async with srv.session.post(srv.url + "/v1/checks", json=check, headers=headers) as r:
        assert r.status == 200, await r.text()
        assert (await r.json())["ok"] is True


async def test_a_request_the_service_would_refuse_is_refused_before_payment(
    chain: LocalChain, make_server: ServerFactory, target: object, service: object
) -> None:
    """The bug: the API's pre-payment check copied the service's rules but not the canary
    limit, so a Standard user's fourth canary settled and then failed. Now the API runs the
    service's own validation with the tier being bought: 403, nothing charged."""
    from datetime import timedelta

    from lighthouse.core.models import Identity, Provider

    srv = await make_server(chain)
    buyer = chain.new_account()
    await chain.mint(buyer.address, 5_000_000)
    who = Identity(Provider.WALLET, buyer.address)
    await service.upgrade_tier(who, "standard", timedelta(days=30))  # type: ignore[attr-defined]
    flow = {"steps": [{"action": "http", "url": target.url}]}  # type: ignore[attr-defined]
    for n in range(3):
        await service.create_monitor(who, type="canary", config={**flow, "name": f"flow {n}"})  # type: ignore[attr-defined]
    body = {"type": "canary", "config": {**flow, "name": "flow 4"}, "tier": "standard"}

    async with srv.session.post(srv.url + "/v1/monitors", json=body) as r:
        assert r.status == 402
        challenge = r.headers["PAYMENT-REQUIRED"]
    headers = await pay_header(official_client(buyer), challenge)
    async with srv.session.post(srv.url + "/v1/monitors", json=body, headers=headers) as r:
        assert r.status == 403, await r.text()
        error = (await r.json())["error"]
    assert error["code"] == "monitor_limit_reached" and error["params"]["kind"] == "canary"
    assert await chain.token_balance(buyer.address) == 5_000_000
    assert await srv.pool.fetchval("SELECT count(*) FROM payments WHERE state = 'settled'") == 0
    assert await srv.pool.fetchval("SELECT count(*) FROM monitors") == 3
