"""The apprise channel: URLs checked by Apprise's own parser at creation, masked when shown,
and alerts delivered once, in the recipient's language, through the delivery worker (its
retries and idempotency) to a local ntfy-style JSON receiver and a local SMTP server, both
on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session
from lighthouse.core.alerts.channels import parse_channel_config
from lighthouse.core.alerts.channels.apprise import AppriseChannel
from lighthouse.core.alerts.delivery import DeliveryWorker
from lighthouse.core.errors import ValidationError
from lighthouse.core.metrics import Metrics
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService
from test_alert_outbox import _feed

WHO = Identity(Provider.API, "apprise")


@dataclass
class JsonReceiver:
    """Where Apprise's json:// posts; fails on purpose when told to."""

    fail_next: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.fail_next:
            return web.Response(status=self.fail_next.pop(0))
        self.received.append(json.loads(body))
        return web.json_response({"ok": True})


@pytest.fixture
async def json_receiver() -> AsyncIterator[JsonReceiver]:
    r = JsonReceiver()
    app = web.Application()
    app.router.add_post("/notify", r.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    r.port = runner.addresses[0][1]
    yield r
    await runner.cleanup()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        self.messages.append(email.message_from_bytes(content))
        return "250 OK"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Mailbox, int]]:
    box = Mailbox()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(box), "127.0.0.1", 0)
    yield box, server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def _down_with_apprise(pool: asyncpg.Pool, service: MonitorService, url: str,
                             language: str) -> int:
    await service.ensure_user(WHO)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    await service.create_monitor(WHO, config={"url": "http://127.0.0.1:9/"}, interval_s=30,
                                 name="api", language=language)
    channel = await service.add_channel(WHO, "apprise", {"url": url}, language=language)
    await _feed(pool, [False, False, False])  # DOWN: one alert in the outbox
    return channel


def test_apprise_parser_decides_at_creation() -> None:
    with pytest.raises(ValidationError) as refused:
        parse_channel_config("apprise", {"url": "nonsense://example.org/x"})
    assert refused.value.params["reason"] == "apprise_url"
    assert refused.value.params["channel"] == "apprise"
    assert "nonsense" not in str(refused.value.params)  # the URL may hold a password
    parse_channel_config("apprise", {"url": "ntfy://127.0.0.1:8080/alerts"})
    parse_channel_config("apprise", {"url": "json://127.0.0.1:8080/notify"})


async def test_url_is_masked_when_shown_and_a_bad_one_stores_nothing(
    pool: asyncpg.Pool, service: MonitorService
) -> None:
    with pytest.raises(ValidationError):
        await service.add_channel(WHO, "apprise", {"url": "json//127.0.0.1/no-scheme"})
    assert await pool.fetchval("SELECT count(*) FROM alert_channels") == 0
    secret = "ntfy://alice:hunter2-very-secret@127.0.0.1:8080/alerts"
    channel = await service.add_channel(WHO, "apprise", {"url": secret})
    [shown] = await service.channel_list(WHO)
    assert shown["id"] == channel and "hunter2" not in json.dumps(shown["config"])
    assert shown["config"]["url"].startswith("…")
    assert [r["config"] for r in await service.channels(WHO)] == [{"url": secret}]


async def test_json_receiver_gets_each_alert_once_in_spanish_after_a_retry(
    pool: asyncpg.Pool, service: MonitorService, json_receiver: JsonReceiver
) -> None:
    url = f"json://127.0.0.1:{json_receiver.port}/notify"
    await _down_with_apprise(pool, service, url, "es")
    json_receiver.fail_next = [503]
    worker = DeliveryWorker(pool, {}, Metrics(), worker_id="apprise")
    worker.register(AppriseChannel(timeout_s=10))
    await worker.drain()
    row = await pool.fetchrow("SELECT status, attempts, last_error FROM alert_outbox")
    assert (row["status"], row["attempts"]) == ("pending", 1)  # Apprise's failure: RETRY
    assert row["last_error"].startswith("apprise: ") and "127.0.0.1" not in row["last_error"]
    await pool.execute("UPDATE alert_outbox SET next_attempt_at = now()")
    await worker.drain()
    await worker.drain()  # delivered: a second round must not resend
    [got] = json_receiver.received
    assert got["title"] == "Caído: api"
    assert "conexión rechazada" in got["message"]  # the failure in Spanish too
    assert await pool.fetchval("SELECT status FROM alert_outbox") == "delivered"


async def test_smtp_mailbox_gets_each_alert_once_in_spanish(
    pool: asyncpg.Pool, service: MonitorService, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    url = f"mailto://127.0.0.1:{port}?from=lighthouse@example.org&to=ops@example.org"
    await _down_with_apprise(pool, service, url, "es")
    worker = DeliveryWorker(pool, {}, Metrics(), worker_id="apprise-mail")
    worker.register(AppriseChannel(timeout_s=10))
    await worker.drain()
    await worker.drain()
    [mail] = box.messages
    assert str(make_header(decode_header(mail["Subject"]))) == "Caído: api"
    assert mail["To"] == "ops@example.org"
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    payload = text.get_payload(decode=True)
    assert isinstance(payload, bytes) and "conexión rechazada" in payload.decode()
    assert await pool.fetchval("SELECT status FROM alert_outbox") == "delivered"


async def test_private_hosts_are_refused_when_the_guard_says_so(
    pool: asyncpg.Pool, service: MonitorService, json_receiver: JsonReceiver
) -> None:
    url = f"json://127.0.0.1:{json_receiver.port}/notify"
    await _down_with_apprise(pool, service, url, "en")
    worker = DeliveryWorker(pool, {}, Metrics(), worker_id="apprise-guard")
    worker.register(AppriseChannel(TargetGuard(allow_private=False), timeout_s=10))
    await worker.drain()
    assert json_receiver.received == []
    row = await pool.fetchrow("SELECT status, last_error FROM alert_outbox")
    assert row["status"] == "failed" and row["last_error"].startswith("target_not_allowed")
    assert await pool.fetchval("SELECT enabled FROM alert_channels WHERE kind = 'apprise'") is False


@pytest.mark.parametrize("url", ["syslog://", "syslog://local5", "SYSLOG://localhost",
                                 "windows://", "macosx://", "dbus://", "kde://", "glib://",
                                 "gnome://", "blink1://", "file:///etc/passwd"])
async def test_local_only_apprise_urls_are_refused_at_creation(
    pool: asyncpg.Pool, service: MonitorService, url: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await service.add_channel(WHO, "apprise", {"url": url})
    assert refused.value.params == {"field": "url", "reason": "apprise_local", "channel": "apprise"}
    assert await pool.fetchval("SELECT count(*) FROM alert_channels") == 0
    # Over the network to a host the guard can judge: accepted (rsyslog sends UDP to a host).
    parse_channel_config("apprise", {"url": "rsyslog://127.0.0.1/local5"})
