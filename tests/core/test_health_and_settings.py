"""/health in the seed's shape, /metrics, and start-up configuration errors."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from lighthouse.api.app import make_app
from lighthouse.api.health import metrics_app
from lighthouse.core.checks.base import CheckResult
from lighthouse.core.errors import ConfigurationError
from lighthouse.core.health import HealthMonitor
from lighthouse.core.metrics import Metrics
from lighthouse.core.settings import load_settings
from lighthouse.core.storage.database import create_pool
from lighthouse.core.storage.results import Finished, ResultWriter
from lighthouse.core.storage.schedule import claim_due

LIGHTHOUSE = str(Path(sys.executable).with_name("lighthouse"))


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_health_ok_in_seed_shape(pool: asyncpg.Pool, redis: aioredis.Redis) -> None:
    runner, base = await _serve(make_app(pool, redis))
    try:
        async with aiohttp.ClientSession() as s, s.get(f"{base}/health") as resp:
            body = await resp.json()
            assert resp.status == 200
    finally:
        await runner.cleanup()
    assert set(body) == {"status", "database", "redis", "timestamp"}
    assert (body["status"], body["database"], body["redis"]) == ("ok", "connected", "connected")
    assert body["timestamp"].endswith("Z")


async def test_health_503_names_the_failing_part(pool: asyncpg.Pool, tmp_path: Path) -> None:
    dead_redis = aioredis.from_url(f"unix://{tmp_path}/nothing.sock")
    runner, base = await _serve(make_app(pool, dead_redis))
    try:
        async with aiohttp.ClientSession() as s, s.get(f"{base}/health") as resp:
            body = await resp.json()
            assert resp.status == 503
    finally:
        await runner.cleanup()
        await dead_redis.aclose()
    assert (body["status"], body["database"], body["redis"]) == ("degraded", "connected",
                                                                 "disconnected")


async def test_metrics_exposition() -> None:
    m = Metrics()
    m.checks_total.labels("http", "up").inc(3)
    runner, base = await _serve(metrics_app(m.registry))
    try:
        async with aiohttp.ClientSession() as s, s.get(f"{base}/metrics") as resp:
            text = await resp.text()
    finally:
        await runner.cleanup()
    assert 'lighthouse_checks_total{result="up",type="http"} 3.0' in text
    for name in ("lighthouse_check_duration_seconds", "lighthouse_schedule_lag_seconds",
                 "lighthouse_checks_in_flight", "lighthouse_outbox_backlog",
                 "lighthouse_alert_deliveries_total"):
        assert name in text


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"API_PORT": "eighty"}, "API_PORT"),
        ({"METRICS_PORT": "70000"}, "METRICS_PORT"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"PAYMENT_ADDRESS": "0x123"}, "PAYMENT_ADDRESS"),
        ({"USDC_CONTRACT_ADDRESS": "not-an-address"}, "USDC_CONTRACT_ADDRESS"),
        ({"PRIVATE_KEY": "0xdeadbeef"}, "PRIVATE_KEY"),
        ({"LIGHTHOUSE_ALLOW_PRIVATE_TARGETS": "maybe"}, "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS"),
        ({"RPC_URL_FUJI": "fuji"}, "RPC_URL_FUJI"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                        variable: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert str(info.value).startswith(f"{variable}: ")


def test_secrets_never_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "ab" * 32
    monkeypatch.setenv("PRIVATE_KEY", key)
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "discord-secret-token")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2@db/lighthouse")
    s = load_settings()
    text = repr(s) + str(s.model_dump())
    for secret in (key, "discord-secret-token", "hunter2"):
        assert secret not in text
    assert s.private_key is not None and s.private_key.get_secret_value() == key


def test_cli_stops_with_one_line_naming_the_variable() -> None:
    env = {**os.environ, "API_PORT": "eighty"}
    out = subprocess.run([LIGHTHOUSE, "run"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "API_PORT" in lines[0], out.stderr


async def test_health_has_no_false_503_under_400_concurrent_requests(
        pool: asyncpg.Pool, redis: aioredis.Redis) -> None:
    """Each request used to PING Redis and SELECT 1 itself; under load the client pools
    answered "disconnected" for a healthy node. Now requests read the background probe."""
    runner, base = await _serve(make_app(pool, redis))
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as s:

            async def one() -> int:
                async with s.get(f"{base}/health") as resp:
                    await resp.read()
                    return resp.status

            async with asyncio.timeout(60):
                statuses = await asyncio.gather(*(one() for _ in range(400)))
    finally:
        await runner.cleanup()
    assert statuses.count(200) == 400, {st: statuses.count(st) for st in set(statuses)}


async def test_health_notices_a_lost_database_within_a_few_probes(pg_server: Any, redis: aioredis.Redis
                                                                  ) -> None:
    admin = await asyncpg.connect(pg_server.dsn("postgres"))
    await admin.execute("CREATE DATABASE health_loss")
    pool = await create_pool(pg_server.dsn("health_loss"), min_size=1, max_size=2)
    monitor = HealthMonitor(pool, redis, interval_s=0.05, timeout_s=0.5)
    try:
        await monitor.start()
        assert monitor.snapshot()[0] is True
        await admin.execute("DROP DATABASE health_loss WITH (FORCE)")
        for _ in range(200):  # bounded: ten seconds at most
            if not monitor.snapshot()[0]:
                break
            await asyncio.sleep(0.05)
        ok, body = monitor.snapshot()
        assert (ok, body["database"], body["redis"]) == (False, "disconnected", "connected")
    finally:
        await monitor.stop()
        await pool.close()
        await admin.execute("DROP DATABASE IF EXISTS health_loss WITH (FORCE)")
        await admin.close()


async def test_health_names_a_stalled_result_writer(pool: asyncpg.Pool, redis: aioredis.Redis) -> None:
    """Writes failing while /health said 200 hid a wedged node; the writer is now a part."""
    owner = await pool.fetchval("INSERT INTO users (tier) VALUES ('enterprise') RETURNING id")
    await pool.execute(
        "INSERT INTO monitors (owner_id, name, type, config, target_host, interval_s, tier, next_due) "
        "VALUES ($1, 'm', 'http', '{\"url\": \"http://127.0.0.1:9/\"}', '127.0.0.1', 60, "
        "'enterprise', now() - interval '1 s')", owner)
    (claim,) = await claim_due(pool, "w", 1)
    writer = ResultWriter(pool, "w", stall_after_s=0.2)
    monitor = HealthMonitor(pool, redis)
    monitor.add_part("writer", writer.health)
    runner, base = await _serve(make_app(pool, redis, health=monitor))
    await monitor.start()
    try:
        writer.add(Finished(claim, CheckResult(ok=True, latency_ms=1.0), datetime.now(UTC), "x"))
        await pool.execute("ALTER TABLE check_history RENAME TO check_history_away")
        with pytest.raises(asyncpg.exceptions.UndefinedTableError):
            await writer.flush()
        await asyncio.sleep(0.3)
        async with aiohttp.ClientSession() as s, s.get(f"{base}/health") as resp:
            assert resp.status == 503
            assert (await resp.json())["writer"] == "stalled"
        await pool.execute("ALTER TABLE check_history_away RENAME TO check_history")
        await writer.flush()
        async with aiohttp.ClientSession() as s, s.get(f"{base}/health") as resp:
            assert resp.status == 200
            assert (await resp.json())["writer"] == "ok"
    finally:
        await monitor.stop()
        await runner.cleanup()
