"""Every sentence the bots say, in English (the msgids) and, through the catalog, Spanish.

Both adapters call these functions; nothing user-visible is written anywhere else in
bot/. Each function takes the language first. Placeholders are ``{name}`` filled by
``.format()``; counts go through ``ngettext``. Numbers, dates and durations are
formatted with Babel in the same language.

Command names and descriptions (Discord slash command metadata and the Telegram menu)
are the ``_T`` constants below: Discord's Translator and ``setMyCommands`` read the same
msgids.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal, format_percent
from lighthouse.core.checks.failures import describe_failure
from lighthouse.core.errors import LighthouseError
from lighthouse.core.i18n import format_duration, gettext, ngettext
from lighthouse.core.models import Identity, Incident, Monitor, Provider, UptimeWindow
from lighthouse.core.service.users import UpgradePath
from lighthouse.core.state import State
from lighthouse.core.tiers import Tier, TierName


def _T(message: str) -> str:
    """Marks a command name/description for extraction; translated where it is shown."""
    return message


# --- command metadata (Discord descriptions <= 100 chars, Telegram <= 256) ---------------
CMD_MONITOR = _T("Manage your uptime monitors")
CMD_ADD = _T("Start monitoring a URL")
CMD_LIST = _T("List your monitors")
CMD_STATUS = _T("Show a monitor's state, uptime and latency")
CMD_PAUSE = _T("Pause a monitor")
CMD_RESUME = _T("Resume a paused monitor")
CMD_REMOVE = _T("Delete a monitor")
CMD_TEST = _T("Check a URL once, right now")
CMD_CHANNEL = _T("Post a monitor's alerts in a server channel")
CMD_HEARTBEAT = _T("Expect pings from a job; alert when they stop")
CMD_TOKEN = _T("Give a heartbeat a new secret ping URL")
CMD_MAINTENANCE = _T("Hold a monitor's alerts for a while, or end that")
CMD_INCIDENTS = _T("Show a monitor's recent outages")
CMD_ALERTS = _T("Your alert channels: webhooks and more")
CMD_ALERTS_ADD = _T("Send your alerts to a webhook or service too")
CMD_ALERTS_LIST = _T("List your alert channels")
CMD_ALERTS_TEST = _T("Send a test alert through a channel")
CMD_ALERTS_REMOVE = _T("Delete an alert channel")
CMD_STATUS_PAGES = _T("Public status pages of your monitors")
CMD_STATUS_CREATE = _T("Publish monitors on a public status page")
CMD_STATUS_LIST = _T("List your status pages")
CMD_STATUS_REMOVE = _T("Delete a status page")
CMD_LANGUAGE = _T("Choose the language I answer in")
CMD_HELP = _T("How to use Lighthouse")
CMD_START = _T("Start receiving alerts here")
CMD_UPGRADE = _T("How to get a higher plan on this Lighthouse")
CMD_ADMIN = _T("Run this Lighthouse (admins only)")
CMD_ADMIN_TIER = _T("Give a user a plan (admins only)")

ARG_URL = _T("The address to check, e.g. https://example.com")
ARG_NAME = _T("A short name for the monitor")
ARG_INTERVAL = _T("How often to check")
ARG_MONITOR = _T("One of your monitors: name or id")
ARG_CHANNEL = _T("The channel for alerts (default: this one)")
ARG_HEARTBEAT = _T("A short name for the heartbeat, e.g. backup")
ARG_PERIOD = _T("How often your job pings, e.g. 1h or 1d (default: 1h)")
ARG_GRACE = _T("How late a ping may be before an alert, e.g. 10m")
ARG_UNTIL = _T("A duration (2h), a UTC time (2026-12-24T18:00) or off")
ARG_KIND = _T("What kind of channel")
ARG_TARGET = _T("Its URL (kept secret)")
ARG_CHANNEL_ID = _T("The channel's number, as /alerts list shows it")
ARG_SLUG = _T("The page's address, e.g. acme (default: a random one nobody can guess)")
ARG_MONITORS = _T("Monitors to show, by name or id, separated by commas (default: all)")
ARG_PAGE = _T("The page's address, as /status list shows it")

# The channel kinds a user adds from chat (value: the kind), offered in Discord.
CHANNEL_KIND_CHOICES: list[tuple[str, str]] = [
    (_T("Webhook (JSON POST)"), "webhook"),
    (_T("Discord webhook"), "discord_webhook"),
    (_T("Apprise URL (email, Slack, ntfy, Matrix, …)"), "apprise"),
]
ARG_LANGUAGE = _T("Language, or automatic to follow your app")
ARG_USER = _T("The user whose plan changes")
ARG_TIER = _T("The plan to give")
ARG_DAYS = _T("For how many days (default: no end)")

CHOICE_AUTO = _T("automatic")
CHOICE_ENGLISH = _T("English")
CHOICE_SPANISH = _T("Spanish")

# The plans, as offered to admins in Discord (value: the plan's name).
TIER_CHOICES: list[tuple[str, str]] = [
    (_T("Free"), TierName.FREE.value),
    (_T("Basic"), TierName.BASIC.value),
    (_T("Standard"), TierName.STANDARD.value),
    (_T("Pro"), TierName.PRO.value),
    (_T("Enterprise"), TierName.ENTERPRISE.value),
]

# The interval choices offered in Discord (value in seconds) and accepted in Telegram.
INTERVAL_CHOICES: list[tuple[str, int]] = [
    (_T("every 30 seconds"), 30),
    (_T("every minute"), 60),
    (_T("every 5 minutes"), 300),
    (_T("every 15 minutes"), 900),
    (_T("every 30 minutes"), 1800),
    (_T("every hour"), 3600),
    (_T("every 6 hours"), 21600),
    (_T("every 12 hours"), 43200),
    (_T("every day"), 86400),
]

STATE_EMOJI = {
    State.UP: "🟢",
    State.DOWN: "🔴",
    State.PENDING: "🟡",
    State.PAUSED: "⏸️",
    State.MAINTENANCE: "🛠️",
}


def tr(lang: str, message: str) -> str:
    """Translate a message that was marked elsewhere (command metadata, choices)."""
    return gettext(lang, message)


# Discord shows Spanish users localized command names (/monitor agregar); Telegram's are
# fixed. The adapter's request sets this, and every sentence naming a command uses cmd().
LOCALIZED_COMMAND_NAMES: ContextVar[bool] = ContextVar("lh_localized_command_names",
                                                       default=False)


def cmd(lang: str, path: str, args: str = "") -> str:
    """'/monitor list' as the user must type it: cmd(lang, 'monitor list')."""
    words = path.split()
    if LOCALIZED_COMMAND_NAMES.get():
        words = [gettext(lang, w) for w in words]
    return "/" + " ".join(words) + (f" {args}" if args else "")


# --- formatting ------------------------------------------------------------------------
def state_name(lang: str, state: State) -> str:
    names = {
        State.UP: gettext(lang, "up"),
        State.DOWN: gettext(lang, "down"),
        State.PENDING: gettext(lang, "pending"),
        State.PAUSED: gettext(lang, "paused"),
        State.MAINTENANCE: gettext(lang, "in maintenance"),
    }
    return names.get(state, state.value)


def monitor_state(lang: str, m: Monitor) -> str:
    """Its state as a person needs it: "pending" is either a new monitor not checked yet
    or a failing one whose failures are being confirmed before it is called down."""
    if m.state is State.PENDING:
        if m.consecutive_failures > 0:
            return gettext(lang, "failing, confirming")
        return gettext(lang, "not checked yet")
    return state_name(lang, m.state)


def failure(lang: str, code: str | None, text: str | None, status: Any = None) -> str:
    """A check's failure in the user's language (core/checks/failures.py)."""
    return describe_failure(lang, code, text, status) or "?"


def tier_name(lang: str, name: str) -> str:
    names = {
        TierName.FREE: gettext(lang, "Free"),
        TierName.BASIC: gettext(lang, "Basic"),
        TierName.STANDARD: gettext(lang, "Standard"),
        TierName.PRO: gettext(lang, "Pro"),
        TierName.ENTERPRISE: gettext(lang, "Enterprise"),
    }
    try:
        return names[TierName(name)]
    except ValueError:
        return name


def language_name(lang: str, code: str | None) -> str:
    if code == "es":
        return gettext(lang, "Spanish")
    if code == "en":
        return gettext(lang, "English")
    return gettext(lang, "automatic")


def interval(lang: str, seconds: int) -> str:
    """'every 5 minutes' / 'cada 5 minutos'."""
    if seconds % 86400 == 0:
        n = seconds // 86400
        return ngettext(lang, "every day", "every {n} days", n).format(n=n)
    if seconds % 3600 == 0:
        n = seconds // 3600
        return ngettext(lang, "every hour", "every {n} hours", n).format(n=n)
    if seconds % 60 == 0:
        n = seconds // 60
        return ngettext(lang, "every minute", "every {n} minutes", n).format(n=n)
    return ngettext(lang, "every second", "every {n} seconds", seconds).format(n=seconds)


def duration(lang: str, seconds: float) -> str:
    return format_duration(lang, timedelta(seconds=int(seconds)))


def percent(lang: str, fraction: float | None) -> str:
    if fraction is None:
        return gettext(lang, "no data")
    # Never round 99.996 % up to "100 %": an outage must stay visible.
    floored = int(fraction * 10000) / 10000
    return format_percent(floored, format="#,##0.##%", locale=lang)


def millis(lang: str, value: float | None) -> str:
    if value is None:
        return "—"
    return gettext(lang, "{value} ms").format(value=format_decimal(round(value), locale=lang))


def when(lang: str, moment: datetime | None, now: datetime) -> str:
    """An absolute UTC time plus how long ago: '24 nov 2026, 17:05 UTC (hace 3 minutos)'."""
    if moment is None:
        return gettext(lang, "never")
    absolute = format_datetime(moment, "d MMM y, HH:mm", tzinfo=UTC, locale=lang) + " UTC"
    ago = format_timedelta(moment - now, add_direction=True, threshold=1.0, locale=lang)
    return f"{absolute} ({ago})"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- errors ----------------------------------------------------------------------------
def _target_reason(lang: str, reason: str) -> str:
    reasons = {
        "loopback": gettext(lang, "a loopback address"),
        "private": gettext(lang, "a private network address"),
        "link_local": gettext(lang, "a link-local address"),
        "multicast": gettext(lang, "a multicast address"),
        "unspecified": gettext(lang, "an unspecified address"),
        "reserved": gettext(lang, "a reserved address"),
    }
    return reasons.get(reason, gettext(lang, "a non-public address"))


def _channel_error(lang: str, code: str, p: dict[str, Any]) -> str:
    kind = str(p.get("channel") or p.get("kind") or "?")
    reason = str(p.get("reason") or "")
    if code == "unknown_channel_kind":
        return gettext(lang, "Unknown alert channel “{kind}”. Known: {known}.").format(
            kind=clip(kind, 40), known=", ".join(str(k) for k in p.get("known") or []))
    if reason == "chat_only":
        return gettext(lang, "{kind} alerts are set up from the chat itself, not here.").format(
            kind=kind)
    if reason == "apprise_url":
        return gettext(lang, "Apprise can't send to that URL. Its services and their URLs: "
                             "https://github.com/caronc/apprise/wiki")
    if reason == "apprise_local":
        return gettext(lang, "That Apprise URL would deliver on the Lighthouse server itself "
                             "(syslog, desktop notifications, files). Use a service that sends "
                             "over the network, such as ntfy://, mailto:// or slack://.")
    if reason == "read_only":
        return gettext(lang, "{field} is set by Lighthouse, not by you.").format(
            field=p.get("field", "?"))
    if reason == "missing":
        return gettext(lang, "The {kind} alert channel needs {field}.").format(
            kind=kind, field=p.get("field", "?"))
    if code == "invalid_url":
        return gettext(lang, "The {kind} alert channel needs a valid http(s) URL in {field}."
                       ).format(kind=kind, field=p.get("field", "url"))
    return gettext(lang, "That value isn't valid for {field}.").format(field=p.get("field", "?"))


def error(lang: str, exc: LighthouseError) -> str:
    """The localized message for every user-caused error code (core/errors.py)."""
    p = exc.params
    code = exc.code
    if code == "unknown_channel_kind" or p.get("channel"):
        return _channel_error(lang, code, p)
    if code == "invalid_url":
        url = str(p.get("url") or "")
        reason = p.get("reason")
        if reason == "scheme":
            return gettext(lang, "A URL must start with http:// or https:// — “{url}” doesn't."
                           ).format(url=clip(url, 200))
        if reason == "no_host":
            return gettext(lang, "That URL has no host name: “{url}”.").format(url=clip(url, 200))
        if reason == "port":
            return gettext(lang, "That URL has an invalid port: “{url}”.").format(url=clip(url, 200))
        if reason == "too_long":
            return gettext(lang, "That URL is too long (2,048 characters at most).")
        return gettext(lang, "That doesn't look like a valid URL. Try something like "
                             "https://example.com/health.")
    if code == "target_not_allowed":
        return gettext(
            lang,
            "I can't monitor {host}: it points to {address}, {kind}. Lighthouse only checks "
            "addresses on the public internet.",
        ).format(host=p.get("host", "?"), address=p.get("address", "?"),
                 kind=_target_reason(lang, str(p.get("reason", ""))))
    if code == "invalid_interval":
        minimum = int(p.get("min") or 30)
        if p.get("tier"):
            return gettext(
                lang,
                "Your {tier} plan checks at most {interval}. Choose a longer interval, or "
                "upgrade for faster checks.",
            ).format(tier=tier_name(lang, str(p["tier"])), interval=interval(lang, minimum))
        maximum = int(p.get("max") or 86400)
        return gettext(lang, "The interval must be between {min} and {max}.").format(
            min=duration(lang, minimum), max=duration(lang, maximum))
    if code == "monitor_limit_reached":
        limit = int(p.get("limit") or 0)
        return ngettext(
            lang,
            "Your {tier} plan includes {limit} monitor and you are using it. Remove one with "
            "{command}, or upgrade to add more.",
            "Your {tier} plan includes {limit} monitors and you are using all of them. Remove "
            "one with {command}, or upgrade to add more.",
            limit,
        ).format(tier=tier_name(lang, str(p.get("tier", ""))), limit=limit,
                 command=cmd(lang, "monitor remove"))
    if code == "not_admin":
        return gettext(lang, "Only this Lighthouse's admins can change plans.")
    if code == "tier_feature_unavailable":
        if p.get("feature") == "status_page":
            return gettext(lang, "Status pages come with the {needs} plan and above; you are "
                                 "on {tier}. See {command}.").format(
                needs=tier_name(lang, str(p.get("needs", ""))),
                tier=tier_name(lang, str(p.get("tier", ""))), command=cmd(lang, "upgrade"))
        return gettext(lang, "That needs a higher plan than {tier}.").format(
            tier=tier_name(lang, str(p.get("tier", ""))))
    if code == "channel_not_found":
        return gettext(lang, "You have no alert channel with that number; see {command}.").format(
            command=cmd(lang, "alerts list"))
    if code == "monitor_ambiguous":
        names = ", ".join(f"“{clip(str(n), 60)}”" for n in p.get("candidates") or [])
        if p.get("more"):
            names += ", …"
        return gettext(lang, "Several monitors start with “{ref}”: {names}. Type more of the "
                             "name.").format(ref=clip(str(p.get("ref", "")), 100), names=names)
    if code == "monitor_not_found":
        return gettext(lang, "I couldn't find a monitor called “{ref}”. Use {command} to see "
                             "yours.").format(ref=clip(str(p.get("ref", "")), 100),
                                              command=cmd(lang, "monitor list"))
    if code == "slug_taken":
        return gettext(lang, "The address “{slug}” is taken; choose another one.").format(
            slug=clip(str(p.get("slug", "")), 60))
    if code == "status_page_not_found":
        return gettext(lang, "You have no status page “{slug}”; see {command}.").format(
            slug=clip(str(p.get("slug", "")), 60), command=cmd(lang, "status list"))
    if code == "invalid_state":
        name = str(p.get("name") or "")
        state = str(p.get("state") or "")
        if state == State.PAUSED.value and name:
            return gettext(lang, "{name} is already paused.").format(name=name)
        if name:
            return gettext(lang, "{name} isn't paused, so there is nothing to resume.").format(
                name=name)
        try:
            label = state_name(lang, State(state))
        except ValueError:
            label = state
        return gettext(lang, "That isn't possible while the monitor is {state}.").format(
            state=label)
    if code == "unknown_check_type":
        return gettext(lang, "Unknown check type “{type}”.").format(type=p.get("type", "?"))
    if code == "invalid_condition":
        return gettext(lang, "That condition isn't valid (near character {position}).").format(
            position=int(p.get("position") or 0) + 1)
    if code == "invalid_input":
        field = str(p.get("field") or "")
        reason = str(p.get("reason") or "")
        if field == "interval":
            return gettext(lang, "I couldn't read the interval “{value}”. Use for example 30s, "
                                 "5m, 1h or 1d.").format(value=clip(str(p.get("value", "")), 40))
        if field == "language":
            return gettext(lang, "Choose en (English), es (Spanish) or auto.")
        if field == "name":
            return gettext(lang, "A monitor name can have at most {max} characters.").format(
                max=p.get("max", 100))
        if field == "user":
            return gettext(lang, "“{value}” is not a user I know how to name. Use their id, "
                                 "e.g. {example}.").format(value=clip(str(p.get("value", "")), 40),
                                                          example=cmd(lang, "admin tier",
                                                                      "123456789 pro"))
        if field == "tier":
            return gettext(lang, "There is no plan called “{value}”. Plans: {known}.").format(
                value=clip(str(p.get("value", "")), 40),
                known=", ".join(tier_name(lang, str(k)) for k in p.get("known") or []))
        if field == "days":
            return gettext(lang, "The number of days must be between {min} and {max}.").format(
                min=p.get("min", 1), max=p.get("max", 3650))
        if field == "slug":
            return gettext(lang, "A page address has 3 to 48 lowercase letters, digits or "
                                 "dashes, e.g. {example}").format(
                example=cmd(lang, "status create", "acme-status"))
        if field == "channel_id":
            return gettext(lang, "“{value}” is not a channel number; see {command}.").format(
                value=clip(str(p.get("value", "")), 40), command=cmd(lang, "alerts list"))
        if reason == "not_testable_here":
            return gettext(lang, "This process cannot send through {kind} channels.").format(
                kind=p.get("kind", "?"))
        if field == "heartbeat":
            return gettext(lang, "Name the heartbeat, e.g. {example}").format(
                example=_heartbeat_cmd(lang, "backup 1d 1h"))
        if field in ("period", "grace"):
            return gettext(lang, "I couldn't read the duration “{value}”. Use for example 30s, "
                                 "5m, 1h or 1d.").format(value=clip(str(p.get("value", "")), 40))
        if field in ("period_s", "grace_s"):
            what = gettext(lang, "period") if field == "period_s" else gettext(lang, "grace")
            return gettext(lang, "That heartbeat {what} is out of range: the period is 30 "
                                 "seconds to 30 days, the grace at most 7 days.").format(what=what)
        if field == "until":
            if reason == "past":
                return gettext(lang, "Maintenance must end in the future.")
            if reason in ("too_far", "too_long"):
                return gettext(lang, "Maintenance may last at most {days} days; pause the "
                                     "monitor instead.").format(days=p.get("max_days", 366))
            return gettext(lang, "I couldn't read “{value}”. Give a duration (2h), a UTC time "
                                 "(2026-12-24T18:00) or off.").format(
                value=clip(str(p.get("value", "")), 40))
        if field == "monitor" and reason == "type":
            return gettext(lang, "That monitor isn't a heartbeat, so it has no ping URL.")
        if field == "chain" and reason == "unknown_chain":
            return gettext(lang, "I don't know the chain “{value}”. Use a chain id or one of: "
                                 "{known}.").format(value=clip(str(p.get("value", "")), 40),
                                                    known=", ".join(p.get("known") or []))
        if field == "chain_id" and reason == "missing":
            return gettext(lang, "Which chain? Add its name or id after the address or URL, "
                                 "e.g. {example}").format(
                example=cmd(lang, "monitor add", "evm_rpc https://sepolia.base.org base-sepolia"))
        if field == "url" or (reason == "missing" and not field):
            return gettext(lang, "Tell me which URL to check, e.g. {example}").format(
                example=cmd(lang, "monitor add", "https://example.com"))
        if reason == "missing":
            return gettext(lang, "“{field}” is missing: this check needs it.").format(
                field=field)
        if reason == "not_json":
            return gettext(lang, "That configuration isn't valid JSON. Write it like "
                                 "{example}").format(example='{"host": "example.com", "port": 443}')
        return gettext(lang, "That value isn't valid for {field}.").format(field=field or "?")
    return gettext(lang, "That request isn't valid.")


def internal_error(lang: str, ref: str) -> str:
    return gettext(lang, "Something went wrong on our side; nothing was changed. Please try "
                         "again in a minute (reference {ref}).").format(ref=ref)


def busy(lang: str) -> str:
    return gettext(lang, "Lighthouse is busy right now. Please try again in a few seconds.")


# --- command replies ---------------------------------------------------------------------
def added(lang: str, m: Monitor, url: str, alerts_to: str) -> str:
    return gettext(
        lang,
        "✅ Now monitoring {name} ({url}) {interval}. {alerts} The first check runs within "
        "a minute; see it with {command}.",
    ).format(name=m.name, url=url, interval=interval(lang, m.interval_s), alerts=alerts_to,
             command=cmd(lang, "monitor status", m.name))


def _heartbeat_cmd(lang: str, args: str) -> str:
    """Discord has its own subcommand (/monitor heartbeat); Telegram reads /monitor add
    heartbeat."""
    if LOCALIZED_COMMAND_NAMES.get():
        return cmd(lang, "monitor heartbeat", args)
    return cmd(lang, "monitor add", f"heartbeat {args}".strip())


def heartbeat_added(lang: str, m: Monitor, ping_url: str, alerts_to: str) -> str:
    return gettext(
        lang,
        "✅ Heartbeat {name} created: ping it at least {interval}. {alerts}\n"
        "Ping URL (keep it secret): {url}\nFor example, at the end of your job: {example}\n"
        "A new URL: {command}.",
    ).format(name=m.name, interval=interval(lang, int(m.config.get("period_s") or m.interval_s)),
             alerts=alerts_to, url=ping_url, example=f"curl -fsS -m 10 --retry 5 {ping_url}",
             command=cmd(lang, "monitor token", m.name))


def token_rotated(lang: str, m: Monitor, ping_url: str) -> str:
    return gettext(lang, "🔑 New ping URL for {name} (the old one no longer works): {url}\n"
                         "For example: {example}").format(
        name=m.name, url=ping_url, example=f"curl -fsS -m 10 --retry 5 {ping_url}")


def secret_private_only(lang: str) -> str:
    return gettext(lang, "A ping URL is a secret: send me this command in a private chat.")


def maintenance_set(lang: str, m: Monitor, until: datetime, now: datetime) -> str:
    return gettext(lang, "🛠️ {name} is in maintenance until {until}: checks go on, alerts "
                         "wait. End it early with {command}.").format(
        name=m.name, until=when(lang, until, now),
        command=cmd(lang, "monitor maintenance", f"{m.name} off"))


def maintenance_ended(lang: str, m: Monitor, dropped: int) -> str:
    text = gettext(lang, "✅ Maintenance of {name} is over; alerts are back on from its next "
                         "check.").format(name=m.name)
    if dropped:
        text += " " + ngettext(lang, "{n} planned window was cancelled.",
                               "{n} planned windows were cancelled.", dropped).format(n=dropped)
    return text


def no_incidents(lang: str, m: Monitor) -> str:
    return gettext(lang, "{name} has had no incidents.").format(name=m.name)


def incidents_header(lang: str, m: Monitor, count: int) -> str:
    return ngettext(lang, "The last incident of {name}:", "The last {n} incidents of {name}:",
                    count).format(n=count, name=m.name)


def incident_line(lang: str, incident: Incident, now: datetime) -> str:
    started = when(lang, incident.started_at, now)
    lasted = duration(lang, incident.duration.total_seconds())
    if incident.ended_at is None:
        line = gettext(lang, "🔴 since {start}, {duration} so far").format(
            start=started, duration=lasted)
    else:
        line = gettext(lang, "🟢 {start}, lasted {duration}").format(
            start=started, duration=lasted)
    line += " · " + ngettext(lang, "{n} failed check", "{n} failed checks",
                             incident.checks_failed).format(n=incident.checks_failed)
    if incident.first_error:
        line += " · " + clip(incident.first_error, 120)
    return line


def usage_heartbeat(lang: str) -> str:
    return gettext(lang, "Usage: {command}, e.g. {example}").format(
        command=_heartbeat_cmd(lang, gettext(lang, "<name> [period] [grace]")),
        example=_heartbeat_cmd(lang, "backup 1d 1h"))


def usage_monitor_ref(lang: str, verb: str) -> str:
    return gettext(lang, "Usage: {command}").format(
        command=cmd(lang, f"monitor {verb}", gettext(lang, "<monitor>")))


def usage_maintenance(lang: str) -> str:
    return gettext(lang, "Usage: {command}, e.g. {example}").format(
        command=cmd(lang, "monitor maintenance", gettext(lang, "<monitor> <duration|until|off>")),
        example=cmd(lang, "monitor maintenance", "shop 2h"))


def alert_added(lang: str, channel_id: int, kind: str, target: str) -> str:
    return gettext(lang, "🔔 Alert channel #{id} added: {kind} → {target}. Try it with {command}."
                   ).format(id=channel_id, kind=kind, target=target,
                            command=cmd(lang, "alerts test", str(channel_id)))


def no_alert_channels(lang: str) -> str:
    return gettext(lang, "You have no alert channels of your own yet. Add one with {command}."
                   ).format(command=cmd(lang, "alerts add", "webhook https://example.com/hook"))


def alert_channels_header(lang: str, count: int) -> str:
    return ngettext(lang, "Your alert channel:", "Your {n} alert channels:", count).format(n=count)


def alert_channel_line(lang: str, channel_id: int, kind: str, target: str,
                       monitor: str | None, enabled: bool) -> str:
    line = f"#{channel_id} · {kind} → {clip(target, 80)}"
    if monitor:
        line += " · " + gettext(lang, "only {name}").format(name=monitor)
    if not enabled:
        line += " · " + gettext(lang, "disabled")
    return line


def alert_test_ok(lang: str, channel_id: int) -> str:
    return gettext(lang, "✅ Test alert delivered through #{id}.").format(id=channel_id)


def alert_test_failed(lang: str, channel_id: int, reason: str | None) -> str:
    return gettext(lang, "❌ The test alert through #{id} failed: {reason}").format(
        id=channel_id, reason=clip(reason or "?", 300))


def alert_removed(lang: str, channel_id: int, kind: str) -> str:
    return gettext(lang, "🗑️ Alert channel #{id} ({kind}) removed.").format(id=channel_id,
                                                                         kind=kind)


def usage_alerts(lang: str) -> str:
    return gettext(lang, "Usage: {command}, e.g. {example}").format(
        command=cmd(lang, "alerts", gettext(lang, "add <kind> <url> | list | test <id> | "
                                                  "remove <id>")),
        example=cmd(lang, "alerts add", "webhook https://example.com/hook"))


def status_page_created(lang: str, url: str, monitors: int) -> str:
    if monitors:
        shown = ngettext(lang, "{n} monitor", "{n} monitors", monitors).format(n=monitors)
    else:
        shown = gettext(lang, "all your monitors")
    return gettext(lang, "📣 Status page published with {monitors}: {url}").format(
        monitors=shown, url=url)


def no_status_pages(lang: str) -> str:
    return gettext(lang, "You have no status pages yet. Publish one with {command}.").format(
        command=cmd(lang, "status create", "acme"))


def status_pages_header(lang: str, count: int) -> str:
    return ngettext(lang, "Your status page:", "Your {n} status pages:", count).format(n=count)


def status_page_line(lang: str, url: str, monitors: int) -> str:
    if not monitors:
        return "• " + gettext(lang, "{url} · all your monitors").format(url=url)
    return "• " + ngettext(lang, "{url} · {n} monitor", "{url} · {n} monitors",
                           monitors).format(url=url, n=monitors)


def status_page_removed(lang: str, slug: str) -> str:
    return gettext(lang, "🗑️ Status page {slug} removed.").format(slug=clip(slug, 60))


def usage_status(lang: str) -> str:
    return gettext(lang, "Usage: {command}, e.g. {example}").format(
        command=cmd(lang, "status", gettext(lang, "create [address|-] [monitors…] | list | "
                                                  "remove <address>")),
        example=cmd(lang, "status create", "acme shop api"))


def alerts_to_dm(lang: str) -> str:
    return gettext(lang, "Alerts come to you by direct message.")


def alerts_to_dm_with_fallback(lang: str, channel: str) -> str:
    return gettext(lang, "Alerts come to you by direct message, or to {channel} if your DMs "
                         "are closed.").format(channel=channel)


def alerts_to_chat(lang: str) -> str:
    return gettext(lang, "Alerts come to this chat.")


def alerts_to_nowhere(lang: str) -> str:
    return gettext(lang, "Send {command} to me in a private chat so I can send you alerts."
                   ).format(command=cmd(lang, "start"))


def no_monitors(lang: str) -> str:
    return gettext(lang, "You have no monitors yet. Add one with {example}").format(
        example=cmd(lang, "monitor add", "https://example.com"))


def list_header(lang: str, count: int, limit: int | None, tier: str) -> str:
    if limit is None:
        return ngettext(lang, "You have {count} monitor ({tier} plan):",
                        "You have {count} monitors ({tier} plan):", count).format(
            count=count, tier=tier_name(lang, tier))
    return ngettext(lang, "You have {count} of {limit} monitors ({tier} plan):",
                    "You have {count} of {limit} monitors ({tier} plan):", count).format(
        count=count, limit=limit, tier=tier_name(lang, tier))


def list_line(lang: str, m: Monitor, target: str) -> str:
    return gettext(lang, "{emoji} {name} — {state}, {interval} · {target}").format(
        emoji=STATE_EMOJI.get(m.state, "•"), name=m.name, state=monitor_state(lang, m),
        interval=interval(lang, m.interval_s), target=target)


def list_more(lang: str, n: int) -> str:
    return ngettext(lang, "…and {n} more.", "…and {n} more.", n).format(n=n)


def status(
    lang: str, m: Monitor, target: str, windows: list[UptimeWindow], now: datetime
) -> str:
    by_period = {w.period: w for w in windows}
    lines = [
        gettext(lang, "{emoji} {name} is {state} since {since}.").format(
            emoji=STATE_EMOJI.get(m.state, "•"), name=m.name, state=monitor_state(lang, m),
            since=when(lang, m.state_since, now)),
        gettext(lang, "Target: {target}").format(target=target),
        gettext(lang, "Checked {interval}; last check: {last}.").format(
            interval=interval(lang, m.interval_s), last=when(lang, m.last_check_at, now)),
    ]
    uptimes = []
    for period, label in (("24h", gettext(lang, "24 h")), ("7d", gettext(lang, "7 days")),
                          ("30d", gettext(lang, "30 days"))):
        w = by_period.get(period)
        uptimes.append(f"{label} {percent(lang, w.uptime if w else None)}")
    lines.append(gettext(lang, "Uptime: {values}").format(values=" · ".join(uptimes)))
    day = by_period.get("24h")
    if day is not None and day.checks:
        lines.append(gettext(lang, "Latency (24 h): p50 {p50} · p95 {p95}").format(
            p50=millis(lang, day.p50_latency_ms), p95=millis(lang, day.p95_latency_ms)))
    if m.last_latency_ms is not None and m.last_ok:
        lines.append(gettext(lang, "Last response time: {value}").format(
            value=millis(lang, m.last_latency_ms)))
    lines += _block_lines(lang, m.last_details)
    if m.last_error and not m.last_ok:
        lines.append(gettext(lang, "Last error: {error}").format(
            error=clip(failure(lang, m.last_error_code, m.last_error), 300)))
    if m.state is State.DOWN and m.incident_started_at is not None:
        lines.append(gettext(lang, "Down for {duration}").format(
            duration=format_duration(lang, now - m.incident_started_at)))
    return "\n".join(lines)


def _block_lines(lang: str, details: dict[str, Any] | None) -> list[str]:
    """An EVM node's head as the last check saw it: height and age."""
    if not isinstance(details, dict) or details.get("block_number") is None:
        return []
    age = details.get("block_age_s")
    line = gettext(lang, "Latest block: {number}").format(
        number=format_decimal(int(details["block_number"]), locale=lang))
    if isinstance(age, int | float):
        line += " · " + gettext(lang, "{age} old").format(age=duration(lang, max(age, 0)))
    return [line]


def chart_caption(lang: str, name: str) -> str:
    return gettext(lang, "Response time of {name}, last 24 hours (red: failed checks)").format(
        name=name)


def paused(lang: str, m: Monitor) -> str:
    return gettext(lang, "⏸️ {name} is paused. No checks and no alerts until you run "
                         "{command}.").format(name=m.name,
                                              command=cmd(lang, "monitor resume", m.name))


def resumed(lang: str, m: Monitor) -> str:
    return gettext(lang, "▶️ {name} is active again; the next check runs now.").format(
        name=m.name)


def confirm_remove(lang: str, m: Monitor, target: str) -> str:
    return gettext(lang, "Delete {name} ({target}) and its history? This can't be undone."
                   ).format(name=m.name, target=target)


def removed(lang: str, name: str) -> str:
    return gettext(lang, "🗑️ {name} was deleted.").format(name=name)


def remove_cancelled(lang: str) -> str:
    return gettext(lang, "Nothing was deleted.")


def button_delete(lang: str) -> str:
    return gettext(lang, "Delete")


def button_cancel(lang: str) -> str:
    return gettext(lang, "Cancel")


def choose_monitor(lang: str, action: str) -> str:
    prompts = {
        "status": gettext(lang, "Which monitor do you want to see?"),
        "pause": gettext(lang, "Which monitor do you want to pause?"),
        "resume": gettext(lang, "Which monitor do you want to resume?"),
        "remove": gettext(lang, "Which monitor do you want to delete?"),
    }
    return prompts.get(action, prompts["status"])


def test_ok(lang: str, url: str, status_code: int | None, latency_ms: float | None) -> str:
    if status_code is None:
        return gettext(lang, "✅ {url} answered in {latency}.").format(
            url=url, latency=millis(lang, latency_ms))
    return gettext(lang, "✅ {url} answered HTTP {status} in {latency}.").format(
        url=url, status=status_code, latency=millis(lang, latency_ms))


def test_failed(lang: str, url: str, error: str | None, status_code: int | None,
                code: str | None = None) -> str:
    detail = (describe_failure(lang, code, error, status_code)
              or (f"HTTP {status_code}" if status_code is not None else "?"))
    return gettext(lang, "❌ {url} failed: {error}").format(url=url, error=clip(detail, 300))


def test_condition_failed(lang: str, condition: str, reason: str | None) -> str:
    line = gettext(lang, "Failed: {condition}").format(condition=condition)
    return f"{line} ({reason})" if reason else line


def testing(lang: str, url: str) -> str:
    return gettext(lang, "Checking {url}…").format(url=url)


def language_set(lang: str, code: str | None) -> str:
    if code is None:
        return gettext(lang, "I'll follow your app's language ({language}).").format(
            language=language_name(lang, lang))
    return gettext(lang, "From now on I'll answer and send alerts in {language}.").format(
        language=language_name(lang, code))


def language_current(lang: str, override: str | None) -> str:
    if override is None:
        return gettext(lang, "I'm following your app's language ({language}). Change it with "
                             "{command} en, es or auto.").format(
            language=language_name(lang, lang), command=cmd(lang, "language"))
    return gettext(lang, "I answer in {language} (your choice). Change it with {command} en, "
                         "es or auto.").format(
        language=language_name(lang, override), command=cmd(lang, "language"))


def channel_set(lang: str, m: Monitor, channel: str) -> str:
    return gettext(lang, "Alerts for {name} will also be posted in {channel}.").format(
        name=m.name, channel=channel)


def channel_guild_only(lang: str) -> str:
    return gettext(lang, "This works in a server channel only.")


def channel_cant_post(lang: str, channel: str) -> str:
    return gettext(lang, "I can't post in {channel}. Give me the Send Messages permission "
                         "there, or pick another channel.").format(channel=channel)


def welcome(lang: str) -> str:
    return gettext(
        lang,
        "👋 Welcome to Lighthouse! I watch your websites and APIs and tell you when they go "
        "down and when they come back.\nStart with {example} — {help} lists everything.",
    ).format(example=cmd(lang, "monitor add", "https://example.com"), help=cmd(lang, "help"))


def help_text(lang: str, telegram: bool) -> str:
    def line(command: str, args: str, what: str) -> str:
        return f"{cmd(lang, command, args)} — {what}"

    monitor = gettext(lang, "<monitor>")
    lines = [
        gettext(lang, "Lighthouse watches your websites and APIs and alerts you here."),
        "",
        line("monitor add", gettext(lang, "<url> [name] [interval]"),
             gettext(lang, "start monitoring a URL (interval like 5m, 1h)")),
        line("monitor list", "", gettext(lang, "your monitors and their state")),
        line("monitor status", monitor, gettext(lang, "uptime, latency and a 24 h chart")),
        line("monitor pause", monitor, gettext(lang, "stop checks and alerts")),
        line("monitor resume", monitor, gettext(lang, "start checking again")),
        line("monitor remove", monitor, gettext(lang, "delete a monitor (asks first)")),
        line("monitor test", gettext(lang, "<url>"), gettext(lang, "check a URL once, now")),
    ]
    if not telegram:
        lines.append(line("monitor channel", gettext(lang, "<monitor> [channel]"),
                          gettext(lang, "also post alerts in a server channel")))
    lines += [
        line("status create", gettext(lang, "[address] [monitors…]"),
             gettext(lang, "publish monitors on a public status page")),
        line("language", "[en|es|auto]", gettext(lang, "the language I answer and alert in")),
        line("upgrade", "", gettext(lang, "your plan, and how to get a higher one")),
        "",
        gettext(lang, "A monitor is named by its name or the first characters of its id."),
    ]
    if telegram:
        lines.append(gettext(lang, "Short forms work too: /add, /list, /status, /pause, "
                                   "/resume, /remove, /test."))
    return "\n".join(lines)


def monitor_usage(lang: str) -> str:
    return gettext(lang, "Usage: {command} — see {help}.").format(
        command=cmd(lang, "monitor", "add|list|status|pause|resume|remove|test"),
        help=cmd(lang, "help"))


def unknown_subcommand(lang: str, name: str) -> str:
    return gettext(lang, "I don't know “{name}”. {usage}").format(
        name=clip(name, 40), usage=monitor_usage(lang))


def usage_add(lang: str) -> str:
    return gettext(lang, "Usage: {command}, e.g. {example}").format(
        command=cmd(lang, "monitor add", gettext(lang, "<url> [name] [interval]")),
        example=cmd(lang, "monitor add", "https://example.com Shop 5m"))


def usage_test(lang: str) -> str:
    return gettext(lang, "Usage: {command}").format(
        command=cmd(lang, "monitor test", gettext(lang, "<url>")))


def dm_refused_notice(lang: str, names: list[str]) -> str:
    return ngettext(
        lang,
        "⚠️ I couldn't send you an alert for {names} by direct message: your DMs are closed "
        "to me. Allow direct messages from server members (or from this app) to get them "
        "there; until then they go to the server channel when there is one.",
        "⚠️ I couldn't send you alerts for {names} by direct message: your DMs are closed "
        "to me. Allow direct messages from server members (or from this app) to get them "
        "there; until then they go to the server channel when there is one.",
        len(names),
    ).format(names=", ".join(names))


def alerts_resumed(lang: str, count: int) -> str:
    return ngettext(lang, "🔔 Alerts are back on for {count} monitor in this chat.",
                    "🔔 Alerts are back on for {count} monitors in this chat.", count).format(
        count=count)


def alert_mention(lang: str, user_mention: str) -> str:
    return gettext(lang, "{user}: I couldn't reach you by direct message.").format(
        user=user_mention)


def expired_button(lang: str) -> str:
    return gettext(lang, "That button belongs to someone else or has expired.")


def user_label(who: Identity) -> str:
    """How a reply names a user: a Discord mention (it shows their name), else provider:id."""
    if who.provider is Provider.DISCORD:
        return f"<@{who.subject}>"
    return f"{who.provider.value}:{who.subject}"


def tier_set(lang: str, who: Identity, tier: str, expires_at: datetime | None,
             raised: bool) -> str:
    plan = tier_name(lang, tier)
    if expires_at is not None:
        line = gettext(lang, "✅ {user} now has the {plan} plan until {until}.").format(
            user=user_label(who), plan=plan,
            until=format_datetime(expires_at, "d MMM y", tzinfo=UTC, locale=lang))
    else:
        line = gettext(lang, "✅ {user} now has the {plan} plan, with no end date.").format(
            user=user_label(who), plan=plan)
    if raised:
        line += " " + gettext(lang, "(This Lighthouse gives everyone {plan} already, so "
                                    "that is what they keep.)").format(plan=plan)
    return line


def usage_admin(lang: str) -> str:
    return gettext(lang, "Usage: {command}").format(
        command=cmd(lang, "admin tier", gettext(lang, "<user id> <plan> [days]")))


def plan_summary(lang: str, plan: Tier) -> str:
    if plan.max_monitors is None:
        monitors = gettext(lang, "unlimited monitors")
    else:
        monitors = ngettext(lang, "{n} monitor", "{n} monitors", plan.max_monitors).format(
            n=plan.max_monitors)
    return gettext(lang, "{monitors}, checked as often as {interval}").format(
        monitors=monitors, interval=interval(lang, plan.interval_s))


def upgrade(lang: str, path: UpgradePath) -> str:
    """/upgrade: the plan the user has, and how to get a higher one on this instance."""
    lines = [gettext(lang, "You are on the {plan} plan: {summary}.").format(
        plan=tier_name(lang, path.current.name.value), summary=plan_summary(lang, path.current))]
    if path.expires_at is not None:
        lines.append(gettext(lang, "It lasts until {until}.").format(
            until=format_datetime(path.expires_at, "d MMM y", tzinfo=UTC, locale=lang)))
    if path.next_tier is None:
        lines.append(gettext(lang, "That is the highest plan there is."))
    else:
        lines.append(gettext(lang, "Next up, {plan}: {summary}.").format(
            plan=tier_name(lang, path.next_tier.name.value),
            summary=plan_summary(lang, path.next_tier)))
        if path.pricing_url:
            lines.append(gettext(lang, "Plans are paid in USDC over x402; prices and how to "
                                       "pay: {url}").format(url=path.pricing_url))
            lines.append(gettext(lang, "To have this chat account upgraded, ask the person who "
                                       "runs this Lighthouse."))
        else:
            lines.append(gettext(lang, "This Lighthouse takes no payments: to get a higher plan, "
                                       "ask the person who runs it."))
    if path.is_admin:
        lines.append(gettext(lang, "You are an admin here: give anyone a plan with {command}."
                             ).format(command=cmd(lang, "admin tier",
                                                  gettext(lang, "<user id> <plan> [days]"))))
    return "\n".join(lines)


# --- localized slash-command and parameter names (Discord) ---------------------------------
# Discord shows these to Spanish clients; they must be lowercase, 1-32 characters
# (letters, digits, - and _), which a test checks on the translated payload.
NAME_MONITOR = _T("monitor")
NAME_ADD = _T("add")
NAME_LIST = _T("list")
NAME_STATUS = _T("status")
NAME_PAUSE = _T("pause")
NAME_RESUME = _T("resume")
NAME_REMOVE = _T("remove")
NAME_TEST = _T("test")
NAME_CHANNEL = _T("channel")
NAME_LANGUAGE = _T("language")
NAME_HELP = _T("help")
NAME_UPGRADE = _T("upgrade")
NAME_ADMIN = _T("admin")
NAME_TIER = _T("tier")
PARAM_URL = _T("url")
PARAM_NAME = _T("name")
PARAM_INTERVAL = _T("interval")
PARAM_MONITOR = _T("monitor")
PARAM_CHANNEL = _T("channel")
PARAM_LANGUAGE = _T("language")
PARAM_USER = _T("user")
PARAM_TIER = _T("plan")
PARAM_DAYS = _T("days")
NAME_HEARTBEAT = _T("heartbeat")
NAME_TOKEN = _T("token")
NAME_MAINTENANCE = _T("maintenance")
NAME_INCIDENTS = _T("incidents")
PARAM_PERIOD = _T("period")
PARAM_GRACE = _T("grace")
PARAM_UNTIL = _T("until")
NAME_ALERTS = _T("alerts")
PARAM_KIND = _T("kind")
PARAM_TARGET = _T("target")
PARAM_ID = _T("id")
NAME_CREATE = _T("create")
PARAM_SLUG = _T("address")
PARAM_MONITORS = _T("monitors")
