"""Hostile targets on 127.0.0.1: servers that misbehave the ways the internet does.

Run as a separate process (``python tests/faults/hostile.py``) so the memory a test
measures is the checker's alone: it prints one JSON line, ``{"kind": port, ...}``, once
every server listens, and serves until its standard input closes (or ``--max-s`` passes).

Kinds:
- ``silent``: accepts TCP, reads what it is sent, never answers.
- ``endless``: an HTTP 200 with a chunked body that never ends.
- ``huge``: an HTTP 200 whose Content-Length body is 50 MB, all of it sent.
- ``deep_json``: an HTTP 200 whose body is JSON nested 100,000 levels deep (a JSON-RPC
  envelope around it, so JSON-RPC checks parse it as their answer).
- ``slowloris``: an HTTP status line and headers sent one byte per second.
- ``tls_stall``: accepts TCP, reads the TLS ClientHello, never answers it.

Each connection is bounded: it ends when the client goes away, or after MAX_CONNECTION_S.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_CONNECTION_S = 120.0
HUGE_BYTES = 50 * 1024 * 1024
DEEP_LEVELS = 100_000
_CHUNK = b"x" * 65536
_ENDLESS_CHUNK = b"%x\r\n%s\r\n" % (len(_CHUNK), _CHUNK)
_SLOW_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              + b"X-Slow: " + b"a" * 4000 + b"\r\n\r\n")
DEEP_BODY = (b'{"jsonrpc": "2.0", "id": 1, "result": ' + b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS
             + b"}")

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request_head(reader: asyncio.StreamReader) -> None:
    """Consume the request's head (and a small body when it says so) before answering."""
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            await reader.readexactly(min(int(value.strip()), 1 << 20))


async def _drain_forever(reader: asyncio.StreamReader) -> None:
    """Read and drop whatever comes until the client closes (or the bound ends it)."""
    while await reader.read(65536):
        pass


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _drain_forever(reader)


async def tls_stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _drain_forever(reader)  # the ClientHello arrives and is never answered


async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    for _ in range(1 << 20):  # 64 GiB at most; the client leaves long before
        writer.write(_ENDLESS_CHUNK)
        await writer.drain()


async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % HUGE_BYTES)
    for _ in range(HUGE_BYTES // len(_CHUNK)):
        writer.write(_CHUNK)
        await writer.drain()


async def deep_json(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for _ in range(10_000):  # keep-alive: one answer per request, as long as the client asks
        await _read_request_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(DEEP_BODY) + DEEP_BODY)
        await writer.drain()


async def slowloris(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request_head(reader)
    for i in range(len(_SLOW_HEAD)):  # about an hour of bytes; the bound ends it first
        writer.write(_SLOW_HEAD[i:i + 1])
        await writer.drain()
        await asyncio.sleep(1.0)


KINDS: dict[str, Handler] = {"silent": silent, "endless": endless, "huge": huge,
                             "deep_json": deep_json, "slowloris": slowloris,
                             "tls_stall": tls_stall}


def _bounded(handler: Handler) -> Handler:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(MAX_CONNECTION_S):
                await handler(reader, writer)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client left, or the bound passed
        finally:
            writer.transport.abort()
    return serve


async def serve_all(max_s: float) -> None:
    servers = {kind: await asyncio.start_server(_bounded(handler), "127.0.0.1", 0, backlog=1024)
               for kind, handler in KINDS.items()}
    ports = {kind: s.sockets[0].getsockname()[1] for kind, s in servers.items()}
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = asyncio.Event()

    def wait_for_stdin_to_close() -> None:
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stdin_closed.set)

    # A daemon thread: a blocking read in the default executor would hold up asyncio.run.
    threading.Thread(target=wait_for_stdin_to_close, daemon=True).start()
    try:
        await asyncio.wait_for(stdin_closed.wait(), max_s)
    except TimeoutError:
        pass
    for s in servers.values():
        s.close()
    # Open connections go with the process: cancelling their handlers one by one only
    # prints asyncio's noise about each.
    sys.stdout.flush()
    os._exit(0)


@contextmanager
def hostile_servers(max_s: float = 900.0) -> Iterator[dict[str, int]]:
    """Start this module as a child process; yield its ports by kind; stop it on exit."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--max-s", str(max_s)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the hostile servers did not start")
        yield {kind: int(port) for kind, port in json.loads(line).items()}
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-s", type=float, default=900.0, help="serve at most this long")
    args = parser.parse_args()
    asyncio.run(serve_all(args.max_s))


if __name__ == "__main__":
    main()
