"""Monitors the operator's monitors-as-code file declares (core/config_file/): judged many at
once by the rules every monitor passes, created many at once, found by the file's key.

An apply works on thousands of entries, so the per-monitor round trips of
``create_monitor`` (owner lookup, room check, unique name, insert) are replaced by one
each for the whole file; the rules are the same ``_draft`` a creation runs, and the room
is judged for the fleet the file leaves behind.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from lighthouse.core.checks import check_types
from lighthouse.core.errors import LighthouseError, MonitorLimitReachedError, ValidationError
from lighthouse.core.models import Identity, Monitor, User
from lighthouse.core.service.monitors import HEARTBEAT_THRESHOLDS, MONITOR_THRESHOLDS, MonitorDraft, Purchase
from lighthouse.core.state import State
from lighthouse.core.storage import managed as managed_rows
from lighthouse.core.storage import users as user_rows
from lighthouse.core.storage.database import Pool
from lighthouse.core.tiers import Tier, tier

FILE_PREFIX = "file:"
# Preflights resolve target names (the SSRF guard); a file of many hosts resolves them
# this many at a time instead of one after another.
_PREFLIGHTS_AT_ONCE = 32
_PLACEHOLDER_HASH = "0" * 64


@dataclass(frozen=True)
class MonitorSpec:
    """A monitor as asked for: ``validate_monitor``'s arguments as one record."""

    type: str
    config: dict[str, Any]
    name: str | None = None
    interval_s: int | None = None
    language: str | None = None
    # None: the default of the type (a heartbeat reports one missed ping, others wait for 3)
    failure_threshold: int | None = None
    success_threshold: int | None = None
    # heartbeat only: the secret ping token chosen by the operator (None: generated)
    ping_token: str | None = None


@dataclass(frozen=True)
class ManagedMonitor:
    """A stored monitor that the file declares, as much as deciding "unchanged" needs."""

    id: int
    public_id: UUID
    key: str
    entry_hash: str | None
    name: str
    type: str
    state: State
    maintenance_until: datetime | None
    token_hash: str | None


class ManagedMixin:
    _pool: Pool
    _now: Callable[[], datetime]

    if TYPE_CHECKING:  # provided by the sibling mixins in MonitorService
        async def find_user(self, who: Identity) -> User | None: ...
        async def ensure_user(self, who: Identity, language: str | None = None) -> User: ...
        async def _draft(self, plan: Tier, *, type: str, config: dict[str, Any], name: str | None,
                         interval_s: int | None, language: str | None, failure_threshold: int,
                         success_threshold: int, preflight: bool = True) -> MonitorDraft: ...
        def _new_row(self, draft: MonitorDraft, user: User, plan: Tier, name: str, *,
                     expires_at: datetime | None = None) -> dict[str, Any]: ...
        async def create_heartbeat(
            self, who: Identity, *, config: dict[str, Any], name: str | None = None,
            interval_s: int | None = None, language: str | None = None,
            failure_threshold: int = 1, success_threshold: int = 1,
            purchase: Purchase | None = None, token: str | None = None,
        ) -> tuple[Monitor, str]: ...

    async def managed_monitors(self, who: Identity) -> dict[str, ManagedMonitor]:
        """The owner's file-declared monitors by their key in the file."""
        user = await self.find_user(who)
        if user is None:
            return {}
        return {
            r["managed_by"].removeprefix(FILE_PREFIX): ManagedMonitor(
                r["id"], r["public_id"], r["managed_by"].removeprefix(FILE_PREFIX),
                r["managed_hash"], r["name"], r["type"], State(r["state"]),
                r["maintenance_until"], r["token_hash"])
            for r in await managed_rows.of_owner(self._pool, user.id)
        }

    async def unmanaged_names(self, who: Identity) -> list[str]:
        """Names of the owner's monitors that no file declares (a file may not take them)."""
        user = await self.find_user(who)
        return [] if user is None else await managed_rows.unmanaged_names(self._pool, user.id)

    async def monitors_by_ids(self, ids: list[int]) -> dict[int, Monitor]:
        return {r["id"]: Monitor.from_row(r) for r in await managed_rows.by_ids(self._pool, ids)}

    async def validate_many(self, specs: list[MonitorSpec], *, tier_name: str
                            ) -> list[MonitorDraft | LighthouseError]:
        """Every per-monitor rule for each spec under ``tier_name``: its draft, or the error
        it would be refused with. The room for them is ``check_fleet_room``'s question."""
        plan = tier(tier_name)
        # Overlapping is safe on a unit of work's one connection because no preflight run
        # here reads the database (a heartbeat's, the one that does, is left to creation).
        gate = asyncio.Semaphore(_PREFLIGHTS_AT_ONCE)

        async def one(spec: MonitorSpec) -> MonitorDraft | LighthouseError:
            try:
                async with gate:
                    return await self._spec_draft(plan, spec)
            except LighthouseError as exc:
                return exc

        return list(await asyncio.gather(*(one(s) for s in specs)))

    async def _spec_draft(self, plan: Tier, spec: MonitorSpec) -> MonitorDraft:
        config, preflight = spec.config, True
        if spec.type == "heartbeat":
            from lighthouse.core.checks import heartbeat as hb

            # create_heartbeat's own rules: the hash is the server's, a chosen token has the
            # format of generated ones. Its ping row is reserved only at creation.
            if "token_hash" in config:
                raise ValidationError("token_hash is set by the server", field="token_hash",
                                      reason="read_only")
            if spec.ping_token is not None and not hb.TOKEN_RE.match(spec.ping_token):
                raise ValidationError("a ping token is 20 to 64 letters, digits, - or _",
                                      field="token", reason="format")
            config, preflight = {**config, "token_hash": _PLACEHOLDER_HASH}, False
        elif spec.ping_token is not None:
            raise ValidationError("only heartbeat monitors have a ping token", field="token",
                                  reason="not_heartbeat")
        fails, oks = HEARTBEAT_THRESHOLDS if spec.type == "heartbeat" else MONITOR_THRESHOLDS
        return await self._draft(
            plan, type=spec.type, config=config, name=spec.name, interval_s=spec.interval_s,
            language=spec.language,
            failure_threshold=fails if spec.failure_threshold is None else spec.failure_threshold,
            success_threshold=oks if spec.success_threshold is None else spec.success_threshold,
            preflight=preflight)

    def planned_row(self, draft: MonitorDraft, owner: User | None) -> dict[str, Any]:
        """What a draft stores for this owner (as a creation would): name, config, target,
        interval, thresholds, language; to compare with a stored monitor."""
        return {
            "name": draft.name, "type": draft.check.name,
            "config": draft.config.model_dump(mode="json", exclude_defaults=True),
            "target_host": draft.check.target_host(draft.config), "interval_s": draft.interval_s,
            "failure_threshold": draft.failure_threshold,
            "success_threshold": draft.success_threshold,
            "language": draft.language or (owner.language if owner else None) or "en",
        }

    async def hold_apply_lock(self) -> None:
        """Inside a unit of work: wait until no other apply of a file runs (a SIGHUP while
        `lighthouse apply` runs, two processes starting), then hold it to the end."""
        async with self._pool.acquire() as conn:
            await managed_rows.lock_apply(conn)

    async def check_fleet_room(self, who: Identity, *, tier_name: str, types: list[str]) -> None:
        """The owner's monitors once the file applies (those it does not declare, plus one
        of each type in ``types``) must fit the tier: its monitor limit and group limits."""
        plan = tier(tier_name)
        user = await self.find_user(who)
        unmanaged = 0 if user is None else await managed_rows.count_unmanaged(self._pool, user.id)
        if plan.max_monitors is not None and unmanaged + len(types) > plan.max_monitors:
            raise MonitorLimitReachedError("monitor limit reached", limit=plan.max_monitors,
                                           tier=plan.name.value)
        groups: dict[str, list[str]] = {}
        for name, check in check_types().items():
            if check.limit_group:
                groups.setdefault(check.limit_group, []).append(name)
        wanted = Counter(types)
        for group, members in groups.items():
            cap = plan.group_limit(group)
            if cap is None:
                continue
            held = 0 if user is None else await managed_rows.count_unmanaged(self._pool, user.id,
                                                                             members)
            if held + sum(wanted[m] for m in members) > cap:
                raise MonitorLimitReachedError(f"{group} limit reached", limit=cap,
                                               tier=plan.name.value, kind=group)

    async def create_managed(self, who: Identity, items: list[tuple[str, str, MonitorDraft]]
                             ) -> list[Monitor]:
        """Monitors declared by the file, from ``(key, entry hash, draft)``, in one statement.
        Names were checked against the owner's others by the caller, with the whole file."""
        user = await self.ensure_user(who)
        plan = tier(user.tier)
        rows = []
        for key, entry_hash, draft in items:
            row = self._new_row(draft, user, plan, draft.name or key)
            rows.append({**row, "managed_by": FILE_PREFIX + key, "managed_hash": entry_hash})
        async with self._pool.acquire() as conn, conn.transaction():
            await user_rows.lock(conn, user.id)
            return [Monitor.from_row(r) for r in await managed_rows.insert_many(conn, user.id, rows)]

    async def create_managed_heartbeat(self, who: Identity, key: str, entry_hash: str,
                                       spec: MonitorSpec) -> tuple[Monitor, str]:
        """A heartbeat declared by the file, with its ping row (``create_heartbeat``)."""
        fails, oks = HEARTBEAT_THRESHOLDS
        m, token = await self.create_heartbeat(
            who, config=spec.config, name=spec.name, interval_s=spec.interval_s,
            language=spec.language,
            failure_threshold=fails if spec.failure_threshold is None else spec.failure_threshold,
            success_threshold=oks if spec.success_threshold is None else spec.success_threshold,
            token=spec.ping_token)
        async with self._pool.acquire() as conn:
            await managed_rows.mark(conn, m.id, FILE_PREFIX + key, entry_hash)
        return m, token

    async def refresh_managed_hashes(self, pairs: list[tuple[int, str]]) -> None:
        """Entries whose text changed but whose monitor did not (a key reordered, a default
        written out): remember the new text so the next apply skips them."""
        if pairs:
            async with self._pool.acquire() as conn:
                await managed_rows.set_hashes(conn, [p[0] for p in pairs], [p[1] for p in pairs])

    async def remove_managed(self, who: Identity, ids: list[int]) -> int:
        """Remove monitors the file no longer declares (never one it does not manage)."""
        user = await self.find_user(who)
        if user is None or not ids:
            return 0
        async with self._pool.acquire() as conn:
            return await managed_rows.delete_many(conn, user.id, ids)
