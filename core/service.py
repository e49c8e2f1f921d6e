"""MonitorService: the one service layer behind Discord, Telegram and the HTTP API.

Every rule lives here (tier limits, intervals, validation, the SSRF guard), so a
command means the same thing wherever it arrives. Errors are typed (core/errors.py).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from lighthouse.core.checks import get_check_type, parse_config
from lighthouse.core.checks.base import CheckContext, CheckResult
from lighthouse.core.errors import (
    InvalidIntervalError,
    InvalidStateError,
    MonitorLimitReachedError,
    MonitorNotFoundError,
    TierFeatureError,
    ValidationError,
)
from lighthouse.core.models import CheckRecord, Identity, Monitor, UptimeWindow, User
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.state import State
from lighthouse.core.storage import rollups
from lighthouse.core.storage.database import Pool, StorageMode
from lighthouse.core.text import clean_text
from lighthouse.core.tiers import MIN_INTERVAL_S, TierName, tier

MAX_INTERVAL_S = 86_400
MAX_NAME = 100
MONITOR_COLUMNS = """id, public_id, owner_id, name, type, config, target_host, interval_s, tier,
    state, state_since, failure_threshold, success_threshold, reminder_interval_s,
    consecutive_failures, consecutive_successes, language, next_due, created_at, last_check_at,
    last_ok, last_error, last_latency_ms, maintenance_until, incident_started_at, expires_at"""
# Healthy checks do not rewrite their monitor's row (see core/storage/results.py), so the
# last result is read from check_history, one index probe per monitor.
_SELECT_MONITORS = """
SELECT m.id, m.public_id, m.owner_id, m.name, m.type, m.config, m.target_host, m.interval_s,
    m.tier, m.state, m.state_since, m.failure_threshold, m.success_threshold,
    m.reminder_interval_s, m.consecutive_failures, m.consecutive_successes, m.language,
    m.next_due, m.created_at, coalesce(h.time, m.last_check_at) AS last_check_at,
    coalesce(h.ok, m.last_ok) AS last_ok, coalesce(h.error, m.last_error) AS last_error,
    coalesce(h.latency_ms, m.last_latency_ms) AS last_latency_ms, m.maintenance_until,
    m.incident_started_at, m.expires_at
FROM monitors m
LEFT JOIN LATERAL (
    SELECT time, ok, error, latency_ms FROM check_history
    WHERE monitor_id = m.id ORDER BY time DESC LIMIT 1
) h ON true
"""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MonitorService:
    def __init__(
        self,
        pool: Pool,
        guard: TargetGuard,
        check_context: CheckContext | None = None,
        *,
        mode: StorageMode = "plain",
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._pool = pool
        self.guard = guard
        self._ctx = check_context
        self._mode = mode
        self._now = clock

    # --- users -----------------------------------------------------------------
    async def ensure_user(self, who: Identity, language: str | None = None) -> User:
        row = await self._pool.fetchrow(
            """
            WITH found AS (
                SELECT u.* FROM users u JOIN user_identities i ON i.user_id = u.id
                WHERE i.provider = $1 AND i.subject = $2
            ), made AS (
                INSERT INTO users (language) SELECT $3 WHERE NOT EXISTS (SELECT 1 FROM found)
                RETURNING *
            ), linked AS (
                INSERT INTO user_identities (provider, subject, user_id)
                SELECT $1, $2, id FROM made ON CONFLICT DO NOTHING RETURNING user_id
            )
            SELECT * FROM found UNION ALL SELECT made.* FROM made JOIN linked ON linked.user_id = made.id
            """,
            who.provider.value, who.subject, None,
        )
        if row is None:  # lost a race with a concurrent first contact: read the winner
            row = await self._find_user_row(who)
            assert row is not None
        return self._user(row)

    async def _find_user_row(self, who: Identity) -> Any:
        return await self._pool.fetchrow(
            "SELECT u.* FROM users u JOIN user_identities i ON i.user_id = u.id "
            "WHERE i.provider = $1 AND i.subject = $2",
            who.provider.value, who.subject,
        )

    async def find_user(self, who: Identity) -> User | None:
        row = await self._find_user_row(who)
        return self._user(row) if row else None

    def _user(self, row: Any) -> User:
        effective = row["tier"]
        if row["tier_expires_at"] is not None and row["tier_expires_at"] <= self._now():
            effective = TierName.FREE.value
        return User(row["id"], effective, row["language"], row["tier_expires_at"])

    async def set_language(self, who: Identity, language: str | None) -> User:
        """Store the user's language override (None: follow the client) on them and their monitors."""
        if language is not None and language not in ("en", "es"):
            raise ValidationError("language must be en or es", field="language", reason="unsupported")
        user = await self.ensure_user(who)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("UPDATE users SET language = $2 WHERE id = $1", user.id, language)
            if language is not None:
                await conn.execute(
                    "UPDATE monitors SET language = $2 WHERE owner_id = $1", user.id, language
                )
                await conn.execute(
                    "UPDATE alert_channels SET language = $2 WHERE owner_id = $1", user.id, language
                )
        return User(user.id, user.tier, language, user.tier_expires_at)

    async def upgrade_tier(self, who: Identity, tier_name: str, period: timedelta) -> User:
        """A paid period: set the tier and extend its expiry from now or the current end."""
        tier(tier_name)  # raises on unknown names
        user = await self.ensure_user(who)
        row = await self._pool.fetchrow(
            """
            UPDATE users SET tier = $2,
                tier_expires_at = greatest(coalesce(tier_expires_at, now()), now()) + $3
            WHERE id = $1 RETURNING *
            """,
            user.id, tier_name, period,
        )
        await self._pool.execute(
            "UPDATE monitors SET tier = $2, expires_at = $3 WHERE owner_id = $1",
            user.id, tier_name, row["tier_expires_at"],
        )
        return self._user(row)

    # --- monitors --------------------------------------------------------------
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
        check = get_check_type(type)
        parsed = parse_config(type, config)
        feature = getattr(check, "required_feature", None)
        user = await self.ensure_user(who)
        plan = tier(user.tier)
        if feature and feature not in plan.features:
            raise TierFeatureError(
                f"{type} monitors need a higher tier", feature=feature, tier=plan.name.value
            )
        interval = plan.interval_s if interval_s is None else interval_s
        if not MIN_INTERVAL_S <= interval <= MAX_INTERVAL_S:
            raise InvalidIntervalError(
                "interval out of range", interval=interval, min=MIN_INTERVAL_S, max=MAX_INTERVAL_S
            )
        if interval < plan.interval_s:
            raise InvalidIntervalError(
                "interval shorter than the tier allows",
                interval=interval, min=plan.interval_s, tier=plan.name.value,
            )
        for label, value in (("failure_threshold", failure_threshold),
                             ("success_threshold", success_threshold)):
            if not 1 <= value <= 100:
                raise ValidationError(f"{label} must be 1..100", field=label, reason="range")
        await check.preflight(parsed, self.guard)
        described = clean_text(check.describe(parsed))[:MAX_NAME]
        label = clean_text(name or described).strip()[:MAX_NAME] or described
        stored = parsed.model_dump(mode="json", exclude_defaults=True)
        lang = language or user.language or "en"
        now = self._now()
        first_due = now + timedelta(seconds=random.uniform(0, min(interval, 30)))
        async with self._pool.acquire() as conn, conn.transaction():
            # Lock the owner so concurrent creates cannot pass the limit together.
            await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user.id)
            count = await conn.fetchval(
                "SELECT count(*) FROM monitors WHERE owner_id = $1", user.id
            )
            if plan.max_monitors is not None and count >= plan.max_monitors:
                raise MonitorLimitReachedError(
                    "monitor limit reached", limit=plan.max_monitors, tier=plan.name.value
                )
            if type == "canary" and plan.max_canaries is not None:
                canaries = await conn.fetchval(
                    "SELECT count(*) FROM monitors WHERE owner_id = $1 AND type = 'canary'", user.id
                )
                if canaries >= plan.max_canaries:
                    raise MonitorLimitReachedError(
                        "canary limit reached", limit=plan.max_canaries, tier=plan.name.value,
                        kind="canary",
                    )
            label = await self._unique_name(conn, user.id, label)
            row = await conn.fetchrow(
                f"""
                INSERT INTO monitors (owner_id, name, type, config, target_host, interval_s, tier,
                    failure_threshold, success_threshold, language, next_due, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                RETURNING {MONITOR_COLUMNS}
                """,
                user.id, label, type, stored, check.target_host(parsed), interval,
                plan.name.value, failure_threshold, success_threshold, lang, first_due,
                user.tier_expires_at,
            )
        return Monitor.from_row(row)

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
        token_hash = hb.hash_token(token)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("UPDATE heartbeats SET token_hash = $2 WHERE monitor_id = $1",
                               m.id, token_hash)
            row = await conn.fetchrow(
                f"UPDATE monitors SET config = config || jsonb_build_object('token_hash', $2::text), "
                f"updated_at = now() WHERE id = $1 RETURNING {MONITOR_COLUMNS}",
                m.id, token_hash,
            )
        return Monitor.from_row(row), token

    @staticmethod
    async def _unique_name(conn: Any, owner_id: int, label: str) -> str:
        taken = {
            r["name"].lower()
            for r in await conn.fetch(
                "SELECT name FROM monitors WHERE owner_id = $1 AND lower(name) LIKE lower($2) || '%'",
                owner_id, label,
            )
        }
        if label.lower() not in taken:
            return label
        for n in range(2, 1000):
            candidate = f"{label} ({n})"
            if candidate.lower() not in taken:
                return candidate
        return f"{label} ({uuid.uuid4().hex[:6]})"

    async def list_monitors(self, who: Identity) -> list[Monitor]:
        user = await self.find_user(who)
        if user is None:
            return []
        rows = await self._pool.fetch(
            f"{_SELECT_MONITORS} WHERE m.owner_id = $1 ORDER BY m.created_at, m.id",
            user.id,
        )
        return [Monitor.from_row(r) for r in rows]

    async def get_monitor(self, who: Identity, ref: str) -> Monitor:
        """Find one of the caller's monitors by id, id prefix (>= 6 chars) or name."""
        ref = clean_text(ref.strip())
        user = await self.find_user(who)
        if user is None or not ref:
            raise MonitorNotFoundError("no such monitor", ref=ref)
        rows = await self._pool.fetch(
            f"""
            {_SELECT_MONITORS}
            WHERE m.owner_id = $1 AND (m.public_id::text = lower($2) OR lower(m.name) = lower($2)
                  OR (length($2) >= 6 AND m.public_id::text LIKE lower($2) || '%'))
            ORDER BY (m.public_id::text = lower($2)) DESC, (lower(m.name) = lower($2)) DESC
            LIMIT 2
            """,
            user.id, ref,
        )
        if not rows:
            raise MonitorNotFoundError("no such monitor", ref=ref)
        return Monitor.from_row(rows[0])

    async def get_by_public_id(self, public_id: uuid.UUID) -> Monitor:
        """For callers already authorized by other means (API management token)."""
        row = await self._pool.fetchrow(
            f"{_SELECT_MONITORS} WHERE m.public_id = $1", public_id
        )
        if row is None:
            raise MonitorNotFoundError("no such monitor", ref=str(public_id))
        return Monitor.from_row(row)

    async def pause(self, who: Identity, ref: str) -> Monitor:
        m = await self.get_monitor(who, ref)
        if m.state is State.PAUSED:
            raise InvalidStateError("monitor is already paused", state=m.state.value, name=m.name)
        return await self._set_state(m, "state = 'paused', consecutive_failures = 0, "
                                        "consecutive_successes = 0")

    async def resume(self, who: Identity, ref: str) -> Monitor:
        m = await self.get_monitor(who, ref)
        if m.state is not State.PAUSED:
            raise InvalidStateError("monitor is not paused", state=m.state.value, name=m.name)
        return await self._set_state(
            m, "state = 'pending', consecutive_failures = 0, consecutive_successes = 0, "
               "incident_started_at = NULL, next_due = now()"
        )

    async def set_maintenance(self, who: Identity, ref: str, until: datetime | None) -> Monitor:
        """Enter maintenance until a time (results recorded, no alerts), or end it (None)."""
        m = await self.get_monitor(who, ref)
        if until is None:
            if m.state is not State.MAINTENANCE:
                raise InvalidStateError("monitor is not in maintenance", state=m.state.value)
            return await self._set_state(m, "maintenance_until = now()")
        if until <= self._now():
            raise ValidationError("maintenance must end in the future", field="until", reason="past")
        if m.state is State.PAUSED:
            raise InvalidStateError("monitor is paused", state=m.state.value)
        return await self._set_state(m, "state = 'maintenance', maintenance_until = $2", until)

    async def _set_state(self, m: Monitor, assignments: str, *args: Any) -> Monitor:
        row = await self._pool.fetchrow(
            f"UPDATE monitors SET {assignments}, state_since = now(), "
            f"state_version = state_version + 1, updated_at = now() "
            f"WHERE id = $1 RETURNING {MONITOR_COLUMNS}",
            m.id, *args,
        )
        if row is None:
            raise MonitorNotFoundError("no such monitor", ref=str(m.public_id))
        return Monitor.from_row(row)

    async def remove(self, who: Identity, ref: str) -> Monitor:
        m = await self.get_monitor(who, ref)
        await self._pool.execute("DELETE FROM monitors WHERE id = $1", m.id)
        # History rows have no foreign key (hypertables): clear them in the background of
        # retention; reads always go through an existing monitor.
        return m

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
        retention = timedelta(days=tier(m.tier).retention_days)
        rows = await self._pool.fetch(
            """
            SELECT time, ok, status_code, latency_ms, error_code, error, details
            FROM check_history WHERE monitor_id = $1 AND time < $2 AND time >= $3
            ORDER BY time DESC LIMIT $4
            """,
            m.id, before or self._now() + timedelta(seconds=1), self._now() - retention, limit,
        )
        return [CheckRecord(**dict(r)) for r in rows]

    async def uptime(self, who: Identity, ref: str) -> tuple[Monitor, list[UptimeWindow]]:
        m = await self.get_monitor(who, ref)
        return m, await self.uptime_of(m)

    async def uptime_of(self, m: Monitor) -> list[UptimeWindow]:
        return await rollups.uptime_windows(self._pool, m.id, self._now(), mode=self._mode)

    async def latency_series(self, m: Monitor, hours: int = 24) -> list[tuple[datetime, int | None, bool]]:
        rows = await self._pool.fetch(
            "SELECT time, latency_ms, ok FROM check_history WHERE monitor_id = $1 AND time >= $2 "
            "ORDER BY time LIMIT 20000",
            m.id, self._now() - timedelta(hours=hours),
        )
        return [(r["time"], r["latency_ms"], r["ok"]) for r in rows]

    # --- one-off checks -------------------------------------------------------
    async def check_once(self, type: str, config: dict[str, Any]) -> CheckResult:
        """Run one check now (``/monitor test``, paid ``/v1/check``); same validation and guard."""
        from lighthouse.core.scheduler import run_check

        if self._ctx is None:
            raise RuntimeError("MonitorService was built without a check context")
        check = get_check_type(type)
        parsed = parse_config(type, config)
        await check.preflight(parsed, self.guard)
        return await run_check(type, parsed.model_dump(mode="json"), self._ctx)

    # --- alert channels -------------------------------------------------------
    async def add_channel(
        self,
        who: Identity,
        kind: str,
        config: dict[str, Any],
        *,
        language: str | None = None,
        monitor_ref: str | None = None,
        min_severity: str = "info",
    ) -> int:
        user = await self.ensure_user(who)
        monitor_id = (await self.get_monitor(who, monitor_ref)).id if monitor_ref else None
        if min_severity not in ("info", "warning", "critical"):
            raise ValidationError("bad severity", field="min_severity", reason="unsupported")
        existing = await self._pool.fetchval(
            "SELECT id FROM alert_channels WHERE owner_id = $1 AND kind = $2 AND config = $3 "
            "AND monitor_id IS NOT DISTINCT FROM $4",
            user.id, kind, config, monitor_id,
        )
        if existing:
            await self._pool.execute(
                "UPDATE alert_channels SET enabled = true, disabled_reason = NULL, "
                "language = coalesce($2, language) WHERE id = $1",
                existing, language,
            )
            return int(existing)
        channel_id = await self._pool.fetchval(
            "INSERT INTO alert_channels (owner_id, monitor_id, kind, config, language, min_severity) "
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            user.id, monitor_id, kind, config, language or user.language or "en", min_severity,
        )
        return int(channel_id)

    async def channels(self, who: Identity) -> list[dict[str, Any]]:
        user = await self.find_user(who)
        if user is None:
            return []
        rows = await self._pool.fetch(
            "SELECT id, kind, config, language, enabled, disabled_reason, monitor_id "
            "FROM alert_channels WHERE owner_id = $1 ORDER BY id",
            user.id,
        )
        return [dict(r) for r in rows]

    # --- chat alert channels (Discord DM, Telegram chat; used by bot/) ----------
    async def upsert_chat_channel(
        self,
        who: Identity,
        kind: str,
        *,
        key: dict[str, Any],
        config: dict[str, Any],
        monitor_id: int | None,
        language: str,
    ) -> int:
        """The one channel of ``kind`` whose config contains ``key`` for this owner and
        monitor: created, or re-enabled with ``config`` merged in and the new language."""
        user = await self.ensure_user(who)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user.id)
            existing = await conn.fetchval(
                "SELECT id FROM alert_channels WHERE owner_id = $1 AND kind = $2 "
                "AND config @> $3 AND monitor_id IS NOT DISTINCT FROM $4 ORDER BY id LIMIT 1",
                user.id, kind, key, monitor_id,
            )
            if existing:
                await conn.execute(
                    "UPDATE alert_channels SET config = config || $2, language = $3, "
                    "enabled = true, disabled_reason = NULL WHERE id = $1",
                    existing, config, language,
                )
                return int(existing)
            return int(await conn.fetchval(
                "INSERT INTO alert_channels (owner_id, monitor_id, kind, config, language) "
                "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                user.id, monitor_id, kind, config, language,
            ))

    async def chat_channels(
        self, kind: str, key: dict[str, Any], *, owner: Identity | None = None
    ) -> list[dict[str, Any]]:
        """Channels of ``kind`` whose config contains ``key`` (optionally one owner's),
        with the scoped monitor's name."""
        owner_id = None
        if owner is not None:
            user = await self.find_user(owner)
            if user is None:
                return []
            owner_id = user.id
        rows = await self._pool.fetch(
            "SELECT c.id, c.owner_id, c.monitor_id, c.config, c.language, c.enabled, "
            "c.disabled_reason, m.name AS monitor_name FROM alert_channels c "
            "LEFT JOIN monitors m ON m.id = c.monitor_id "
            "WHERE c.kind = $1 AND c.config @> $2 AND ($3::bigint IS NULL OR c.owner_id = $3) "
            "ORDER BY c.id",
            kind, key, owner_id,
        )
        return [dict(r) for r in rows]

    async def update_chat_channels(
        self, ids: list[int], *, enabled: bool | None = None, drop_keys: tuple[str, ...] = ()
    ) -> int:
        """Re-enable/disable channels and remove transient flags from their config."""
        done = await self._pool.fetch(
            "UPDATE alert_channels SET enabled = coalesce($2, enabled), "
            "disabled_reason = CASE WHEN coalesce($2, enabled) THEN NULL ELSE disabled_reason END, "
            "config = config - $3::text[] WHERE id = ANY($1::bigint[]) RETURNING id",
            ids, enabled, list(drop_keys),
        )
        return len(done)

    async def move_chat_channels(self, kind: str, field: str, old: Any, new: Any) -> int:
        """A chat changed id (Telegram group -> supergroup): follow it in every channel."""
        done = await self._pool.fetch(
            "UPDATE alert_channels SET config = jsonb_set(config, ARRAY[$2::text], $4) "
            "WHERE kind = $1 AND config @> jsonb_build_object($2::text, $3::jsonb) RETURNING id",
            kind, field, old, new,
        )
        return len(done)
