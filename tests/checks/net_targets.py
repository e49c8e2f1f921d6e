"""Real local counterparts for the socket-level checks, all on 127.0.0.1.

- ``tcp_listener``: an SMTP-like listener (greets with a banner, answers PING with +PONG)
  or a silent one that accepts and says nothing.
- ``dns_listener``: a small authoritative UDP server built with dnslib (``DnsServer``).
- ``tls_listener``: a TLS server whose certificate, issued by a trustme CA made in the
  test, expires in a chosen number of days.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, cast

import trustme
from dnslib import AAAA, CNAME, MX, QTYPE, RCODE, RR, TXT, A, DNSRecord

BANNER = b"220 lighthouse-test ESMTP ready\r\n"


@asynccontextmanager
async def tcp_listener(*, banner: bytes | None = BANNER) -> AsyncIterator[int]:
    """Yield the port of a listener that greets with ``banner`` (None: it stays silent)."""
    silent: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if banner is None:
            silent.append(writer)  # closed at the end; never writes
            return
        writer.write(banner)
        await writer.drain()
        try:
            async with asyncio.timeout(2):
                line = await reader.readline()
            if line.strip() == b"PING":
                writer.write(b"+PONG\r\n")
                await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for w in silent:
            w.close()
        server.close()
        await server.wait_closed()


class DnsServer(asyncio.DatagramProtocol):
    """A tiny authoritative server: answers from ``zone``, NXDOMAIN for unknown names."""

    zone: ClassVar[dict[tuple[str, str], list[Any]]] = {
        ("api.lighthouse.test.", "A"): [A("203.0.113.7"), A("203.0.113.8")],
        ("api.lighthouse.test.", "AAAA"): [AAAA("2001:db8::7")],
        ("www.lighthouse.test.", "CNAME"): [CNAME("API.Lighthouse.test.")],
        ("lighthouse.test.", "MX"): [MX("mail.lighthouse.test.", 10)],
        ("lighthouse.test.", "TXT"): [TXT("v=spf1 -all"), TXT("Verify=AbC123")],
        # one record of two strings, with quotes and UTF-8 in them
        ("txt.lighthouse.test.", "TXT"): [TXT([b'say "hi" ', "caf\u00e9".encode()])],
    }
    ttl: ClassVar[int] = 300

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # 3.11's selector datagram transport does not subclass DatagramTransport
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = DNSRecord.parse(data)
        reply = request.reply()
        name, qtype = str(request.q.qname), QTYPE[request.q.qtype]
        records = self.zone.get((name, qtype))
        if records is None and not any(n == name for n, _ in self.zone):
            reply.header.rcode = RCODE.NXDOMAIN
        for rdata in records or []:
            reply.add_answer(RR(name, getattr(QTYPE, qtype), rdata=rdata, ttl=self.ttl))
        self.transport.sendto(reply.pack(), addr)


@asynccontextmanager
async def dns_listener() -> AsyncIterator[str]:
    """Yield ``127.0.0.1:<port>`` of a DnsServer."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(DnsServer, local_addr=("127.0.0.1", 0))
    try:
        yield f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"
    finally:
        transport.close()


@asynccontextmanager
async def tls_listener(ca: trustme.CA, *names: str, days: float) -> AsyncIterator[int]:
    """Yield the port of a TLS server for ``names`` whose certificate ends in ``days``."""
    now = datetime.now(UTC)
    cert = ca.issue_cert(*names, not_before=now - timedelta(days=30),
                         not_after=now + timedelta(days=days))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)

    async def handle(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def ca_pem(ca: trustme.CA) -> str:
    return ca.cert_pem.bytes().decode()
