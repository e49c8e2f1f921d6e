"""The operator's rules in MonitorService, against a real PostgreSQL: the instance policy
(default plan, admins, the operator's own plan), plans set by admins, maintenance planned
ahead, channels removed and tested, the per-monitor gauges and their pruning, and the
settings and log formats behind them."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from adminkit import running_receiver
from lighthouse.core.alerts.channels.webhook import WebhookChannel
from lighthouse.core.checks.base import CheckContext, CheckResult
from lighthouse.core.errors import (
    ChannelNotFoundError,
    ConfigurationError,
    InvalidIntervalError,
    MonitorLimitReachedError,
    NotAdminError,
    ValidationError,
)
from lighthouse.core.logging import JsonFormatter, TextFormatter
from lighthouse.core.metrics import Metrics
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.scheduler import Scheduler
from lighthouse.core.service import OPERATOR, InstancePolicy, MonitorService
from lighthouse.core.service.policy import parse_admins, parse_identity
from lighthouse.core.settings import load_settings
from lighthouse.core.state import State
from lighthouse.core.storage import maintenance
from lighthouse.core.storage.results import Finished, ResultWriter
from lighthouse.core.storage.schedule import claim_due
from lighthouse.core.tiers import TierName
from prometheus_client import generate_latest

ADMIN = Identity(Provider.TELEGRAM, "1001")
CHATTER = Identity(Provider.DISCORD, "2002")
WALLET = Identity(Provider.WALLET, "0x" + "ab" * 20)


def make(pool: asyncpg.Pool, guard: TargetGuard, ctx: CheckContext | None = None,
         **policy: Any) -> MonitorService:
    return MonitorService(pool, guard, ctx, policy=InstancePolicy(**policy))


async def test_the_default_tier_is_the_floor_for_chat_users_only(
    pool: asyncpg.Pool, guard: TargetGuard
) -> None:
    service = make(pool, guard, default_tier=TierName.PRO)
    # Judged by Pro before their first contact, and after it.
    await service.validate_monitor(CHATTER, config={"url": "http://127.0.0.1:9"}, interval_s=60)
    assert (await service.ensure_user(CHATTER)).tier == "pro"
    for n in range(3):  # Free would stop at one monitor, and at hourly checks
        await service.create_monitor(CHATTER, config={"url": f"http://127.0.0.1:9/{n}"},
                                     interval_s=60)
    # A wallet pays for what it gets; the operator has the top plan.
    assert (await service.ensure_user(WALLET)).tier == "free"
    assert (await service.ensure_user(OPERATOR)).tier == "enterprise"
    public = make(pool, guard)
    assert (await public.ensure_user(Identity(Provider.TELEGRAM, "9"))).tier == "free"
    with pytest.raises(InvalidIntervalError):
        await public.validate_monitor(Identity(Provider.TELEGRAM, "9"),
                                      config={"url": "http://127.0.0.1:9"}, interval_s=60)


async def test_only_admins_set_plans_and_plans_expire_to_the_floor(
    pool: asyncpg.Pool, guard: TargetGuard
) -> None:
    now = datetime.now(UTC)
    clock = [now]
    service = MonitorService(pool, guard, clock=lambda: clock[0],
                             policy=InstancePolicy(admins=frozenset({ADMIN}),
                                                   default_tier=TierName.BASIC))
    with pytest.raises(NotAdminError):
        await service.set_tier(CHATTER, CHATTER, "enterprise")
    assert await service.find_user(CHATTER) is None  # a refusal creates nobody
    user = await service.set_tier(ADMIN, CHATTER, "pro", days=10)
    assert user.tier == "pro" and user.tier_expires_at == now + timedelta(days=10)
    await service.create_monitor(CHATTER, config={"url": "http://127.0.0.1:9"}, interval_s=60)
    assert {r["tier"] for r in await pool.fetch("SELECT tier FROM monitors")} == {"pro"}
    clock[0] = now + timedelta(days=11)
    assert (await service.find_user(CHATTER)).tier == "basic"  # type: ignore[union-attr]
    # Lower than the floor: the floor applies, with no end, to the user and their monitors.
    kept = await service.set_tier(OPERATOR, CHATTER, "free")
    assert (kept.tier, kept.tier_expires_at) == ("basic", None)
    assert {r["tier"] for r in await pool.fetch("SELECT tier FROM monitors")} == {"basic"}
    for bad in ({"tier_name": "gold"}, {"tier_name": "pro", "days": 0}):
        with pytest.raises(ValidationError):
            await service.set_tier(ADMIN, CHATTER, bad["tier_name"], days=bad.get("days"))


async def test_the_upgrade_path_follows_the_policy(pool: asyncpg.Pool, guard: TargetGuard) -> None:
    operator_only = await make(pool, guard).upgrade_path(CHATTER)
    assert (operator_only.current.name, operator_only.next_tier.name) == ("free", "basic")  # type: ignore[union-attr]
    assert operator_only.pricing_url is None and not operator_only.is_admin
    paid = await make(pool, guard, pricing_url="https://lh.example/v1/pricing",
                      admins=frozenset({CHATTER})).upgrade_path(CHATTER)
    assert paid.pricing_url == "https://lh.example/v1/pricing" and paid.is_admin
    top = await make(pool, guard, default_tier=TierName.ENTERPRISE).upgrade_path(CHATTER)
    assert top.next_tier is None


def test_identities_and_admins_parse_strictly() -> None:
    assert parse_identity("discord:1234") == Identity(Provider.DISCORD, "1234")
    assert parse_identity("<@!1234>", Provider.DISCORD) == Identity(Provider.DISCORD, "1234")
    assert parse_identity("55", Provider.TELEGRAM) == Identity(Provider.TELEGRAM, "55")
    assert parse_identity("wallet:0x" + "AB" * 20).subject == "0x" + "ab" * 20
    for bad in ("1234", "discord:", "discord:12a", "api:x", "token:abc", "operator:admin",
                "wallet:0x12"):
        with pytest.raises(ValidationError):
            parse_identity(bad)
    assert parse_admins("discord:1, telegram:2") == {Identity(Provider.DISCORD, "1"),
                                                     Identity(Provider.TELEGRAM, "2")}
    with pytest.raises(ValueError, match="wallet"):
        parse_admins("wallet:0x" + "ab" * 20)


@pytest.mark.parametrize(("env", "named"), [
    ({"LIGHTHOUSE_ADMINS": "discord:1,bob"}, "LIGHTHOUSE_ADMINS: 'bob' is not"),
    ({"LIGHTHOUSE_DEFAULT_TIER": "gold"}, "LIGHTHOUSE_DEFAULT_TIER: expected one of"),
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: expected json, text or auto"),
])
def test_bad_operator_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError, match=named.replace("(", r"\(")):
        load_settings()


def test_settings_defaults_suit_a_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("API_HOST", "LIGHTHOUSE_DEFAULT_TIER", "LIGHTHOUSE_ADMINS", "LOG_FORMAT"):
        monkeypatch.delenv(key, raising=False)
    s = load_settings()
    assert (s.api_host, s.default_tier, s.admins, s.log_format) == ("127.0.0.1", "free", "", "auto")


async def test_planned_maintenance_starts_when_due_and_spares_paused_monitors(
    pool: asyncpg.Pool, guard: TargetGuard, caplog: pytest.LogCaptureFixture
) -> None:
    service = make(pool, guard)
    a = await service.create_monitor(OPERATOR, config={"url": "http://127.0.0.1:9/a"}, name="a")
    b = await service.create_monitor(OPERATOR, config={"url": "http://127.0.0.1:9/b"}, name="b")
    now = datetime.now(UTC)
    for m in (a, b):
        _m, window = await service.schedule_maintenance(
            OPERATOR, m.name, starts=now + timedelta(hours=1), ends=now + timedelta(hours=2))
        assert window is not None and window.monitor_name == m.name
    await service.pause(OPERATOR, "b")
    assert await maintenance.apply_due(pool) == []  # not yet
    await pool.execute("UPDATE maintenance_windows SET starts_at = now() - interval '1 s'")
    scheduler = Scheduler(pool, CheckContext(session=None, guard=guard), ResultWriter(pool, "t"),  # type: ignore[arg-type]
                          Metrics(), worker_id="t")
    with caplog.at_level(logging.INFO, logger="lighthouse.monitors"):
        await scheduler._start_planned_maintenance()
    states = {r["name"]: (r["state"], r["maintenance_until"]) for r in
              await pool.fetch("SELECT name, state, maintenance_until FROM monitors")}
    assert states["a"][0] == "maintenance"
    assert abs((states["a"][1] - (now + timedelta(hours=2))).total_seconds()) < 1
    assert states["b"] == ("paused", None)
    assert await pool.fetchval("SELECT count(*) FROM maintenance_windows") == 0
    [line] = [r for r in caplog.records if "planned window" in r.getMessage()]
    assert line.getMessage().startswith(f"monitor a ({str(a.public_id)[:8]}) is maintenance until")
    with pytest.raises(ValidationError):  # ends before it starts
        await service.schedule_maintenance(OPERATOR, "a", starts=now + timedelta(hours=3),
                                           ends=now + timedelta(hours=2))


async def test_channels_are_removed_and_tested_by_their_owner_only(
    pool: asyncpg.Pool, guard: TargetGuard, check_context: CheckContext
) -> None:
    service = make(pool, guard)
    async with running_receiver() as receiver:
        channel_id = await service.add_channel(OPERATOR, "webhook", {"url": receiver.url})
        senders = {"webhook": WebhookChannel(check_context.session)}
        with pytest.raises(ChannelNotFoundError):
            await service.test_channel(CHATTER, channel_id, senders)
        result = await service.test_channel(OPERATOR, channel_id, senders)
        assert result.outcome.value == "delivered"
        [(_headers, body)] = receiver.received
        assert body["data"]["kind"] == "test" and "reach this channel" in body["text"]
        with pytest.raises(ValidationError) as refused:
            await service.test_channel(OPERATOR, channel_id, {})
        assert refused.value.params["reason"] == "not_testable_here"
    with pytest.raises(ChannelNotFoundError):
        await service.remove_channel(CHATTER, channel_id)
    removed = await service.remove_channel(OPERATOR, channel_id)
    assert removed["kind"] == "webhook" and await service.channel_list(OPERATOR) == []


async def test_gauges_follow_written_results_and_leave_with_their_monitors(
    pool: asyncpg.Pool, guard: TargetGuard, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make(pool, guard)
    kept = await service.create_monitor(OPERATOR, config={"url": "http://127.0.0.1:9/kept"}, name="k")
    gone = await service.create_monitor(OPERATOR, config={"url": "http://127.0.0.1:9/gone"}, name="g")
    paused = await service.create_monitor(OPERATOR, config={"url": "http://127.0.0.1:9/p"}, name="p")
    metrics = Metrics()
    writer = ResultWriter(pool, "gauges", metrics=metrics)
    await pool.execute("UPDATE monitors SET next_due = now() - interval '1 s'")
    for claim in await claim_due(pool, "gauges", 10):
        ok = claim.name != "g"
        writer.add(Finished(claim, CheckResult(ok=ok, latency_ms=250.0 if ok else None,
                                               error=None if ok else "refused"),
                            datetime.now(UTC), claim.name))
    await writer.flush()
    text = generate_latest(metrics.registry).decode()
    assert f'lighthouse_monitor_up{{monitor_id="{kept.public_id}",type="http"}} 1.0' in text
    assert f'lighthouse_monitor_latency_seconds{{monitor_id="{kept.public_id}",type="http"}} 0.25' in text
    assert f'lighthouse_monitor_up{{monitor_id="{gone.public_id}",type="http"}} 0.0' in text
    assert f'lighthouse_monitor_latency_seconds{{monitor_id="{gone.public_id}"' not in text

    await service.remove(OPERATOR, "g")
    await service.pause(OPERATOR, "p")
    scheduler = Scheduler(pool, CheckContext(session=None, guard=guard), writer,  # type: ignore[arg-type]
                          metrics, worker_id="gauges")
    await scheduler._prune_gauges()
    text = generate_latest(metrics.registry).decode()
    assert str(kept.public_id) in text
    assert str(gone.public_id) not in text and str(paused.public_id) not in text

    # A monitor no longer checked here (another worker took it) leaves after 3 intervals.
    import lighthouse.core.metrics as metrics_module

    later = metrics_module.time.monotonic() + 3 * kept.interval_s + metrics_module.STALE_GRACE_S + 1
    monkeypatch.setattr(metrics_module.time, "monotonic", lambda: later)
    assert "lighthouse_monitor_up{" not in generate_latest(metrics.registry).decode()


def test_text_logs_keep_the_fields_json_logs_have() -> None:
    record = logging.LogRecord("lighthouse.monitors", logging.WARNING, __file__, 1,
                               "monitor %s is down", ("shop",), None)
    record.monitor_id = "3f2a9c1e-0000"
    record.error = "HTTP 503"
    text = TextFormatter().format(record)
    assert " WARNING monitor shop is down  [monitor_id=3f2a9c1e-0000 error=\"HTTP 503\"]" in text
    assert "\n" not in text
    data = json.loads(JsonFormatter().format(record))
    assert (data["msg"], data["monitor_id"], data["error"]) == (
        "monitor shop is down", "3f2a9c1e-0000", "HTTP 503")


async def test_a_plan_limit_still_applies_to_users_the_operator_acts_for(
    pool: asyncpg.Pool, guard: TargetGuard
) -> None:
    service = make(pool, guard)
    await service.create_monitor(CHATTER, config={"url": "http://127.0.0.1:9/one"}, interval_s=3600)
    with pytest.raises(MonitorLimitReachedError):
        await service.create_monitor(CHATTER, config={"url": "http://127.0.0.1:9/two"},
                                     interval_s=3600)
    assert (await service.ensure_user(OPERATOR)).tier == "enterprise"
    assert State.PENDING is (await service.list_monitors(CHATTER))[0].state
