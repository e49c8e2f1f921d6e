"""/status create|list|remove from chat: the real python-telegram-bot and discord.py
clients against the stand-ins in tests/standins, through MonitorService only (the same
create_status_page as the API, MCP, the CLI and the monitors-as-code file)."""

from __future__ import annotations

import re

from botkit import Harness
from lighthouse.bot.discord.client import LighthouseDiscord
from lighthouse.bot.telegram.bot import TelegramBot
from lighthouse.core.models import Identity, Provider
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn
from targets import Target
from test_discord import USER, slash
from test_telegram import CHAT, say

ME = Identity(Provider.TELEGRAM, str(CHAT))
STRANGER = Identity(Provider.DISCORD, "424242")


async def _standard(harness: Harness, who: Identity) -> None:
    await harness.service.ensure_user(who)
    await harness.service.set_tier(Identity(Provider.OPERATOR, "admin"), who, "standard")


async def test_pages_created_listed_and_removed_in_telegram(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    free = await say(tg, "/status create acme")
    assert free.params["text"] == ("Las páginas de estado vienen con el plan Estándar y "
                                   "superiores; tienes Gratis. Mira /upgrade.")
    await _standard(harness, ME)
    for name in ("shop", "api"):
        await harness.service.create_monitor(ME, config={"url": target.url}, name=name)
    stranger = await harness.service.create_monitor(
        Identity(Provider.TELEGRAM, "999"), config={"url": target.url}, name="theirs")

    made = await say(tg, "/status create acme shop api")
    assert made.params["text"] == ("📣 Página de estado publicada con 2 monitores: "
                                   "http://127.0.0.1:8080/status/acme")
    [row] = await harness.pool.fetch("SELECT owner_id, monitor_ids FROM status_pages")
    assert len(row["monitor_ids"]) == 2
    # Another owner's monitor, by name or by id, is "not found" and nothing is stored.
    for ref in ("theirs", str(stranger.public_id)):
        other = await say(tg, f"/status create - {ref}", lang="en")
        assert other.params["text"].startswith(f"I couldn't find a monitor called “{ref}”")
    random = await say(tg, "/status create", lang="en")
    match = re.fullmatch(r"📣 Status page published with all your monitors: "
                         r"http://127\.0\.0\.1:8080/status/([a-z2-7]{24})", random.params["text"])
    assert match, random.params["text"]
    taken = await say(tg, "/status create acme")
    assert taken.params["text"] == "La dirección «acme» ya está en uso; elige otra."
    bad = await say(tg, "/status create Not.A.Slug", lang="en")
    assert bad.params["text"].startswith("A page address has 3 to 48 lowercase letters")

    listed = await say(tg, "/status list", lang="en")
    assert listed.params["text"] == (
        "Your 2 status pages:\n• http://127.0.0.1:8080/status/acme · 2 monitors\n"
        f"• http://127.0.0.1:8080/status/{match.group(1)} · all your monitors")
    removed = await say(tg, "/status remove acme")
    assert removed.params["text"] == "🗑️ Página de estado acme eliminada."
    gone = await say(tg, "/status remove acme")
    assert gone.params["text"] == "No tienes ninguna página de estado «acme»; mira /status list."
    # The Spanish sub-commands Discord shows, typed in Telegram, mean the same.
    es = await say(tg, "/status crear acme-es shop")
    assert es.params["text"].startswith("📣 Página de estado publicada con 1 monitor")
    assert es.params["text"].endswith("http://127.0.0.1:8080/status/acme-es")
    listed_es = await say(tg, "/status listar")
    assert "http://127.0.0.1:8080/status/acme-es · 1 monitor" in listed_es.params["text"]
    removed_es = await say(tg, "/status eliminar acme-es")
    assert removed_es.params["text"] == "🗑️ Página de estado acme-es eliminada."
    usage = await say(tg, "/status remove")
    assert usage.params["text"].startswith("Uso: /status create [dirección|-] [monitores…]")
    assert await harness.pool.fetchval("SELECT count(*) FROM status_pages") == 1
    # /status <monitor> is still the short form of /monitor status.
    shop = await say(tg, "/status shop", lang="en")
    assert "shop" in shop.params["text"] and "status page" not in shop.params["text"]


async def test_pages_from_discord_with_localized_names(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    me = Identity(Provider.DISCORD, str(USER))
    await _standard(harness, me)
    await harness.service.create_monitor(me, config={"url": target.url}, name="web shop")
    await harness.service.create_monitor(me, config={"url": target.url}, name="api")
    made = await slash(dc, "status create", {"address": "acme-dc", "monitors": "web shop, api"})
    assert made["flags"] & 64  # ephemeral
    assert made["content"] == ("📣 Página de estado publicada con 2 monitores: "
                               "http://127.0.0.1:8080/status/acme-dc")
    listed = await slash(dc, "status list", locale="en-US")
    assert listed["content"] == ("Your status page:\n"
                                 "• http://127.0.0.1:8080/status/acme-dc · 2 monitors")
    empty = await slash(dc, "status list", user_id=int(STRANGER.subject))
    assert empty["content"] == ("Aún no tienes páginas de estado. Publica una con "
                                "/estado crear acme.")
    theirs = await slash(dc, "status remove", {"address": "acme-dc"},
                         user_id=int(STRANGER.subject))
    assert theirs["content"].startswith("No tienes ninguna página de estado «acme-dc»")
    removed = await slash(dc, "status remove", {"address": "acme-dc"}, locale="en-US")
    assert removed["content"] == "🗑️ Status page acme-dc removed."
    assert await harness.pool.fetchval("SELECT count(*) FROM status_pages") == 0
