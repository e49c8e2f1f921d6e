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
    reported as cut.
    """
    if limit < 0:
        raise ValueError("limit must be >= 0")
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await stream.read(limit + 1 - size)
        if not chunk:  # read(n > 0) answers b"" only at the end of the body
            break
        chunks.append(chunk)
        size += len(chunk)
    data = b"".join(chunks)
    if size > limit:
        return Body(data[:limit], True)
    return Body(data, False)
