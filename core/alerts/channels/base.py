"""The alert-channel interface. One module per channel under core/alerts/channels/."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from lighthouse.core.alerts.render import RenderedAlert


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: try again later (after retry_after_s when given)
    DEFER = "defer"  # not attempted (pacing, flood hold): requeue after retry_after_s, no attempt used
    PERMANENT = "permanent"  # will never work: the delivery fails; disable the channel if asked


@dataclass(frozen=True)
class Delivery:
    """One alert to one channel, as the worker hands it over."""

    outbox_id: int
    alert_id: int
    idempotency_key: str
    alert_type: str
    severity: str
    payload: dict[str, Any]
    rendered: RenderedAlert
    channel_id: int
    channel_kind: str
    # The stored config may hold secrets (a signing secret, a webhook URL with its token).
    channel_config: dict[str, Any] = field(repr=False)
    attempt: int


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    error: str | None = None
    retry_after_s: float | None = None
    disable_channel: bool = False
    # A channel that moved (Telegram group → supergroup) returns its new config.
    new_config: dict[str, Any] | None = field(default=None)

    @classmethod
    def ok(cls) -> DeliveryResult:
        return cls(Outcome.DELIVERED)


class AlertChannel(Protocol):
    kind: ClassVar[str]

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        """Send one alert. Must not raise: map every failure to an outcome."""
        ...
