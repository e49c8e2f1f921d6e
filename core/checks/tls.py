"""TLS certificate check: validity, hostname match, days left, expiry warnings."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any, ClassVar

from lighthouse.core.checks.base import CheckConfig, CheckContext, CheckResult
from lighthouse.core.checks.certificates import CertificateInfo, expiry_signals
from lighthouse.core.checks.netcommon import preflight_host, validate_host, vetted_address
from lighthouse.core.errors import TargetNotAllowedError
from lighthouse.core.netguard import TargetGuard
from pydantic import Field, field_validator


class TlsConfig(CheckConfig):
    host: str = Field(max_length=253)
    port: int = Field(default=443, ge=1, le=65535)
    server_name: str | None = Field(default=None, max_length=253)  # SNI; default: host
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    warn_days: list[int] = Field(default_factory=lambda: [14, 7, 3, 1], min_length=1, max_length=10)
    min_days: int = Field(default=0, ge=0, le=365)  # fail the check below this many days
    ca_pem: str | None = Field(default=None, max_length=20_000)  # a private CA to trust

    @field_validator("host", "server_name")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else validate_host(value)

    @field_validator("warn_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(not 1 <= d <= 365 for d in value):
            raise ValueError("warn_days must be between 1 and 365")
        return sorted(set(value), reverse=True)

    @field_validator("ca_pem")
    @classmethod
    def _ca(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ssl.create_default_context(cadata=value)
            except (ssl.SSLError, ValueError):
                raise ValueError("ca_pem is not a PEM certificate") from None
        return value


async def _handshake(ip: str, port: int, sni: str, ctx: ssl.SSLContext) -> bytes:
    reader, writer = await asyncio.open_connection(ip, port, ssl=ctx, server_hostname=sni)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der: bytes | None = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not der:
            raise ssl.SSLError("the server sent no certificate")
        return der
    finally:
        writer.close()
        del reader


def _classify(exc: ssl.SSLCertVerificationError) -> tuple[str, str]:
    msg = exc.verify_message or str(exc)
    if "Hostname mismatch" in msg or "IP address mismatch" in msg:
        return "tls_hostname_mismatch", f"certificate does not match the host: {msg}"
    if "expired" in msg:
        return "tls_expired", "certificate has expired"
    return "tls_certificate", f"certificate verification failed: {msg}"


class TlsCheck:
    name: ClassVar[str] = "tls"
    config_model: ClassVar[type[CheckConfig]] = TlsConfig

    def target_host(self, config: TlsConfig) -> str:
        return config.host

    def describe(self, config: TlsConfig) -> str:
        return f"{config.host}:{config.port} (TLS)"

    async def preflight(self, config: TlsConfig, guard: TargetGuard) -> None:
        await preflight_host(guard, config.host, config.port)

    async def run(self, config: TlsConfig, ctx: CheckContext) -> CheckResult:
        started = time.perf_counter()
        sni = config.server_name or config.host
        verify = ssl.create_default_context(cadata=config.ca_pem) if config.ca_pem else (
            ssl.create_default_context())
        failure: tuple[str, str] | None = None
        try:
            async with asyncio.timeout(config.timeout_s):
                ip = await vetted_address(ctx.guard, config.host, config.port)
                try:
                    der = await _handshake(ip, config.port, sni, verify)
                except ssl.SSLCertVerificationError as exc:
                    failure = _classify(exc)
                    # Still read the certificate to report what is wrong with it.
                    loose = ssl.create_default_context()
                    loose.check_hostname = False
                    loose.verify_mode = ssl.CERT_NONE
                    der = await _handshake(ip, config.port, sni, loose)
        except TargetNotAllowedError as exc:
            return CheckResult(False, error_code="target_not_allowed", error=str(exc))
        except TimeoutError:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="timeout", error="timed out")
        except ssl.SSLError as exc:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="tls_error", error=f"TLS handshake failed: {exc}"[:300])
        except OSError as exc:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="connection_error", error=f"connection failed: {exc}")
        latency = (time.perf_counter() - started) * 1000
        cert = CertificateInfo.from_der(der)
        details: dict[str, Any] = {"tls": {**cert.as_dict(), "address": ip, "sni": sni,
                                           "verified": failure is None}}
        signals = expiry_signals(cert, tuple(config.warn_days))
        if failure is None and cert.days_left <= 0:
            failure = ("tls_expired", "certificate has expired")
        if failure is None and cert.days_left < config.min_days:
            failure = ("tls_expiring", f"certificate expires in {cert.days_left:.1f} days "
                                       f"(minimum {config.min_days})")
        if failure is not None:
            return CheckResult(False, latency, error_code=failure[0], error=failure[1],
                               details=details, signals=signals)
        return CheckResult(True, latency, details=details, signals=signals)
