"""core/metrics.py LoopHistogram: the lock-free histogram the scheduler observes per check
must expose exactly what prometheus_client's own Histogram would for the same values."""

from __future__ import annotations

from lighthouse.core.metrics import LoopHistogram
from prometheus_client import CollectorRegistry, Histogram, generate_latest

BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
# On a bound (Prometheus buckets are "<="), between bounds, below the first, past the last.
VALUES = (0.0, 0.01, 0.0100001, 0.3, 1, 59.99, 60, 61, 1e6)


def _lines(registry: CollectorRegistry) -> list[str]:
    return [line for line in generate_latest(registry).decode().splitlines()
            if "_created" not in line]


def test_same_exposition_as_prometheus_client_histogram() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    lag = LoopHistogram("lag_seconds", "Lag", BUCKETS)
    by_type = LoopHistogram("duration_seconds", "Duration", BUCKETS, ["type"])
    ours.register(lag)
    ours.register(by_type)
    ref_lag = Histogram("lag_seconds", "Lag", buckets=BUCKETS, registry=theirs)
    ref_by_type = Histogram("duration_seconds", "Duration", ["type"], buckets=BUCKETS,
                            registry=theirs)
    for i, value in enumerate(VALUES):
        lag.observe(value)
        ref_lag.observe(value)
        kind = ("http", "tcp")[i % 2]
        by_type.labels(kind).observe(value)
        ref_by_type.labels(kind).observe(value)
    assert _lines(ours) == _lines(theirs)
    assert 'lag_seconds_bucket{le="0.01"} 2.0' in _lines(ours)


def test_labels_must_match_the_names() -> None:
    by_type = LoopHistogram("duration_seconds", "Duration", BUCKETS, ["type"])
    try:
        by_type.labels("http", "extra")
    except ValueError:
        return
    raise AssertionError("a wrong label count was accepted")
