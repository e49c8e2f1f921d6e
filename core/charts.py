"""The one response-time chart: hourly points from the rollups, and its geometry.

The status page's SVG (api/status_page.py) and the chat status PNG (bot/chart.py) draw the
same picture from the same numbers: this module turns ``hourly_metrics`` rows into
``HourPoint`` series (``hour_series``) and a series into coordinates (``geometry``); the
renderers only paint. The rollups hold one row per monitor and hour, so a chart costs one
indexed read of at most 24 rows a monitor, never a scan of raw checks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

CHART_HOURS = 24


@dataclass(frozen=True)
class HourPoint:
    start: datetime
    checks: int
    ok_checks: int
    avg_latency_ms: float | None

    @property
    def failed(self) -> bool:
        return self.ok_checks < self.checks


@dataclass(frozen=True)
class Geometry:
    """A chart in a ``width`` x ``height`` box, y growing downwards."""

    width: float
    height: float
    top_ms: float  # the latency at the top of the box
    lines: list[list[tuple[float, float]]]  # one polyline per run of hours with data
    failures: list[tuple[float, float]]  # x ranges of hours with failed checks
    y_ticks: list[tuple[float, float]]  # (y, milliseconds)
    x_ticks: list[tuple[float, int]]  # (x, hours before the last point)

    @property
    def has_data(self) -> bool:
        return bool(self.lines)


def first_hour(now: datetime, hours: int = CHART_HOURS) -> datetime:
    """The start of the oldest hour a chart ending at ``now`` shows."""
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)


def hour_series(rows: Iterable[Any], start: datetime, hours: int = CHART_HOURS
                ) -> dict[int, list[HourPoint]]:
    """``hourly_metrics`` rows (monitor_id, bucket, checks, ok_checks, avg_latency_ms) as a
    full series per monitor from ``start``, an empty point where an hour has no row."""
    found: dict[int, dict[datetime, Any]] = {}
    for r in rows:
        if r["bucket"] >= start:
            found.setdefault(r["monitor_id"], {})[r["bucket"]] = r
    out: dict[int, list[HourPoint]] = {}
    for monitor_id, by_hour in found.items():
        series = []
        for i in range(hours):
            t = start + timedelta(hours=i)
            r = by_hour.get(t)
            series.append(HourPoint(t, 0, 0, None) if r is None else HourPoint(
                t, int(r["checks"]), int(r["ok_checks"]),
                None if r["avg_latency_ms"] is None else float(r["avg_latency_ms"])))
        out[monitor_id] = series
    return out


def empty_series(start: datetime, hours: int = CHART_HOURS) -> list[HourPoint]:
    return [HourPoint(start + timedelta(hours=i), 0, 0, None) for i in range(hours)]


def nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 100.0
    exp: float = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def geometry(points: Sequence[HourPoint], width: float, height: float, *,
             y_ticks: int = 4, x_every: int = 6) -> Geometry:
    """Coordinates of the latency line (a gap where an hour has no data), the failed hours
    and the axis ticks. The y axis ends at a round number above the highest hour."""
    values = [p.avg_latency_ms for p in points if p.avg_latency_ms is not None]
    top = nice_max(max(values) * 1.1) if values else 100.0
    n = len(points)
    step = width / max(n - 1, 1)
    lines: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    failures: list[tuple[float, float]] = []
    for i, p in enumerate(points):
        x = i * step
        if p.failed:
            failures.append((max(0.0, x - step / 2), min(width, x + step / 2)))
        if p.avg_latency_ms is None:
            if current:
                lines.append(current)
            current = []
            continue
        current.append((x, height - min(p.avg_latency_ms, top) / top * height))
    if current:
        lines.append(current)
    ticks_y = [(height - height * k / y_ticks, top * k / y_ticks) for k in range(y_ticks + 1)]
    ticks_x = [(i * step, n - 1 - i) for i in range(n - 1, -1, -x_every)][::-1]
    return Geometry(width, height, top, lines, failures, ticks_y, ticks_x)
