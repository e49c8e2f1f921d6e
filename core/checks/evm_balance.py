"""Wallet balance: native coin (``eth_getBalance``) or an ERC-20 (``balanceOf``) against
warn and critical thresholds.

* ``token``: ``"native"`` (default) or the ERC-20 contract address.
* Thresholds are decimal amounts in whole units (0.1 AVAX, 25 USDC). A native wallet without
  thresholds gets the plan's gas-wallet defaults: warn 0.1, critical 0.01. An ERC-20 needs
  at least one. ``alert_threshold`` is accepted as the plan's name of ``warn_threshold``.
* Below warn: the check stays UP and raises a ``low_balance`` warning signal. Below critical:
  a ``low_balance`` critical signal, and the check fails (``error_code=balance_critical``,
  so the monitor goes DOWN and recovers through the state machine) unless
  ``fail_below_critical`` is false.
* Signal dedupe keys carry a time bucket, as a check has no memory of earlier alerts:
  critical repeats every 5 minutes while it lasts (the plan's rule), warning once a day.
* Optional ``conditions`` over [BALANCE] (whole units), [BALANCE_RAW] (atomic units) and
  [RESPONSE_TIME] (ms), e.g. ``[BALANCE] >= 0.5``.
* ``chain_id``, when given, is verified with ``eth_chainId`` first (``wrong_chain``), so a
  balance is never read from the wrong network by mistake.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from lighthouse.core.chains import chain_by_id, chain_by_rpc_url, chain_id_of, chain_label
from lighthouse.core.checks.base import (
    AlertSignal,
    CheckConfig,
    CheckContext,
    CheckResult,
    CheckTypeBase,
    Fact,
    PreflightContext,
    typed_words,
)
from lighthouse.core.checks.base import (
    mark as _,
)
from lighthouse.core.checks.conditions import cached_condition, evaluate_into
from lighthouse.core.checks.jsonrpc import (
    BALANCE_OF,
    DECIMALS,
    RpcFailure,
    encode_address_arg,
    hex_int,
    preflight_url,
    rpc_call,
    url_host,
    validate_address,
    validate_headers,
    validate_url_field,
)
from lighthouse.core.errors import ValidationError
from pydantic import AliasChoices, Field, field_validator, model_validator

BALANCE_PLACEHOLDERS = frozenset({"BALANCE", "BALANCE_RAW", "RESPONSE_TIME"})
GAS_WARN_DEFAULT = Decimal("0.1")
GAS_CRITICAL_DEFAULT = Decimal("0.01")
CRITICAL_REPEAT_S = 300
WARNING_REPEAT_S = 86_400


def uint256_result(value: Any, what: str) -> int:
    """An ``eth_call`` result that must be exactly one 32-byte word."""
    if not isinstance(value, str) or len(value) != 66 or not value.startswith("0x"):
        shown = str(value)[:20]
        raise RpcFailure("rpc_invalid_response",
                         f"{what}: expected one 32-byte word, got {shown!r} (no contract?)")
    return hex_int(value, what)


def format_amount(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


class EvmBalanceConfig(CheckConfig):
    url: str
    address: str
    token: str = "native"
    chain_id: int | None = Field(default=None, gt=0, lt=2**64)
    decimals: int | None = Field(default=None, ge=0, le=36)
    symbol: str | None = Field(default=None, max_length=16)
    warn_threshold: Decimal | None = Field(
        default=None, ge=0, validation_alias=AliasChoices("warn_threshold", "alert_threshold")
    )
    critical_threshold: Decimal | None = Field(default=None, ge=0)
    fail_below_critical: bool = True
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    conditions: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, value: list[str]) -> list[str]:
        for text in value:
            cached_condition(text, BALANCE_PLACEHOLDERS)
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return validate_url_field(value, "url")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return validate_address(value, "address")

    @field_validator("token")
    @classmethod
    def _token(cls, value: str) -> str:
        if value.strip().lower() == "native":
            return "native"
        return validate_address(value, "token")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return validate_headers(value)

    @model_validator(mode="after")
    def _thresholds(self) -> EvmBalanceConfig:
        if self.token != "native" and self.warn_threshold is None and self.critical_threshold is None:
            raise ValidationError("an ERC-20 balance needs warn_threshold or critical_threshold",
                                  field="warn_threshold", reason="missing")
        warn, crit = self.effective_thresholds()
        if warn is not None and crit is not None and crit > warn:
            raise ValidationError("critical_threshold must not exceed warn_threshold",
                                  field="critical_threshold", reason="above_warn")
        return self

    def effective_thresholds(self) -> tuple[Decimal | None, Decimal | None]:
        if self.token == "native" and self.warn_threshold is None and self.critical_threshold is None:
            return GAS_WARN_DEFAULT, GAS_CRITICAL_DEFAULT
        return self.warn_threshold, self.critical_threshold


class EvmBalanceCheck(CheckTypeBase):
    name: ClassVar[str] = "evm_balance"
    config_model: ClassVar[type[CheckConfig]] = EvmBalanceConfig
    required_feature: ClassVar[str | None] = "balance"
    example: ClassVar[dict[str, Any]] = {
        "url": "https://api.avax-test.network/ext/bc/C/rpc",
        "address": "0x000000000000000000000000000000000000dEaD", "symbol": "AVAX",
        "warn_threshold": "0.5", "critical_threshold": "0.1"}
    signal_titles: ClassVar[dict[str, str]] = {"low_balance": _("Low balance: {target}")}

    def facts(self, data: dict[str, Any]) -> list[Fact]:
        details = data.get("details") or {}
        out = []
        balance = data.get("balance", details.get("balance") if isinstance(details, dict) else None)
        if balance is not None:
            out.append(Fact(_("Balance: {value}"), balance))
        if data.get("threshold") is not None:
            out.append(Fact(_("Threshold: {value}"), data["threshold"]))
        return out

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def from_shorthand(self, text: str) -> dict[str, Any] | None:
        """``evm_balance <address> <chain> [rpc url]``: the chain by name or id; without a
        URL its public endpoint (core/chains.py) is asked."""
        words = typed_words(self.name, text)
        if words is None or len(words) > 3:
            return None
        config: dict[str, Any] = {"address": words[0]}
        for word in words[1:]:
            if "://" in word:
                config["url"] = word
            else:
                config["chain_id"] = chain_id_of(word)
        if "url" not in config:
            chain = chain_by_id(config["chain_id"]) if "chain_id" in config else None
            if chain is None:
                raise ValidationError("which chain?", field="chain_id", reason="missing",
                                      type=self.name)
            config["url"] = chain.rpc_url
        return config

    def shorthand(self, config: EvmBalanceConfig) -> str | None:
        if config.token != "native":
            return None  # a token contract does not fit in the short form: describe() does
        chain = (chain_by_id(config.chain_id) if config.chain_id is not None
                 else chain_by_rpc_url(config.url))
        if chain is not None and chain.rpc_url == config.url:
            return f"{self.name} {config.address} {chain.name}"
        if config.chain_id is not None:
            return f"{self.name} {config.address} {chain_label(config.chain_id)} {config.url}"
        return f"{self.name} {config.address} {config.url}"

    def target_host(self, config: EvmBalanceConfig) -> str:
        return url_host(config.url)

    def describe(self, config: EvmBalanceConfig) -> str:
        what = config.symbol or ("native" if config.token == "native" else config.token[:10] + "…")
        return f"{config.address[:10]}… {what} balance"

    async def preflight(self, config: EvmBalanceConfig, ctx: PreflightContext) -> None:
        await preflight_url(config.url, ctx.guard)

    async def run(self, config: EvmBalanceConfig, ctx: CheckContext) -> CheckResult:
        details: dict[str, Any] = {"address": config.address, "token": config.token}
        latencies: list[float] = []

        async def call(method: str, params: list[Any]) -> Any:
            value, ms = await rpc_call(ctx.session, config.url, method, params,
                                       timeout_s=config.timeout_s, headers=config.headers)
            latencies.append(ms)
            return value

        try:
            if config.chain_id is not None:
                chain_id = hex_int(await call("eth_chainId", []), "eth_chainId")
                details["chain_id"] = chain_id
                if chain_id != config.chain_id:
                    return CheckResult(
                        ok=False, latency_ms=max(latencies), error_code="wrong_chain",
                        error=f"chain id {chain_id}, expected {config.chain_id}", details=details,
                    )
            if config.token == "native":
                raw = hex_int(await call("eth_getBalance", [config.address, "latest"]),
                              "eth_getBalance")
                decimals = 18 if config.decimals is None else config.decimals
            else:
                data = BALANCE_OF + encode_address_arg(config.address)
                raw = uint256_result(
                    await call("eth_call", [{"to": config.token, "data": data}, "latest"]),
                    "balanceOf",
                )
                if config.decimals is not None:
                    decimals = config.decimals
                else:
                    decimals = uint256_result(
                        await call("eth_call", [{"to": config.token, "data": DECIMALS}, "latest"]),
                        "decimals",
                    )
                    if decimals > 77:
                        raise RpcFailure("rpc_invalid_response", f"decimals() = {decimals}")
        except RpcFailure as exc:
            return CheckResult(ok=False, latency_ms=max(latencies) if latencies else None,
                               status_code=exc.status, error_code=exc.code, error=exc.message,
                               details=details)

        balance = Decimal(raw).scaleb(-decimals)
        warn, crit = config.effective_thresholds()
        symbol = config.symbol or ""
        shown = f"{format_amount(balance)} {symbol}".strip()
        details.update(balance=format_amount(balance), balance_raw=str(raw), decimals=decimals,
                       warn_threshold=None if warn is None else format_amount(warn),
                       critical_threshold=None if crit is None else format_amount(crit))
        result = CheckResult(ok=True, latency_ms=max(latencies), status_code=200, details=details)
        level: str | None = None
        threshold: Decimal | None = None
        if crit is not None and balance < crit:
            level, threshold = "critical", crit
        elif warn is not None and balance < warn:
            level, threshold = "warning", warn
        details["level"] = level or "ok"
        evaluate_into(result, config.conditions, BALANCE_PLACEHOLDERS,
                      {"BALANCE": float(balance), "BALANCE_RAW": raw,
                       "RESPONSE_TIME": result.latency_ms})
        if level is None or threshold is None:
            return result
        bucket = int(self._clock() // (CRITICAL_REPEAT_S if level == "critical" else WARNING_REPEAT_S))
        result.signals.append(AlertSignal(
            "low_balance", level,
            f"balance:{config.token}:{config.address}:{level}:{bucket}",
            {"balance": shown, "threshold": f"{format_amount(threshold)} {symbol}".strip(),
             "address": config.address, "token": config.token, "level": level},
        ))
        if level == "critical" and config.fail_below_critical and result.ok:
            result.ok = False
            result.error_code = "balance_critical"
            result.error = f"balance {shown} is below {format_amount(threshold)}"
        return result
