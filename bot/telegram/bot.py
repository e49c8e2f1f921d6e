"""The Telegram bot: /monitor <add|list|status|pause|resume|remove|test|token|maintenance|
incidents> (and /monitor add heartbeat <name> [period] [grace]), the same as short
commands (/add, /list, ...), /alerts <add|list|test|remove>, /status <create|list|remove>
(status pages; /status <monitor> stays a monitor's status), /language, /help, /start,
/upgrade and /admin tier, over the shared command layer.

It runs inside the process's event loop: ``initialize`` + ``start`` + ``start_polling``
(or a webhook route on our own aiohttp server), never ``run_polling``; no JobQueue, so
there is no second scheduler. Inline keyboards pick a monitor and confirm a removal.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web
from lighthouse.bot import texts
from lighthouse.bot.commands import (
    Chat,
    Commands,
    Ctx,
    Reply,
    english_verb,
    looks_like_interval,
    verb_aliases,
)
from lighthouse.core.checks import split_typed_target
from lighthouse.core.i18n import to_lang
from lighthouse.core.models import Identity, Provider
from lighthouse.core.text import straight_quotes
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.error import BadRequest, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Context = ContextTypes.DEFAULT_TYPE
TgApp = Application[Any, Any, Any, Any, Any, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
WEBHOOK_PATH = "/telegram/webhook"
SUBCOMMANDS = ("add", "list", "status", "pause", "resume", "remove", "test")
# The same in the user's language (/listar, /agregar, ...): Telegram's command names are
# not localized, so the translated ones are accepted beside them.
SHORT_ALIASES = tuple(w for w in verb_aliases()
                      if english_verb(w) in SUBCOMMANDS and re.fullmatch(r"[a-z0-9_]{1,32}", w))
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# The menu: (command, description msgid). Names cannot be localized; descriptions are.
MENU = [
    ("add", texts.CMD_ADD),
    ("list", texts.CMD_LIST),
    ("status", texts.CMD_STATUS),
    ("pause", texts.CMD_PAUSE),
    ("resume", texts.CMD_RESUME),
    ("remove", texts.CMD_REMOVE),
    ("test", texts.CMD_TEST),
    ("monitor", texts.CMD_MONITOR),
    ("alerts", texts.CMD_ALERTS),
    ("language", texts.CMD_LANGUAGE),
    ("upgrade", texts.CMD_UPGRADE),
    ("help", texts.CMD_HELP),
    ("start", texts.CMD_START),
]



def split_json_target(type_name: str, rest: list[str]) -> tuple[str, list[str]]:
    """Rejoin a JSON config that whitespace splitting cut into pieces; the words after it
    stay name and interval. Unparseable JSON is left whole for the command layer to refuse."""
    joined = " ".join(rest)
    try:
        _obj, end = json.JSONDecoder().raw_decode(joined)
    except ValueError:
        try:  # typed on a phone: “smart” quotes (core/text.py)
            joined = straight_quotes(joined)
            _obj, end = json.JSONDecoder().raw_decode(joined)
        except ValueError:
            return f"{type_name} {joined}", []
    return f"{type_name} {joined[:end]}", joined[end:].split()

class _ExpectedFlood(logging.Filter):
    """With max_retries=0 every 429 is handed back to us on purpose; PTB still logs it as an
    error with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum of 0 retries" not in record.getMessage()


_EXPECTED_FLOOD = _ExpectedFlood()


def build_application(
    token: str, *, api_base_url: str, max_messages_per_second: float = 30.0,
    webhook: bool = False,
) -> TgApp:
    """Build inside the running loop. Flood-control 429s are not retried inside PTB
    (max_retries=0): alerts go back to the outbox with the retry-after instead."""
    logging.getLogger("telegram.ext.AIORateLimiter").addFilter(_EXPECTED_FLOOD)
    base = api_base_url.rstrip("/")
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .job_queue(None)
        .rate_limiter(AIORateLimiter(overall_max_rate=max_messages_per_second,
                                     overall_time_period=1, max_retries=0))
        .concurrent_updates(64)
        # Enough connections for the allowed rate at ~100 ms per request; more only cost
        # CPU (httpcore scans its whole pool for every queued request).
        .connection_pool_size(max(8, min(64, math.ceil(max_messages_per_second / 10))))
    )
    if webhook:
        builder = builder.updater(None)
    return builder.build()


async def _flood_retry(call: Callable[[], Awaitable[T]], max_wait_s: float = 10.0) -> T:
    """A reply hit flood control: wait once if the wait is short."""
    try:
        return await call()
    except RetryAfter as exc:
        wait = exc._retry_after.total_seconds() if isinstance(exc._retry_after, timedelta) else 1.0
        if wait > max_wait_s:
            raise
        await asyncio.sleep(wait)
        return await call()


def make_ctx(update: Update) -> Ctx | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    private = chat.type == "private"
    return Ctx(
        Identity(Provider.TELEGRAM, str(user.id)),
        Chat(Provider.TELEGRAM, str(chat.id), private=private,
             label=None if private else (chat.title or str(chat.id))),
        to_lang(user.language_code),
    )


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(texts.clip(b.label, 60), callback_data=b.data) for b in row]
        for row in reply.buttons
    ])


class TelegramBot:
    def __init__(self, commands: Commands, app: TgApp) -> None:
        self.commands = commands
        self.app = app

    def install(self) -> None:
        app = self.app
        app.add_handler(CommandHandler("start", self.on_start))
        app.add_handler(CommandHandler("help", self.on_help))
        app.add_handler(CommandHandler("language", self.on_language))
        app.add_handler(CommandHandler("monitor", self.on_monitor))
        app.add_handler(CommandHandler("upgrade", self.on_upgrade))
        app.add_handler(CommandHandler("alerts", self.on_alerts))
        app.add_handler(CommandHandler("status", self.on_status))  # before the short forms
        app.add_handler(CommandHandler("admin", self.on_admin))
        app.add_handler(CommandHandler([*SUBCOMMANDS, *SHORT_ALIASES], self.on_short))
        app.add_handler(CallbackQueryHandler(self.on_button, pattern=r"^lh:"))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        app.add_handler(MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, self.on_unknown))
        app.add_error_handler(self.on_error)

    async def set_menu(self) -> None:
        """The command menu in English (default) and Spanish."""
        for lang, code in (("en", None), ("es", "es")):
            menu = [BotCommand(name, texts.clip(texts.tr(lang, desc), 256)) for name, desc in MENU]
            await self.app.bot.set_my_commands(menu, language_code=code)

    # --- replies ---------------------------------------------------------------------------
    async def send(self, update: Update, reply: Reply) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None:
            return
        quote = chat.type != "private"
        text = texts.clip(reply.full_text, MAX_TEXT)
        markup = keyboard(reply)
        await _flood_retry(lambda: message.reply_text(
            text, reply_markup=markup, do_quote=quote, link_preview_options=NO_PREVIEW))
        await self._send_image(message, reply)

    async def _send_image(self, message: Message, reply: Reply) -> None:
        if reply.image is None:
            return
        image = reply.image
        await _flood_retry(lambda: message.reply_photo(
            image.data, caption=texts.clip(image.caption, MAX_CAPTION), filename=image.filename,
            do_quote=False))

    # --- handlers --------------------------------------------------------------------------
    async def on_start(self, update: Update, context: Context) -> None:
        if (ctx := make_ctx(update)) is not None:
            await self.send(update, await self.commands.start(ctx))

    async def on_help(self, update: Update, context: Context) -> None:
        if (ctx := make_ctx(update)) is not None:
            await self.send(update, await self.commands.help(ctx))

    async def on_language(self, update: Update, context: Context) -> None:
        if (ctx := make_ctx(update)) is not None:
            code = context.args[0] if context.args else None
            await self.send(update, await self.commands.set_language(ctx, code))

    async def on_upgrade(self, update: Update, context: Context) -> None:
        if (ctx := make_ctx(update)) is not None:
            await self.send(update, await self.commands.upgrade(ctx))

    async def on_admin(self, update: Update, context: Context) -> None:
        """/admin tier <user id> <plan> [days]"""
        ctx = make_ctx(update)
        if ctx is None:
            return
        args = list(context.args or [])
        if len(args) in (3, 4) and args[0].lower() == "tier":
            reply = await self.commands.admin_tier(ctx, args[1], args[2],
                                                   args[3] if len(args) == 4 else None)
        else:
            reply = await self.commands.admin_usage(ctx)
        await self.send(update, reply)

    async def on_alerts(self, update: Update, context: Context) -> None:
        """/alerts add <kind> <url> | list | test <id> | remove <id>"""
        ctx = make_ctx(update)
        if ctx is None:
            return
        args = list(context.args or [])
        verb = english_verb(args[0]) if args else ""
        c = self.commands
        if verb == "add" and len(args) == 3:
            reply = await c.alerts_add(ctx, args[1], args[2])
        elif verb == "list" and len(args) == 1:
            reply = await c.alerts_list(ctx)
        elif verb in ("test", "remove") and len(args) == 2:
            reply = await (c.alerts_test(ctx, args[1]) if verb == "test"
                           else c.alerts_remove(ctx, args[1]))
        else:
            lang, _user = await c.language(ctx)
            reply = Reply(texts.usage_alerts(lang), lang=lang, error="usage")
        await self.send(update, reply)

    async def on_status(self, update: Update, context: Context) -> None:
        """/status create [slug|-] [monitors…] | list | remove <slug>: status pages;
        /status <monitor> stays the short form of /monitor status."""
        ctx = make_ctx(update)
        if ctx is None:
            return
        args = list(context.args or [])
        verb = english_verb(args[0]) if args else ""
        c = self.commands
        if verb == "create":
            reply = await c.status_create(ctx, args[1] if len(args) > 1 else None, args[2:])
        elif verb == "list" and len(args) == 1:
            reply = await c.status_list(ctx)
        elif verb == "remove" and len(args) == 2:
            reply = await c.status_remove(ctx, args[1])
        elif verb in ("list", "remove"):
            lang, _user = await c.language(ctx)
            reply = Reply(texts.usage_status(lang), lang=lang, error="usage")
        else:
            reply = await self.dispatch(ctx, "status", args)
        await self.send(update, reply)

    async def on_monitor(self, update: Update, context: Context) -> None:
        ctx = make_ctx(update)
        if ctx is None:
            return
        args = list(context.args or [])
        if not args:
            lang, _user = await self.commands.language(ctx)
            await self.send(update, Reply(texts.monitor_usage(lang), lang=lang))
            return
        await self.send(update, await self.dispatch(ctx, english_verb(args[0]), args[1:]))

    async def on_short(self, update: Update, context: Context) -> None:
        ctx = make_ctx(update)
        message = update.effective_message
        if ctx is None or message is None or not message.text:
            return
        verb = english_verb(message.text.split()[0].lstrip("/").split("@")[0])
        await self.send(update, await self.dispatch(ctx, verb, list(context.args or [])))

    async def dispatch(self, ctx: Ctx, verb: str, args: list[str]) -> Reply:
        c = self.commands
        if verb == "heartbeat":  # Discord's /monitor heartbeat (latido): the same here
            verb, args = "add", ["heartbeat", *args]
        if verb == "add" and args and args[0].lower() == "heartbeat":
            # /monitor add heartbeat <name> [period] [grace]: durations last, name before.
            rest = args[1:]
            durations: list[str] = []
            while rest and len(durations) < 2 and looks_like_interval(rest[-1]):
                durations.insert(0, rest.pop())
            if not rest:
                lang, _user = await c.language(ctx)
                return Reply(texts.usage_heartbeat(lang), lang=lang, error="usage")
            return await c.add_heartbeat(ctx, " ".join(rest), *durations)
        if verb in ("token", "incidents"):
            ref = " ".join(args).strip()
            if not ref:
                lang, _user = await c.language(ctx)
                return Reply(texts.usage_monitor_ref(lang, verb), lang=lang, error="usage")
            return await (c.rotate_token(ctx, ref) if verb == "token" else c.incidents(ctx, ref))
        if verb == "maintenance":
            if len(args) < 2:
                lang, _user = await c.language(ctx)
                return Reply(texts.usage_maintenance(lang), lang=lang, error="usage")
            return await c.maintenance(ctx, " ".join(args[:-1]), args[-1])
        if verb == "add":
            if not args:
                lang, _user = await c.language(ctx)
                return Reply(texts.usage_add(lang), lang=lang, error="usage")
            if len(args) > 1 and args[1].startswith("{"):  # <type> {json config} [name] [interval]
                url, rest = split_json_target(args[0], args[1:])
            else:  # a URL, or a shorthand of several words (tcp host:port, evm_rpc <url> <chain>)
                url, rest = split_typed_target(args)
            return await c.add_words(ctx, url, rest)
        if verb == "list":
            return await c.list_monitors(ctx)
        if verb in ("status", "pause", "resume", "remove"):
            ref = " ".join(args).strip()
            if not ref:
                return await c.choose(ctx, verb)
            if verb == "status":
                return await c.status(ctx, ref)
            if verb == "pause":
                return await c.pause(ctx, ref)
            if verb == "resume":
                return await c.resume(ctx, ref)
            return await c.remove(ctx, ref)
        if verb == "test":
            if not args:
                lang, _user = await c.language(ctx)
                return Reply(texts.usage_test(lang), lang=lang, error="usage")
            return await c.test(ctx, args[0])
        lang, _user = await c.language(ctx)
        return Reply(texts.unknown_subcommand(lang, verb), lang=lang, error="usage")

    async def on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        ctx = make_ctx(update)
        if query is None or ctx is None:
            return
        await query.answer()  # always: the client shows a spinner until then
        reply = await self.commands.press(ctx, query.data or "")
        try:
            await query.edit_message_text(texts.clip(reply.full_text, MAX_TEXT),
                                          reply_markup=keyboard(reply),
                                          link_preview_options=NO_PREVIEW)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise
        if isinstance(query.message, Message):
            await self._send_image(query.message, reply)

    async def on_migrate(self, update: Update, context: Context) -> None:
        """A group became a supergroup: its alerts follow the new chat id."""
        message = update.effective_message
        if message is None:
            return
        old = new = None
        if message.migrate_to_chat_id:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat.id
        if old is not None and new is not None:
            moved = await self.commands.service.move_chat_channels("telegram", "chat_id", old, new)
            log.info("telegram chat migrated", extra={"old": old, "new": new, "channels": moved})

    async def on_unknown(self, update: Update, context: Context) -> None:
        if (ctx := make_ctx(update)) is not None:
            await self.send(update, await self.commands.help(ctx))

    async def on_error(self, update: object, context: Context) -> None:
        log.error("telegram handler failed", exc_info=context.error)

    # --- webhook mode ----------------------------------------------------------------------
    def webhook_route(self, secret: str) -> Callable[[web.Application], None]:
        """An aiohttp route for Telegram's webhook on our own server (no second server)."""

        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return web.Response(status=403)
            if not self.app.running:
                return web.Response(status=503)
            try:
                update = Update.de_json(await request.json(), self.app.bot)
            except Exception:
                return web.Response(status=400)
            await self.app.update_queue.put(update)
            return web.Response(status=200)

        def hook(app: web.Application) -> None:
            app.router.add_post(WEBHOOK_PATH, receive)

        return hook
