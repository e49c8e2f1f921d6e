"""The operator's commands: monitors, alert channels, plans and maintenance from the shell.

    lighthouse monitor add|list|show|pause|resume|remove|history|test
    lighthouse channel add|list|test|remove
    lighthouse user tier <discord:ID|telegram:ID|wallet:0x..> <tier> [--days N]
    lighthouse maintenance add|list|end

This module is the parser only and imports nothing heavy, because lighthouse/cli.py
builds it for every command, the container's health probe included; what a command does
is in lighthouse/admin_commands.py, imported when one runs. Exit codes: 0 done, 1 the
check is down (``monitor show``/``monitor test``) or a test alert was not delivered,
2 bad input (the message says what to change).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# Plans in order, spelled out here so building the parser loads no domain module.
TIERS = ("free", "basic", "standard", "pro", "enterprise")
LANGUAGES = ("en", "es")


def operator_language(env: Mapping[str, str] | None = None) -> str:
    """The terminal's language, as gettext reads it (the first variable set wins)."""
    env = os.environ if env is None else env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            lang = value.split(".")[0].replace("_", "-").split("-")[0].lower()
            return lang if lang in LANGUAGES else "en"
    return "en"


def _dispatch(name: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from lighthouse import admin_commands

        return admin_commands.run(args, getattr(admin_commands, name))

    return handler


def _leaf(group: Any, name: str, command: str, help_text: str,
          parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text,
                                                       parents=list(parents))
    parser.set_defaults(handler=_dispatch(command))
    return parser


def register(sub: Any, lang: str | None = None) -> None:
    """Add ``monitor``, ``channel``, ``user`` and ``maintenance`` to the ``lighthouse``
    command (lighthouse/cli.py); each leaf sets ``handler(args) -> exit code``."""
    lang = lang or operator_language()
    translate: Callable[[str], str] = lambda message: message  # noqa: E731
    if lang != "en":  # the catalog only when it is needed (it costs a tenth of a second)
        from lighthouse.core.i18n import gettext

        translate = lambda message: gettext(lang, message)  # noqa: E731

    def _(message: str) -> str:
        return translate(message)

    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--json", action="store_true", help=_("print JSON for scripts"))
    owned = argparse.ArgumentParser(add_help=False)
    owned.add_argument("--owner", metavar="PROVIDER:ID",
                       help=_("act on this user's monitors (default: the operator's own)"))
    common = [out, owned]
    monitor_ref = _("name, id or id prefix")
    alerts_language = _("the language of its alerts")

    monitor = sub.add_parser("monitor", help=_("add, list, show, pause, resume, remove monitors"))
    ms = monitor.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = _leaf(ms, "add", "monitor_add", _("start monitoring a target"), common)
    add.add_argument("target", nargs="?", help=_(
        "a URL, tcp://host:port, tls://host, dns://name/A or ws://host (as in chat)"))
    add.add_argument("--type", help=_("the check type, with --config"))
    add.add_argument("--config", help=_("the check's config as a JSON object"))
    add.add_argument("--name", help=_("a short name (default: from the target)"))
    add.add_argument("--interval", help=_("how often: 30s, 5m, 1h, 1d"))
    add.add_argument("--failure-threshold", type=int, help=_("failed checks before an alert"))
    add.add_argument("--success-threshold", type=int, help=_("good checks before a recovery"))
    add.add_argument("--language", choices=LANGUAGES, help=alerts_language)
    _leaf(ms, "list", "monitor_list", _("list monitors and their state"), common)
    for name, help_text in (
        ("show", _("state, uptime and latency of one monitor (exit 1 when down)")),
        ("pause", _("stop checks and alerts")),
        ("resume", _("start checking again")),
        ("remove", _("delete a monitor and its history")),
        ("test", _("run a monitor's check once now (exit 1 when down)")),
    ):
        _leaf(ms, name, f"monitor_{name}", help_text, common).add_argument(
            "monitor", help=monitor_ref)
    history = _leaf(ms, "history", "monitor_history", _("the latest checks of a monitor"), common)
    history.add_argument("monitor", help=monitor_ref)
    history.add_argument("--limit", type=int, default=20, help=_("how many checks (1-1000)"))

    channel = sub.add_parser("channel", help=_("alert channels: add, list, test, remove"))
    cs = channel.add_subparsers(dest="action", required=True, metavar="ACTION")
    cadd = _leaf(cs, "add", "channel_add", _("send alerts somewhere"), common)
    cadd.add_argument("kind", help=_("webhook or discord_webhook"))
    cadd.add_argument("url", nargs="?", help=_("where to send (the channel's url)"))
    cadd.add_argument("--secret", help=_("webhook signing secret"))
    cadd.add_argument("--config", help=_("the channel's config as a JSON object"))
    cadd.add_argument("--monitor", help=_("only this monitor's alerts (default: all)"))
    cadd.add_argument("--min-severity", default="info", choices=["info", "warning", "critical"],
                      help=_("the least severe alerts it gets"))
    cadd.add_argument("--language", choices=LANGUAGES, help=alerts_language)
    _leaf(cs, "list", "channel_list", _("list alert channels"), common)
    for name, help_text in (
        ("test", _("send a test alert now (exit 1 when not delivered)")),
        ("remove", _("delete an alert channel")),
    ):
        _leaf(cs, name, f"channel_{name}", help_text, common).add_argument(
            "channel", type=int, help=_("the channel's number"))

    user = sub.add_parser("user", help=_("change a chat user's plan"))
    us = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    tier_cmd = _leaf(us, "tier", "user_tier", _("give a user a plan"), [out])
    tier_cmd.add_argument("user", help=_("discord:<id>, telegram:<id> or wallet:0x…"))
    tier_cmd.add_argument("tier", help=", ".join(TIERS))
    tier_cmd.add_argument("--days", type=int, help=_("for this many days (default: no end)"))

    maint = sub.add_parser("maintenance", help=_("maintenance windows: checks go on, alerts wait"))
    mas = maint.add_subparsers(dest="action", required=True, metavar="ACTION")
    madd = _leaf(mas, "add", "maintenance_add", _("put a monitor in maintenance now or later"),
                 common)
    madd.add_argument("monitor", help=monitor_ref)
    madd.add_argument("--from", dest="from_", metavar="TIME",
                      help=_("start: ISO 8601 time, now, or +30m (default: now)"))
    madd.add_argument("--until", required=True, metavar="TIME",
                      help=_("end: ISO 8601 time or +2h"))
    mlist = _leaf(mas, "list", "maintenance_list", _("maintenance now and planned"), common)
    mlist.add_argument("monitor", nargs="?", help=monitor_ref)
    mend = _leaf(mas, "end", "maintenance_end",
                 _("end a monitor's maintenance and cancel its planned windows"), common)
    mend.add_argument("monitor", help=monitor_ref)
