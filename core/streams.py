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
    data: bytes  # the body, or its first ``keep`` bytes (see read_body)
    truncated: bool  # the body went on past the limit


async def read_body(stream: StreamReader, limit: int, *, keep: int | None = None) -> Body:
    """The body up to ``limit`` bytes, reading until EOF; never buffers more than ``keep``
    (default: ``limit``) plus one read.

    ``keep`` smaller than ``limit``: the rest is still read up to the limit (the download
    is timed whole and a body past the limit is reported as cut) but dropped as it comes,
    so a check that needs only a sample holds a sample, not a megabyte, per target.
    One byte past the limit is asked for so that a body of exactly ``limit`` bytes is not
    reported as cut.
    """
    if limit < 0:
        raise ValueError("limit must be >= 0")
    keep = limit if keep is None else max(0, min(keep, limit))
    chunks: list[bytes] = []
    kept = size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:  # read(n > 0) answers b"" only at the end of the body
            return Body(_joined(chunks), False)
        size += len(chunk)
        if kept < keep:
            piece = chunk if len(chunk) <= keep - kept else chunk[:keep - kept]
            chunks.append(piece)
            kept += len(piece)
        if stream.at_eof():  # the body is all in: no further read to learn that it ended
            return Body(_joined(chunks), False)
    truncated = bool(await stream.read(1))
    return Body(_joined(chunks), truncated)


def _joined(chunks: list[bytes]) -> bytes:
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
