"""TLS certificate check: chain validity, hostname match, days left, expiry warnings.

One handshake verifies the chain (against the system's CAs, or ``ca_pem`` for a private
CA); the host name is matched against the certificate's names separately, so the result
says which of the two is wrong. When the chain does not verify, a second handshake that
verifies nothing reads the certificate anyway, to report what is wrong with it.

Expiry signals (alert type ``certificate_expiry``) fire at ``warn_days`` (14/7/3/1 by
default): only the tightest threshold crossed, once per certificate and threshold
(dedupe key ``cert:<serial>:<days>``). Conditions may use [CERT_EXPIRY] (``> 7d``),
[ISSUER], [SUBJECT], [HOSTNAME_MATCH], [CHAIN_VALID], [TLS_VERSION] and [RESPONSE_TIME].
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import time
from typing import Any, ClassVar

from cryptography import x509
from cryptography.x509.oid import NameOID
from lighthouse.core.checks.base import (
    CheckConfig,
    CheckContext,
    CheckResult,
    CheckTypeBase,
    Fact,
    PreflightContext,
    expiry_facts,
    host_port_shorthand,
)
from lighthouse.core.checks.base import (
    mark as _,
)
from lighthouse.core.checks.certificates import CertificateInfo, expiry_signals
from lighthouse.core.checks.conditions import cached_condition, evaluate_into
from lighthouse.core.checks.netcommon import preflight_host, validate_host, vetted_address
from lighthouse.core.errors import TargetNotAllowedError
from pydantic import Field, field_validator

TLS_PLACEHOLDERS = frozenset({"CERT_EXPIRY", "ISSUER", "SUBJECT", "HOSTNAME_MATCH",
                              "CHAIN_VALID", "TLS_VERSION", "RESPONSE_TIME"})


class TlsConfig(CheckConfig):
    host: str = Field(max_length=253, description="host name or IP address to connect to")
    port: int = Field(default=443, ge=1, le=65535)
    server_name: str | None = Field(default=None, max_length=253,
                                    description="SNI and the name to match; default: host")
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    warn_days: list[int] = Field(default_factory=lambda: [14, 7, 3, 1], min_length=1,
                                 max_length=10, description="expiry alert thresholds, days")
    min_days: int = Field(default=0, ge=0, le=365,
                          description="fail the check below this many days left")
    ca_pem: str | None = Field(default=None, max_length=20_000,
                               description="a private CA to trust instead of the system's")
    conditions: list[str] = Field(default_factory=list, max_length=20,
                                  description="over [CERT_EXPIRY], [ISSUER], [SUBJECT], "
                                              "[HOSTNAME_MATCH], [CHAIN_VALID], [TLS_VERSION], "
                                              "[RESPONSE_TIME]")

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

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, value: list[str]) -> list[str]:
        for text in value:
            cached_condition(text, TLS_PLACEHOLDERS)  # raises with the position
        return value


async def _handshake(ip: str, port: int, sni: str, ctx: ssl.SSLContext) -> tuple[bytes, str | None]:
    """The peer's certificate (DER) and the negotiated protocol version."""
    reader, writer = await asyncio.open_connection(ip, port, ssl=ctx, server_hostname=sni)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der: bytes | None = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not der:
            raise ssl.SSLError("the server sent no certificate")
        version: str | None = ssl_object.version()
        return der, version
    finally:
        writer.close()
        del reader


def _chain_context(ca_pem: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    ctx.check_hostname = False  # matched separately: the result tells chain and name apart
    return ctx


def _loose_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _dns_name_matches(pattern: str, host: str) -> bool:
    """RFC 6125: case-insensitive; a wildcard is the whole left-most label and covers one label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if not pattern.startswith("*."):
        return "*" not in pattern and pattern == host
    if "*" in pattern[1:]:
        return False
    head, _dot, rest = host.partition(".")
    return bool(head) and rest == pattern[2:] and "." in rest


def hostname_matches(der: bytes, host: str) -> bool:
    """Whether the certificate names ``host`` (an IP address is matched against IP SANs)."""
    cert = x509.load_der_x509_certificate(der)
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    try:
        san: x509.SubjectAlternativeName | None = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if ip is not None:
        return san is not None and ip in san.get_values_for_type(x509.IPAddress)
    if san is not None:
        return any(_dns_name_matches(n, host) for n in san.get_values_for_type(x509.DNSName))
    # No SAN at all: the subject's common name, as OpenSSL still accepts by default.
    return any(isinstance(a.value, str) and _dns_name_matches(a.value, host)
               for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))


def _chain_failure(exc: ssl.SSLCertVerificationError) -> tuple[str, str]:
    msg = exc.verify_message or str(exc)
    if "expired" in msg:
        return "tls_expired", "certificate has expired"
    return "tls_certificate", f"certificate verification failed: {msg}"


class TlsCheck(CheckTypeBase):
    name: ClassVar[str] = "tls"
    config_model: ClassVar[type[CheckConfig]] = TlsConfig
    example: ClassVar[dict[str, Any]] = {"host": "example.com", "port": 443,
                                         "conditions": ["[CERT_EXPIRY] > 7d"]}
    signal_titles: ClassVar[dict[str, str]] = {
        "certificate_expiry": _("Certificate expires soon: {target}")}

    def from_shorthand(self, text: str) -> dict[str, Any] | None:
        """``tls://host:port`` or ``tls host[:port]``."""
        return host_port_shorthand("tls", text)

    def shorthand(self, config: TlsConfig) -> str | None:
        host = f"[{config.host}]" if ":" in config.host else config.host
        return f"tls://{host}:{config.port}"

    def facts(self, data: dict[str, Any]) -> list[Fact]:
        return expiry_facts(data)

    def target_host(self, config: TlsConfig) -> str:
        return config.host

    def describe(self, config: TlsConfig) -> str:
        host = f"[{config.host}]" if ":" in config.host else config.host
        return f"{host}:{config.port} (TLS)"

    async def preflight(self, config: TlsConfig, ctx: PreflightContext) -> None:
        await preflight_host(ctx.guard, config.host, config.port)

    async def run(self, config: TlsConfig, ctx: CheckContext) -> CheckResult:
        started = time.perf_counter()
        sni = config.server_name or config.host
        chain_error: tuple[str, str] | None = None
        try:
            async with asyncio.timeout(config.timeout_s):
                ip = await vetted_address(ctx.guard, config.host, config.port)
                try:
                    der, version = await _handshake(ip, config.port, sni,
                                                    _chain_context(config.ca_pem))
                except ssl.SSLCertVerificationError as exc:
                    chain_error = _chain_failure(exc)
                    # Still read the certificate to report what is wrong with it.
                    der, version = await _handshake(ip, config.port, sni, _loose_context())
        except TargetNotAllowedError as exc:
            return CheckResult(False, error_code="target_not_allowed", error=str(exc))
        except TimeoutError:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="timeout",
                               error=f"no TLS handshake within {config.timeout_s:g} s")
        except ssl.SSLError as exc:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="tls_error", error=f"TLS handshake failed: {exc}"[:300])
        except OSError as exc:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="connection_error", error=f"connection failed: {exc}")
        latency = (time.perf_counter() - started) * 1000
        cert = CertificateInfo.from_der(der)
        name_ok = hostname_matches(der, sni)
        tls: dict[str, Any] = {
            **cert.as_dict(), "address": ip, "sni": sni, "tls_version": version,
            "chain_valid": chain_error is None, "hostname_match": name_ok,
            "verified": chain_error is None and name_ok,
        }
        if chain_error is not None:
            tls["verify_error"] = chain_error[1]
        signals = expiry_signals(cert, tuple(config.warn_days))
        failure = chain_error
        if failure is None and not name_ok:
            failure = ("tls_hostname_mismatch", f"the certificate does not name {sni}")
        if failure is None and cert.days_left <= 0:
            failure = ("tls_expired", "certificate has expired")
        if failure is None and cert.days_left < config.min_days:
            failure = ("tls_expiring", f"certificate expires in {cert.days_left:.1f} days "
                                       f"(minimum {config.min_days})")
        result = CheckResult(failure is None, latency, details={"tls": tls}, signals=signals)
        if failure is not None:
            result.error_code, result.error = failure
        evaluate_into(result, config.conditions, TLS_PLACEHOLDERS, {
            "CERT_EXPIRY": cert.expires_in, "ISSUER": cert.issuer, "SUBJECT": cert.subject,
            "HOSTNAME_MATCH": name_ok, "CHAIN_VALID": chain_error is None,
            "TLS_VERSION": version, "RESPONSE_TIME": latency,
        })
        return result
