"""Rollups and retention for plain PostgreSQL, and the one query layer for both modes.

TimescaleDB mode: hourly_metrics/daily_metrics are continuous aggregates maintained by
TimescaleDB policies. Plain mode: the same columns in tables kept here. Either way each
row carries a latency histogram over ln(ms) (0..11 in 55 steps, TimescaleDB's
``histogram()`` layout), so percentiles over any range merge exactly to bucket width
(about ±10 %); percentiles do not average.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from string import Formatter
from typing import Any

from lighthouse.core.models import UptimeWindow
from lighthouse.core.storage.database import Pool, StorageMode

HIST_MIN, HIST_MAX, HIST_BUCKETS = 0.0, 11.0, 55
_WIDTH = (HIST_MAX - HIST_MIN) / HIST_BUCKETS
RAW_RETENTION = timedelta(days=90)

_HOURLY_FROM_RAW = f"""
WITH raw AS (
    SELECT monitor_id, date_trunc('hour', time) AS bucket, ok, latency_ms
    FROM check_history WHERE time >= $1 AND time < $2
), stats AS (
    SELECT monitor_id, bucket, count(*) AS checks, count(*) FILTER (WHERE ok) AS ok_checks,
           avg(latency_ms)::double precision AS avg_l, min(latency_ms) AS min_l,
           max(latency_ms) AS max_l,
           percentile_cont(0.50) WITHIN GROUP (ORDER BY latency_ms) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99
    FROM raw GROUP BY monitor_id, bucket
), hist AS (
    SELECT monitor_id, bucket,
           width_bucket(ln(greatest(latency_ms, 1)::double precision),
                        {HIST_MIN}, {HIST_MAX}, {HIST_BUCKETS}) AS wb, count(*) AS n
    FROM raw WHERE latency_ms IS NOT NULL GROUP BY 1, 2, 3
), dense AS (
    SELECT h.monitor_id, h.bucket,
           array_agg(coalesce(x.n, 0)::int ORDER BY g.i) AS latency_hist
    FROM (SELECT DISTINCT monitor_id, bucket FROM hist) h
    CROSS JOIN generate_series(0, {HIST_BUCKETS + 1}) AS g(i)
    LEFT JOIN hist x ON x.monitor_id = h.monitor_id AND x.bucket = h.bucket AND x.wb = g.i
    GROUP BY h.monitor_id, h.bucket
)
INSERT INTO hourly_metrics AS t (monitor_id, bucket, checks, ok_checks, avg_latency_ms,
    min_latency_ms, max_latency_ms, p50_latency_ms, p95_latency_ms, p99_latency_ms, latency_hist)
SELECT s.monitor_id, s.bucket, s.checks, s.ok_checks, s.avg_l, s.min_l, s.max_l,
       s.p50, s.p95, s.p99, d.latency_hist
FROM stats s LEFT JOIN dense d USING (monitor_id, bucket)
ON CONFLICT (monitor_id, bucket) DO UPDATE SET
    checks = EXCLUDED.checks, ok_checks = EXCLUDED.ok_checks,
    avg_latency_ms = EXCLUDED.avg_latency_ms, min_latency_ms = EXCLUDED.min_latency_ms,
    max_latency_ms = EXCLUDED.max_latency_ms, p50_latency_ms = EXCLUDED.p50_latency_ms,
    p95_latency_ms = EXCLUDED.p95_latency_ms, p99_latency_ms = EXCLUDED.p99_latency_ms,
    latency_hist = EXCLUDED.latency_hist
"""

# Daily rows merge the day's hourly rows: counts exact, percentiles from the merged histogram.
_DAILY_FROM_HOURLY = """
SELECT monitor_id, date_trunc('day', bucket) AS day, sum(checks)::bigint AS checks,
       sum(ok_checks)::bigint AS ok_checks,
       sum(avg_latency_ms * checks) / nullif(sum(checks) FILTER (WHERE avg_latency_ms IS NOT NULL), 0)
           AS avg_l,
       min(min_latency_ms) AS min_l, max(max_latency_ms) AS max_l,
       array_agg(latency_hist) FILTER (WHERE latency_hist IS NOT NULL) AS hists
FROM hourly_metrics WHERE bucket >= $1 AND bucket < $2
GROUP BY 1, 2
"""


def merge_hists(hists: Sequence[Sequence[int] | None]) -> list[int]:
    # Column sums through zip: 90 daily rows of 57 counts merge in C, not in 5,000 steps
    # of Python (a third of a 90-day summary's time before).
    width = HIST_BUCKETS + 2
    present = [h for h in hists if h]
    if not present:
        return [0] * width
    total = [sum(col) for col in zip_longest(*present, fillvalue=0)][:width]
    return total + [0] * (width - len(total))


def hist_percentile(hist: Sequence[int], q: float) -> float | None:
    count = sum(hist)
    if count == 0:
        return None
    target = q * count
    seen = 0
    for i, n in enumerate(hist):
        seen += n
        if seen >= target and n:
            if i == 0:
                return math.exp(HIST_MIN)
            if i > HIST_BUCKETS:
                return math.exp(HIST_MAX)
            # geometric middle of the bucket's ms range
            return math.exp(HIST_MIN + (i - 0.5) * _WIDTH)
    return math.exp(HIST_MAX)


async def refresh_hourly(pool: Pool, start: datetime, end: datetime) -> None:
    start = start.replace(minute=0, second=0, microsecond=0)
    await pool.execute(_HOURLY_FROM_RAW, start, end)


async def refresh_daily(pool: Pool, start: datetime, end: datetime) -> None:
    start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = await pool.fetch(_DAILY_FROM_HOURLY, start, end)
    records = []
    for r in rows:
        hist = merge_hists(r["hists"] or [])
        records.append((
            r["monitor_id"], r["day"], r["checks"], r["ok_checks"], r["avg_l"], r["min_l"],
            r["max_l"], hist_percentile(hist, 0.5), hist_percentile(hist, 0.95),
            hist_percentile(hist, 0.99), hist,
        ))
    if not records:
        return
    await pool.executemany(
        """
        INSERT INTO daily_metrics AS t (monitor_id, bucket, checks, ok_checks, avg_latency_ms,
            min_latency_ms, max_latency_ms, p50_latency_ms, p95_latency_ms, p99_latency_ms,
            latency_hist)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (monitor_id, bucket) DO UPDATE SET
            checks = EXCLUDED.checks, ok_checks = EXCLUDED.ok_checks,
            avg_latency_ms = EXCLUDED.avg_latency_ms, min_latency_ms = EXCLUDED.min_latency_ms,
            max_latency_ms = EXCLUDED.max_latency_ms, p50_latency_ms = EXCLUDED.p50_latency_ms,
            p95_latency_ms = EXCLUDED.p95_latency_ms, p99_latency_ms = EXCLUDED.p99_latency_ms,
            latency_hist = EXCLUDED.latency_hist
        """,
        records,
    )


async def delete_expired(pool: Pool, now: datetime, *, max_slices: int = 48) -> int:
    """App-side retention for plain mode: oldest first, one hour of time per statement."""
    cutoff = now - RAW_RETENTION
    oldest = await pool.fetchval("SELECT min(time) FROM check_history")
    deleted = 0
    for _ in range(max_slices):
        if oldest is None or oldest >= cutoff:
            break
        upper = min(oldest + timedelta(hours=1), cutoff)
        status = await pool.execute("DELETE FROM check_history WHERE time < $1", upper)
        deleted += int(status.split()[-1])
        oldest = upper
    return deleted


PERIODS: dict[str, tuple[timedelta, str]] = {
    "24h": (timedelta(hours=24), "hourly_metrics"),
    "7d": (timedelta(days=7), "hourly_metrics"),
    "30d": (timedelta(days=30), "daily_metrics"),
    "90d": (timedelta(days=90), "daily_metrics"),
}
BUCKETS: dict[str, timedelta] = {"hourly_metrics": timedelta(hours=1),
                                 "daily_metrics": timedelta(days=1)}
# The epoch is a Thursday at 00:00 UTC: flooring epoch seconds gives whole UTC hours and
# days, the same boundaries as time_bucket() and date_trunc() in UTC.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def floor_to(t: datetime, step: timedelta) -> datetime:
    return _EPOCH + (t - _EPOCH) // step * step


def ceil_to(t: datetime, step: timedelta) -> datetime:
    return _EPOCH - (_EPOCH - t) // step * step


async def refresh_continuous_aggregates(pool: Pool, start: datetime, end: datetime) -> None:
    """TimescaleDB mode: materialize the whole buckets of both aggregates inside
    [start, end), as their policies do (sql/0002_history.timescaledb.sql).

    TimescaleDB refuses a window that holds no whole bucket ("refresh window too small");
    such a window is skipped, since there is nothing finished to materialize. Between 00:00
    and 01:00 UTC, for instance, now-2d..now-1h holds one whole day, but now-1d..now-1h
    holds none.
    """
    for view, step in BUCKETS.items():
        lo, hi = ceil_to(start, step), floor_to(end, step)
        if lo < hi:
            await pool.execute(
                f"CALL refresh_continuous_aggregate('{view}', $1::timestamptz, $2::timestamptz)",
                lo, hi,
            )


# A summary reads whole days from the daily rollup and hours only around them: a 7-day
# window is about 50 rows instead of 168 hourly ones, which is most of its cost (decoding
# and merging 57-count histograms). Each part is one index range, so no row is read to
# be thrown away, and a statement holds only the parts its period needs: every part of
# a hypertable costs its chunk checks even when its range is empty.
_ROLLUP_PART = """
SELECT checks, ok_checks, avg_latency_ms, latency_hist FROM {table}
WHERE monitor_id = $1 AND bucket >= {lo} AND bucket < {hi}"""
# TimescaleDB mode: the rows after the hourly watermark, aggregated here
# (sql/0018_rollup_reads.timescaledb.sql). Through the real-time views a summary also
# paid for three percentile sorts per bucket it never reads.
_RAW_PART = f"""
SELECT count(*) AS checks, count(*) FILTER (WHERE ok) AS ok_checks,
       avg(latency_ms)::double precision AS avg_latency_ms,
       histogram(ln(greatest(latency_ms, 1)::double precision),
                 {HIST_MIN}, {HIST_MAX}, {HIST_BUCKETS}) AS latency_hist
FROM check_history_unmaterialized WHERE monitor_id = $1 AND time >= {{start}} AND time < {{end}}"""
# Plain mode: the rollup tables (kept by core/housekeeping.py). Hourly rows are redone
# every 5 minutes, a day's row each hour from them, so a day is read from daily_metrics
# once PLAIN_DAILY_LAG has passed since its end, and from its hours until then.
PLAIN_DAILY_LAG = timedelta(hours=2)


@dataclass(frozen=True)
class _Summary:
    sql: str
    args: tuple[str, ...]  # the values for $2, $3, ... by name ($1 is the monitor)


def _summary_statement(mode: StorageMode, days: bool, lead_hours: bool) -> _Summary:
    """The statement for a period: [start, end) its range, [first_day, days_stop) the
    whole days read from daily rows (``days``), the hours before them (``lead_hours``)
    and after them from hourly rows, and in TimescaleDB mode the raw tail."""
    ts = mode == "timescaledb"
    hourly = "hourly_metrics_finished" if ts else "hourly_metrics"
    parts = []
    if days:
        parts.append(_ROLLUP_PART.format(table="daily_metrics_finished" if ts else "daily_metrics",
                                         lo="{first_day}", hi="{days_stop}"))
        # TimescaleDB's daily view stops where both aggregates are finished (days_until):
        # hours from there on are read hourly.
        days_end = "greatest({first_day}, least({days_stop}, days_until))" if ts else "{days_stop}"
        if lead_hours and ts:
            # One hourly part for the hours on both sides of the days: with a part each,
            # PostgreSQL kept planning the statement anew for every call (a custom plan
            # looked cheaper than the cached one over every chunk); this one is planned once.
            parts.append(_ROLLUP_PART.format(table=hourly, lo="{start}", hi="{end}")
                         + f" AND (bucket < {{first_day}} OR bucket >= {days_end})")
        else:
            if lead_hours:
                parts.append(_ROLLUP_PART.format(table=hourly, lo="{start}", hi="{first_day}"))
            parts.append(_ROLLUP_PART.format(table=hourly, lo=days_end, hi="{end}"))
    else:
        parts.append(_ROLLUP_PART.format(table=hourly, lo="{start}", hi="{end}"))
    if ts:
        parts.append(_RAW_PART)
    text = "\nUNION ALL".join(parts)
    names = tuple(dict.fromkeys(f for _, f, _, _ in Formatter().parse(text) if f))
    return _Summary(text.format(**{n: f"${i}" for i, n in enumerate(names, start=2)}), names)


_SUMMARIES = {
    (mode, days, lead): _summary_statement(mode, days, lead)
    for mode in ("plain", "timescaledb") for days in (False, True) for lead in (False, days)
}
_DAY = timedelta(days=1)


def period_range(period: str, now: datetime) -> tuple[datetime, datetime]:
    """The buckets a period covers: those starting at or after ``now`` minus its span,
    through the one holding ``now``, as the half-open time range [start, end)."""
    span, table = PERIODS[period]
    step = BUCKETS[table]
    return ceil_to(now - span, step), floor_to(now, step) + step


def whole_days(start: datetime, end: datetime, until: datetime | None = None,
               ) -> tuple[datetime, datetime]:
    """The whole UTC days inside [start, end) (and before ``until``), as [first, stop);
    an empty range starts and stops at ``start``'s next midnight."""
    first = ceil_to(start, _DAY)
    stop = floor_to(end if until is None else min(end, until), _DAY)
    return first, max(first, stop)


async def uptime_windows(
    pool: Pool, monitor_id: int, now: datetime, periods: Sequence[str] = ("24h", "7d", "30d", "90d"),
    mode: StorageMode = "plain",
) -> list[UptimeWindow]:
    """Uptime and latency per period: one statement each over the rollups' finished days
    and hours (plus, in TimescaleDB mode, the raw rows not materialized yet)."""
    out: list[UptimeWindow] = []
    async with pool.acquire() as conn:
        for period in periods:
            start, end = period_range(period, now)
            first_day, days_stop = whole_days(
                start, end, now - PLAIN_DAILY_LAG if mode == "plain" else None)
            days = first_day < days_stop
            statement = _SUMMARIES[(mode, days, days and start < first_day)]
            values = {"start": start, "end": end, "first_day": first_day, "days_stop": days_stop}
            rows = await conn.fetch(statement.sql, monitor_id,
                                    *(values[name] for name in statement.args))
            out.append(_window(period, rows))
    return out


def _window(period: str, rows: Sequence[Any]) -> UptimeWindow:
    checks = sum(r["checks"] for r in rows)
    ok = sum(r["ok_checks"] for r in rows)
    weighted = [(r["avg_latency_ms"], r["checks"]) for r in rows if r["avg_latency_ms"] is not None]
    n = sum(c for _, c in weighted)
    avg = sum(a * c for a, c in weighted) / n if n else None
    hist = merge_hists([r["latency_hist"] for r in rows])
    return UptimeWindow(
        period=period, checks=checks, ok_checks=ok, avg_latency_ms=avg,
        p50_latency_ms=hist_percentile(hist, 0.5),
        p95_latency_ms=hist_percentile(hist, 0.95),
        p99_latency_ms=hist_percentile(hist, 0.99),
    )
