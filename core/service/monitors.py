"""Monitors: create (with a dry run that paid requests use before payment), find, change
state (pause, resume, maintenance now or planned), remove, and read their history and uptime.

Every change a person makes is logged as one line naming the monitor and its id, beside
the state changes the result writer logs (core/storage/results.py)."""

from __future__ import annotations

import dataclasses
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
    AmbiguousMonitorError,
    InvalidStateError,
    MonitorLimitReachedError,
    MonitorNotFoundError,
    TierFeatureError,
    ValidationError,
)
from lighthouse.core.models import (
    CheckRecord,
    Identity,
    Incident,
    Monitor,
    Provider,
    UptimeWindow,
    User,
)
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.state import State
from lighthouse.core.storage import incidents as incident_rows
from lighthouse.core.storage import maintenance as maintenance_rows
from lighthouse.core.storage import monitors as monitor_rows
from lighthouse.core.storage import rollups, tokens
from lighthouse.core.storage import users as user_rows
from lighthouse.core.storage.database import Pool, StorageMode
from lighthouse.core.text import clean_text
from lighthouse.core.tiers import Tier, lowest_tier_with, tier
from lighthouse.core.uptime import with_exact_day

log = logging.getLogger("lighthouse.monitors")

MANAGEMENT_TOKEN_PREFIX = "lhm_"
# A window longer than this is a pause by another name (and far-future instants are
# where date arithmetic and PostgreSQL's range end).
MAX_MAINTENANCE = timedelta(days=366)
MAX_INCIDENTS = 200  # per read
_CANDIDATES = 5  # names listed when a prefix starts several monitors


@dataclass(frozen=True)
class Purchase:
    """A paid tier period bought together with a monitor (the x402 API). It is applied in
    the transaction that stores the monitor, so a creation refused there (a limit reached
    by a concurrent request) extends nothing: the buyer is refunded, not half-served."""

    tier_name: str
    period: timedelta

# (failure_threshold, success_threshold) when not given: a heartbeat's missed ping is the
# failure itself; a checked target gets a few tries before it is called down.
MONITOR_THRESHOLDS = (3, 2)
HEARTBEAT_THRESHOLDS = (1, 1)


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


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


class MonitorsMixin:
    _pool: Pool
    _now: Callable[[], datetime]
    _ctx: CheckContext | None
    _mode: StorageMode
    guard: TargetGuard

    if TYPE_CHECKING:  # provided by the sibling mixins in MonitorService
        async def find_user(self, who: Identity) -> User | None: ...  # UsersMixin
        async def ensure_user(self, who: Identity, language: str | None = None) -> User: ...
        def _plan_of(self, who: Identity, user: User | None) -> Tier: ...

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
        checks what it is about to buy, before the payment). For type ``heartbeat`` with no
        ``token_hash``, the rules ``create_heartbeat`` applies (it makes the ping URL)."""
        if type == "heartbeat" and "token_hash" not in config:
            from lighthouse.core.checks import heartbeat as hb

            return await self._validate(
                who, config=hb.draft_config(config), type=type,
                name=name, interval_s=interval_s, language=language,
                failure_threshold=failure_threshold, success_threshold=success_threshold,
                tier_name=tier_name, preflight=False)
        return await self._validate(
            who, config=config, type=type, name=name, interval_s=interval_s, language=language,
            failure_threshold=failure_threshold, success_threshold=success_threshold,
            tier_name=tier_name)

    async def _validate(
        self,
        who: Identity,
        *,
        config: dict[str, Any],
        type: str,
        name: str | None,
        interval_s: int | None,
        language: str | None,
        failure_threshold: int,
        success_threshold: int,
        tier_name: str | None,
        preflight: bool = True,
    ) -> MonitorDraft:
        user = await self.find_user(who)
        plan = tier(tier_name) if tier_name else self._plan_of(who, user)
        draft = await self._draft(plan, type=type, config=config, name=name, interval_s=interval_s,
                                  language=language, failure_threshold=failure_threshold,
                                  success_threshold=success_threshold, preflight=preflight)
        if user is not None:
            async with self._pool.acquire() as conn:
                await self._check_room(conn, user.id, draft.check, plan)
        return draft

    async def _draft(
        self,
        plan: Tier,
        *,
        type: str,
        config: dict[str, Any],
        name: str | None,
        interval_s: int | None,
        language: str | None,
        failure_threshold: int,
        success_threshold: int,
        preflight: bool = True,
    ) -> MonitorDraft:
        """The rules of one monitor under a tier (not the owner's room for it): the same
        for a creation, an update and each entry of a monitors-as-code file."""
        check = get_check_type(type)
        parsed = parse_config(type, config)
        if check.required_feature and check.required_feature not in plan.features:
            raise TierFeatureError(f"{type} monitors need a higher tier",
                                   feature=check.required_feature, tier=plan.name.value,
                                   needs=lowest_tier_with(check.required_feature))
        interval = limits.interval(interval_s, plan)
        limits.threshold("failure_threshold", failure_threshold)
        limits.threshold("success_threshold", success_threshold)
        clean_name = limits.monitor_name(name)
        limits.language(language)
        if preflight:
            await self._preflight(check, parsed)
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
        purchase: Purchase | None = None,
    ) -> Monitor:
        """``purchase``: a tier period paid with this monitor, applied with it or not at all."""
        draft = await self._validate(
            who, config=config, type=type, name=name, interval_s=interval_s, language=language,
            failure_threshold=failure_threshold, success_threshold=success_threshold,
            tier_name=purchase.tier_name if purchase else None,
        )
        user = await self.ensure_user(who)
        plan = tier(user.tier)
        expires_at = user.tier_expires_at
        described = draft.check.describe(draft.config)[:limits.MAX_NAME]
        async with self._pool.acquire() as conn, conn.transaction():
            # The owner is locked, so concurrent creates cannot pass a limit together.
            await user_rows.lock(conn, user.id)
            if purchase is not None:
                bought = await user_rows.extend_tier_on(conn, user.id, purchase.tier_name,
                                                        purchase.period)
                plan, expires_at = tier(purchase.tier_name), bought["tier_expires_at"]
            await self._check_room(conn, user.id, draft.check, plan)
            label = await monitor_rows.unique_name(conn, user.id, draft.name or described)
            row = await monitor_rows.insert(conn, **self._new_row(draft, user, plan, label,
                                                                  expires_at=expires_at))
        m = Monitor.from_row(row)
        log_change(m, "added", who, interval_s=m.interval_s)
        return m

    def _new_row(self, draft: MonitorDraft, user: User, plan: Tier, name: str, *,
                 expires_at: datetime | None = None) -> dict[str, Any]:
        """The stored form of a validated monitor (one creation or many); ``expires_at``: the
        end of a tier period bought with it (else the owner's)."""
        # Spread over the first interval (at most 30 s), so a batch does not start at once.
        first_due = self._now() + timedelta(seconds=random.uniform(0, min(draft.interval_s, 30)))
        return {
            "owner_id": user.id, "name": name, "type": draft.check.name,
            "config": draft.config.model_dump(mode="json", exclude_defaults=True),
            "target_host": draft.check.target_host(draft.config), "interval_s": draft.interval_s,
            "tier": plan.name.value, "failure_threshold": draft.failure_threshold,
            "success_threshold": draft.success_threshold,
            "language": draft.language or user.language or "en", "next_due": first_due,
            "expires_at": expires_at or user.tier_expires_at,
        }

    async def update_monitor(
        self,
        who: Identity,
        ref: str,
        *,
        config: dict[str, Any] | None = None,
        name: str | None = None,
        interval_s: int | None = None,
        language: str | None = None,
        failure_threshold: int | None = None,
        success_threshold: int | None = None,
        managed_hash: str | None = None,
    ) -> Monitor:
        """Change a monitor in place (its id, state and history stay), through the rules a
        creation passes; what is not given stays. The type cannot change (a heartbeat's
        ping URL, a monitor's history mean one kind of check).

        ``managed_hash``: the file entry this update applies (core/config_file/); any other
        update clears it, so the next apply of the file sees the monitor as changed."""
        m = await self.get_monitor(who, ref)
        user = await self.find_user(who)  # None for a management token: the monitor's tier
        new_config = dict(m.config if config is None else config)
        if m.type == "heartbeat":
            if config is not None and "token_hash" in config:
                raise ValidationError("token_hash is set by the server", field="token_hash",
                                      reason="read_only")
            new_config["token_hash"] = m.config.get("token_hash")
        draft = await self._draft(
            tier(user.tier if user else m.tier), type=m.type, config=new_config,
            name=m.name if name is None else name,
            interval_s=m.interval_s if interval_s is None else interval_s,
            language=m.language if language is None else language,
            failure_threshold=m.failure_threshold if failure_threshold is None else failure_threshold,
            success_threshold=m.success_threshold if success_threshold is None else success_threshold,
            # A heartbeat's ping row already belongs to this monitor: no reservation to check.
            preflight=m.type != "heartbeat",
        )
        label = draft.name or m.name
        async with self._pool.acquire() as conn, conn.transaction():
            await user_rows.lock(conn, m.owner_id)
            if label.lower() != m.name.lower() and await monitor_rows.name_taken(
                    conn, m.owner_id, label, m.id):
                raise ValidationError("another monitor has this name", field="name",
                                      reason="taken", name=label)
            row = await monitor_rows.update(
                conn, m.id, name=label,
                config=draft.config.model_dump(mode="json", exclude_defaults=True),
                target_host=draft.check.target_host(draft.config), interval_s=draft.interval_s,
                failure_threshold=draft.failure_threshold,
                success_threshold=draft.success_threshold, language=draft.language or m.language,
                managed_hash=managed_hash,
            )
        if row is None:
            raise MonitorNotFoundError("no such monitor", ref=ref)
        changed = Monitor.from_row(row)
        log_change(changed, "changed", who, interval_s=changed.interval_s)
        return changed

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
        purchase: Purchase | None = None,
        token: str | None = None,
    ) -> tuple[Monitor, str]:
        """A heartbeat monitor and its secret ping token, returned only here (only its hash
        is stored). ``config``: period_s, grace_s, max_run_s (core/checks/heartbeat.py).
        ``token``: the operator's own token (a file names it, so the URL is known before
        the monitor exists); None: a new random one."""
        from lighthouse.core.checks import heartbeat as hb

        hb.draft_config(config)  # refuses a token_hash sent in
        token = hb.new_token() if token is None else await self._free_ping_token(token)
        token_hash = hb.hash_token(token)
        await hb.reserve_heartbeat(self._pool, token_hash)
        monitor: Monitor | None = None
        try:
            monitor = await self.create_monitor(
                who, type="heartbeat", config={**config, "token_hash": token_hash}, name=name,
                interval_s=interval_s, language=language,
                failure_threshold=failure_threshold, success_threshold=success_threshold,
                purchase=purchase,
            )
        finally:
            await hb.attach_heartbeat(self._pool, token_hash, monitor.id if monitor else None)
        return monitor, token

    async def rotate_heartbeat_token(self, who: Identity, ref: str, token: str | None = None
                                     ) -> tuple[Monitor, str]:
        """A new secret ping token for a heartbeat monitor (``token``, or a random one); the
        old URL stops working."""
        from lighthouse.core.checks import heartbeat as hb

        m = await self.get_monitor(who, ref)
        if m.type != "heartbeat":
            raise ValidationError("not a heartbeat monitor", field="monitor", reason="type",
                                  type=m.type)
        token = hb.new_token() if token is None else await self._free_ping_token(token)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await monitor_rows.set_token_hash(conn, m.id, hb.hash_token(token))
        return Monitor.from_row(row), token

    async def _free_ping_token(self, token: str) -> str:
        """A ping token chosen by the operator: the format of generated ones, and unused
        (checked first, so a taken one is a typed error, not a failed transaction)."""
        from lighthouse.core.checks import heartbeat as hb

        if not hb.TOKEN_RE.match(token):
            raise ValidationError("a ping token is 20 to 64 letters, digits, - or _",
                                  field="token", reason="format")
        if await hb.heartbeat_exists(self._pool, hb.hash_token(token)):
            raise ValidationError("this ping token is already used", field="token", reason="taken")
        return token

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
        row = None if user is None else await self._owned_monitor_row(user.id, ref)
        if row is None:
            raise MonitorNotFoundError("no such monitor", ref=ref)
        return Monitor.from_row(row)

    async def _owned_monitor_row(self, owner_id: int, ref: str) -> Any:
        """The owner's monitor named by its id, its name, or the start of one name (None
        when none is); another owner's monitor is never found."""
        row = None
        if _is_uuid(ref):
            # A whole id: one probe of its unique index (the search below reads every one of
            # the owner's monitors, which a file of thousands makes slow per update).
            row = await monitor_rows.by_public_id(self._pool, uuid.UUID(ref))
            if row is not None and row["owner_id"] != owner_id:
                row = None
        if row is None and ref:
            row = await monitor_rows.find(self._pool, owner_id, ref)
            if row is None:  # the start of a name, when it starts only one
                names = await monitor_rows.named_like(self._pool, owner_id, ref, _CANDIDATES + 1)
                if len(names) > 1:
                    raise AmbiguousMonitorError("several monitors start so", ref=ref,
                                                candidates=names[:_CANDIDATES],
                                                more=len(names) > _CANDIDATES)
                if names:
                    row = await monitor_rows.find(self._pool, owner_id, names[0])
        return row

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
        # A paused monitor is not checked, so nothing would ever end its incident.
        changed = await self._set_state(m, "state = 'paused', consecutive_failures = 0, "
                                           "consecutive_successes = 0, incident_started_at = NULL, "
                                           "incident_failures = 0", end_incident="paused")
        log_change(changed, "paused", who, from_state=m.state.value, to_state="paused")
        return changed

    async def resume(self, who: Identity, ref: str) -> Monitor:
        m = await self.get_monitor(who, ref)
        if m.state is not State.PAUSED:
            raise InvalidStateError("monitor is not paused", state=m.state.value, name=m.name)
        changed = await self._set_state(
            m, "state = 'pending', consecutive_failures = 0, consecutive_successes = 0, "
               "incident_started_at = NULL, incident_failures = 0, next_due = now()"
        )
        log_change(changed, "resumed", who, from_state="paused", to_state="pending")
        return changed

    async def set_maintenance(self, who: Identity, ref: str, until: datetime | None) -> Monitor:
        """Enter maintenance until a time (results recorded, no alerts), or end it (None).

        Ending sets the window's end to now; the next check leaves maintenance and sends
        the note that it is over (core/state.py). Entering ends an incident in progress:
        failures inside the window are expected, not part of it."""
        m = await self.get_monitor(who, ref)
        if until is None:
            if m.state is not State.MAINTENANCE:
                raise InvalidStateError("monitor is not in maintenance", state=m.state.value)
            # Checked at once, so the note that the window is over does not wait an interval.
            changed = await self._set_state(m, "maintenance_until = now(), "
                                               "next_due = least(next_due, now())")
            log_change(changed, "leaves maintenance at its next check", who)
            return changed
        if until.tzinfo is None:
            raise ValidationError("until needs a time zone", field="until", reason="naive")
        now = self._now()
        if until <= now:
            raise ValidationError("maintenance must end in the future", field="until", reason="past")
        if until - now > MAX_MAINTENANCE:
            raise ValidationError("maintenance may last at most 366 days (pause the monitor "
                                  "instead)", field="until", reason="too_far",
                                  max_days=MAX_MAINTENANCE.days)
        if m.state is State.PAUSED:
            raise InvalidStateError("monitor is paused", state=m.state.value)
        changed = await self._set_state(
            m, "state = 'maintenance', maintenance_until = $2, incident_started_at = NULL, "
               "incident_failures = 0", until, end_incident="maintenance")
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

    async def _set_state(self, m: Monitor, assignments: str, *args: Any,
                         end_incident: incident_rows.EndReason | None = None) -> Monitor:
        async with self._pool.acquire() as conn, conn.transaction():
            if end_incident is not None:
                await incident_rows.close_open(conn, m.id, end_incident)
            row = await monitor_rows.set_state(conn, m.id, assignments, *args)
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

    async def incidents(self, who: Identity, ref: str, *, limit: int = 50) -> list[Incident]:
        """The monitor's incidents, newest first (an open one first of all)."""
        if not 1 <= limit <= MAX_INCIDENTS:
            raise ValidationError(f"limit must be 1..{MAX_INCIDENTS}", field="limit", reason="range",
                                  min=1, max=MAX_INCIDENTS)
        m = await self.get_monitor(who, ref)
        now = self._now()
        return [
            Incident(id=r["id"], started_at=r["started_at"], ended_at=r["ended_at"],
                     end_reason=r["end_reason"],
                     duration=max((r["ended_at"] or now) - r["started_at"], timedelta(0)),
                     first_error_code=r["first_error_code"], first_error=r["first_error"],
                     checks_failed=r["checks_failed"])
            for r in await incident_rows.of_monitor(self._pool, m.id, limit)
        ]

    async def uptime(self, who: Identity, ref: str) -> tuple[Monitor, list[UptimeWindow]]:
        """The monitor with its last result's details (an EVM node's head, ...), read here
        only: a list of monitors does not need them (bench/monitor_read.py)."""
        m = await self.get_monitor(who, ref)
        details = await monitor_rows.last_details(self._pool, m.id, m.last_check_at)
        return dataclasses.replace(m, last_details=details), await self.uptime_of(m)

    async def uptime_of(self, m: Monitor) -> list[UptimeWindow]:
        """24 h (exact, from raw checks) and 7 d / 30 d / 90 d (rollups): the one source of
        uptime figures for chat, the API and status pages (core/uptime.py)."""
        windows = await rollups.uptime_windows(self._pool, m.id, self._now(), mode=self._mode)
        return with_exact_day(windows, await self._day_series(m))

    async def _day_series(self, m: Monitor, hours: int = 24) -> list[tuple[datetime, int | None, bool]]:
        """Raw checks of the last day, for the exact 24 h uptime (charts use the rollups)."""
        rows = await monitor_rows.latency_series(self._pool, m.id, self._now() - timedelta(hours=hours))
        return [(r["time"], r["latency_ms"], r["ok"]) for r in rows]

    async def _preflight(self, check: CheckType[Any], parsed: CheckConfig) -> None:
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
        await self._preflight(check, parsed)
        return await run_parsed(check, parsed, self._ctx)
