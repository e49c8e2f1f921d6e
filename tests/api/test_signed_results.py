"""Signed results from the API (docs/signing.md): paid one-off checks carry a signature over
what was observed and the payment that bought it; history items are signed when served;
the keys are published and listed in discovery; a rotation keeps old results verifiable.

Payments are made by the official x402 client on the local EVM (tests/api/buyer.py);
results are verified with the standalone verifier (core/verify.py) against the keys the
server publishes."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from lighthouse.api.discovery import KEYS_PATH
from lighthouse.api.paid import SIGN_INLINE_MAX
from lighthouse.api.schemas import SigningKeys
from lighthouse.core import signing
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.http_client import make_session
from lighthouse.core.metrics import Metrics
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.scheduler import Scheduler
from lighthouse.core.signing import CHECK_FIELDS, HISTORY_FIELDS, Keyring
from lighthouse.core.storage.database import create_pool
from lighthouse.core.storage.results import ResultWriter
from lighthouse.core.verify import PublicKey, load_keys, parse_json, verify_result
from support.evm import LocalChain
from targets import Target

from .buyer import official_client, pay_header
from .conftest import Server, ServerFactory

INSTANCE = "api-test-7"


async def published_keys(srv: Server) -> dict[str, PublicKey]:
    async with srv.session.get(srv.url + KEYS_PATH) as r:
        assert r.status == 200 and r.headers["Cache-Control"].startswith("public")
        raw = await r.read()
    SigningKeys.model_validate_json(raw)
    return load_keys(raw)


async def paid(srv: Server, client: Any, method: str, path: str, **kw: Any) -> tuple[dict[str, Any], str]:
    """A paid call: the challenge, the payment, the signed answer and its transaction."""
    async with srv.session.request(method, srv.url + path, **kw) as r:
        assert r.status == 402
        headers = await pay_header(client, r.headers["PAYMENT-REQUIRED"])
    async with srv.session.request(method, srv.url + path, headers=headers, **kw) as r:
        assert r.status == 200, await r.text()
        body = parse_json(await r.read())
        receipt = json.loads(base64.b64decode(r.headers["PAYMENT-RESPONSE"]))
    return body, receipt["transaction"]


async def test_paid_one_off_checks_are_signed_with_their_payment(
        chain: LocalChain, make_server: ServerFactory, target: Target) -> None:
    srv = await make_server(chain, LIGHTHOUSE_INSTANCE_ID=INSTANCE)
    buyer = chain.new_account()
    await chain.mint(buyer.address, 10_000)
    client = official_client(buyer)

    result, tx = await paid(srv, client, "GET", f"/v1/check?url={target.url}")
    keys = await published_keys(srv)
    verdict = verify_result(result, keys)
    assert verdict.valid, verdict.reason
    assert verdict.covered == sorted(CHECK_FIELDS) and verdict.not_covered == ["details"]
    assert result["payment"] == {"transaction": tx, "network": "eip155:43113"} and tx.startswith("0x")
    assert result["ok"] is True and result["type"] == "http" and result["target"] == target.url
    assert result["worker_id"] == INSTANCE and uuid.UUID(result["request_id"])
    checked_at = datetime.fromisoformat(result["checked_at"])
    assert abs(datetime.now(UTC) - checked_at) < timedelta(minutes=1)

    # Another transaction (or none) in place of the one that paid: the payment changed.
    for payment in ({**result["payment"], "transaction": "0x" + "00" * 32}, None):
        verdict = verify_result({**result, "payment": payment}, keys)
        assert not verdict.valid and verdict.changed == ["payment"]

    body = {"type": "http", "config": {"url": target.url, "conditions": ["[STATUS] == 200"]}}
    result, tx = await paid(srv, client, "POST", "/v1/checks", json=body)
    assert verify_result(result, keys).valid
    assert result["payment"]["transaction"] == tx
    assert result["conditions"] == [{"condition": "[STATUS] == 200", "ok": True, "actual": "200",
                                     "reason": None}]
    assert await chain.token_balance(srv.pay_to) == 2000


async def _run_checks(dsn: str, pool: asyncpg.Pool, worker_id: str, rows: int) -> None:
    """The real scheduler and result writer, until ``rows`` history rows exist."""
    await pool.execute("UPDATE monitors SET next_due = now() - interval '1 second'")
    run_pool = await create_pool(dsn, min_size=1, max_size=4)
    guard = TargetGuard(allow_private=True)
    session = make_session(guard)
    writer = ResultWriter(run_pool, worker_id, max_delay_s=0.05)
    writer.start()
    scheduler = Scheduler(run_pool, CheckContext(session, guard), writer, Metrics(), worker_id=worker_id)
    try:
        async with asyncio.timeout(20):
            while await pool.fetchval("SELECT count(*) FROM check_history") < rows:
                await scheduler.tick()
                await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
        await session.close()
        await run_pool.close()


async def test_history_is_signed_when_served_and_survives_a_rotation(
        chain: LocalChain, make_server: ServerFactory, target: Target, dsn: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signing, "RELOAD_EVERY_S", 0.0)
    srv = await make_server(chain)
    buyer = chain.new_account()
    await chain.mint(buyer.address, 5_000_000)
    body = {"type": "http", "tier": "basic",
            "config": {"url": target.url, "conditions": ["[STATUS] == 200"]}}
    async with srv.session.post(srv.url + "/v1/monitors", json=body) as r:
        headers = await pay_header(official_client(buyer), r.headers["PAYMENT-REQUIRED"])
    async with srv.session.post(srv.url + "/v1/monitors", json=body, headers=headers) as r:
        assert r.status == 201, await r.text()
        created = await r.json()
    mid, auth = created["monitor"]["id"], {"Authorization": f"Bearer {created['management_token']}"}

    await _run_checks(dsn, srv.pool, "worker-7", 1)
    history = f"{srv.url}/v1/monitors/{mid}/checks"
    async with srv.session.get(history, headers=auth) as r:
        assert r.status == 200
        page = parse_json(await r.read())
    keys = await published_keys(srv)
    [item] = page["checks"]
    verdict = verify_result(item, keys)
    assert verdict.valid, verdict.reason
    assert verdict.covered == sorted(HISTORY_FIELDS) and verdict.not_covered == []
    assert item["monitor_id"] == mid and item["worker_id"] == "worker-7" and item["type"] == "http"
    assert item["checked_at"] == item["time"] and item["target"] == target.url
    assert [c["condition"] for c in item["conditions"]] == ["[STATUS] == 200"]
    for field in HISTORY_FIELDS:
        changed = {**item, field: "changed"}
        verdict = verify_result(changed, keys)
        assert not verdict.valid and verdict.changed == [field], field

    # A long page is signed off the event loop, with the same result.
    monitor_id = await srv.pool.fetchval("SELECT id FROM monitors")
    now = datetime.now(UTC)
    await srv.pool.executemany(
        "INSERT INTO check_history (time, monitor_id, ok, status_code, latency_ms, worker_id) "
        "VALUES ($1, $2, true, 200, $3, 'worker-8')",
        [(now - timedelta(minutes=i + 1), monitor_id, 10 + i) for i in range(SIGN_INLINE_MAX + 10)])
    async with srv.session.get(history, params={"limit": "200"}, headers=auth) as r:
        page = parse_json(await r.read())
    assert len(page["checks"]) == SIGN_INLINE_MAX + 11
    assert all(verify_result(i, keys).valid for i in page["checks"])

    # Rotation on the running server: new answers carry the new key, old ones still verify.
    old_kid = item["signature"]["kid"]
    _, new = Keyring.rotate(tmp_path)
    async with srv.session.get(history, params={"limit": "1"}, headers=auth) as r:
        [fresh] = parse_json(await r.read())["checks"]
    assert fresh["signature"]["kid"] == new.kid != old_kid
    keys = await published_keys(srv)
    assert set(keys) == {old_kid, new.kid}
    assert verify_result(item, keys).valid and verify_result(fresh, keys).valid


async def test_the_key_url_is_in_every_discovery_document(chain: LocalChain,
                                                          make_server: ServerFactory) -> None:
    srv = await make_server(chain)
    expected = {"keys": srv.url + KEYS_PATH, "alg": "Ed25519", "format": "lighthouse-result/1"}
    for path, where in (("/.well-known/x402", ("resultSigning",)),
                        ("/.well-known/agent-card", ("resultSigning",)),
                        ("/openapi.json", ("x-discovery", "resultSigning"))):
        async with srv.session.get(srv.url + path) as r:
            doc = await r.json()
        for key in where:
            doc = doc[key]
        assert doc == expected, path
    async with srv.session.get(srv.url + "/openapi.json") as r:
        spec = await r.json()
    assert spec["paths"][KEYS_PATH]["get"]["responses"]["200"]
    for model in ("CheckResultOut", "CheckRecordOut"):
        assert spec["components"]["schemas"][model]["properties"]["signature"]
    assert set(spec["components"]["schemas"]["ResultSignature"]["required"]) == {
        "alg", "kid", "signed_at", "digests", "sig"}
    keys = await published_keys(srv)
    assert len(keys) == 1 and next(iter(keys.values())).not_after is None
