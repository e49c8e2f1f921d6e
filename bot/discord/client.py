"""The Discord bot: /monitor (add, list, status, pause, resume, remove, test, channel,
heartbeat, token, maintenance, incidents), /alerts (add, list, test, remove),
/status (create, list, remove: public status pages),
/language, /help, /upgrade and /admin tier as slash commands over the shared command layer.

Replies are ephemeral (personal data and errors), slow commands defer first (a check can
take longer than Discord's 3-second answer window), removals are confirmed with buttons,
and names, descriptions and choices are localized through ``BabelTranslator``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord
import redis.asyncio as aioredis
from discord import app_commands
from discord.app_commands import Choice
from lighthouse.bot import texts
from lighthouse.bot.commands import CALLBACK_PREFIX, Chat, Commands, Ctx, Reply
from lighthouse.bot.discord.translator import BabelTranslator
from lighthouse.core.i18n import to_lang
from lighthouse.core.limits import MAX_NAME
from lighthouse.core.models import Identity, Provider

log = logging.getLogger(__name__)

CONTEXTS = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True)
INSTALLS = app_commands.AppInstallationType(guild=True, user=True)
STYLES = {"primary": discord.ButtonStyle.primary, "secondary": discord.ButtonStyle.secondary,
          "danger": discord.ButtonStyle.danger}
SYNC_KEY = "lh:discord:commands:{app_id}"


def make_ctx(inter: discord.Interaction[Any]) -> Ctx:
    """Who and where. A server counts only when the bot itself is installed there (a
    user-installed app cannot post in that server's channels)."""
    guild_id = str(inter.guild_id) if inter.guild_id and inter.is_guild_integration() else None
    channel_id = str(inter.channel_id or 0)
    chat = Chat(Provider.DISCORD, channel_id, private=guild_id is None, guild_id=guild_id,
                label=f"<#{channel_id}>")
    return Ctx(Identity(Provider.DISCORD, str(inter.user.id)), chat, to_lang(inter.locale.value))


def make_view(reply: Reply) -> discord.ui.View | None:
    if not reply.buttons:
        return None
    view = discord.ui.View(timeout=600)
    for row, buttons in enumerate(reply.buttons[:5]):
        for b in buttons[:5]:
            view.add_item(discord.ui.Button(label=texts.clip(b.label, 80), custom_id=b.data,
                                            style=STYLES[b.style], row=row))
    return view


async def respond(inter: discord.Interaction[Any], reply: Reply) -> None:
    """Send a Reply as the interaction's answer (or its follow-up after a defer)."""
    content = texts.clip(reply.full_text, 2000)
    kwargs: dict[str, Any] = {}
    view = make_view(reply)
    if view is not None:
        kwargs["view"] = view
    if reply.image is not None:
        kwargs["file"] = discord.File(io.BytesIO(reply.image.data), filename=reply.image.filename,
                                      description=texts.clip(reply.image.caption, 1000))
    if inter.response.is_done():
        await inter.followup.send(content, ephemeral=reply.private, **kwargs)
    else:
        await inter.response.send_message(content, ephemeral=reply.private, **kwargs)


async def _monitor_autocomplete(
    inter: discord.Interaction[Any], current: str
) -> list[Choice[str]]:
    bot = inter.client
    if not isinstance(bot, LighthouseDiscord):
        return []
    try:
        found = await bot.commands.monitor_choices(
            Identity(Provider.DISCORD, str(inter.user.id)), current)
    except Exception:
        log.warning("autocomplete failed", exc_info=True)
        return []
    return [Choice(name=label, value=value) for label, value in found]


class MonitorGroup(app_commands.Group):
    def __init__(self, bot: LighthouseDiscord) -> None:
        super().__init__(name=texts.NAME_MONITOR, description=texts.CMD_MONITOR,
                         allowed_contexts=CONTEXTS, allowed_installs=INSTALLS)
        self.bot = bot

    async def _run(
        self, inter: discord.Interaction[Any], call: Callable[[Ctx], Awaitable[Reply]], *,
        defer: bool = False,
    ) -> None:
        ctx = make_ctx(inter)
        if defer:
            await inter.response.defer(ephemeral=True, thinking=True)
        await respond(inter, await call(ctx))

    @app_commands.command(name=texts.NAME_ADD, description=texts.CMD_ADD)
    @app_commands.rename(url=texts.PARAM_URL, name=texts.PARAM_NAME, interval=texts.PARAM_INTERVAL)
    @app_commands.describe(url=texts.ARG_URL, name=texts.ARG_NAME, interval=texts.ARG_INTERVAL)
    @app_commands.choices(interval=[Choice(name=label, value=seconds)
                                    for label, seconds in texts.INTERVAL_CHOICES])
    async def add(
        self,
        inter: discord.Interaction[Any],
        url: app_commands.Range[str, 1, 2048],
        name: app_commands.Range[str, 1, MAX_NAME] | None = None,
        interval: Choice[int] | None = None,
    ) -> None:
        seconds = interval.value if interval is not None else None
        await self._run(inter, lambda ctx: self.bot.commands.add(ctx, url, name, seconds),
                        defer=True)

    @app_commands.command(name=texts.NAME_LIST, description=texts.CMD_LIST)
    async def list_(self, inter: discord.Interaction[Any]) -> None:
        await self._run(inter, self.bot.commands.list_monitors)

    @app_commands.command(name=texts.NAME_STATUS, description=texts.CMD_STATUS)
    @app_commands.rename(monitor=texts.PARAM_MONITOR)
    @app_commands.describe(monitor=texts.ARG_MONITOR)
    @app_commands.autocomplete(monitor=_monitor_autocomplete)
    async def status(self, inter: discord.Interaction[Any],
                     monitor: app_commands.Range[str, 1, MAX_NAME]) -> None:
        await self._run(inter, lambda ctx: self.bot.commands.status(ctx, monitor), defer=True)

    @app_commands.command(name=texts.NAME_PAUSE, description=texts.CMD_PAUSE)
    @app_commands.rename(monitor=texts.PARAM_MONITOR)
    @app_commands.describe(monitor=texts.ARG_MONITOR)
    @app_commands.autocomplete(monitor=_monitor_autocomplete)
    async def pause(self, inter: discord.Interaction[Any],
                    monitor: app_commands.Range[str, 1, MAX_NAME]) -> None:
        await self._run(inter, lambda ctx: self.bot.commands.pause(ctx, monitor))

    @app_commands.command(name=texts.NAME_RESUME, description=texts.CMD_RESUME)
    @app_commands.rename(monitor=texts.PARAM_MONITOR)
    @app_commands.describe(monitor=texts.ARG_MONITOR)
    @app_commands.autocomplete(monitor=_monitor_autocomplete)
    async def resume(self, inter: discord.Interaction[Any],
                     monitor: app_commands.Range[str, 1, MAX_NAME]) -> None:
        await self._run(inter, lambda ctx: self.bot.commands.resume(ctx, monitor))

    @app_commands.command(name=texts.NAME_REMOVE, description=texts.CMD_REMOVE)
    @app_commands.rename(monitor=texts.PARAM_MONITOR)
    @app_commands.describe(monitor=texts.ARG_MONITOR)
    @app_commands.autocomplete(monitor=_monitor_autocomplete)
    async def remove(self, inter: discord.Interaction[Any],
                     monitor: app_commands.Range[str, 1, MAX_NAME]) -> None:
        await self._run(inter, lambda ctx: self.bot.commands.remove(ctx, monitor))

    @app_commands.command(name=texts.NAME_TEST, description=texts.CMD_TEST)
    @app_commands.rename(url=texts.PARAM_URL)
    @app_commands.describe(url=texts.ARG_URL)
    async def test(self, inter: discord.Interaction[Any],
                   url: app_commands.Range[str, 1, 2048]) -> None:
        await self._run(inter, lambda ctx: self.bot.commands.test(ctx, url), defer=True)

    @app_commands.command(name=texts.NAME_HEARTBEAT, description=texts.CMD_HEARTBEAT)
    @app_commands.rename(name=texts.PARAM_NAME, period=texts.PARAM_PERIOD,
                         grace=texts.PARAM_GRACE)
    @app_commands.describe(name=texts.ARG_HEARTBEAT, period=texts.ARG_PERIOD,
                           grace=texts.ARG_GRACE)
    async def heartbeat(
        self,
        inter: discord.Interaction[Any],
        name: app_commands.Range[str, 1, MAX_NAME],
        period: app_commands.Range[str, 1, 20] | None = None,
        grace: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        # The answer holds the secret ping URL: ephemeral (Reply.private), never in the channel.
        await self._run(inter, lambda ctx: self.bot.commands.add_heartbeat(ctx, name, period,
                                                                           grace))

    @app_commands.command(name=texts.NAME_TOKEN, description=texts.CMD_TOKEN)
    @app_commands.rename(monitor=texts.PARAM_MONITOR)
    @app_commands.describe(monitor=texts.ARG_MONITOR)
    @app_commands.autocomplete(monitor=_monitor_autocomplete)
    async def token(self, inter: discord.Interaction[Any],
                    monitor: app_commands.Range[str, 1, MAX_NAME]) -> None:
        await self._run(inter, lambda ctx: self.bot.commands.rotate_token(ctx, monitor))

    @app_commands.command(name=texts.NAME_MAINTENANCE, description=texts.CMD_MAINTENANCE)
    @app_commands.rename(monitor=texts.PARAM_MONITOR, until=texts.PARAM_UNTIL)
    @app_commands.describe(monitor=texts.ARG_MONITOR, until=texts.ARG_UNTIL)
    @app_commands.autocomplete(monitor=_monitor_autocomplete)
    async def maintenance(self, inter: discord.Interaction[Any],
                          monitor: app_commands.Range[str, 1, MAX_NAME],
                          until: app_commands.Range[str, 1, 40]) -> None:
        await self._run(inter, lambda ctx: self.bot.commands.maintenance(ctx, monitor, until))

    @app_commands.command(name=texts.NAME_INCIDENTS, description=texts.CMD_INCIDENTS)
    @app_commands.rename(monitor=texts.PARAM_MONITOR)
    @app_commands.describe(monitor=texts.ARG_MONITOR)
    @app_commands.autocomplete(monitor=_monitor_autocomplete)
    async def incidents(self, inter: discord.Interaction[Any],
                        monitor: app_commands.Range[str, 1, MAX_NAME]) -> None:
        await self._run(inter, lambda ctx: self.bot.commands.incidents(ctx, monitor))

    @app_commands.command(name=texts.NAME_CHANNEL, description=texts.CMD_CHANNEL)
    @app_commands.rename(monitor=texts.PARAM_MONITOR, channel=texts.PARAM_CHANNEL)
    @app_commands.describe(monitor=texts.ARG_MONITOR, channel=texts.ARG_CHANNEL)
    @app_commands.autocomplete(monitor=_monitor_autocomplete)
    async def channel(
        self,
        inter: discord.Interaction[Any],
        monitor: app_commands.Range[str, 1, MAX_NAME],
        channel: discord.TextChannel | None = None,
    ) -> None:
        ctx = make_ctx(inter)
        channel_id = str(channel.id if channel is not None else inter.channel_id or 0)
        label = f"<#{channel_id}>"
        if ctx.chat.guild_id is not None:
            # Prove the bot can post there before promising alerts in it.
            await inter.response.defer(ephemeral=True, thinking=True)
            lang, _user = await self.bot.commands.language(ctx)
            try:
                await self.bot.get_partial_messageable(int(channel_id)).send(
                    texts.channel_set(lang, await self.bot.commands.service.get_monitor(
                        ctx.who, monitor), label),
                    allowed_mentions=discord.AllowedMentions.none())
            except discord.HTTPException as exc:
                if exc.status < 500:
                    await respond(inter, Reply(texts.channel_cant_post(lang, label), lang=lang,
                                               error="channel_unavailable"))
                    return
                raise
            except Exception:
                pass  # monitor_not_found and friends: set_channel reports them in words
        await respond(inter, await self.bot.commands.set_channel(ctx, monitor, channel_id, label))


class AlertsGroup(app_commands.Group):
    """The user's own alert channels (webhooks and services); every answer is ephemeral,
    and URLs come back masked by the service."""

    def __init__(self, bot: LighthouseDiscord) -> None:
        super().__init__(name=texts.NAME_ALERTS, description=texts.CMD_ALERTS,
                         allowed_contexts=CONTEXTS, allowed_installs=INSTALLS)
        self.bot = bot

    @app_commands.command(name=texts.NAME_ADD, description=texts.CMD_ALERTS_ADD)
    @app_commands.rename(kind=texts.PARAM_KIND, target=texts.PARAM_TARGET)
    @app_commands.describe(kind=texts.ARG_KIND, target=texts.ARG_TARGET)
    @app_commands.choices(kind=[Choice(name=label, value=value)
                                for label, value in texts.CHANNEL_KIND_CHOICES])
    async def add(self, inter: discord.Interaction[Any], kind: Choice[str],
                  target: app_commands.Range[str, 1, 2048]) -> None:
        await respond(inter, await self.bot.commands.alerts_add(make_ctx(inter), kind.value,
                                                                target))

    @app_commands.command(name=texts.NAME_LIST, description=texts.CMD_ALERTS_LIST)
    async def list_(self, inter: discord.Interaction[Any]) -> None:
        await respond(inter, await self.bot.commands.alerts_list(make_ctx(inter)))

    @app_commands.command(name=texts.NAME_TEST, description=texts.CMD_ALERTS_TEST)
    @app_commands.rename(channel=texts.PARAM_ID)
    @app_commands.describe(channel=texts.ARG_CHANNEL_ID)
    async def test(self, inter: discord.Interaction[Any],
                   channel: app_commands.Range[int, 1]) -> None:
        # A delivery may take longer than Discord's 3-second answer window.
        await inter.response.defer(ephemeral=True, thinking=True)
        await respond(inter, await self.bot.commands.alerts_test(make_ctx(inter), channel))

    @app_commands.command(name=texts.NAME_REMOVE, description=texts.CMD_ALERTS_REMOVE)
    @app_commands.rename(channel=texts.PARAM_ID)
    @app_commands.describe(channel=texts.ARG_CHANNEL_ID)
    async def remove(self, inter: discord.Interaction[Any],
                     channel: app_commands.Range[int, 1]) -> None:
        await respond(inter, await self.bot.commands.alerts_remove(make_ctx(inter), channel))


class StatusGroup(app_commands.Group):
    """Public status pages of the user's monitors: /status create|list|remove."""

    def __init__(self, bot: LighthouseDiscord) -> None:
        super().__init__(name=texts.NAME_STATUS, description=texts.CMD_STATUS_PAGES,
                         allowed_contexts=CONTEXTS, allowed_installs=INSTALLS)
        self.bot = bot

    @app_commands.command(name=texts.NAME_CREATE, description=texts.CMD_STATUS_CREATE)
    @app_commands.rename(slug=texts.PARAM_SLUG, monitors=texts.PARAM_MONITORS)
    @app_commands.describe(slug=texts.ARG_SLUG, monitors=texts.ARG_MONITORS)
    async def create(self, inter: discord.Interaction[Any],
                     slug: app_commands.Range[str, 1, 64] | None = None,
                     monitors: app_commands.Range[str, 1, 1000] | None = None) -> None:
        # Names may hold spaces: in one option, monitors are separated by commas.
        refs = [r for r in (monitors or "").split(",") if r.strip()]
        await respond(inter, await self.bot.commands.status_create(make_ctx(inter), slug, refs))

    @app_commands.command(name=texts.NAME_LIST, description=texts.CMD_STATUS_LIST)
    async def list_(self, inter: discord.Interaction[Any]) -> None:
        await respond(inter, await self.bot.commands.status_list(make_ctx(inter)))

    @app_commands.command(name=texts.NAME_REMOVE, description=texts.CMD_STATUS_REMOVE)
    @app_commands.rename(slug=texts.PARAM_SLUG)
    @app_commands.describe(slug=texts.ARG_PAGE)
    async def remove(self, inter: discord.Interaction[Any],
                     slug: app_commands.Range[str, 1, 64]) -> None:
        await respond(inter, await self.bot.commands.status_remove(make_ctx(inter), slug))


class AdminGroup(app_commands.Group):
    """Commands for the admins named in LIGHTHOUSE_ADMINS; everyone else is refused by the
    service, so the group is listed for all (Discord permissions know nothing of our admins)."""

    def __init__(self, bot: LighthouseDiscord) -> None:
        super().__init__(name=texts.NAME_ADMIN, description=texts.CMD_ADMIN,
                         allowed_contexts=CONTEXTS, allowed_installs=INSTALLS)
        self.bot = bot

    @app_commands.command(name=texts.NAME_TIER, description=texts.CMD_ADMIN_TIER)
    @app_commands.rename(user=texts.PARAM_USER, tier=texts.PARAM_TIER, days=texts.PARAM_DAYS)
    @app_commands.describe(user=texts.ARG_USER, tier=texts.ARG_TIER, days=texts.ARG_DAYS)
    @app_commands.choices(tier=[Choice(name=label, value=value)
                                for label, value in texts.TIER_CHOICES])
    async def tier(
        self,
        inter: discord.Interaction[Any],
        user: discord.User,
        tier: Choice[str],
        days: app_commands.Range[int, 1, 3650] | None = None,
    ) -> None:
        reply = await self.bot.commands.admin_tier(make_ctx(inter), str(user.id), tier.value, days)
        await respond(inter, reply)


class LighthouseDiscord(discord.Client):
    def __init__(
        self,
        commands: Commands,
        *,
        sync_commands: bool = True,
        redis: aioredis.Redis | None = None,
        **options: Any,
    ) -> None:
        super().__init__(intents=discord.Intents(guilds=True), **options)
        self.commands = commands
        self.tree: app_commands.CommandTree[LighthouseDiscord] = app_commands.CommandTree(
            self, allowed_contexts=CONTEXTS, allowed_installs=INSTALLS)
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]
        self._sync_commands = sync_commands
        self._redis = redis
        self.synced = False
        self._build_tree()

    def _build_tree(self) -> None:
        self.tree.add_command(MonitorGroup(self))

        @self.tree.command(name=texts.NAME_LANGUAGE, description=texts.CMD_LANGUAGE)
        @app_commands.rename(language=texts.PARAM_LANGUAGE)
        @app_commands.describe(language=texts.ARG_LANGUAGE)
        @app_commands.choices(language=[
            Choice(name=texts.CHOICE_ENGLISH, value="en"),
            Choice(name=texts.CHOICE_SPANISH, value="es"),
            Choice(name=texts.CHOICE_AUTO, value="auto"),
        ])
        async def language(inter: discord.Interaction[Any],
                           language: Choice[str] | None = None) -> None:
            code = language.value if language is not None else None
            await respond(inter, await self.commands.set_language(make_ctx(inter), code))

        @self.tree.command(name=texts.NAME_HELP, description=texts.CMD_HELP)
        async def help_(inter: discord.Interaction[Any]) -> None:
            await respond(inter, await self.commands.help(make_ctx(inter)))

        @self.tree.command(name=texts.NAME_UPGRADE, description=texts.CMD_UPGRADE)
        async def upgrade(inter: discord.Interaction[Any]) -> None:
            await respond(inter, await self.commands.upgrade(make_ctx(inter)))

        self.tree.add_command(AlertsGroup(self))
        self.tree.add_command(StatusGroup(self))
        self.tree.add_command(AdminGroup(self))

    # --- lifecycle -------------------------------------------------------------------------
    async def setup_hook(self) -> None:
        """After login, before the gateway: translator, then a global sync if needed."""
        await self.tree.set_translator(BabelTranslator())
        if self._sync_commands:
            await self.sync_if_changed()

    async def command_payload(self) -> list[dict[str, Any]]:
        """Exactly what ``tree.sync()`` PUTs (with every localization)."""
        translator = BabelTranslator()
        return [await cmd.get_translated_payload(self.tree, translator)
                for cmd in self.tree.get_commands()]

    async def sync_if_changed(self) -> bool:
        """Global sync is rate limited: PUT only when the payload differs from the last one."""
        payload = await self.command_payload()
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        key = SYNC_KEY.format(app_id=self.application_id)
        if self._redis is not None:
            try:
                stored = await self._redis.get(key)
                text = stored.decode() if isinstance(stored, bytes) else stored
                if text == digest:
                    log.info("discord commands unchanged; not syncing")
                    return False
            except Exception:
                log.warning("could not read the command hash", exc_info=True)
        synced = await self.tree.sync()
        self.synced = True
        log.info("discord commands synced", extra={"commands": len(synced)})
        if self._redis is not None:
            try:
                await self._redis.set(key, digest)
            except Exception:
                log.warning("could not store the command hash", exc_info=True)
        return True

    # --- events ----------------------------------------------------------------------------
    async def on_interaction(self, inter: discord.Interaction[Any]) -> None:
        """Buttons ("lh:..." custom ids) work across restarts: handled here, not by Views."""
        if inter.type is not discord.InteractionType.component:
            return
        data: Any = inter.data or {}
        custom_id = str(data.get("custom_id", ""))
        if not custom_id.startswith(CALLBACK_PREFIX + ":"):
            return
        try:
            reply = await self.commands.press(make_ctx(inter), custom_id)
            if reply.error is not None:  # e.g. someone else's button: keep the message
                await inter.response.send_message(texts.clip(reply.full_text, 2000),
                                                  ephemeral=True)
                return
            await inter.response.edit_message(content=texts.clip(reply.full_text, 2000),
                                              view=make_view(reply))
        except Exception:
            log.exception("button handling failed")

    async def _on_tree_error(
        self, inter: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """The last net: an argument Discord let through but we could not convert, or a bug."""
        lang = to_lang(inter.locale.value)
        texts.LOCALIZED_COMMAND_NAMES.set(True)
        if isinstance(error, app_commands.TransformerError | app_commands.CheckFailure):
            reply = Reply(texts.error(lang, _invalid(error)), lang=lang, error="invalid_input")
        else:
            log.error("slash command failed", exc_info=error)
            reply = Reply(texts.internal_error(lang, "discord"), lang=lang, error="internal")
        try:
            await respond(inter, reply)
        except Exception:
            log.warning("could not report a command error", exc_info=True)


def _invalid(error: app_commands.AppCommandError) -> Any:
    from lighthouse.core.errors import ValidationError

    field = getattr(getattr(error, "transformer", None), "__name__", "") or "value"
    return ValidationError(str(error), field=str(field), reason="invalid")
