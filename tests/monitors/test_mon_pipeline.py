"""The new types through the real pipeline: scheduler -> check -> result writer -> alerts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from lighthouse.api.heartbeat import heartbeat_routes
from lighthouse.core.alerts.render import render
from lighthouse.core.checks import check_types
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.http_client import make_session
from lighthouse.core.metrics import Metrics
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.scheduler import Scheduler
from lighthouse.core.service import MonitorService
from lighthouse.core.storage.database import create_pool
from lighthouse.core.storage.results import ResultWriter
from support.evm import LocalChain

WHO = Identity(Provider.API, "pipeline")


async def _run_due(dsn: str, n: int = 1) -> None:
    """One scheduler process that runs every due monitor once and flushes its results."""
    pool = await create_pool(dsn, min_size=1, max_size=5)
    guard = TargetGuard(allow_private=True)
    session = make_session(guard)
    writer = ResultWriter(pool, "pipe", max_delay_s=0.05)
    writer.start()
    # With the database, as open_core builds it: heartbeat checks read their pings there.
    scheduler = Scheduler(pool, CheckContext(session, guard, pool), writer, Metrics(),
                          worker_id="pipe", max_concurrency=10, claim_batch=10)
    try:
        async with asyncio.timeout(15):
            while scheduler.checks_run < n:
                await scheduler.tick()
                await asyncio.sleep(0.02)
    finally:
        await scheduler.stop()
        await session.close()
        await pool.close()


async def test_low_balance_signal_becomes_an_alert(dsn: str, pool: asyncpg.Pool,
                                                   service: MonitorService) -> None:
    await service.upgrade_tier(WHO, "standard", timedelta(days=30))
    async with LocalChain(chain_id=43113) as chain:
        wallet = chain.new_account()
        await chain.fund(wallet.address, 10**17 // 2)  # 0.05 AVAX: under the 0.1 warning
        m = await service.create_monitor(
            WHO, type="evm_balance", name="gas wallet",
            config={"url": chain.rpc_url, "address": wallet.address, "symbol": "AVAX"},
        )
        await pool.execute("UPDATE monitors SET next_due = now() - interval '1 ms'")
        await _run_due(dsn)
    row = await pool.fetchrow("SELECT ok, details FROM check_history WHERE monitor_id = $1", m.id)
    assert row["ok"] and row["details"]["balance"] == "0.05"
    alert = await pool.fetchrow("SELECT alert_type, severity, payload FROM alerts")
    assert (alert["alert_type"], alert["severity"]) == ("low_balance", "warning")
    text = render("low_balance", "warning", alert["payload"], "en").text
    assert "Low balance: gas wallet" in text
    assert "0.05 AVAX" in text and "0.1 AVAX" in text


async def test_failed_heartbeat_goes_down(dsn: str, pool: asyncpg.Pool,
                                          service: MonitorService,
                                          http_session: aiohttp.ClientSession) -> None:
    app = web.Application()
    heartbeat_routes(pool)(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        m, token = await service.create_heartbeat(WHO, config={"period_s": 3600}, name="nightly")
        await pool.execute("UPDATE monitors SET next_due = now() + interval '1 hour'")
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/ping/{token}/fail"
        async with http_session.post(url, data=b"exit 2: backup failed") as resp:
            assert resp.status == 200
        await _run_due(dsn)  # the fail ping made the monitor due at once
    finally:
        await runner.cleanup()
    state = await pool.fetchval("SELECT state FROM monitors WHERE id = $1", m.id)
    assert state == "down"
    alert = await pool.fetchrow("SELECT alert_type, payload FROM alerts")
    assert alert["alert_type"] == "downtime"
    assert "backup failed" in render("downtime", "critical", alert["payload"], "en").text


def test_every_new_type_has_a_json_schema() -> None:
    for name, check in check_types().items():
        schema: dict[str, Any] = check.config_model.model_json_schema()
        assert schema["type"] == "object" and schema["properties"], name
