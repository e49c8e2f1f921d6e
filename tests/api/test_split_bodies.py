"""Request bodies that arrive in two TCP writes are read whole (issue 17, point 3).

Before the shared reader (core/streams.py) the API parsed only the first write: a valid
POST /v1/checks got 400 "Unterminated string" and a ping's message was cut. The client is a
raw socket on 127.0.0.1 (tests/targets.py) that sends the headers and half the body, pauses,
then sends the rest; with Content-Length framing and with chunked encoding.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from lighthouse.core.models import Identity, Provider
from lighthouse.core.service import MonitorService
from support.evm import LocalChain
from targets import split_request

from .conftest import Server, ServerFactory

ALICE = Identity(Provider.TELEGRAM, "7002")


@pytest.fixture
async def srv(chain: LocalChain, make_server: ServerFactory) -> Server:
    return await make_server(chain)


# --- point 3: request bodies in two writes --------------------------------------------------
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_post_checks_body_in_two_writes(srv: Server, target: Any, chunked: bool) -> None:
    body = json.dumps({"type": "http", "config": {"url": target.url, "conditions": [
        '[BODY].status == "ok"'] * 20}}).encode()
    port = int(srv.url.rsplit(":", 1)[1])
    status, answer = await split_request(port, "POST", "/v1/checks", body,
                                         headers={"Content-Type": "application/json"},
                                         chunked=chunked)
    # The whole body parsed: priced and challenged (402), not "Unterminated string" (400).
    assert status == 402, answer
    assert json.loads(answer)["x402Version"] == 1


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_ping_body_in_two_writes(srv: Server, service: MonitorService, chunked: bool) -> None:
    _, token = await service.create_heartbeat(ALICE, config={"period_s": 60})
    message = "backup failed: " + "x" * 600 + " END"
    port = int(srv.url.rsplit(":", 1)[1])
    status, _ = await split_request(port, "POST", f"/ping/{token}/fail", message.encode(),
                                    chunked=chunked)
    assert status == 200
    assert await srv.pool.fetchval("SELECT last_message FROM heartbeats") == message
