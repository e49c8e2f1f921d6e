"""Helpers for the chat-bot tests: the real discord.py and python-telegram-bot clients, run
against the stand-ins in tests/standins on 127.0.0.1, over a real PostgreSQL and Redis.

The stand-ins encode our reading of the Discord and Telegram protocols (see their
docstrings); a manual smoke test against the real services is still needed before a
release.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from lighthouse.bot.commands import Commands
from lighthouse.bot.discord.client import LighthouseDiscord
from lighthouse.bot.telegram.bot import TelegramBot, TgApp, build_application
from lighthouse.core.alerts.delivery import DeliveryWorker
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.checks.runner import run_check
from lighthouse.core.service import MonitorService
from lighthouse.core.storage.results import Finished, ResultWriter
from lighthouse.core.storage.schedule import claim_due
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn

WAIT = 5.0


@dataclass
class Harness:
    """The service, the command layer, the real check path and the delivery worker."""

    pool: asyncpg.Pool
    service: MonitorService
    commands: Commands
    ctx: CheckContext
    worker: DeliveryWorker
    writer: ResultWriter
    results: list[Any] = field(default_factory=list)

    async def run_checks(self, rounds: int) -> None:
        """Real HTTP checks through the scheduler's claim and the batched result writer."""
        for _ in range(rounds):
            await self.pool.execute(
                "UPDATE monitors SET next_due = now() - interval '1 ms' WHERE state <> 'paused'")
            claims = await claim_due(self.pool, "test-scheduler", 100)
            for claim in claims:
                result = await run_check(claim.type, claim.config, self.ctx)
                self.results.append(result)
                self.writer.add(Finished(claim, result, datetime.now(UTC),
                                         str(claim.config.get("url", claim.target_host))))
            await self.writer.flush()

    async def deliver(self) -> None:
        await self.worker.drain(timeout_s=WAIT * 3)

    async def make_due(self) -> None:
        await self.pool.execute(
            "UPDATE alert_outbox SET next_attempt_at = now() WHERE status = 'pending'")

    async def outbox(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT o.id, o.status, o.attempts, o.last_error, o.channel_kind, "
            "o.next_attempt_at - now() AS wait, a.alert_type "
            "FROM alert_outbox o JOIN alerts a ON a.id = o.alert_id ORDER BY o.id")
        return [dict(r) for r in rows]

    async def channel_rows(self, kind: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT id, config, enabled, disabled_reason, language, monitor_id "
            "FROM alert_channels WHERE kind = $1 ORDER BY id", kind)
        return [dict(r) for r in rows]


async def start_discord(
    dc: DiscordStandIn, commands: Commands, *, redis: aioredis.Redis | None = None
) -> tuple[LighthouseDiscord, asyncio.Task[None]]:
    client = LighthouseDiscord(commands, sync_commands=True, redis=redis,
                               guild_ready_timeout=0.05, max_ratelimit_timeout=30.0)
    since = dc.mark()
    task = asyncio.create_task(client.start(dc.token))
    await dc.wait_call("gateway.identify", timeout=WAIT, since=since)
    async with asyncio.timeout(WAIT):
        await client.wait_until_ready()
    return client, task


async def stop_discord(client: LighthouseDiscord, task: asyncio.Task[None]) -> None:
    await client.close()
    async with asyncio.timeout(WAIT):
        await task


async def start_telegram(tg: TelegramStandIn, commands: Commands) -> TelegramBot:
    app = build_application(tg.token, api_base_url=tg.http_url)
    bot = TelegramBot(commands, app)
    bot.install()
    async with asyncio.timeout(WAIT):
        await app.initialize()
        await bot.set_menu()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(allowed_updates=["message", "callback_query"])
    return bot


async def stop_telegram(app: TgApp) -> None:
    async with asyncio.timeout(WAIT):
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float = WAIT) -> None:
    """For effects no stand-in call reveals (a database row): poll, bounded."""
    async with asyncio.timeout(within_s):
        for delay in itertools.repeat(0.02):
            if await check():
                return
            await asyncio.sleep(delay)
