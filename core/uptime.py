"""Uptime figures as every surface reports them (chat /monitor status, the API's /uptime,
status pages): one function, so two surfaces never disagree about the same monitor."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from lighthouse.core.models import UptimeWindow

Series = list[tuple[datetime, int | None, bool]]


def _percentile(values: list[int], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def with_exact_day(windows: list[UptimeWindow], day_series: Series) -> list[UptimeWindow]:
    """The last 24 h exactly, from raw checks (the hourly rollups lag by up to an hour);
    longer windows from the rollups, or from the raw day while they hold nothing yet."""
    latencies = [ms for _t, ms, ok in day_series if ok and ms is not None]
    day = UptimeWindow(
        "24h", len(day_series), sum(1 for _t, _ms, ok in day_series if ok),
        sum(latencies) / len(latencies) if latencies else None,
        _percentile(latencies, 0.5), _percentile(latencies, 0.95), _percentile(latencies, 0.99),
    )
    out = [day]
    for w in windows:
        if w.period != "24h":
            out.append(w if w.checks else replace(day, period=w.period))
    return out
