"""The scheduler: ticks (APScheduler), claims due monitors from PostgreSQL, runs checks.

APScheduler only drives the tick; which process checks which monitor is decided by the
row claim (core/storage/schedule.py), so any number of schedulers can share one database.
Concurrency is capped globally and per target host.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from lighthouse.core.checks import get_check_type, parse_config
from lighthouse.core.checks.base import CheckConfig, CheckContext, CheckResult
from lighthouse.core.checks.runner import crashed, not_runnable
from lighthouse.core.errors import LighthouseError
from lighthouse.core.faultlog import RepeatedFailure
from lighthouse.core.metrics import Metrics
from lighthouse.core.storage import maintenance
from lighthouse.core.storage.database import Pool
from lighthouse.core.storage.results import Finished, ResultWriter
from lighthouse.core.storage.schedule import (
    ClaimedCheck,
    claim_due,
    due_backlog,
    gone_or_paused,
    release,
)

log = logging.getLogger(__name__)
changes_log = logging.getLogger("lighthouse.monitors")

BACKLOG_SAMPLE_S = 5.0
# Planned maintenance starts within this of its time (one indexed query on a table that
# is nearly always empty).
MAINTENANCE_POLL_S = 10.0
# Gauges of deleted or paused monitors leave /metrics within this (core/metrics.py).
GAUGE_PRUNE_S = 60.0
# Cyclic-GC thresholds while a scheduler runs (see tune_gc).
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Make the cyclic garbage collector fit a process that runs thousands of checks a
    second (once per process; later calls change nothing).

    With Python's defaults (a young collection every 700 net allocations) the objects of
    the few hundred checks in flight survive young collections, reach the oldest
    generation and trigger full collections over the whole heap: at saturation the
    collector took about 40 % of the scheduler process's CPU (docs/performance.md).
    Collecting the young generation every 50,000 allocations lets a check's objects die
    by reference count first; ``gc.freeze`` moves what was built before (modules, models,
    settings) out of every later collection. Memory: at most one young generation of
    garbage cycles more, a few MB.
    """
    if gc.get_threshold() == GC_THRESHOLDS:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class Scheduler:
    def __init__(
        self,
        pool: Pool,
        ctx: CheckContext,
        writer: ResultWriter,
        metrics: Metrics,
        *,
        worker_id: str,
        max_concurrency: int = 500,
        per_host_concurrency: int = 20,
        tick_s: float = 0.25,
        claim_batch: int = 500,
        claim_ahead: int = 500,
        config_cache: int = 200_000,
    ) -> None:
        self._pool = pool
        self._ctx = ctx
        self._writer = writer
        self._metrics = metrics
        self.worker_id = worker_id
        self._max = max_concurrency
        self._per_host = per_host_concurrency
        self._tick_s = tick_s
        self._claim_batch = claim_batch
        self._host_slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self._per_host)
        )
        # Checks run at most max_concurrency at a time; up to claim_ahead more are claimed
        # and queued here, each started as a running check ends, so the next claim's round
        # trip overlaps running checks instead of leaving the loop idle while the last
        # ones of a batch finish. A queued claim is only a claim, not a waiting task.
        self._queued: deque[tuple[ClaimedCheck, float]] = deque()
        self._claim_ahead = claim_ahead
        # Checks run on long-lived worker tasks, at most max_concurrency of them, started as
        # the load first needs them; an idle worker waits on a future of its own in _idle.
        # A task per check cost its creation, first step and teardown at every check.
        self._workers: set[asyncio.Task[None]] = set()
        self._idle: deque[asyncio.Future[None]] = deque()
        # Claims a worker holds (waiting for a host slot or running): id -> that worker.
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._started: set[int] = set()
        # Claims taken and not run because the scheduler stopped: released at stop.
        self._unrun: list[int] = []
        self._aps: AsyncIOScheduler | None = None
        self._claiming = asyncio.Lock()
        self._stopping = False
        self.lags: list[float] = []  # recent lags, for benchmarks and /health
        self.checks_run = 0
        self._bound: dict[str, tuple[Any, Any, Any]] = {}
        self._backlog_sampled = 0.0
        self._windows_polled = 0.0
        self._gauges_pruned = time.monotonic()
        self._backlog = False
        self._refill: asyncio.Task[int] | None = None
        self._refill_at = max(1, min(claim_batch, max_concurrency) // 4)
        # Parsed configs by monitor, dropped all at once past config_cache entries (a few
        # hundred bytes each): a process checking more monitors than that parses their
        # configs again at every check, so size it to the monitors one process runs.
        self._configs: dict[int, tuple[str, str, CheckConfig | LighthouseError]] = {}
        self._config_cache = config_cache
        self._claim_failures = RepeatedFailure(log, "claiming due monitors")

    @property
    def in_flight(self) -> int:
        return len(self._in_flight) + len(self._queued)

    @property
    def _room(self) -> int:
        """Claims this scheduler can take now: free run slots plus the claim-ahead queue."""
        return self._max + self._claim_ahead - self.in_flight

    def start(self) -> None:
        tune_gc()
        # A tick still claiming when the next is due is normal under load, not a warning.
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._aps.add_job(
            self.tick, "interval", seconds=self._tick_s, max_instances=1, coalesce=True,
            id="claim-due", next_run_time=datetime.now(UTC),
            misfire_grace_time=None,
        )
        self._aps.start()

    async def tick(self) -> int:
        """Claim until a batch comes back short (all that was due is claimed) or capacity
        is used. Monitors that come due meanwhile wait for the next tick: looping until a
        batch came back empty claimed, below capacity, the few that came due during each
        round trip, 100-300 statements a second per worker (docs/scaling.md)."""
        if self._stopping or self._claiming.locked():
            return 0
        claimed_total = 0
        async with self._claiming:
            for _ in range(100):  # bounded: at most 100 batches a tick
                room = self._room
                if room <= 0 or self._stopping:
                    break
                try:
                    claims = await claim_due(
                        self._pool, self.worker_id, min(room, self._claim_batch)
                    )
                except Exception:
                    self._claim_failures.failed()  # one line per outage, not per tick
                    break
                self._claim_failures.succeeded()
                self._metrics.claim_queries.inc()
                self._metrics.monitors_claimed.inc(len(claims))
                received = time.monotonic()
                self._queued.extend((claim, received) for claim in claims)
                self._dispatch()
                claimed_total += len(claims)
                # A full batch means more is probably due: refill as slots free up.
                self._backlog = len(claims) == min(room, self._claim_batch)
                if not self._backlog:
                    break
        self._metrics.queue_depth.set(self.in_flight)
        now = time.monotonic()
        if now - self._backlog_sampled >= BACKLOG_SAMPLE_S:
            self._backlog_sampled = now
            try:
                self._metrics.due_backlog.set(await due_backlog(self._pool))
            except Exception:
                log.warning("could not sample the due backlog", exc_info=True)
        if now - self._windows_polled >= MAINTENANCE_POLL_S:
            self._windows_polled = now
            await self._start_planned_maintenance()
        if now - self._gauges_pruned >= GAUGE_PRUNE_S:
            self._gauges_pruned = now
            await self._prune_gauges()
        self._metrics.result_buffer.set(self._writer.pending)
        return claimed_total

    async def _start_planned_maintenance(self) -> None:
        try:
            started = await maintenance.apply_due(self._pool)
        except Exception:
            log.warning("could not start planned maintenance", exc_info=True)
            return
        for row in started:
            public_id = str(row["public_id"])
            changes_log.info(
                "monitor %s (%s) is maintenance until %s (planned window)", row["name"],
                public_id[:8], row["maintenance_until"].isoformat(),
                extra={"monitor_id": public_id, "monitor_name": row["name"],
                       "monitor_type": row["type"], "to_state": "maintenance",
                       "until": row["maintenance_until"].isoformat()})

    async def _prune_gauges(self) -> None:
        gauges = self._metrics.monitors
        try:
            gauges.forget(await gone_or_paused(self._pool, gauges.monitor_ids()))
        except Exception:
            log.warning("could not prune the per-monitor gauges", exc_info=True)

    def _dispatch(self) -> None:
        """Wake an idle worker per queued claim; start workers while fewer than
        max_concurrency exist. A worker that ends a check takes the next claim itself."""
        waiting = len(self._queued)
        while waiting and self._idle:
            idle = self._idle.popleft()
            if not idle.done():  # a cancelled worker leaves its future behind
                idle.set_result(None)
                waiting -= 1
        while waiting > 0 and len(self._workers) < self._max and not self._stopping:
            worker = asyncio.create_task(self._work(), name="check-worker")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
            waiting -= 1

    async def _work(self) -> None:
        """Run queued claims one after another until the scheduler stops.

        The check's coroutine is awaited here, in the worker itself, not through helpers:
        every resume of a check (each socket event of its request) passes through every
        coroutine between it and its task."""
        me = asyncio.current_task()
        assert me is not None
        loop = asyncio.get_running_loop()
        while not self._stopping:
            if not self._queued:
                idle = loop.create_future()
                self._idle.append(idle)
                await idle
                continue
            claim, received = self._queued.popleft()
            self._in_flight[claim.id] = me
            finished = False
            try:
                async with self._host_slots[claim.target_host or "-"]:
                    if self._stopping:
                        continue  # released below
                    started, parsed = self._begin(claim, received)
                    if isinstance(parsed, LighthouseError):
                        result = not_runnable(parsed)
                        description = claim.target_host
                    else:
                        check = get_check_type(claim.type)
                        try:
                            result = await check.run(parsed, self._ctx)
                        except Exception as exc:  # a check type's bug is a failed check
                            result = crashed(check, exc)
                        description = check.describe(parsed)
                    self._finish(claim, result, description, received, started)
                    finished = True
            except Exception:
                log.exception("check crashed", extra={"monitor_id": claim.id})
            finally:
                self._in_flight.pop(claim.id, None)
                self._started.discard(claim.id)
                if not finished and self._stopping:  # skipped, or cancelled at stop
                    self._unrun.append(claim.id)
            self._maybe_refill()

    def _begin(self, claim: ClaimedCheck, received: float
               ) -> tuple[float, CheckConfig | LighthouseError]:
        """Mark the claim started and record its lag; its start time and parsed config."""
        self._started.add(claim.id)
        started = time.monotonic()
        lag = (claim.claimed_at - claim.due_at).total_seconds() + (started - received)
        self.lags.append(lag)
        if len(self.lags) > 200_000:
            del self.lags[:100_000]
        self._metrics.schedule_lag.observe(max(lag, 0.0))
        return started, self._parsed(claim)

    def _finish(self, claim: ClaimedCheck, result: CheckResult, description: str,
                received: float, started: float) -> None:
        """Count the result and hand it to the writer."""
        elapsed = time.monotonic() - started
        duration, up, down = self._type_metrics(claim.type)
        duration.observe(elapsed)
        (up if result.ok else down).inc()
        checked_at = claim.claimed_at + timedelta(seconds=started - received + elapsed)
        self._writer.add(Finished(claim, result, checked_at, description))
        self.checks_run += 1

    def _maybe_refill(self) -> None:
        """Under a backlog, claim again as soon as a quarter of the slots are free instead
        of waiting for the next tick (ticks alone cap throughput at batch x ticks/s)."""
        if (self._backlog and not self._stopping and not self._claiming.locked()
                and (self._refill is None or self._refill.done())
                and self._room >= self._refill_at):
            self._refill = asyncio.create_task(self.tick(), name="scheduler-refill")

    def _type_metrics(self, type_name: str) -> tuple[Any, Any, Any]:
        """Metric children bound once per type: labels() per check is measurable at 5k/s."""
        bound = self._bound.get(type_name)
        if bound is None:
            m = self._metrics
            bound = (m.check_duration.labels(type_name), m.checks_total.labels(type_name, "up"),
                     m.checks_total.labels(type_name, "down"))
            self._bound[type_name] = bound
        return bound

    def _parsed(self, claim: ClaimedCheck) -> CheckConfig | LighthouseError:
        """Validated config, cached per monitor while its stored config is unchanged."""
        cached = self._configs.get(claim.id)
        if cached is not None and cached[0] == claim.type and cached[1] == claim.config_text:
            return cached[2]
        parsed: CheckConfig | LighthouseError
        try:
            parsed = parse_config(claim.type, claim.config)
        except LighthouseError as exc:
            parsed = exc
        if len(self._configs) >= self._config_cache:
            self._configs.clear()
        self._configs[claim.id] = (claim.type, claim.config_text, parsed)
        return parsed

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop claiming; let running checks finish (bounded); release the rest; flush."""
        self._stopping = True
        # Let a claim in progress commit and dispatch before APScheduler cancels its job:
        # a claim cancelled after it committed would strand its rows until the lease ends.
        async with self._claiming:
            pass
        if self._refill is not None:
            await asyncio.gather(self._refill, return_exceptions=True)
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            await asyncio.sleep(0)
            self._aps = None
        # Workers that run no check (idle, or waiting for a host slot) end now; running
        # checks get the grace, then are cancelled. Every claim not run is released.
        running = {t for mid, t in self._in_flight.items() if mid in self._started}
        for worker in self._workers - running:
            worker.cancel()
        if running:
            _done, pending = await asyncio.wait(running, timeout=grace_s)
            for worker in pending:
                worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        leftover = [*self._unrun, *(claim.id for claim, _ in self._queued)]
        self._unrun.clear()
        self._queued.clear()
        self._idle.clear()
        await release(self._pool, self.worker_id, leftover)
        await self._writer.stop()
