"""The real discord.py client against the Discord stand-in: slash commands in Spanish and
English, buttons, autocomplete, errors, and alert DMs through the real outbox.

The stand-in encodes our reading of Discord's protocol (tests/standins/discord_api.py); a
manual smoke test against real Discord is still needed before a release.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from botkit import WAIT, Harness
from lighthouse.bot.commands import Commands
from lighthouse.bot.discord.client import LighthouseDiscord
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService
from standins import Call
from standins.discord_api import DiscordStandIn
from targets import Target

USER = 4242
GUILD = 777000000000000001
CHANNEL = 777000000000000002


async def slash(
    dc: DiscordStandIn,
    command: str,
    options: dict[str, Any] | None = None,
    *,
    locale: str = "es-ES",
    user_id: int = USER,
    guild_id: int | None = None,
    channel_id: int | None = None,
) -> dict[str, Any]:
    """Run one slash command; return the message the user finally sees (answer or
    follow-up after a defer), with the call's files under '_files'."""
    since = dc.mark()
    kw: dict[str, Any] = {"locale": locale, "user_id": user_id}
    if channel_id is not None:
        kw["channel_id"] = channel_id
    inter = await dc.inject_command(command, options, guild_id=guild_id, **kw)
    answer = await dc.wait_interaction_response(inter, timeout=WAIT)
    assert answer.status == 200, answer.response
    if answer.body["type"] == 5:  # deferred: the reply is the follow-up
        assert answer.body["data"]["flags"] & 64, "deferred replies are ephemeral"
        follow: Call = await dc.wait_call(
            "followup", lambda c: c.params["token"] == inter["token"], since=since, timeout=WAIT)
        return {**follow.body, "_files": follow.files}
    assert answer.body["type"] == 4
    return {**answer.body["data"], "_files": answer.files}


def dm_messages(dc: DiscordStandIn, user_id: int = USER, since: int = 0) -> list[Call]:
    return [c for c in dc.find("send_message", since=since)
            if dc.dm_channels.get(int(c.params["channel_id"])) == user_id and c.status == 200]


async def test_spanish_user_adds_a_monitor_and_gets_a_spanish_reply(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    reply = await slash(dc, "monitor add", {"url": target.url, "name": "tienda",
                                            "interval": 3600}, locale="es-419")
    assert reply["flags"] & 64
    assert reply["content"].startswith("✅ Ahora monitoreo tienda (" + target.url + ") cada hora.")
    assert "Las alertas te llegarán por mensaje directo." in reply["content"]
    # The follow-up names the localized command a Spanish client types.
    assert "/monitor estado tienda" in reply["content"]
    [channel] = await harness.channel_rows("discord_dm")
    # The DM channel is opened now, so an alert costs one request.
    dm_channel = next(c for c, u in dc.dm_channels.items() if u == USER)
    assert channel["config"] == {"user_id": str(USER), "dm_channel_id": str(dm_channel)}
    assert channel["language"] == "es" and channel["enabled"]
    [m] = await harness.service.list_monitors(Identity(Provider.DISCORD, str(USER)))
    assert (m.name, m.language, m.interval_s) == ("tienda", "es", 3600)


async def test_english_list_status_with_chart(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    await slash(dc, "monitor add", {"url": target.url, "name": "shop"}, locale="en-US")
    await harness.run_checks(3)
    listed = await slash(dc, "monitor list", locale="en-GB")
    assert listed["content"].splitlines()[0] == "You have 1 of 1 monitors (Free plan):"
    assert "🟢 shop — up, every hour" in listed["content"]
    status = await slash(dc, "monitor status", {"monitor": "SHOP"}, locale="en-US")
    lines = status["content"].splitlines()
    assert lines[0].startswith("🟢 shop is up since ")
    assert "Uptime: 24 h 100% · 7 days 100% · 30 days 100%" in status["content"]
    assert re.search(r"Latency \(24 h\): p50 \d+ ms · p95 \d+ ms", status["content"])
    [png] = status["_files"]
    assert png.filename.endswith(".png") and png.data.startswith(b"\x89PNG\r\n\x1a\n")


async def test_bad_input_gets_localized_errors(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    bad = await slash(dc, "monitor add", {"url": "ftp://example.org/file"})
    assert bad["content"] == ("Una URL debe empezar por http:// o https://, y "
                              "“ftp://example.org/file” no lo hace.")
    assert bad["flags"] & 64
    nonsense = await slash(dc, "monitor add", {"url": "not a url"}, locale="en-US")
    assert nonsense["content"].startswith("A URL must start with http:// or https://")
    unknown = await slash(dc, "monitor status", {"monitor": "nada"})
    assert unknown["content"] == ("No encontré ningún monitor llamado “nada”. Usa "
                                  "/monitor listar para ver los tuyos.")
    too_fast = await slash(dc, "monitor add", {"url": target.url, "interval": 60})
    assert too_fast["content"].startswith("Tu plan Gratis comprueba como mucho cada hora.")
    first = await slash(dc, "monitor add", {"url": target.url})
    assert first["content"].startswith("✅")
    over = await slash(dc, "monitor add", {"url": target.path("/other")})
    assert over["content"] == (
        "Tu plan Gratis incluye 1 monitor y ya lo estás usando. Elimina uno con "
        "/monitor eliminar o mejora tu plan para añadir más.")
    over_en = await slash(dc, "monitor add", {"url": target.path("/other")}, locale="en-US")
    assert over_en["content"].startswith("Your Free plan includes 1 monitor and you are using it.")
    paused = await slash(dc, "monitor resume", {"monitor": first["content"].split()[3]})
    assert "no está en pausa" in paused["content"]


async def test_private_address_is_refused_in_words(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    strict = MonitorService(harness.pool, TargetGuard(allow_private=False), harness.ctx)
    discord_bot.commands = Commands(strict)
    reply = await slash(dc, "monitor add", {"url": target.url})
    assert reply["content"] == (
        "No puedo monitorear 127.0.0.1: apunta a 127.0.0.1, una dirección de loopback. "
        "Lighthouse solo comprueba direcciones de internet públicas.")
    test = await slash(dc, "monitor test", {"url": "http://10.1.2.3/"}, locale="en-US")
    assert "a private network address" in test["content"]


async def test_target_down_then_recovered_sends_spanish_dms(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    await slash(dc, "monitor add", {"url": target.url, "name": "api"}, locale="es-ES")
    await harness.run_checks(1)
    target.status = 503
    await harness.run_checks(3)
    await harness.deliver()
    [down] = dm_messages(dc)
    assert down.body["content"] == "🔴 Caído: api"
    [embed] = down.body["embeds"]
    assert embed["title"] == "Caído: api"
    assert "Estado HTTP: 503" in embed["description"]
    assert embed["footer"]["text"] == "Monitoreo de Lighthouse"
    assert len(down.body["nonce"]) <= 25 and down.body["enforce_nonce"] is True
    target.status = 200
    await harness.run_checks(2)
    await harness.deliver()
    await harness.deliver()  # nothing left: no duplicate
    down_again, up = dm_messages(dc)
    assert down_again is down
    assert up.body["content"] == "🟢 Recuperado: api"
    assert "La caída duró" in up.body["embeds"][0]["description"]
    assert [r["status"] for r in await harness.outbox()] == ["delivered", "delivered"]


async def test_dm_refused_falls_back_to_the_server_channel(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    added = await slash(dc, "monitor add", {"url": target.url, "name": "web"},
                        guild_id=GUILD, channel_id=CHANNEL)
    assert f"o a <#{CHANNEL}> si tienes los MD cerrados" in added["content"]
    dc.close_dms(USER)
    target.status = 500
    await harness.run_checks(3)
    await harness.deliver()
    refused = [c for c in dc.find("send_message") if c.status == 403]
    assert refused and refused[0].response["code"] == 50007
    [post] = [c for c in dc.find("send_message", lambda c: c.params["channel_id"] == str(CHANNEL))]
    assert post.body["content"].startswith(f"<@{USER}>: no pude enviarte un mensaje directo.")
    assert [str(u) for u in post.body["allowed_mentions"]["users"]] == [str(USER)]
    assert "Caído: web" in post.body["content"]
    assert [r["status"] for r in await harness.outbox()] == ["delivered"]
    [channel] = await harness.channel_rows("discord_dm")
    assert channel["enabled"] and "dm_refused_at" in channel["config"]
    # The next command tells the user why, once.
    listed = await slash(dc, "monitor list")
    assert listed["content"].startswith("⚠️ No pude enviarte por mensaje directo una alerta de web")
    again = await slash(dc, "monitor list")
    assert not again["content"].startswith("⚠️")
    [channel] = await harness.channel_rows("discord_dm")
    assert "dm_refused_at" not in channel["config"]


async def test_dm_refused_without_fallback_disables_until_next_command(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    await slash(dc, "monitor add", {"url": target.url, "name": "web"}, locale="en-US")
    dc.close_dms(USER)
    target.status = 500
    await harness.run_checks(3)
    await harness.deliver()
    [row] = await harness.outbox()
    assert row["status"] == "failed" and row["last_error"].startswith("dm_refused")
    [channel] = await harness.channel_rows("discord_dm")
    assert not channel["enabled"] and channel["disabled_reason"].startswith("dm_refused")
    dc.open_dms(USER)
    reply = await slash(dc, "monitor list", locale="en-US")
    assert reply["content"].startswith("⚠️ I couldn't send you an alert for web by direct message")
    [channel] = await harness.channel_rows("discord_dm")
    assert channel["enabled"] and channel["disabled_reason"] is None


async def test_rate_limits_and_outages_delay_but_never_lose_an_alert(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    await slash(dc, "monitor add", {"url": target.url, "name": "api"})
    target.status = 500
    await harness.run_checks(3)
    # 1. A long 429 (over max_ratelimit_timeout): back to the outbox with Discord's wait.
    dc.rate_limit("send_message", retry_after=45.0)
    await harness.deliver()
    [row] = await harness.outbox()
    assert row["status"] == "pending" and "rate limited" in row["last_error"]
    assert timedelta(seconds=40) < row["wait"] <= timedelta(seconds=45)
    assert dm_messages(dc) == []
    # 2. Discord is down (503): retried with backoff.
    dc.fail("send_message", status=503, message="Service Unavailable", times=1)
    await harness.make_due()
    await harness.deliver()
    [row] = await harness.outbox()
    assert row["status"] == "pending" and "503" in row["last_error"]
    assert row["wait"] > timedelta(seconds=3)
    # 3. A short 429 is waited out inside discord.py; the alert goes out.
    dc.rate_limit("send_message", retry_after=0.05)
    await harness.make_due()
    await harness.deliver()
    [row] = await harness.outbox()
    assert row["status"] == "delivered" and row["attempts"] == 3
    [dm] = dm_messages(dc)
    assert dm.body["content"] == "🔴 Caído: api"


async def test_remove_asks_first_and_the_button_confirms(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    await slash(dc, "monitor add", {"url": target.url, "name": "blog"})
    ask = await slash(dc, "monitor remove", {"monitor": "blog"})
    assert ask["content"].startswith("¿Eliminar blog (")
    [row] = ask["components"]
    labels = [b["label"] for b in row["components"]]
    assert labels == ["Eliminar", "Cancelar"]
    delete_id = row["components"][0]["custom_id"]
    assert delete_id.startswith("lh:rm:")
    # Another user pressing the button cannot delete it.
    other = await dc.inject_component(delete_id, user_id=999, locale="es-ES")
    answer = await dc.wait_interaction_response(other)
    assert answer.body["type"] == 4 and answer.body["data"]["flags"] & 64
    assert answer.body["data"]["content"] == "Ese botón es de otra persona o ha caducado."
    assert len(await harness.service.list_monitors(Identity(Provider.DISCORD, str(USER)))) == 1
    press = await dc.inject_component(delete_id, user_id=USER, locale="es-ES")
    answer = await dc.wait_interaction_response(press)
    assert answer.body["type"] == 7
    assert answer.body["data"]["content"] == "🗑️ blog se eliminó."
    assert answer.body["data"]["components"] == []
    assert await harness.service.list_monitors(Identity(Provider.DISCORD, str(USER))) == []


async def test_autocomplete_offers_only_the_callers_monitors(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    await slash(dc, "monitor add", {"url": target.url, "name": "alpha"})
    await slash(dc, "monitor add", {"url": target.url, "name": "mine"}, user_id=5151)
    inter = await dc.inject_autocomplete("monitor status", {"monitor": "al"}, "monitor",
                                         user_id=USER, locale="es-ES")
    answer = await dc.wait_interaction_response(inter)
    assert answer.body["type"] == 8
    assert answer.body["data"]["choices"] == [
        {"name": f"alpha — {target.url}", "value": "alpha"}]


async def test_language_override_beats_the_client_locale(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    await slash(dc, "monitor add", {"url": target.url, "name": "x"}, locale="en-US")
    shown = await slash(dc, "language", locale="en-US")
    assert shown["content"].startswith("I'm following your app's language (English).")
    chosen = await slash(dc, "language", {"language": "es"}, locale="en-US")
    assert chosen["content"] == "A partir de ahora responderé y enviaré las alertas en Español."
    listed = await slash(dc, "monitor list", locale="en-US")
    assert listed["content"].startswith("Tienes 1 de 1 monitores (plan Gratis):")
    [channel] = await harness.channel_rows("discord_dm")
    assert channel["language"] == "es"
    auto = await slash(dc, "language", {"language": "auto"}, locale="en-US")
    assert auto["content"] == "I'll follow your app's language (English)."
    helped = await slash(dc, "help", locale="es-419")
    assert "/monitor agregar <url> [nombre] [intervalo]" in helped["content"]


async def test_server_channel_for_alerts(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    await slash(dc, "monitor add", {"url": target.url, "name": "api"}, guild_id=GUILD,
                channel_id=CHANNEL)
    reply = await slash(dc, "monitor channel", {"monitor": "api"}, guild_id=GUILD,
                        channel_id=CHANNEL)
    assert reply["content"] == f"Las alertas de api también se publicarán en <#{CHANNEL}>."
    announce = dc.find("send_message", lambda c: c.params["channel_id"] == str(CHANNEL))
    assert announce and announce[0].body["content"] == reply["content"]
    in_dm = await slash(dc, "monitor channel", {"monitor": "api"})
    assert in_dm["content"] == "Esto solo funciona en un canal de un servidor."
    since = dc.mark()
    target.status = 500
    await harness.run_checks(3)
    await harness.deliver()
    assert [c.body["content"] for c in dm_messages(dc, since=since)] == ["🔴 Caído: api"]
    posted = dc.find("send_message", lambda c: c.params["channel_id"] == str(CHANNEL),
                     since=since)
    assert [c.body["content"] for c in posted] == ["🔴 Caído: api"]


async def test_test_pause_and_resume(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, target: Target
) -> None:
    ok = await slash(dc, "monitor test", {"url": target.url})
    assert re.fullmatch(rf"✅ {re.escape(target.url)} respondió HTTP 200 en \d+ ms\.",
                        ok["content"])
    target.status = 500
    failed = await slash(dc, "monitor test", {"url": target.url}, locale="en-US")
    assert failed["content"].startswith(f"❌ {target.url} failed: ")
    assert not await harness.service.list_monitors(Identity(Provider.DISCORD, str(USER)))
    await slash(dc, "monitor add", {"url": target.url, "name": "api"})
    paused = await slash(dc, "monitor pause", {"monitor": "api"})
    assert paused["content"] == ("⏸️ api está en pausa. No habrá comprobaciones ni alertas "
                                 "hasta que ejecutes /monitor reanudar api.")
    again = await slash(dc, "monitor pause", {"monitor": "api"})
    assert again["content"] == "api ya está en pausa."
    resumed = await slash(dc, "monitor resume", {"monitor": "api"})
    assert resumed["content"] == "▶️ api vuelve a estar activo; la próxima comprobación se hace ahora."
