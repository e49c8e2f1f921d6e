"""The composition root: builds settings, storage, the service layer, the scheduler and
the enabled adapters, runs them, and shuts them down in order on SIGTERM/SIGINT.

Start order: core (embedded servers, pool, migrations, Redis) -> the monitors-as-code file
(lighthouse/config_reload.py) -> delivery worker -> scheduler -> (the adapters are built
only now: their imports take seconds, and a restarted process checks before it serves) ->
HTTP servers -> x402 reconciler -> chat bots (in one process of all that share the
database: the leader lease, core/leader.py), then the start banner (lighthouse/banner.py).
Stop order is the reverse: bots, reconciler, HTTP servers, scheduler (stop claiming, finish
or release in-flight checks, flush results), delivery, the file's reloader, core. A port
that is taken stops the start with one line naming its setting.

``build_adapters`` is the one list of adapters a process runs; adapters import only
lighthouse/wiring.py, so none of them can add itself to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import importlib
import logging
import os
import secrets
import signal
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal

import redis.asyncio as aioredis
from aiohttp import web

from lighthouse.api.app import make_app
from lighthouse.api.health import metrics_app
from lighthouse.banner import CHAT_ADAPTERS, announce
from lighthouse.config_reload import config_components
from lighthouse.core.alerts.channels.apprise import AppriseChannel
from lighthouse.core.alerts.channels.base import AlertChannel
from lighthouse.core.alerts.channels.discord_webhook import DiscordWebhookChannel
from lighthouse.core.alerts.channels.webhook import WebhookChannel
from lighthouse.core.alerts.delivery import DeliveryWorker
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.embedded import EmbeddedPostgres, EmbeddedRedis
from lighthouse.core.errors import PortInUseError
from lighthouse.core.health import HealthMonitor
from lighthouse.core.housekeeping import Housekeeper
from lighthouse.core.http_client import make_session
from lighthouse.core.leader import LeaderGate
from lighthouse.core.metrics import Metrics
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.scheduler import Scheduler
from lighthouse.core.secretbox import load_secret_box
from lighthouse.core.service import MonitorService
from lighthouse.core.service.policy import policy_from_settings
from lighthouse.core.settings import Settings
from lighthouse.core.storage.database import Pool, StorageMode, create_pool, migrate
from lighthouse.core.storage.results import ResultWriter
from lighthouse.wiring import AppHook, Component, Core, Middleware

log = logging.getLogger("lighthouse")

Role = Literal["all", "worker"]

# A SIGTERM is done within 10 s however busy the process is (docs/reliability.md): at most
# this long for requests in flight, then for running checks (the rest are released to any
# process at once), then for alert sends (their rows go back to the outbox).
HTTP_STOP_GRACE_S = 3.0
CHECKS_STOP_GRACE_S = 4.0
SENDS_STOP_GRACE_S = 2.0


def make_worker_id(settings: Settings) -> str:
    return settings.instance_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Storage:
    dsn: str
    pool: Pool
    mode: StorageMode


@contextlib.asynccontextmanager
async def open_storage(settings: Settings, *, run_migrations: bool = True,
                       pool_size: int = 20) -> AsyncIterator[Storage]:
    """PostgreSQL: DATABASE_URL, or the embedded server under LIGHTHOUSE_DATA_DIR. An
    embedded server another process already runs on that data dir is shared (pgserver
    counts its users and the last one to leave stops it), so the admin CLI and the service
    use one server; never a second on the same files."""
    async with contextlib.AsyncExitStack() as stack:
        if settings.database_url is None:
            pg = EmbeddedPostgres(settings.data_dir)
            dsn = await pg.start()
            stack.push_async_callback(pg.stop)
        else:
            dsn = settings.database_url.get_secret_value()
        pool = await create_pool(dsn, min_size=min(2, pool_size), max_size=pool_size)
        stack.push_async_callback(pool.close)
        mode = await migrate(pool) if run_migrations else "plain"
        yield Storage(dsn, pool, mode)


@contextlib.asynccontextmanager
async def open_core(settings: Settings, *, run_migrations: bool = True) -> AsyncIterator[Core]:
    """Storage and shared clients; embedded servers when no URL is configured."""
    async with contextlib.AsyncExitStack() as stack:
        storage = await stack.enter_async_context(
            open_storage(settings, run_migrations=run_migrations))
        dsn, pool, mode = storage.dsn, storage.pool, storage.mode
        if settings.redis_url is None:
            rd = EmbeddedRedis(settings.data_dir)
            redis_url = await rd.start()
            stack.push_async_callback(rd.stop)
        else:
            redis_url = settings.redis_url.get_secret_value()

        redis = aioredis.from_url(redis_url, decode_responses=False)
        stack.push_async_callback(redis.aclose)

        guard = TargetGuard(settings.allow_private_targets)
        session = make_session(guard)
        stack.push_async_callback(session.close)
        # The pool: heartbeat checks judge the pings stored there, in every role.
        ctx = CheckContext(session=session, guard=guard, pool=pool)
        metrics = Metrics()
        service = MonitorService(pool, guard, ctx, mode=mode, policy=policy_from_settings(settings),
                                 secrets=load_secret_box(settings.data_dir, settings.secret_key,
                                                         generate=settings.database_url is None))
        if run_migrations:  # rows stored before encryption, or under a retired key
            await service.reseal_channel_secrets()
        health = HealthMonitor(pool, redis)
        await health.start()
        stack.push_async_callback(health.stop)
        yield Core(
            settings, pool, redis, mode, guard, session, ctx, metrics, service,
            make_worker_id(settings), dsn, redis_url, health,
        )


async def sync_operator_channels(core: Core) -> None:
    """DISCORD_WEBHOOK_URL becomes an operator channel that receives every alert."""
    enabled = core.settings.discord_webhook_url is not None
    await core.pool.execute(
        """
        INSERT INTO alert_channels (owner_id, kind, config, system_key, enabled, min_severity)
        VALUES (NULL, 'discord_webhook', '{"from_settings": true}'::jsonb,
                'settings:discord_webhook', $1, 'info')
        ON CONFLICT (system_key) DO UPDATE SET enabled = EXCLUDED.enabled
        """,
        enabled,
    )


@dataclass
class HttpServers:
    """The API port (health, and the adapters' routes) and the metrics port."""

    core: Core
    hooks: list[AppHook] = field(default_factory=list)
    middlewares: list[Middleware] = field(default_factory=list)
    # Extra entries of /health, read per request (e.g. "chat": "leader").
    facts: dict[str, Callable[[], object]] = field(default_factory=dict)
    name: str = "http"
    _runners: list[web.AppRunner] = field(default_factory=list)

    def add_hook(self, hook: AppHook) -> None:
        self.hooks.append(hook)

    def add_fact(self, name: str, value: Callable[[], object]) -> None:
        self.facts[name] = value

    def _health_extra(self) -> dict[str, object]:
        return {"storage": self.core.mode, **{k: f() for k, f in self.facts.items()}}

    def add_middleware(self, middleware: Middleware) -> None:
        self.middlewares.append(middleware)

    async def start(self) -> None:
        s = self.core.settings
        app = make_app(self.core.pool, self.core.redis, hooks=self.hooks,
                       middlewares=self.middlewares, health=self.core.health,
                       health_extra=self._health_extra)
        try:
            await self._serve(app, s.api_host, s.api_port, "API_PORT")
            if s.metrics_port:
                await self._serve(metrics_app(self.core.metrics.registry), s.api_host,
                                  s.metrics_port, "METRICS_PORT")
        except BaseException:
            await self.stop()  # the API may be up when the metrics port is the taken one
            raise

    async def _serve(self, app: web.Application, host: str, port: int, setting: str) -> None:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=HTTP_STOP_GRACE_S)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUseError(setting, host, port) from None
            raise
        self._runners.append(runner)
        log.info("listening", extra={"host": host, "port": port})

    async def stop(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()


@dataclass
class SchedulerComponent:
    core: Core
    name: str = "scheduler"
    scheduler: Scheduler | None = None
    housekeeper: Housekeeper | None = None
    writer: ResultWriter | None = None

    async def start(self) -> None:
        c, s = self.core, self.core.settings
        writer = self.writer = ResultWriter(c.pool, c.worker_id, metrics=c.metrics)
        writer.start()
        c.health.add_part("writer", writer.health)
        self.scheduler = Scheduler(
            c.pool, c.check_context, writer, c.metrics, worker_id=c.worker_id,
            max_concurrency=s.max_concurrent_checks, per_host_concurrency=s.per_host_concurrency,
            tick_s=s.tick_s,
        )
        self.scheduler.start()
        self.housekeeper = Housekeeper(c.pool, c.mode, c.worker_id)
        self.housekeeper.start()

    async def stop(self) -> None:
        if self.housekeeper is not None:
            await self.housekeeper.stop()
        if self.scheduler is not None:
            in_flight, ran = self.scheduler.in_flight, self.scheduler.checks_run
            await self.scheduler.stop(grace_s=CHECKS_STOP_GRACE_S)
            finished = self.scheduler.checks_run - ran
            # What this process checked and what it wrote: after a clean stop nothing is
            # pending, and checks_run - results_written is what a fault lost
            # (tests/faults/, bench/faults.py).
            w = self.writer
            log.info("scheduler stopped", extra={
                "in_flight_at_stop": in_flight, "finished_while_stopping": finished,
                "released_at_stop": max(0, in_flight - finished),
                "checks_run": self.scheduler.checks_run,
                "results_written": w.rows_written if w else 0,
                "results_dropped": w.dropped if w else 0,
                "results_quarantined": w.quarantined if w else 0,
                "results_pending": w.pending if w else 0})


@dataclass
class DeliveryComponent:
    core: Core
    name: str = "delivery"
    worker: DeliveryWorker | None = None
    # The kinds this component registers itself; the others come from adapters.
    own_kinds: frozenset[str] = frozenset()
    # Held until start, so a channel registered before the worker exists is not lost.
    _pending: list[AlertChannel] = field(default_factory=list)

    def register(self, channel: AlertChannel) -> None:
        if self.worker is None:
            self._pending.append(channel)
        else:
            self.worker.register(channel)

    async def start(self) -> None:
        c = self.core
        url = c.settings.discord_webhook_url
        self.worker = DeliveryWorker(c.pool, {}, c.metrics, worker_id=c.worker_id,
                                     secrets=c.service.secrets)
        self.worker.register(DiscordWebhookChannel(c.session, url.get_secret_value() if url else None))
        self.worker.register(WebhookChannel(c.session))
        self.worker.register(AppriseChannel(c.guard))
        self.own_kinds = frozenset(self.worker.channels)
        for channel in self._pending:
            self.worker.register(channel)
        self._pending.clear()
        await sync_operator_channels(c)
        self.worker.start()

    async def unregister_adapters(self) -> None:
        """Hand the adapters' claimed deliveries back (their client has stopped here)."""
        if self.worker is not None:
            for kind in set(self.worker.channels) - self.own_kinds:
                await self.worker.unregister(kind)

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop(grace_s=SENDS_STOP_GRACE_S)


# What build_adapters imports by name, heaviest first (x402, web3 and MCP under api.routes).
ADAPTER_MODULES = ("lighthouse.api.routes", "lighthouse.bot.components", "lighthouse.api.badges",
                   "lighthouse.api.heartbeat", "lighthouse.api.status_page")


def _import_adapters(role: Role) -> None:
    if role != "worker":
        for name in ADAPTER_MODULES:
            importlib.import_module(name)


def chat_leader_gate(core: Core, http: HttpServers, delivery: DeliveryComponent,
                     chat: list[Component]) -> LeaderGate:
    """The bots run in one process of all that share the database (core/leader.py)."""
    gauge = core.metrics.chat_leader

    def changed(leader: bool) -> None:
        gauge.set(1 if leader else 0)

    gate = LeaderGate(core.pool, "chat", core.worker_id, chat,
                      ttl_s=core.settings.leader_lease_s, on_change=changed,
                      after_stop=delivery.unregister_adapters)
    http.add_fact("chat", lambda: gate.role)
    return gate


def build_adapters(core: Core, http: HttpServers, delivery: DeliveryComponent,
                   role: Role) -> list[Component]:
    """Every adapter the process runs, in start order (after the scheduler). A worker runs
    none: it serves only /health and /metrics, and its checks still read heartbeat pings
    through the check context."""
    if role == "worker":
        return []
    # Imported here, by name, so a worker never loads the x402 stack or the chat clients.
    from lighthouse.api.badges import Badges
    from lighthouse.api.heartbeat import heartbeat_routes
    from lighthouse.api.routes import api_components
    from lighthouse.api.status_page import status_routes
    from lighthouse.bot.components import chat_components

    made = api_components(core, http)
    chat = chat_components(core, http, delivery)
    if chat:
        made.append(chat_leader_gate(core, http, delivery, chat))
    http.add_hook(heartbeat_routes(core.pool, core.redis))
    # Public status pages (/status/<slug>): read-only, on the API port beside the rest.
    http.add_hook(status_routes(core.service).register)
    http.add_hook(Badges(core.service).register)
    return made


async def serve(settings: Settings, role: Role = "all", stop: asyncio.Event | None = None) -> int:
    failures: list[BaseException] = []
    async with open_core(settings) as core, contextlib.AsyncExitStack() as stack:
        if stop is not None:
            core.stop_event = stop
        stop = core.stop_event
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        http = HttpServers(core)
        delivery = DeliveryComponent(core)
        # The operator's file first: its monitors exist before anything checks or serves.
        # Delivery and checking start before the adapters are built: importing the API's
        # payment and MCP stacks takes seconds on a busy machine, and after a crash checks
        # and alerts resume first (docs/reliability.md).
        early: list[Component] = [*config_components(core, role), delivery,
                                  SchedulerComponent(core)]
        if not await _start_in_order(early, stack, failures):
            return 1
        # Imported on a thread: on the loop, these seconds of imports would hold the
        # checks that just started (the loop still gets its turns between bytecodes).
        await asyncio.to_thread(_import_adapters, role)
        adapters = build_adapters(core, http, delivery, role)
        log.info("adapters built", extra={"components": ", ".join(c.name for c in adapters)})
        if not await _start_in_order([http, *adapters], stack, failures):
            return 1
        log.info("lighthouse running", extra={"role": role, "storage": core.mode,
                                               "worker_id": core.worker_id})
        if not core.fatal:
            await announce(core, role, [p.name for c in adapters for p in getattr(c, "parts", [c])
                                        if p.name in CHAT_ADAPTERS])
        await stop.wait()
        log.info("shutting down")
        if core.fatal:
            log.error("stopping after a fatal error", extra={"reasons": "; ".join(core.fatal)})
    return 1 if failures or core.fatal else 0


async def _start_in_order(components: list[Component], stack: contextlib.AsyncExitStack,
                          failures: list[BaseException]) -> bool:
    """Start each; a started one is stopped in reverse order on the way out. False when a
    port is taken (logged as one line naming its setting)."""
    for component in components:
        try:
            await component.start()
        except PortInUseError as exc:
            log.error(str(exc), extra={"setting": exc.setting, "port": exc.port})
            return False
        stack.push_async_callback(_stop_logged, component, failures)
    return True


async def _stop_logged(component: Component, failures: list[BaseException]) -> None:
    try:
        async with asyncio.timeout(30):
            await component.stop()
        log.info("stopped", extra={"component": component.name})
    except Exception as exc:
        failures.append(exc)
        log.exception("component failed to stop", extra={"component": component.name})
