"""Canary flows against a local aiohttp shop and a local EVM on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from lighthouse.core.checks import parse_config
from lighthouse.core.checks.base import CheckContext, PreflightContext
from lighthouse.core.checks.canary import CanaryCheck, CanaryConfig
from lighthouse.core.errors import (
    InvalidConditionError,
    InvalidURLError,
    MonitorLimitReachedError,
    TargetNotAllowedError,
    TierFeatureError,
    ValidationError,
)
from lighthouse.core.http_client import make_session
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService
from support.evm import LocalChain

ALICE = Identity(Provider.DISCORD, "7001")


class Shop:
    def __init__(self, seller: str = "0x" + "00" * 20) -> None:
        self.seller = seller
        self.token = "tok-123"
        self.seen_bodies: list[Any] = []

    async def login(self, request: web.Request) -> web.Response:
        self.seen_bodies.append(await request.json())
        return web.json_response({"token": self.token, "cart": {"id": 7},
                                  "seller": self.seller[2:].lower().rjust(64, "0")})

    async def cart(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer tok-123":
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"id": int(request.match_info["id"]),
                                  "items": [{"sku": "a", "price": 5}]})

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(text="late")


@pytest.fixture
async def shop() -> AsyncIterator[tuple[Shop, str]]:
    s = Shop()
    app = web.Application()
    app.router.add_post("/login", s.login)
    app.router.add_get("/cart/{id}", s.cart)
    app.router.add_get("/slow", s.slow)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield s, f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def cfg(raw: dict[str, Any]) -> CanaryConfig:
    config = parse_config("canary", raw)
    assert isinstance(config, CanaryConfig)
    return config


def purchase_flow(base: str, rpc_url: str, token: str) -> dict[str, Any]:
    return {
        "name": "purchase",
        "variables": {"USER": "alice"},
        "steps": [
            {"name": "login", "action": "POST", "url": f"{base}/login",
             "body": {"user": "${USER}"}, "expect": {"status": 200},
             "extract": {"TOKEN": "$.token", "SELLER_WORD": "$.seller"}},
            {"name": "cart", "url": f"{base}/cart/[STEP1].body.cart.id",
             "headers": {"Authorization": "Bearer ${TOKEN}"},
             "expect": ["[STATUS] == 200", "[BODY].items[0].price > 0", "[BODY].id == 7",
                        "[STEP1].body.cart.id == 7"]},
            {"action": "wait", "seconds": 0.05},
            {"name": "chain", "action": "rpc", "url": rpc_url, "method": "eth_chainId",
             "expect": {"conditions": ["[RESULT_INT] == 43113"]}},
            {"name": "seller balance", "action": "rpc", "url": rpc_url, "method": "eth_call",
             "params": [{"to": token, "data": "0x70a08231${SELLER_WORD}"}, "latest"],
             "expect": ["[RESULT_INT] >= 5000000"]},
        ],
    }


async def test_purchase_flow_passes(shop: tuple[Shop, str], check_context: CheckContext) -> None:
    s, base = shop
    async with LocalChain(chain_id=43113) as chain:
        seller = chain.new_account()
        s.seller = seller.address
        await chain.mint(seller.address, 5_000_000)
        result = await CanaryCheck().run(
            cfg(purchase_flow(base, chain.rpc_url, chain.token_address)), check_context
        )
    assert result.ok, result.error
    steps = result.details["steps"]
    assert [st["name"] for st in steps] == ["login", "cart", "step 3", "chain", "seller balance"]
    assert all(st["ok"] for st in steps)
    assert steps[0]["extracted"] == ["SELLER_WORD", "TOKEN"]
    assert "tok-123" not in str(result.details)  # extracted values are not stored
    assert [c["ok"] for c in steps[1]["conditions"]] == [True, True, True, True]
    assert s.seen_bodies == [{"user": "alice"}]
    assert result.details["flow"] == "purchase"


async def test_failing_step_is_named(shop: tuple[Shop, str], check_context: CheckContext) -> None:
    s, base = shop
    s.token = "wrong"
    async with LocalChain(chain_id=43113) as chain:
        result = await CanaryCheck().run(
            cfg(purchase_flow(base, chain.rpc_url, chain.token_address)), check_context
        )
    assert not result.ok
    assert result.error_code == "condition_failed"
    assert result.details["failed_step"] == {"step": 2, "name": "cart"}
    assert (result.error or "").startswith("cart failed: [STATUS] == 200")
    assert len(result.details["steps"]) == 2  # the flow stopped at the failing step
    assert result.status_code == 401


async def test_rpc_step_failure_and_balance_condition(shop: tuple[Shop, str],
                                                      check_context: CheckContext) -> None:
    s, base = shop
    async with LocalChain(chain_id=84532) as chain:  # wrong chain for the flow
        s.seller = chain.new_account().address
        result = await CanaryCheck().run(
            cfg(purchase_flow(base, chain.rpc_url, chain.token_address)), check_context
        )
    assert not result.ok
    assert result.details["failed_step"]["name"] == "chain"
    assert "84532" in str(result.details["steps"][3]["conditions"])


async def test_step_and_flow_timeouts(shop: tuple[Shop, str], check_context: CheckContext) -> None:
    _s, base = shop
    step_timeout = await CanaryCheck().run(
        cfg({"steps": [{"name": "slow", "url": f"{base}/slow", "timeout_s": 0.3}]}), check_context
    )
    assert (step_timeout.ok, step_timeout.error_code) == (False, "timeout")
    assert step_timeout.details["failed_step"]["name"] == "slow"

    flow_timeout = await CanaryCheck().run(
        cfg({"timeout_s": 0.5, "steps": [{"action": "wait", "seconds": 0.3},
                                         {"name": "slow", "url": f"{base}/slow"}]}),
        check_context,
    )
    assert (flow_timeout.ok, flow_timeout.error_code) == (False, "flow_timeout")
    assert flow_timeout.details["failed_step"] == {"step": 2, "name": "slow"}
    assert flow_timeout.latency_ms is not None and flow_timeout.latency_ms < 1500


async def test_unresolvable_values_fail_closed(shop: tuple[Shop, str],
                                               check_context: CheckContext) -> None:
    _s, base = shop
    missing = await CanaryCheck().run(
        cfg({"steps": [{"action": "POST", "url": f"{base}/login", "body": {},
                        "extract": {"X": "$.nope.deeper"}}]}),
        check_context,
    )
    assert (missing.ok, missing.error_code) == (False, "extract_failed")
    assert "nope" in (missing.error or "")
    bad_ref = await CanaryCheck().run(
        cfg({"steps": [{"action": "POST", "url": f"{base}/login", "body": {}},
                       {"url": f"{base}/cart/[STEP1].body.cart.missing"}]}),
        check_context,
    )
    assert (bad_ref.ok, bad_ref.error_code) == (False, "unresolved")
    assert bad_ref.details["failed_step"]["step"] == 2
    contains = await CanaryCheck().run(
        cfg({"steps": [{"action": "POST", "url": f"{base}/login", "body": {},
                        "expect": {"body_contains": "nonexistent"}}]}),
        check_context,
    )
    assert (contains.ok, contains.error_code) == (False, "body_mismatch")


STEP = {"url": "https://api.example.com/x"}


@pytest.mark.parametrize(
    ("config", "error", "field"),
    [
        ({}, ValidationError, "steps"),
        ({"steps": []}, ValidationError, "steps"),
        ({"steps": [STEP] * 21}, ValidationError, "steps"),
        ({"steps": [{"url": "https://a.example/${NOPE}"}]}, ValidationError, "steps.0"),
        ({"steps": [STEP, {"url": "https://a.example/[STEP2].body.x"}]}, ValidationError,
         "steps.1"),
        ({"steps": [{**STEP, "extract": {"A": "$.a"}},
                    {"url": "https://a.example/${B}"}]}, ValidationError, "steps.1"),
        ({"steps": [{"action": "teleport", "url": "https://a.example"}]}, ValidationError,
         "steps.0"),
        ({"steps": [{"url": "ftp://a.example/"}]}, InvalidURLError, "steps.0.url"),
        ({"steps": [{**STEP, "body": "x"}]}, ValidationError, "steps.0.body"),
        ({"steps": [{**STEP, "expect": ["[STATUS] =="]}]}, InvalidConditionError, None),
        ({"steps": [{**STEP, "extract": {"A": "$..bad"}}]}, ValidationError, None),
        ({"steps": [{"action": "wait", "seconds": 600}]}, ValidationError, None),
        ({"steps": [{**STEP, "timeout_s": 0}]}, ValidationError, None),
        ({"timeout_s": 1000, "steps": [STEP]}, ValidationError, "timeout_s"),
        ({"steps": [STEP], "surprise": 1}, ValidationError, "surprise"),
    ],
)
async def test_bad_configs_refused(service: MonitorService, config: dict[str, Any],
                                   error: type[Exception], field: str | None) -> None:
    await service.upgrade_tier(ALICE, "standard", timedelta(days=30))
    with pytest.raises(error) as info:
        await service.create_monitor(ALICE, type="canary", config=config)
    if field is not None:
        assert info.value.params["field"] == field  # type: ignore[attr-defined]


async def test_tier_feature_and_canary_limit(service: MonitorService,
                                             shop: tuple[Shop, str]) -> None:
    _s, base = shop
    config = {"steps": [{"action": "POST", "url": f"{base}/login", "body": {}}]}
    with pytest.raises(TierFeatureError) as info:
        await service.create_monitor(ALICE, type="canary", config=config)
    assert info.value.params["feature"] == "canary"
    await service.upgrade_tier(ALICE, "standard", timedelta(days=30))
    for _ in range(3):  # the standard tier's canary allowance
        m = await service.create_monitor(ALICE, type="canary", config=config)
    with pytest.raises(MonitorLimitReachedError):
        await service.create_monitor(ALICE, type="canary", config=config)
    assert m.type == "canary" and m.target_host == "127.0.0.1"
    result = await service.check_once("canary", m.config)  # the stored config round-trips
    assert result.ok, result.error


async def test_private_targets_refused(pool: Any) -> None:
    strict_guard = TargetGuard(allow_private=False)
    session = make_session(strict_guard)
    strict = MonitorService(pool, strict_guard, None)
    await strict.upgrade_tier(ALICE, "standard", timedelta(days=30))
    try:
        with pytest.raises(TargetNotAllowedError):
            await strict.create_monitor(ALICE, type="canary", config={"steps": [
                {"url": "https://1.1.1.1/"}, {"action": "rpc", "url": "http://10.1.2.3/",
                                                  "method": "eth_chainId"}]})
        # A templated host cannot be resolved at creation; the guarded session refuses it.
        templated = cfg({"variables": {"HOST": "127.0.0.1"},
                         "steps": [{"url": "http://${HOST}:9/x"}]})
        await CanaryCheck().preflight(templated, PreflightContext(strict_guard))
        result = await CanaryCheck().run(templated, CheckContext(session, strict_guard))
        assert (result.ok, result.error_code) == (False, "target_not_allowed")
    finally:
        await session.close()
