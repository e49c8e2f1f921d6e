"""x402 paywall benchmark: 402 challenges/s, verify+reserve latency, paid calls/s end to end.

Runs everything on 127.0.0.1: an embedded PostgreSQL, a LocalChain (py-evm over HTTP JSON-RPC,
chain id 43113) and the API app with the local facilitator. Bounded in time (``--seconds`` per
phase). The last line is one JSON object.

    .venv/bin/python bench/x402.py [--seconds 3] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent / "tests"))
import aiohttp  # noqa: E402
from _common import emit, fresh_database, machine, percentile  # noqa: E402
from aiohttp import web  # noqa: E402
from lighthouse.api.app import make_app  # noqa: E402
from lighthouse.api.routes import build_api  # noqa: E402
from lighthouse.core.checks.base import CheckContext  # noqa: E402
from lighthouse.core.http_client import make_session  # noqa: E402
from lighthouse.core.netguard import TargetGuard  # noqa: E402
from lighthouse.core.payments.verifier import decode_header, verify_payload  # noqa: E402
from lighthouse.core.service import MonitorService  # noqa: E402
from lighthouse.core.settings import Settings  # noqa: E402
from support.evm import LocalChain  # noqa: E402


def b64(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


def signed_header(chain: LocalChain, buyer: Any, req: dict[str, Any]) -> str:
    accepted = req["accepts"][0]
    auth = chain.sign_authorization(buyer, to=accepted["payTo"], value=int(accepted["amount"]),
                                    valid_before=int(time.time()) + 60)
    return b64({"x402Version": 2, "resource": req["resource"], "accepted": accepted,
                "payload": auth.to_x402(), "extensions": {}})


async def run(seconds: float, concurrency: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"bench": "x402", "seconds_per_phase": seconds,
                               "concurrency": concurrency, **machine()}
    async with fresh_database() as (pool, _dsn), LocalChain(chain_id=43113) as chain:
        guard = TargetGuard(allow_private=True)
        session = make_session(guard)
        service = MonitorService(pool, guard, CheckContext(session=session, guard=guard))
        target = web.Application()

        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        target.router.add_get("/", ok)
        trunner = web.AppRunner(target, access_log=None)
        await trunner.setup()
        await web.TCPSite(trunner, "127.0.0.1", 0).start()
        target_url = f"http://127.0.0.1:{trunner.addresses[0][1]}/"

        pay_to = chain.new_account().address
        settings = Settings(PAYMENT_ADDRESS=pay_to, RPC_URL_FUJI=chain.rpc_url,
                            USDC_CONTRACT_ADDRESS=chain.token_address,
                            PRIVATE_KEY="0x" + bytes(chain.relayer.key).hex())
        api = build_api(settings, pool, service)
        app = make_app(pool, None, hooks=[api.hook], middlewares=api.middlewares)  # type: ignore[arg-type]
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        api.paywall.public_base_url = base
        path = f"/v1/check?url={target_url}"
        client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))
        try:
            # Phase 1: unpaid requests -> 402 challenges.
            count = 0
            deadline = time.perf_counter() + seconds

            async def challenger() -> None:
                nonlocal count
                while time.perf_counter() < deadline:
                    async with client.get(base + path) as r:
                        await r.read()
                        assert r.status == 402
                        count += 1

            t0 = time.perf_counter()
            await asyncio.gather(*(challenger() for _ in range(concurrency)))
            figures["challenges_per_s"] = round(count / (time.perf_counter() - t0), 1)
            async with client.get(base + path) as r:
                req = json.loads(base64.b64decode(r.headers["PAYMENT-REQUIRED"]))
                figures["payment_required_header_bytes"] = len(r.headers["PAYMENT-REQUIRED"])

            # Phase 2: verify (steps 1-6) + reserve, and the local facilitator's on-chain checks.
            buyer = chain.new_account()
            await chain.mint(buyer.address, 10**12)
            offers = api.paywall.offers_for_url(base + path, 1000, "bench")
            store = api.paywall.store
            facilitator = api.facilitator
            assert store is not None and facilitator is not None
            vr: list[float] = []
            onchain: list[float] = []
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline and len(vr) < 5000:
                header = signed_header(chain, buyer, req)
                t = time.perf_counter()
                v = verify_payload(decode_header(header), header_version=2, offers=offers,
                                   now=int(time.time()))
                pid, _ = await store.reserve(v, "GET " + base + path)
                t1 = time.perf_counter()
                assert pid is not None
                if len(onchain) < 50:
                    await facilitator.verify(v)
                    onchain.append((time.perf_counter() - t1) * 1000)
                vr.append((t1 - t) * 1000)
            figures["verify_reserve_ms"] = {"n": len(vr), "p50": round(percentile(vr, 0.5) or 0, 3),
                                            "p99": round(percentile(vr, 0.99) or 0, 3)}
            figures["onchain_verify_ms"] = {"n": len(onchain),
                                            "p50": round(percentile(onchain, 0.5) or 0, 3),
                                            "p99": round(percentile(onchain, 0.99) or 0, 3)}

            # Phase 3: paid calls end to end (sign, verify, reserve, check, settle on chain).
            before = await chain.token_balance(pay_to)
            paid = 0
            lat: list[float] = []
            deadline = time.perf_counter() + seconds

            async def payer() -> None:
                nonlocal paid
                while time.perf_counter() < deadline:
                    header = signed_header(chain, buyer, req)
                    t = time.perf_counter()
                    async with client.get(base + path, headers={"PAYMENT-SIGNATURE": header}) as r:
                        await r.read()
                        assert r.status == 200, r.status
                    lat.append((time.perf_counter() - t) * 1000)
                    paid += 1

            t0 = time.perf_counter()
            await asyncio.gather(*(payer() for _ in range(min(concurrency, 8))))
            figures["paid_calls_per_s"] = round(paid / (time.perf_counter() - t0), 1)
            figures["paid_call_ms"] = {"p50": round(percentile(lat, 0.5) or 0, 1),
                                       "p99": round(percentile(lat, 0.99) or 0, 1)}
            moved = await chain.token_balance(pay_to) - before
            figures["paid_calls"] = paid
            figures["balance_moved_exactly"] = moved == paid * 1000
            figures["targets"] = {"challenges_per_s": 3000, "verify_reserve_p99_ms": 15}
        finally:
            await client.close()
            await runner.cleanup()
            await trunner.cleanup()
            await session.close()
            if api.facilitator is not None:
                await api.facilitator.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    emit(asyncio.run(asyncio.wait_for(run(args.seconds, args.concurrency), timeout=120)))


if __name__ == "__main__":
    main()
