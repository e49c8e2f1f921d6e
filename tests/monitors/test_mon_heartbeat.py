"""Heartbeat monitors: secret ping URLs served by api/heartbeat.py, judged by the check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from lighthouse.core.checks import heartbeat as hb
from lighthouse.core.checks import parse_config
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.checks.heartbeat import HeartbeatCheck, HeartbeatConfig
from lighthouse.core.errors import ValidationError
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService

ALICE = Identity(Provider.TELEGRAM, "6001")


@pytest.fixture
def store_context(check_context: CheckContext, pool: Any) -> CheckContext:
    """What the runtime gives checks (open_core): the session, the guard and the database."""
    return replace(check_context, pool=pool)


@pytest.fixture
async def ping_base(pool: Any) -> AsyncIterator[str]:
    from lighthouse.api.heartbeat import heartbeat_routes

    app = web.Application()
    heartbeat_routes(pool)(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def _check(monitor_config: dict[str, Any], ctx: CheckContext) -> Any:
    config = parse_config("heartbeat", monitor_config)
    assert isinstance(config, HeartbeatConfig)
    return await HeartbeatCheck().run(config, ctx)


async def _age(pool: Any, column: str, seconds: int) -> None:
    await pool.execute(f"UPDATE heartbeats SET {column} = {column} - make_interval(secs => $1)",
                       float(seconds))


async def test_ping_lifecycle(service: MonitorService, pool: Any, ping_base: str,
                              store_context: CheckContext, http_session: aiohttp.ClientSession
                              ) -> None:
    m, token = await service.create_heartbeat(ALICE, config={"period_s": 60, "grace_s": 30})
    assert m.type == "heartbeat" and m.failure_threshold == 1
    assert token not in str(m.config) and m.config["token_hash"] == hb.hash_token(token)
    assert await pool.fetchval("SELECT monitor_id FROM heartbeats") == m.id

    fresh = await _check(m.config, store_context)
    assert fresh.ok, fresh.error  # the first ping is not due yet
    await _age(pool, "created_at", 200)
    missing = await _check(m.config, store_context)
    assert (missing.ok, missing.error_code) == (False, "heartbeat_missing")

    async with http_session.get(f"{ping_base}/ping/{token}") as resp:
        assert resp.status == 200 and await resp.text() == "OK\n"
    ok = await _check(m.config, store_context)
    assert ok.ok, ok.error
    assert ok.details["last_kind"] == "success" and ok.details["pings"] == 1

    await _age(pool, "last_success_at", 100)  # 60 s period + 30 s grace have passed
    late = await _check(m.config, store_context)
    assert (late.ok, late.error_code) == (False, "heartbeat_late")

    await pool.execute("UPDATE monitors SET next_due = now() + interval '1 hour'")
    async with http_session.post(f"{ping_base}/ping/{token}/fail", data=b"disk full") as resp:
        assert resp.status == 200
    failed = await _check(m.config, store_context)
    assert (failed.ok, failed.error_code) == (False, "heartbeat_failed")
    assert "disk full" in (failed.error or "")
    # A failure ping makes the monitor due at once (no wait for its next check).
    assert await pool.fetchval("SELECT next_due <= now() FROM monitors WHERE id = $1", m.id)

    async with http_session.head(f"{ping_base}/ping/{token}/0") as resp:
        assert resp.status == 200
    assert (await _check(m.config, store_context)).ok
    async with http_session.get(f"{ping_base}/ping/{token}/3") as resp:
        assert resp.status == 200
    assert (await _check(m.config, store_context)).error_code == "heartbeat_failed"

    for bad in (f"/ping/{'x' * 32}", f"/ping/{token}/explode", f"/ping/{token}/999",
                "/ping/short", f"/ping/{token[:-1]}"):
        async with http_session.get(ping_base + bad) as resp:
            assert resp.status == 404, bad


async def test_start_and_max_run(service: MonitorService, pool: Any, ping_base: str,
                                 store_context: CheckContext,
                                 http_session: aiohttp.ClientSession) -> None:
    m, token = await service.create_heartbeat(
        ALICE, config={"period_s": 3600, "grace_s": 60, "max_run_s": 120}
    )
    async with http_session.get(f"{ping_base}/ping/{token}/start") as resp:
        assert resp.status == 200
    running = await _check(m.config, store_context)
    assert running.ok and running.details["last_kind"] == "start"
    await _age(pool, "last_start_at", 300)
    stuck = await _check(m.config, store_context)
    assert (stuck.ok, stuck.error_code) == (False, "run_too_long")
    async with http_session.get(f"{ping_base}/ping/{token}") as resp:
        assert resp.status == 200
    assert (await _check(m.config, store_context)).ok


async def test_bad_configs_refused(service: MonitorService, pool: Any) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "period_s"),
        ({"period_s": 5}, "period_s"),
        ({"period_s": 60, "grace_s": -1}, "grace_s"),
        ({"period_s": 60, "max_run_s": 0}, "max_run_s"),
        ({"period_s": 60, "url": "http://x"}, "url"),
        ({"period_s": 60, "token_hash": "a" * 64}, "token_hash"),  # server-set only
    ]
    for config, field in cases:
        with pytest.raises(ValidationError) as info:
            await service.create_heartbeat(ALICE, config=config)
        assert info.value.params["field"] == field, config
    # Nothing is left behind by refused creations.
    assert await pool.fetchval("SELECT count(*) FROM heartbeats") == 0
    # The generic path cannot make a heartbeat without its ping URL, nor borrow a row.
    for config in ({"period_s": 60}, {"period_s": 60, "token_hash": "b" * 64}):
        with pytest.raises(ValidationError) as info:
            await service.create_monitor(ALICE, type="heartbeat", config=config)
        assert info.value.params["field"] == "token_hash"
    assert await pool.fetchval("SELECT count(*) FROM monitors") == 0
    # Nor read another heartbeat's pings by naming its row.
    taken, _token = await service.create_heartbeat(ALICE, config={"period_s": 60})
    with pytest.raises(ValidationError) as info:
        await service.create_monitor(ALICE, type="heartbeat", config=dict(taken.config))
    assert info.value.params["reason"] == "unknown"


async def test_no_database_in_the_context(check_context: CheckContext) -> None:
    """`lighthouse check` has no database: the check says so rather than guessing."""
    assert check_context.pool is None
    result = await _check({"period_s": 60, "token_hash": "c" * 64}, check_context)
    assert (result.ok, result.error_code) == (False, "heartbeat_store_unavailable")


async def test_strict_guard_still_creates(pool: Any) -> None:
    """A heartbeat contacts nothing: the SSRF guard has nothing to refuse."""
    strict = MonitorService(pool, TargetGuard(allow_private=False))
    m, _token = await strict.create_heartbeat(ALICE, config={"period_s": 300})
    assert m.target_host == ""


async def test_rotate_token(service: MonitorService, pool: Any, ping_base: str,
                            store_context: CheckContext,
                            http_session: aiohttp.ClientSession) -> None:
    m, old = await service.create_heartbeat(ALICE, config={"period_s": 60}, name="cron")
    rotated, new = await service.rotate_heartbeat_token(ALICE, "cron")
    assert new != old and rotated.config["token_hash"] == hb.hash_token(new)
    async with http_session.get(f"{ping_base}/ping/{old}") as resp:
        assert resp.status == 404
    async with http_session.get(f"{ping_base}/ping/{new}") as resp:
        assert resp.status == 200
    result = await _check(rotated.config, store_context)
    assert result.ok and result.details["pings"] == 1
    assert rotated.id == m.id
    await service.upgrade_tier(ALICE, "standard", timedelta(days=30))
    await service.create_monitor(ALICE, config={"url": "http://127.0.0.1:9/"}, name="web")
    with pytest.raises(ValidationError):
        await service.rotate_heartbeat_token(ALICE, "web")
