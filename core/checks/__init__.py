"""Check-type registry. A new type is one module here plus one line in ``_TYPES``."""

from __future__ import annotations

from typing import Any

from lighthouse.core.checks.base import CheckConfig, CheckContext, CheckResult, CheckType
from lighthouse.core.checks.canary import CanaryCheck
from lighthouse.core.checks.dns import DnsCheck
from lighthouse.core.checks.evm_balance import EvmBalanceCheck
from lighthouse.core.checks.evm_rpc import EvmRpcCheck
from lighthouse.core.checks.heartbeat import HeartbeatCheck
from lighthouse.core.checks.http import HttpCheck
from lighthouse.core.checks.tcp import TcpCheck
from lighthouse.core.checks.tls import TlsCheck
from lighthouse.core.checks.x402_endpoint import X402Check
from lighthouse.core.errors import InvalidURLError, UnknownCheckTypeError, ValidationError
from pydantic import ValidationError as PydanticValidationError

_TYPES: dict[str, CheckType[Any]] = {
    HttpCheck.name: HttpCheck(),
    TcpCheck.name: TcpCheck(),
    DnsCheck.name: DnsCheck(),
    TlsCheck.name: TlsCheck(),
    EvmRpcCheck.name: EvmRpcCheck(),
    EvmBalanceCheck.name: EvmBalanceCheck(),
    X402Check.name: X402Check(),
    HeartbeatCheck.name: HeartbeatCheck(),
    CanaryCheck.name: CanaryCheck(),
}


def check_types() -> dict[str, CheckType[Any]]:
    return dict(_TYPES)


def config_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every type's config, by type name (for OpenAPI and client docs)."""
    return {name: check.config_model.model_json_schema() for name, check in sorted(_TYPES.items())}


def get_check_type(name: str) -> CheckType[Any]:
    try:
        return _TYPES[name]
    except KeyError:
        raise UnknownCheckTypeError(
            f"unknown check type {name!r}", type=name, known=sorted(_TYPES)
        ) from None


def parse_config(type_name: str, raw: Any) -> CheckConfig:
    """Validate untrusted config into the type's model, or raise a typed error."""
    check = get_check_type(type_name)
    if not isinstance(raw, dict):
        raise ValidationError("config must be a JSON object", field="config", reason="not_object")
    try:
        return check.config_model.model_validate(raw)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "config"
        reason = err["msg"].removeprefix("Value error, ")
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, ValidationError):  # raised by a validator: keep its code
            raise inner from None
        if err["type"] == "missing":
            raise ValidationError(f"{field}: required", field=field, reason="missing") from None
        if field == "url" or field.endswith(".url"):
            raise InvalidURLError(reason, field=field, reason=reason) from None
        raise ValidationError(f"{field}: {reason}", field=field, reason=reason) from None


__all__ = [
    "CheckConfig",
    "CheckContext",
    "CheckResult",
    "CheckType",
    "check_types",
    "config_schemas",
    "get_check_type",
    "parse_config",
]
