"""EVM RPC health: is this JSON-RPC node on the right chain, alive and fresh?

One check makes these calls to ``url`` (all through the guarded session):

1. ``eth_chainId`` must equal ``chain_id`` (else ``wrong_chain``).
2. ``eth_getBlockByNumber("latest", false)``: the head's number and timestamp. The head's
   age (now - timestamp) must be at most ``max_block_age_s`` (else ``stale_block``). This is
   the primary liveness signal: a check has no access to the previous result, and a node
   whose head stopped moving shows an ageing head on the very next check.
3. Optional, when ``advance_wait_s`` > 0: ``eth_blockNumber`` again after that wait; it must
   have advanced (else ``block_not_advancing``). Default 0 = skipped (costs the wait).
4. Optional ``reference_url``: its ``eth_blockNumber``; our head may trail it by at most
   ``max_lag_blocks`` (else ``block_lag``). A failing reference does not fail the check
   (it is not the monitored node); its error is kept in ``details.reference_error``.
5. ``latency_ms`` is the slowest single call to ``url``; ``max_latency_ms`` bounds it
   (``slow_response``).
6. Optional ``conditions`` (core/checks/conditions/) over [CHAIN_ID], [BLOCK_NUMBER],
   [BLOCK_AGE] (seconds), [RESPONSE_TIME] (ms), [LAG] (blocks, with a reference) and
   [BLOCKS_ADVANCED] (with ``advance_wait_s``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, ClassVar

from lighthouse.core.chains import chain_by_rpc_url, chain_id_of, chain_label
from lighthouse.core.checks.base import (
    CheckConfig,
    CheckContext,
    CheckResult,
    CheckTypeBase,
    Fact,
    PreflightContext,
    http_facts,
    typed_words,
)
from lighthouse.core.checks.conditions import cached_condition, evaluate_into
from lighthouse.core.checks.jsonrpc import (
    RpcFailure,
    hex_int,
    preflight_url,
    rpc_call,
    url_host,
    validate_headers,
    validate_url_field,
)
from pydantic import Field, field_validator

EVM_RPC_PLACEHOLDERS = frozenset(
    {"CHAIN_ID", "BLOCK_NUMBER", "BLOCK_AGE", "RESPONSE_TIME", "LAG", "BLOCKS_ADVANCED"}
)


class EvmRpcConfig(CheckConfig):
    url: str
    chain_id: int = Field(gt=0, lt=2**64)
    max_block_age_s: float = Field(default=60.0, gt=0, le=86_400)
    advance_wait_s: float = Field(default=0.0, ge=0, le=30)
    reference_url: str | None = None
    max_lag_blocks: int = Field(default=5, ge=0, le=1_000_000)
    max_latency_ms: int | None = Field(default=None, gt=0, le=120_000)
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    conditions: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return validate_url_field(value, "url")

    @field_validator("reference_url")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        return None if value is None else validate_url_field(value, "reference_url")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return validate_headers(value)

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, value: list[str]) -> list[str]:
        for text in value:
            cached_condition(text, EVM_RPC_PLACEHOLDERS)
        return value


class EvmRpcCheck(CheckTypeBase):
    name: ClassVar[str] = "evm_rpc"
    config_model: ClassVar[type[CheckConfig]] = EvmRpcConfig
    example: ClassVar[dict[str, Any]] = {"url": "https://api.avax-test.network/ext/bc/C/rpc",
                                         "chain_id": 43113}


    def facts(self, data: dict[str, Any]) -> list[Fact]:
        return http_facts(data)

    def from_shorthand(self, text: str) -> dict[str, Any] | None:
        """``evm_rpc <url> [chain]``: the chain by name (base-sepolia) or id; left out, the
        chain whose public endpoint the URL is, else chain_id is missing (and said so)."""
        words = typed_words(self.name, text)
        if words is None or len(words) > 2:
            return None
        config: dict[str, Any] = {"url": words[0]}
        if len(words) == 2:
            config["chain_id"] = chain_id_of(words[1])
        elif (known := chain_by_rpc_url(words[0])) is not None:
            config["chain_id"] = known.chain_id
        return config

    def shorthand(self, config: EvmRpcConfig) -> str | None:
        return f"{self.name} {config.url} {chain_label(config.chain_id)}"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock  # wall clock for the head's age (tests inject a later one)

    def target_host(self, config: EvmRpcConfig) -> str:
        return url_host(config.url)

    def describe(self, config: EvmRpcConfig) -> str:
        return f"{config.url} (chain {config.chain_id})"

    async def preflight(self, config: EvmRpcConfig, ctx: PreflightContext) -> None:
        await preflight_url(config.url, ctx.guard)
        if config.reference_url is not None:
            await preflight_url(config.reference_url, ctx.guard)

    async def run(self, config: EvmRpcConfig, ctx: CheckContext) -> CheckResult:
        details: dict[str, Any] = {}
        latencies: list[float] = []

        async def call(method: str, params: list[Any] | None = None) -> Any:
            value, ms = await rpc_call(ctx.session, config.url, method, params,
                                       timeout_s=config.timeout_s, headers=config.headers)
            latencies.append(ms)
            details.setdefault("calls_ms", {})[method] = round(ms, 2)
            return value

        values: dict[str, Any] = {}
        try:
            chain_id = hex_int(await call("eth_chainId"), "eth_chainId")
            details["chain_id"] = values["CHAIN_ID"] = chain_id
            block = await call("eth_getBlockByNumber", ["latest", False])
            if not isinstance(block, dict):
                raise RpcFailure("rpc_invalid_response", "eth_getBlockByNumber: no latest block")
            number = hex_int(block.get("number"), "block number")
            stamp = hex_int(block.get("timestamp"), "block timestamp")
            age = self._clock() - stamp
            details.update(block_number=number, block_timestamp=stamp, block_age_s=round(age, 3))
            values.update(BLOCK_NUMBER=number, BLOCK_AGE=max(age, 0.0))
            advanced: int | None = None
            if config.advance_wait_s > 0:
                await asyncio.sleep(config.advance_wait_s)
                later = hex_int(await call("eth_blockNumber"), "eth_blockNumber")
                advanced = later - number
                details["blocks_advanced"] = values["BLOCKS_ADVANCED"] = advanced
        except RpcFailure as exc:
            return CheckResult(
                ok=False,
                latency_ms=max(latencies) if latencies else None,
                status_code=exc.status,
                error_code=exc.code,
                error=exc.message,
                details=details,
            )

        lag: int | None = None
        if config.reference_url is not None:
            try:
                ref_raw, ref_ms = await rpc_call(
                    ctx.session, config.reference_url, "eth_blockNumber",
                    timeout_s=config.timeout_s,
                )
                ref_number = hex_int(ref_raw, "reference eth_blockNumber")
                lag = ref_number - number
                details.update(reference_block_number=ref_number, lag_blocks=lag,
                               reference_ms=round(ref_ms, 2))
                values["LAG"] = lag
            except RpcFailure as exc:
                details["reference_error"] = {"code": exc.code, "error": exc.message}

        latency = max(latencies)
        values["RESPONSE_TIME"] = latency
        result = CheckResult(ok=True, latency_ms=latency, status_code=200, details=details)
        problem = self._judge(config, chain_id, age, advanced, lag, latency)
        if problem is not None:
            result.ok = False
            result.error_code, result.error = problem
        evaluate_into(result, config.conditions, EVM_RPC_PLACEHOLDERS, values)
        return result

    @staticmethod
    def _judge(config: EvmRpcConfig, chain_id: int, age: float, advanced: int | None,
               lag: int | None, latency: float) -> tuple[str, str] | None:
        if chain_id != config.chain_id:
            return "wrong_chain", f"chain id {chain_id}, expected {config.chain_id}"
        if age > config.max_block_age_s:
            return "stale_block", (f"latest block is {age:.0f} s old "
                                   f"(max {config.max_block_age_s:g} s)")
        if advanced is not None and advanced <= 0:
            return "block_not_advancing", (f"block number did not advance in "
                                           f"{config.advance_wait_s:g} s")
        if lag is not None and lag > config.max_lag_blocks:
            return "block_lag", f"{lag} blocks behind the reference (max {config.max_lag_blocks})"
        if config.max_latency_ms is not None and latency > config.max_latency_ms:
            return "slow_response", f"{latency:.0f} ms > {config.max_latency_ms} ms"
        return None
