"""evm_balance against a real local EVM: native and ERC-20 balances, thresholds, signals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from lighthouse.core.checks import parse_config
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.checks.evm_balance import EvmBalanceCheck, EvmBalanceConfig
from lighthouse.core.errors import (
    InvalidURLError,
    TargetNotAllowedError,
    TierFeatureError,
    ValidationError,
)
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService
from support.evm import LocalChain

ALICE = Identity(Provider.DISCORD, "4001")
ETHER = 10**18


def cfg(**kw: Any) -> EvmBalanceConfig:
    config = parse_config("evm_balance", kw)
    assert isinstance(config, EvmBalanceConfig)
    return config


async def test_native_thresholds_with_plan_defaults(check_context: CheckContext) -> None:
    check = EvmBalanceCheck(clock=lambda: 1_000_000.0)
    async with LocalChain(chain_id=43113) as chain:
        rich, low, empty = chain.new_account(), chain.new_account(), chain.new_account()
        await chain.fund(rich.address, 2 * ETHER)
        await chain.fund(low.address, ETHER // 20)  # 0.05 < 0.1 warn
        await chain.fund(empty.address, ETHER // 200)  # 0.005 < 0.01 critical
        ok = await check.run(cfg(url=chain.rpc_url, address=rich.address, chain_id=43113),
                             check_context)
        warn = await check.run(cfg(url=chain.rpc_url, address=low.address), check_context)
        crit = await check.run(cfg(url=chain.rpc_url, address=empty.address, symbol="AVAX"),
                               check_context)
        crit_no_fail = await check.run(
            cfg(url=chain.rpc_url, address=empty.address, fail_below_critical=False), check_context
        )
    assert ok.ok and not ok.signals
    assert ok.details["balance"] == "2" and ok.details["level"] == "ok"
    assert ok.details["warn_threshold"] == "0.1" and ok.details["critical_threshold"] == "0.01"

    assert warn.ok
    [sig] = warn.signals
    assert (sig.alert_type, sig.severity) == ("low_balance", "warning")
    assert sig.params["balance"] == "0.05" and sig.params["threshold"] == "0.1"

    assert not crit.ok and crit.error_code == "balance_critical"
    [sig] = crit.signals
    assert sig.severity == "critical"
    assert sig.params["balance"] == "0.005 AVAX" and sig.params["threshold"] == "0.01 AVAX"
    assert crit_no_fail.ok and crit_no_fail.signals[0].severity == "critical"


async def test_critical_signal_repeats_every_five_minutes(check_context: CheckContext) -> None:
    now = [1_000_000.0]
    check = EvmBalanceCheck(clock=lambda: now[0])
    async with LocalChain(chain_id=43113) as chain:
        acct = chain.new_account()
        config = cfg(url=chain.rpc_url, address=acct.address)
        first = (await check.run(config, check_context)).signals[0].dedupe_key
        now[0] += 60
        same = (await check.run(config, check_context)).signals[0].dedupe_key
        now[0] += 300
        later = (await check.run(config, check_context)).signals[0].dedupe_key
    assert first == same != later


async def test_erc20_balance(check_context: CheckContext) -> None:
    check = EvmBalanceCheck()
    async with LocalChain(chain_id=43113) as chain:
        seller = chain.new_account()
        await chain.mint(seller.address, 5_000_000)  # 5 USDC (6 dp)
        base = {"url": chain.rpc_url, "address": seller.address, "token": chain.token_address,
                "symbol": "USDC"}
        low = await check.run(cfg(**base, warn_threshold="10", critical_threshold=1),
                              check_context)
        fine = await check.run(cfg(**base, alert_threshold=2, decimals=6), check_context)
        await chain.mint(seller.address, 20_000_000)
        topped = await check.run(cfg(**base, warn_threshold="10"), check_context)
        # An address without a contract answers "0x": an error, never a zero balance.
        no_contract = await check.run(
            cfg(url=chain.rpc_url, address=seller.address, token=chain.new_account().address,
                warn_threshold=1),
            check_context,
        )
        assert await chain.token_balance(seller.address) == 25_000_000
    assert low.ok and low.details["balance"] == "5" and low.details["decimals"] == 6
    assert low.signals[0].severity == "warning" and low.signals[0].params["balance"] == "5 USDC"
    assert fine.ok and not fine.signals
    assert topped.ok and topped.details["balance"] == "25" and not topped.signals
    assert not no_contract.ok and no_contract.error_code == "rpc_invalid_response"


async def test_wrong_chain(check_context: CheckContext) -> None:
    async with LocalChain(chain_id=84532) as chain:
        result = await EvmBalanceCheck().run(
            cfg(url=chain.rpc_url, address=chain.accounts[0].address, chain_id=43113),
            check_context,
        )
    assert not result.ok and result.error_code == "wrong_chain"


async def test_rpc_down(check_context: CheckContext, make_free_port: Any) -> None:
    result = await EvmBalanceCheck().run(
        cfg(url=f"http://127.0.0.1:{make_free_port()}/", address="0x" + "11" * 20, timeout_s=2),
        check_context,
    )
    assert not result.ok and result.error_code == "connection_error"


GOOD = {"url": "https://rpc.example", "address": "0x" + "ab" * 20}


@pytest.mark.parametrize(
    ("config", "error", "field"),
    [
        ({"address": GOOD["address"]}, ValidationError, "url"),
        ({**GOOD, "url": "gopher://x"}, InvalidURLError, "url"),
        ({**GOOD, "address": "0x1234"}, ValidationError, "address"),
        ({**GOOD, "address": "0x" + "aB" * 20}, ValidationError, "address"),  # bad checksum
        ({**GOOD, "token": "USDC"}, ValidationError, "token"),
        ({**GOOD, "token": "0x" + "cd" * 20}, ValidationError, "warn_threshold"),
        ({**GOOD, "warn_threshold": "0.01", "critical_threshold": "0.1"}, ValidationError,
         "critical_threshold"),
        ({**GOOD, "warn_threshold": -1}, ValidationError, "warn_threshold"),
        ({**GOOD, "warn_threshold": "lots"}, ValidationError, "warn_threshold"),
        ({**GOOD, "decimals": 99}, ValidationError, "decimals"),
        ({**GOOD, "extra": True}, ValidationError, "extra"),
    ],
)
async def test_bad_configs_refused(service: MonitorService, config: dict[str, Any],
                                   error: type[Exception], field: str) -> None:
    await service.upgrade_tier(ALICE, "standard", timedelta(days=30))
    with pytest.raises(error) as info:
        await service.create_monitor(ALICE, type="evm_balance", config=config)
    assert info.value.params["field"] == field  # type: ignore[attr-defined]


async def test_tier_feature_and_creation(service: MonitorService) -> None:
    async with LocalChain(chain_id=43113) as chain:
        config = {"url": chain.rpc_url, "address": chain.accounts[0].address,
                  "alert_threshold": "0.5"}
        with pytest.raises(TierFeatureError) as info:
            await service.create_monitor(ALICE, type="evm_balance", config=config)
        assert info.value.params["feature"] == "balance"
        await service.upgrade_tier(ALICE, "standard", timedelta(days=30))
        m = await service.create_monitor(ALICE, type="evm_balance", config=config)
        assert m.type == "evm_balance" and m.config["warn_threshold"] == "0.5"
        result = await service.check_once("evm_balance", m.config)
    assert result.ok, result.error


async def test_private_target_refused(pool: Any) -> None:
    strict = MonitorService(pool, TargetGuard(allow_private=False))
    await strict.upgrade_tier(ALICE, "standard", timedelta(days=30))
    with pytest.raises(TargetNotAllowedError):
        await strict.create_monitor(ALICE, type="evm_balance",
                                    config={**GOOD, "url": "http://127.0.0.1:8545/"})


async def test_balance_conditions(check_context: CheckContext) -> None:
    async with LocalChain(chain_id=43113) as chain:
        acct = chain.new_account()
        await chain.fund(acct.address, 3 * ETHER)
        good = await EvmBalanceCheck().run(
            cfg(url=chain.rpc_url, address=acct.address,
                conditions=["[BALANCE] >= 2.5", f"[BALANCE_RAW] == {3 * ETHER}"]),
            check_context,
        )
        bad = await EvmBalanceCheck().run(
            cfg(url=chain.rpc_url, address=acct.address, conditions=["[BALANCE] > 5"]),
            check_context,
        )
    assert good.ok, good.error
    assert not bad.ok and bad.error_code == "condition_failed"
    with pytest.raises(Exception, match="CHAIN_ID"):
        cfg(url="https://rpc.example", address=GOOD["address"], conditions=["[CHAIN_ID] == 1"])
