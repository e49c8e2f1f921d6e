"""What the operator's commands do (the parser is lighthouse/admin_cli.py, which imports
this module only when one of them runs, so `lighthouse healthcheck` stays quick).

Every command goes through the same ``MonitorService`` as chat and the API, as the
operator (``OPERATOR`` in core/service/policy.py) unless ``--owner`` names another user.
It reaches the database the service uses: DATABASE_URL, or the embedded PostgreSQL under
LIGHTHOUSE_DATA_DIR, shared with a service already running on it (lighthouse/runtime.py,
``open_storage``). Output is a table or sentences in the terminal's language, or JSON
with ``--json``. Exit codes: 0 done, 1 the check is down (``monitor show``/``monitor
test``) or a test alert was not delivered, 2 bad input (the message says what to change).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lighthouse import operator_texts as t
from lighthouse.admin_cli import operator_language
from lighthouse.core.alerts.channels.apprise import AppriseChannel
from lighthouse.core.alerts.channels.base import AlertChannel, Outcome
from lighthouse.core.alerts.channels.discord_webhook import DiscordWebhookChannel
from lighthouse.core.alerts.channels.webhook import WebhookChannel
from lighthouse.core.checks import parse_shorthand, target_label
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.errors import LighthouseError, ValidationError
from lighthouse.core.http_client import make_session
from lighthouse.core.jsonsafe import safe_json_loads
from lighthouse.core.models import Identity, Monitor
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.secretbox import load_secret_box
from lighthouse.core.service import MonitorService
from lighthouse.core.service.monitors import MaintenanceWindow
from lighthouse.core.service.policy import OPERATOR, parse_identity, policy_from_settings, tier_rank
from lighthouse.core.settings import Settings, load_settings
from lighthouse.core.state import State

EXIT_OK, EXIT_DOWN, EXIT_BAD_INPUT = 0, 1, 2
TARGET_WIDTH = 60
_DURATION = re.compile(r"^(\d{1,7})\s*([smhd]?)$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


Handler = Callable[["Admin", argparse.Namespace], Awaitable[int]]


class BadInput(Exception):
    """A value the CLI itself could not read; the message is already localized."""


@dataclass
class Admin:
    """What a command runs with: the service as the operator sees it, and how to answer."""

    service: MonitorService
    settings: Settings
    context: CheckContext
    lang: str
    as_json: bool
    owner: Identity

    def say(self, text: str) -> None:
        print(text, flush=True)

    def emit(self, data: dict[str, Any]) -> None:
        print(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2), flush=True)

    def senders(self) -> dict[str, AlertChannel]:
        """The channels this process can send through: HTTP ones (chat kinds need the bot)."""
        url = self.settings.discord_webhook_url
        session = self.context.session
        return {"webhook": WebhookChannel(session), "apprise": AppriseChannel(self.context.guard),
                "discord_webhook": DiscordWebhookChannel(
                    session, url.get_secret_value() if url else None)}


# --- plumbing ------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def open_admin(settings: Settings, lang: str, as_json: bool,
                     owner: Identity) -> AsyncIterator[Admin]:
    from lighthouse.runtime import open_storage

    async with open_storage(settings, pool_size=4) as storage:
        guard = TargetGuard(settings.allow_private_targets)
        session = make_session(guard)
        try:
            ctx = CheckContext(session=session, guard=guard, pool=storage.pool)
            service = MonitorService(storage.pool, guard, ctx, mode=storage.mode,
                                     policy=policy_from_settings(settings),
                                     secrets=load_secret_box(
                                         settings.data_dir, settings.secret_key,
                                         generate=settings.database_url is None,
                                         warn_unset=False))
            yield Admin(service, settings, ctx, lang, as_json, owner)
        finally:
            await session.close()


def _quiet() -> None:
    """Only problems on stderr: stdout is the answer, often read by a script."""
    from lighthouse.core.logging import setup_logging

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    setup_logging("WARNING", "text")


def run(args: argparse.Namespace, handler: Handler) -> int:
    """Run one command: settings, storage and service up, the handler, everything down."""
    return _run(args, lambda admin: handler(admin, args))


def _run(args: argparse.Namespace, action: Callable[[Admin], Awaitable[int]]) -> int:
    lang = operator_language()
    as_json = bool(getattr(args, "json", False))
    _quiet()
    try:
        owner = parse_identity(args.owner) if getattr(args, "owner", None) else OPERATOR
        settings = load_settings()

        async def go() -> int:
            async with open_admin(settings, lang, as_json, owner) as admin:
                return await action(admin)

        return asyncio.run(go())
    except BrokenPipeError:  # the reader stopped early (| head): not our failure
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except LighthouseError as exc:
        return _fail(as_json, exc.to_dict(), t.error(lang, exc))
    except BadInput as exc:
        return _fail(as_json, {"code": "invalid_input", "message": str(exc), "params": {}}, str(exc))


def _fail(as_json: bool, body: dict[str, Any], text: str) -> int:
    if as_json:
        print(json.dumps({"error": body}, default=_json_default, ensure_ascii=False), flush=True)
    else:
        print(f"lighthouse: {text}", file=sys.stderr, flush=True)
    return EXIT_BAD_INPUT


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _clip(text: str, width: int = TARGET_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(m: Monitor) -> str:
    return str(m.public_id)[:8]


def _target(m: Monitor) -> str:
    return target_label(m.type, m.config, fallback=m.target_host)


def _monitor_json(m: Monitor) -> dict[str, Any]:
    return {
        "id": str(m.public_id), "name": m.name, "type": m.type, "target": _target(m),
        "config": m.config, "interval_s": m.interval_s, "state": m.state.value,
        "state_since": m.state_since, "last_check_at": m.last_check_at, "last_ok": m.last_ok,
        "last_error": m.last_error, "last_latency_ms": m.last_latency_ms,
        "maintenance_until": m.maintenance_until, "failure_threshold": m.failure_threshold,
        "success_threshold": m.success_threshold, "tier": m.tier, "created_at": m.created_at,
    }


def _window_json(w: MaintenanceWindow) -> dict[str, Any]:
    return {"id": w.id, "monitor_id": str(w.monitor_public_id), "monitor_name": w.monitor_name,
            "from": w.starts_at, "until": w.ends_at}


def _duration(text: str) -> int:
    """'30s', '5m', '1h', '1d', or bare seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValidationError("unreadable interval", field="interval", reason="format", value=text)
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _time(option: str, text: str | None, lang: str, now: datetime) -> datetime | None:
    """ISO 8601 (UTC when no zone is given), 'now', or '+30m' / '+2h' / '+1d'."""
    if text is None:
        return None
    raw = text.strip()
    if raw.lower() == "now":
        return now
    if raw.startswith("+"):
        try:
            return now + timedelta(seconds=_duration(raw[1:]))
        except ValidationError:
            raise BadInput(t.bad_time(lang, option, text)) from None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadInput(t.bad_time(lang, option, text)) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _json_object(option: str, text: str, lang: str) -> dict[str, Any]:
    try:
        value = safe_json_loads(text)
    except ValueError as exc:
        raise BadInput(t.bad_json(lang, option, str(exc))) from None
    if not isinstance(value, dict):
        raise ValidationError("config must be a JSON object", field="config", reason="not_object")
    return value


# --- monitor -------------------------------------------------------------------------------
async def monitor_add(a: Admin, args: argparse.Namespace) -> int:
    if args.config is not None:
        kind = args.type or "http"
        config = _json_object("--config", args.config, a.lang)
        if args.target and kind == "http":
            config.setdefault("url", args.target)
    elif args.target:
        kind, config = parse_shorthand(args.target)
        if args.type and args.type != kind:
            raise ValidationError("give --config with --type", field="config", reason="not_json")
    else:
        raise ValidationError("a target is needed", field="url", reason="missing")
    interval = _duration(args.interval) if args.interval else None
    options: dict[str, Any] = {"name": args.name, "interval_s": interval, "language": args.language}
    for key in ("failure_threshold", "success_threshold"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    token = None
    if kind == "heartbeat":
        m, token = await a.service.create_heartbeat(a.owner, config=config, **options)
    else:
        m = await a.service.create_monitor(a.owner, config=config, type=kind, **options)
    base = a.settings.public_base_url or f"http://127.0.0.1:{a.settings.api_port}"
    url = f"{base.rstrip('/')}/ping/{token}" if token else None
    if a.as_json:
        a.emit({"monitor": _monitor_json(m), **({"ping_url": url} if url else {})})
    else:
        a.say(t.added(a.lang, m.name, _short(m), _target(m), m.interval_s))
        if url:
            a.say(t.ping_url(a.lang, url))
    return EXIT_OK


async def monitor_list(a: Admin, args: argparse.Namespace) -> int:
    monitors = await a.service.list_monitors(a.owner)
    if a.as_json:
        a.emit({"monitors": [_monitor_json(m) for m in monitors]})
    elif not monitors:
        a.say(t.no_monitors(a.lang))
    else:
        names = ["id", "name", "type", "state", "interval", "last_check", "target"]
        a.say(_table(t.headers(a.lang, names), [
            [_short(m), _clip(m.name, 40), m.type, t.chat.state_name(a.lang, m.state),
             t.chat.interval(a.lang, m.interval_s), t.timestamp(m.last_check_at), _clip(_target(m))]
            for m in monitors]))
    return EXIT_OK


async def monitor_show(a: Admin, args: argparse.Namespace) -> int:
    m, windows = await a.service.uptime(a.owner, args.monitor)
    planned = await a.service.maintenance_windows(a.owner, str(m.public_id))
    if a.as_json:
        a.emit({"monitor": _monitor_json(m), "uptime": [
            {**asdict(w), "uptime": w.uptime} for w in windows],
            "maintenance_windows": [_window_json(w) for w in planned]})
    else:
        a.say("\n".join(t.show_lines(a.lang, m, _target(m), windows, planned, datetime.now(UTC))))
    return EXIT_DOWN if m.state is State.DOWN else EXIT_OK


async def monitor_pause(a: Admin, args: argparse.Namespace) -> int:
    m = await a.service.pause(a.owner, args.monitor)
    a.emit({"monitor": _monitor_json(m)}) if a.as_json else a.say(t.paused(a.lang, m.name, _short(m)))
    return EXIT_OK


async def monitor_resume(a: Admin, args: argparse.Namespace) -> int:
    m = await a.service.resume(a.owner, args.monitor)
    a.emit({"monitor": _monitor_json(m)}) if a.as_json else a.say(t.resumed(a.lang, m.name, _short(m)))
    return EXIT_OK


async def monitor_remove(a: Admin, args: argparse.Namespace) -> int:
    m = await a.service.remove(a.owner, args.monitor)
    a.emit({"monitor": _monitor_json(m)}) if a.as_json else a.say(t.removed(a.lang, m.name, _short(m)))
    return EXIT_OK


async def monitor_history(a: Admin, args: argparse.Namespace) -> int:
    checks = await a.service.history(a.owner, args.monitor, limit=args.limit)
    if a.as_json:
        a.emit({"checks": [asdict(c) for c in checks]})
        return EXIT_OK
    names = ["time", "result", "status", "latency", "error"]
    a.say(_table(t.headers(a.lang, names), [
        [t.timestamp(c.time), t.check_ok(a.lang, c.ok),
         str(c.status_code) if c.status_code is not None else "—",
         t.chat.millis(a.lang, c.latency_ms), _clip(c.error or "", 80)] for c in checks]))
    return EXIT_OK


async def monitor_test(a: Admin, args: argparse.Namespace) -> int:
    m = await a.service.get_monitor(a.owner, args.monitor)
    result = await a.service.check_once(m.type, m.config)
    if a.as_json:
        a.emit({"monitor": _monitor_json(m), "result": result.to_dict()})
    else:
        a.say(t.test_result(a.lang, m.name, result.ok, result.latency_ms, result.status_code,
                            result.error))
        for cond in result.details.get("conditions") or []:
            if isinstance(cond, dict) and not cond.get("ok", True):
                a.say("  " + t.condition_failed(a.lang, str(cond.get("condition", "?")),
                                                cond.get("reason")))
    return EXIT_OK if result.ok else EXIT_DOWN


# --- channel -------------------------------------------------------------------------------
async def channel_add(a: Admin, args: argparse.Namespace) -> int:
    config = _json_object("--config", args.config, a.lang) if args.config is not None else {}
    if args.url:
        config["url"] = args.url
    if args.secret:
        config["secret"] = args.secret
    channel_id = await a.service.add_channel(
        a.owner, args.kind, config, language=args.language, monitor_ref=args.monitor,
        min_severity=args.min_severity)
    if a.as_json:
        shown = next(c for c in await a.service.channel_list(a.owner) if c["id"] == channel_id)
        a.emit({"channel": shown})
    else:
        a.say(t.channel_added(a.lang, channel_id, args.kind, args.monitor))
    return EXIT_OK


async def channel_list(a: Admin, args: argparse.Namespace) -> int:
    channels = await a.service.channel_list(a.owner)
    if a.as_json:
        a.emit({"channels": channels})
    elif not channels:
        a.say(t.no_channels(a.lang))
    else:
        names = ["id", "kind", "enabled", "monitor", "severity", "language", "config"]
        a.say(_table(t.headers(a.lang, names), [
            [str(c["id"]), c["kind"], t.yes_no(a.lang, c["enabled"]),
             c["monitor_name"] or t.all_monitors(a.lang), c["min_severity"], c["language"],
             _clip(json.dumps(c["config"], ensure_ascii=False), 70)] for c in channels]))
    return EXIT_OK


async def channel_test(a: Admin, args: argparse.Namespace) -> int:
    result = await a.service.test_channel(a.owner, args.channel, a.senders())
    delivered = result.outcome is Outcome.DELIVERED
    kind = next((c["kind"] for c in await a.service.channel_list(a.owner)
                 if c["id"] == args.channel), "?")
    if a.as_json:
        a.emit({"channel_id": args.channel, "kind": kind, "outcome": result.outcome.value,
                "delivered": delivered, "error": result.error})
    else:
        a.say(t.channel_tested(a.lang, args.channel, kind, delivered, result.error))
    return EXIT_OK if delivered else EXIT_DOWN


async def channel_remove(a: Admin, args: argparse.Namespace) -> int:
    row = await a.service.remove_channel(a.owner, args.channel)
    if a.as_json:
        a.emit({"channel": row})
    else:
        a.say(t.channel_removed(a.lang, row["id"], row["kind"]))
    return EXIT_OK


# --- user ----------------------------------------------------------------------------------
async def user_tier(a: Admin, args: argparse.Namespace) -> int:
    who = parse_identity(args.user)
    user = await a.service.set_tier(OPERATOR, who, args.tier, days=args.days)
    label = f"{who.provider.value}:{who.subject}"
    raised = tier_rank(user.tier) > tier_rank(args.tier.strip().lower())
    if a.as_json:
        a.emit({"user": label, "tier": user.tier, "tier_expires_at": user.tier_expires_at,
                "set_tier": args.tier.strip().lower(), "raised_by_default_tier": raised})
    else:
        a.say(t.tier_set(a.lang, label, user.tier, user.tier_expires_at, raised))
    return EXIT_OK


# --- maintenance ---------------------------------------------------------------------------
async def maintenance_add(a: Admin, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    starts = _time("--from", args.from_, a.lang, now)
    ends = _time("--until", args.until, a.lang, now)
    assert ends is not None  # required by the parser
    m, window = await a.service.schedule_maintenance(a.owner, args.monitor, starts=starts, ends=ends)
    if a.as_json:
        a.emit({"monitor": _monitor_json(m), "window": _window_json(window) if window else None})
    elif window is None:
        a.say(t.maintenance_now(a.lang, m.name, _short(m), m.maintenance_until or ends))
    else:
        a.say(t.maintenance_planned(a.lang, m.name, _short(m), window.starts_at, window.ends_at))
    return EXIT_OK


async def maintenance_list(a: Admin, args: argparse.Namespace) -> int:
    monitors = ([await a.service.get_monitor(a.owner, args.monitor)] if args.monitor
                else await a.service.list_monitors(a.owner))
    current = [m for m in monitors if m.state is State.MAINTENANCE]
    planned = await a.service.maintenance_windows(a.owner, args.monitor)
    if a.as_json:
        a.emit({"current": [_monitor_json(m) for m in current],
                "planned": [_window_json(w) for w in planned]})
        return EXIT_OK
    if not current and not planned:
        a.say(t.no_maintenance(a.lang))
        return EXIT_OK
    rows = [[_short(m), _clip(m.name, 40), t.now_label(a.lang), "—", t.timestamp(m.maintenance_until)]
            for m in current]
    rows += [[str(w.monitor_public_id)[:8], _clip(w.monitor_name, 40), t.planned_label(a.lang),
              t.timestamp(w.starts_at), t.timestamp(w.ends_at)] for w in planned]
    a.say(_table(t.headers(a.lang, ["id", "monitor", "when", "from", "until"]), rows))
    return EXIT_OK


async def maintenance_end(a: Admin, args: argparse.Namespace) -> int:
    m, cancelled = await a.service.end_maintenance(a.owner, args.monitor)
    if a.as_json:
        a.emit({"monitor": _monitor_json(m), "cancelled_windows": cancelled})
    else:
        a.say(t.maintenance_ended(a.lang, m.name, _short(m), cancelled))
    return EXIT_OK
