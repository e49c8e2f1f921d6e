"""/alerts add|list|test|remove from chat: the real python-telegram-bot and discord.py
clients against the stand-ins in tests/standins, through MonitorService only."""

from __future__ import annotations

import re

import aiohttp
from botkit import Harness
from lighthouse.bot.discord.client import LighthouseDiscord
from lighthouse.bot.telegram.bot import TelegramBot
from lighthouse.core.alerts.channels.discord_webhook import DiscordWebhookChannel
from lighthouse.core.alerts.channels.webhook import WebhookChannel
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn
from targets import Target
from test_discord import slash
from test_telegram import say


async def test_webhook_added_listed_tested_and_removed_in_telegram(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    async with aiohttp.ClientSession() as session:
        harness.worker.register(WebhookChannel(session))
        hook = target.path("/hook")
        added = await say(tg, f"/alerts add webhook {hook}")
        match = re.match(r"🔔 Canal de alertas #(\d+) añadido: webhook → (\S+)\. Pruébalo con "
                         r"/alerts test (\d+)\.$", added.params["text"])
        assert match and match.group(1) == match.group(3) and match.group(2) == hook
        channel_id = match.group(1)
        [row] = await harness.channel_rows("webhook")
        assert row["config"] == {"url": hook} and row["language"] == "es"
        assert row["monitor_id"] is None and str(row["id"]) == channel_id

        listed = await say(tg, "/alerts list", lang="en")
        assert listed.params["text"] == f"Your alert channel:\n#{channel_id} · webhook → {hook}"

        hits = target.hits
        tested = await say(tg, f"/alerts test #{channel_id}")
        assert tested.params["text"] == f"✅ Alerta de prueba entregada por #{channel_id}."
        assert target.hits == hits + 1
        target.status = 500
        failed = await say(tg, f"/alerts test {channel_id}", lang="en")
        assert failed.params["text"].startswith(f"❌ The test alert through #{channel_id} failed:")

        removed = await say(tg, f"/alerts remove {channel_id}")
        assert removed.params["text"] == f"🗑️ Canal de alertas #{channel_id} (webhook) eliminado."
        assert await harness.channel_rows("webhook") == []
        gone = await say(tg, f"/alerts remove {channel_id}")
        assert gone.params["text"].startswith("No tienes ningún canal de alertas con ese número")
        ntfy = await say(tg, "/alerts add apprise ntfy://bob:s3cret-pass-word@127.0.0.1:9/t",
                         lang="en")
        assert ntfy.params["text"].startswith("🔔 Alert channel #")
        assert "s3cret" not in ntfy.params["text"] and "apprise → …" in ntfy.params["text"]
        await say(tg, "/alerts remove " + ntfy.params["text"].split("#")[1].split()[0])
        empty = await say(tg, "/alerts list")
        assert empty.params["text"].startswith("Aún no tienes canales de alertas propios.")


async def test_bad_urls_and_kinds_are_refused_in_words_and_nothing_is_stored(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness
) -> None:
    bad = await say(tg, "/alerts add webhook ftp://example.org/hook")
    assert bad.params["text"] == (
        "El canal de alertas webhook necesita una URL http(s) válida en url.")
    apprise = await say(tg, "/alerts add apprise nonsense://example.org/x")
    assert apprise.params["text"].startswith("Apprise no puede enviar a esa URL.")
    chat_only = await say(tg, "/alerts add telegram 12345", lang="en")
    assert chat_only.params["text"] == "telegram alerts are set up from the chat itself, not here."
    unknown = await say(tg, "/alerts add pigeon https://example.org", lang="en")
    assert unknown.params["text"].startswith("Unknown alert channel “pigeon”. Known: ")
    usage = await say(tg, "/alerts add webhook")
    assert usage.params["text"].startswith("Uso: /alerts add <tipo> <url> | list")
    number = await say(tg, "/alerts test abc")
    assert number.params["text"] == "“abc” no es un número de canal; mira /alerts list."
    assert await harness.pool.fetchval("SELECT count(*) FROM alert_channels") == 0


async def test_discord_webhook_from_discord_is_masked_and_a_bad_url_refused(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    bad = await slash(dc, "alerts add", {"kind": "discord_webhook", "target": "not a url"})
    assert bad["flags"] & 64
    assert bad["content"] == (
        "El canal de alertas discord_webhook necesita una URL http(s) válida en url.")
    assert await harness.pool.fetchval("SELECT count(*) FROM alert_channels") == 0

    secret = target.path("/api/webhooks/123/very-secret-webhook-token")
    added = await slash(dc, "alerts add", {"kind": "discord_webhook", "target": secret})
    assert added["flags"] & 64
    assert "very-secret-webhook-token" not in added["content"]
    assert added["content"].startswith("🔔 Canal de alertas #")
    assert "discord_webhook → http://127.0.0.1/…oken" in added["content"]
    assert "Pruébalo con /alertas probar " in added["content"]  # Discord names are localized
    listed = await slash(dc, "alerts list", locale="en-US")
    assert "very-secret-webhook-token" not in listed["content"]
    [row] = await harness.channel_rows("discord_webhook")
    assert row["config"] == {"url": secret}  # stored whole: the delivery needs it

    async with aiohttp.ClientSession() as session:
        harness.worker.register(DiscordWebhookChannel(session, None))
        hits = target.hits
        tested = await slash(dc, "alerts test", {"id": row["id"]}, locale="en-US")
        assert tested["content"] == f"✅ Test alert delivered through #{row['id']}."
        assert target.hits == hits + 1
