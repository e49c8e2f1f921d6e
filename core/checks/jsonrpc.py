"""Shared helpers of the EVM check types: one JSON-RPC call over the guarded session,
URL/address validation and hex decoding.

Every call goes through ``CheckContext.session`` (whose connector applies the SSRF guard at
resolve and connect time). A failure is raised as ``RpcFailure`` carrying a stable error code
(``timeout``, ``connection_error``, ``target_not_allowed``, ``rpc_http_error``,
``rpc_invalid_response``, ``rpc_error``) that the check types put in their results.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from lighthouse.core.checks.http import classify_exception, validate_http_url
from lighthouse.core.errors import InvalidURLError, ValidationError
from lighthouse.core.jsonsafe import JsonTooDeepError, safe_json_loads
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.streams import read_body

RESPONSE_LIMIT = 1024 * 1024
_ids = itertools.count(1)
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEADER_FORBIDDEN = {"host", "content-length", "transfer-encoding", "connection", "content-type"}


class RpcFailure(Exception):
    """A JSON-RPC call that did not produce a result; ``code`` is a stable error code."""

    def __init__(self, code: str, message: str, *, rpc_code: int | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.rpc_code = rpc_code
        self.status = status


def validate_url_field(value: str, field: str) -> str:
    """``validate_http_url`` with the error naming ``field`` (url, reference_url, ...)."""
    try:
        return validate_http_url(value)
    except InvalidURLError as exc:
        params = {**exc.params, "field": field}
        raise InvalidURLError(str(exc), **params) from None


def validate_headers(value: dict[str, str]) -> dict[str, str]:
    for name, val in value.items():
        if name.lower() in _HEADER_FORBIDDEN:
            raise ValueError(f"header {name!r} is set by the client")
        if any(c in name + val for c in "\r\n"):
            raise ValueError("header names and values cannot contain line breaks")
    return value


def validate_address(value: str, field: str) -> str:
    """A 20-byte hex address; mixed case must be a valid EIP-55 checksum. Stored lower-case."""
    value = value.strip()
    if not _ADDRESS.match(value):
        raise ValidationError(f"{field}: not a 0x-prefixed 20-byte hex address",
                              field=field, reason="invalid_address")
    body = value[2:]
    if body != body.lower() and body != body.upper():
        from eth_utils.address import is_checksum_address

        if not is_checksum_address(value):
            raise ValidationError(f"{field}: bad EIP-55 checksum", field=field,
                                  reason="bad_checksum")
    return "0x" + body.lower()


def url_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


async def preflight_url(url: str, guard: TargetGuard) -> None:
    """Refuse a private target at creation (unless allowed); unresolvable hosts pass."""
    try:
        await guard.resolve(url_host(url))
    except OSError:
        return


def hex_int(value: Any, what: str) -> int:
    """A JSON-RPC quantity (``"0x1a"``) as an int; RpcFailure when it is not one."""
    if isinstance(value, str) and value.startswith(("0x", "0X")):
        try:
            return int(value, 16) if len(value) > 2 else 0
        except ValueError:
            pass
    raise RpcFailure("rpc_invalid_response", f"{what}: {str(value)[:60]!r} is not a hex quantity")


async def rpc_call(
    session: aiohttp.ClientSession,
    url: str,
    method: str,
    params: list[Any] | None = None,
    *,
    timeout_s: float = 10.0,
    headers: dict[str, str] | None = None,
) -> tuple[Any, float]:
    """One JSON-RPC 2.0 call; returns (result, latency in ms) or raises RpcFailure."""
    request_id = next(_ids)
    payload = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}
    started = time.perf_counter()
    try:
        async with session.post(
            url,
            data=json.dumps(payload).encode(),
            headers={**(headers or {}), "Content-Type": "application/json"},
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as resp:
            raw, truncated = await read_body(resp.content, RESPONSE_LIMIT)
            status = resp.status
    except Exception as exc:
        code, text = classify_exception(exc, timeout_s)
        raise RpcFailure(code, f"{method}: {text}") from None
    latency_ms = (time.perf_counter() - started) * 1000
    if truncated:
        raise RpcFailure("rpc_invalid_response",
                         f"{method}: the response is larger than {RESPONSE_LIMIT} bytes", status=status)
    try:
        body = safe_json_loads(raw)
    except JsonTooDeepError as exc:
        raise RpcFailure("rpc_invalid_response", f"{method}: the response is {exc}",
                         status=status) from None
    except ValueError:
        if status != 200:
            raise RpcFailure("rpc_http_error", f"{method}: HTTP {status}", status=status) from None
        raise RpcFailure("rpc_invalid_response", f"{method}: the response is not JSON",
                         status=status) from None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        rpc_code = err.get("code") if isinstance(err.get("code"), int) else None
        message = str(err.get("message", ""))[:200]
        raise RpcFailure("rpc_error", f"{method}: RPC error {rpc_code}: {message}",
                         rpc_code=rpc_code, status=status)
    if status != 200:
        raise RpcFailure("rpc_http_error", f"{method}: HTTP {status}", status=status)
    if not isinstance(body, dict) or "result" not in body:
        raise RpcFailure("rpc_invalid_response", f"{method}: no result in the response",
                         status=status)
    if body.get("id") != request_id:
        raise RpcFailure("rpc_invalid_response", f"{method}: response id does not match",
                         status=status)
    return body["result"], latency_ms


# ERC-20 selectors (first 4 bytes of keccak of the signature).
BALANCE_OF = "0x70a08231"
DECIMALS = "0x313ce567"


def encode_address_arg(address: str) -> str:
    return address.lower().removeprefix("0x").rjust(64, "0")
