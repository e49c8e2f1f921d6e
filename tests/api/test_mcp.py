"""The MCP server (api/mcp_server.py) end to end: the official MCP SDK client over streamable
HTTP (the app on 127.0.0.1) and over stdio (a `lighthouse mcp` subprocess), paying with the
official x402 client's signer on the local chain.

Asserted: the tools and their schemas, a free call, the x402 PaymentRequired of an unpaid
paid call (isError, structuredContent and content[0].text), a paid call's result with the
receipt in _meta and USDC moved once, a replay refused, one nonce served once across HTTP
and MCP, validation before payment, management tokens, and discovery.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import mcp_types as types
import pytest
from lighthouse.api.schemas import CheckBody, MonitorBody, tool_input_schema
from lighthouse.core.models import Identity, Provider
from lighthouse.core.service import MonitorService
from lighthouse.core.tiers import tier
from mcp import Client, StdioServerParameters
from support.evm import LocalChain
from x402.mcp import x402MCPClient

from .buyer import official_client, pay_header
from .conftest import Server, ServerFactory
from .mcp_buyer import SdkAdapter, pay_meta, payment_required, receipt

TOOLS = {"pricing", "check_url", "check", "create_monitor", "get_monitor", "list_checks", "uptime",
         "delete_monitor", "create_status_page", "list_status_pages", "delete_status_page"}
PAID = {"check_url", "check", "create_monitor"}


@asynccontextmanager
async def http_client(srv: Server, mode: str = "auto") -> AsyncIterator[Client]:
    async with asyncio.timeout(60), Client(srv.url + "/mcp", mode=mode, read_timeout_seconds=30) as c:
        yield c


def structured(result: types.CallToolResult) -> dict[str, Any]:
    assert isinstance(result.structured_content, dict), result
    # Both forms carry the same object (the x402 MCP transport requires both).
    assert len(result.content) == 1 and isinstance(result.content[0], types.TextContent)
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def assert_payment_required(result: types.CallToolResult, tool: str, amount: int) -> dict[str, Any]:
    assert result.is_error
    required = structured(result)
    assert required["x402Version"] == 2 and required["resource"]["url"] == f"mcp://tool/{tool}"
    assert [a["amount"] for a in required["accepts"]] == [str(amount)]
    assert payment_required(result) is not None  # x402's own MCP client recognizes it
    return required


async def test_streamable_http_lists_tools_pays_and_refuses_a_replay(
    chain: LocalChain, make_server: ServerFactory, target: Any
) -> None:
    srv = await make_server(chain)
    buyer_account = chain.new_account()
    await chain.mint(buyer_account.address, 1_000_000)
    buyer = official_client(buyer_account)
    async with http_client(srv) as client:
        assert client.protocol_version == "2026-07-28"  # the SDK's default, modern era
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert set(listed) == TOOLS
        # The input schemas are the API's models, with each check type's config.
        assert listed["check"].input_schema == tool_input_schema(CheckBody)
        assert listed["create_monitor"].input_schema == tool_input_schema(MonitorBody)
        assert "HttpConfig" in listed["check"].input_schema["$defs"]
        assert "http" in listed["check"].input_schema["properties"]["type"]["enum"]
        assert {"id", "management_token"} <= set(listed["uptime"].input_schema["properties"])

        pricing = await client.call_tool("pricing", {})
        assert not pricing.is_error
        networks = structured(pricing)["networks"]
        assert networks[0]["network"] == "eip155:43113" and networks[0]["known_to_clients"] is False
        assert networks[0]["allow_asset"]["asset"] == chain.token_address

        args = {"url": target.url}
        unpaid = await client.call_tool("check_url", args)
        assert_payment_required(unpaid, "check_url", 1000)
        assert target.hits == 0  # nothing ran before payment

        meta = await pay_meta(buyer, unpaid)
        paid = await client.call_tool("check_url", args, meta=meta)
        assert not paid.is_error, paid
        assert structured(paid)["ok"] is True and target.hits == 1
        settled = receipt(paid)
        assert settled is not None and settled.success and settled.transaction.startswith("0x")
        assert paid.meta is not None
        assert paid.meta["x402/payment-response"]["payer"] == buyer_account.address.lower()
        assert await chain.token_balance(srv.pay_to) == 1000
        # Signed as over HTTP, with the transaction that paid for it.
        from lighthouse.core.verify import load_keys, verify_result

        async with srv.session.get(srv.url + "/.well-known/lighthouse-keys.json") as r:
            keys = load_keys(await r.read())
        result = structured(paid)
        verdict = verify_result(result, keys)
        assert verdict.valid, verdict.reason
        assert result["payment"]["transaction"] == settled.transaction and result["type"] == "http"

        replay = await client.call_tool("check_url", args, meta=meta)
        required = assert_payment_required(replay, "check_url", 1000)
        assert required["error"].startswith("invalid_transaction_state")
    assert target.hits == 1
    assert await chain.token_balance(srv.pay_to) == 1000
    assert await chain.token_balance(buyer_account.address) == 1_000_000 - 1000
    row = await srv.pool.fetchrow("SELECT state, resource, tx_hash FROM payments")
    assert row["state"] == "settled" and row["resource"] == "tools/call mcp://tool/check_url"
    assert row["tx_hash"] == settled.transaction


async def test_check_any_type_and_bad_payments_are_refused_without_charge(
    chain: LocalChain, make_server: ServerFactory, target: Any
) -> None:
    srv = await make_server(chain)
    buyer_account = chain.new_account()
    await chain.mint(buyer_account.address, 1_000_000)
    buyer = official_client(buyer_account)
    args = {"type": "tcp", "config": {"host": "127.0.0.1", "port": target.port}}
    async with http_client(srv) as client:
        unpaid = await client.call_tool("check", args)
        assert_payment_required(unpaid, "check", 1000)
        meta = await pay_meta(buyer, unpaid)

        # A payment signed for another tool's resource is not this call's.
        other = json.loads(json.dumps(meta))
        other["x402/payment"]["resource"]["url"] = "mcp://tool/check_url"
        refused = await client.call_tool("check", args, meta=other)
        assert structured(refused)["error"] == "invalid_payment_requirements"
        # Not an object, or an x402 v1 payload: refused, the buyer may sign again.
        for bad in ("e30=", {**meta["x402/payment"], "x402Version": 1}):
            refused = await client.call_tool("check", args, meta={"x402/payment": bad})
            assert refused.is_error and structured(refused)["x402Version"] == 2

        # An invalid config is refused before any challenge, as over HTTP.
        bad_config = await client.call_tool("check", {"type": "tcp", "config": {"host": "x"}})
        assert bad_config.is_error and structured(bad_config)["error"]["code"] == "invalid_input"
        unknown = await client.call_tool("check", {"type": "nope", "config": {}})
        assert structured(unknown)["error"]["code"] == "unknown_check_type"

        paid = await client.call_tool("check", args, meta=meta)
        assert not paid.is_error, paid
        assert structured(paid)["ok"] is True and receipt(paid).success
    assert await chain.token_balance(srv.pay_to) == 1000
    assert await srv.pool.fetchval("SELECT count(*) FROM payments WHERE state = 'settled'") == 1


async def test_create_monitor_through_x402_mcp_client_then_manage_it_with_the_token(
    chain: LocalChain, make_server: ServerFactory, target: Any
) -> None:
    """x402's own MCP client drives the flow (probe, sign, retry) through the MCP SDK client."""
    srv = await make_server(chain)
    buyer_account = chain.new_account()
    await chain.mint(buyer_account.address, 5_000_000)
    price = tier("basic").price_atomic_per_month
    async with http_client(srv) as client:
        x402_client = x402MCPClient(SdkAdapter(client), official_client(buyer_account), auto_payment=True)
        result = await x402_client.call_tool(
            "create_monitor", {"type": "http", "config": {"url": target.url}, "tier": "basic",
                               "name": "via mcp"})
        assert result.payment_made and not result.is_error, result
        assert result.payment_response is not None and result.payment_response.success
        created = json.loads(result.content[0]["text"])
        assert created["monitor"]["name"] == "via mcp" and created["payment"]["network"] == "eip155:43113"
        mid, token = created["monitor"]["id"], created["management_token"]
        assert await chain.token_balance(srv.pay_to) == price

        managed = {"id": mid, "management_token": token}
        got = await client.call_tool("get_monitor", managed)
        assert structured(got)["monitor"]["tier"] == "basic"
        history = await client.call_tool("list_checks", {**managed, "limit": 5,
                                                         "before": "2100-01-01T00:00:00+00:00"})
        assert structured(history) == {"checks": [], "next_before": None}
        naive = await client.call_tool("list_checks", {**managed, "before": "2100-01-01T00:00:00"})
        assert structured(naive)["error"]["code"] == "invalid_input"
        uptime = await client.call_tool("uptime", managed)
        assert [w["period"] for w in structured(uptime)["uptime"]][:1] == ["24h"]

        # Status pages: the same service calls as /v1/status-pages, for the token's owner.
        owner = {"management_token": token}
        basic = await client.call_tool("create_status_page", {**owner, "slug": "via-mcp"})
        assert structured(basic)["error"]["code"] == "tier_feature_unavailable"  # Basic plan
        await srv.pool.execute("UPDATE users SET tier = 'standard'")
        page = await client.call_tool("create_status_page",
                                      {**owner, "slug": "via-mcp", "monitors": [mid]})
        assert structured(page)["status_page"]["url"] == f"{srv.url}/status/via-mcp"
        assert structured(page)["status_page"]["monitors"] == [mid]
        listed = await client.call_tool("list_status_pages", owner)
        assert [p["slug"] for p in structured(listed)["status_pages"]] == ["via-mcp"]
        nobody = await client.call_tool("list_status_pages", {"management_token": "lhm_wrong"})
        assert structured(nobody)["error"]["code"] == "monitor_not_found"
        removed = await client.call_tool("delete_status_page", {**owner, "slug": "via-mcp"})
        assert structured(removed) == {"deleted": "via-mcp"}

        wrong = await client.call_tool("get_monitor", {"id": mid, "management_token": "lhm_wrong"})
        assert structured(wrong)["error"]["code"] == "monitor_not_found"
        deleted = await client.call_tool("delete_monitor", managed)
        assert structured(deleted) == {"deleted": mid}
        gone = await client.call_tool("get_monitor", managed)
        assert structured(gone)["error"]["code"] == "monitor_not_found"
    assert await srv.pool.fetchval("SELECT count(*) FROM monitors") == 0


async def test_create_monitor_is_validated_before_payment(
    chain: LocalChain, make_server: ServerFactory, target: Any, service: MonitorService
) -> None:
    """MonitorService.validate_monitor runs, with the tier being bought, before settlement:
    a Standard buyer's fourth canary is refused and nothing is charged (as over HTTP)."""
    srv = await make_server(chain)
    buyer_account = chain.new_account()
    await chain.mint(buyer_account.address, 5_000_000)
    who = Identity(Provider.WALLET, buyer_account.address)
    await service.upgrade_tier(who, "standard", timedelta(days=30))
    flow = {"steps": [{"action": "http", "url": target.url}]}
    for n in range(3):
        await service.create_monitor(who, type="canary", config={**flow, "name": f"flow {n}"})
    args = {"type": "canary", "config": {**flow, "name": "flow 4"}, "tier": "standard"}
    async with http_client(srv) as client:
        free_tier = await client.call_tool("create_monitor", {**args, "tier": "free"})
        assert structured(free_tier)["error"]["code"] == "invalid_input"  # not even a challenge
        unpaid = await client.call_tool("create_monitor", args)
        assert_payment_required(unpaid, "create_monitor", tier("standard").price_atomic_per_month)
        refused = await client.call_tool("create_monitor", args,
                                         meta=await pay_meta(official_client(buyer_account), unpaid))
        error = structured(refused)["error"]
        assert refused.is_error and error["code"] == "monitor_limit_reached"
        assert refused.meta is None or "x402/payment-response" not in refused.meta
    assert await chain.token_balance(buyer_account.address) == 5_000_000
    assert await srv.pool.fetchval("SELECT state FROM payments") == "released"
    assert await srv.pool.fetchval("SELECT count(*) FROM monitors") == 3


def _rewrap(payload: dict[str, Any], required: dict[str, Any]) -> dict[str, Any]:
    """The same signed authorization presented for another resource (its signature does not
    cover the resource: only our one-use nonce binds it to one call)."""
    return {"x402Version": 2, "resource": required["resource"], "accepted": required["accepts"][0],
            "payload": payload["payload"], "extensions": {}}


@pytest.mark.parametrize("first", ["http", "mcp"])
async def test_one_nonce_is_served_once_across_http_and_mcp(
    chain: LocalChain, make_server: ServerFactory, target: Any, first: str
) -> None:
    srv = await make_server(chain)
    buyer_account = chain.new_account()
    await chain.mint(buyer_account.address, 1_000_000)
    url = f"{srv.url}/v1/check?url={target.url}"
    async with srv.session.get(url) as r:
        assert r.status == 402
        http_challenge = r.headers["PAYMENT-REQUIRED"]
    http_headers = await pay_header(official_client(buyer_account), http_challenge)
    http_payload = json.loads(base64.b64decode(http_headers["PAYMENT-SIGNATURE"]))
    async with http_client(srv) as client:
        unpaid = await client.call_tool("check_url", {"url": target.url})
        mcp_meta = {"x402/payment": _rewrap(http_payload, structured(unpaid))}

        async def over_http() -> bool:
            async with srv.session.get(url, headers=http_headers) as r:
                await r.read()
                return r.status == 200

        async def over_mcp() -> bool:
            result = await client.call_tool("check_url", {"url": target.url}, meta=mcp_meta)
            return not result.is_error

        served = [await over_http(), await over_mcp()] if first == "http" else \
            [await over_mcp(), await over_http()]
    assert served == [True, False]
    assert target.hits == 1
    assert await chain.token_balance(srv.pay_to) == 1000
    assert await srv.pool.fetchval("SELECT count(*) FROM payments") == 1


async def test_legacy_handshake_clients_and_bad_requests(
    chain: LocalChain, make_server: ServerFactory
) -> None:
    srv = await make_server(chain)
    async with http_client(srv, mode="legacy") as client:
        assert client.protocol_version != "2026-07-28"
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        assert not (await client.call_tool("pricing", {})).is_error
        unknown = await client.call_tool("no_such_tool", {})
        assert structured(unknown)["error"]["code"] == "unknown_tool"
        extra = await client.call_tool("pricing", {"surprise": 1})
        assert structured(extra)["error"]["code"] == "invalid_input"
    deep = b"[" * 300 + b"]" * 300
    async with srv.session.post(srv.url + "/mcp", data=deep, headers={
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}) as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == -32700
    async with srv.session.post(srv.url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                headers={"Host": "evil.example", "Accept": "application/json"}) as r:
        assert r.status == 421  # DNS-rebinding protection: not our host


async def test_discovery_lists_the_mcp_endpoint(chain: LocalChain, make_server: ServerFactory) -> None:
    srv = await make_server(chain)
    endpoint = srv.url + "/mcp"
    async with srv.session.get(srv.url + "/.well-known/x402") as r:
        mcp = (await r.json())["mcp"]
    assert mcp["endpoint"] == endpoint and mcp["transport"] == "streamable-http"
    assert {t["name"] for t in mcp["tools"]} == TOOLS
    assert {t["name"] for t in mcp["tools"] if t["paid"]} == PAID
    async with srv.session.get(srv.url + "/.well-known/agent-card") as r:
        card = await r.json()
    assert card["mcp"]["url"] == endpoint and card["capabilities"]["mcp"] is True
    async with srv.session.get(srv.url + "/openapi.json") as r:
        doc = await r.json()
    assert doc["x-mcp"]["url"] == endpoint and {t["name"] for t in doc["x-mcp"]["tools"]} == TOOLS
    # The published schemas are valid JSON Schema, and accept what the API accepts.
    for name, body in (("check", {"type": "http", "config": {"url": "https://example.com"}}),
                       ("create_monitor", {"config": {"url": "https://example.com"}, "tier": "pro"})):
        schema = next(t for t in doc["x-mcp"]["tools"] if t["name"] == name)["inputSchema"]
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(body, schema)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**body, "config": {"url": 5}}, schema)


async def test_stdio_subprocess_lists_tools_pays_and_refuses_a_replay(
    chain: LocalChain, dsn: str, redis_url: str, target: Any, tmp_path: Path
) -> None:
    pay_to = chain.new_account().address
    buyer_account = chain.new_account()
    await chain.mint(buyer_account.address, 1_000_000)
    env = {
        "DATABASE_URL": dsn, "REDIS_URL": redis_url, "LIGHTHOUSE_DATA_DIR": str(tmp_path),
        "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS": "true", "PAYMENT_ADDRESS": pay_to,
        "RPC_URL_FUJI": chain.rpc_url, "USDC_CONTRACT_ADDRESS": chain.token_address,
        "PRIVATE_KEY": "0x" + bytes(chain.relayer.key).hex(), "LOG_LEVEL": "WARNING",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    command = str(Path(sys.executable).parent / "lighthouse")
    params = StdioServerParameters(command=command, args=["mcp"], env=env, cwd=str(tmp_path))
    buyer = official_client(buyer_account)
    async with asyncio.timeout(90), Client(params, read_timeout_seconds=60) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        pricing = await client.call_tool("pricing", {})
        assert structured(pricing)["pay_to"] == pay_to
        args = {"url": target.url}
        unpaid = await client.call_tool("check_url", args)
        assert_payment_required(unpaid, "check_url", 1000)
        meta = await pay_meta(buyer, unpaid)
        paid = await client.call_tool("check_url", args, meta=meta)
        assert not paid.is_error, paid
        assert structured(paid)["ok"] is True and receipt(paid).success
        replay = await client.call_tool("check_url", args, meta=meta)
        assert replay.is_error and payment_required(replay) is not None
    assert target.hits == 1
    assert await chain.token_balance(pay_to) == 1000
