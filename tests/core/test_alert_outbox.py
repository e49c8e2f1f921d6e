"""Alert outbox: one row per state change, delivered once, re-claimed after a crash."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp import web
from lighthouse.core.alerts.channels.discord_webhook import DiscordWebhookChannel
from lighthouse.core.alerts.channels.webhook import WebhookChannel
from lighthouse.core.alerts.delivery import DeliveryWorker
from lighthouse.core.checks.base import CheckContext, CheckResult
from lighthouse.core.metrics import Metrics
from lighthouse.core.models import Identity, Provider
from lighthouse.core.service import MonitorService
from lighthouse.core.state import State
from lighthouse.core.storage.results import Finished, ResultWriter
from lighthouse.core.storage.schedule import claim_due


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that can fail on purpose."""

    fail_next: list[int] = field(default_factory=list)
    retry_after: str | None = None
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.fail_next:
            status = self.fail_next.pop(0)
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return web.Response(status=status, headers=headers)
        self.received.append((dict(request.headers), body))
        self.arrived.set()
        return web.json_response({"ok": True})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    app = web.Application()
    app.router.add_post("/hook", r.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    r.port = runner.addresses[0][1]
    yield r
    await runner.cleanup()


WHO = Identity(Provider.API, "alerts")


async def _down_monitor(pool: asyncpg.Pool, service: MonitorService, receiver: Receiver,
                        language: str = "en") -> tuple[int, int]:
    await service.ensure_user(WHO)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    m = await service.create_monitor(WHO, config={"url": "http://127.0.0.1:9/"},
                                     interval_s=30, name="api", language=language)
    channel = await service.add_channel(WHO, "webhook", {"url": receiver.url, "secret": "s3cret"},
                                        language=language)
    return m.id, channel


async def _feed(pool: asyncpg.Pool, results: list[bool], worker: str = "w") -> None:
    """Run the real claim + batched write path with given outcomes."""
    writer = ResultWriter(pool, worker)
    for ok in results:
        await pool.execute("UPDATE monitors SET next_due = now() - interval '1 ms'")
        [claim] = await claim_due(pool, worker, 1)
        result = CheckResult(ok=ok, latency_ms=5.0,
                             error=None if ok else "connection refused",
                             error_code=None if ok else "connection_error")
        writer.add(Finished(claim, result, datetime.now(UTC), "http://127.0.0.1:9/"))
        await writer.flush()


async def test_each_state_change_writes_one_alert_and_outbox_row(
    pool: asyncpg.Pool, service: MonitorService, receiver: Receiver
) -> None:
    mid, channel = await _down_monitor(pool, service, receiver)
    await _feed(pool, [False, False, False, False, True, True])
    alerts = await pool.fetch(
        "SELECT id, alert_type, from_state, to_state, idempotency_key FROM alerts ORDER BY id"
    )
    assert [(a["alert_type"], a["from_state"], a["to_state"]) for a in alerts] == [
        ("downtime", "pending", "down"), ("recovery", "down", "up"),
    ]
    assert len({a["idempotency_key"] for a in alerts}) == 2
    outbox = await pool.fetch("SELECT alert_id, channel_id, status FROM alert_outbox ORDER BY id")
    assert [(o["alert_id"], o["channel_id"], o["status"]) for o in outbox] == [
        (alerts[0]["id"], channel, "pending"), (alerts[1]["id"], channel, "pending"),
    ]
    state = await pool.fetchval("SELECT state FROM monitors WHERE id = $1", mid)
    assert state == State.UP


async def test_delivered_once_signed_and_localized(
    pool: asyncpg.Pool, service: MonitorService, receiver: Receiver, check_context: CheckContext
) -> None:
    await _down_monitor(pool, service, receiver, language="es")
    await _feed(pool, [False, False, False])
    worker = DeliveryWorker(pool, {}, Metrics(), worker_id="d1")
    worker.register(WebhookChannel(check_context.session))
    await worker.drain()
    await worker.drain()  # nothing left: a second round must not resend
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    payload = json.loads(body)
    assert payload["title"] == "Caído: api"
    assert "Error: connection refused" in payload["text"]
    key = headers["X-Lighthouse-Idempotency-Key"]
    assert key == payload["id"]
    ts, sig = headers["X-Lighthouse-Signature"].split(",")
    expected = hmac.new(b"s3cret", f"{ts[2:]}.".encode() + body, hashlib.sha256).hexdigest()
    assert sig == f"v1={expected}"
    assert await pool.fetchval("SELECT status FROM alert_outbox") == "delivered"


async def test_killed_between_claim_and_delivery_is_reclaimed_after_lease(
    pool: asyncpg.Pool, service: MonitorService, receiver: Receiver, check_context: CheckContext
) -> None:
    await _down_monitor(pool, service, receiver)
    await _feed(pool, [False, False, False])
    # Process A claims the row and dies before sending (we only run its claim statement).
    claimed = await pool.fetch(
        "UPDATE alert_outbox SET claimed_by = 'dead', claimed_until = now() + interval '60 s', "
        "attempts = attempts + 1 RETURNING id"
    )
    assert len(claimed) == 1
    b = DeliveryWorker(pool, {}, Metrics(), worker_id="b")
    b.register(WebhookChannel(check_context.session))
    await b.drain()
    assert receiver.received == [], "a live lease must not be stolen"
    await pool.execute("UPDATE alert_outbox SET claimed_until = now() - interval '1 s'")
    await b.drain()
    await b.drain()
    assert len(receiver.received) == 1
    row = await pool.fetchrow("SELECT status, attempts, claimed_by FROM alert_outbox")
    assert (row["status"], row["attempts"], row["claimed_by"]) == ("delivered", 2, None)


async def test_a_restart_under_the_same_instance_id_sends_its_predecessors_rows_at_once(
    pool: asyncpg.Pool, service: MonitorService, receiver: Receiver, check_context: CheckContext
) -> None:
    """A process with a stable LIGHTHOUSE_INSTANCE_ID killed with a row claimed: restarted
    under the same id, it sends the row at once, not after the 60 s lease (issue 16)."""
    await _down_monitor(pool, service, receiver)
    await _feed(pool, [False, False, False])
    await pool.execute(
        "UPDATE alert_outbox SET claimed_by = 'i-0abc', claimed_until = now() + interval '60 s', "
        "attempts = attempts + 1")
    other = DeliveryWorker(pool, {}, Metrics(), worker_id="i-0def")
    other.register(WebhookChannel(check_context.session))
    other.start()
    again = DeliveryWorker(pool, {}, Metrics(), worker_id="i-0abc")
    again.register(WebhookChannel(check_context.session))
    again.start()
    try:
        async with asyncio.timeout(10):
            while await pool.fetchval("SELECT status FROM alert_outbox") != "delivered":  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        await again.stop()
        await other.stop()
    assert len(receiver.received) == 1
    row = await pool.fetchrow("SELECT attempts, claimed_by FROM alert_outbox")
    assert (row["attempts"], row["claimed_by"]) == (2, None)


async def test_receiver_errors_are_retried_with_backoff_and_429_retry_after(
    pool: asyncpg.Pool, service: MonitorService, receiver: Receiver, check_context: CheckContext
) -> None:
    await _down_monitor(pool, service, receiver)
    await _feed(pool, [False, False, False])
    receiver.fail_next = [429]
    receiver.retry_after = "7"
    w = DeliveryWorker(pool, {}, Metrics(), worker_id="w")
    w.register(WebhookChannel(check_context.session))
    await w.drain()
    row = await pool.fetchrow(
        "SELECT status, last_error, next_attempt_at - now() AS wait FROM alert_outbox"
    )
    assert row["status"] == "pending" and "429" in row["last_error"]
    assert timedelta(seconds=6) < row["wait"] <= timedelta(seconds=7)
    receiver.fail_next = [503]
    await pool.execute("UPDATE alert_outbox SET next_attempt_at = now()")
    await w.drain()
    row = await pool.fetchrow("SELECT status, next_attempt_at - now() AS wait FROM alert_outbox")
    assert row["status"] == "pending" and row["wait"] > timedelta(seconds=3)
    await pool.execute("UPDATE alert_outbox SET next_attempt_at = now()")
    await w.drain()
    assert len(receiver.received) == 1
    assert await pool.fetchval("SELECT status FROM alert_outbox") == "delivered"


async def test_gone_webhook_disables_channel(
    pool: asyncpg.Pool, service: MonitorService, receiver: Receiver, check_context: CheckContext
) -> None:
    _, channel = await _down_monitor(pool, service, receiver)
    await _feed(pool, [False, False, False])
    receiver.fail_next = [404]
    w = DeliveryWorker(pool, {}, Metrics(), worker_id="w")
    w.register(DiscordWebhookChannel(check_context.session))
    await pool.execute("UPDATE alert_channels SET kind = 'discord_webhook'")
    await pool.execute("UPDATE alert_outbox SET channel_kind = 'discord_webhook'")
    await w.drain()
    ch = await pool.fetchrow("SELECT enabled, disabled_reason FROM alert_channels WHERE id=$1",
                             channel)
    assert ch["enabled"] is False and "404" in ch["disabled_reason"]
    assert await pool.fetchval("SELECT status FROM alert_outbox") == "failed"


async def test_maintenance_suppresses_alerts(
    pool: asyncpg.Pool, service: MonitorService, receiver: Receiver
) -> None:
    mid, _ = await _down_monitor(pool, service, receiver)
    await service.set_maintenance(WHO, "api", datetime.now(UTC) + timedelta(hours=1))
    await _feed(pool, [False] * 4)
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 0
    row = await pool.fetchrow("SELECT state, consecutive_failures FROM monitors WHERE id=$1", mid)
    assert (row["state"], row["consecutive_failures"]) == ("maintenance", 4)


async def test_deferred_sends_do_not_use_up_attempts(
    pool: asyncpg.Pool, service: MonitorService, receiver: Receiver
) -> None:
    from lighthouse.core.alerts.channels.base import Delivery, DeliveryResult, Outcome

    class Pacing:
        kind = "webhook"
        calls = 0

        async def deliver(self, delivery: Delivery) -> DeliveryResult:
            Pacing.calls += 1
            return DeliveryResult(Outcome.DEFER, "paced", retry_after_s=60.0)

    await _down_monitor(pool, service, receiver)
    await _feed(pool, [False, False, False])
    w = DeliveryWorker(pool, {}, Metrics(), worker_id="w")
    w.register(Pacing())
    for _ in range(20):  # more rounds than MAX_ATTEMPTS
        await pool.execute("UPDATE alert_outbox SET next_attempt_at = now()")
        await w.drain()
    row = await pool.fetchrow("SELECT status, attempts FROM alert_outbox")
    assert (row["status"], row["attempts"]) == ("pending", 0)
    assert Pacing.calls == 20
    await w.unregister("webhook")
    assert await w.run_once() == 0
