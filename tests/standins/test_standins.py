"""The real discord.py 2.7 and python-telegram-bot 22.8 clients against the stand-ins.

These prove the stand-ins speak enough of each protocol for the real clients. They encode
our reading of Discord and Telegram (see each module's docstring); a manual smoke test
against the real services is still needed before a release. Everything is on 127.0.0.1
and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn

TgApp = Application[Any, Any, Any, Any, Any, Any]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
WAIT = 5.0


async def next_event(queue: asyncio.Queue[Any]) -> Any:
    async with asyncio.timeout(WAIT):
        return await queue.get()


async def assert_no_new_tasks(before: set[asyncio.Task[Any]]) -> None:
    """Every task started since `before` ends (bounded wait), i.e. a clean shutdown."""
    left = {t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()}
    if left:
        await asyncio.wait(left, timeout=2.0)
    assert [t for t in left if not t.done()] == []


# --------------------------------------------------------------------------- Discord
class ConfirmView(discord.ui.View):
    def __init__(self, seen: asyncio.Queue[Any]) -> None:
        super().__init__(timeout=60)
        self.seen = seen

    @discord.ui.button(label="Confirm", custom_id="confirm")
    async def confirm(self, inter: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await inter.response.edit_message(content="Confirmed", view=None)
        self.seen.put_nowait(("confirm", inter))
        self.stop()


class MonitorGroup(app_commands.Group):
    def __init__(self, seen: asyncio.Queue[Any]) -> None:
        super().__init__(name="monitor", description="Manage monitors")
        self.seen = seen

    @app_commands.command(description="Start monitoring a URL")
    async def add(self, inter: discord.Interaction, url: str, interval: int = 5) -> None:
        spanish = inter.locale in (discord.Locale.spain_spanish, discord.Locale.latin_american_spanish)
        text = f"Comprobando {url} cada {interval} min" if spanish else f"Checking {url} every {interval} min"
        await inter.response.send_message(text, ephemeral=True, view=ConfirmView(self.seen))
        self.seen.put_nowait(("add", inter))

    @app_commands.command(description="Stop monitoring a URL")
    async def remove(self, inter: discord.Interaction, url: str) -> None:
        await inter.response.defer(ephemeral=True, thinking=True)
        await inter.edit_original_response(content=f"Removed {url}")
        await inter.followup.send(f"Bye {url}", ephemeral=True)
        self.seen.put_nowait(("remove", inter))

    @remove.autocomplete("url")
    async def _urls(self, inter: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        urls = ["https://x.io", "https://y.io", "https://example.org"]
        return [app_commands.Choice(name=u, value=u) for u in urls if current in u]


class DiscordBot(discord.Client):
    def __init__(self) -> None:
        super().__init__(intents=discord.Intents(guilds=True), guild_ready_timeout=0.05)
        self.seen: asyncio.Queue[Any] = asyncio.Queue()
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(MonitorGroup(self.seen))


@pytest.fixture
async def dc(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn() as standin:
        standin.patch_discord_py(monkeypatch)
        yield standin


@pytest.fixture
async def bot(dc: DiscordStandIn) -> AsyncIterator[DiscordBot]:
    before = asyncio.all_tasks()
    client = DiscordBot()
    runner = asyncio.create_task(client.start(dc.token))
    try:
        await dc.wait_call("gateway.identify", timeout=WAIT)
        async with asyncio.timeout(WAIT):
            await client.wait_until_ready()
        yield client
    finally:
        await client.close()
        async with asyncio.timeout(WAIT):
            await runner
        await assert_no_new_tasks(before)


async def test_discord_login_ready_and_sync(dc: DiscordStandIn, bot: DiscordBot) -> None:
    assert [c.name for c in dc.calls[:2]] == ["get_me", "application_info"]
    identify = await dc.wait_call("gateway.identify")
    assert identify.body["token"] == dc.token
    assert (await dc.wait_call("gateway.heartbeat")).body is None  # first beat, before any seq
    assert bot.user is not None and bot.user.id == int(dc.bot_user["id"])
    assert bot.application_id == dc.app_id

    synced = await bot.tree.sync()
    put = await dc.wait_call("sync_commands")
    [monitor] = put.body
    assert monitor["name"] == "monitor"
    assert {o["name"]: o["type"] for o in monitor["options"]} == {"add": 1, "remove": 1}
    assert synced[0].id == int(dc.global_commands[0]["id"])


async def test_discord_slash_command_in_spanish_and_button(dc: DiscordStandIn, bot: DiscordBot) -> None:
    await bot.tree.sync()
    inter = await dc.inject_command("monitor add", {"url": "https://x.io", "interval": 5}, locale="es-ES")
    kind, interaction = await next_event(bot.seen)
    assert kind == "add" and interaction.locale is discord.Locale.spain_spanish
    reply = await dc.wait_interaction_response(inter)
    assert reply.body["type"] == 4
    assert reply.body["data"]["content"] == "Comprobando https://x.io cada 5 min"
    assert reply.body["data"]["flags"] == 64
    assert reply.body["data"]["components"][0]["components"][0]["custom_id"] == "confirm"

    click = await dc.inject_component("confirm", locale="es-ES")
    kind, interaction = await next_event(bot.seen)
    assert kind == "confirm" and interaction.data["custom_id"] == "confirm"
    update = await dc.wait_interaction_response(click)
    assert update.body["type"] == 7 and update.body["data"]["content"] == "Confirmed"
    assert dc.messages[int(click["message"]["id"])]["content"] == "Confirmed"


async def test_discord_autocomplete_defer_followup_in_guild(dc: DiscordStandIn, bot: DiscordBot) -> None:
    auto = await dc.inject_autocomplete("monitor remove", {"url": "x.io"}, focused="url")
    answer = await dc.wait_interaction_response(auto)
    assert answer.body == {
        "type": 8,
        "data": {"choices": [{"name": "https://x.io", "value": "https://x.io"}]},
    }

    inter = await dc.inject_command("monitor remove", {"url": "https://x.io"}, guild_id=777, user_id=99)
    kind, interaction = await next_event(bot.seen)
    assert kind == "remove" and isinstance(interaction.user, discord.Member)
    assert interaction.guild_id == 777 and interaction.user.id == 99
    deferred = await dc.wait_interaction_response(inter)
    assert deferred.body == {"type": 5, "data": {"flags": 64}}
    edit = await dc.wait_call("edit_original")
    assert edit.body["content"] == "Removed https://x.io"
    followup = await dc.wait_call("followup")
    assert followup.body["content"] == "Bye https://x.io" and followup.body["flags"] == 64


async def test_discord_dm_with_image(dc: DiscordStandIn, bot: DiscordBot) -> None:
    user = await bot.fetch_user(43)
    msg = await user.send("Alerta: https://x.io caído", file=discord.File(io.BytesIO(PNG), "chart.png"))
    call = await dc.wait_call("send_message")
    assert call.body["content"] == "Alerta: https://x.io caído"
    assert (call.files[0].filename, call.files[0].data) == ("chart.png", PNG)
    assert dc.dm_channels[int(call.params["channel_id"])] == 43
    assert msg.attachments[0].filename == "chart.png" and msg.attachments[0].size == len(PNG)


async def test_discord_dm_closed_is_forbidden_50007(dc: DiscordStandIn, bot: DiscordBot) -> None:
    dc.close_dms(44)
    user = await bot.fetch_user(44)
    with pytest.raises(discord.Forbidden) as err:
        await user.send("alert")
    assert err.value.code == 50007 and err.value.status == 403


async def test_discord_retries_429_and_raises_on_503(dc: DiscordStandIn, bot: DiscordBot) -> None:
    user = await bot.fetch_user(45)
    await user.create_dm()
    dc.rate_limit("send_message", times=1, retry_after=0.05)
    since = dc.mark()
    await user.send("after a 429")
    assert [c.status for c in dc.find("send_message", since=since)] == [429, 200]

    dc.fail("send_message", status=503, message="Service Unavailable")
    with pytest.raises(discord.DiscordServerError):
        await user.send("during an outage")


async def test_discord_reconnect_resumes_the_session(dc: DiscordStandIn, bot: DiscordBot) -> None:
    identify = await dc.wait_call("gateway.identify")
    since = dc.mark()
    await dc.request_reconnect()
    resume = await dc.wait_call("gateway.resume", since=since)
    assert resume.body["token"] == dc.token and resume.body["session_id"]
    assert resume.body["seq"] >= 1
    assert len(dc.find("gateway.identify")) == 1 and identify is dc.find("gateway.identify")[0]
    # The resumed socket works. ("remove": a View left open by "add" would outlive close().)
    await dc.inject_command("monitor remove", {"url": "https://z.io"})
    kind, interaction = await next_event(bot.seen)
    assert kind == "remove" and interaction.locale is discord.Locale.american_english


async def test_discord_bad_token_is_login_failure(dc: DiscordStandIn) -> None:
    client = discord.Client(intents=discord.Intents(guilds=True))
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("wrong-token")
    finally:
        await client.close()
    assert dc.calls[-1].name == "get_me" and dc.calls[-1].status == 401


# --------------------------------------------------------------------------- Telegram
async def tg_monitor(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_user is not None and update.effective_message is not None
    lang = (update.effective_user.language_code or "en").split("-")[0]
    url = (context.args or ["?", "?"])[-1]
    text = f"Vigilando {url}" if lang == "es" else f"Watching {url}"
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="confirm:1")]])
    await update.effective_message.reply_text(text, reply_markup=keyboard)
    context.bot_data["seen"].put_nowait(("monitor", update))


async def tg_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("OK")
    await query.edit_message_text(f"Confirmed {query.data}")
    context.bot_data["seen"].put_nowait(("button", update))


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn() as standin:
        yield standin


@pytest.fixture
async def tg_app(tg: TelegramStandIn) -> AsyncIterator[TgApp]:
    before = asyncio.all_tasks()
    app = (
        ApplicationBuilder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .job_queue(None)
        .build()
    )
    app.bot_data["seen"] = asyncio.Queue()
    app.add_handler(CommandHandler("monitor", tg_monitor))
    app.add_handler(CallbackQueryHandler(tg_button))
    try:
        async with asyncio.timeout(WAIT):
            await app.initialize()
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling()
        await tg.wait_call("getUpdates")
        yield app
    finally:
        async with asyncio.timeout(WAIT):
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
            await app.bot.shutdown()
        await assert_no_new_tasks(before)


async def test_telegram_command_in_spanish(tg: TelegramStandIn, tg_app: TgApp) -> None:
    assert [c.name for c in tg.calls[:3]] == ["getMe", "deleteWebhook", "getUpdates"]
    await tg.inject_message(555, "/monitor add https://x.io", language_code="es")
    kind, update = await next_event(tg_app.bot_data["seen"])
    assert kind == "monitor" and update.effective_user.language_code == "es"
    sent = await tg.wait_call("sendMessage")
    assert sent.params["chat_id"] == "555" and sent.params["text"] == "Vigilando https://x.io"
    assert sent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "confirm:1"


async def test_telegram_callback_query(tg: TelegramStandIn, tg_app: TgApp) -> None:
    await tg.inject_message(556, "/monitor add https://y.io")
    await next_event(tg_app.bot_data["seen"])
    reply = await tg.wait_call("sendMessage")
    await tg.inject_callback_query(556, "confirm:1", language_code="es")
    kind, update = await next_event(tg_app.bot_data["seen"])
    assert kind == "button" and update.callback_query.data == "confirm:1"
    await tg.wait_call("answerCallbackQuery")
    edit = await tg.wait_call("editMessageText")
    message_id = reply.response["result"]["message_id"]
    assert edit.params["message_id"] == str(message_id)
    assert tg.messages[(556, message_id)]["text"] == "Confirmed confirm:1"


async def test_telegram_menu_and_photo(tg: TelegramStandIn, tg_app: TgApp) -> None:
    bot = tg_app.bot
    await bot.set_my_commands([BotCommand("monitor", "Start monitoring a URL")])
    await bot.set_my_commands([BotCommand("monitor", "Vigilar una URL")], language_code="es")
    assert tg.commands["es"] == [{"command": "monitor", "description": "Vigilar una URL"}]
    assert (await bot.get_my_commands())[0].description == "Start monitoring a URL"
    message = await bot.send_photo(557, photo=PNG, caption="chart")
    call = await tg.wait_call("sendPhoto")
    assert call.params["caption"] == "chart" and call.files[0].data == PNG
    assert message.photo and message.caption == "chart"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_telegram_delivery_failures(tg: TelegramStandIn, tg_app: TgApp) -> None:
    bot = tg_app.bot
    tg.block_chat(600)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(600, "alert")
    tg.migrate_chat(-601, new_chat_id=-1000000000601)
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-601, "alert")
    assert migrated.value.new_chat_id == -1000000000601
    await bot.send_message(-1000000000601, "alert")  # the new id works
    tg.rate_limit_chat(602, retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3"):
        await bot.send_message(602, "alert")
    await bot.send_message(602, "alert")  # times=1: the next one passes
    tg.fail_chat(603, status=502, description="Bad Gateway")
    with pytest.raises(NetworkError):
        await bot.send_message(603, "alert")


async def test_telegram_raw_json_and_update_offsets(tg: TelegramStandIn) -> None:
    """Without PTB: JSON bodies, confirmed updates dropped by offset, a poll woken by an update."""
    first = await tg.inject_message(7, "hello", language_code=None)
    url = f"{tg.base_url}{tg.token}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as http:
        body = await (await http.post(f"{url}/getUpdates", json={"timeout": 0})).json()
        assert [u["update_id"] for u in body["result"]] == [first["update_id"]]
        assert "language_code" not in body["result"][0]["message"]["from"]
        offset = first["update_id"] + 1
        poll = asyncio.create_task(http.post(f"{url}/getUpdates", json={"offset": offset, "timeout": 30}))
        await tg.wait_call("getUpdates", lambda c: c.params.get("offset") == str(offset))
        second = await tg.inject_message(7, "/start")
        body = await (await poll).json()
        assert [u["update_id"] for u in body["result"]] == [second["update_id"]]
        assert tg.pending == [second]  # confirmed ones are gone, this one awaits its offset
        sent = await (await http.post(f"{url}/sendMessage", json={"chat_id": 7, "text": "[1]"})).json()
        assert sent["ok"] and sent["result"]["chat"]["type"] == "private"
    call = await tg.wait_call("sendMessage")
    assert call.params == {"chat_id": "7", "text": "[1]"}


async def test_telegram_bad_token(tg: TelegramStandIn) -> None:
    bot = Bot("1:wrong", base_url=tg.base_url, base_file_url=tg.base_file_url)
    try:
        with pytest.raises(InvalidToken):
            await bot.initialize()
    finally:
        await bot.shutdown()
