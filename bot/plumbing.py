"""The command layer's plumbing: what it exchanges with the chat adapters, how a command
runs, and the small parsing both share.

An adapter builds a ``Ctx`` (who, where, the client's language) for each command and gets
back a ``Reply`` (text, optional buttons and image) to render the platform's way. Button
presses come back as ``callback`` data. ``parse_interval`` and ``looks_like_interval`` read
the intervals users type; ``target_of`` shapes how a target is shown.
``CommandRunner`` runs every command in the user's language and turns every failure into
a reply. The commands themselves are in bot/commands.py.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from lighthouse.bot import texts
from lighthouse.core.alerts.channels import AlertChannel
from lighthouse.core.checks import target_label
from lighthouse.core.errors import LighthouseError, ValidationError
from lighthouse.core.models import Identity, Monitor, Provider, User
from lighthouse.core.service import MonitorService
from lighthouse.core.storage.database import TRANSIENT_ERRORS

BUSY_ERRORS: tuple[type[Exception], ...] = (TimeoutError, *TRANSIENT_ERRORS)

log = logging.getLogger(__name__)

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


# A word that was meant as an interval but is not one ("5x", "10minutes30"): refused, not
# taken into the name. Ordinals ("2nd", "3º") are names.
_BOTCHED_INTERVAL = re.compile(r"^\d+(?!(?:st|nd|rd|th|º|ª|o|a|er|ero|do|ro|to)$)[^\W\d_]+\w*$",
                               re.IGNORECASE)


def split_name_interval(words: list[str]) -> tuple[str | None, str | None]:
    """Words after a target -> (name, interval): the interval is the last word, or the
    last two ("5 min"); a last word that starts like one but is not readable is refused
    with the interval error rather than becoming part of the name."""
    rest = list(words)
    interval: str | None = None
    if rest and looks_like_interval(rest[-1]):
        interval = rest.pop()
    elif len(rest) >= 2 and rest[-2].isdigit() and looks_like_interval(" ".join(rest[-2:])):
        interval = f"{rest.pop(-2)} {rest.pop()}"
    elif rest and _BOTCHED_INTERVAL.match(rest[-1]):
        raise ValidationError("unreadable interval", field="interval", reason="format",
                              value=rest[-1])
    return (" ".join(rest) or None), interval


_LANGUAGE_WORDS = {
    "english": "en", "inglés": "en", "ingles": "en",
    "spanish": "es", "español": "es", "espanol": "es", "castellano": "es",
}


def looks_like_interval(text: str) -> bool:
    return bool(_INTERVAL.match(text.strip()))


def target_of(m: Monitor) -> str:
    return target_label(m.type, m.config, fallback=m.target_host)


class CommandRunner:
    """How every command runs: in the user's language, with every failure turned into a
    reply, after the notices the user must hear first. ``Commands`` adds the commands."""

    def __init__(
        self,
        service: MonitorService,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        open_dm: Callable[[int], Awaitable[int | None]] | None = None,
        public_base_url: str = "http://127.0.0.1:8080",
        senders: Mapping[str, AlertChannel] | None = None,
    ) -> None:
        self.service = service
        # Where heartbeat pings arrive (PUBLIC_BASE_URL): the ping URLs shown in chat.
        self.public_base_url = public_base_url.rstrip("/")
        # The channels this process delivers through (the delivery worker's, live): what
        # /alerts test sends with.
        self.senders: Mapping[str, AlertChannel] = senders if senders is not None else {}
        self._now = clock
        # Discord: opens the DM channel when a monitor is added, so alerts need one
        # request instead of two. Set by the Discord adapter.
        self.open_dm = open_dm

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
        except BUSY_ERRORS:
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
