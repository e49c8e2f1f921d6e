"""A good payment while the chain RPC or the facilitator is unreachable (issue 17, point 8).

It is an outage, not a bad payment: 503 with Retry-After, no challenge to pay again, the
handler not run, the nonce released so the same signed payment goes through afterwards.
The dead endpoint is a closed port on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from lighthouse.core.payments.facilitator import LocalFacilitator
from lighthouse.core.payments.http_facilitator import HttpFacilitator
from support.evm import LocalChain

from .conftest import ServerFactory
from .test_x402_attacks import assert_nothing_paid, challenge, forged


@pytest.mark.parametrize("kind", ["local-rpc", "http-facilitator"])
async def test_unreachable_verifier_is_503_and_releases_the_nonce(
    chain: LocalChain, make_server: ServerFactory, target: Any,
    make_free_port: Callable[[], int], kind: str,
) -> None:
    srv = await make_server(chain)
    buyer = chain.new_account()
    await chain.mint(buyer.address, 1_000_000)
    path = f"/v1/check?url={target.url}"
    closed = f"http://127.0.0.1:{make_free_port()}"
    dead: Any = (LocalFacilitator({43113: closed}, "0x" + bytes(chain.relayer.key).hex())
                 if kind == "local-rpc" else HttpFacilitator(closed, timeout_s=5))
    working = srv.api.paywall.facilitator
    srv.api.paywall.facilitator = dead
    try:
        headers = forged(chain, buyer, await challenge(srv, path))
        async with srv.session.get(srv.url + path, headers=headers) as r:
            assert r.status == 503, await r.text()
            assert int(r.headers["Retry-After"]) > 0
            assert "PAYMENT-REQUIRED" not in r.headers  # not "pay again"
            doc = await r.json()
            assert doc["error"]["code"] == "facilitator_unavailable"
        assert await srv.pool.fetchval("SELECT state FROM payments") == "released"
        assert target.hits == 0  # the paid handler did not run
        await assert_nothing_paid(srv, chain, buyer)
    finally:
        srv.api.paywall.facilitator = working
        await dead.close()
    # The outage is over: the same signed payment is accepted once, and settled.
    async with srv.session.get(srv.url + path, headers=headers) as r:
        assert r.status == 200, await r.text()
    assert await srv.pool.fetchval("SELECT state FROM payments") == "settled"
    assert await chain.token_balance(srv.pay_to) == 1000
