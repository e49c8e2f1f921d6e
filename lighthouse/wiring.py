"""What the composition root hands to adapters, and what they hand back.

The dependency points one way: lighthouse/runtime.py imports the adapters (api/, bot/)
and calls their factories; adapters import this module and never the runtime. An
adapter therefore cannot register itself anywhere: the runtime's list is the only place
that decides what a process runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.typedefs import Middleware

from lighthouse.core.alerts.channels.base import AlertChannel
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.health import HealthMonitor
from lighthouse.core.metrics import Metrics
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService
from lighthouse.core.settings import Settings
from lighthouse.core.storage.database import Pool, StorageMode

__all__ = ["AlertChannels", "AppHook", "AppHooks", "Component", "Core", "Middleware"]

# Called with the aiohttp application before it starts, to add routes to it.
AppHook = Callable[[web.Application], None]


class Component(Protocol):
    """Something the runtime starts in order and stops in the reverse order."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class AppHooks(Protocol):
    """The HTTP server an adapter adds routes and middlewares to, before it starts."""

    def add_hook(self, hook: AppHook) -> None: ...

    def add_middleware(self, middleware: Middleware) -> None: ...


class AlertChannels(Protocol):
    """Where an adapter registers the alert channels it can send through (a bot, once it
    has logged in)."""

    def register(self, channel: AlertChannel) -> None: ...


@dataclass
class Core:
    """Storage, shared clients and the service layer, built once per process."""

    settings: Settings
    pool: Pool
    redis: aioredis.Redis
    mode: StorageMode
    guard: TargetGuard
    session: aiohttp.ClientSession
    check_context: CheckContext
    metrics: Metrics
    service: MonitorService
    worker_id: str
    dsn: str
    redis_url: str
    health: HealthMonitor
    # Set to stop the process; adapters call fail() when they cannot go on.
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    fatal: list[str] = field(default_factory=list)

    def fail(self, reason: str) -> None:
        """Stop the process and exit non-zero (e.g. a chat token the platform refused)."""
        self.fatal.append(reason)
        self.stop_event.set()
