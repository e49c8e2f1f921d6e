"""Certificate facts shared by the HTTP check (every HTTPS response) and expiry alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from lighthouse.core.checks.base import AlertSignal

EXPIRY_THRESHOLDS_DAYS = (14, 7, 3, 1)


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    serial: str
    not_after: datetime

    @property
    def expires_in(self) -> timedelta:
        return self.not_after - datetime.now(UTC)

    @property
    def days_left(self) -> float:
        return self.expires_in.total_seconds() / 86400

    def as_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "issuer": self.issuer, "serial": self.serial,
                "not_after": self.not_after.isoformat(), "days_left": round(self.days_left, 2)}

    @classmethod
    def from_der(cls, der: bytes) -> CertificateInfo:
        cert = x509.load_der_x509_certificate(der)
        return cls(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial=format(cert.serial_number, "x"),
            not_after=cert.not_valid_after_utc,
        )


def peer_certificate(resp: Any) -> CertificateInfo | None:
    """The server certificate of an aiohttp response's connection, if it is TLS."""
    conn = getattr(resp, "connection", None)
    transport = getattr(conn, "transport", None) if conn is not None else None
    if transport is None:
        # A response whose body arrived whole has already handed its connection back to the
        # pool; its protocol still holds the (kept-alive) transport.
        protocol = getattr(resp, "_protocol", None)
        transport = getattr(protocol, "transport", None)
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return CertificateInfo.from_der(der) if der else None


def expiry_signals(cert: CertificateInfo,
                   thresholds: tuple[int, ...] = EXPIRY_THRESHOLDS_DAYS) -> list[AlertSignal]:
    """One signal for the tightest threshold crossed; each threshold alerts once per certificate."""
    days = cert.days_left
    crossed = [t for t in sorted(thresholds) if days <= t]
    if days <= 0:
        key, severity = "expired", "critical"
    elif crossed:
        key, severity = str(crossed[0]), "critical" if crossed[0] <= 3 else "warning"
    else:
        return []
    return [AlertSignal("certificate_expiry", severity, f"cert:{cert.serial}:{key}",
                        {"days_left": max(0, int(days)), "not_after": cert.not_after.isoformat()})]
