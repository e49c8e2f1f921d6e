"""The check-type interface: one module per type under core/checks/, one registry line each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import aiohttp
from lighthouse.core.netguard import TargetGuard
from pydantic import BaseModel, ConfigDict


class CheckConfig(BaseModel):
    """Base of every type's config model: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ConfigT = TypeVar("ConfigT", bound=CheckConfig, contravariant=True)


@dataclass(frozen=True)
class AlertSignal:
    """A type-specific alert raised by a check (certificate expiry, low balance, ...).

    ``dedupe_key`` makes it idempotent: the same key never alerts twice.
    """

    alert_type: str
    severity: str  # info | warning | critical
    dedupe_key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckResult:
    ok: bool
    latency_ms: float | None = None
    status_code: int | None = None
    error_code: str | None = None  # stable class of failure: timeout, tls_error, ...
    error: str | None = None  # short human text
    details: dict[str, Any] = field(default_factory=dict)  # timings, conditions, body sample
    signals: list[AlertSignal] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 2),
            "status_code": self.status_code,
            "error_code": self.error_code,
            "error": self.error,
            "details": self.details,
        }


@dataclass
class CheckContext:
    """What a check may use: the guarded HTTP session and the guard itself."""

    session: aiohttp.ClientSession
    guard: TargetGuard


class CheckType(Protocol, Generic[ConfigT]):
    name: ClassVar[str]
    config_model: ClassVar[type[CheckConfig]]

    def target_host(self, config: ConfigT) -> str:
        """The host this check talks to, for per-host concurrency and display."""
        ...

    def describe(self, config: ConfigT) -> str:
        """A short human label of the target (URL, host:port, ...)."""
        ...

    async def preflight(self, config: ConfigT, guard: TargetGuard) -> None:
        """Validation that needs I/O at creation (e.g. the SSRF guard); raise typed errors."""
        ...

    async def run(self, config: ConfigT, ctx: CheckContext) -> CheckResult:
        """Run one check. Must not raise for target failures: return ok=False instead."""
        ...
