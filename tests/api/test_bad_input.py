"""Bad input answers 4xx with the API's error shape, never 500 (issue 17, point 5). Everything
runs against the real app on 127.0.0.1 with the embedded PostgreSQL behind it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from lighthouse.api.errors import error_middleware
from lighthouse.core.models import Identity, Monitor, Provider
from lighthouse.core.service import MonitorService
from support.evm import LocalChain

from .conftest import Server, ServerFactory

WALLET = Identity(Provider.WALLET, "0x" + "ab" * 20)
ALICE = Identity(Provider.TELEGRAM, "7001")


def assert_error_shape(doc: Any, code: str | None = None) -> None:
    assert isinstance(doc, dict) and set(doc) == {"error"}, doc
    assert set(doc["error"]) == {"code", "message", "params"}, doc
    if code is not None:
        assert doc["error"]["code"] == code, doc


@pytest.fixture
async def srv(chain: LocalChain, make_server: ServerFactory) -> Server:
    return await make_server(chain)


@pytest.fixture
async def managed(srv: Server, service: MonitorService, target: Any) -> tuple[Monitor, str]:
    """A monitor and its management token, as POST /v1/monitors leaves them."""
    m = await service.create_monitor(WALLET, config={"url": target.url}, type="http")
    token = "lhm_test_" + "x" * 30
    await srv.pool.execute("INSERT INTO api_tokens (token_hash, monitor_id) VALUES ($1, $2)",
                           hashlib.sha256(token.encode()).hexdigest(), m.id)
    return m, token


async def test_ping_with_nul_is_recorded(srv: Server, service: MonitorService) -> None:
    _, token = await service.create_heartbeat(ALICE, config={"period_s": 60})
    async with srv.session.post(f"{srv.url}/ping/{token}/fail", data=b"disk\x00full") as r:
        assert r.status == 200, await r.text()
    row = await srv.pool.fetchrow("SELECT last_kind, last_message, pings FROM heartbeats")
    assert (row["last_kind"], row["last_message"], row["pings"]) == ("fail", "disk\ufffdfull", 1)


@pytest.mark.parametrize("segment", ["%C2%B2", "%D9%A3", "%EF%BC%91", "%F0%9D%9F%8F", "1%00"])
async def test_ping_kind_only_ascii_digits(srv: Server, service: MonitorService, segment: str) -> None:
    """²: isdigit() but int() refuses it (was a 500); ٣, １, 𝟏: int() reads them as 3 and 1."""
    _, token = await service.create_heartbeat(ALICE, config={"period_s": 60})
    for token_part in ("x", token):
        async with srv.session.get(f"{srv.url}/ping/{token_part}/{segment}") as r:
            assert r.status == 404, await r.text()
            assert_error_shape(await r.json(), "not_found")
    assert await srv.pool.fetchval("SELECT pings FROM heartbeats") == 0


async def test_ping_unknown_token_error_shape(srv: Server) -> None:
    async with srv.session.post(f"{srv.url}/ping/{'a' * 32}", data=b"\x00") as r:
        assert r.status == 404
        assert_error_shape(await r.json(), "not_found")


@pytest.mark.parametrize("before", [
    "0001-01-01T00:00:00+14:00",  # UTC year 0: asyncpg DataError, was a 500
    "9999-12-31T23:59:59-14:00",  # UTC year 10000
    "2024-01-01T00:00:00",        # naive: whose midnight?
    "2024-01-01",
    "yesterday",
    "2024-01-01T00:00:00+25:00",
    "2024-01-01T00:00:00Z" + "0" * 100,
])
async def test_history_before_out_of_range(srv: Server, managed: tuple[Monitor, str], before: str) -> None:
    m, token = managed
    async with srv.session.get(f"{srv.url}/v1/monitors/{m.public_id}/checks",
                               params={"before": before},
                               headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 400, await r.text()
        doc = await r.json()
        assert_error_shape(doc, "invalid_input")
        assert doc["error"]["params"]["field"] == "before"


@pytest.mark.parametrize("limit", ["-1", "0", "1001", "9" * 5000, "٣", " 5", "1_0", "5.0", ""])
async def test_history_limit_out_of_range(srv: Server, managed: tuple[Monitor, str], limit: str) -> None:
    m, token = managed
    async with srv.session.get(f"{srv.url}/v1/monitors/{m.public_id}/checks",
                               params={"limit": limit},
                               headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 400, await r.text()
        doc = await r.json()
        assert_error_shape(doc, "invalid_input")
        assert doc["error"]["params"]["field"] == "limit"


async def test_history_valid_page(srv: Server, managed: tuple[Monitor, str]) -> None:
    m, token = managed
    now = datetime.now(UTC)
    await srv.pool.executemany(
        "INSERT INTO check_history (time, monitor_id, ok, latency_ms) VALUES ($1, $2, true, 5)",
        [(now - timedelta(minutes=i), m.id) for i in range(1, 4)])
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{srv.url}/v1/monitors/{m.public_id}/checks"
    async with srv.session.get(url, params={"limit": "2"}, headers=auth) as r:
        assert r.status == 200, await r.text()
        page = await r.json()
    assert len(page["checks"]) == 2 and page["next_before"] is not None
    # next_before goes back in as before; an offset other than UTC means the same instant.
    later = datetime.fromisoformat(page["next_before"]).astimezone(timezone(timedelta(hours=-5)))
    async with srv.session.get(url, params={"before": later.isoformat()}, headers=auth) as r:
        assert r.status == 200, await r.text()
        assert len((await r.json())["checks"]) == 1


@pytest.mark.parametrize("body", [
    {"config": {"url": "http://127.0.0.1/"}, "name": "a\u0000b"},
    {"config": {"url": "http://127.0.0.1/", "headers": {"x": "\ud800"}}},
    # A canary step's JSON body is free-form: the config model lets NaN through to jsonb.
    '{"type": "canary", "config": {"steps": [{"action": "http", "url": "http://127.0.0.1/", '
    '"method": "POST", "body": {"n": NaN}}]}}',
    '{"type": "canary", "config": {"steps": [{"action": "http", "url": "http://127.0.0.1/", '
    '"method": "POST", "body": [-Infinity]}]}}',
], ids=["nul", "lone-surrogate", "nan", "infinity"])
async def test_unstorable_body_refused_before_payment(srv: Server, body: Any) -> None:
    """PostgreSQL would refuse these once the monitor is paid for: a 500 after settlement."""
    raw = body if isinstance(body, str) else json.dumps(body)
    async with srv.session.post(srv.url + "/v1/monitors", data=raw,
                                headers={"Content-Type": "application/json"}) as r:
        assert r.status == 400, await r.text()
        assert_error_shape(await r.json(), "invalid_input")


async def test_data_error_is_400(pool: asyncpg.Pool) -> None:
    """Whatever value slips past a handler's checks and PostgreSQL refuses is the client's."""

    async def handler(request: web.Request) -> web.Response:
        value = request.query["v"]
        if value == "tz":
            year1 = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
            await pool.fetchval("SELECT $1::timestamptz", year1)
        else:
            await pool.fetchval("SELECT $1::text", value)
        return web.json_response({})

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/t", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/t"
        async with aiohttp.ClientSession() as session:
            for value in ("tz", "a\x00b"):
                async with session.get(url, params={"v": value}) as r:
                    assert r.status == 400, await r.text()
                    assert_error_shape(await r.json(), "invalid_input")
            async with session.get(url, params={"v": "fine"}) as r:
                assert r.status == 200
    finally:
        await runner.cleanup()
