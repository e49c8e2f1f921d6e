"""The start banner: where the service answers, where its data lives, what started, and
what to do next when nothing is monitored yet.

On a terminal (LOG_FORMAT=text) it is a block of human lines on stderr, in the terminal's
language; for a log collector (json) it is one record, "lighthouse ready", with the same
facts as fields.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict, dataclass

from lighthouse.core.i18n import gettext
from lighthouse.core.logging import resolve_format
from lighthouse.core.settings import Settings
from lighthouse.operator_texts import operator_language
from lighthouse.wiring import Core

log = logging.getLogger("lighthouse")

CHAT_ADAPTERS = ("discord", "telegram")
_ALL_INTERFACES = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class StartInfo:
    role: str
    api_url: str
    metrics_url: str | None
    listening_on_all: bool
    data_dir: str | None  # None: nothing embedded, DATABASE_URL and REDIS_URL are set
    database: str  # "embedded" or "external"
    storage: str  # "plain" or "timescaledb"
    chat: list[str]
    monitors: int


def start_info(settings: Settings, storage: str, role: str, chat: list[str],
               monitors: int) -> StartInfo:
    shown = "127.0.0.1" if settings.api_host in _ALL_INTERFACES else settings.api_host
    if ":" in shown:
        shown = f"[{shown}]"
    embedded = settings.database_url is None or settings.redis_url is None
    return StartInfo(
        role=role,
        api_url=f"http://{shown}:{settings.api_port}",
        metrics_url=f"http://{shown}:{settings.metrics_port}/metrics" if settings.metrics_port else None,
        listening_on_all=settings.api_host in _ALL_INTERFACES,
        data_dir=str(settings.data_dir.resolve()) if embedded else None,
        database="embedded" if settings.database_url is None else "external",
        storage=storage, chat=chat, monitors=monitors,
    )


def render(info: StartInfo, lang: str) -> str:
    def row(label: str, value: str) -> str:
        return f"  {label:<10} {value}"

    roles = {"all": gettext(lang, "API, chat, scheduler and alerts"),
             "worker": gettext(lang, "scheduler and alerts (worker)")}
    lines = [gettext(lang, "Lighthouse is running: {roles}").format(
        roles=roles.get(info.role, info.role))]
    api = info.api_url
    if info.listening_on_all:
        api += " " + gettext(lang, "(listening on every interface)")
    lines.append(row(gettext(lang, "API"), api + "  " + gettext(lang, "health: {url}").format(
        url=info.api_url + "/health")))
    lines.append(row(gettext(lang, "Metrics"), info.metrics_url or gettext(lang, "off (METRICS_PORT=0)")))
    if info.data_dir is not None:
        lines.append(row(gettext(lang, "Data dir"), info.data_dir))
    database = (gettext(lang, "embedded PostgreSQL") if info.database == "embedded"
                else gettext(lang, "PostgreSQL at DATABASE_URL"))
    storage = gettext(lang, "TimescaleDB") if info.storage == "timescaledb" else gettext(
        lang, "plain tables")
    lines.append(row(gettext(lang, "Storage"), f"{database}, {storage}"))
    chat = ", ".join(info.chat) if info.chat else gettext(
        lang, "none (set DISCORD_BOT_TOKEN or TELEGRAM_BOT_TOKEN to start a bot)")
    lines.append(row(gettext(lang, "Chat"), chat))
    lines.append(row(gettext(lang, "Monitors"), str(info.monitors) if info.monitors >= 0 else "?"))
    if info.monitors == 0:
        lines.append(gettext(lang, "Nothing is monitored yet. Add your first monitor from "
                                   "another terminal:"))
        lines.append("  lighthouse monitor add https://example.com")
        if info.chat:
            lines.append(gettext(lang, "or in chat: {command}").format(
                command="/monitor add https://example.com"))
    lines.append(gettext(lang, "Stop with Ctrl+C."))
    return "\n".join(lines)


async def announce(core: Core, role: str, chat: list[str]) -> None:
    """Print the banner once everything has started."""
    try:
        monitors = await core.service.monitor_count()
    except Exception:  # the banner must never stop a start that succeeded
        log.warning("could not count monitors for the start banner", exc_info=True)
        monitors = -1
    info = start_info(core.settings, core.mode, role, chat, monitors)
    if resolve_format(core.settings.log_format) == "text":
        print(render(info, operator_language()), file=sys.stderr, flush=True)
    else:
        fields = {k: ", ".join(v) if isinstance(v, list) else v for k, v in asdict(info).items()}
        if monitors == 0:
            fields["next_step"] = "lighthouse monitor add https://example.com"
        log.info("lighthouse ready", extra=fields)
