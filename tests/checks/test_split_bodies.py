"""Bodies that arrive in two TCP writes are read whole (issue 17, point 3).

``StreamReader.read(n)`` returns what is buffered, so before the shared reader
(core/streams.py) these bodies were cut after the first write: a false DOWN with "the body
is not JSON". The targets are raw asyncio servers on 127.0.0.1 (tests/targets.py) that
send headers and half the body, pause, then send the rest; with Content-Length framing and
with chunked encoding.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from unittest import mock

import pytest
from aiohttp import StreamReader
from lighthouse.core.checks import parse_config
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.checks.canary import CanaryCheck
from lighthouse.core.checks.evm_rpc import EvmRpcCheck
from lighthouse.core.checks.http import HttpCheck
from lighthouse.core.checks.jsonrpc import rpc_call
from lighthouse.core.checks.x402_endpoint import X402Check
from lighthouse.core.streams import read_body
from targets import SplitTarget

FRAMINGS = pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
# Long enough that a cut anywhere leaves invalid JSON, and the condition reads its last field.
DOC = {"padding": "x" * 3000, "items": list(range(200)), "status": "ok"}


def constant(body: bytes) -> Any:
    return lambda _request: body


def json_rpc_node(chain_id: int = 43113) -> Any:
    """A JSON-RPC target that echoes the request id (rpc_call checks it)."""

    def answer(request: bytes) -> bytes:
        call = json.loads(request)
        results: dict[str, Any] = {
            "eth_chainId": hex(chain_id),
            "eth_blockNumber": "0x10",
            "eth_getBlockByNumber": {"number": "0x10", "timestamp": hex(int(time.time())),
                                     "padding": "y" * 3000},
        }
        return json.dumps({"jsonrpc": "2.0", "id": call["id"],
                           "result": results[call["method"]]}).encode()

    return answer


@FRAMINGS
async def test_http_check_json_condition_stays_up(check_context: CheckContext, chunked: bool) -> None:
    async with SplitTarget(constant(json.dumps(DOC).encode()), chunked=chunked) as target:
        config = parse_config("http", {"url": target.url, "conditions": [
            '[BODY].status == "ok"', "len([BODY].items) == 200"]})
        result = await HttpCheck().run(config, check_context)  # type: ignore[arg-type]
    assert result.ok, (result.error, result.details.get("conditions"))
    assert target.hits == 1
    assert "body_truncated_at" not in result.details


@FRAMINGS
async def test_rpc_call_reads_whole_response(check_context: CheckContext, chunked: bool) -> None:
    async with SplitTarget(json_rpc_node(), chunked=chunked) as target:
        block, _ms = await rpc_call(check_context.session, target.url, "eth_getBlockByNumber",
                                    ["latest", False])
    assert block["number"] == "0x10" and len(block["padding"]) == 3000


@FRAMINGS
async def test_evm_rpc_check_up(check_context: CheckContext, chunked: bool) -> None:
    async with SplitTarget(json_rpc_node(43113), chunked=chunked) as target:
        config = parse_config("evm_rpc", {"url": target.url, "chain_id": 43113})
        result = await EvmRpcCheck().run(config, check_context)  # type: ignore[arg-type]
    assert result.ok, result.error
    assert result.details["block_number"] == 16


@FRAMINGS
async def test_x402_check_reads_whole_v1_body(check_context: CheckContext, chunked: bool) -> None:
    v1 = {"x402Version": 1, "error": "payment required", "accepts": [{
        "scheme": "exact", "network": "avalanche-fuji", "maxAmountRequired": "1000",
        "asset": "0x5425890298aed601595a70AB815c96711a31Bc65", "payTo": "0x" + "42" * 20,
        "maxTimeoutSeconds": 60, "resource": "http://127.0.0.1/v1/check",
        "description": "d" * 2000, "mimeType": "application/json",
        "extra": {"name": "USD Coin", "version": "2"}}]}
    async with SplitTarget(constant(json.dumps(v1).encode()), status=402, chunked=chunked) as target:
        config = parse_config("x402", {"url": target.url, "versions": "v1", "amount": "1000"})
        result = await X402Check().run(config, check_context)  # type: ignore[arg-type]
    assert result.ok, result.error


@FRAMINGS
async def test_canary_step_reads_whole_body(check_context: CheckContext, chunked: bool) -> None:
    async with SplitTarget(constant(json.dumps(DOC).encode()), chunked=chunked) as target:
        config = parse_config("canary", {"steps": [{
            "action": "http", "url": target.url,
            "expect": {"conditions": ['[BODY].status == "ok"']},
            "extract": {"last": "$.items[199]"}}]})
        result = await CanaryCheck().run(config, check_context)  # type: ignore[arg-type]
    assert result.ok, result.error


async def test_truncation_is_reported(check_context: CheckContext) -> None:
    """Past the limit the reader stops and says so: an RPC answer is refused, not misread."""
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "result": "z" * (1024 * 1024)}).encode()
    async with SplitTarget(constant(big)) as target:
        try:
            await rpc_call(check_context.session, target.url, "eth_chainId")
        except Exception as exc:  # RpcFailure
            assert "larger than" in str(getattr(exc, "message", exc))
        else:
            raise AssertionError("an oversized RPC answer was accepted")


async def _feed(stream: StreamReader, pieces: list[bytes]) -> None:
    for piece in pieces:
        await asyncio.sleep(0.01)  # each piece arrives after the reader has waited
        stream.feed_data(piece)
    stream.feed_eof()


@pytest.mark.parametrize("pieces,limit,expected", [
    ([b"abc", b"def"], 10, (b"abcdef", False)),
    ([b"abc", b"def"], 6, (b"abcdef", False)),  # exactly the limit is not cut
    ([b"abc", b"def"], 5, (b"abcde", True)),
    ([b"abc", b"defgh", b"ij"], 4, (b"abcd", True)),
    ([], 4, (b"", False)),
    ([b"abc"], 0, (b"", True)),
])
async def test_read_body_limits(pieces: list[bytes], limit: int, expected: tuple[bytes, bool]) -> None:
    # aiohttp's own tests build a StreamReader the same way; flow control is not exercised.
    stream = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    feeder = asyncio.create_task(_feed(stream, pieces))
    body = await read_body(stream, limit)
    await feeder
    assert (body.data, body.truncated) == expected
