"""What /health reports, probed in the background.

Probing PostgreSQL and Redis inside every /health request let the probe load itself: at
200 concurrent requests the Redis client's pool cap and the database pool answered
"disconnected" for a healthy node, and an orchestrator restarts a node on such answers.
Here one task probes each dependency once per interval with a short timeout, and a
request reads the last answer. One failed probe is not an outage: a dependency is
reported down after ``failures_to_down`` failures in a row (about two seconds), and up
again after one success; the first probe, run before the first request, decides alone.

Other parts of the process (the result writer) add a *part*: a cheap function returning
``"ok"`` or a word naming the problem, evaluated per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

CONNECTED = "connected"
DISCONNECTED = "disconnected"
Probe = Callable[[], Awaitable[object]]


class _Dependency:
    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.state: str | None = None  # until the first probe
        self.failures = 0


class HealthMonitor:
    def __init__(
        self,
        pool: Any,
        redis: Any,
        *,
        interval_s: float = 1.0,
        timeout_s: float = 1.5,
        failures_to_down: int = 2,
    ) -> None:
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._failures_to_down = failures_to_down
        self._deps: dict[str, _Dependency] = {}
        if pool is not None:
            self._deps["database"] = _Dependency(lambda: pool.fetchval("SELECT 1", timeout=timeout_s))
        if redis is not None:
            self._deps["redis"] = _Dependency(redis.ping)
        self._parts: dict[str, Callable[[], str]] = {}
        self._task: asyncio.Task[None] | None = None
        self.probes_run = 0

    def add_part(self, name: str, status: Callable[[], str]) -> None:
        self._parts[name] = status

    def remove_part(self, name: str) -> None:
        self._parts.pop(name, None)

    async def _probe(self, dep: _Dependency) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                await dep.probe()
        except Exception:
            dep.failures += 1
            if dep.state is None or dep.failures >= self._failures_to_down:
                dep.state = DISCONNECTED
        else:
            dep.failures = 0
            dep.state = CONNECTED

    async def probe_once(self) -> None:
        await asyncio.gather(*(self._probe(d) for d in self._deps.values()))
        self.probes_run += 1

    async def _run(self) -> None:
        while True:
            started = asyncio.get_running_loop().time()
            try:
                await self.probe_once()
            except Exception:  # a probe must never end the loop
                log.exception("health probe failed")
            elapsed = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(0.0, self._interval_s - elapsed))

    async def start(self) -> None:
        """One probe before returning, so the first answer is a measured one."""
        if self._task is None:
            await self.probe_once()
            self._task = asyncio.create_task(self._run(), name="health-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def snapshot(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, body in the seed's shape plus one entry per part)."""
        body: dict[str, Any] = {"status": "ok"}
        ok = True
        for name, dep in self._deps.items():
            body[name] = dep.state or DISCONNECTED
            ok = ok and dep.state == CONNECTED
        for name, status in self._parts.items():
            state = status()
            body[name] = state
            ok = ok and state == "ok"
        body["status"] = "ok" if ok else "degraded"
        body["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return ok, body
