"""Heartbeats, ping tokens, maintenance windows and incidents from chat: the real
python-telegram-bot and discord.py clients against the stand-ins in tests/standins."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from aiohttp import ClientSession, web
from botkit import Harness
from lighthouse.api.heartbeat import heartbeat_routes
from lighthouse.bot.discord.client import LighthouseDiscord
from lighthouse.bot.telegram.bot import TelegramBot
from lighthouse.core.checks import heartbeat as hb
from lighthouse.core.models import Identity, Provider
from lighthouse.core.state import State
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn
from targets import Target
from test_discord import CHANNEL, GUILD, USER, slash
from test_telegram import CHAT, GROUP, say

PING = re.compile(r"http://127\.0\.0\.1:8080/ping/([A-Za-z0-9_-]{20,64})")


async def test_heartbeat_created_in_telegram_shows_its_ping_url(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness
) -> None:
    reply = await say(tg, "/monitor add heartbeat copia 1d 2h")
    text = reply.params["text"]
    assert text.startswith("✅ Latido copia creado: hazle ping al menos cada día.")
    [token] = set(PING.findall(text))
    assert f"curl -fsS -m 10 --retry 5 http://127.0.0.1:8080/ping/{token}" in text
    assert "/monitor token copia" in text
    assert await hb.heartbeat_exists(harness.pool, hb.hash_token(token))
    [m] = await harness.service.list_monitors(Identity(Provider.TELEGRAM, str(CHAT)))
    assert (m.type, m.name, m.config["period_s"], m.config["grace_s"]) == (
        "heartbeat", "copia", 86400, 7200)
    [channel] = await harness.channel_rows("telegram")  # alerts come to this chat
    assert channel["monitor_id"] == m.id and channel["language"] == "es"

    rotated = await say(tg, "/monitor token copia", lang="en")
    assert rotated.params["text"].startswith("🔑 New ping URL for copia (the old one no longer")
    [new] = set(PING.findall(rotated.params["text"]))
    assert new != token
    assert await hb.heartbeat_exists(harness.pool, hb.hash_token(new))
    assert not await hb.heartbeat_exists(harness.pool, hb.hash_token(token))


async def test_ping_url_is_never_shown_in_a_telegram_group(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness
) -> None:
    group = {"id": GROUP, "type": "group", "title": "ops"}
    reply = await say(tg, "/monitor add heartbeat copia", chat_id=GROUP, user_id=CHAT,
                      chat=group)
    assert reply.params["text"] == (
        "Una URL de ping es secreta: envíame este comando en un chat privado.")
    assert "/ping/" not in reply.params["text"]
    assert await harness.service.list_monitors(Identity(Provider.TELEGRAM, str(CHAT))) == []


async def test_heartbeat_usage_and_bad_durations_are_localized(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness
) -> None:
    usage = await say(tg, "/monitor add heartbeat")
    assert usage.params["text"].startswith(
        "Uso: /monitor add heartbeat <nombre> [periodo] [margen]")
    short = await say(tg, "/monitor add heartbeat copia 10s", lang="en")
    assert short.params["text"] == ("That heartbeat period is out of range: the period is 30 "
                                    "seconds to 30 days, the grace at most 7 days.")
    assert await harness.service.list_monitors(Identity(Provider.TELEGRAM, str(CHAT))) == []
    unknown = await say(tg, "/monitor token nada")
    assert unknown.params["text"].startswith("No encontré ningún monitor llamado “nada”.")


async def test_heartbeat_from_a_discord_server_is_answered_ephemerally(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness
) -> None:
    since = dc.mark()
    reply = await slash(dc, "monitor heartbeat", {"name": "backup", "period": "1h"},
                        locale="en-US", guild_id=GUILD, channel_id=CHANNEL)
    assert reply["flags"] & 64  # only the user sees the secret URL
    [token] = set(PING.findall(reply["content"]))
    assert reply["content"].startswith("✅ Heartbeat backup created: ping it at least every hour.")
    assert "/monitor token backup" in reply["content"]
    # Nothing was posted in the server's channel.
    assert not [c for c in dc.find("send_message", since=since)
                if int(c.params["channel_id"]) == CHANNEL]
    assert await hb.heartbeat_exists(harness.pool, hb.hash_token(token))


async def test_maintenance_set_and_ended_from_discord(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    await slash(dc, "monitor add", {"url": target.url, "name": "tienda"})
    reply = await slash(dc, "monitor maintenance", {"monitor": "tienda", "until": "2h"},
                        guild_id=GUILD, channel_id=CHANNEL)
    assert reply["content"].startswith("🛠️ tienda está en mantenimiento hasta ")
    assert "/monitor mantenimiento tienda off" in reply["content"]
    [m] = await harness.service.list_monitors(Identity(Provider.DISCORD, str(USER)))
    assert m.state is State.MAINTENANCE and m.maintenance_until is not None
    bad = await slash(dc, "monitor maintenance", {"monitor": "tienda", "until": "mañana"})
    assert bad["content"] == ("No pude leer “mañana”. Indica una duración (2h), una hora UTC "
                              "(2026-12-24T18:00) u off.")
    past = await slash(dc, "monitor maintenance",
                       {"monitor": "tienda", "until": "2020-01-01T00:00"}, locale="en-US")
    assert past["content"] == "Maintenance must end in the future."
    ended = await slash(dc, "monitor maintenance", {"monitor": "tienda", "until": "off"})
    assert ended["content"].startswith("✅ El mantenimiento de tienda ha terminado")
    [m] = await harness.service.list_monitors(Identity(Provider.DISCORD, str(USER)))
    # The window now ends at once; the next check leaves maintenance and sends the note.
    assert m.maintenance_until is not None and m.maintenance_until <= datetime.now(UTC)


async def test_incidents_in_telegram_after_an_outage(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    await say(tg, f"/monitor add {target.url} api")
    none = await say(tg, "/monitor incidents api")
    assert none.params["text"] == "api no ha tenido incidentes."
    target.status = 502
    await harness.run_checks(3)
    target.status = 200
    await harness.run_checks(2)
    listed = await say(tg, "/monitor incidents api", lang="en")
    header, line = listed.params["text"].splitlines()
    assert header == "The last incident of api:"
    assert line.startswith("🟢 ") and ", lasted " in line and "3 failed checks" in line


async def test_heartbeat_from_telegram_pinged_then_missed_alerts_in_spanish(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness
) -> None:
    """End to end: made in Telegram by a Spanish user, pinged over HTTP at the real ping
    route, then silent past its period and grace: the DOWN alert reaches that chat in Spanish."""
    app = web.Application()
    heartbeat_routes(harness.pool)(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    harness.ctx = replace(harness.ctx, pool=harness.pool)  # heartbeats judge stored pings
    try:
        reply = await say(tg, "/monitor agregar heartbeat copia 1m 30s", lang="es-419")
        assert reply.params["text"].startswith("✅ Latido copia creado")
        [token] = set(PING.findall(reply.params["text"]))
        async with ClientSession() as http, http.get(f"{base}/ping/{token}") as resp:
            assert resp.status == 200 and await resp.text() == "OK\n"
        await harness.run_checks(1)
        [m] = await harness.service.list_monitors(Identity(Provider.TELEGRAM, str(CHAT)))
        assert m.state is State.UP, harness.results[-1]
        # No ping for longer than the period and its grace.
        await harness.pool.execute(
            "UPDATE heartbeats SET last_success_at = last_success_at - interval '5 minutes', "
            "last_ping_at = last_ping_at - interval '5 minutes'")
        since = tg.mark()
        await harness.run_checks(1)
        await harness.deliver()
        [alert] = [c.params["text"] for c in tg.find(
            "sendMessage", lambda c: c.params["chat_id"] == str(CHAT), since=since)]
        assert alert.startswith("🔴 Caído: copia"), alert
        assert "el siguiente ping se retrasa" in alert
        assert "overdue" not in alert and "ping" in alert
    finally:
        await runner.cleanup()
