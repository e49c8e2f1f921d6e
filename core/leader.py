"""Work that runs in one process at a time: a leader lease in PostgreSQL gates it.

Any number of `lighthouse run` processes share the scheduler and the delivery worker, but a
bot token allows one Discord gateway session and one Telegram poller. ``LeaderGate`` runs
its parts (the chat adapters) only while this process holds the lease ``name``; a standby
polls, and takes over once the holder has stopped renewing: at once after a clean stop
(the lease is released), within ``ttl_s`` plus one poll after a crash.

Why a lease row and not an advisory lock: a session-level ``pg_advisory_lock`` would hand
over faster after a crash (the lock dies with the connection), but it needs one pinned
connection for the life of the process, does not survive PgBouncer's transaction pooling
(docs/scaling.md), and when the network to the database stalls the old holder cannot tell
it has lost the lock while the server, once it notices, gives it away. With a row and an
expiry the holder knows how long its claim is good for: it counts the lease from before
each renewal was sent, and steps down by itself when renewals fail, before the lease can
have passed to another process. It is also the pattern the scheduler's claims already use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from lighthouse.core.storage import leases
from lighthouse.core.storage.database import Pool

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 10.0


class Part(Protocol):
    """What the gate starts when elected and stops when it steps down (a component)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LeaderGate:
    """A component that runs ``parts`` in this process only while it holds the lease."""

    def __init__(
        self,
        pool: Pool,
        name: str,
        holder: str,
        parts: Sequence[Part],
        *,
        ttl_s: float = DEFAULT_TTL_S,
        on_change: Callable[[bool], None] | None = None,
        after_stop: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.name = f"leader:{name}"
        self.parts = list(parts)
        self._pool = pool
        self._lease = name
        self._holder = holder
        self._ttl_s = ttl_s
        # The holder renews three times a lease; a standby looks five times a lease, so a
        # crashed holder is replaced within ttl + ttl/5.
        self._renew_s = ttl_s / 3
        self._poll_s = ttl_s / 5
        self._on_change = on_change
        self._after_stop = after_stop
        self.leader = False
        self.running = False  # the parts are started
        self.elections = 0
        self._valid_until = 0.0  # monotonic: our lease is surely ours until then
        self._changed = asyncio.Event()
        self._stopping = False
        self._lease_task: asyncio.Task[None] | None = None
        self._run_task: asyncio.Task[None] | None = None

    @property
    def role(self) -> str:
        return "leader" if self.leader else "standby"

    async def start(self) -> None:
        """Try once; start the parts now when elected (a lone process starts as before),
        then keep the lease (or watch for it) in the background."""
        await self._renew()
        self._lease_task = asyncio.create_task(self._keep_lease(), name=f"{self.name}-lease")
        await self._apply()
        self._run_task = asyncio.create_task(self._follow(), name=f"{self.name}-follow")

    async def stop(self) -> None:
        self._stopping = True
        self._changed.set()
        for task in (self._lease_task, self._run_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._lease_task = self._run_task = None
        await self._stop_parts()
        if self.leader:
            try:
                await leases.release(self._pool, self._lease, self._holder)
            except Exception:  # the lease then expires by itself
                log.warning("could not release the leader lease", exc_info=True)
            self._set(False)

    async def _keep_lease(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self._renew_s if self.leader else self._poll_s)
            await self._renew()

    async def _renew(self) -> None:
        sent = time.monotonic()
        try:
            async with asyncio.timeout(self._renew_s):
                won = await leases.acquire(self._pool, self._lease, self._holder, self._ttl_s)
        except Exception as exc:
            # Unknown: keep what we have while the lease is surely ours, with a third of it
            # left to stop the parts before another process may take over.
            if self.leader and time.monotonic() >= self._valid_until - self._ttl_s / 3:
                log.warning("leader lease not renewed in time; stepping down",
                            extra={"lease": self._lease, "error": repr(exc)[:200]})
                self._set(False)
            return
        if won:
            self._valid_until = sent + self._ttl_s
        self._set(won)

    def _set(self, leader: bool) -> None:
        if leader == self.leader:
            return
        self.leader = leader
        if leader:
            self.elections += 1
        log.info("leader lease %s", "acquired" if leader else "given up",
                 extra={"lease": self._lease, "holder": self._holder})
        if self._on_change is not None:
            self._on_change(leader)
        self._changed.set()

    async def _follow(self) -> None:
        while not self._stopping:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self._apply()
            except Exception:  # a part that cannot start now may start at the next election
                log.exception("could not follow the leader lease", extra={"lease": self._lease})

    async def _apply(self) -> None:
        if self._stopping:
            return
        if self.leader and not self.running:
            self.running = True
            for part in self.parts:
                await part.start()
        elif not self.leader and self.running:
            await self._stop_parts()

    async def _stop_parts(self) -> None:
        if not self.running:
            return
        self.running = False
        for part in reversed(self.parts):
            try:
                await part.stop()
            except Exception:
                log.exception("part failed to stop", extra={"component": part.name})
        if self._after_stop is not None:
            await self._after_stop()
