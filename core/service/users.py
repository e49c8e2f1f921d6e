"""Users: who is asking (an identity), their language override and their tier.

A user's plan is the one stored on them (paid, or set by an admin) while it lasts, and
never below the floor the instance's policy gives their kind of identity
(core/service/policy.py): the operator's own plan, the default for chat users.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lighthouse.core import limits
from lighthouse.core.errors import NotAdminError, ValidationError
from lighthouse.core.models import Identity, User
from lighthouse.core.service.policy import InstancePolicy, tier_rank
from lighthouse.core.storage import users as user_rows
from lighthouse.core.storage.database import Pool
from lighthouse.core.tiers import Tier, TierName, tier

log = logging.getLogger(__name__)

MAX_TIER_DAYS = 3650


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class UpgradePath:
    """How ``who`` gets a higher plan on this instance (``/upgrade`` renders it)."""

    current: Tier
    expires_at: datetime | None
    # None: already on the highest plan.
    next_tier: Tier | None
    # The x402 pricing page when payments are configured; else the operator decides.
    pricing_url: str | None
    # The asker may change plans themselves (an admin named in LIGHTHOUSE_ADMINS).
    is_admin: bool


class UsersMixin:
    _pool: Pool
    _now: Callable[[], datetime]
    policy: InstancePolicy

    async def ensure_user(self, who: Identity, language: str | None = None) -> User:
        row = await user_rows.ensure(self._pool, who.provider.value, who.subject)
        if row is None:  # lost a race with a concurrent first contact: read the winner
            row = await user_rows.find(self._pool, who.provider.value, who.subject)
            assert row is not None
        return self._user(row, who)

    async def find_user(self, who: Identity) -> User | None:
        row = await user_rows.find(self._pool, who.provider.value, who.subject)
        return self._user(row, who) if row else None

    def _user(self, row: Any, who: Identity) -> User:
        effective, expires = row["tier"], row["tier_expires_at"]
        if expires is not None and expires <= self._now():
            effective, expires = TierName.FREE.value, None
        floor = self.policy.floor(who)
        if tier_rank(floor.value) > tier_rank(effective):
            # The instance's floor outranks what is stored, and it never runs out.
            effective, expires = floor.value, None
        return User(row["id"], effective, row["language"], expires)

    def _plan_of(self, who: Identity, user: User | None) -> Tier:
        """The plan a (possibly not yet stored) user is judged by."""
        return tier(user.tier if user is not None else self.policy.floor(who))

    async def set_language(self, who: Identity, language: str | None) -> User:
        """Store the user's language override (None: follow the client) on them and their monitors."""
        limits.language(language)
        user = await self.ensure_user(who)
        await user_rows.set_language(self._pool, user.id, language)
        return User(user.id, user.tier, language, user.tier_expires_at)

    async def upgrade_tier(self, who: Identity, tier_name: str, period: timedelta) -> User:
        """A paid period: set the tier and extend its expiry from now or the current end."""
        tier(tier_name)  # raises on unknown names
        user = await self.ensure_user(who)
        return self._user(await user_rows.extend_tier(self._pool, user.id, tier_name, period), who)

    # --- plans set by the operator or an admin ---------------------------------------------
    def require_admin(self, actor: Identity) -> None:
        """Refuse anyone but the operator and the admins named in LIGHTHOUSE_ADMINS."""
        if not self.policy.is_admin(actor):
            raise NotAdminError("only the operator and admins change plans")

    async def set_tier(
        self, actor: Identity, who: Identity, tier_name: str, *, days: int | None = None
    ) -> User:
        """Give ``who`` a plan, for ``days`` or until changed again; only the operator and
        the admins named in LIGHTHOUSE_ADMINS may. Returns the plan ``who`` now has, which
        the instance's floor may keep higher than the one set."""
        self.require_admin(actor)
        name = parse_tier_name(tier_name)
        if days is not None and not 1 <= days <= MAX_TIER_DAYS:
            raise ValidationError("days must be 1..3650", field="days", reason="range",
                                  min=1, max=MAX_TIER_DAYS)
        expires = self._now() + timedelta(days=days) if days is not None else None
        user = await self.ensure_user(who)
        judged = self._user({"id": user.id, "tier": name.value, "tier_expires_at": expires,
                             "language": user.language}, who)
        row = await user_rows.set_tier(self._pool, user.id, name.value, expires,
                                       monitors_tier=judged.tier,
                                       monitors_expire_at=judged.tier_expires_at)
        changed = self._user(row, who)
        log.info("plan changed: %s:%s is now on %s", who.provider.value, who.subject,
                 changed.tier, extra={"user": f"{who.provider.value}:{who.subject}",
                                      "tier": changed.tier, "set_tier": name.value,
                                      "by": f"{actor.provider.value}:{actor.subject}",
                                      "expires_at": expires.isoformat() if expires else None})
        return changed

    async def upgrade_path(self, who: Identity) -> UpgradePath:
        user = await self.find_user(who)
        plan = self._plan_of(who, user)
        order = list(TierName)
        rank = order.index(plan.name)
        return UpgradePath(
            current=plan, expires_at=user.tier_expires_at if user else None,
            next_tier=tier(order[rank + 1]) if rank + 1 < len(order) else None,
            pricing_url=self.policy.pricing_url, is_admin=self.policy.is_admin(who),
        )


def parse_tier_name(text: str) -> TierName:
    try:
        return TierName(text.strip().lower())
    except ValueError:
        raise ValidationError("unknown plan", field="tier", reason="unknown",
                              value=text.strip()[:40], known=[t.value for t in TierName]
                              ) from None
