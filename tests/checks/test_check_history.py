"""tcp, dns and tls results go through the scheduler into the same history and alert tables
as HTTP: details (with each condition's outcome) as jsonb, and a certificate's expiry
threshold alerting once however many checks see it."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
import trustme
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.metrics import Metrics
from lighthouse.core.models import Identity, Provider
from lighthouse.core.scheduler import Scheduler
from lighthouse.core.service import MonitorService
from lighthouse.core.storage.results import ResultWriter
from net_targets import ca_pem, dns_listener, tcp_listener, tls_listener

WHO = Identity(Provider.API, "history")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def _round(pool: asyncpg.Pool, scheduler: Scheduler, writer: ResultWriter,
                 rows: int) -> None:
    """Make every monitor due, then tick until check_history holds ``rows`` rows (bounded),
    and until the writer has also committed their state and alerts: history and state are
    written on two connections at once, and the next round's claim reset would otherwise
    make a state write still in flight stale (its claim gone), dropping its alert."""
    await pool.execute("UPDATE monitors SET next_due = now() - interval '1 second', "
                       "claimed_until = NULL, claimed_by = NULL")
    async with asyncio.timeout(30):
        while await pool.fetchval("SELECT count(*) FROM check_history") < rows:
            await scheduler.tick()
            await asyncio.sleep(0.05)
        await writer.flush()  # waits for a flush in progress, then writes what is left


async def test_socket_types_fill_history_and_alert_once_per_threshold(
        pool: asyncpg.Pool, service: MonitorService, check_context: CheckContext,
        ca: trustme.CA, make_free_port: Any) -> None:
    await service.ensure_user(WHO)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    async with tcp_listener() as tcp_port, dns_listener() as dns_server, \
            tls_listener(ca, "localhost", days=5) as tls_port:
        made = {
            "tcp": await service.create_monitor(WHO, type="tcp", name="smtp", config={
                "host": "127.0.0.1", "port": tcp_port,
                "conditions": ["[BANNER] contains ESMTP"]}),
            "dns": await service.create_monitor(WHO, type="dns", name="api A", config={
                "name": "api.lighthouse.test", "server": dns_server,
                "conditions": ['[ANSWERS] contains "203.0.113.7"']}),
            "tls": await service.create_monitor(WHO, type="tls", name="cert", config={
                "host": "localhost", "port": tls_port, "ca_pem": ca_pem(ca),
                "conditions": ["[CERT_EXPIRY] > 3d"]}),
            "down": await service.create_monitor(WHO, type="tcp", name="closed", config={
                "host": "127.0.0.1", "port": make_free_port()}),
        }
        writer = ResultWriter(pool, "history-test", max_delay_s=0.05)
        writer.start()
        scheduler = Scheduler(pool, check_context, writer, Metrics(), worker_id="history-test",
                              max_concurrency=10, claim_batch=10)
        try:
            await _round(pool, scheduler, writer, 4)
            await _round(pool, scheduler, writer, 8)  # the same certificate, checked again
        finally:
            await scheduler.stop()
            await writer.stop()

    rows = await pool.fetch("SELECT monitor_id, ok, latency_ms, error_code, details "
                            "FROM check_history ORDER BY time")
    by_monitor: dict[int, list[asyncpg.Record]] = {}
    for row in rows:
        by_monitor.setdefault(row["monitor_id"], []).append(row)
    assert {len(v) for v in by_monitor.values()} == {2}
    for kind in ("tcp", "dns", "tls"):
        for row in by_monitor[made[kind].id]:
            assert row["ok"] is True and row["latency_ms"] is not None, (kind, row)
            [outcome] = row["details"]["conditions"]
            assert outcome["ok"] is True and outcome["actual"], (kind, outcome)
    tcp_row = by_monitor[made["tcp"].id][0]
    assert tcp_row["details"]["banner"].startswith("220 ")
    dns_row = by_monitor[made["dns"].id][0]
    assert dns_row["details"]["answers"] == ["203.0.113.7", "203.0.113.8"]
    tls_row = by_monitor[made["tls"].id][0]
    assert tls_row["details"]["tls"]["hostname_match"] is True
    assert 4.9 < tls_row["details"]["tls"]["days_left"] <= 5
    down = by_monitor[made["down"].id]
    assert [(r["ok"], r["error_code"]) for r in down] == [(False, "connection_refused")] * 2

    alerts = await pool.fetch("SELECT monitor_id, alert_type, severity, idempotency_key, payload "
                              "FROM alerts WHERE alert_type = 'certificate_expiry'")
    assert len(alerts) == 1  # two checks saw the 7-day threshold: one alert
    [alert] = alerts
    serial = tls_row["details"]["tls"]["serial"]
    assert (alert["monitor_id"], alert["severity"]) == (made["tls"].id, "warning")
    assert alert["idempotency_key"] == f"m{made['tls'].id}:sig:cert:{serial}:7"
    assert alert["payload"]["days_left"] == 4
    assert alert["payload"]["target"] == f"localhost:{tls_port} (TLS)"
