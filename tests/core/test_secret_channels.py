"""Channel secrets encrypted at rest (core/secretbox.py): what PostgreSQL holds is no
plaintext (read with SQL), listings mask, delivery still signs with the real secret, rows
from before encryption are still delivered and get encrypted, a wrong key loses nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from lighthouse.core.alerts.channels.webhook import WebhookChannel
from lighthouse.core.alerts.delivery import DeliveryWorker
from lighthouse.core.metrics import Metrics
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.secretbox import KEY_FILE, PREFIX, SecretBox, load_secret_box, parse_keys
from lighthouse.core.service import MonitorService
from pydantic import SecretStr
from test_alert_outbox import _feed

WHO = Identity(Provider.API, "secrets")
SIGNING_SECRET = "s3cret-signing-key-for-the-hook"
APPRISE_URL = "ntfy://alice:hunter2-very-secret@127.0.0.1:9/alerts"


class Hook:
    def __init__(self) -> None:
        self.bodies: list[tuple[bytes, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append((await request.read(), request.headers["X-Lighthouse-Signature"]))
        return web.Response(text="ok")


@pytest.fixture
async def hook() -> AsyncIterator[tuple[Hook, str]]:
    h = Hook()
    app = web.Application()
    app.router.add_post("/hook", h.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield h, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    await runner.cleanup()


def _box() -> SecretBox:
    return SecretBox([Fernet.generate_key()])


def _verified(secret: str, body: bytes, header: str) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(","))
    mac = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(mac.hexdigest(), parts["v1"])


async def _deliver(pool: asyncpg.Pool, box: SecretBox | None) -> None:
    async with aiohttp.ClientSession() as session:
        worker = DeliveryWorker(pool, {}, Metrics(), worker_id="secrets", secrets=box)
        worker.register(WebhookChannel(session))
        await worker.drain()


async def _stored(pool: asyncpg.Pool) -> list[str]:
    """What the table holds, as text: what a dump or a stolen backup would show."""
    return [r["c"] for r in await pool.fetch(
        "SELECT config::text AS c FROM alert_channels ORDER BY id")]


async def test_stored_rows_hold_no_plaintext_and_delivery_still_signs(
    pool: asyncpg.Pool, hook: tuple[Hook, str]
) -> None:
    receiver, url = hook
    box = _box()
    service = MonitorService(pool, TargetGuard(allow_private=True), secrets=box)
    await service.ensure_user(WHO)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    await service.create_monitor(WHO, config={"url": "http://127.0.0.1:9/"}, interval_s=30,
                                 name="api")
    webhook = await service.add_channel(WHO, "webhook", {"url": url, "secret": SIGNING_SECRET})
    apprise = await service.add_channel(WHO, "apprise", {"url": APPRISE_URL})
    stored = await _stored(pool)
    assert len(stored) == 2
    for text in stored:
        assert SIGNING_SECRET not in text and "hunter2" not in text and PREFIX in text
    assert url in stored[0]  # a webhook URL is no secret: it stays searchable
    # The same channel added again is found again (encryption differs every time).
    assert await service.add_channel(WHO, "webhook", {"url": url, "secret": SIGNING_SECRET}
                                     ) == webhook
    assert await service.add_channel(WHO, "apprise", {"url": APPRISE_URL}) == apprise
    assert len(await _stored(pool)) == 2
    # Shown: masked, from the plaintext; compared (monitors-as-code): readable.
    shown = json.dumps([r["config"] for r in await service.channel_list(WHO)])
    assert SIGNING_SECRET not in shown and "hunter2" not in shown and PREFIX not in shown
    assert [r["config"] for r in await service.channels(WHO)] == [
        {"url": url, "secret": SIGNING_SECRET}, {"url": APPRISE_URL}]
    await pool.execute("DELETE FROM alert_channels WHERE id = $1", apprise)

    await _feed(pool, [False, False, False])  # DOWN: one alert for the webhook
    await _deliver(pool, box)
    [(body, signature)] = receiver.bodies
    assert _verified(SIGNING_SECRET, body, signature)
    assert await pool.fetchval("SELECT status FROM alert_outbox") == "delivered"


async def test_plaintext_rows_still_deliver_and_get_encrypted(
    pool: asyncpg.Pool, hook: tuple[Hook, str]
) -> None:
    receiver, url = hook
    plain = MonitorService(pool, TargetGuard(allow_private=True))  # before encryption
    await plain.ensure_user(WHO)
    await plain.create_monitor(WHO, config={"url": "http://127.0.0.1:9/"},
                               name="api")
    channel = await plain.add_channel(WHO, "webhook", {"url": url, "secret": SIGNING_SECRET})
    assert SIGNING_SECRET in (await _stored(pool))[0]

    old_key = Fernet.generate_key()
    box = SecretBox([old_key])
    await _feed(pool, [False, False, False])
    await _deliver(pool, box)  # the new worker reads the old row as it is
    [(body, signature)] = receiver.bodies
    assert _verified(SIGNING_SECRET, body, signature)

    service = MonitorService(pool, TargetGuard(allow_private=True), secrets=box)
    assert await service.reseal_channel_secrets() == 1
    assert await service.reseal_channel_secrets() == 0  # done once
    [text] = await _stored(pool)
    assert SIGNING_SECRET not in text and PREFIX in text
    # Written again by its owner: the same row, still encrypted.
    assert await service.add_channel(WHO, "webhook", {"url": url, "secret": SIGNING_SECRET}
                                     ) == channel

    # A key rotation: the new key first, the old one still opens; reseal moves every row.
    rotated = SecretBox([Fernet.generate_key(), old_key])
    assert await MonitorService(pool, TargetGuard(True), secrets=rotated
                                ).reseal_channel_secrets() == 1
    [after] = await _stored(pool)
    assert after != text and SIGNING_SECRET not in after


async def test_a_wrong_key_keeps_the_alert_waiting(
    pool: asyncpg.Pool, hook: tuple[Hook, str]
) -> None:
    receiver, url = hook
    service = MonitorService(pool, TargetGuard(allow_private=True), secrets=_box())
    await service.ensure_user(WHO)
    await service.create_monitor(WHO, config={"url": "http://127.0.0.1:9/"},
                                 name="api")
    await service.add_channel(WHO, "webhook", {"url": url, "secret": SIGNING_SECRET})
    await _feed(pool, [False, False, False])
    await _deliver(pool, _box())  # another process started with a different key
    assert receiver.bodies == []
    row = await pool.fetchrow("SELECT status, last_error FROM alert_outbox")
    assert (row["status"], row["last_error"]) == ("pending", "secret_unreadable")
    assert await pool.fetchval("SELECT enabled FROM alert_channels")  # not disabled


def test_key_from_the_environment_or_generated_once_in_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = load_secret_box(data, None)
    key_file = data / KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    sealed = first.seal("x")
    assert load_secret_box(data, None).open(sealed) == "x"  # the same key, read back
    env = Fernet.generate_key().decode()
    from_env = load_secret_box(data, SecretStr(f"{env}, {key_file.read_text().strip()}"))
    assert from_env.open(sealed) == "x"  # the file's key as the second (old) one
    assert SecretBox(parse_keys(env)).open(from_env.seal("y")) == "y"  # the first encrypts
    with pytest.raises(ValueError, match="32 url-safe base64"):
        parse_keys("not-a-key")


def test_an_external_database_gets_no_key_made_up(tmp_path: Path) -> None:
    """Processes sharing a DATABASE_URL may each have their own data dir: a key made by one
    would be unknown to the others, so none is made; the file or the variable is used."""
    assert load_secret_box(tmp_path, None, generate=False) is None
    assert not (tmp_path / KEY_FILE).exists()
    made = load_secret_box(tmp_path, None)  # the embedded database's data dir
    assert made is not None and (tmp_path / KEY_FILE).exists()
    again = load_secret_box(tmp_path, None, generate=False)
    assert again is not None and again.open(made.seal("z")) == "z"


async def test_without_a_key_an_encrypted_secret_is_never_sent_as_is(
    pool: asyncpg.Pool, hook: tuple[Hook, str]
) -> None:
    receiver, url = hook
    service = MonitorService(pool, TargetGuard(allow_private=True), secrets=_box())
    await service.ensure_user(WHO)
    await service.create_monitor(WHO, config={"url": "http://127.0.0.1:9/"}, name="api")
    await service.add_channel(WHO, "webhook", {"url": url, "secret": SIGNING_SECRET})
    await _feed(pool, [False, False, False])
    await _deliver(pool, None)  # a process started without LIGHTHOUSE_SECRET_KEY
    assert receiver.bodies == []
    assert await pool.fetchval("SELECT last_error FROM alert_outbox") == "secret_unreadable"
