"""Fixtures for the x402 API: a LocalChain (Fuji id), the app on 127.0.0.1, a funded buyer.

The app is the one the runtime serves: the x402 API's routes and middlewares plus the
heartbeat ping routes (api/heartbeat.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from lighthouse.api.app import make_app
from lighthouse.api.heartbeat import add_ping_routes
from lighthouse.api.routes import Api, build_api
from lighthouse.core.metrics import Metrics
from lighthouse.core.service import MonitorService
from lighthouse.core.settings import Settings
from support.evm import LocalChain


@pytest.fixture(scope="module")
async def chain() -> AsyncIterator[LocalChain]:
    async with LocalChain(chain_id=43113) as c:
        yield c


@dataclass
class Server:
    url: str
    api: Api
    session: aiohttp.ClientSession
    pay_to: str
    chain: LocalChain | None
    pool: asyncpg.Pool


ServerFactory = Callable[..., Awaitable[Server]]


@pytest.fixture
async def make_server(pool: asyncpg.Pool, redis: aioredis.Redis, service: MonitorService,
                      request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ServerFactory]:
    runners: list[web.AppRunner] = []
    apis: list[Api] = []
    session = aiohttp.ClientSession()

    async def factory(chain: LocalChain | None = None, *, paid: bool = True,
                      facilitator: Any = None, **extra: Any) -> Server:
        pay_to = chain.new_account().address if chain else "0x" + "11" * 20
        # The data dir holds the signing keyring (core/signing.py): one per test.
        values: dict[str, Any] = {"API_PORT": 8080, "LIGHTHOUSE_DATA_DIR": str(tmp_path)}
        if paid:
            values["PAYMENT_ADDRESS"] = pay_to
        if chain is not None:
            values.update(RPC_URL_FUJI=chain.rpc_url, USDC_CONTRACT_ADDRESS=chain.token_address,
                          PRIVATE_KEY="0x" + bytes(chain.relayer.key).hex())
        values.update(extra)
        settings = Settings(**values)
        api = build_api(settings, pool, service, metrics=Metrics(), facilitator=facilitator)
        apis.append(api)
        app = make_app(pool, redis, hooks=[api.hook, lambda app: add_ping_routes(app, pool, redis)],
                       middlewares=api.middlewares)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}"
        api.paywall.public_base_url = url
        return Server(url, api, session, pay_to, chain, pool)

    yield factory
    await session.close()
    for runner in runners:
        await runner.cleanup()
    for api in apis:
        if api.facilitator is not None:
            await api.facilitator.close()
