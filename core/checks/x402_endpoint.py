"""x402 endpoint: a paid route must answer an unpaid request with a well-formed 402.

One unpaid request to ``url``; the answer must be HTTP 402 carrying the challenge:

* v2: header ``PAYMENT-REQUIRED`` = standard base64 of a JSON ``PaymentRequired``
  (``x402Version`` 2, ``resource.url``, ``accepts[]`` with ``scheme``, CAIP-2 ``network``,
  ``amount``, ``asset``, ``payTo``, ``maxTimeoutSeconds``, ``extra.name``/``extra.version``);
* v1: the JSON body (``x402Version`` 1, ``accepts[]`` with ``maxAmountRequired``, network
  names such as ``avalanche-fuji``, ``resource`` URL string, ``description``).

``versions`` says which must be present: ``any`` (default: at least one; every one present
must be well-formed), ``v1``, ``v2`` or ``both``. Then, for each challenge checked, some
``accepts[]`` entry must offer the expected ``scheme``/``network``/``asset``/``pay_to``/
``amount`` (each optional; networks compared as CAIP-2, so ``avalanche-fuji`` equals
``eip155:43113``; addresses case-insensitively).

Error codes: ``paywall_open`` (2xx without payment), ``unexpected_status``,
``broken_challenge`` (missing/undecodable/malformed), ``wrong_network``, ``wrong_asset``,
``wrong_pay_to``, ``price_drift`` (the offer for our network/asset/payTo asks another
amount), ``slow_response``, plus the transport codes of the HTTP check.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from typing import Any, ClassVar, Literal

import aiohttp
from lighthouse.core.checks.base import (
    CheckConfig,
    CheckContext,
    CheckResult,
    CheckTypeBase,
    Fact,
    PreflightContext,
    http_facts,
)
from lighthouse.core.checks.http import classify_exception
from lighthouse.core.checks.jsonrpc import (
    preflight_url,
    url_host,
    validate_address,
    validate_headers,
    validate_url_field,
)
from lighthouse.core.errors import ValidationError
from lighthouse.core.jsonsafe import safe_json_loads
from lighthouse.core.streams import read_body
from pydantic import Field, field_validator

BODY_LIMIT = 64 * 1024
HEADER_LIMIT = 16 * 1024
_CAIP2 = re.compile(r"^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$")
_DIGITS = re.compile(r"^[0-9]{1,78}$")
# x402 v1 network names -> CAIP-2 (the SDKs' table for EVM networks).
V1_NETWORKS = {
    "avalanche-fuji": "eip155:43113",
    "avalanche": "eip155:43114",
    "base-sepolia": "eip155:84532",
    "base": "eip155:8453",
    "polygon": "eip155:137",
    "polygon-amoy": "eip155:80002",
    "ethereum": "eip155:1",
    "sepolia": "eip155:11155111",
}


def caip2(network: str) -> str:
    """A v1 network name or CAIP-2 id as CAIP-2 (unknown names are returned unchanged)."""
    return V1_NETWORKS.get(network.strip().lower(), network.strip())


class BrokenChallenge(Exception):
    pass


class X402Config(CheckConfig):
    url: str
    method: Literal["GET", "POST", "HEAD"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    versions: Literal["any", "v1", "v2", "both"] = "any"
    scheme: str | None = Field(default="exact", max_length=32)
    network: str | None = Field(default=None, max_length=64)
    asset: str | None = None
    pay_to: str | None = None
    amount: str | None = None  # atomic units, e.g. "1000" = 0.001 USDC
    require_eip712_domain: bool = True  # extra.name / extra.version on exact-EVM offers
    timeout_s: float = Field(default=15.0, gt=0, le=60)
    max_latency_ms: int | None = Field(default=None, gt=0, le=120_000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return validate_url_field(value, "url")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name.lower() in ("payment-signature", "x-payment"):
                raise ValueError("the check must stay unpaid: no payment headers")
        return validate_headers(value)

    @field_validator("network")
    @classmethod
    def _network(cls, value: str | None) -> str | None:
        if value is None:
            return None
        norm = caip2(value)
        if not _CAIP2.match(norm):
            raise ValidationError(
                f"network: {value!r} is neither CAIP-2 (eip155:43113) nor a known x402 v1 name",
                field="network", reason="unknown_network",
            )
        return norm

    @field_validator("asset")
    @classmethod
    def _asset(cls, value: str | None) -> str | None:
        return None if value is None else validate_address(value, "asset")

    @field_validator("pay_to")
    @classmethod
    def _pay_to(cls, value: str | None) -> str | None:
        return None if value is None else validate_address(value, "pay_to")

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is not None and (not isinstance(value, str) or not _DIGITS.match(value)
                                  or int(value) == 0):
            raise ValidationError("amount: a positive integer in atomic units (\"1000\")",
                                  field="amount", reason="not_atomic")
        return value


def _decode_header(value: str) -> dict[str, Any]:
    if len(value) > HEADER_LIMIT:
        raise BrokenChallenge(f"PAYMENT-REQUIRED is {len(value)} bytes (> {HEADER_LIMIT})")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BrokenChallenge("PAYMENT-REQUIRED is not standard base64") from None
    try:
        doc = safe_json_loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BrokenChallenge("PAYMENT-REQUIRED is not UTF-8 JSON") from None
    if not isinstance(doc, dict):
        raise BrokenChallenge("PAYMENT-REQUIRED is not a JSON object")
    return doc


def _str(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise BrokenChallenge(f"{where}.{key} is missing or not a string")
    return value


def _validate(doc: dict[str, Any], version: int, require_domain: bool) -> list[dict[str, Any]]:
    """Check one challenge's shape; return its offers normalized to v2 names."""
    label = "v2" if version == 2 else "v1"
    if doc.get("x402Version") != version:
        raise BrokenChallenge(f"{label}: x402Version is {doc.get('x402Version')!r}, not {version}")
    if version == 2:
        resource = doc.get("resource")
        if not isinstance(resource, dict) or not isinstance(resource.get("url"), str):
            raise BrokenChallenge("v2: resource.url is missing")
    accepts = doc.get("accepts")
    if not isinstance(accepts, list) or not accepts:
        raise BrokenChallenge(f"{label}: accepts is missing or empty")
    offers: list[dict[str, Any]] = []
    for i, entry in enumerate(accepts):
        where = f"{label}.accepts[{i}]"
        if not isinstance(entry, dict):
            raise BrokenChallenge(f"{where} is not an object")
        amount_key = "amount" if version == 2 else "maxAmountRequired"
        scheme = _str(entry, "scheme", where)
        network = _str(entry, "network", where)
        amount = _str(entry, amount_key, where)
        asset = _str(entry, "asset", where)
        pay_to = _str(entry, "payTo", where)
        if not _DIGITS.match(amount) or int(amount) == 0:
            raise BrokenChallenge(f"{where}.{amount_key} {amount[:30]!r} is not a positive integer")
        if version == 2 and not _CAIP2.match(network):
            raise BrokenChallenge(f"{where}.network {network[:40]!r} is not CAIP-2")
        timeout = entry.get("maxTimeoutSeconds")
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
            raise BrokenChallenge(f"{where}.maxTimeoutSeconds is missing or not a positive integer")
        if version == 1:
            _str(entry, "resource", where)
            if not isinstance(entry.get("description"), str):
                raise BrokenChallenge(f"{where}.description is missing")
        extra = entry.get("extra")
        has_domain = (isinstance(extra, dict) and isinstance(extra.get("name"), str)
                      and isinstance(extra.get("version"), str))
        if (require_domain and scheme == "exact" and caip2(network).startswith("eip155:")
                and not has_domain):
            raise BrokenChallenge(f"{where}.extra.name/version (EIP-712 domain) missing")
        offers.append({"scheme": scheme, "network": caip2(network), "amount": amount,
                       "asset": asset, "payTo": pay_to})
    return offers


def _same(key: str, offered: str, expected: str) -> bool:
    if key in ("asset", "payTo"):
        return offered.lower() == expected.lower()
    if key == "amount":
        return int(offered) == int(expected)  # both validated digit strings
    return offered == expected


def _match(config: X402Config, offers: list[dict[str, Any]], label: str) -> tuple[str, str] | None:
    """Narrow the offers by each expectation in turn; the first that empties the set explains."""
    steps: list[tuple[str, str | None, str, str]] = [
        ("scheme", config.scheme, "wrong_scheme", "scheme"),
        ("network", config.network, "wrong_network", "network"),
        ("asset", config.asset, "wrong_asset", "asset"),
        ("payTo", config.pay_to, "wrong_pay_to", "payTo"),
        ("amount", config.amount, "price_drift", "price"),
    ]
    current = offers
    for key, expected, code, noun in steps:
        if expected is None:
            continue
        kept = [o for o in current if _same(key, o[key], expected)]
        if not kept:
            seen = sorted({o[key] for o in current})
            return code, f"{label}: {noun} {', '.join(seen)[:120]}, expected {expected}"
        current = kept
    return None


class X402Check(CheckTypeBase):
    name: ClassVar[str] = "x402"
    config_model: ClassVar[type[CheckConfig]] = X402Config
    example: ClassVar[dict[str, Any]] = {"url": "https://example.com/paid/weather"}

    def facts(self, data: dict[str, Any]) -> list[Fact]:
        return http_facts(data)

    def target_host(self, config: X402Config) -> str:
        return url_host(config.url)

    def describe(self, config: X402Config) -> str:
        return config.url

    async def preflight(self, config: X402Config, ctx: PreflightContext) -> None:
        await preflight_url(config.url, ctx.guard)

    async def run(self, config: X402Config, ctx: CheckContext) -> CheckResult:
        started = time.perf_counter()
        try:
            async with ctx.session.request(
                config.method, config.url, headers=config.headers or None,
                allow_redirects=False, timeout=aiohttp.ClientTimeout(total=config.timeout_s),
            ) as resp:
                body, body_truncated = await read_body(resp.content, BODY_LIMIT)
                status = resp.status
                header = resp.headers.get("PAYMENT-REQUIRED")
        except Exception as exc:
            code, text = classify_exception(exc, config.timeout_s)
            return CheckResult(ok=False, latency_ms=(time.perf_counter() - started) * 1000,
                               error_code=code, error=text)
        latency = (time.perf_counter() - started) * 1000
        details: dict[str, Any] = {"v2_header": header is not None}
        result = CheckResult(ok=True, latency_ms=latency, status_code=status, details=details)

        def fail(code: str, text: str) -> CheckResult:
            result.ok, result.error_code, result.error = False, code, text[:300]
            return result

        if status != 402:
            if 200 <= status < 300:
                return fail("paywall_open", f"HTTP {status} without payment: the paywall is open")
            return fail("unexpected_status", f"HTTP {status}, expected 402")

        challenges: list[tuple[str, list[dict[str, Any]]]] = []
        try:
            if header is not None and config.versions != "v1":
                challenges.append(("v2", _validate(_decode_header(header), 2,
                                                   config.require_eip712_domain)))
            elif config.versions in ("v2", "both"):
                raise BrokenChallenge("no PAYMENT-REQUIRED header (v2 challenge)")
            body_doc = self._body_json(body)
            details["v1_body"] = body_doc is not None and body_doc.get("x402Version") == 1
            if config.versions in ("v1", "both") or (
                    config.versions == "any" and details["v1_body"]):
                if body_doc is None:
                    raise BrokenChallenge(f"the 402 body is larger than {BODY_LIMIT} bytes (v1 challenge)"
                                          if body_truncated else
                                          "the 402 body is not a JSON object (v1 challenge)")
                challenges.append(("v1", _validate(body_doc, 1, config.require_eip712_domain)))
            if not challenges:
                raise BrokenChallenge("402 without a challenge: no PAYMENT-REQUIRED header and "
                                      "no x402 v1 body")
        except BrokenChallenge as exc:
            return fail("broken_challenge", str(exc))

        details["offers"] = {label: offers[:10] for label, offers in challenges}
        for label, offers in challenges:
            problem = _match(config, offers, label)
            if problem is not None:
                return fail(*problem)
        if config.max_latency_ms is not None and latency > config.max_latency_ms:
            return fail("slow_response", f"{latency:.0f} ms > {config.max_latency_ms} ms")
        return result

    @staticmethod
    def _body_json(body: bytes) -> dict[str, Any] | None:
        try:
            doc = safe_json_loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None
