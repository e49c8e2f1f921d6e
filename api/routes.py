"""The x402 API adapter: builds the paywall and /v1 routes; the runtime adds them to its server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from lighthouse.api.errors import error_middleware
from lighthouse.api.mcp_server import LighthouseTools, McpHttp
from lighthouse.api.v1 import V1
from lighthouse.api.x402.paywall import Paywall
from lighthouse.core.payments.domains import check_domains
from lighthouse.core.payments.facilitator import Facilitator, LocalFacilitator
from lighthouse.core.payments.http_facilitator import HttpFacilitator
from lighthouse.core.payments.reconciler import Reconciler
from lighthouse.core.payments.refunds import Refunds
from lighthouse.core.payments.requirements import BASE_SEPOLIA_USDC, FUJI_USDC, Network
from lighthouse.core.payments.store import PaymentStore
from lighthouse.core.service import MonitorService
from lighthouse.core.settings import Settings
from lighthouse.core.signing import ResultSigner, load_signer

from lighthouse.wiring import AppHooks, Component, Core, Middleware

log = logging.getLogger(__name__)


def networks_from(settings: Settings) -> list[Network]:
    nets: list[Network] = []
    if settings.rpc_url_fuji or settings.usdc_contract_address:
        nets.append(Network(43113, settings.usdc_contract_address or FUJI_USDC, "USD Coin", "2",
                            settings.rpc_url_fuji))
    if settings.rpc_url_base_sepolia or (settings.facilitator_url and not nets):
        nets.append(Network(84532, BASE_SEPOLIA_USDC, "USDC", "2", settings.rpc_url_base_sepolia))
    return nets


@dataclass
class Api:
    paywall: Paywall
    v1: V1
    facilitator: Facilitator | None
    reconciler: Reconciler | None
    mcp: McpHttp
    middlewares: list[Middleware] = field(default_factory=list)
    refunds: Refunds | None = None
    domain_states: dict[str, str] = field(default_factory=dict)

    def hook(self, app: web.Application) -> None:
        from lighthouse.api.discovery import register as register_discovery

        self.v1.register(app)
        self.mcp.register(app)
        register_discovery(app, self.paywall, self.v1.signer, self.mcp.tools)


def build_api(settings: Settings, pool: Any, service: MonitorService, *, metrics: Any = None,
              facilitator: Facilitator | None = None, signer: ResultSigner | None = None,
              worker_id: str | None = None) -> Api:
    """``signer``: the process's (its keyring opened from the data dir when not given)."""
    nets = networks_from(settings)
    rpcs = {n.chain_id: n.rpc_url for n in nets if n.rpc_url}
    if facilitator is None and settings.facilitator_url:
        # Settlement through the operator's facilitator; with a relayer key and RPCs the
        # local settler still answers the reconciler's on-chain questions.
        onchain = (LocalFacilitator(rpcs, settings.private_key.get_secret_value())
                   if settings.private_key is not None and rpcs else None)
        facilitator = HttpFacilitator(settings.facilitator_url, onchain=onchain)
    elif facilitator is None and settings.private_key is not None and rpcs:
        facilitator = LocalFacilitator(rpcs, settings.private_key.get_secret_value())
    store = PaymentStore(pool)
    base = settings.public_base_url or f"http://127.0.0.1:{settings.api_port}"
    refunds = Refunds(store, facilitator)
    paywall = Paywall(store, facilitator, nets, settings.payment_address, base, metrics,
                      refunds=refunds)
    reconciler = Reconciler(store, facilitator, nets) if facilitator else None
    signer = signer or load_signer(settings.data_dir, settings.signing_key)
    worker_id = worker_id or settings.instance_id or f"api:{socket.gethostname()}:{os.getpid()}"
    mcp = McpHttp(LighthouseTools(service, paywall, signer, worker_id), base)
    return Api(paywall, V1(service, paywall, signer, worker_id), facilitator, reconciler, mcp,
               [error_middleware, paywall.middleware], refunds=refunds)


async def verify_domains(api: Api) -> dict[str, str]:
    """Drop networks whose on-chain EIP-712 domain differs from the configured one."""
    states = await check_domains(list(api.paywall.networks), api.facilitator)
    api.paywall.networks[:] = [n for n in api.paywall.networks if states.get(n.caip2) != "mismatch"]
    api.domain_states = dict(states)
    return dict(states)


class ReconcilerComponent:
    name = "x402-reconciler"

    def __init__(self, api: Api, interval_s: float = 60.0) -> None:
        self.api = api
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            if self.api.reconciler is not None:
                try:
                    await self.api.reconciler.run_once()
                except Exception:
                    log.exception("reconciler pass failed")
            if self.api.refunds is not None and self.api.facilitator is not None:
                try:
                    await self.api.refunds.run_once()
                except Exception:
                    log.exception("refund pass failed")
            await asyncio.sleep(self.interval_s)

    async def start(self) -> None:
        await verify_domains(self.api)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.api.refunds is not None:
            await self.api.refunds.drain()
        if self.api.facilitator is not None:
            await self.api.facilitator.close()


def api_components(core: Core, http: AppHooks) -> list[Component]:
    """The x402 API on the process's HTTP server, and its settlement reconciler."""
    api = build_api(core.settings, core.pool, core.service, metrics=core.metrics,
                    worker_id=core.worker_id)
    for middleware in api.middlewares:
        http.add_middleware(middleware)
    http.add_hook(api.hook)
    return [ReconcilerComponent(api)]
