"""HTTP(S) check: one request, its status, latency, timings and a body sample."""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import aiohttp
import yarl
from lighthouse.core.checks.base import (
    CheckConfig,
    CheckContext,
    CheckResult,
    CheckTypeBase,
    Fact,
    PreflightContext,
    http_facts,
)
from lighthouse.core.checks.base import (
    mark as _,
)
from lighthouse.core.checks.certificates import CertificateInfo, expiry_signals, peer_certificate
from lighthouse.core.checks.conditions import (
    ConditionContext,
    cached_condition,
    conditions_from_shorthand,
    evaluate_into,
)
from lighthouse.core.http_client import RequestTimings, current_timings
from lighthouse.core.netguard import blocked_error
from lighthouse.core.streams import read_body
from lighthouse.core.urls import validate_url
from pydantic import Field, field_validator, model_validator

BODY_SAMPLE_BYTES = 1024
BODY_READ_LIMIT = 1024 * 1024  # conditions see at most this much of the body
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


def validate_http_url(value: str) -> str:
    return validate_url(value, ("http", "https"))


class HttpConfig(CheckConfig):
    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict, max_length=50)
    body: str | None = Field(default=None, max_length=65536)
    timeout_s: float = Field(default=30.0, gt=0, le=120)
    follow_redirects: bool = True
    max_redirects: int = Field(default=5, ge=0, le=20)
    verify_tls: bool = True
    valid_status_codes: list[int] | None = Field(default=None, min_length=1, max_length=50)
    max_latency_ms: int | None = Field(default=None, gt=0, le=120_000)
    conditions: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, value: list[str]) -> list[str]:
        for text in value:
            cached_condition(text, HTTP_PLACEHOLDERS)  # raises with the position
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return validate_http_url(value)

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("valid_status_codes")
    @classmethod
    def _codes(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(not 100 <= c <= 599 for c in value):
            raise ValueError("status codes must be between 100 and 599")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, val in value.items():
            if name.lower() in _HOP_HEADERS:
                raise ValueError(f"header {name!r} is set by the client")
            if "\n" in name or "\r" in name or "\n" in val or "\r" in val:
                raise ValueError("header names and values cannot contain line breaks")
        return value

    @functools.cached_property
    def request_url(self) -> yarl.URL:
        """The URL parsed once per config, not at every check: aiohttp parses a string URL
        per request (about 3 µs for one it has not seen) and caches what it reads from the
        parsed URL (host, port, path) on that object."""
        return yarl.URL(self.url)

    @model_validator(mode="after")
    def _body_method(self) -> HttpConfig:
        if self.body is not None and self.method in ("GET", "HEAD", "OPTIONS"):
            raise ValueError(f"a body cannot be sent with {self.method}")
        return self


@functools.lru_cache(maxsize=256)
def _client_timeout(total_s: float) -> aiohttp.ClientTimeout:
    """One frozen ClientTimeout per distinct timeout, not one per check."""
    return aiohttp.ClientTimeout(total=total_s)


def classify_exception(exc: BaseException, timeout_s: float | None = None) -> tuple[str, str]:
    """Map a client exception to (stable error code, short text); ``timeout_s``, the limit
    the request had, is named in a timeout's text."""
    blocked = blocked_error(exc)
    if blocked is not None:
        return "target_not_allowed", str(blocked)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return "timeout", "timed out" if timeout_s is None else f"timed out after {timeout_s:g} s"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "tls_certificate", f"certificate verification failed: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return "tls_error", f"TLS handshake failed: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns_error", f"DNS lookup failed: {exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection_error", f"connection failed: {exc.os_error}"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too_many_redirects", "too many redirects"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "protocol_error", f"the server closed the connection: {exc}"
    if isinstance(exc, aiohttp.ClientError):
        return "http_error", f"{type(exc).__name__}: {exc}"[:300]
    return "internal_error", f"{type(exc).__name__}: {exc}"[:300]


class HttpCheck(CheckTypeBase):
    name: ClassVar[str] = "http"
    config_model: ClassVar[type[CheckConfig]] = HttpConfig
    example: ClassVar[dict[str, Any]] = {"url": "https://example.com/health",
                                         "conditions": ["[STATUS] == 200"]}
    signal_titles: ClassVar[dict[str, str]] = {
        "certificate_expiry": _("Certificate expires soon: {target}")}

    def from_shorthand(self, text: str) -> dict[str, Any] | None:
        """What people paste: a URL, <https://x.io>, or 'x.io/health' (https is assumed).
        The registry asks this type last: any target no other type claims is a URL here,
        so a mistyped one is refused by URL validation with a reason."""
        url = text.strip().strip("<>").strip()
        if url and "://" not in url and "." in url and " " not in url and not url.startswith("/"):
            url = "https://" + url
        return {"url": url}

    def facts(self, data: dict[str, Any]) -> list[Fact]:
        return http_facts(data)

    def target_host(self, config: HttpConfig) -> str:
        return (urlsplit(config.url).hostname or "").lower()

    def describe(self, config: HttpConfig) -> str:
        return config.url

    async def preflight(self, config: HttpConfig, ctx: PreflightContext) -> None:
        host = self.target_host(config)
        try:
            await ctx.guard.resolve(host)
        except OSError:
            return  # an unresolvable host is a failing check, not a refused monitor

    async def run(self, config: HttpConfig, ctx: CheckContext) -> CheckResult:
        timings = RequestTimings()
        started = timings.start
        # The session's connector marks a new connection's spans on these (core/http_client.py).
        timed = current_timings.set(timings)
        try:
            async with ctx.session.request(
                config.method,
                config.request_url,
                headers=config.headers or None,
                data=config.body.encode() if config.body is not None else None,
                allow_redirects=config.follow_redirects,
                max_redirects=config.max_redirects,
                ssl=config.verify_tls,
                timeout=_client_timeout(config.timeout_s),
            ) as resp:
                timings.headers = time.perf_counter()  # the final response's headers are in
                tls = peer_certificate(resp) if resp.url.scheme == "https" else None
                body, truncated = await read_body(resp.content, BODY_READ_LIMIT,
                                                  keep=_body_bytes_kept(config))
                elapsed = time.perf_counter() - started
                status = resp.status
                # only a condition reads headers ([HEADER]); most checks have none
                headers = ({k.lower(): v for k, v in resp.headers.items()}
                           if config.conditions else {})
        except Exception as exc:  # every failure of the target is a result, not a crash
            elapsed = time.perf_counter() - started
            code, text = classify_exception(exc, config.timeout_s)
            return CheckResult(
                ok=False,
                latency_ms=elapsed * 1000,
                error_code=code,
                error=text,
                details={"timings": timings.as_dict(elapsed)},
            )
        finally:
            current_timings.reset(timed)
        latency_ms = elapsed * 1000
        details: dict[str, Any] = {
            "timings": timings.as_dict(elapsed),
            "body_sample": body[:BODY_SAMPLE_BYTES].decode("utf-8", "replace"),
        }
        if truncated:  # so a condition failing on a cut body is not read as the target's fault
            details["body_truncated_at"] = BODY_READ_LIMIT
        ok, error_code, error = self._judge(config, status, latency_ms)
        result = CheckResult(
            ok=ok,
            latency_ms=latency_ms,
            status_code=status,
            error_code=error_code,
            error=error,
            details=details,
        )
        if tls is not None:
            details["tls"] = tls.as_dict()
            result.signals.extend(expiry_signals(tls))
        evaluate_conditions(config, result, body, headers, tls, truncated)
        return result

    @staticmethod
    def _judge(config: HttpConfig, status: int, latency_ms: float) -> tuple[bool, str | None, str | None]:
        if config.valid_status_codes is not None:
            if status not in config.valid_status_codes:
                return False, "unexpected_status", f"HTTP {status}, expected {config.valid_status_codes}"
        elif not config.conditions and not 200 <= status < 400:
            return False, "unexpected_status", f"HTTP {status}"
        if config.max_latency_ms is not None and latency_ms > config.max_latency_ms:
            return False, "slow_response", f"{latency_ms:.0f} ms > {config.max_latency_ms} ms"
        return True, None, None


HTTP_PLACEHOLDERS = frozenset({"STATUS", "RESPONSE_TIME", "BODY", "HEADER", "CERT_EXPIRY"})


def _body_bytes_kept(config: HttpConfig) -> int:
    """The whole body (to the read limit) only for a condition on [BODY]; else the sample.
    Hundreds of checks run at once: one that reads status and headers should not hold a
    megabyte of each target's body while it downloads."""
    if any(cached_condition(text, HTTP_PLACEHOLDERS).left.name == "BODY"
           for text in config.conditions):
        return BODY_READ_LIMIT
    return BODY_SAMPLE_BYTES


def evaluate_conditions(config: HttpConfig, result: CheckResult, body: bytes,
                        headers: dict[str, str], tls: CertificateInfo | None,
                        truncated: bool = False) -> None:
    """Evaluate the monitor's conditions; each outcome is stored, the first failure explains.

    The shorthands (``valid_status_codes``, ``max_latency_ms``) are listed first as the
    conditions they stand for, so every rule the check applied has a stored outcome; their
    failures keep their own error codes (``unexpected_status``, ``slow_response``).
    """
    texts = [*conditions_from_shorthand(config.valid_status_codes, config.max_latency_ms),
             *config.conditions]
    if not texts:
        return
    cctx = ConditionContext.for_http(
        status=result.status_code, response_time_ms=result.latency_ms, body=body,
        headers=headers, cert_expiry=tls.expires_in if tls is not None else None,
        body_cut_at=BODY_READ_LIMIT if truncated else None,
    )
    evaluate_into(result, texts, HTTP_PLACEHOLDERS, cctx)
