"""Reading a whole HTTP body, up to a size limit.

aiohttp's ``StreamReader.read(n)`` returns as soon as *any* bytes are buffered, not once n
have arrived: a body that reaches us in two TCP segments (a target that writes its headers
and body apart, a chunked body, a client that sends slowly) is cut at the first one. Every
place that reads a body (checks reading targets, the API reading requests) goes through
``read_body``, which keeps reading until the end of the body or until the limit is passed.
"""

from __future__ import annotations

from typing import NamedTuple

from aiohttp import StreamReader


class Body(NamedTuple):
    data: bytes
    truncated: bool  # the body went on past the limit; data holds its first ``limit`` bytes


async def read_body(stream: StreamReader, limit: int) -> Body:
    """The body up to ``limit`` bytes, reading until EOF; never buffers more than limit + 1.

    One byte past the limit is asked for so that a body of exactly ``limit`` bytes is not
    reported as cut. The chunks are joined once, without the extra byte: a cut body costs
    the memory of one copy of ``limit`` bytes, not two (many checks may read at once).
    """
    if limit < 0:
        raise ValueError("limit must be >= 0")
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:  # read(n > 0) answers b"" only at the end of the body
            return Body(b"".join(chunks), False)
        chunks.append(chunk)
        size += len(chunk)
    truncated = bool(await stream.read(1))
    return Body(chunks[0] if len(chunks) == 1 else b"".join(chunks), truncated)
