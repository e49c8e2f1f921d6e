"""The one command layer behind both bots.

An adapter turns a platform event into a ``Ctx`` (who, where, the client's language)
and calls one method here; it gets back a ``Reply`` (text, optional buttons and image)
that it renders the platform's way. Every rule is in ``MonitorService``; every sentence
is in ``texts``. Errors never escape: a ``LighthouseError`` becomes its localized
message, anything else a short apology with a reference that is in the log.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from lighthouse.bot import texts
from lighthouse.bot.chart import latency_chart
from lighthouse.core.checks import parse_shorthand, target_label
from lighthouse.core.errors import LighthouseError, ValidationError
from lighthouse.core.models import Identity, Monitor, Provider, UptimeWindow, User
from lighthouse.core.service import MonitorService
from lighthouse.core.tiers import tier

log = logging.getLogger(__name__)

TEST_TIMEOUT_S = 40.0
MAX_LIST = 25
LIST_CHARS = 1800  # Discord messages end at 2,000 characters
CALLBACK_PREFIX = "lh"

Style = Literal["primary", "secondary", "danger"]


@dataclass(frozen=True)
class Chat:
    """Where a command was sent."""

    provider: Provider
    chat_id: str  # Discord channel id / Telegram chat id
    private: bool  # a DM / private chat
    guild_id: str | None = None  # Discord server, when in one
    label: str | None = None  # how to name this chat in a reply (<#id>, group title)


@dataclass(frozen=True)
class Ctx:
    who: Identity
    chat: Chat
    client_lang: str  # from the client (Discord locale, Telegram language_code), en/es


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # "lh:<action>:<arg>", at most 64 bytes (Telegram callback_data)
    style: Style = "secondary"


@dataclass(frozen=True)
class Image:
    data: bytes
    filename: str
    caption: str


@dataclass
class Reply:
    text: str
    lang: str = "en"
    buttons: list[list[Button]] = field(default_factory=list)
    image: Image | None = None
    error: str | None = None  # the error code when the command failed
    private: bool = True  # Discord: ephemeral
    notices: list[str] = field(default_factory=list)  # said before the answer

    @property
    def full_text(self) -> str:
        return "\n\n".join([*self.notices, self.text])


def callback(action: str, arg: str = "") -> str:
    return f"{CALLBACK_PREFIX}:{action}:{arg}"


def parse_callback(data: str) -> tuple[str, str] | None:
    parts = data.split(":", 2)
    if len(parts) != 3 or parts[0] != CALLBACK_PREFIX:
        return None
    return parts[1], parts[2]


_INTERVAL = re.compile(
    r"^(\d{1,6})\s*(s|sec|secs|seconds?|seg|segundos?|m|min|mins|minutes?|minutos?|"
    r"h|hr|hrs|hours?|horas?|d|days?|d[ií]as?)?$",
    re.IGNORECASE,
)


def parse_interval(text: str) -> int:
    """'30s', '5m', '5 min', '1h', '1d', '10' (minutes) -> seconds."""
    match = _INTERVAL.match(text.strip())
    if not match:
        raise ValidationError("unreadable interval", field="interval", reason="format",
                              value=text)
    n = int(match.group(1))
    unit = (match.group(2) or "m").lower()
    if unit.startswith("s"):
        return n
    if unit.startswith("h"):
        return n * 3600
    if unit.startswith("d"):
        return n * 86400
    return n * 60


_LANGUAGE_WORDS = {
    "english": "en", "inglés": "en", "ingles": "en",
    "spanish": "es", "español": "es", "espanol": "es", "castellano": "es",
}


def looks_like_interval(text: str) -> bool:
    return bool(_INTERVAL.match(text.strip()))


def target_of(m: Monitor) -> str:
    return target_label(m.type, m.config, fallback=m.target_host)


def _percentile(values: list[int], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def with_recent(
    windows: list[UptimeWindow], series: list[tuple[datetime, int | None, bool]]
) -> list[UptimeWindow]:
    """The last 24 h exactly, from raw checks (the hourly rollups lag by up to an hour);
    longer windows from the rollups, or from the raw day while they hold nothing yet."""
    latencies = [ms for _t, ms, ok in series if ok and ms is not None]
    day = UptimeWindow(
        "24h", len(series), sum(1 for _t, _ms, ok in series if ok),
        sum(latencies) / len(latencies) if latencies else None,
        _percentile(latencies, 0.5), _percentile(latencies, 0.95), _percentile(latencies, 0.99),
    )
    out = [day]
    for w in windows:
        if w.period == "24h":
            continue
        out.append(w if w.checks else replace(day, period=w.period))
    return out


class Commands:
    def __init__(
        self,
        service: MonitorService,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        open_dm: Callable[[int], Awaitable[int | None]] | None = None,
    ) -> None:
        self.service = service
        self._now = clock
        # Discord: opens the DM channel when a monitor is added, so alerts need one
        # request instead of two. Set by the Discord adapter.
        self.open_dm = open_dm

    # --- plumbing ------------------------------------------------------------------------
    async def language(self, ctx: Ctx) -> tuple[str, User | None]:
        user = await self.service.find_user(ctx.who)
        override = user.language if user is not None else None
        return (override or ctx.client_lang), user

    async def run(
        self, ctx: Ctx, action: Callable[[str, User | None], Awaitable[Reply]]
    ) -> Reply:
        """Resolve the language, run one command, turn every failure into a reply."""
        names = texts.LOCALIZED_COMMAND_NAMES.set(ctx.chat.provider is Provider.DISCORD)
        try:
            return await self._run(ctx, action)
        finally:
            texts.LOCALIZED_COMMAND_NAMES.reset(names)

    async def _run(
        self, ctx: Ctx, action: Callable[[str, User | None], Awaitable[Reply]]
    ) -> Reply:
        lang = ctx.client_lang
        try:
            lang, user = await self.language(ctx)
            reply = await action(lang, user)
        except LighthouseError as exc:
            reply = Reply(texts.error(lang, exc), error=exc.code)
        except (TimeoutError, asyncpg.TooManyConnectionsError):
            log.warning("command timed out", exc_info=True)
            reply = Reply(texts.busy(lang), error="busy")
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("command failed", extra={"ref": ref, "provider": ctx.chat.provider})
            reply = Reply(texts.internal_error(lang, ref), error="internal")
        reply.lang = lang
        try:
            reply.notices = await self._notices(ctx, lang) + reply.notices
        except Exception:
            log.warning("could not read chat notices", exc_info=True)
        return reply

    async def _notices(self, ctx: Ctx, lang: str) -> list[str]:
        """Things the user must hear about: refused DMs (Discord), alerts back on (Telegram)."""
        if ctx.chat.provider is Provider.DISCORD:
            rows = await self.service.chat_channels(
                "discord_dm", {"user_id": ctx.who.subject}, owner=ctx.who)
            refused = [r for r in rows if "dm_refused_at" in r["config"]
                       or (not r["enabled"] and (r["disabled_reason"] or "").startswith(
                           "dm_refused"))]
            if not refused:
                return []
            await self.service.update_chat_channels(
                [r["id"] for r in refused], enabled=True, drop_keys=("dm_refused_at",))
            names = sorted({r["monitor_name"] or "?" for r in refused})
            return [texts.dm_refused_notice(lang, names)]
        if ctx.chat.provider is Provider.TELEGRAM:
            rows = await self.service.chat_channels(
                "telegram", {"chat_id": int(ctx.chat.chat_id)}, owner=ctx.who)
            blocked = [r["id"] for r in rows if not r["enabled"]
                       and (r["disabled_reason"] or "").startswith("bot_blocked")]
            if not blocked:
                return []
            count = await self.service.update_chat_channels(blocked, enabled=True)
            return [texts.alerts_resumed(lang, count)]
        return []

    # --- commands --------------------------------------------------------------------------
    async def add(
        self, ctx: Ctx, url: str, name: str | None = None, interval: str | int | None = None
    ) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            kind, config = parse_shorthand(url or "")
            if not (config.get("url") or config.get("host") or config.get("name")):
                raise ValidationError("url required", field="url", reason="missing")
            seconds: int | None
            if interval is None or interval == "":
                seconds = None
            elif isinstance(interval, int):
                seconds = interval
            else:
                seconds = parse_interval(interval)
            m = await self.service.create_monitor(
                ctx.who, config=config, type=kind, name=(name or None),
                interval_s=seconds, language=lang,
            )
            alerts = await self._route_alerts(ctx, m, lang)
            return Reply(texts.added(lang, m, target_of(m), alerts))

        return await self.run(ctx, action)

    async def _route_alerts(self, ctx: Ctx, m: Monitor, lang: str) -> str:
        """Alerts of a monitor go where it was added: a DM (Discord, with the server channel
        as the fallback) or that chat (Telegram)."""
        if ctx.chat.provider is Provider.DISCORD:
            config: dict[str, Any] = {"user_id": ctx.who.subject}
            if self.open_dm is not None:
                dm_channel = await self.open_dm(int(ctx.who.subject))
                if dm_channel is not None:
                    config["dm_channel_id"] = str(dm_channel)
            if not ctx.chat.private and ctx.chat.guild_id:
                config["fallback_channel_id"] = ctx.chat.chat_id
                config["guild_id"] = ctx.chat.guild_id
            await self.service.upsert_chat_channel(
                ctx.who, "discord_dm", key={"user_id": ctx.who.subject}, config=config,
                monitor_id=m.id, language=lang)
            if "fallback_channel_id" in config:
                return texts.alerts_to_dm_with_fallback(
                    lang, ctx.chat.label or f"<#{ctx.chat.chat_id}>")
            return texts.alerts_to_dm(lang)
        if ctx.chat.provider is Provider.TELEGRAM:
            chat_id = int(ctx.chat.chat_id)
            await self.service.upsert_chat_channel(
                ctx.who, "telegram", key={"chat_id": chat_id},
                config={"chat_id": chat_id, "private": ctx.chat.private},
                monitor_id=m.id, language=lang)
            return texts.alerts_to_chat(lang)
        return ""

    async def list_monitors(self, ctx: Ctx) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            monitors = await self.service.list_monitors(ctx.who)
            if not monitors or user is None:
                return Reply(texts.no_monitors(lang))
            plan = tier(user.tier)
            lines = [texts.list_header(lang, len(monitors), plan.max_monitors, user.tier)]
            used = len(lines[0])
            shown = 0
            for m in monitors[:MAX_LIST]:
                line = texts.list_line(lang, m, texts.clip(target_of(m), 80))
                if used + len(line) + 1 > LIST_CHARS:
                    break
                lines.append(line)
                used += len(line) + 1
                shown += 1
            if shown < len(monitors):
                lines.append(texts.list_more(lang, len(monitors) - shown))
            return Reply("\n".join(lines))

        return await self.run(ctx, action)

    async def status(self, ctx: Ctx, ref: str, *, chart: bool = True) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            m, windows = await self.service.uptime(ctx.who, ref)
            now = self._now()
            series = await self.service.latency_series(m, 24)
            windows = with_recent(windows, series)
            reply = Reply(texts.status(lang, m, target_of(m), windows, now))
            if chart:
                png = await asyncio.to_thread(latency_chart, series, now)
                reply.image = Image(png, f"latency-{m.public_id.hex[:8]}.png",
                                    texts.chart_caption(lang, m.name))
            return reply

        return await self.run(ctx, action)

    async def pause(self, ctx: Ctx, ref: str) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            return Reply(texts.paused(lang, await self.service.pause(ctx.who, ref)))

        return await self.run(ctx, action)

    async def resume(self, ctx: Ctx, ref: str) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            return Reply(texts.resumed(lang, await self.service.resume(ctx.who, ref)))

        return await self.run(ctx, action)

    async def remove(self, ctx: Ctx, ref: str) -> Reply:
        """Asks first: the answer carries Delete / Cancel buttons."""

        async def action(lang: str, user: User | None) -> Reply:
            m = await self.service.get_monitor(ctx.who, ref)
            return Reply(
                texts.confirm_remove(lang, m, target_of(m)),
                buttons=[[
                    Button(texts.button_delete(lang), callback("rm", str(m.public_id)), "danger"),
                    Button(texts.button_cancel(lang), callback("cancel"), "secondary"),
                ]],
            )

        return await self.run(ctx, action)

    async def remove_confirmed(self, ctx: Ctx, public_id: str) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            m = await self.service.remove(ctx.who, public_id)
            return Reply(texts.removed(lang, m.name))

        return await self.run(ctx, action)

    async def cancelled(self, ctx: Ctx) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            return Reply(texts.remove_cancelled(lang))

        return await self.run(ctx, action)

    async def choose(self, ctx: Ctx, verb: str) -> Reply:
        """No monitor named: the only one, or buttons to pick one (Telegram)."""

        async def action(lang: str, user: User | None) -> Reply:
            monitors = await self.service.list_monitors(ctx.who)
            if not monitors:
                return Reply(texts.no_monitors(lang))
            rows = [[Button(f"{texts.STATE_EMOJI.get(m.state, '')} {texts.clip(m.name, 40)}",
                            callback(verb, str(m.public_id)))] for m in monitors[:20]]
            return Reply(texts.choose_monitor(lang, verb), buttons=rows)

        return await self.run(ctx, action)

    async def test(self, ctx: Ctx, url: str) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            kind, config = parse_shorthand(url or "")
            if not (config.get("url") or config.get("host") or config.get("name")):
                raise ValidationError("url required", field="url", reason="missing")
            clean = str(config.get("url") or (url or "").strip())
            async with asyncio.timeout(TEST_TIMEOUT_S):
                result = await self.service.check_once(kind, config)
            if result.ok:
                return Reply(texts.test_ok(lang, clean, result.status_code, result.latency_ms))
            lines = [texts.test_failed(lang, clean, result.error, result.status_code)]
            for cond in result.details.get("conditions") or []:
                if isinstance(cond, dict) and not cond.get("ok", True):
                    lines.append(texts.test_condition_failed(
                        lang, str(cond.get("condition", "?")), cond.get("reason")))
            return Reply("\n".join(lines))

        return await self.run(ctx, action)

    async def set_language(self, ctx: Ctx, code: str | None) -> Reply:
        """``code``: 'en', 'es', 'auto' (follow the client), or None to show the setting."""

        async def action(lang: str, user: User | None) -> Reply:
            if code is None or code.strip() == "":
                return Reply(texts.language_current(lang, user.language if user else None))
            wanted = code.strip().lower()
            if wanted in ("auto", "automatic", "automático", "automatico", "default"):
                await self.service.set_language(ctx.who, None)
                return Reply(texts.language_set(ctx.client_lang, None), lang=ctx.client_lang)
            chosen = _LANGUAGE_WORDS.get(wanted) or wanted.replace("_", "-").split("-")[0]
            await self.service.set_language(ctx.who, chosen)
            return Reply(texts.language_set(chosen, chosen), lang=chosen)

        reply = await self.run(ctx, action)
        return reply

    async def set_channel(
        self, ctx: Ctx, ref: str, channel_id: str, channel_label: str
    ) -> Reply:
        """Discord: post a monitor's alerts in a server channel too (and use it as the DM
        fallback)."""

        async def action(lang: str, user: User | None) -> Reply:
            if ctx.chat.guild_id is None:
                return Reply(texts.channel_guild_only(lang), error="guild_only")
            m = await self.service.get_monitor(ctx.who, ref)
            await self.service.upsert_chat_channel(
                ctx.who, "discord_channel", key={"channel_id": channel_id},
                config={"channel_id": channel_id, "guild_id": ctx.chat.guild_id},
                monitor_id=m.id, language=lang)
            await self.service.upsert_chat_channel(
                ctx.who, "discord_dm", key={"user_id": ctx.who.subject},
                config={"user_id": ctx.who.subject, "fallback_channel_id": channel_id,
                        "guild_id": ctx.chat.guild_id},
                monitor_id=m.id, language=lang)
            return Reply(texts.channel_set(lang, m, channel_label))

        return await self.run(ctx, action)

    async def help(self, ctx: Ctx) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            return Reply(texts.help_text(lang, ctx.chat.provider is Provider.TELEGRAM))

        return await self.run(ctx, action)

    async def start(self, ctx: Ctx) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            await self.service.ensure_user(ctx.who)
            return Reply(texts.welcome(lang))

        return await self.run(ctx, action)

    async def press(self, ctx: Ctx, data: str) -> Reply:
        """A button: confirm/cancel a removal, or a monitor picked from a list."""
        parsed = parse_callback(data)
        if parsed is None:
            lang, _user = await self.language(ctx)
            return Reply(texts.expired_button(lang), lang=lang, error="bad_button")
        verb, arg = parsed
        if verb == "rm":
            reply = await self.remove_confirmed(ctx, arg)
            if reply.error == "monitor_not_found":  # gone already, or not the presser's
                reply.text = texts.expired_button(reply.lang)
            return reply
        if verb == "cancel":
            return await self.cancelled(ctx)
        if verb == "status":
            return await self.status(ctx, arg)
        if verb == "pause":
            return await self.pause(ctx, arg)
        if verb == "resume":
            return await self.resume(ctx, arg)
        if verb == "remove":
            return await self.remove(ctx, arg)
        lang, _user = await self.language(ctx)
        return Reply(texts.expired_button(lang), lang=lang, error="bad_button")

    # --- helpers for adapters ----------------------------------------------------------------
    async def monitor_choices(self, who: Identity, current: str, limit: int = 25
                              ) -> list[tuple[str, str]]:
        """(label, value) pairs for autocomplete: the caller's monitors matching ``current``."""
        needle = current.strip().lower()
        out: list[tuple[str, str]] = []
        for m in await self.service.list_monitors(who):
            label = f"{m.name} — {target_of(m)}"
            if needle and needle not in label.lower() and not str(m.public_id).startswith(needle):
                continue
            out.append((texts.clip(label, 100), m.name if len(m.name) <= 100
                        else str(m.public_id)))
            if len(out) >= limit:
                break
        return out
