"""The slash-command payload Discord receives at sync time, built offline.

Discord validates localized names only when ``sync()`` PUTs them (HTTP 400 for a bad
one), so the translated payload is checked here: Spanish for es-ES and es-419, names
lowercase and 1-32 characters, descriptions and choices within Discord's limits.
"""

from __future__ import annotations

import re
from typing import Any

from botkit import start_discord, stop_discord
from lighthouse.bot.commands import Commands
from lighthouse.bot.discord.client import LighthouseDiscord
from lighthouse.core.service import MonitorService
from standins.discord_api import DiscordStandIn

NAME = re.compile(r"^[-_\w]{1,32}$")
SPANISH = ("es-ES", "es-419")


def _walk(items: list[dict[str, Any]], depth: int = 0) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for item in items:
        out.append((depth, item))
        out += _walk(item.get("options") or [], depth + 1)
    return out


def _check(item: dict[str, Any]) -> None:
    names = [item["name"], *(item.get("name_localizations") or {}).values()]
    for name in names:
        assert NAME.match(name) and name == name.lower(), f"bad name {name!r}"
    descriptions = [item["description"], *(item.get("description_localizations") or {}).values()]
    for d in descriptions:
        assert 1 <= len(d) <= 100, f"bad description {d!r}"
    choices = item.get("choices") or []
    assert len(choices) <= 25
    for choice in choices:
        for label in [choice["name"], *(choice.get("name_localizations") or {}).values()]:
            assert 1 <= len(label) <= 100


async def test_translated_payload_is_spanish_and_valid(service: MonitorService) -> None:
    client = LighthouseDiscord(Commands(service), sync_commands=False)
    payload = await client.command_payload()  # offline: no login, nothing to close
    by_name = {c["name"]: c for c in payload}
    assert set(by_name) == {"monitor", "alerts", "status", "language", "help", "upgrade",
                            "admin"}
    pages = {o["name"]: o for o in by_name["status"]["options"]}
    assert set(pages) == {"create", "list", "remove"}
    assert pages["create"]["name_localizations"]["es-ES"] == "crear"
    assert {o["name"]: o["required"] for o in pages["create"]["options"]} == {
        "address": False, "monitors": False}
    alerts = {o["name"]: o for o in by_name["alerts"]["options"]}
    assert set(alerts) == {"add", "list", "test", "remove"}
    assert by_name["alerts"]["name_localizations"]["es-419"] == "alertas"
    kind = {o["name"]: o for o in alerts["add"]["options"]}["kind"]
    assert kind["name_localizations"]["es-ES"] == "tipo" and kind["required"]
    assert {c["value"] for c in kind["choices"]} >= {"webhook", "discord_webhook"}
    monitor = by_name["monitor"]
    assert set(monitor["contexts"]) == {0, 1, 2} and set(monitor["integration_types"]) == {0, 1}
    for locale in SPANISH:
        assert monitor["description_localizations"][locale] == (
            "Gestionar tus monitores de disponibilidad")
        assert by_name["language"]["name_localizations"][locale] == "idioma"
        assert by_name["help"]["name_localizations"][locale] == "ayuda"
        assert by_name["upgrade"]["name_localizations"][locale] == "mejorar"
    [tier] = by_name["admin"]["options"]
    assert tier["name"] == "tier" and tier["name_localizations"]["es-419"] == "plan"
    tier_options = {o["name"]: o for o in tier["options"]}
    assert tier_options["user"]["type"] == 6 and tier_options["user"]["required"]
    assert [c["value"] for c in tier_options["plan"]["choices"]] == [
        "free", "basic", "standard", "pro", "enterprise"]
    assert tier_options["days"]["name_localizations"]["es-ES"] == "días"
    assert (tier_options["days"]["min_value"], tier_options["days"]["max_value"]) == (1, 3650)
    assert "en-US" not in monitor["description_localizations"]
    subs = {s["name"]: s for s in monitor["options"]}
    assert set(subs) == {"add", "list", "status", "pause", "resume", "remove", "test", "channel",
                         "heartbeat", "token", "maintenance", "incidents"}
    assert subs["heartbeat"]["name_localizations"]["es-419"] == "latido"
    assert subs["maintenance"]["name_localizations"]["es-ES"] == "mantenimiento"
    assert subs["incidents"]["name_localizations"]["es-ES"] == "incidentes"
    beat = {o["name"]: o for o in subs["heartbeat"]["options"]}
    assert beat["name"]["required"] and not beat["period"].get("required")
    assert beat["grace"]["name_localizations"]["es-419"] == "margen"
    until = {o["name"]: o for o in subs["maintenance"]["options"]}["until"]
    assert until["required"] and until["name_localizations"]["es-ES"] == "hasta"
    add = subs["add"]
    assert add["name_localizations"] == {"es-ES": "agregar", "es-419": "agregar"}
    assert add["description_localizations"]["es-419"] == "Empezar a monitorear una URL"
    options = {o["name"]: o for o in add["options"]}
    assert options["name"]["name_localizations"]["es-ES"] == "nombre"
    assert options["interval"]["name_localizations"]["es-419"] == "intervalo"
    assert "name_localizations" not in options["url"] or not options["url"]["name_localizations"]
    interval_choices = {c["value"]: c for c in options["interval"]["choices"]}
    assert interval_choices[300]["name"] == "every 5 minutes"
    assert interval_choices[300]["name_localizations"] == {"es-ES": "cada 5 minutos",
                                                           "es-419": "cada 5 minutos"}
    assert subs["status"]["options"][0]["autocomplete"] is True
    for _depth, item in _walk(payload):
        _check(item)
    # Every Spanish name in one command level is unique (Discord refuses duplicates).
    for locale in SPANISH:
        local = [s.get("name_localizations", {}).get(locale, s["name"]) for s in monitor["options"]]
        assert len(local) == len(set(local))


async def test_sync_puts_the_localized_payload_once(
    dc: DiscordStandIn, service: MonitorService, redis: Any
) -> None:
    commands = Commands(service)
    client, task = await start_discord(dc, commands, redis=redis)
    try:
        [put] = dc.find("sync_commands")
        assert put.body == await client.command_payload()
        assert {c["name"] for c in dc.global_commands} == {
            "monitor", "alerts", "status", "language", "help", "upgrade", "admin"}
    finally:
        await stop_discord(client, task)
    # A restart with the same commands does not sync again (global sync is rate limited).
    again, task = await start_discord(dc, commands, redis=redis)
    try:
        assert len(dc.find("sync_commands")) == 1 and not again.synced
    finally:
        await stop_discord(again, task)
