"""The chat bots as components of the process: one per configured token.

The composition root (lighthouse/runtime.py) calls ``chat_components`` and starts what it
returns after the delivery worker, so each bot can register its alert channels once it
has logged in; a bot whose token is refused stops the whole process cleanly
(``core.fail``), since the operator asked for it and it cannot work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import discord
import telegram.error
from lighthouse.bot.commands import Commands
from lighthouse.bot.discord.client import LighthouseDiscord
from lighthouse.bot.discord.sender import DiscordAlertSender
from lighthouse.bot.ratelimit import RedisChatRateLimiter, RedisSentLog
from lighthouse.bot.telegram.bot import TelegramBot, TgApp, build_application
from lighthouse.bot.telegram.sender import TelegramAlertSender
from lighthouse.core.alerts.channels.discord_dm import DiscordChannelChannel, DiscordDMChannel
from lighthouse.core.alerts.channels.telegram import TelegramChannel
from lighthouse.core.alerts.delivery import DeliveryWorker

from lighthouse.wiring import AlertChannels, AppHook, AppHooks, Component, Core

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 15.0


class DiscordComponent:
    """login() in start (a bad token is known before we say we are up); the gateway runs
    in a task; close() ends it."""

    name = "discord"

    def __init__(self, core: Core, channels: AlertChannels, commands: Commands) -> None:
        self.core = core
        self.channels = channels
        self.commands = commands
        self.client: LighthouseDiscord | None = None
        self._task: asyncio.Task[None] | None = None
        self.failed: BaseException | None = None

    async def start(self) -> None:
        s = self.core.settings
        assert s.discord_bot_token is not None
        self.client = LighthouseDiscord(
            self.commands, sync_commands=s.discord_sync_commands, redis=self.core.redis,
            max_ratelimit_timeout=30.0,
        )
        try:
            async with asyncio.timeout(60):
                await self.client.login(s.discord_bot_token.get_secret_value())
        except (discord.LoginFailure, discord.HTTPException, OSError, TimeoutError) as exc:
            self._fail(exc, "Discord login failed (check DISCORD_BOT_TOKEN)")
            with contextlib.suppress(RuntimeError):
                await self.client.close()
            return
        sender = DiscordAlertSender(self.client)
        self.commands.open_dm = sender.open_dm
        self.channels.register(DiscordDMChannel(sender))
        self.channels.register(DiscordChannelChannel(sender))
        self._task = asyncio.create_task(self._connect(), name="discord-gateway")

    def _fail(self, exc: BaseException, message: str) -> None:
        self.failed = exc
        log.error(message, extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
        self.core.fail(message)

    async def _connect(self) -> None:
        assert self.client is not None
        try:
            await self.client.connect(reconnect=True)
        except asyncio.CancelledError:
            raise
        except (discord.LoginFailure, discord.PrivilegedIntentsRequired) as exc:
            self._fail(exc, "Discord gateway refused the bot")
        except Exception as exc:
            self._fail(exc, "Discord gateway failed for good")

    @property
    def ready(self) -> bool:
        return self.client is not None and self.client.is_ready()

    async def stop(self) -> None:
        client, task = self.client, self._task
        if client is not None:
            with contextlib.suppress(RuntimeError):  # never logged in: nothing to close
                await client.close()  # idempotent; also after a failed login (closes the session)
        if task is not None:
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await task
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        self._task = None


class TelegramComponent:
    """initialize() (getMe: a bad token fails here) -> start() -> polling or webhook."""

    name = "telegram"

    def __init__(
        self, core: Core, channels: AlertChannels, commands: Commands, http: AppHooks
    ) -> None:
        self.core = core
        self.channels = channels
        self.commands = commands
        s = core.settings
        assert s.telegram_bot_token is not None
        self.webhook_url = s.telegram_webhook_url
        self.app: TgApp | None = None
        self.bot: TelegramBot | None = None
        self.sender: TelegramAlertSender | None = None
        self.failed: BaseException | None = None
        self._secret = (s.telegram_webhook_secret.get_secret_value()
                        if s.telegram_webhook_secret else secrets.token_urlsafe(32))
        if self.webhook_url:
            # The route must exist before the HTTP server starts; it answers 503 until we run.
            http.add_hook(self._route)

    def _route(self, app: Any) -> None:
        if self.bot is None:
            self._build()
        assert self.bot is not None
        self.bot.webhook_route(self._secret)(app)

    def _build(self) -> None:
        s = self.core.settings
        assert s.telegram_bot_token is not None
        self.app = build_application(
            s.telegram_bot_token.get_secret_value(), api_base_url=s.telegram_api_base_url,
            max_messages_per_second=s.telegram_max_messages_per_second,
            webhook=bool(self.webhook_url),
        )
        self.bot = TelegramBot(self.commands, self.app)
        self.bot.install()

    async def start(self) -> None:
        if self.app is None:
            self._build()
        assert self.app is not None and self.bot is not None
        app = self.app
        try:
            async with asyncio.timeout(60):
                await app.initialize()
        except (telegram.error.InvalidToken, telegram.error.TelegramError, TimeoutError) as exc:
            self.failed = exc
            log.error("Telegram start failed (check TELEGRAM_BOT_TOKEN)",
                      extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
            self.core.fail("Telegram start failed (check TELEGRAM_BOT_TOKEN)")
            return
        try:
            await self.bot.set_menu()
        except telegram.error.TelegramError:
            log.warning("could not set the Telegram command menu", exc_info=True)
        self.sender = TelegramAlertSender(app.bot)
        self.channels.register(TelegramChannel(
            self.sender,
            limiter=RedisChatRateLimiter(self.core.redis),
            sent_log=RedisSentLog(self.core.redis),
        ))
        await app.start()
        if self.webhook_url:
            await app.bot.set_webhook(self.webhook_url, secret_token=self._secret,
                                      allowed_updates=["message", "callback_query"])
        elif app.updater is not None:
            await app.updater.start_polling(allowed_updates=["message", "callback_query"],
                                            error_callback=self._polling_error)

    def _polling_error(self, exc: telegram.error.TelegramError) -> None:
        if isinstance(exc, telegram.error.InvalidToken | telegram.error.Conflict):
            # Conflict: another process polls with this token (run the bots in one process).
            log.error("Telegram polling refused", extra={"error": str(exc)[:300]})
        else:
            log.warning("Telegram polling error", extra={"error": str(exc)[:300]})

    @property
    def ready(self) -> bool:
        return self.app is not None and self.app.running

    async def stop(self) -> None:
        app = self.app
        if app is None:
            return
        if self.sender is not None:
            self.sender.closed = True
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                if app.running:
                    await app.stop()
                await app.shutdown()
        finally:
            # shutdown() skips the HTTP clients when initialize() never finished.
            with contextlib.suppress(Exception):
                await app.bot.shutdown()


def chat_components(core: Core, http: AppHooks, channels: AlertChannels) -> list[Component]:
    """A component per configured bot token (none without tokens), and /health/chat."""
    s = core.settings
    made: list[Component] = []
    if s.discord_bot_token is None and s.telegram_bot_token is None:
        return made
    # /alerts test sends through what the delivery worker has registered (live).
    senders = channels.channels if isinstance(channels, DeliveryWorker) else {}
    commands = Commands(core.service, public_base_url=s.public_base_url
                        or f"http://127.0.0.1:{s.api_port}", senders=senders)
    if s.discord_bot_token is not None:
        made.append(DiscordComponent(core, channels, commands))
    if s.telegram_bot_token is not None:
        made.append(TelegramComponent(core, channels, commands, http))
    if made:
        http.add_hook(_health_route(made))
    return made


def _health_route(components: list[Component]) -> AppHook:
    from aiohttp import web

    async def health(_request: web.Request) -> web.Response:
        state = {c.name: bool(getattr(c, "ready", False)) for c in components}
        return web.json_response(state, status=200 if all(state.values()) else 503,
                                 headers={"Cache-Control": "no-store"})

    def hook(app: web.Application) -> None:
        app.router.add_get("/health/chat", health)

    return hook

