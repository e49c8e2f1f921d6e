"""Shared pieces of the socket-level checks (tcp, dns, tls): host validation and
guarded address resolution that returns the vetted IP to connect to."""

from __future__ import annotations

import ipaddress
import re

from lighthouse.core.errors import TargetNotAllowedError
from lighthouse.core.netguard import TargetGuard

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$")


def validate_host(value: str) -> str:
    value = value.strip().strip("[]")
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if not _HOSTNAME.match(value):
        raise ValueError("expected a host name or an IP address")
    return value.lower().rstrip(".")


async def vetted_address(guard: TargetGuard, host: str, port: int) -> str:
    """Resolve through the guard and return the first allowed address to connect to.

    Connecting to this exact address (not the name again) is what keeps a DNS answer that
    changes between the check and the connect from reaching a refused address.
    """
    ips = await guard.resolve(host, port)
    if not ips:
        raise OSError(f"{host} has no address")
    return ips[0]


async def preflight_host(guard: TargetGuard, host: str, port: int) -> None:
    """Refuse private targets at creation; an unresolvable name is a failing check, not a refusal."""
    try:
        await guard.resolve(host, port)
    except TargetNotAllowedError:
        raise
    except OSError:
        return
