"""Users: who is asking (an identity), their language override and their tier."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from lighthouse.core import limits
from lighthouse.core.models import Identity, User
from lighthouse.core.storage import users as user_rows
from lighthouse.core.storage.database import Pool
from lighthouse.core.tiers import TierName, tier


def utcnow() -> datetime:
    return datetime.now(UTC)


class UsersMixin:
    _pool: Pool
    _now: Callable[[], datetime]

    async def ensure_user(self, who: Identity, language: str | None = None) -> User:
        row = await user_rows.ensure(self._pool, who.provider.value, who.subject)
        if row is None:  # lost a race with a concurrent first contact: read the winner
            row = await user_rows.find(self._pool, who.provider.value, who.subject)
            assert row is not None
        return self._user(row)

    async def find_user(self, who: Identity) -> User | None:
        row = await user_rows.find(self._pool, who.provider.value, who.subject)
        return self._user(row) if row else None

    def _user(self, row: Any) -> User:
        effective = row["tier"]
        if row["tier_expires_at"] is not None and row["tier_expires_at"] <= self._now():
            effective = TierName.FREE.value
        return User(row["id"], effective, row["language"], row["tier_expires_at"])

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
        return self._user(await user_rows.extend_tier(self._pool, user.id, tier_name, period))

    async def set_tier(self, who: Identity, tier_name: str) -> User:
        """A tier with no end date: the operator's own (their file's ``tier:``), which no
        payment period governs."""
        tier(tier_name)  # raises on unknown names
        user = await self.ensure_user(who)
        return self._user(await user_rows.set_tier(self._pool, user.id, tier_name))
