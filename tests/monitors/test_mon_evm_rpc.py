"""evm_rpc against a real local EVM (support.evm.LocalChain) on 127.0.0.1."""

from __future__ import annotations

import time

import pytest
from aiohttp import web
from lighthouse.core.checks import parse_config
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.checks.evm_rpc import EvmRpcCheck, EvmRpcConfig
from lighthouse.core.errors import (
    InvalidConditionError,
    InvalidURLError,
    TargetNotAllowedError,
    ValidationError,
)
from lighthouse.core.http_client import make_session
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService
from support.evm import LocalChain

ALICE = Identity(Provider.DISCORD, "3001")


def cfg(**kw: object) -> EvmRpcConfig:
    config = parse_config("evm_rpc", kw)
    assert isinstance(config, EvmRpcConfig)
    return config


async def test_healthy_chain(check_context: CheckContext) -> None:
    async with LocalChain(chain_id=43113) as chain:
        await chain.mine(3)
        result = await EvmRpcCheck().run(cfg(url=chain.rpc_url, chain_id=43113), check_context)
    assert result.ok, result.error
    assert result.details["chain_id"] == 43113
    assert result.details["block_number"] >= 3
    assert result.details["block_age_s"] < 60
    assert result.latency_ms is not None and result.latency_ms > 0


async def test_wrong_chain_id(check_context: CheckContext) -> None:
    async with LocalChain(chain_id=84532) as chain:
        result = await EvmRpcCheck().run(cfg(url=chain.rpc_url, chain_id=43113), check_context)
    assert not result.ok
    assert result.error_code == "wrong_chain"
    assert "84532" in (result.error or "")


async def test_stalled_chain_head_ages(check_context: CheckContext) -> None:
    async with LocalChain(chain_id=43113) as chain:
        await chain.stall()
        config = cfg(url=chain.rpc_url, chain_id=43113, max_block_age_s=30)
        fresh = await EvmRpcCheck().run(config, check_context)
        assert fresh.ok, fresh.error
        # Ten minutes later on the wall clock, nothing was mined: the head is stale.
        later = EvmRpcCheck(clock=lambda: time.time() + 600)
        stale = await later.run(config, check_context)
        assert not stale.ok
        assert stale.error_code == "stale_block"
        assert stale.details["block_age_s"] >= 600
        # A mined block (resume + mine) makes it fresh again at that time.
        await chain.resume()
        await chain.advance_time(600)
        again = await later.run(config, check_context)
        assert again.ok, again.error


async def test_block_advancing_with_interval_mining(check_context: CheckContext) -> None:
    async with LocalChain(chain_id=43113, block_time=0.2) as chain:
        config = cfg(url=chain.rpc_url, chain_id=43113, advance_wait_s=0.6)
        live = await EvmRpcCheck().run(config, check_context)
        assert live.ok, live.error
        assert live.details["blocks_advanced"] >= 1
        await chain.stall()
        stalled = await EvmRpcCheck().run(config, check_context)
    assert not stalled.ok
    assert stalled.error_code == "block_not_advancing"


async def test_lag_against_reference(check_context: CheckContext) -> None:
    async with LocalChain(chain_id=43113) as ours, LocalChain(chain_id=43113) as ref:
        await ref.mine(20)
        lagging = await EvmRpcCheck().run(
            cfg(url=ours.rpc_url, chain_id=43113, reference_url=ref.rpc_url, max_lag_blocks=5),
            check_context,
        )
        assert not lagging.ok
        assert lagging.error_code == "block_lag"
        assert lagging.details["lag_blocks"] >= 15
        await ours.mine(20)
        close = await EvmRpcCheck().run(
            cfg(url=ours.rpc_url, chain_id=43113, reference_url=ref.rpc_url, max_lag_blocks=5),
            check_context,
        )
        assert close.ok, close.error


async def test_reference_down_does_not_fail(check_context: CheckContext, make_free_port) -> None:  # type: ignore[no-untyped-def]
    async with LocalChain(chain_id=43113) as chain:
        result = await EvmRpcCheck().run(
            cfg(url=chain.rpc_url, chain_id=43113,
                reference_url=f"http://127.0.0.1:{make_free_port()}/", timeout_s=2),
            check_context,
        )
    assert result.ok, result.error
    assert result.details["reference_error"]["code"] == "connection_error"


async def test_conditions(check_context: CheckContext) -> None:
    async with LocalChain(chain_id=43113) as chain:
        await chain.mine(2)
        good = await EvmRpcCheck().run(
            cfg(url=chain.rpc_url, chain_id=43113,
                conditions=["[CHAIN_ID] == 43113", "[BLOCK_AGE] < 60s", "[BLOCK_NUMBER] >= 2"]),
            check_context,
        )
        bad = await EvmRpcCheck().run(
            cfg(url=chain.rpc_url, chain_id=43113, conditions=["[BLOCK_NUMBER] > 1000"]),
            check_context,
        )
        unresolved = await EvmRpcCheck().run(
            cfg(url=chain.rpc_url, chain_id=43113, conditions=["[LAG] < 3"]), check_context
        )
    assert good.ok, good.error
    assert [c["ok"] for c in good.details["conditions"]] == [True, True, True]
    assert not bad.ok and bad.error_code == "condition_failed"
    assert not unresolved.ok and "not measured" in (unresolved.error or "")


async def test_rpc_failures(check_context: CheckContext, make_free_port) -> None:  # type: ignore[no-untyped-def]
    down = await EvmRpcCheck().run(
        cfg(url=f"http://127.0.0.1:{make_free_port()}/", chain_id=1, timeout_s=2), check_context
    )
    assert not down.ok and down.error_code == "connection_error"

    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        if request.path == "/err":
            return web.json_response({"jsonrpc": "2.0", "id": body["id"],
                                      "error": {"code": -32601, "message": "nope"}})
        if request.path == "/html":
            return web.Response(status=502, text="<html>bad gateway</html>")
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": "zzz"})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        codes = {}
        for path in ("err", "html", "junk"):
            r = await EvmRpcCheck().run(cfg(url=f"http://127.0.0.1:{port}/{path}", chain_id=1),
                                        check_context)
            assert not r.ok
            codes[path] = r.error_code
    finally:
        await runner.cleanup()
    assert codes == {"err": "rpc_error", "html": "rpc_http_error", "junk": "rpc_invalid_response"}


@pytest.mark.parametrize(
    ("config", "error", "field"),
    [
        ({"chain_id": 1}, ValidationError, "url"),
        ({"url": "ftp://x.example", "chain_id": 1}, InvalidURLError, "url"),
        ({"url": "https://rpc.example"}, ValidationError, "chain_id"),
        ({"url": "https://rpc.example", "chain_id": 0}, ValidationError, "chain_id"),
        ({"url": "https://rpc.example", "chain_id": 1, "reference_url": "nope"}, InvalidURLError,
         "reference_url"),
        ({"url": "https://rpc.example", "chain_id": 1, "max_block_age_s": -1}, ValidationError,
         "max_block_age_s"),
        ({"url": "https://rpc.example", "chain_id": 1, "advance_wait_s": 99}, ValidationError,
         "advance_wait_s"),
        ({"url": "https://rpc.example", "chain_id": 1, "conditions": ["[STATUS] == 200"]},
         InvalidConditionError, None),
        ({"url": "https://rpc.example", "chain_id": 1, "conditions": ["[BLOCK_AGE] <"]},
         InvalidConditionError, None),
        ({"url": "https://rpc.example", "chain_id": 1, "bogus": 1}, ValidationError, "bogus"),
    ],
)
async def test_bad_configs_refused_by_service(
    service: MonitorService, config: dict[str, object], error: type[Exception], field: str | None
) -> None:
    with pytest.raises(error) as info:
        await service.create_monitor(ALICE, type="evm_rpc", config=config)
    if field is not None:
        assert info.value.params["field"] == field  # type: ignore[attr-defined]


async def test_created_through_service_and_runs(service: MonitorService) -> None:
    async with LocalChain(chain_id=43113) as chain:
        m = await service.create_monitor(
            ALICE, type="evm_rpc", config={"url": chain.rpc_url, "chain_id": 43113}
        )
        assert m.type == "evm_rpc"
        assert m.target_host == "127.0.0.1"
        result = await service.check_once("evm_rpc", {"url": chain.rpc_url, "chain_id": 43113})
    assert result.ok, result.error


async def test_private_target_refused(pool: object) -> None:
    strict_guard = TargetGuard(allow_private=False)
    session = make_session(strict_guard)
    try:
        strict = MonitorService(pool, strict_guard, CheckContext(session, strict_guard))  # type: ignore[arg-type]
        for config in ({"url": "http://127.0.0.1:8545/", "chain_id": 1},
                       {"url": "https://1.1.1.1/", "chain_id": 1,
                        "reference_url": "http://10.0.0.1/"}):
            with pytest.raises(TargetNotAllowedError):
                await strict.create_monitor(ALICE, type="evm_rpc", config=config)
        # At run time too: the guarded session refuses to connect.
        async with LocalChain(chain_id=43113) as chain:
            r = await EvmRpcCheck().run(cfg(url=chain.rpc_url, chain_id=43113),
                                        CheckContext(session, strict_guard))
        assert not r.ok and r.error_code == "target_not_allowed"
    finally:
        await session.close()

