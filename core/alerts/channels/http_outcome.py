"""How an HTTP answer from an alert receiver maps to a delivery outcome."""

from __future__ import annotations

from collections.abc import Mapping

from lighthouse.core.alerts.channels.base import DeliveryResult, Outcome
from lighthouse.core.netguard import blocked_error


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def outcome_for_response(status: int, headers: Mapping[str, str]) -> DeliveryResult:
    if 200 <= status < 300:
        return DeliveryResult.ok()
    if status == 429:
        return DeliveryResult(Outcome.RETRY, "rate limited (429)", retry_after_s=_retry_after(headers))
    if status in (404, 410):  # the receiver is gone (e.g. a deleted Discord webhook)
        return DeliveryResult(Outcome.PERMANENT, f"HTTP {status}", disable_channel=True)
    if status in (400, 401, 403, 413, 422):
        return DeliveryResult(Outcome.PERMANENT, f"HTTP {status}")
    return DeliveryResult(Outcome.RETRY, f"HTTP {status}", retry_after_s=_retry_after(headers))


def outcome_for_exception(exc: BaseException) -> DeliveryResult:
    blocked = blocked_error(exc)
    if blocked is not None:
        return DeliveryResult(Outcome.PERMANENT, str(blocked), disable_channel=True)
    return DeliveryResult(Outcome.RETRY, f"{type(exc).__name__}: {exc}"[:300])
