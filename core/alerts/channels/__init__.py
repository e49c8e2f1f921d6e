"""Alert channels. A new channel is one module here; the composition root registers instances."""

from __future__ import annotations

from lighthouse.core.alerts.channels.base import (
    AlertChannel,
    Delivery,
    DeliveryResult,
    Outcome,
)

__all__ = ["AlertChannel", "Delivery", "DeliveryResult", "Outcome"]
