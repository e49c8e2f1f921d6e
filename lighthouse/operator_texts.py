"""Every sentence the admin CLI (lighthouse/admin_cli.py) and the start banner
(lighthouse/banner.py) show the operator, in English (the msgids) and, through the
catalog, Spanish. The language is the terminal's (LC_ALL, LC_MESSAGES, LANG: ``operator_language``).

Formatting shared with chat (states, intervals, plans, percentages) comes from
bot/texts.py, so a monitor reads the same in both places.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lighthouse.admin_cli import operator_language
from lighthouse.bot import texts as chat
from lighthouse.core.errors import LighthouseError
from lighthouse.core.i18n import gettext, ngettext

__all__ = ["chat", "operator_language"]

PRIVATE_SETTING = "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS"


def timestamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "—"


# --- table headers -------------------------------------------------------------------------
def headers(lang: str, names: list[str]) -> list[str]:
    labels = {
        "id": gettext(lang, "ID"), "name": gettext(lang, "NAME"), "type": gettext(lang, "TYPE"),
        "state": gettext(lang, "STATE"), "interval": gettext(lang, "INTERVAL"),
        "last_check": gettext(lang, "LAST CHECK"), "target": gettext(lang, "TARGET"),
        "time": gettext(lang, "TIME"), "result": gettext(lang, "RESULT"),
        "status": gettext(lang, "STATUS"), "latency": gettext(lang, "LATENCY"),
        "error": gettext(lang, "ERROR"), "kind": gettext(lang, "KIND"),
        "enabled": gettext(lang, "ENABLED"), "monitor": gettext(lang, "MONITOR"),
        "severity": gettext(lang, "MIN SEVERITY"), "language": gettext(lang, "LANGUAGE"),
        "config": gettext(lang, "CONFIG"), "from": gettext(lang, "FROM"),
        "until": gettext(lang, "UNTIL"), "when": gettext(lang, "WHEN"),
    }
    return [labels[n] for n in names]


def yes_no(lang: str, value: bool) -> str:
    return gettext(lang, "yes") if value else gettext(lang, "no")


def check_ok(lang: str, ok: bool | None) -> str:
    if ok is None:
        return "—"
    return gettext(lang, "up") if ok else gettext(lang, "down")


def all_monitors(lang: str) -> str:
    return gettext(lang, "all monitors")


def now_label(lang: str) -> str:
    return gettext(lang, "now")


def planned_label(lang: str) -> str:
    return gettext(lang, "planned")


# --- monitors ------------------------------------------------------------------------------
def no_monitors(lang: str) -> str:
    return gettext(lang, "No monitors yet. Add one with: {command}").format(
        command="lighthouse monitor add https://example.com")


def added(lang: str, name: str, short_id: str, target: str, seconds: int) -> str:
    return gettext(lang, "Added {name} ({id}): {target}, checked {interval}. The first check "
                         "runs within 30 seconds; see it with: {command}").format(
        name=name, id=short_id, target=target, interval=chat.interval(lang, seconds),
        command=f"lighthouse monitor show {short_id}")


def ping_url(lang: str, url: str) -> str:
    return gettext(lang, "Ping URL (shown only now; keep it secret): {url}").format(url=url)


def paused(lang: str, name: str, short_id: str) -> str:
    return gettext(lang, "Paused {name} ({id}): no checks and no alerts until it is resumed."
                   ).format(name=name, id=short_id)


def resumed(lang: str, name: str, short_id: str) -> str:
    return gettext(lang, "Resumed {name} ({id}); the next check runs now.").format(
        name=name, id=short_id)


def removed(lang: str, name: str, short_id: str) -> str:
    return gettext(lang, "Removed {name} ({id}) and its history.").format(name=name, id=short_id)


def show_lines(lang: str, m: Any, target: str, windows: list[Any], planned: list[Any],
               now: datetime) -> list[str]:
    """``monitor show``: the monitor's facts, one per line, label first."""
    by_period = {w.period: w for w in windows}
    rows: list[tuple[str, str]] = [
        (gettext(lang, "State"), gettext(lang, "{state} since {since}").format(
            state=chat.state_name(lang, m.state), since=chat.when(lang, m.state_since, now))),
        (gettext(lang, "Type"), m.type),
        (gettext(lang, "Target"), target),
        (gettext(lang, "Interval"), chat.interval(lang, m.interval_s)),
        (gettext(lang, "Plan"), chat.tier_name(lang, m.tier)),
    ]
    if m.last_check_at is not None:
        if m.last_ok:
            last = gettext(lang, "{when}: up in {latency}").format(
                when=chat.when(lang, m.last_check_at, now), latency=chat.millis(lang, m.last_latency_ms))
        else:
            last = gettext(lang, "{when}: failed: {error}").format(
                when=chat.when(lang, m.last_check_at, now), error=m.last_error or "?")
    else:
        last = gettext(lang, "never")
    rows.append((gettext(lang, "Last check"), last))
    uptimes = []
    for period, label in (("24h", gettext(lang, "24 h")), ("7d", gettext(lang, "7 days")),
                          ("30d", gettext(lang, "30 days"))):
        w = by_period.get(period)
        uptimes.append(f"{label} {chat.percent(lang, w.uptime if w else None)}")
    rows.append((gettext(lang, "Uptime"), " · ".join(uptimes)))
    day = by_period.get("24h")
    if day is not None and day.checks:
        p50, p95 = chat.millis(lang, day.p50_latency_ms), chat.millis(lang, day.p95_latency_ms)
        rows.append((gettext(lang, "Latency (24 h)"), f"p50 {p50} · p95 {p95}"))
    if m.maintenance_until is not None and m.state.value == "maintenance":
        rows.append((gettext(lang, "Maintenance"), gettext(lang, "until {until}").format(
            until=timestamp(m.maintenance_until))))
    for w in planned:
        rows.append((gettext(lang, "Planned maintenance"), gettext(
            lang, "from {start} until {end}").format(start=timestamp(w.starts_at),
                                                     end=timestamp(w.ends_at))))
    width = max(len(label) for label, _ in rows)
    return [f"{m.name} ({m.public_id})", *(f"  {label.ljust(width)}  {value}"
                                           for label, value in rows)]


def test_result(lang: str, name: str, ok: bool, latency_ms: float | None,
                status_code: int | None, error: str | None) -> str:
    if ok:
        if status_code is not None:
            return gettext(lang, "✅ {name} is up: HTTP {status} in {latency}.").format(
                name=name, status=status_code, latency=chat.millis(lang, latency_ms))
        return gettext(lang, "✅ {name} is up: answered in {latency}.").format(
            name=name, latency=chat.millis(lang, latency_ms))
    return gettext(lang, "❌ {name} is down: {error}").format(
        name=name, error=error or (f"HTTP {status_code}" if status_code else "?"))


def condition_failed(lang: str, condition: str, reason: str | None) -> str:
    return chat.test_condition_failed(lang, condition, reason)


# --- channels ------------------------------------------------------------------------------
def no_channels(lang: str) -> str:
    return gettext(lang, "No alert channels yet. Add one with: {command}").format(
        command="lighthouse channel add webhook https://example.com/hook")


def channel_added(lang: str, channel_id: int, kind: str, monitor: str | None) -> str:
    if monitor:
        return gettext(lang, "Added alert channel #{id} ({kind}) for {monitor}.").format(
            id=channel_id, kind=kind, monitor=monitor)
    return gettext(lang, "Added alert channel #{id} ({kind}) for all your monitors.").format(
        id=channel_id, kind=kind)


def channel_removed(lang: str, channel_id: int, kind: str) -> str:
    return gettext(lang, "Removed alert channel #{id} ({kind}).").format(id=channel_id, kind=kind)


def channel_tested(lang: str, channel_id: int, kind: str, delivered: bool,
                   error: str | None) -> str:
    if delivered:
        return gettext(lang, "Test alert delivered through {kind} #{id}.").format(
            kind=kind, id=channel_id)
    return gettext(lang, "The test alert through {kind} #{id} was not delivered: {error}").format(
        kind=kind, id=channel_id, error=error or "?")


# --- users ---------------------------------------------------------------------------------
def tier_set(lang: str, user: str, tier: str, expires_at: datetime | None, raised: bool) -> str:
    plan = chat.tier_name(lang, tier)
    if expires_at is not None:
        line = gettext(lang, "{user} now has the {plan} plan until {until}.").format(
            user=user, plan=plan, until=timestamp(expires_at))
    else:
        line = gettext(lang, "{user} now has the {plan} plan, with no end date.").format(
            user=user, plan=plan)
    if raised:
        line += " " + gettext(lang, "(This instance's default plan, LIGHTHOUSE_DEFAULT_TIER, "
                                    "is higher than the one you set, so it applies.)")
    return line


# --- maintenance ---------------------------------------------------------------------------
def maintenance_now(lang: str, name: str, short_id: str, until: datetime) -> str:
    return gettext(lang, "{name} ({id}) is in maintenance until {until}: checks go on, "
                         "alerts wait.").format(name=name, id=short_id, until=timestamp(until))


def maintenance_planned(lang: str, name: str, short_id: str, start: datetime,
                        end: datetime) -> str:
    return gettext(lang, "Maintenance of {name} ({id}) planned from {start} until {end}.").format(
        name=name, id=short_id, start=timestamp(start), end=timestamp(end))


def maintenance_ended(lang: str, name: str, short_id: str, cancelled: int) -> str:
    line = gettext(lang, "{name} ({id}) leaves maintenance at its next check.").format(
        name=name, id=short_id)
    if cancelled:
        line += " " + ngettext(lang, "{n} planned window was cancelled.",
                               "{n} planned windows were cancelled.", cancelled).format(n=cancelled)
    return line


def no_maintenance(lang: str) -> str:
    return gettext(lang, "No maintenance now or planned.")


# --- errors --------------------------------------------------------------------------------
def bad_time(lang: str, option: str, value: str) -> str:
    return gettext(lang, "{option}: “{value}” is not a time. Use an ISO 8601 time such as "
                         "2026-05-01T22:00Z (UTC when no zone is given), now, or +30m, +2h, +1d."
                   ).format(option=option, value=value)


def apply_refused(lang: str, path: str) -> str:
    """The last line of a refused ``lighthouse apply`` (the problems above it name lines)."""
    return gettext(lang, "lighthouse apply: {path} refused; nothing was changed").format(path=path)


def apply_no_file(lang: str) -> str:
    return gettext(lang, "lighthouse apply: give a FILE, set LIGHTHOUSE_CONFIG or create "
                         "./lighthouse.yaml")


def bad_json(lang: str, option: str, detail: str) -> str:
    return gettext(lang, "{option} is not valid JSON: {detail}").format(option=option, detail=detail)


def error(lang: str, exc: LighthouseError) -> str:
    """The CLI's sentence for an error; chat's (bot/texts.py) where it fits a terminal too."""
    p, code = exc.params, exc.code
    field, reason = str(p.get("field") or ""), str(p.get("reason") or "")
    if code == "target_not_allowed":
        return gettext(
            lang,
            "Refused: {host} points to {address}, {kind}. To monitor private and loopback "
            "addresses on this instance, set {setting}=true (for the service and the CLI).",
        ).format(host=p.get("host", "?"), address=p.get("address", "?"),
                 kind=chat._target_reason(lang, reason), setting=PRIVATE_SETTING)
    if code == "monitor_not_found":
        return gettext(lang, "No monitor “{ref}”. List them with: {command}").format(
            ref=chat.clip(str(p.get("ref", "")), 100), command="lighthouse monitor list")
    if code == "channel_not_found":
        return gettext(lang, "No alert channel #{id}. List them with: {command}").format(
            id=p.get("channel_id", "?"), command="lighthouse channel list")
    if code == "monitor_limit_reached":
        return gettext(lang, "The {plan} plan includes {limit} monitors and all are in use. "
                             "Remove one, or give the owner a higher plan with {command}.").format(
            plan=chat.tier_name(lang, str(p.get("tier", ""))), limit=p.get("limit", "?"),
            command="lighthouse user tier")
    if code == "status_page_not_found":
        return gettext(lang, "No status page “{slug}”. List them with: {command}").format(
            slug=chat.clip(str(p.get("slug", "")), 60), command="lighthouse status list")
    if code == "slug_taken":
        return gettext(lang, "The address “{slug}” is taken; choose another slug.").format(
            slug=p.get("slug", ""))
    if code == "not_admin":
        return gettext(lang, "Only the operator and the admins in LIGHTHOUSE_ADMINS change plans.")
    if code == "invalid_input":
        if field == "user":
            return gettext(lang, "“{value}” is not a user: write discord:<id>, telegram:<id> or "
                                 "wallet:0x….").format(value=p.get("value", ""))
        if field == "tier":
            return gettext(lang, "Unknown plan “{value}”. Plans: {known}.").format(
                value=p.get("value", ""), known=", ".join(str(k) for k in p.get("known") or []))
        if field == "slug":
            return gettext(lang, "A slug has 3 to 48 lowercase letters, digits or dashes.")
        if field == "title":
            return gettext(lang, "A status page title has at most {max} characters.").format(
                max=p.get("max", 100))
        if field == "days":
            return gettext(lang, "--days must be between 1 and 3650.")
        if field == "channel" and reason == "not_testable_here":
            return gettext(lang, "{kind} channels are sent by the chat bot, so the CLI cannot "
                                 "test them; it tests {testable}.").format(
                kind=p.get("kind", "?"), testable=", ".join(p.get("testable") or []))
        if field in ("until", "from"):
            option = "--" + field
            if reason == "past":
                return gettext(lang, "{option} must be in the future.").format(option=option)
            if reason == "before_start":
                return gettext(lang, "--until must be after --from.")
            if reason == "too_long":
                return gettext(lang, "Maintenance lasts at most 366 days; pause the monitor "
                                     "instead.")
        if field == "interval":
            return gettext(lang, "“{value}” is not an interval: use 30s, 5m, 1h or 1d.").format(
                value=p.get("value", ""))
        if field == "url" and reason == "missing":
            return gettext(lang, "Give a target: a URL, tcp://host:port, tls://host, "
                                 "dns://name/A, ws://host, or --type T --config JSON.")
        if field == "config" and reason in ("not_json", "not_object"):
            return gettext(lang, "--config must be a JSON object.")
    return chat.error(lang, exc)
