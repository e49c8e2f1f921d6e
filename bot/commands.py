"""The one command layer behind both bots.

An adapter turns a platform event into a ``Ctx`` (who, where, the client's language)
and calls one method here; it gets back a ``Reply`` (text, optional buttons and image)
that it renders the platform's way. Every rule is in ``MonitorService``; every sentence
is in ``texts``. Errors never escape: a ``LighthouseError`` becomes its localized
message, anything else a short apology with a reference that is in the log (how a
command runs, and the types exchanged with the adapters, are in bot/plumbing.py).
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta
from typing import Any

from lighthouse.bot import texts
from lighthouse.bot.chart import latency_chart
from lighthouse.bot.plumbing import (
    _LANGUAGE_WORDS,
    CALLBACK_PREFIX,
    Button,
    Chat,
    CommandRunner,
    Ctx,
    Image,
    Reply,
    Style,
    callback,
    looks_like_interval,
    parse_callback,
    parse_interval,
    split_name_interval,
    target_of,
)
from lighthouse.core.alerts.channels import Outcome
from lighthouse.core.checks import parse_shorthand
from lighthouse.core.errors import ValidationError
from lighthouse.core.i18n import SUPPORTED as LANGUAGES
from lighthouse.core.models import Identity, Monitor, Provider, User
from lighthouse.core.service.policy import parse_identity, tier_rank
from lighthouse.core.service.status_pages import status_page_url
from lighthouse.core.tiers import tier

# Ctx, Reply and the parsing helpers live in bot/plumbing.py; adapters and tests keep
# importing them from here, beside Commands.
__all__ = [
    "CALLBACK_PREFIX",
    "LIST_CHARS",
    "MAX_LIST",
    "TEST_TIMEOUT_S",
    "Button",
    "Chat",
    "Commands",
    "Ctx",
    "Image",
    "Reply",
    "Style",
    "callback",
    "english_verb",
    "looks_like_interval",
    "parse_callback",
    "parse_interval",
    "target_of",
    "verb_aliases",
]

# The sub-commands, by their English names; each is also reachable by its name in the
# catalog (Spanish: listar, agregar, estado, ...), the same words Discord shows Spanish
# users as localized command names (bot/discord/translator.py).
VERBS = ("add", "list", "status", "pause", "resume", "remove", "test", "heartbeat", "token",
         "maintenance", "incidents", "channel", "create")


@functools.cache
def _verb_aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for lang in LANGUAGES:
        for verb in VERBS:
            out.setdefault(texts.tr(lang, verb).lower(), verb)
    return out


def english_verb(word: str) -> str:
    """A sub-command as typed in any language ('listar') -> its English name ('list')."""
    return _verb_aliases().get(word.lower(), word.lower())


def verb_aliases() -> list[str]:
    """The translated sub-command names (Telegram registers them as short commands too)."""
    return sorted(w for w, verb in _verb_aliases().items() if w != verb)


TEST_TIMEOUT_S = 40.0
MAX_INCIDENTS = 10  # the newest; the API pages through the rest
_OFF_WORDS = ("off", "end", "stop", "no", "fin", "terminar", "apagar", "ninguno")
MAX_LIST = 25
LIST_CHARS = 1800  # Discord messages end at 2,000 characters


class Commands(CommandRunner):
    """The commands, one method each; ``CommandRunner`` (bot/plumbing.py) runs them."""

    # --- commands --------------------------------------------------------------------------
    async def add(
        self, ctx: Ctx, url: str, name: str | None = None, interval: str | int | None = None
    ) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            return await self._add(ctx, lang, url, name, interval)

        return await self.run(ctx, action)

    async def add_words(self, ctx: Ctx, url: str, words: list[str]) -> Reply:
        """Telegram: a target, then name and interval as typed words (an unreadable
        interval is refused, not taken as part of the name)."""

        async def action(lang: str, user: User | None) -> Reply:
            name, interval = split_name_interval(words)
            return await self._add(ctx, lang, url, name, interval)

        return await self.run(ctx, action)

    async def _add(self, ctx: Ctx, lang: str, url: str, name: str | None,
                   interval: str | int | None) -> Reply:
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
            reply = Reply(texts.status(lang, m, target_of(m), windows, now))
            if chart:
                series = await self.service.latency_hours(m)
                png = await asyncio.to_thread(latency_chart, series)
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
            lines = [texts.test_failed(lang, clean, result.error, result.status_code,
                                       result.error_code)]
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

    async def upgrade(self, ctx: Ctx) -> Reply:
        """The user's plan and how to get a higher one here (payments or the operator)."""

        async def action(lang: str, user: User | None) -> Reply:
            return Reply(texts.upgrade(lang, await self.service.upgrade_path(ctx.who)))

        return await self.run(ctx, action)

    async def admin_tier(
        self, ctx: Ctx, target: str, tier_name: str, days: int | str | None = None
    ) -> Reply:
        """An admin (LIGHTHOUSE_ADMINS) gives a user a plan. ``target``: an id on the
        admin's own platform, a Discord mention, or provider:id."""

        async def action(lang: str, user: User | None) -> Reply:
            # First: a non-admin hears "admins only", not what was wrong with the arguments.
            self.service.require_admin(ctx.who)
            who = parse_identity(target, default_provider=ctx.chat.provider)
            count: int | None
            if days is None or days == "":
                count = None
            elif isinstance(days, int):
                count = days
            elif days.strip().isdigit():
                count = int(days.strip())
            else:
                raise ValidationError("days must be a number", field="days", reason="format",
                                      min=1, max=3650)
            changed = await self.service.set_tier(ctx.who, who, tier_name, days=count)
            raised = tier_rank(changed.tier) > tier_rank(tier_name.strip().lower())
            return Reply(texts.tier_set(lang, who, changed.tier, changed.tier_expires_at, raised))

        return await self.run(ctx, action)

    async def admin_usage(self, ctx: Ctx) -> Reply:
        """How /admin is typed, for admins; everyone else is refused as for a command."""

        async def action(lang: str, user: User | None) -> Reply:
            self.service.require_admin(ctx.who)
            return Reply(texts.usage_admin(lang), error="usage")

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

    async def add_heartbeat(
        self, ctx: Ctx, name: str, period: str | int | None = None,
        grace: str | int | None = None,
    ) -> Reply:
        """A heartbeat monitor; the reply carries its secret ping URL, so it is only ever
        given privately (a Discord ephemeral answer, a Telegram private chat)."""

        async def action(lang: str, user: User | None) -> Reply:
            if not ctx.chat.private and ctx.chat.provider is Provider.TELEGRAM:
                # Telegram has no ephemeral answer: a group would see the secret URL.
                return Reply(texts.secret_private_only(lang), error="private_only")
            if not (name or "").strip():
                raise ValidationError("name required", field="heartbeat", reason="missing")
            config: dict[str, Any] = {"period_s": _seconds(period, "period") or 3600}
            if (grace_s := _seconds(grace, "grace")) is not None:
                config["grace_s"] = grace_s
            m, token = await self.service.create_heartbeat(
                ctx.who, config=config, name=name.strip(), language=lang)
            alerts = await self._route_alerts(ctx, m, lang)
            return Reply(texts.heartbeat_added(lang, m, self._ping_url(token), alerts))

        return await self.run(ctx, action)

    async def rotate_token(self, ctx: Ctx, ref: str) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            if not ctx.chat.private and ctx.chat.provider is Provider.TELEGRAM:
                return Reply(texts.secret_private_only(lang), error="private_only")
            m, token = await self.service.rotate_heartbeat_token(ctx.who, ref)
            return Reply(texts.token_rotated(lang, m, self._ping_url(token)))

        return await self.run(ctx, action)

    def _ping_url(self, token: str) -> str:
        return f"{self.public_base_url}/ping/{token}"

    async def maintenance(self, ctx: Ctx, ref: str, until: str) -> Reply:
        """``until``: a duration (2h), a UTC time (2026-12-24T18:00), or off."""

        async def action(lang: str, user: User | None) -> Reply:
            word = (until or "").strip().lower()
            if word in _OFF_WORDS:
                m, dropped = await self.service.end_maintenance(ctx.who, ref)
                return Reply(texts.maintenance_ended(lang, m, dropped))
            end = _parse_until(word, self._now())
            m = await self.service.set_maintenance(ctx.who, ref, end)
            return Reply(texts.maintenance_set(lang, m, end, self._now()))

        return await self.run(ctx, action)

    async def incidents(self, ctx: Ctx, ref: str) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            m = await self.service.get_monitor(ctx.who, ref)
            found = await self.service.incidents(ctx.who, str(m.public_id), limit=MAX_INCIDENTS)
            if not found:
                return Reply(texts.no_incidents(lang, m))
            now = self._now()
            lines = [texts.incidents_header(lang, m, len(found))]
            lines += [texts.incident_line(lang, i, now) for i in found]
            return Reply(texts.clip("\n".join(lines), LIST_CHARS))

        return await self.run(ctx, action)

    # --- /alerts: the user's own alert channels ------------------------------------------
    async def alerts_add(self, ctx: Ctx, kind: str, target: str) -> Reply:
        """``target``: the URL the kind's config takes (webhook, discord_webhook, apprise);
        the service validates it with the kind's model and stores nothing it refuses."""

        async def action(lang: str, user: User | None) -> Reply:
            name = (kind or "").strip().lower()
            channel_id = await self.service.add_channel(
                ctx.who, name, {"url": (target or "").strip()}, language=lang)
            row = next((r for r in await self.service.channel_list(ctx.who)
                        if r["id"] == channel_id), None)
            shown = _shown_target(row["config"]) if row else "?"
            return Reply(texts.alert_added(lang, channel_id, name, shown))

        return await self.run(ctx, action)

    async def alerts_list(self, ctx: Ctx) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            rows = await self.service.channel_list(ctx.who)
            if not rows:
                return Reply(texts.no_alert_channels(lang))
            lines = [texts.alert_channels_header(lang, len(rows))]
            lines += [texts.alert_channel_line(lang, r["id"], r["kind"], _shown_target(r["config"]),
                                               r.get("monitor_name"), bool(r["enabled"]))
                      for r in rows[:MAX_LIST]]
            return Reply(texts.clip("\n".join(lines), LIST_CHARS))

        return await self.run(ctx, action)

    async def alerts_test(self, ctx: Ctx, channel: str | int) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            channel_id = _channel_id(channel)
            async with asyncio.timeout(TEST_TIMEOUT_S):
                result = await self.service.test_channel(ctx.who, channel_id, self.senders)
            if result.outcome is Outcome.DELIVERED:
                return Reply(texts.alert_test_ok(lang, channel_id))
            return Reply(texts.alert_test_failed(lang, channel_id, result.error),
                         error="delivery_failed")

        return await self.run(ctx, action)

    async def alerts_remove(self, ctx: Ctx, channel: str | int) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            channel_id = _channel_id(channel)
            row = await self.service.remove_channel(ctx.who, channel_id)
            return Reply(texts.alert_removed(lang, channel_id, row["kind"]))

        return await self.run(ctx, action)

    # --- /status: public status pages of the user's monitors -------------------------------
    async def status_create(self, ctx: Ctx, slug: str | None, monitors: list[str]) -> Reply:
        """``slug``: the page's address, or None / "-" for a random one nobody can guess;
        ``monitors``: names or ids (none: all of the user's, now and later)."""

        async def action(lang: str, user: User | None) -> Reply:
            chosen = (slug or "").strip().lower()
            page = await self.service.create_status_page(
                ctx.who, slug=None if chosen in ("", "-") else chosen,
                monitors=[m for m in (x.strip() for x in monitors) if m])
            return Reply(texts.status_page_created(lang, self._page_url(page.slug),
                                                   len(page.monitors)))

        return await self.run(ctx, action)

    async def status_list(self, ctx: Ctx) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            pages = await self.service.list_status_pages(ctx.who)
            if not pages:
                return Reply(texts.no_status_pages(lang))
            lines = [texts.status_pages_header(lang, len(pages))]
            lines += [texts.status_page_line(lang, self._page_url(p.slug), len(p.monitors))
                      for p in pages[:MAX_LIST]]
            return Reply(texts.clip("\n".join(lines), LIST_CHARS))

        return await self.run(ctx, action)

    async def status_remove(self, ctx: Ctx, slug: str) -> Reply:
        async def action(lang: str, user: User | None) -> Reply:
            await self.service.remove_status_page(ctx.who, (slug or "").strip().lower())
            return Reply(texts.status_page_removed(lang, slug.strip().lower()))

        return await self.run(ctx, action)

    def _page_url(self, slug: str) -> str:
        return status_page_url(self.public_base_url, slug)

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


def _seconds(value: str | int | None, field: str) -> int | None:
    """A period or grace as typed ('1h', '90s', '10' = minutes), or None when not given."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    try:
        return parse_interval(value)
    except ValidationError:
        raise ValidationError("unreadable duration", field=field, reason="format",
                              value=value) from None


def _parse_until(text: str, now: datetime) -> datetime:
    """'2h' (from now) or an ISO time, UTC unless it names its zone."""
    if looks_like_interval(text):
        return now + timedelta(seconds=parse_interval(text))
    try:
        moment = datetime.fromisoformat(text.upper().replace(" ", "T"))
    except ValueError:
        raise ValidationError("unreadable end of maintenance", field="until", reason="format",
                              value=text) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _channel_id(text: str | int) -> int:
    """'12' or '#12', as /alerts list shows them."""
    if isinstance(text, int):
        return text
    digits = text.strip().lstrip("#")
    if not digits.isdigit() or len(digits) > 18:
        raise ValidationError("not a channel number", field="channel_id", reason="format",
                              value=text)
    return int(digits)


def _shown_target(config: Any) -> str:
    """The one line that names a channel: its URL (masked by the service when it is a
    secret), else its chat ids."""
    if not isinstance(config, dict):
        return "?"
    for key in ("url", "channel_id", "chat_id", "user_id"):
        if config.get(key) is not None:
            return str(config[key])
    return "?"
