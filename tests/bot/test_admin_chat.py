"""Operator defaults in chat, through the real Telegram and Discord clients against the
stand-ins: /admin tier refused for a non-admin and obeyed for an admin named in the
instance's policy, /upgrade explaining the way up here, and chat users getting the
instance's default plan (Pro on this instance) from their first message."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from botkit import WAIT
from lighthouse.bot.discord.client import LighthouseDiscord
from lighthouse.bot.telegram.bot import TelegramBot
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import InstancePolicy, MonitorService
from lighthouse.core.tiers import TierName
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn
from targets import Target
from test_telegram import say

TG_ADMIN, TG_USER, TG_OTHER = 7001, 7002, 7003
DC_ADMIN, DC_USER = 880000000000000001, 880000000000000002


@pytest.fixture
async def service(pool: asyncpg.Pool, guard: TargetGuard, check_context: CheckContext
                  ) -> MonitorService:
    """This module's instance: Pro for every chat user, one admin on each platform."""
    return MonitorService(pool, guard, check_context, policy=InstancePolicy(
        default_tier=TierName.PRO,
        admins=frozenset({Identity(Provider.TELEGRAM, str(TG_ADMIN)),
                          Identity(Provider.DISCORD, str(DC_ADMIN))})))


async def test_telegram_admin_tier_refused_for_others_and_obeyed_for_an_admin(
    tg: TelegramStandIn, telegram_bot: TelegramBot, service: MonitorService
) -> None:
    refused = await say(tg, f"/admin tier {TG_OTHER} enterprise", chat_id=TG_USER, lang="en")
    assert refused.params["text"] == "Only this Lighthouse's admins can change plans."
    usage = await say(tg, "/admin", chat_id=TG_USER, lang="en")  # no hint for a non-admin
    assert usage.params["text"] == "Only this Lighthouse's admins can change plans."
    assert await service.find_user(Identity(Provider.TELEGRAM, str(TG_OTHER))) is None

    done = await say(tg, f"/admin tier {TG_OTHER} enterprise 30", chat_id=TG_ADMIN, lang="es")
    assert done.params["text"].startswith(
        f"✅ telegram:{TG_OTHER} tiene ahora el plan Empresa hasta el "), done.params["text"]
    other = await service.find_user(Identity(Provider.TELEGRAM, str(TG_OTHER)))
    assert other is not None and other.tier == "enterprise" and other.tier_expires_at is not None
    lower = await say(tg, f"/admin tier {TG_OTHER} free", chat_id=TG_ADMIN, lang="en")
    assert "(This Lighthouse gives everyone Pro already" in lower.params["text"]
    bad = await say(tg, f"/admin tier {TG_OTHER} gold", chat_id=TG_ADMIN, lang="en")
    assert bad.params["text"].startswith("There is no plan called “gold”.")
    usage = await say(tg, "/admin tier", chat_id=TG_ADMIN, lang="en")
    assert usage.params["text"] == "Usage: /admin tier <user id> <plan> [days]"


async def test_telegram_users_get_the_instance_default_and_learn_how_to_upgrade(
    tg: TelegramStandIn, telegram_bot: TelegramBot, target: Target
) -> None:
    # Free allows one monitor checked hourly; this instance gives everyone Pro.
    for name in ("one", "two"):
        added = await say(tg, f"/monitor add {target.path('/' + name)} {name} 1m",
                          chat_id=TG_USER, lang="en")
        assert added.params["text"].startswith(f"✅ Now monitoring {name} "), added.params["text"]
    listed = await say(tg, "/list", chat_id=TG_USER, lang="en")
    assert listed.params["text"].startswith("You have 2 of 50 monitors (Pro plan):")
    upgrade = await say(tg, "/upgrade", chat_id=TG_USER, lang="en")
    assert upgrade.params["text"] == (
        "You are on the Pro plan: 50 monitors, checked as often as every minute.\n"
        "Next up, Enterprise: unlimited monitors, checked as often as every 30 seconds.\n"
        "This Lighthouse takes no payments: to get a higher plan, ask the person who runs it.")
    spanish = await say(tg, "/upgrade", chat_id=TG_ADMIN, lang="es")
    assert spanish.params["text"].startswith("Tienes el plan Pro: 50 monitores")
    assert "/admin tier <id de usuario> <plan> [días]" in spanish.params["text"]  # an admin


async def _admin_tier(dc: DiscordStandIn, user_id: int, target: int, plan: str,
                      locale: str = "en-US") -> dict[str, Any]:
    """/admin tier user:<target> plan:<plan>, with the user resolved as Discord sends it."""
    data = {"id": str(dc.snowflake()), "name": "admin", "type": 1, "options": [
        {"name": "tier", "type": 1, "options": [
            {"name": "user", "type": 6, "value": str(target)},
            {"name": "plan", "type": 3, "value": plan}]}],
        "resolved": {"users": {str(target): dc.user(target)}}}
    known = [c for c in dc.global_commands if c["name"] == "admin"]
    if known:
        data["id"] = known[0]["id"]
    inter = await dc.inject(dc.interaction_payload(2, data, user_id=user_id, locale=locale))
    answer = await dc.wait_interaction_response(inter, timeout=WAIT)
    assert answer.status == 200 and answer.body["type"] == 4, answer.body
    content: dict[str, Any] = answer.body["data"]
    return content


async def test_discord_admin_tier_and_upgrade(
    dc: DiscordStandIn, discord_bot: LighthouseDiscord, service: MonitorService
) -> None:
    refused = await _admin_tier(dc, DC_USER, DC_USER, "enterprise")
    assert refused["content"] == "Only this Lighthouse's admins can change plans."
    assert refused["flags"] & 64  # ephemeral
    assert (await service.ensure_user(Identity(Provider.DISCORD, str(DC_USER)))).tier == "pro"

    done = await _admin_tier(dc, DC_ADMIN, DC_USER, "enterprise", locale="es-ES")
    assert done["content"] == f"✅ <@{DC_USER}> tiene ahora el plan Empresa, sin fecha de fin."
    user = await service.find_user(Identity(Provider.DISCORD, str(DC_USER)))
    assert user is not None and (user.tier, user.tier_expires_at) == ("enterprise", None)

    inter = await dc.inject_command("upgrade", user_id=DC_USER, locale="en-US")
    answer = await dc.wait_interaction_response(inter, timeout=WAIT)
    assert answer.body["data"]["content"] == (
        "You are on the Enterprise plan: unlimited monitors, checked as often as every 30 "
        "seconds.\nThat is the highest plan there is.")
