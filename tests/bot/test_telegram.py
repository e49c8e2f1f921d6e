"""The real python-telegram-bot client against the Bot API stand-in: commands with
language_code=es, inline keyboards, errors, and alerts through the real outbox.

The stand-in encodes our reading of the Bot API (tests/standins/telegram_api.py); a manual
smoke test against real Telegram is still needed before a release.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from botkit import WAIT, Harness, eventually
from lighthouse.bot.commands import Commands
from lighthouse.bot.telegram.bot import TelegramBot
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService
from standins import Call
from standins.telegram_api import TelegramStandIn
from targets import Target

CHAT = 5550001
GROUP = -4440001
SUPERGROUP = -1004440001


async def say(
    tg: TelegramStandIn, text: str, *, chat_id: int = CHAT, lang: str | None = "es",
    user_id: int | None = None, chat: dict[str, Any] | None = None,
) -> Call:
    """Send a message as a user; return the bot's first sendMessage back to that chat."""
    since = tg.mark()
    await tg.inject_message(chat_id, text, language_code=lang, user_id=user_id, chat=chat)
    return await tg.wait_call("sendMessage", lambda c: c.params["chat_id"] == str(chat_id),
                              since=since, timeout=WAIT)


def alerts_to(tg: TelegramStandIn, chat_id: int, since: int = 0) -> list[str]:
    return [c.params["text"] for c in tg.find(
        "sendMessage", lambda c: c.params["chat_id"] == str(chat_id) and c.status == 200,
        since=since) if c.params["text"][:1] in ("🔴", "🟢")]


async def test_spanish_user_adds_a_monitor_and_gets_a_spanish_reply(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    reply = await say(tg, f"/monitor add {target.url} tienda 1h", lang="es-419")
    assert reply.params["text"].startswith(
        f"✅ Ahora monitoreo tienda ({target.url}) cada hora. Las alertas llegarán a este chat.")
    assert "/monitor status tienda" in reply.params["text"]  # Telegram names are not localized
    [channel] = await harness.channel_rows("telegram")
    assert channel["config"] == {"chat_id": CHAT, "private": True}
    assert channel["language"] == "es"
    # The short form and English.
    listed = await say(tg, "/list", lang="en")
    assert listed.params["text"] == (
        f"You have 1 of 1 monitors (Free plan):\n🟡 tienda — not checked yet, every hour · {target.url}")


async def test_menu_is_set_in_english_and_spanish(
    tg: TelegramStandIn, telegram_bot: TelegramBot
) -> None:
    default = {c["command"]: c["description"] for c in tg.commands[""]}
    spanish = {c["command"]: c["description"] for c in tg.commands["es"]}
    assert default["add"] == "Start monitoring a URL"
    assert spanish["add"] == "Empezar a monitorear una URL"
    assert spanish["language"] == "Elegir el idioma en el que respondo"
    assert set(default) == set(spanish) >= {"monitor", "add", "list", "status", "help", "start"}


async def test_bad_input_gets_localized_errors(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    bad = await say(tg, "/monitor add ftp://example.org/x")
    assert bad.params["text"].startswith("Una URL debe empezar por http:// o https://")
    usage = await say(tg, "/monitor add")
    assert usage.params["text"].startswith("Uso: /monitor add <url> [nombre] [intervalo]")
    unknown = await say(tg, "/status nada")
    assert unknown.params["text"] == (
        "No encontré ningún monitor llamado “nada”. Usa /monitor list para ver los tuyos.")
    fast = await say(tg, f"/add {target.url} 1m")
    assert fast.params["text"].startswith("Tu plan Gratis comprueba como mucho cada hora.")
    await say(tg, f"/add {target.url}")
    over = await say(tg, f"/add {target.path('/b')}")
    assert over.params["text"].startswith("Tu plan Gratis incluye 1 monitor y ya lo estás usando.")
    what = await say(tg, "/monitor frobnicate")
    assert what.params["text"].startswith("No conozco “frobnicate”.")
    none_lang = await say(tg, "/monitor frobnicate", lang=None)  # no language_code: English
    assert none_lang.params["text"].startswith("I don't know “frobnicate”.")
    strict = MonitorService(harness.pool, TargetGuard(allow_private=False), harness.ctx)
    telegram_bot.commands = Commands(strict)
    private = await say(tg, "/monitor add http://192.168.1.10/admin", chat_id=CHAT + 1)
    assert private.params["text"] == (
        "No puedo monitorear 192.168.1.10: apunta a 192.168.1.10, una dirección de red "
        "privada. Lighthouse solo comprueba direcciones de internet públicas.")


async def test_target_down_then_recovered_sends_spanish_alerts(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    await say(tg, f"/monitor add {target.url} api")
    target.status = 502
    await harness.run_checks(3)
    await harness.deliver()
    target.status = 200
    await harness.run_checks(2)
    await harness.deliver()
    await harness.deliver()
    down, up = alerts_to(tg, CHAT)
    assert down.splitlines()[:2] == ["🔴 Caído: api", f"Objetivo: {target.url}"]
    assert "Estado HTTP: 502" in down
    assert up.startswith("🟢 Recuperado: api\n")
    assert "La caída duró" in up
    assert [r["status"] for r in await harness.outbox()] == ["delivered", "delivered"]


async def test_blocked_bot_disables_the_channel_until_start(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    await say(tg, f"/monitor add {target.url} api")
    tg.block_chat(CHAT)
    target.status = 500
    await harness.run_checks(3)
    await harness.deliver()
    [row] = await harness.outbox()
    assert row["status"] == "failed" and row["last_error"].startswith("bot_blocked")
    [channel] = await harness.channel_rows("telegram")
    assert not channel["enabled"]
    assert channel["disabled_reason"].startswith("bot_blocked: Forbidden: bot was blocked")
    # A reminder while disabled goes nowhere (no outbox row for a disabled channel).
    tg.clear_failures(CHAT)
    welcome = await say(tg, "/start")
    assert welcome.params["text"].startswith(
        "🔔 Las alertas vuelven a estar activas para 1 monitor en este chat.\n\n👋 ¡Bienvenido")
    [channel] = await harness.channel_rows("telegram")
    assert channel["enabled"] and channel["disabled_reason"] is None


async def test_migrated_group_is_followed(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    group = {"id": GROUP, "type": "group", "title": "Ops"}
    added = await say(tg, f"/monitor add {target.url} api", chat_id=GROUP, user_id=77, chat=group)
    assert added.params["text"].startswith("✅ Ahora monitoreo api")
    tg.migrate_chat(GROUP, SUPERGROUP, times=1)
    target.status = 500
    await harness.run_checks(3)
    await harness.deliver()
    assert alerts_to(tg, SUPERGROUP) == [alerts_to(tg, SUPERGROUP)[0]]
    assert alerts_to(tg, SUPERGROUP)[0].startswith("🔴 Caído: api")
    [channel] = await harness.channel_rows("telegram")
    assert channel["config"]["chat_id"] == SUPERGROUP and channel["enabled"]
    assert [r["status"] for r in await harness.outbox()] == ["delivered"]


async def test_migration_service_message_moves_channels(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    group = {"id": GROUP, "type": "group", "title": "Ops"}
    await say(tg, f"/monitor add {target.url} api", chat_id=GROUP, user_id=77, chat=group)
    await tg.inject_update({"message": {
        "message_id": 1, "date": 0, "chat": group,
        "from": tg.user_obj(77, "es"), "migrate_to_chat_id": SUPERGROUP,
    }})

    async def moved() -> bool:
        return bool((await harness.channel_rows("telegram"))[0]["config"]["chat_id"] == SUPERGROUP)

    await eventually(moved)


async def test_rate_limits_and_outages_delay_but_never_lose_an_alert(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    await say(tg, f"/monitor add {target.url} api")
    target.status = 500
    await harness.run_checks(3)
    tg.fail_chat(CHAT, status=502, description="Bad Gateway", times=1)
    await harness.deliver()
    [row] = await harness.outbox()
    assert row["status"] == "pending" and "Bad Gateway" in row["last_error"]
    assert row["wait"] > timedelta(seconds=3)
    tg.rate_limit_chat(CHAT, retry_after=1, times=1)
    await harness.make_due()
    await harness.deliver()
    [row] = await harness.outbox()
    assert row["status"] == "pending" and row["last_error"].startswith("rate_limited")
    assert timedelta(seconds=0) < row["wait"] <= timedelta(seconds=1)
    assert alerts_to(tg, CHAT) == []
    # Flood control holds every Telegram alert until the retry-after has passed.
    async with asyncio.timeout(WAIT):
        while (await harness.outbox())[0]["status"] != "delivered":
            await harness.deliver()
            await asyncio.sleep(0.05)
    [alert] = alerts_to(tg, CHAT)
    assert alert.startswith("🔴 Caído: api")
    assert (await harness.outbox())[0]["attempts"] == 3


async def test_keyboard_picks_a_monitor_and_confirms_removal(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    who = Identity(Provider.TELEGRAM, str(CHAT))
    await harness.service.upgrade_tier(who, "pro", timedelta(days=30))
    await say(tg, f"/add {target.url} uno")
    await say(tg, f"/add {target.path('/dos')} dos 5m")
    await harness.run_checks(1)
    chooser = await say(tg, "/status")
    assert chooser.params["text"] == "¿Qué monitor quieres ver?"
    rows = chooser.params["reply_markup"]["inline_keyboard"]
    assert [r[0]["text"] for r in rows] == ["🟢 uno", "🟢 dos"]
    since = tg.mark()
    await tg.inject_callback_query(CHAT, rows[1][0]["callback_data"], language_code="es")
    await tg.wait_call("answerCallbackQuery", since=since, timeout=WAIT)
    edited = await tg.wait_call("editMessageText", since=since, timeout=WAIT)
    assert edited.params["text"].startswith("🟢 dos está en línea desde ")
    assert "Disponibilidad: 24 h 100% · 7 días 100% · 30 días 100%" in edited.params["text"]
    photo = await tg.wait_call("sendPhoto", since=since, timeout=WAIT)
    assert photo.files[0].data.startswith(b"\x89PNG")
    assert photo.params["caption"].startswith("Tiempo de respuesta de dos")

    ask = await say(tg, "/monitor remove uno")
    assert ask.params["text"].startswith("¿Eliminar uno (")
    buttons = ask.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Eliminar", "Cancelar"]
    since = tg.mark()
    await tg.inject_callback_query(CHAT, buttons[0]["callback_data"], language_code="es")
    done = await tg.wait_call("editMessageText", since=since, timeout=WAIT)
    assert done.params["text"] == "🗑️ uno se eliminó."
    assert [m.name for m in await harness.service.list_monitors(who)] == ["dos"]


async def test_non_http_targets_are_added_as_their_check_type(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, make_free_port: Any
) -> None:
    port = make_free_port()
    reply = await say(tg, f"/monitor add tcp://127.0.0.1:{port} db", lang="en")
    assert reply.params["text"].startswith(f"✅ Now monitoring db (tcp://127.0.0.1:{port})")
    bad = await say(tg, "/monitor add tcp://127.0.0.1:notaport db2", lang="es")
    assert not bad.params["text"].startswith("✅")  # a localized validation error, nothing added
    rows = await harness.pool.fetch("SELECT type, config FROM monitors")
    assert [(r["type"], r["config"]) for r in rows] == [("tcp", {"host": "127.0.0.1", "port": port})]


async def test_any_type_with_a_json_config(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, make_free_port: Any
) -> None:
    await harness.pool.execute("INSERT INTO users (tier) VALUES ('free')")  # unrelated row
    port = make_free_port()
    reply = await say(tg, f'/monitor add tcp {{"host": "127.0.0.1", "port": {port}}} base 1h',
                      lang="en")
    assert reply.params["text"].startswith(f"✅ Now monitoring base (tcp://127.0.0.1:{port})")
    bad = await say(tg, '/monitor add evm_rpc {"url": "http://127.0.0.1:1/"} node', lang="es")
    assert not bad.params["text"].startswith("✅")  # chain_id missing: a localized error
    broken = await say(tg, '/monitor add tcp {"host": ', lang="en")
    assert not broken.params["text"].startswith("✅")
    rows = await harness.pool.fetch("SELECT type, name FROM monitors")
    assert [(r["type"], r["name"]) for r in rows] == [("tcp", "base")]
