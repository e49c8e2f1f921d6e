"""The plan's tiers: check interval, monitor limits, price and retention."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class TierName(StrEnum):
    FREE = "free"
    BASIC = "basic"
    STANDARD = "standard"
    PRO = "pro"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class Tier:
    name: TierName
    interval_s: int  # the shortest interval the tier may check at
    max_monitors: int | None  # None: unlimited
    price_atomic_per_month: int  # USDC, 6 decimals
    retention_days: int
    features: frozenset[str]
    # Monitors of the check types declaring a limit group (CheckType.limit_group) count
    # against it too; a group absent here is limited only by max_monitors.
    group_limits: Mapping[str, int] = field(default_factory=dict)

    def group_limit(self, group: str) -> int | None:
        return self.group_limits.get(group)


TIERS: dict[TierName, Tier] = {
    TierName.FREE: Tier(TierName.FREE, 3600, 1, 0, 7, frozenset(), {"canary": 0}),
    TierName.BASIC: Tier(TierName.BASIC, 900, 3, 200_000, 7, frozenset({"api"}), {"canary": 0}),
    TierName.STANDARD: Tier(
        TierName.STANDARD, 300, 10, 1_000_000, 30,
        frozenset({"api", "canary", "balance", "status_page"}), {"canary": 3},
    ),
    TierName.PRO: Tier(
        TierName.PRO, 60, 50, 5_000_000, 90,
        frozenset({"api", "canary", "balance", "status_page", "websocket", "contract"}),
        {"canary": 10},
    ),
    TierName.ENTERPRISE: Tier(
        TierName.ENTERPRISE, 30, None, 20_000_000, 365,
        frozenset({"api", "canary", "balance", "status_page", "websocket", "contract", "chaos"}),
    ),
}

# One-off checks paid per use (CI gates): price in USDC atomic units.
ONE_OFF_CHECK_PRICE_ATOMIC = 1_000
MIN_INTERVAL_S = 30


def tier(name: str | TierName) -> Tier:
    return TIERS[TierName(name)]


def lowest_tier_with(feature: str) -> str | None:
    """The cheapest tier that includes ``feature`` (what a refusal tells the user to buy)."""
    return next((t.name.value for t in TIERS.values() if feature in t.features), None)
