"""The check-type interface: one module per type under core/checks/, one registry line each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import aiohttp
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.storage.database import Pool
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
    """What a check may use: the guarded HTTP session, the guard itself and, for checks
    that judge what was pushed to Lighthouse rather than contacting a target (heartbeat
    pings), the database. ``pool`` is None where there is none (``lighthouse check``)."""

    session: aiohttp.ClientSession
    guard: TargetGuard
    pool: Pool | None = None


@dataclass(frozen=True)
class PreflightContext:
    """What validation at creation may use: the guard (nothing is contacted yet) and the
    database (a heartbeat's config must name a row reserved for it)."""

    guard: TargetGuard
    pool: Pool | None = None


@dataclass(frozen=True)
class Fact:
    """One type-specific line of a result, shown in chat and in alerts: ``label`` is an
    English message with a ``{value}`` placeholder, marked for the catalogs in the type's
    module and translated where it is shown."""

    label: str
    value: Any


def mark(message: str) -> str:
    """Marks a message for the catalogs (imported as ``_``); translated where it is shown."""
    return message


_ = mark


class CheckType(Protocol, Generic[ConfigT]):
    """Everything a check type is. A new type is a module implementing this (usually by
    subclassing ``CheckTypeBase`` for the optional parts) and one line in the registry."""

    name: ClassVar[str]
    config_model: ClassVar[type[CheckConfig]]
    # The tier feature this type needs (core/tiers.py), None when every tier has it.
    required_feature: ClassVar[str | None]
    # Monitors of this type also count against Tier.group_limits[limit_group].
    limit_group: ClassVar[str | None]
    # A valid config, for docs, examples and the conformance test (tests/checks/).
    example: ClassVar[dict[str, Any]]
    # Alert titles of the signals this type raises, by alert type (English, marked).
    signal_titles: ClassVar[dict[str, str]]

    def from_shorthand(self, text: str) -> dict[str, Any] | None:
        """The config for a chat shorthand of this type (``tcp://host:port``), or None when
        ``text`` is not one. ``describe`` gives the shorthand back where one exists."""
        ...

    def shorthand(self, config: ConfigT) -> str | None:
        """The chat shorthand of a config (what ``from_shorthand`` reads), None if none."""
        ...

    def facts(self, data: dict[str, Any]) -> list[Fact]:
        """Type-specific lines for a result (``CheckResult.to_dict()``) or an alert payload."""
        ...

    def target_host(self, config: ConfigT) -> str:
        """The host this check talks to, for per-host concurrency and display."""
        ...

    def describe(self, config: ConfigT) -> str:
        """A short human label of the target (URL, host:port, ...)."""
        ...

    async def preflight(self, config: ConfigT, ctx: PreflightContext) -> None:
        """Validation that needs I/O at creation (e.g. the SSRF guard); raise typed errors."""
        ...

    async def run(self, config: ConfigT, ctx: CheckContext) -> CheckResult:
        """Run one check. Must not raise for target failures: return ok=False instead."""
        ...


class CheckTypeBase:
    """Defaults of the optional parts of ``CheckType``."""

    required_feature: ClassVar[str | None] = None
    limit_group: ClassVar[str | None] = None
    signal_titles: ClassVar[dict[str, str]] = {}

    def from_shorthand(self, text: str) -> dict[str, Any] | None:
        return None

    def shorthand(self, config: Any) -> str | None:
        return None

    def facts(self, data: dict[str, Any]) -> list[Fact]:
        return []


# --- pieces several types share -------------------------------------------------------
def host_port_shorthand(scheme: str, text: str) -> dict[str, Any] | None:
    """``scheme://host[:port]`` or ``scheme host[:port]`` (``[v6]:port`` too) ->
    {"host", "port"}; None for other text."""
    words = typed_words(scheme, text)
    if words is not None and len(words) == 1:
        text = f"{scheme}://{words[0]}"
    raw = text.strip().strip("<>").strip()
    if not raw.lower().startswith(scheme + "://"):
        return None
    rest = raw[len(scheme) + 3:].rstrip("/")
    if rest.startswith("["):
        host, _, port = rest[1:].partition("]")
        port = port.removeprefix(":")
    elif rest.count(":") == 1:
        host, _, port = rest.partition(":")
    else:
        host, port = rest, ""
    config: dict[str, Any] = {"host": host}
    if port:
        config["port"] = int(port) if port.isascii() and port.isdigit() else port
    return config


def typed_words(name: str, text: str) -> list[str] | None:
    """The words after a type's own name (``tcp db.example.com:5432``), or None when
    ``text`` does not start with it or is the ``<type> {json}`` form."""
    words = text.split()
    if len(words) < 2 or words[0].lower() != name or words[1].startswith("{"):
        return None
    return [w.strip("<>") for w in words[1:]]


def http_facts(data: dict[str, Any]) -> list[Fact]:
    out = []
    if data.get("status_code") is not None:
        out.append(Fact(_("HTTP status: {value}"), data["status_code"]))
    return out + expiry_facts(data)


def expiry_facts(data: dict[str, Any]) -> list[Fact]:
    if data.get("days_left") is None:
        return []
    return [Fact(_("Days left: {value}"), data["days_left"])]
