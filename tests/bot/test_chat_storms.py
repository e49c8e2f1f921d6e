"""Chat APIs in a storm (issue 16): Telegram and Discord answering 429 with a retry-after
and runs of 5xx while alerts pile up. Every alert reaches its chat exactly once, and a
chat receives them in the order they were raised, through the real python-telegram-bot
and discord.py clients, the stand-ins, and the real delivery worker.

Two monitors report into one chat, each with its own channel row, so the order holds per
chat, not only per channel. Backoffs after a 5xx are cut short (the rows are made due
again) but Telegram's retry-after is waited out for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from botkit import WAIT, Harness
from lighthouse.bot.discord.client import LighthouseDiscord
from lighthouse.bot.telegram.bot import TelegramBot
from lighthouse.core.alerts.render import RenderedAlert, render
from lighthouse.core.models import Identity, Provider
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn
from targets import Target
from test_discord import USER, dm_messages, slash
from test_telegram import CHAT, say

pytestmark = pytest.mark.faults

DOWN_STATUSES = (500, 502, 503)  # one per outage, so every down alert differs


async def _outages(harness: Harness, target: Target) -> None:
    """Both monitors go down and recover once per status: 2 x 2 x 3 alerts, all pending."""
    for status in DOWN_STATUSES:
        target.status = status
        await harness.run_checks(3)
        target.status = 200
        await harness.run_checks(2)


async def _expected(harness: Harness) -> list[RenderedAlert]:
    """The alerts in the order they were raised (outbox order), rendered as sent."""
    rows = await harness.pool.fetch(
        "SELECT a.alert_type, a.severity, a.payload, c.language FROM alert_outbox o "
        "JOIN alerts a ON a.id = o.alert_id JOIN alert_channels c ON c.id = o.channel_id "
        "ORDER BY o.id")
    return [render(r["alert_type"], r["severity"], r["payload"], r["language"]) for r in rows]


def _assert_once_in_order(received: list[str], expected: list[RenderedAlert]) -> None:
    assert len(received) == len(expected), (len(received), len(expected), received)
    for i, (text, alert) in enumerate(zip(received, expected, strict=True)):
        assert alert.title in text and all(line in text for line in alert.lines), \
            (i, text, alert.text)


async def _deliver_through_storm(harness: Harness, done: Callable[[], bool],
                                 within_s: float) -> None:
    """Run delivery rounds until ``done``: rows waiting out a 5xx backoff are made due at
    once, rows waiting out a 429 wait for real."""
    async with asyncio.timeout(within_s):
        while not done():
            await harness.pool.execute(
                "UPDATE alert_outbox SET next_attempt_at = now() WHERE status = 'pending' "
                "AND coalesce(last_error, '') NOT LIKE 'rate_limited%' "
                "AND coalesce(last_error, '') NOT LIKE '%rate limited%'")
            await harness.deliver()
            await asyncio.sleep(0.05)


async def test_telegram_429_and_5xx_storm_delivers_each_alert_once_in_order(
        tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target) -> None:
    await harness.service.upgrade_tier(Identity(Provider.TELEGRAM, str(CHAT)), "pro",
                                       timedelta(days=30))
    await say(tg, f"/monitor add {target.path('/api')} api")
    await say(tg, f"/monitor add {target.path('/web')} web")
    await _outages(harness, target)
    expected = await _expected(harness)
    assert len(expected) == 12
    # The storm, in the order the chat's requests meet it.
    tg.rate_limit_chat(CHAT, retry_after=1, times=2)
    tg.fail_chat(CHAT, status=502, description="Bad Gateway", times=3)
    tg.rate_limit_chat(CHAT, retry_after=1, times=1)
    tg.fail_chat(CHAT, status=500, description="Internal Server Error", times=2)
    tg.fail_chat(CHAT, status=503, description="Service Unavailable", times=2)

    def received() -> list[str]:
        return [c.params["text"] for c in tg.find(
            "sendMessage", lambda c: c.params["chat_id"] == str(CHAT) and c.status == 200)
            if c.params["text"][:1] in ("🔴", "🟢")]

    # 12 alerts paced at about one a second in a private chat, behind the storm: ~15 s here.
    await _deliver_through_storm(harness, lambda: len(received()) >= len(expected), WAIT * 12)
    await harness.make_due()
    await harness.deliver()  # nothing left to send: no duplicate
    failed = [c for c in tg.find("sendMessage", lambda c: c.params["chat_id"] == str(CHAT))
              if c.status != 200]
    assert len(failed) == 10  # every failure of the storm was met
    _assert_once_in_order(received(), expected)
    assert {r["status"] for r in await harness.outbox()} == {"delivered"}


async def test_discord_429_and_5xx_storm_delivers_each_alert_once_in_order(
        dc: DiscordStandIn, discord_bot: LighthouseDiscord, harness: Harness,
        target: Target) -> None:
    await harness.service.upgrade_tier(Identity(Provider.DISCORD, str(USER)), "pro",
                                       timedelta(days=30))
    await slash(dc, "monitor add", {"url": target.path("/api"), "name": "api"})
    await slash(dc, "monitor add", {"url": target.path("/web"), "name": "web"})
    await _outages(harness, target)
    expected = await _expected(harness)
    assert len(expected) == 12
    # Short 429s are waited out inside discord.py; a long one and 503s come back to the
    # outbox (discord.py retries 500/502 itself, a second apart: 503 is what it hands back).
    dc.rate_limit("send_message", retry_after=0.05, times=2)
    dc.fail("send_message", status=503, message="Service Unavailable", times=3)
    dc.rate_limit("send_message", retry_after=1.5, times=1)
    dc.fail("send_message", status=503, message="Service Unavailable", times=2)

    def received() -> list[str]:
        return [_discord_text(c.body) for c in dm_messages(dc, USER)]

    await _deliver_through_storm(harness, lambda: len(received()) >= len(expected), WAIT * 8)
    await harness.make_due()
    await harness.deliver()
    _assert_once_in_order(received(), expected)
    assert {r["status"] for r in await harness.outbox()} == {"delivered"}


def _discord_text(body: dict[str, Any]) -> str:
    embed = (body.get("embeds") or [{}])[0]
    return "\n".join([body.get("content", ""), embed.get("title", ""), embed.get("description", ""),
                      (embed.get("footer") or {}).get("text", "")])


async def test_a_storm_on_one_chat_holds_back_only_that_chat(
        tg: TelegramStandIn, telegram_bot: TelegramBot, harness: Harness, target: Target) -> None:
    calm = CHAT + 1
    await say(tg, f"/monitor add {target.path('/a')} a")
    await say(tg, f"/monitor add {target.path('/b')} b", chat_id=calm)
    await _outages(harness, target)
    tg.fail_chat(CHAT, status=503, description="Service Unavailable", times=None)  # until cleared

    def alerts(chat_id: int, ok: bool = True) -> list[str]:
        return [c.params["text"] for c in tg.find(
            "sendMessage", lambda c: c.params["chat_id"] == str(chat_id) and (c.status == 200) == ok)
            if c.params["text"][:1] in ("🔴", "🟢")]

    await _deliver_through_storm(
        harness, lambda: len(alerts(calm)) >= 6 and len(alerts(CHAT, ok=False)) >= 3, WAIT * 8)
    assert alerts(CHAT) == []
    # Only the stormy chat's first alert was tried, again and again: the rest wait behind it.
    tried = alerts(CHAT, ok=False)
    assert len(set(tried)) == 1, tried
    tg.clear_failures(CHAT)
    await _deliver_through_storm(harness, lambda: len(alerts(CHAT)) >= 6, WAIT * 8)
    expected = await _expected(harness)
    by_chat = {chat_id: [a for a in expected if f"/{name}" in a.lines[0]]
               for chat_id, name in ((CHAT, "a"), (calm, "b"))}
    for chat_id, wanted in by_chat.items():
        _assert_once_in_order(alerts(chat_id), wanted)
    assert {r["status"] for r in await harness.outbox()} == {"delivered"}
