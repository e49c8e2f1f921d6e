"""Issue 12 over the API: heartbeats with their ping URL, rate-limited pings, maintenance,
a monitor's own alert channels and its incidents, on the real app on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from lighthouse.api.heartbeat import PingLimiter, add_ping_routes
from lighthouse.core.alerts.channels.webhook import WebhookChannel
from lighthouse.core.alerts.delivery import DeliveryWorker
from lighthouse.core.checks.base import CheckContext, CheckResult
from lighthouse.core.metrics import Metrics
from lighthouse.core.models import Identity, Monitor, Provider
from lighthouse.core.service import MonitorService
from lighthouse.core.storage.results import Finished, ResultWriter
from lighthouse.core.storage.schedule import claim_due
from lighthouse.core.tiers import tier
from support.evm import LocalChain
from targets import Target

from .buyer import official_client, pay_header
from .conftest import Server, ServerFactory

OWNER = Identity(Provider.WALLET, "0x" + "ef" * 20)
SECRET = "s3cret-signing-key-of-the-buyer"


@dataclass
class Hook:
    """A webhook receiver on 127.0.0.1."""

    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        return web.json_response({"ok": True})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    h = Hook()
    app = web.Application()
    app.router.add_post("/hook", h.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    h.port = runner.addresses[0][1]
    yield h
    await runner.cleanup()


@pytest.fixture
async def srv(chain: LocalChain, make_server: ServerFactory) -> Server:
    return await make_server(chain)


async def _managed(service: MonitorService, target: Target, **kw: Any) -> tuple[Monitor, dict[str, str]]:
    await service.upgrade_tier(OWNER, "pro", timedelta(days=30))
    m = await service.create_monitor(OWNER, config={"url": target.url}, **kw)
    token = await service.issue_management_token(m)
    return m, {"Authorization": f"Bearer {token}"}


async def _feed(pool: asyncpg.Pool, monitor_id: int, oks: list[bool]) -> None:
    """Results through the real claim and batched writer (what the scheduler does)."""
    writer = ResultWriter(pool, "w")
    for ok in oks:
        await pool.execute("UPDATE monitors SET next_due = now() - interval '1 ms', claimed_by = NULL,"
                           " claimed_until = NULL WHERE id = $1", monitor_id)
        [claim] = await claim_due(pool, "w", 1)
        writer.add(Finished(claim, CheckResult(ok=ok, latency_ms=3.0,
                                               error_code=None if ok else "connection_error",
                                               error=None if ok else "connection refused"),
                            datetime.now(UTC), "target"))
        await writer.flush()


async def test_a_paid_heartbeat_gets_its_ping_url_once_and_alerts_its_buyer(
    chain: LocalChain, srv: Server, hook: Hook, check_context: CheckContext,
) -> None:
    buyer = chain.new_account()
    await chain.mint(buyer.address, 5_000_000)
    body = {"type": "heartbeat", "config": {"period_s": 60, "grace_s": 0}, "tier": "basic",
            "name": "nightly backup",
            "alert_channels": [{"type": "webhook", "config": {"url": hook.url, "secret": SECRET},
                                "language": "es"}]}
    async with srv.session.post(srv.url + "/v1/monitors", json=body) as r:
        assert r.status == 402, await r.text()
        headers = await pay_header(official_client(buyer), r.headers["PAYMENT-REQUIRED"])
    async with srv.session.post(srv.url + "/v1/monitors", json=body, headers=headers) as r:
        assert r.status == 201, await r.text()
        created = await r.json()
    assert await chain.token_balance(srv.pay_to) == tier("basic").price_atomic_per_month
    ping = created["ping_url"]
    assert ping.startswith(srv.url + "/ping/") and created["monitor"]["type"] == "heartbeat"
    assert "token_hash" in created["monitor"]["config"]  # the hash only, never the token
    assert ping.rsplit("/", 1)[1] not in json.dumps(created["monitor"])
    [channel] = created["alert_channels"]
    assert channel["kind"] == "webhook" and channel["language"] == "es"
    assert channel["config"]["url"] == hook.url
    assert SECRET not in json.dumps(created) and channel["config"]["secret"].endswith(SECRET[-4:])

    async with srv.session.post(ping, data=b"backup ok") as r:
        assert r.status == 200
    mid, auth = created["monitor"]["id"], {"Authorization": f"Bearer {created['management_token']}"}
    async with srv.session.get(f"{srv.url}/v1/monitors/{mid}", headers=auth) as r:
        assert "ping_url" not in await r.json()  # shown once, at creation

    # A new ping URL: the old one stops working.
    async with srv.session.post(f"{srv.url}/v1/monitors/{mid}/token", headers=auth) as r:
        assert r.status == 200, await r.text()
        rotated = await r.json()
    assert rotated["monitor_id"] == mid and rotated["ping_url"] != ping
    async with srv.session.get(ping) as r:
        assert r.status == 404
    async with srv.session.get(rotated["ping_url"] + "/0") as r:
        assert r.status == 200
    async with srv.session.post(f"{srv.url}/v1/monitors/{mid}/token") as r:
        assert r.status == 401

    # The buyer's channel gets the monitor's alerts, in its language.
    monitor_id = await srv.pool.fetchval("SELECT id FROM monitors WHERE public_id = $1::uuid", mid)
    await _feed(srv.pool, monitor_id, [False])  # heartbeats go down on the first failure
    worker = DeliveryWorker(srv.pool, {}, Metrics(), worker_id="d")
    worker.register(WebhookChannel(check_context.session))
    await worker.drain()
    [alert] = hook.received
    assert alert["type"] == "downtime" and alert["title"] == "Caído: nightly backup"


async def test_alert_channels_are_judged_before_payment(
    chain: LocalChain, srv: Server, target: Target,
) -> None:
    buyer = chain.new_account()
    await chain.mint(buyer.address, 5_000_000)
    http = {"type": "http", "config": {"url": target.url}, "tier": "basic"}
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({**http, "alert_channels": [{"kind": "telegram", "config": {"chat_id": 42}}]},
         "invalid_input", "chat_only"),
        ({**http, "alert_channels": [{"kind": "webhook", "config": {"secret": "x"}}]},
         "invalid_input", "missing"),
        ({**http, "alert_channels": [{"kind": "pager", "config": {}}]}, "unknown_channel_kind", ""),
        ({**http, "alert_channels": [{"kind": "webhook", "type": "discord_webhook",
                                      "config": {"url": target.url}}]}, "invalid_input", "json"),
        ({"type": "heartbeat", "config": {"period_s": 60, "token_hash": "0" * 64}, "tier": "basic"},
         "invalid_input", "read_only"),
    ]
    for body, code, reason in cases:
        async with srv.session.post(srv.url + "/v1/monitors", json=body) as r:
            assert r.status == 400, (body, await r.text())
            error = (await r.json())["error"]
            assert "PAYMENT-REQUIRED" not in r.headers
        assert error["code"] == code and error["params"].get("reason", "") == reason, error
    # The seed's /subscribe takes the same channels, checked the same way.
    sub = {"target_config": {"url": target.url}, "tier": "basic",
           "alert_channels": [{"type": "discord_dm", "config": {"user_id": "1234"}}]}
    async with srv.session.post(srv.url + "/subscribe", json=sub) as r:
        assert r.status == 400 and (await r.json())["error"]["params"]["reason"] == "chat_only"
    assert await chain.token_balance(buyer.address) == 5_000_000
    assert await srv.pool.fetchval("SELECT count(*) FROM payments") == 0


async def test_subscribe_creates_the_buyers_channels(
    chain: LocalChain, srv: Server, target: Target, hook: Hook,
) -> None:
    buyer = chain.new_account()
    await chain.mint(buyer.address, 5_000_000)
    body = {"target_type": "http", "target_config": {"url": target.url}, "tier": "basic",
            "alert_channels": [{"type": "webhook", "config": {"url": hook.url},
                                "min_severity": "critical"}]}
    async with srv.session.post(srv.url + "/subscribe", json=body) as r:
        headers = await pay_header(official_client(buyer), r.headers["PAYMENT-REQUIRED"])
    async with srv.session.post(srv.url + "/subscribe", json=body, headers=headers) as r:
        assert r.status == 201, await r.text()
        sub = await r.json()
    assert sub["ping_url"] is None
    assert [(c["kind"], c["min_severity"]) for c in sub["alert_channels"]] == [("webhook", "critical")]
    row = await srv.pool.fetchrow("SELECT c.monitor_id, m.public_id FROM alert_channels c "
                                  "JOIN monitors m ON m.id = c.monitor_id")
    assert str(row["public_id"]) == sub["subscription_id"]


async def test_channels_of_a_monitor_with_its_token(
    srv: Server, service: MonitorService, target: Target, hook: Hook,
) -> None:
    m, auth = await _managed(service, target)
    other, other_auth = await _managed(service, target, name="other")
    base = f"{srv.url}/v1/monitors/{m.public_id}/channels"
    async with srv.session.get(base, headers=auth) as r:
        assert r.status == 200 and await r.json() == {"channels": []}
    add = {"kind": "webhook", "config": {"url": hook.url, "secret": SECRET}, "min_severity": "warning"}
    async with srv.session.post(base, json=add, headers=auth) as r:
        assert r.status == 201, await r.text()
        channel = (await r.json())["channel"]
    assert channel["config"]["secret"] == "…" + SECRET[-4:] and channel["min_severity"] == "warning"
    assert channel["language"] == "en" and channel["enabled"] is True
    stored = await srv.pool.fetchrow("SELECT owner_id, monitor_id, config FROM alert_channels")
    assert (stored["monitor_id"], stored["config"]["secret"]) == (m.id, SECRET)
    assert stored["owner_id"] == m.owner_id  # the token made no user of its own
    discord = "https://discord.com/api/webhooks/123456789012345678/the-webhook-token"
    async with srv.session.post(base, json={"type": "discord_webhook", "config": {"url": discord}},
                                headers=auth) as r:
        assert r.status == 201, await r.text()
        shown = (await r.json())["channel"]["config"]
    assert shown == {"url": "https://discord.com/…oken"}  # the URL is the credential
    async with srv.session.get(base, headers=auth) as r:
        listed = (await r.json())["channels"]
    assert [c["kind"] for c in listed] == ["webhook", "discord_webhook"]
    assert discord not in json.dumps(listed) and SECRET not in json.dumps(listed)
    await srv.pool.execute("DELETE FROM alert_channels WHERE kind = 'discord_webhook'")
    async with srv.session.post(base, json={"kind": "telegram", "config": {"chat_id": 1}},
                                headers=auth) as r:
        assert r.status == 400 and (await r.json())["error"]["params"]["reason"] == "chat_only"
    async with srv.session.post(base, json=add) as r:
        assert r.status == 401
    # Another monitor's token reaches neither the list nor the channel.
    async with srv.session.get(base, headers=other_auth) as r:
        assert r.status == 404
    async with srv.session.delete(f"{base}/{channel['id']}", headers=other_auth) as r:
        assert r.status == 404
    other_base = f"{srv.url}/v1/monitors/{other.public_id}/channels"
    async with srv.session.delete(f"{other_base}/{channel['id']}", headers=other_auth) as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "channel_not_found"
    for bad in ("abc", "99999999999999999999", "-1"):
        async with srv.session.delete(f"{base}/{bad}", headers=auth) as r:
            assert r.status == 404, bad
    async with srv.session.delete(f"{base}/{channel['id']}", headers=auth) as r:
        assert r.status == 200 and await r.json() == {"deleted": channel["id"]}
    async with srv.session.delete(f"{base}/{channel['id']}", headers=auth) as r:
        assert r.status == 404


async def test_maintenance_and_incidents_with_the_token(
    srv: Server, service: MonitorService, target: Target,
) -> None:
    m, auth = await _managed(service, target)
    url = f"{srv.url}/v1/monitors/{m.public_id}"
    await _feed(srv.pool, m.id, [False, False, False, False, True, True])
    async with srv.session.get(url + "/incidents", headers=auth) as r:
        assert r.status == 200, await r.text()
        [incident] = (await r.json())["incidents"]
    assert incident["end_reason"] == "recovered" and incident["checks_failed"] == 4
    assert incident["first_error_code"] == "connection_error" and incident["duration_s"] > 0
    async with srv.session.get(url + "/incidents?limit=0", headers=auth) as r:
        assert r.status == 400

    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    async with srv.session.put(url + "/maintenance", json={"until": until.isoformat()},
                               headers=auth) as r:
        assert r.status == 200, await r.text()
        monitor = (await r.json())["monitor"]
    assert monitor["state"] == "maintenance"
    assert datetime.fromisoformat(monitor["maintenance_until"]) == until
    alerts = await srv.pool.fetchval("SELECT count(*) FROM alerts")
    await _feed(srv.pool, m.id, [False] * 4)
    assert await srv.pool.fetchval("SELECT count(*) FROM alerts") == alerts  # suppressed
    async with srv.session.delete(url + "/maintenance", headers=auth) as r:
        assert r.status == 200
    await _feed(srv.pool, m.id, [True])
    note = await srv.pool.fetchval("SELECT alert_type FROM alerts ORDER BY id DESC LIMIT 1")
    assert note == "maintenance_end"
    async with srv.session.delete(url + "/maintenance", headers=auth) as r:
        assert r.status == 409 and (await r.json())["error"]["code"] == "invalid_state"

    for bad in ({"until": "2020-01-01T00:00:00Z"}, {"until": "2099-01-01T00:00:00"},
                {"until": (datetime.now(UTC) + timedelta(days=400)).isoformat()}, {}):
        async with srv.session.put(url + "/maintenance", json=bad, headers=auth) as r:
            assert r.status == 400, (bad, await r.text())
    await service.pause(OWNER, str(m.public_id))
    async with srv.session.put(url + "/maintenance", json={"until": until.isoformat()},
                               headers=auth) as r:
        assert r.status == 409
    async with srv.session.post(url + "/token", headers=auth) as r:
        assert r.status == 400 and (await r.json())["error"]["params"]["reason"] == "type"


async def test_pings_are_limited_per_token(pool: asyncpg.Pool, redis: aioredis.Redis,
                                           service: MonitorService) -> None:
    now = [1_000_040.0]  # 20 s into a window (they start at multiples of 60)
    limiter = PingLimiter(redis, limit=5, clock=lambda: now[0])
    app = web.Application()
    add_ping_routes(app, pool, limiter=limiter)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/ping/"
    await service.upgrade_tier(OWNER, "pro", timedelta(days=30))
    _, token = await service.create_heartbeat(OWNER, config={"period_s": 60})
    _, other = await service.create_heartbeat(OWNER, config={"period_s": 60})
    try:
        async with aiohttp.ClientSession() as s:
            codes = []
            for _ in range(6):
                async with s.get(base + token) as r:
                    codes.append(r.status)
            assert codes == [200] * 5 + [429]
            async with s.post(base + token + "/fail") as r:
                assert r.status == 429 and r.headers["Retry-After"] == "40"
                assert (await r.json())["error"]["code"] == "rate_limited"
            async with s.get(base + other) as r:  # each URL has its own count
                assert r.status == 200
            assert await pool.fetchval("SELECT sum(pings) FROM heartbeats") == 6
            keys = [k.decode() for k in await redis.keys("lh:ping:*")]
            assert len(keys) == 2 and not any(token in k or other in k for k in keys)
            now[0] += 40  # the next window
            async with s.get(base + token) as r:
                assert r.status == 200
    finally:
        await runner.cleanup()


async def test_pings_go_through_when_redis_is_down(pool: asyncpg.Pool, service: MonitorService,
                                                   tmp_path: Any) -> None:
    dead = aioredis.from_url(f"unix://{tmp_path}/no-redis.sock")
    app = web.Application()
    add_ping_routes(app, pool, dead)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    _, token = await service.create_heartbeat(OWNER, config={"period_s": 60})
    try:
        async with aiohttp.ClientSession() as s:
            started = asyncio.get_running_loop().time()
            for _ in range(3):
                async with s.get(f"http://127.0.0.1:{runner.addresses[0][1]}/ping/{token}") as r:
                    assert r.status == 200
            assert asyncio.get_running_loop().time() - started < 5
        assert await pool.fetchval("SELECT pings FROM heartbeats") == 3
    finally:
        await runner.cleanup()
        await dead.aclose()

