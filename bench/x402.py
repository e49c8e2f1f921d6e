"""x402 paywall benchmark: 402 challenges/s, verify+reserve latency, paid calls/s end to end,
over HTTP and over MCP (the check_url tool at /mcp, api/mcp_server.py) in the same run.

Runs everything on 127.0.0.1: an embedded PostgreSQL, a LocalChain (py-evm over HTTP JSON-RPC,
chain id 43113) and the API app with the local facilitator. Bounded in time (``--seconds`` per
phase). The last line is one JSON object; ``mcp_vs_http`` holds the MCP/HTTP latency ratios
of the paid call (target: p50 and p99 <= 1.2) and of a free call (the transport alone).

    .venv/bin/python bench/x402.py [--seconds 3] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
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
from mcp import Client  # noqa: E402
from support.evm import LocalChain  # noqa: E402


def b64(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


def signed_payload(chain: LocalChain, buyer: Any, req: dict[str, Any]) -> dict[str, Any]:
    accepted = req["accepts"][0]
    auth = chain.sign_authorization(buyer, to=accepted["payTo"], value=int(accepted["amount"]),
                                    valid_before=int(time.time()) + 60)
    return {"x402Version": 2, "resource": req["resource"], "accepted": accepted,
            "payload": auth.to_x402(), "extensions": {}}


def signed_header(chain: LocalChain, buyer: Any, req: dict[str, Any]) -> str:
    return b64(signed_payload(chain, buyer, req))


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": round(percentile(values, 0.5) or 0, 2),
            "p99": round(percentile(values, 0.99) or 0, 2)}


async def free_calls(client: aiohttp.ClientSession, mcp: Client, base: str,
                     seconds: float) -> tuple[list[float], list[float]]:
    """GET /v1/pricing and the pricing tool, alternately, one at a time: the transports'
    own cost with no payment and no check behind it."""
    http: list[float] = []
    over_mcp: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and len(http) < 2000:
        t = time.perf_counter()
        async with client.get(base + "/v1/pricing") as r:
            await r.read()
            assert r.status == 200
        t1 = time.perf_counter()
        result = await mcp.call_tool("pricing", {})
        assert not result.is_error
        http.append((t1 - t) * 1000)
        over_mcp.append((time.perf_counter() - t1) * 1000)
    return http, over_mcp


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
        server_ms: dict[str, list[float]] = {"http": [], "mcp": []}

        @web.middleware
        async def timed(request: web.Request, handler: Any) -> web.StreamResponse:
            """Time in the server for each transport: the client libraries' own cost (the
            MCP SDK's client is heavier than aiohttp's) runs in this process too."""
            t = time.perf_counter()
            response: web.StreamResponse = await handler(request)
            kind = "mcp" if request.path == "/mcp" else "http"
            server_ms[kind].append((time.perf_counter() - t) * 1000)
            return response

        app = make_app(pool, None, hooks=[api.hook],  # type: ignore[arg-type]
                       middlewares=[timed, *api.middlewares])
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

            # Phase 4: the same paid call over HTTP and as an MCP tool (check_url), in one
            # phase: half the payers on each transport at once, so both meet the same load
            # (the machine is shared; two phases in a row would compare two moments). Each
            # MCP payer has its own SDK client (streamable HTTP to /mcp on the same app).
            workers = max(1, min(concurrency, 8) // 2)
            async with contextlib.AsyncExitStack() as stack:
                mcps = [await stack.enter_async_context(Client(base + "/mcp", read_timeout_seconds=60))
                        for _ in range(workers)]
                for mcp in mcps:  # the SDK client lists tools once, for their output schemas
                    await mcp.list_tools()
                unpaid = await mcps[0].call_tool("check_url", {"url": target_url})
                assert unpaid.is_error and isinstance(unpaid.structured_content, dict)
                mcp_req = unpaid.structured_content
                before = await chain.token_balance(pay_to)
                mixed: dict[str, list[float]] = {"http": [], "mcp": []}
                for kept in server_ms.values():
                    kept.clear()
                deadline = time.perf_counter() + 2 * seconds

                async def http_payer() -> None:
                    while time.perf_counter() < deadline:
                        header = signed_header(chain, buyer, req)
                        t = time.perf_counter()
                        async with client.get(base + path, headers={"PAYMENT-SIGNATURE": header}) as r:
                            await r.read()
                            assert r.status == 200, r.status
                        mixed["http"].append((time.perf_counter() - t) * 1000)

                async def mcp_payer(mcp: Client) -> None:
                    while time.perf_counter() < deadline:
                        meta = {"x402/payment": signed_payload(chain, buyer, mcp_req)}
                        t = time.perf_counter()
                        result = await mcp.call_tool("check_url", {"url": target_url}, meta=meta)
                        assert not result.is_error, result
                        mixed["mcp"].append((time.perf_counter() - t) * 1000)

                t0 = time.perf_counter()
                await asyncio.gather(*(http_payer() for _ in mcps), *(mcp_payer(m) for m in mcps))
                took = time.perf_counter() - t0
                both = len(mixed["http"]) + len(mixed["mcp"])
                figures["mixed_paid_calls_per_s"] = {k: round(len(v) / took, 1) for k, v in mixed.items()}
                figures["mixed_paid_call_ms"] = {k: summary(v) for k, v in mixed.items()}
                figures["mixed_server_ms"] = {k: summary(server_ms[k]) for k in ("http", "mcp")}
                figures["mixed_balance_moved_exactly"] = (
                    await chain.token_balance(pay_to) - before == both * 1000)

                # Phase 5: a free call each way, alternately, one at a time (the transports
                # alone: no payment, no check behind them).
                for kept in server_ms.values():
                    kept.clear()
                http_free, mcp_free = await free_calls(client, mcps[0], base, seconds)
            figures["free_call_ms"] = {"http": summary(http_free), "mcp": summary(mcp_free)}
            figures["free_server_ms"] = {k: summary(server_ms[k]) for k in ("http", "mcp")}
            paid_ms = figures["mixed_paid_call_ms"]
            ratio = {f"paid_{q}": round(paid_ms["mcp"][q] / paid_ms["http"][q], 2)
                     for q in ("p50", "p99") if paid_ms["http"][q]}
            for name, key in (("free_p50", "free_call_ms"), ("free_server_p50", "free_server_ms")):
                http_p50, mcp_p50 = (figures[key][k]["p50"] for k in ("http", "mcp"))
                ratio[name] = round(mcp_p50 / http_p50, 2) if http_p50 else 0
            figures["mcp_vs_http"] = ratio
            figures["targets"] = {"challenges_per_s": 3000, "verify_reserve_p99_ms": 15,
                                  "mcp_vs_http_paid": 1.2}
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
