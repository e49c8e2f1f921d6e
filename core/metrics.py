"""Prometheus metrics of the core. The HTTP exposition lives in the API adapter.

Per-monitor gauges (``MonitorGauges``): ``lighthouse_monitor_up`` (1 when the monitor's
last check succeeded, 0 when it failed) and ``lighthouse_monitor_latency_seconds`` (the
last check's latency; absent when the check measured none), labelled ``monitor_id`` (the
id the CLI shows) and ``type``. Cardinality is bounded by the monitors this process
checks: a series exists while its monitor is checked here, and goes when the monitor is
deleted or paused (pruned once a minute by the scheduler) or has not been checked here
for three intervals (another worker took it over). So a process exposes at most two
series per monitor it checks, and the sum over workers stays at two per monitor, plus a
handover's overlap.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol
from uuid import UUID

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

# A series outlives its monitor's last check here by three intervals plus this: long enough
# for a late check, short enough that a monitor taken over by another worker leaves.
STALE_GRACE_S = 60.0

UP = "lighthouse_monitor_up"
LATENCY = "lighthouse_monitor_latency_seconds"
UP_HELP = "1 when the monitor's last check succeeded, 0 when it failed"
LATENCY_HELP = "Latency of the monitor's last check"
LABELS = ["monitor_id", "type"]

# One monitor's last result: (public id, type, up, latency in seconds or None, expiry on
# the monotonic clock). A tuple, not an object: the result writer stores one per result.
Latest = tuple[UUID | None, str, float, float | None, float]


class _Claim(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def public_id(self) -> UUID | None: ...
    @property
    def type(self) -> str: ...
    @property
    def interval_s(self) -> int: ...


class _Result(Protocol):
    @property
    def ok(self) -> bool: ...
    @property
    def latency_ms(self) -> float | None: ...


class Written(Protocol):
    """A result the writer stored (core/storage/results.py ``Finished``)."""

    @property
    def claim(self) -> _Claim: ...
    @property
    def result(self) -> _Result: ...


class MonitorGauges(Collector):
    """The per-monitor gauges as a collector: the result writer only stores each monitor's
    last result in a dict (``record``), and a scrape builds the series from it. Setting a
    labelled Gauge per result costs a label lookup and a lock each; this costs one dict
    write, and nothing at all when nobody scrapes."""

    def __init__(self) -> None:
        self._latest: dict[int, Latest] = {}

    def record(self, written: Iterable[Written]) -> None:
        """The last result of each monitor in ``written`` (the writer's hot path: one
        tuple and one dict write per result, attributes read once)."""
        now = time.monotonic() + STALE_GRACE_S
        latest = self._latest
        for f in written:
            c, r = f.claim, f.result
            latency = r.latency_ms
            latest[c.id] = (c.public_id, c.type, 1.0 if r.ok else 0.0,
                            None if latency is None else latency / 1000.0,
                            now + 3 * c.interval_s)

    def forget(self, monitor_ids: Iterable[int]) -> None:
        for monitor_id in monitor_ids:
            self._latest.pop(monitor_id, None)

    def monitor_ids(self) -> list[int]:
        return list(self._latest)

    def describe(self) -> Iterator[Any]:
        yield GaugeMetricFamily(UP, UP_HELP, labels=LABELS)
        yield GaugeMetricFamily(LATENCY, LATENCY_HELP, labels=LABELS)

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily(UP, UP_HELP, labels=LABELS)
        latency = GaugeMetricFamily(LATENCY, LATENCY_HELP, labels=LABELS)
        now = time.monotonic()
        stale: list[int] = []
        for monitor_id, (public_id, type_name, ok, seconds, expires) in list(self._latest.items()):
            if expires < now:
                stale.append(monitor_id)
                continue
            labels = [str(public_id) if public_id is not None else str(monitor_id), type_name]
            up.add_metric(labels, ok)
            if seconds is not None:
                latency.add_metric(labels, seconds)
        self.forget(stale)
        yield up
        yield latency


class _Buckets:
    """One label set's counts: one per bound, then +Inf (not cumulative until exposed)."""

    __slots__ = ("_bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        # the first bound >= value: Prometheus buckets are "less than or equal"
        self.counts[bisect_left(self._bounds, value)] += 1
        self.sum += value


class LoopHistogram(Collector):
    """A Prometheus histogram observed from the event loop's thread only: ``observe`` is a
    bisect and two additions. prometheus_client's Histogram takes a lock for the bucket
    and another for the sum of every observation; the scheduler observes two histograms
    per check, thousands of times a second. /metrics is served on the same loop
    (api/health.py), so a scrape never sees a half-made observation."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float],
                 labelnames: Sequence[str] = ()) -> None:
        self._name = name
        self._doc = documentation
        self._bounds = tuple(sorted(float(b) for b in buckets))
        self._labelnames = list(labelnames)
        self._children: dict[tuple[str, ...], _Buckets] = {}
        if not self._labelnames:
            self._children[()] = _Buckets(self._bounds)

    def labels(self, *values: str) -> _Buckets:
        if len(values) != len(self._labelnames):
            raise ValueError(f"{self._name} takes labels {self._labelnames}")
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = _Buckets(self._bounds)
        return child

    def observe(self, value: float) -> None:
        self._children[()].observe(value)

    def describe(self) -> Iterator[Any]:
        yield HistogramMetricFamily(self._name, self._doc, labels=self._labelnames)

    def collect(self) -> Iterator[Any]:
        family = HistogramMetricFamily(self._name, self._doc, labels=self._labelnames)
        edges = [*(repr(b) for b in self._bounds), "+Inf"]
        for labels, child in self._children.items():
            running, buckets = 0, []
            for edge, count in zip(edges, child.counts, strict=True):
                running += count
                buckets.append((edge, float(running)))
            family.add_metric(list(labels), buckets, sum_value=child.sum)
        yield family


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.checks_total = Counter(
            "lighthouse_checks_total", "Checks run, by type and result", ["type", "result"],
            registry=r,
        )
        self.check_duration = LoopHistogram(
            "lighthouse_check_duration_seconds", "Duration of one check",
            (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), ["type"],
        )
        r.register(self.check_duration)
        self.schedule_lag = LoopHistogram(
            "lighthouse_schedule_lag_seconds", "Start of a check minus its due time",
            (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
        )
        r.register(self.schedule_lag)
        self.queue_depth = Gauge(
            "lighthouse_checks_in_flight", "Checks claimed and not yet written", registry=r
        )
        self.due_backlog = Gauge(
            "lighthouse_due_backlog", "Monitors due and not yet claimed (sampled)", registry=r
        )
        self.result_buffer = Gauge(
            "lighthouse_result_buffer", "Results waiting for the next batched write", registry=r
        )
        self.results_quarantined = Counter(
            "lighthouse_results_quarantined_total",
            "Results PostgreSQL refused for their own data, set aside in quarantined_results",
            registry=r,
        )
        self.results_dropped = Counter(
            "lighthouse_results_dropped_total",
            "Results dropped unwritten because the write buffer was full (database unreachable)",
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "lighthouse_outbox_backlog", "Alert deliveries pending", registry=r
        )
        self.deliveries_total = Counter(
            "lighthouse_alert_deliveries_total", "Alert delivery attempts by channel and result",
            ["channel", "result"], registry=r,
        )
        self.payments_total = Counter(
            "lighthouse_payments_total", "x402 payments by outcome", ["outcome"], registry=r
        )
        # Transactions each process spends on PostgreSQL, for capacity planning across
        # workers (bench/workers.py, docs/scaling.md): one claim per statement, one
        # history COPY and one state write per result batch.
        self.claim_queries = Counter(
            "lighthouse_claim_queries_total", "Claim statements run against the schedule",
            registry=r,
        )
        self.monitors_claimed = Counter(
            "lighthouse_monitors_claimed_total", "Monitors claimed for a check", registry=r
        )
        self.result_writes = Counter(
            "lighthouse_result_write_transactions_total",
            "Result write transactions by part (history COPY, state update)", ["part"],
            registry=r,
        )
        self.chat_leader = Gauge(
            "lighthouse_chat_leader",
            "1 while this process holds the chat leader lease and runs the bots", registry=r,
        )
        self.monitors = MonitorGauges()
        r.register(self.monitors)
