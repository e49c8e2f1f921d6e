"""SSRF guard: monitor targets may not reach private address space unless the operator allows it.

The guard runs twice for every connection: after DNS resolution (a clear error early)
and again on the exact address a socket is about to connect to, so a DNS answer that
changes between the two (rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from lighthouse.core.errors import TargetNotAllowedError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Carrier-grade NAT and the documentation/benchmark ranges are not on the public internet.
_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("198.18.0.0/15"),
    ipaddress.ip_network("0.0.0.0/8"),
]


class BlockedAddressError(OSError):
    """Raised inside the connection machinery; carries the user-facing error."""

    def __init__(self, error: TargetNotAllowedError) -> None:
        super().__init__(str(error))
        self.error = error


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why an address is not a public target, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_private or any(ip in net for net in _EXTRA_BLOCKED if ip.version == net.version):
        return "private"
    if ip.is_reserved:
        return "reserved"
    return None


class TargetGuard:
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def check_ip(self, host: str, ip: str | IPAddress) -> None:
        if self.allow_private:
            return
        addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        reason = forbidden_reason(addr)
        if reason is not None:
            raise TargetNotAllowedError(
                f"{host} resolves to {addr}, a {reason.replace('_', '-')} address",
                host=host, address=str(addr), reason=reason,
            )

    def check_all(self, host: str, ips: Iterable[str]) -> None:
        for ip in ips:
            self.check_ip(host, ip)

    async def resolve(self, host: str, port: int = 0) -> list[str]:
        """Resolve a host name and refuse it when any address is not allowed."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            self.check_ip(host, literal)
            return [str(literal)]
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        ips = list(dict.fromkeys(str(info[4][0]) for info in infos))
        self.check_all(host, ips)
        return ips

    def socket_factory(self, addr_info: Any) -> socket.socket:
        """aiohttp/aiohappyeyeballs hook: the last look before connect()."""
        family, type_, proto, _canon, sockaddr = addr_info
        try:
            self.check_ip(str(sockaddr[0]), str(sockaddr[0]))
        except TargetNotAllowedError as exc:
            raise BlockedAddressError(exc) from None
        return socket.socket(family=family, type=type_, proto=proto)

    def connector(self, connector_class: type[aiohttp.TCPConnector] = aiohttp.TCPConnector,
                  **kwargs: Any) -> aiohttp.TCPConnector:
        return connector_class(
            resolver=GuardedResolver(self), socket_factory=self.socket_factory, **kwargs
        )


class GuardedResolver(AbstractResolver):
    def __init__(self, guard: TargetGuard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        try:
            self._guard.check_all(host, (r["host"] for r in results))
        except TargetNotAllowedError as exc:
            raise BlockedAddressError(exc) from None
        return results

    async def close(self) -> None:
        await self._inner.close()


def blocked_error(exc: BaseException) -> TargetNotAllowedError | None:
    """Find the guard's refusal anywhere in an exception chain."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, TargetNotAllowedError):
            return cur
        if isinstance(cur, BlockedAddressError):
            return cur.error
        stack.extend([cur.__cause__, cur.__context__, getattr(cur, "os_error", None)])
        if isinstance(cur, BaseExceptionGroup):
            stack.extend(cur.exceptions)
    return None
