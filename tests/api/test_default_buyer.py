"""Buyers with default settings can pay (issue 14, point 4).

The official Python x402 client, exactly as it comes (no spend controls changed), refuses
any asset it does not know: the Fuji asset included. With Base Sepolia's RPC configured,
Lighthouse offers Base Sepolia beside Fuji, and that client pays there. Two local chains:
the module's Fuji chain and a Base Sepolia chain (84532) whose token sits at the real Base
Sepolia USDC address with its real EIP-712 domain, so the client's own table recognizes it.
A Fuji buyer who follows /v1/pricing (its allow_asset entry) pays on Fuji.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from lighthouse.core.payments.requirements import BASE_SEPOLIA_USDC
from mcp import Client
from support.evm import LocalChain
from x402 import PaymentRequired, x402Client
from x402.http import encode_payment_signature_header
from x402.mechanisms.evm import EthAccountSigner
from x402.mechanisms.evm.exact import register_exact_evm_client

from .conftest import Server, ServerFactory
from .mcp_buyer import pay_meta, receipt


@pytest.fixture(scope="module")
async def base_sepolia() -> AsyncIterator[LocalChain]:
    async with LocalChain(chain_id=84532, token_at=BASE_SEPOLIA_USDC) as c:
        yield c


def default_client(account: LocalAccount) -> Any:
    return register_exact_evm_client(x402Client(), EthAccountSigner(account))


async def both(make_server: ServerFactory, fuji: LocalChain, base: LocalChain) -> Server:
    return await make_server(fuji, RPC_URL_BASE_SEPOLIA=base.rpc_url)


async def challenge(srv: Server, path: str) -> PaymentRequired:
    async with srv.session.get(srv.url + path) as r:
        assert r.status == 402
        return PaymentRequired.model_validate_json(base64.b64decode(r.headers["PAYMENT-REQUIRED"]))


async def test_pricing_says_which_assets_default_clients_pay(
    chain: LocalChain, base_sepolia: LocalChain, make_server: ServerFactory
) -> None:
    srv = await both(make_server, chain, base_sepolia)
    async with srv.session.get(srv.url + "/v1/pricing") as r:
        pricing = await r.json()
    by_network = {n["network"]: n for n in pricing["networks"]}
    assert by_network["eip155:84532"] == {"network": "eip155:84532", "asset": BASE_SEPOLIA_USDC,
                                          "known_to_clients": True, "allow_asset": None}
    fuji = by_network["eip155:43113"]
    assert fuji["known_to_clients"] is False
    assert fuji["allow_asset"] == {"network": "eip155:43113", "asset": chain.token_address}
    assert "allowedAssets" in pricing["buyer_note"]


async def test_default_python_client_pays_on_base_sepolia_over_http_and_mcp(
    chain: LocalChain, base_sepolia: LocalChain, make_server: ServerFactory, target: Any
) -> None:
    srv = await both(make_server, chain, base_sepolia)
    buyer = base_sepolia.new_account()
    await base_sepolia.mint(buyer.address, 1_000_000)
    client = default_client(buyer)
    path = f"/v1/check?url={target.url}"
    required = await challenge(srv, path)
    assert [a.network for a in required.accepts] == ["eip155:43113", "eip155:84532"]

    # Offered Fuji alone, the client as it comes refuses to pay.
    fuji_only = required.model_copy(update={"accepts": required.accepts[:1]})
    with pytest.raises(Exception, match="spend_controls"):
        await client.create_payment_payload(fuji_only)

    payload = await client.create_payment_payload(required)
    assert payload.accepted.network == "eip155:84532"
    headers = {"PAYMENT-SIGNATURE": encode_payment_signature_header(payload)}
    async with srv.session.get(srv.url + path, headers=headers) as r:
        assert r.status == 200, await r.text()
        paid = json.loads(base64.b64decode(r.headers["PAYMENT-RESPONSE"]))
    assert paid["success"] is True and paid["network"] == "eip155:84532"
    assert await base_sepolia.token_balance(srv.pay_to) == 1000

    async with Client(srv.url + "/mcp", read_timeout_seconds=30) as mcp:
        unpaid = await mcp.call_tool("check_url", {"url": target.url})
        result = await mcp.call_tool("check_url", {"url": target.url}, meta=await pay_meta(client, unpaid))
        assert not result.is_error, result
        settled = receipt(result)
        assert settled is not None and settled.success and settled.network == "eip155:84532"
    assert await base_sepolia.token_balance(srv.pay_to) == 2000
    assert await chain.token_balance(srv.pay_to) == 0


async def test_a_fuji_buyer_following_pricing_pays_on_fuji(
    chain: LocalChain, base_sepolia: LocalChain, make_server: ServerFactory, target: Any
) -> None:
    srv = await both(make_server, chain, base_sepolia)
    buyer = chain.new_account()
    await chain.mint(buyer.address, 1_000_000)
    async with srv.session.get(srv.url + "/v1/pricing") as r:
        allow = [n["allow_asset"] for n in (await r.json())["networks"] if n["allow_asset"]]
    client = default_client(buyer)
    client.set_spend_controls({"allowed_assets": allow})
    path = f"/v1/check?url={target.url}"
    required = await challenge(srv, path)
    # Fuji comes first in the offers and is now allowed: the client takes it.
    payload = await client.create_payment_payload(required)
    assert payload.accepted.network == "eip155:43113"
    headers = {"PAYMENT-SIGNATURE": encode_payment_signature_header(payload)}
    async with srv.session.get(srv.url + path, headers=headers) as r:
        assert r.status == 200, await r.text()
    assert await chain.token_balance(srv.pay_to) == 1000
