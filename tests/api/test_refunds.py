"""A fulfilment that fails after settlement is refunded, on the local chain.

The race is real: the dry run before payment passes (2 of the Basic tier's 3 monitors),
then, while the payment settles, the same wallet's third monitor is created, so the paid
creation is refused after the money moved. Nothing in the payment flow is replaced: the
official client pays, the local facilitator settles and sends the refund.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lighthouse.core.models import Identity, Provider
from lighthouse.core.payments.facilitator import LocalFacilitator
from lighthouse.core.payments.refunds import Refunds
from lighthouse.core.payments.verifier import Verified
from lighthouse.core.service import MonitorService
from lighthouse.core.tiers import tier
from support.evm import LocalChain
from targets import Target

from .buyer import official_client, pay_header
from .conftest import Server, ServerFactory

PRICE = tier("basic").price_atomic_per_month
FUNDS = 5_000_000
LIGHTHOUSE = str(Path(sys.executable).with_name("lighthouse"))


def _relayer_key(chain: LocalChain) -> str:
    return "0x" + bytes(chain.relayer.key).hex()


async def _racing_buyer(chain: LocalChain, srv: Server, service: MonitorService, target: Target,
                        monkeypatch: pytest.MonkeyPatch, *, stall_after_settle: bool = False
                        ) -> tuple[Any, dict[str, Any], dict[str, int]]:
    """A funded wallet at 2 of 3 Basic monitors buys a third; its third appears while the
    payment settles. Returns the buyer, the answer's JSON (+ headers) and balances seen."""
    buyer = chain.new_account()
    await chain.mint(buyer.address, FUNDS)
    who = Identity(Provider.WALLET, buyer.address)
    await service.upgrade_tier(who, "basic", timedelta(days=30))
    for n in range(2):
        await service.create_monitor(who, config={"url": f"{target.url}{n}"})
    seen: dict[str, int] = {}
    assert srv.api.facilitator is not None
    settle = srv.api.facilitator.settle

    async def racing_settle(v: Verified) -> Any:
        await service.create_monitor(who, config={"url": f"{target.url}race"})
        result = await settle(v)
        seen["buyer_after_settle"] = await chain.token_balance(buyer.address)
        if stall_after_settle:
            await chain.stall()
        return result

    monkeypatch.setattr(srv.api.facilitator, "settle", racing_settle)
    body = {"type": "http", "config": {"url": target.url}, "tier": "basic"}
    async with srv.session.post(srv.url + "/v1/monitors", json=body) as r:
        assert r.status == 402
        headers = await pay_header(official_client(buyer), r.headers["PAYMENT-REQUIRED"])
    async with srv.session.post(srv.url + "/v1/monitors", json=body, headers=headers) as r:
        answer = {"status": r.status, "body": await r.json(),
                  "receipt": json.loads(base64.b64decode(r.headers["PAYMENT-RESPONSE"]))}
    return buyer, answer, seen


async def test_a_failure_after_settlement_is_refunded_on_chain(
    chain: LocalChain, make_server: ServerFactory, service: MonitorService, target: Target,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    relayer = chain.relayer.address  # the paid account: its key can send the refund
    srv = await make_server(chain, PAYMENT_ADDRESS=relayer)
    relayer_before = await chain.token_balance(relayer)
    buyer, answer, seen = await _racing_buyer(chain, srv, service, target, monkeypatch)
    expires = await srv.pool.fetchval("SELECT tier_expires_at FROM users")

    # Paid, then refunded: the settlement moved the price, the refund moved it back.
    assert seen["buyer_after_settle"] == FUNDS - PRICE
    assert await chain.token_balance(buyer.address) == FUNDS
    assert await chain.token_balance(relayer) == relayer_before

    assert answer["status"] == 403, answer
    error = answer["body"]["error"]
    assert error["code"] == "fulfilment_failed"
    assert error["params"]["reason"] == "monitor_limit_reached"
    refund = error["params"]["refund"]
    assert refund["state"] == "refunded" and refund["automatic"] is True
    assert refund["transaction"].startswith("0x")
    assert "refunded" in error["message"] and refund["transaction"] in error["message"]
    assert answer["receipt"]["success"] is True
    assert error["params"]["transaction"] == answer["receipt"]["transaction"]

    row = await srv.pool.fetchrow("SELECT * FROM payments")
    assert row["state"] == "refunded" and row["refund_tx"] == refund["transaction"]
    assert row["tx_hash"] == answer["receipt"]["transaction"] and row["refunded_at"] is not None
    assert row["refund_reason"].startswith("monitor_limit_reached")
    transfer = await chain.receipt(refund["transaction"])
    assert transfer is not None and int(transfer["status"], 16) == 1
    # Nothing of the purchase stayed: no fourth monitor, the tier period not extended.
    assert await srv.pool.fetchval("SELECT count(*) FROM monitors") == 3
    assert await srv.pool.fetchval("SELECT tier_expires_at FROM users") == expires

    # A reconciler pass finds nothing owed and sends nothing again.
    assert srv.api.refunds is not None
    assert await srv.api.refunds.run_once() == {"refunded": 0, "due": 0, "undecided": 0}
    assert await chain.token_balance(buyer.address) == FUNDS


async def test_an_undecided_refund_is_decided_from_its_transaction(
    chain: LocalChain, make_server: ServerFactory, service: MonitorService, target: Target,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The chain stops mining after the settlement: the refund is sent but has no receipt,
    so it stays ``refunding`` with its tx; once the chain mines, the reconciler's pass
    marks it refunded, without sending a second transfer."""
    relayer = chain.relayer.address
    srv = await make_server(chain, PAYMENT_ADDRESS=relayer)
    assert srv.api.refunds is not None and srv.api.facilitator is not None
    quick = LocalFacilitator({43113: chain.rpc_url}, _relayer_key(chain), receipt_timeout_s=0.3)
    refunds = Refunds(srv.api.refunds.store, quick)
    monkeypatch.setattr(srv.api.paywall, "refunds", refunds)
    try:
        buyer, answer, _ = await _racing_buyer(chain, srv, service, target, monkeypatch,
                                               stall_after_settle=True)
        refund = answer["body"]["error"]["params"]["refund"]
        assert refund["state"] == "refunding" and refund["transaction"].startswith("0x")
        assert await chain.token_balance(buyer.address) == FUNDS - PRICE
        assert await refunds.run_once() == {"refunded": 0, "due": 0, "undecided": 1}
        await chain.resume()
        assert await refunds.run_once() == {"refunded": 1, "due": 0, "undecided": 0}
        row = await srv.pool.fetchrow("SELECT state, refund_tx FROM payments")
        assert (row["state"], row["refund_tx"]) == ("refunded", refund["transaction"])
        assert await chain.token_balance(buyer.address) == FUNDS
        assert await refunds.run_once() == {"refunded": 0, "due": 0, "undecided": 0}
        assert await chain.token_balance(buyer.address) == FUNDS
    finally:
        if chain.stalled:
            await chain.resume()
        await quick.close()


async def test_a_refund_no_key_here_can_send_is_owed_and_listed(
    chain: LocalChain, make_server: ServerFactory, service: MonitorService, target: Target,
    monkeypatch: pytest.MonkeyPatch, dsn: str, redis_url: str,
) -> None:
    srv = await make_server(chain)  # paid to an account the relayer does not hold
    buyer, answer, _ = await _racing_buyer(chain, srv, service, target, monkeypatch)
    error = answer["body"]["error"]
    assert answer["status"] == 403 and error["code"] == "fulfilment_failed"
    assert error["params"]["refund"] == {"state": "refund_due", "transaction": None,
                                         "automatic": False}
    assert "operator" in error["message"]
    assert await chain.token_balance(buyer.address) == FUNDS - PRICE
    assert srv.api.refunds is not None
    assert await srv.api.refunds.run_once() == {"refunded": 0, "due": 1, "undecided": 0}
    payment_id = error["params"]["payment_id"]

    env = {**os.environ, "DATABASE_URL": dsn, "REDIS_URL": redis_url}
    listed = await _cli(env, "payments", "refunds", "--json")
    [row] = json.loads(listed)
    assert (row["id"], row["state"], row["payer"]) == (payment_id, "refund_due", buyer.address.lower())
    assert row["amount_atomic"] == str(PRICE) and row["usdc"] == "0.200000"
    assert row["reason"].startswith("monitor_limit_reached")
    assert row["settled_tx"] == answer["receipt"]["transaction"]
    table = await _cli(env, "payments", "refunds")
    assert "refund_due" in table.splitlines()[1] and table.splitlines()[0].startswith("id")
    await srv.pool.execute("UPDATE payments SET state = 'refunded', refund_tx = '0xab'")
    assert await _cli(env, "payments", "refunds") == "no payments are owed back\n"
    assert json.loads(await _cli(env, "payments", "refunds", "--all", "--json"))[0]["refund_tx"] == "0xab"


async def _cli(env: dict[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        LIGHTHOUSE, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()
