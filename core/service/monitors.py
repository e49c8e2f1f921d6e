"""Monitors: create (with a dry run that paid requests use before payment), find, change
state (pause, resume, maintenance now or planned), remove, and read their history and uptime.

Every change a person makes is logged as one line naming the monitor and its id, beside
the state changes the result writer logs (core/storage/results.py)."""

from __future__ import annotations

import logging
import random
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from lighthouse.core import limits
from lighthouse.core.checks import get_check_type, parse_config
from lighthouse.core.checks.base import (
    CheckConfig,
    CheckContext,
    CheckResult,
    CheckType,
    PreflightContext,
)
from lighthouse.core.checks.runner import run_parsed
from lighthouse.core.errors import (
    InvalidStateError,
    MonitorLimitReachedError,
    MonitorNotFoundError,
    TierFeatureError,
    ValidationError,
)
from lighthouse.core.models import CheckRecord, Identity, Monitor, Provider, UptimeWindow, User
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.state import State
from lighthouse.core.storage import maintenance as maintenance_rows
from lighthouse.core.storage import monitors as monitor_rows
from lighthouse.core.storage import rollups, tokens
from lighthouse.core.storage import users as user_rows
from lighthouse.core.storage.database import Pool, StorageMode
from lighthouse.core.text import clean_text
from lighthouse.core.tiers import Tier, tier
from lighthouse.core.uptime import with_exact_day

log = logging.getLogger("lighthouse.monitors")

MANAGEMENT_TOKEN_PREFIX = "lhm_"
# The longest maintenance window: longer is a pause.
MAX_MAINTENANCE = timedelta(days=366)


def log_change(m: Monitor, what: str, who: Identity | None = None, **extra: Any) -> None:
    """One line per change a person made, naming the monitor the way the CLI finds it."""
    fields: dict[str, Any] = {"monitor_id": str(m.public_id), "monitor_name": m.name,
                              "monitor_type": m.type, **extra}
    if who is not None:
        fields["by"] = who.provider.value
    log.info("monitor %s (%s) %s", m.name, str(m.public_id)[:8], what, extra=fields)


@dataclass(frozen=True)
class MaintenanceWindow:
    """Maintenance planned ahead for one monitor."""

    id: int
    monitor_public_id: uuid.UUID
    monitor_name: str
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> MaintenanceWindow:
        return cls(row["id"], row["monitor_public_id"], row["monitor_name"], row["starts_at"],
                   row["ends_at"])


@dataclass(frozen=True)
class MonitorDraft:
    """A monitor that passed every rule and is ready to be stored (``validate_monitor``)."""

    check: CheckType[Any]
    config: CheckConfig
    name: str | None
    interval_s: int
    plan: Tier
    failure_threshold: int
    success_threshold: int
    language: str | None


class MonitorsMixin:
    _pool: Pool
    _now: Callable[[], datetime]
    _ctx: CheckContext | None
    _mode: StorageMode
    guard: TargetGuard

    if TYPE_CHECKING:  # provided by the sibling mixins in MonitorService
        async def find_user(self, who: Identity) -> User | None: ...  # UsersMixin
        async def ensure_user(self, who: Identity, language: str | None = None) -> User: ...
        def plan_of(self, who: Identity, user: User | None) -> Tier: ...

    # --- creation ---------------------------------------------------------------
    async def validate_monitor(
        self,
        who: Identity,
        *,
        config: dict[str, Any],
        type: str = "http",
        name: str | None = None,
        interval_s: int | None = None,
        language: str | None = None,
        failure_threshold: int = 3,
        success_threshold: int = 2,
        tier_name: str | None = None,
    ) -> MonitorDraft:
        """Every rule ``create_monitor`` applies, without writing anything.

        ``tier_name``: judge by this tier instead of the owner's current one (a paid request
        checks what it is about to buy, before the payment)."""
        check = get_check_type(type)
        parsed = parse_config(type, config)
        user = await self.find_user(who)
        plan = tier(tier_name) if tier_name else self.plan_of(who, user)
        if check.required_feature and check.required_feature not in plan.features:
            raise TierFeatureError(f"{type} monitors need a higher tier",
                                   feature=check.required_feature, tier=plan.name.value)
        interval = limits.interval(interval_s, plan)
        limits.threshold("failure_threshold", failure_threshold)
        limits.threshold("success_threshold", success_threshold)
        clean_name = limits.monitor_name(name)
        limits.language(language)
        await self.preflight(check, parsed)
        if user is not None:
            async with self._pool.acquire() as conn:
                await self._check_room(conn, user.id, check, plan)
        return MonitorDraft(check, parsed, clean_name, interval, plan, failure_threshold,
                            success_threshold, language)

    @staticmethod
    async def _check_room(conn: Any, owner_id: int, check: CheckType[Any], plan: Tier) -> None:
        if plan.max_monitors is not None and await monitor_rows.count(conn, owner_id) >= plan.max_monitors:
            raise MonitorLimitReachedError("monitor limit reached", limit=plan.max_monitors,
                                           tier=plan.name.value)
        group = check.limit_group
        cap = plan.group_limit(group) if group else None
        if group and cap is not None:
            from lighthouse.core.checks import check_types

            same = [n for n, t in check_types().items() if t.limit_group == group]
            if await monitor_rows.count(conn, owner_id, same) >= cap:
                raise MonitorLimitReachedError(f"{group} limit reached", limit=cap,
                                               tier=plan.name.value, kind=group)

    async def create_monitor(
        self,
        who: Identity,
        *,
        config: dict[str, Any],
        type: str = "http",
        name: str | None = None,
        interval_s: int | None = None,
        language: str | None = None,
        failure_threshold: int = 3,
        success_threshold: int = 2,
    ) -> Monitor:
        draft = await self.validate_monitor(
            who, config=config, type=type, name=name, interval_s=interval_s, language=language,
            failure_threshold=failure_threshold, success_threshold=success_threshold,
        )
        user = await self.ensure_user(who)
        plan = tier(user.tier)
        described = draft.check.describe(draft.config)[:limits.MAX_NAME]
        now = self._now()
        first_due = now + timedelta(seconds=random.uniform(0, min(draft.interval_s, 30)))
        async with self._pool.acquire() as conn, conn.transaction():
            # The owner is locked, so concurrent creates cannot pass a limit together.
            await user_rows.lock(conn, user.id)
            await self._check_room(conn, user.id, draft.check, plan)
            label = await monitor_rows.unique_name(conn, user.id, draft.name or described)
            row = await monitor_rows.insert(
                conn, owner_id=user.id, name=label, type=type,
                config=draft.config.model_dump(mode="json", exclude_defaults=True),
                target_host=draft.check.target_host(draft.config), interval_s=draft.interval_s,
                tier=plan.name.value, failure_threshold=draft.failure_threshold,
                success_threshold=draft.success_threshold,
                language=language or user.language or "en", next_due=first_due,
                expires_at=user.tier_expires_at,
            )
        m = Monitor.from_row(row)
        log_change(m, "added", who, interval_s=m.interval_s)
        return m

    async def create_heartbeat(
        self,
        who: Identity,
        *,
        config: dict[str, Any],
        name: str | None = None,
        interval_s: int | None = None,
        language: str | None = None,
        failure_threshold: int = 1,
        success_threshold: int = 1,
    ) -> tuple[Monitor, str]:
        """A heartbeat monitor and its secret ping token, returned only here (only its hash
        is stored). ``config``: period_s, grace_s, max_run_s (core/checks/heartbeat.py)."""
        from lighthouse.core.checks import heartbeat as hb

        if "token_hash" in config:
            raise ValidationError("token_hash is set by the server", field="token_hash",
                                  reason="read_only")
        token = hb.new_token()
        token_hash = hb.hash_token(token)
        await hb.reserve_heartbeat(self._pool, token_hash)
        monitor: Monitor | None = None
        try:
            monitor = await self.create_monitor(
                who, type="heartbeat", config={**config, "token_hash": token_hash}, name=name,
                interval_s=interval_s, language=language,
                failure_threshold=failure_threshold, success_threshold=success_threshold,
            )
        finally:
            await hb.attach_heartbeat(self._pool, token_hash, monitor.id if monitor else None)
        return monitor, token

    async def rotate_heartbeat_token(self, who: Identity, ref: str) -> tuple[Monitor, str]:
        """A new secret ping token for a heartbeat monitor; the old URL stops working."""
        from lighthouse.core.checks import heartbeat as hb

        m = await self.get_monitor(who, ref)
        if m.type != "heartbeat":
            raise ValidationError("not a heartbeat monitor", field="monitor", reason="type",
                                  type=m.type)
        token = hb.new_token()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await monitor_rows.set_token_hash(conn, m.id, hb.hash_token(token))
        return Monitor.from_row(row), token

    async def issue_management_token(self, m: Monitor, payment_id: int | None = None) -> str:
        """A bearer token that manages this one monitor (``Identity(Provider.TOKEN, token)``);
        shown once, only its hash is stored."""
        token = MANAGEMENT_TOKEN_PREFIX + secrets.token_urlsafe(32)
        await tokens.issue(self._pool, m.id, token, payment_id)
        return token

    # --- finding --------------------------------------------------------------------
    async def list_monitors(self, who: Identity) -> list[Monitor]:
        user = await self.find_user(who)
        if user is None:
            return []
        return [Monitor.from_row(r) for r in await monitor_rows.of_owner(self._pool, user.id)]

    async def get_monitor(self, who: Identity, ref: str) -> Monitor:
        """One of the caller's monitors by id, id prefix (>= 6 chars) or name. A management
        token (Provider.TOKEN) reaches exactly its monitor, by id; anything else reads as
        "not found", so ids cannot be probed with a wrong token."""
        ref = clean_text(ref.strip())
        if who.provider is Provider.TOKEN:
            return await self._by_token(who.subject, ref)
        user = await self.find_user(who)
        row = await monitor_rows.find(self._pool, user.id, ref) if user is not None and ref else None
        if row is None:
            raise MonitorNotFoundError("no such monitor", ref=ref)
        return Monitor.from_row(row)

    async def _by_token(self, token: str, ref: str) -> Monitor:
        try:
            public_id = uuid.UUID(ref)
        except ValueError:
            raise MonitorNotFoundError("no such monitor", ref=ref) from None
        row = None
        if token and len(token) <= 200 and await tokens.monitor_for(self._pool, token, public_id):
            row = await monitor_rows.by_public_id(self._pool, public_id)
        if row is None:
            raise MonitorNotFoundError("no such monitor for this token", ref=ref)
        return Monitor.from_row(row)

    # --- state ------------------------------------------------------------------------
    async def pause(self, who: Identity, ref: str) -> Monitor:
        m = await self.get_monitor(who, ref)
        if m.state is State.PAUSED:
            raise InvalidStateError("monitor is already paused", state=m.state.value, name=m.name)
        changed = await self._set_state(m, "state = 'paused', consecutive_failures = 0, "
                                           "consecutive_successes = 0")
        log_change(changed, "paused", who, from_state=m.state.value, to_state="paused")
        return changed

    async def resume(self, who: Identity, ref: str) -> Monitor:
        m = await self.get_monitor(who, ref)
        if m.state is not State.PAUSED:
            raise InvalidStateError("monitor is not paused", state=m.state.value, name=m.name)
        changed = await self._set_state(
            m, "state = 'pending', consecutive_failures = 0, consecutive_successes = 0, "
               "incident_started_at = NULL, next_due = now()"
        )
        log_change(changed, "resumed", who, from_state="paused", to_state="pending")
        return changed

    async def set_maintenance(self, who: Identity, ref: str, until: datetime | None) -> Monitor:
        """Enter maintenance until a time (results recorded, no alerts), or end it (None)."""
        m = await self.get_monitor(who, ref)
        if until is None:
            if m.state is not State.MAINTENANCE:
                raise InvalidStateError("monitor is not in maintenance", state=m.state.value)
            changed = await self._set_state(m, "maintenance_until = now()")
            log_change(changed, "leaves maintenance at its next check", who)
            return changed
        if until.tzinfo is None:
            raise ValidationError("until needs a time zone", field="until", reason="naive")
        if until <= self._now():
            raise ValidationError("maintenance must end in the future", field="until", reason="past")
        if until - self._now() > MAX_MAINTENANCE:
            raise ValidationError("maintenance is at most 366 days", field="until",
                                  reason="too_long", max_days=MAX_MAINTENANCE.days)
        if m.state is State.PAUSED:
            raise InvalidStateError("monitor is paused", state=m.state.value)
        changed = await self._set_state(m, "state = 'maintenance', maintenance_until = $2", until)
        log_change(changed, "in maintenance", who, from_state=m.state.value,
                   to_state="maintenance", until=until.isoformat())
        return changed

    async def schedule_maintenance(
        self, who: Identity, ref: str, *, starts: datetime | None, ends: datetime
    ) -> tuple[Monitor, MaintenanceWindow | None]:
        """Maintenance from ``starts`` (None or past: now) until ``ends``. A window that
        starts later is stored and applied when it starts (None is returned for one that
        started at once). A paused monitor stays paused through its windows."""
        now = self._now()
        if starts is not None and starts.tzinfo is None:
            raise ValidationError("from needs a time zone", field="from", reason="naive")
        if starts is None or starts <= now:
            return await self.set_maintenance(who, ref, ends), None
        if ends.tzinfo is None:
            raise ValidationError("until needs a time zone", field="until", reason="naive")
        if ends <= starts:
            raise ValidationError("maintenance must end after it starts", field="until",
                                  reason="before_start")
        if ends - now > MAX_MAINTENANCE:
            raise ValidationError("maintenance is at most 366 days", field="until",
                                  reason="too_long", max_days=MAX_MAINTENANCE.days)
        m = await self.get_monitor(who, ref)
        window = MaintenanceWindow.from_row(await maintenance_rows.add(self._pool, m.id, starts, ends))
        log_change(m, "has maintenance planned", who, starts_at=starts.isoformat(),
                   until=ends.isoformat())
        return m, window

    async def maintenance_windows(self, who: Identity, ref: str | None = None
                                  ) -> list[MaintenanceWindow]:
        """Planned windows (not yet started) of the caller's monitors, or of one."""
        user = await self.find_user(who)
        if user is None:
            return []
        monitor_id = (await self.get_monitor(who, ref)).id if ref else None
        rows = await maintenance_rows.of_owner(self._pool, user.id, monitor_id)
        return [MaintenanceWindow.from_row(r) for r in rows]

    async def end_maintenance(self, who: Identity, ref: str) -> tuple[Monitor, int]:
        """Leave maintenance now and drop the windows planned for the monitor; returns
        the monitor and how many planned windows were dropped."""
        m = await self.get_monitor(who, ref)
        dropped = await maintenance_rows.cancel(self._pool, m.id)
        if dropped:
            log_change(m, f"had {dropped} planned maintenance window(s) cancelled", who)
        if m.state is State.MAINTENANCE:
            m = await self.set_maintenance(who, ref, None)
        elif not dropped:
            raise InvalidStateError("monitor is not in maintenance", state=m.state.value,
                                    name=m.name)
        return m, dropped

    async def _set_state(self, m: Monitor, assignments: str, *args: Any) -> Monitor:
        row = await monitor_rows.set_state(self._pool, m.id, assignments, *args)
        if row is None:
            raise MonitorNotFoundError("no such monitor", ref=str(m.public_id))
        return Monitor.from_row(row)

    async def remove(self, who: Identity, ref: str) -> Monitor:
        m = await self.get_monitor(who, ref)
        await monitor_rows.delete(self._pool, m.id)
        log_change(m, "removed", who)
        return m

    async def monitor_count(self) -> int:
        """Monitors on the whole instance (the start banner says what to do when none)."""
        return await monitor_rows.total(self._pool)

    # --- reading ----------------------------------------------------------------------
    async def history(
        self, who: Identity, ref: str, *, limit: int = 50, before: datetime | None = None
    ) -> list[CheckRecord]:
        m = await self.get_monitor(who, ref)
        return await self.history_of(m, limit=limit, before=before)

    async def history_of(
        self, m: Monitor, *, limit: int = 50, before: datetime | None = None
    ) -> list[CheckRecord]:
        if not 1 <= limit <= 1000:
            raise ValidationError("limit must be 1..1000", field="limit", reason="range")
        now = self._now()
        since = now - timedelta(days=tier(m.tier).retention_days)
        if before is not None and before.tzinfo is None:
            raise ValidationError("before needs a time zone", field="before", reason="naive")
        if before is not None and not since <= before <= now + timedelta(days=1):
            return []  # outside what is kept: nothing, rather than a query PostgreSQL refuses
        rows = await monitor_rows.history(self._pool, m.id, before=before or now + timedelta(seconds=1),
                                          since=since, limit=limit)
        return [CheckRecord(**dict(r)) for r in rows]

    async def uptime(self, who: Identity, ref: str) -> tuple[Monitor, list[UptimeWindow]]:
        m = await self.get_monitor(who, ref)
        return m, await self.uptime_of(m)

    async def uptime_of(self, m: Monitor) -> list[UptimeWindow]:
        """24 h (exact, from raw checks) and 7 d / 30 d / 90 d (rollups): the one source of
        uptime figures for chat, the API and status pages (core/uptime.py)."""
        windows = await rollups.uptime_windows(self._pool, m.id, self._now(), mode=self._mode)
        return with_exact_day(windows, await self.latency_series(m, 24))

    async def latency_series(self, m: Monitor, hours: int = 24) -> list[tuple[datetime, int | None, bool]]:
        rows = await monitor_rows.latency_series(self._pool, m.id, self._now() - timedelta(hours=hours))
        return [(r["time"], r["latency_ms"], r["ok"]) for r in rows]

    async def preflight(self, check: CheckType[Any], parsed: CheckConfig) -> None:
        """A type's validation at creation that needs I/O (the guard refuses a private
        target; the database, a heartbeat row not reserved for the new monitor). The API
        runs it before settling a payment, so what creation refuses is never charged."""
        await check.preflight(parsed, PreflightContext(self.guard, self._pool))

    # --- one-off checks -----------------------------------------------------------------
    async def check_once(self, type: str, config: dict[str, Any]) -> CheckResult:
        """Run one check now (``/monitor test``, paid ``/v1/check``); same validation and guard."""
        if self._ctx is None:
            raise RuntimeError("MonitorService was built without a check context")
        check = get_check_type(type)
        parsed = parse_config(type, config)
        await self.preflight(check, parsed)
        return await run_parsed(check, parsed, self._ctx)
