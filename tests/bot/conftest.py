"""Fixtures for the chat bots: the real discord.py and python-telegram-bot clients, run
against the stand-ins in tests/standins on 127.0.0.1, over a real PostgreSQL and Redis
(helpers in botkit.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as aioredis
from botkit import Harness, start_discord, start_telegram, stop_discord, stop_telegram
from lighthouse.bot.commands import Commands
from lighthouse.bot.discord.client import LighthouseDiscord
from lighthouse.bot.discord.sender import DiscordAlertSender
from lighthouse.bot.ratelimit import RedisChatRateLimiter, RedisSentLog
from lighthouse.bot.telegram.bot import TelegramBot
from lighthouse.bot.telegram.sender import TelegramAlertSender
from lighthouse.core.alerts.channels.discord_dm import DiscordChannelChannel, DiscordDMChannel
from lighthouse.core.alerts.channels.telegram import TelegramChannel
from lighthouse.core.alerts.delivery import DeliveryWorker
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.metrics import Metrics
from lighthouse.core.service import MonitorService
from lighthouse.core.storage.results import ResultWriter
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn


@pytest.fixture
async def harness(
    pool: asyncpg.Pool, service: MonitorService, check_context: CheckContext
) -> AsyncIterator[Harness]:
    worker = DeliveryWorker(pool, {}, Metrics(), worker_id="test-delivery")
    h = Harness(pool, service, Commands(service, senders=worker.channels), check_context, worker,
                ResultWriter(pool, "test-scheduler"))
    yield h


@pytest.fixture
async def dc(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn() as standin:
        standin.patch_discord_py(monkeypatch)
        yield standin


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn(max_poll_wait=0.2) as standin:
        yield standin


@pytest.fixture
async def discord_bot(dc: DiscordStandIn, harness: Harness) -> AsyncIterator[LighthouseDiscord]:
    client, task = await start_discord(dc, harness.commands)
    sender = DiscordAlertSender(client)
    harness.commands.open_dm = sender.open_dm
    harness.worker.register(DiscordDMChannel(sender))
    harness.worker.register(DiscordChannelChannel(sender))
    try:
        yield client
    finally:
        await stop_discord(client, task)


@pytest.fixture
async def telegram_bot(
    tg: TelegramStandIn, harness: Harness, redis: aioredis.Redis
) -> AsyncIterator[TelegramBot]:
    bot = await start_telegram(tg, harness.commands)
    harness.worker.register(TelegramChannel(
        TelegramAlertSender(bot.app.bot), limiter=RedisChatRateLimiter(redis),
        sent_log=RedisSentLog(redis)))
    try:
        yield bot
    finally:
        await stop_telegram(bot.app)
