"""The plan's tiers: check interval, monitor limits, price and retention."""

from __future__ import annotations

from dataclasses import dataclass
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
    max_canaries: int | None
    price_atomic_per_month: int  # USDC, 6 decimals
    retention_days: int
    features: frozenset[str]


TIERS: dict[TierName, Tier] = {
    TierName.FREE: Tier(TierName.FREE, 3600, 1, 0, 0, 7, frozenset()),
    TierName.BASIC: Tier(TierName.BASIC, 900, 3, 0, 200_000, 7, frozenset({"api"})),
    TierName.STANDARD: Tier(
        TierName.STANDARD, 300, 10, 3, 1_000_000, 30,
        frozenset({"api", "canary", "balance", "status_page"}),
    ),
    TierName.PRO: Tier(
        TierName.PRO, 60, 50, 10, 5_000_000, 90,
        frozenset({"api", "canary", "balance", "status_page", "websocket", "contract"}),
    ),
    TierName.ENTERPRISE: Tier(
        TierName.ENTERPRISE, 30, None, None, 20_000_000, 365,
        frozenset({"api", "canary", "balance", "status_page", "websocket", "contract", "chaos"}),
    ),
}

# One-off checks paid per use (CI gates): price in USDC atomic units.
ONE_OFF_CHECK_PRICE_ATOMIC = 1_000
MIN_INTERVAL_S = 30


def tier(name: str | TierName) -> Tier:
    return TIERS[TierName(name)]
