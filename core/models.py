"""Domain records shared by the service layer, the scheduler and the adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from lighthouse.core.state import State


class Provider(StrEnum):
    DISCORD = "discord"
    TELEGRAM = "telegram"
    WALLET = "wallet"
    API = "api"
    # A management token of one monitor bought over the API (never stored as a user).
    TOKEN = "token"
    # The person who runs this instance (CLI, monitors-as-code file): subject "admin".
    OPERATOR = "operator"


@dataclass(frozen=True)
class Identity:
    """Who is asking: a Discord user id, a Telegram user id, a wallet, an API token."""

    provider: Provider
    subject: str

    def __post_init__(self) -> None:
        # An address is one wallet however it is written (checksummed, lower case): the
        # payment verifier, chat and the CLI must all land on the same user.
        if self.provider is Provider.WALLET and self.subject != self.subject.lower():
            object.__setattr__(self, "subject", self.subject.lower())


@dataclass(frozen=True)
class User:
    id: int
    tier: str
    language: str | None
    tier_expires_at: datetime | None = None


@dataclass(frozen=True)
class Monitor:
    id: int
    public_id: UUID
    owner_id: int
    name: str
    type: str
    config: dict[str, Any]
    target_host: str
    interval_s: int
    tier: str
    state: State
    state_since: datetime
    failure_threshold: int
    success_threshold: int
    reminder_interval_s: int
    consecutive_failures: int
    consecutive_successes: int
    language: str
    next_due: datetime
    created_at: datetime
    last_check_at: datetime | None = None
    last_ok: bool | None = None
    last_error: str | None = None
    last_latency_ms: int | None = None
    maintenance_until: datetime | None = None
    incident_started_at: datetime | None = None
    expires_at: datetime | None = None
    # 'file:<entry>' when the operator's monitors-as-code file declares it (core/config_file/).
    managed_by: str | None = None
    # Of the last check, when read with it (core/storage/monitors.py): its stable error
    # code and details (an EVM node's block height and age, ...).
    last_error_code: str | None = None
    last_details: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: Any) -> Monitor:
        names = cls.__dataclass_fields__.keys()
        data = {k: row[k] for k in names if k in row}
        data["state"] = State(data["state"])
        return cls(**data)


@dataclass(frozen=True)
class UptimeWindow:
    period: str  # "24h", "7d", "30d", "90d"
    checks: int
    ok_checks: int
    avg_latency_ms: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    p99_latency_ms: float | None

    @property
    def uptime(self) -> float | None:
        """Fraction of successful checks; None when there is no data (never "up")."""
        return self.ok_checks / self.checks if self.checks else None


@dataclass(frozen=True)
class CheckRecord:
    time: datetime
    ok: bool
    status_code: int | None
    latency_ms: int | None
    error_code: str | None
    error: str | None
    details: dict[str, Any] | None = field(default=None)
    worker_id: str | None = None  # the process that ran it (None before sql/0012)


@dataclass(frozen=True)
class Incident:
    """One outage: from the first failing check to the check that confirmed recovery (or
    to a pause or maintenance that ended it). Open while ``ended_at`` is None; its
    ``duration`` then runs to the time it was read."""

    id: int
    started_at: datetime
    ended_at: datetime | None
    end_reason: Literal["recovered", "paused", "maintenance"] | None  # None while open
    duration: timedelta
    first_error_code: str | None
    first_error: str | None
    checks_failed: int
