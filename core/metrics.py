"""Prometheus metrics of the core. The HTTP exposition lives in the API adapter."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.checks_total = Counter(
            "lighthouse_checks_total", "Checks run, by type and result", ["type", "result"],
            registry=r,
        )
        self.check_duration = Histogram(
            "lighthouse_check_duration_seconds", "Duration of one check", ["type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.schedule_lag = Histogram(
            "lighthouse_schedule_lag_seconds", "Start of a check minus its due time",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60), registry=r,
        )
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
