"""What people type and read in chat, through the real python-telegram-bot and discord.py
clients against the stand-ins: shorthands with chain names, phone quotes in JSON, errors
that name the real problem, Spanish sub-commands, name prefixes, unreadable intervals,
failures in the user's language, an EVM node's head, and the two kinds of "pending"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from botkit import Harness
from lighthouse.bot.discord.client import LighthouseDiscord
from lighthouse.bot.telegram.bot import TelegramBot
from lighthouse.core.models import Identity, Provider
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn
from support.evm import LocalChain
from targets import Target
from test_discord import slash
from test_telegram import CHAT, say

ME = Identity(Provider.TELEGRAM, str(CHAT))


@pytest.fixture
async def listener() -> AsyncIterator[int]:
    """A TCP port that accepts connections (a tcp check's healthy target)."""
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def _enterprise(tg: TelegramStandIn, harness: Harness) -> None:
    await say(tg, "/start")
    await harness.pool.execute("UPDATE users SET tier = 'enterprise'")


async def _monitors(harness: Harness) -> dict[str, Any]:
    return {m.name: m for m in await harness.service.list_monitors(ME)}


async def test_spanish_subcommands_and_shorthands_with_chain_names(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, listener: int
) -> None:
    await _enterprise(tg, harness)
    added = await say(tg, f"/monitor agregar tcp 127.0.0.1:{listener} base de datos 5m")
    assert added.params["text"].startswith(
        f"✅ Ahora monitoreo base de datos (tcp://127.0.0.1:{listener}) cada 5 minutos.")
    async with LocalChain(chain_id=84532) as chain:
        await chain.mine(2)
        rpc = await say(tg, f"/agregar evm_rpc {chain.rpc_url} base-sepolia nodo")
        assert rpc.params["text"].startswith(
            f"✅ Ahora monitoreo nodo (evm_rpc {chain.rpc_url} base-sepolia)"), rpc.params["text"]
        monitors = await _monitors(harness)
        assert monitors["nodo"].config == {"url": chain.rpc_url, "chain_id": 84532}
        assert monitors["base de datos"].config == {"host": "127.0.0.1", "port": listener}
        tls = await say(tg, "/monitor agregar tls 127.0.0.1 certificado")
        assert tls.params["text"].startswith("✅ Ahora monitoreo certificado (tls://127.0.0.1:443)")

        listed = await say(tg, "/listar")
        assert "base de datos: aún sin comprobar" in listed.params["text"]
        await harness.run_checks(1)
        status = await say(tg, "/monitor estado nod")  # a unique prefix of "nodo"
        text = status.params["text"]
        assert text.startswith("🟢 nodo está en línea desde"), text
        height = await chain.block_number()
        assert f"Último bloque: {height} · de hace" in text
    for verb, english in (("pausar", "⏸️ base de datos"), ("reanudar", "▶️ base de datos")):
        answer = await say(tg, f"/monitor {verb} base")
        assert answer.params["text"].startswith(english), answer.params["text"]
    beat = await say(tg, "/monitor latido copia 1d")  # Discord's Spanish name works here too
    assert beat.params["text"].startswith("✅ Latido copia creado"), beat.params["text"]
    unknown_chain = await say(tg, "/monitor agregar evm_rpc https://rpc.example.org base-sepola")
    assert unknown_chain.params["text"].startswith("No conozco la cadena “base-sepola”.")
    assert "base-sepolia" in unknown_chain.params["text"]


async def test_errors_name_the_real_problem_in_both_languages(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    await _enterprise(tg, harness)
    no_chain = await say(tg, "/monitor add evm_rpc https://rpc.example.org")
    assert no_chain.params["text"].startswith("¿Qué cadena? Añade su nombre o id")
    no_chain_en = await say(tg, "/monitor add evm_balance 0x000000000000000000000000000000000000dEaD",
                            lang="en")
    assert no_chain_en.params["text"].startswith("Which chain? Add its name or id")
    no_port = await say(tg, "/monitor add tcp 127.0.0.1", lang="en")
    assert no_port.params["text"] == "“port” is missing: this check needs it."
    bad_interval = await say(tg, f"/monitor add {target.url} tienda 5x")
    assert bad_interval.params["text"].startswith("No entendí el intervalo “5x”"), (
        bad_interval.params["text"])
    assert await harness.service.list_monitors(ME) == []  # nothing made with a wrong name
    spaced = await say(tg, f"/monitor add {target.url} tienda 5 min")
    assert spaced.params["text"].startswith(
        f"✅ Ahora monitoreo tienda ({target.url}) cada 5 minutos.")


async def test_curly_quotes_from_a_phone_are_read_as_json(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, listener: int
) -> None:
    await _enterprise(tg, harness)
    reply = await say(tg, f"/monitor add tcp {{“host”: “127.0.0.1”, ‘port’: {listener}}} móvil 1h")
    assert reply.params["text"].startswith(
        f"✅ Ahora monitoreo móvil (tcp://127.0.0.1:{listener}) cada hora."), reply.params["text"]
    broken = await say(tg, "/monitor add tcp {“host”: 127.0.0.1}", lang="en")
    assert broken.params["text"].startswith("That configuration isn't valid JSON.")


async def test_ambiguous_prefix_lists_the_candidates(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target
) -> None:
    await _enterprise(tg, harness)
    for name in ("api pagos", "api usuarios", "web"):
        await harness.service.create_monitor(ME, config={"url": target.url}, name=name)
    ambiguous = await say(tg, "/monitor estado api")
    assert ambiguous.params["text"] == (
        "Varios monitores empiezan por “api”: “api pagos”, “api usuarios”. Escribe más del "
        "nombre.")
    english = await say(tg, "/status API", lang="en")
    assert english.params["text"].startswith("Several monitors start with “API”:")
    found = await say(tg, "/monitor pausar api u")
    assert found.params["text"].startswith("⏸️ api usuarios")
    missing = await say(tg, "/monitor estado zzz")
    assert missing.params["text"].startswith("No encontré ningún monitor llamado “zzz”")


async def test_failures_are_told_in_the_users_language_and_pending_is_split(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, make_free_port: Any
) -> None:
    await _enterprise(tg, harness)
    port = make_free_port()  # nothing listens there: connection refused
    await say(tg, f"/monitor add tcp 127.0.0.1:{port} cerrado 1m")
    await harness.run_checks(1)
    [m] = await harness.service.list_monitors(ME)
    assert m.consecutive_failures == 1 and m.state.value == "pending"
    listed = await say(tg, "/list")
    assert f"cerrado: fallando, confirmando, cada minuto · tcp://127.0.0.1:{port}" in (
        listed.params["text"])
    status = await say(tg, "/monitor status cerrado")
    assert "Último error: conexión rechazada: nada escucha en ese puerto" in status.params["text"]
    english = await say(tg, "/monitor status cerrado", lang="en")
    assert "Last error: connection refused: nothing listens on that port" in (
        english.params["text"])
    assert "Errno" not in english.params["text"]
    tested = await say(tg, f"/monitor probar tcp://127.0.0.1:{port}")
    assert tested.params["text"] == (
        f"❌ tcp://127.0.0.1:{port} falló: conexión rechazada: nada escucha en ese puerto")
    asked = await say(tg, "/eliminar cerr")
    assert asked.params["text"].startswith("¿Eliminar cerrado"), asked.params["text"]


async def test_discord_speaks_the_same_words(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness, listener: int,
    make_free_port: Any,
) -> None:
    reply = await slash(dc, "monitor add", {"url": f"tcp 127.0.0.1:{listener}"}, locale="en-US")
    assert reply["content"].startswith(f"✅ Now monitoring 127.0.0.1:{listener} (tcp://127.0.0.1:"
                                       f"{listener})"), reply["content"]
    port = make_free_port()
    failed = await slash(dc, "monitor test", {"url": f"tcp 127.0.0.1:{port}"})
    assert failed["content"] == (
        f"❌ tcp 127.0.0.1:{port} falló: conexión rechazada: nada escucha en ese puerto")
    pending = await slash(dc, "monitor list", locale="es-419")
    assert f"{listener}: aún sin comprobar," in pending["content"]
    listed = next(c for c in dc.global_commands if c["name"] == "monitor")
    names = {o["name"]: o.get("name_localizations", {}).get("es-ES") for o in listed["options"]}
    assert {names[v] for v in ("add", "list", "status", "pause", "resume", "remove", "test")} == {
        "agregar", "listar", "estado", "pausar", "reanudar", "eliminar", "probar"}


async def test_local_only_apprise_url_is_refused_in_the_users_language(
    tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness
) -> None:
    reply = await say(tg, "/alerts agregar apprise syslog://local5")
    assert reply.params["text"].startswith(
        "Esa URL de Apprise entregaría en el propio servidor de Lighthouse"), reply.params["text"]
    english = await say(tg, "/alerts add apprise windows://", lang="en")
    assert english.params["text"].startswith(
        "That Apprise URL would deliver on the Lighthouse server itself")
    assert await harness.channel_rows("apprise") == []
