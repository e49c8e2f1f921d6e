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
from lighthouse.core.checks.ws import WsCheck
from lighthouse.core.checks.x402_endpoint import X402Check
from lighthouse.core.errors import InvalidURLError, UnknownCheckTypeError, ValidationError
from lighthouse.core.jsonsafe import safe_json_loads
from lighthouse.core.text import straight_quotes
from lighthouse.core.validation_text import pydantic_message
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
    WsCheck.name: WsCheck(),
}


# Asked last for a chat shorthand: what no other type claims is taken as a URL.
_SHORTHAND_FALLBACK = HttpCheck.name


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


def parse_shorthand(text: str) -> tuple[str, dict[str, Any]]:
    """A chat target -> (type, config), for the service to validate: ``<type> {json}`` for any
    type, or a type's own shorthand (a URL, ``tcp://host:port``, ``dns://name/TYPE``)."""
    raw = text.strip()
    head, _sep, tail = raw.partition(" ")
    if tail.lstrip().startswith("{") and head.lower() in _TYPES:
        try:
            config = safe_json_loads(tail)
        except ValueError:
            try:  # typed on a phone: “smart” quotes
                config = safe_json_loads(straight_quotes(tail))
            except ValueError:
                raise ValidationError("config is not valid JSON", field="config",
                                      reason="not_json") from None
        if not isinstance(config, dict):
            raise ValidationError("config must be a JSON object", field="config", reason="not_object")
        return head.lower(), config
    for name in [*(n for n in _TYPES if n != _SHORTHAND_FALLBACK), _SHORTHAND_FALLBACK]:
        found = _TYPES[name].from_shorthand(raw)
        if found is not None:
            return name, found
    raise ValidationError("not a target this service knows", field="url", reason="missing")


def split_typed_target(words: list[str]) -> tuple[str, list[str]]:
    """Words typed after ``add`` -> (the target, the words left for name and interval).
    A shorthand of several words (``evm_rpc <url> base-sepolia``, ``tcp host:port``) is
    the longest run its type reads without an error; anything else is one word."""
    if len(words) >= 2 and words[0].lower() in _TYPES and not words[1].startswith("{"):
        check = _TYPES[words[0].lower()]
        misspelt: str | None = None
        for end in range(min(len(words), 4), 1, -1):
            text = " ".join(words[:end])
            try:
                found = check.from_shorthand(text)
                if found is not None:
                    if misspelt and "chain_id" not in found:
                        return misspelt, []  # "evm_rpc <url> base-sepola": a chain misspelt
                    return text, words[end:]
            except ValidationError as exc:
                if exc.params.get("reason") == "unknown_chain" and misspelt is None:
                    misspelt = text
                continue
        return " ".join(words[:2]), words[2:]  # parse_shorthand says what is wrong
    return (words[0] if words else ""), words[1:]


def target_label(type_name: str, config: dict[str, Any], fallback: str = "") -> str:
    """How a stored monitor's target is shown: its type's shorthand, else its description."""
    try:
        check = get_check_type(type_name)
        parsed = parse_config(type_name, config)
    except (UnknownCheckTypeError, ValidationError):
        return fallback  # a config from an older version: show what the row has
    return check.shorthand(parsed) or check.describe(parsed)


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
            error = ValidationError(f"{field}: required", field=field, reason="missing")
        elif field == "url" or field.endswith(".url"):
            error = InvalidURLError(reason, field=field, reason=reason)
        else:
            error = ValidationError(f"{field}: {reason}", field=field, reason=reason)
        error.said = pydantic_message(err)
        raise error from None


__all__ = [
    "CheckConfig",
    "CheckContext",
    "CheckResult",
    "CheckType",
    "check_types",
    "config_schemas",
    "get_check_type",
    "parse_config",
    "parse_shorthand",
    "split_typed_target",
    "target_label",
]
