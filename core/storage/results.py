"""Batched result writes: COPY into check_history, state, alerts and outbox in one transaction.

Writing each result on its own costs a round trip and a commit per check; a batch of
a few hundred results costs about the same as one. The state change and its outbox rows
commit together, so a crash never leaves an alert without its state or the reverse.

A batch is one statement per part, so one row PostgreSQL refuses would fail every
monitor's results on every retry. Text from targets is cleaned first (core/text.py);
a row that still fails for its own data is found by splitting the batch and set aside
in ``quarantined_results`` with its error, and the rest is written. A result stays in
the buffer until both its history row and its state are written; the buffer is
bounded, and what does not fit is dropped oldest first and counted. The alert rows a
batch makes, and the statements that write them, are in core/storage/alerts_out.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from lighthouse.core.checks.base import CheckResult
from lighthouse.core.faultlog import RepeatedFailure
from lighthouse.core.metrics import Metrics
from lighthouse.core.state import EventKind, State, apply
from lighthouse.core.storage import incidents
from lighthouse.core.storage.alerts_out import PendingAlert, alerts_for, insert_alerts
from lighthouse.core.storage.database import Pool
from lighthouse.core.storage.schedule import ClaimedCheck
from lighthouse.core.text import clean_text

log = logging.getLogger(__name__)
# State changes go to the same logger as the changes people make (core/service/monitors.py),
# so one logger name follows a monitor's whole story.
changes_log = logging.getLogger("lighthouse.monitors")

HISTORY_COLUMNS = (
    "time", "monitor_id", "ok", "status_code", "latency_ms", "error_code", "error", "details",
    "worker_id",
)
ERROR_TEXT_MAX = 500
# Results kept while the database is unreachable. A check claims its monitor first, so
# during an outage only what was already claimed arrives here; the cap guards memory
# (a result with its details is a few kB) if that ever stops being true.
MAX_BUFFERED = 50_000
# The buffer has had results and no write succeeded for this long: /health says so.
STALL_AFTER_S = 15.0
# Errors caused by a row's own data (class 22 data exceptions, which include asyncpg's
# refusal to encode a query argument, class 23 constraints, class 54 limits, and what
# COPY's binary encoders raise unwrapped: OverflowError, UnicodeEncodeError, ...):
# retrying the same batch fails the same way, so it is split to find the row. Anything
# else (lost connection, server restarting, timeout) is an outage, retried whole.
ROW_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.exceptions.DataError,
    asyncpg.exceptions.IntegrityConstraintViolationError,
    asyncpg.exceptions.ProgramLimitExceededError,
    OverflowError, UnicodeError, ValueError, TypeError,
)

# A result batch need not wait for its WAL flush: a database crash can lose the last
# fraction of a second of batches, and it loses a state change together with its alert
# rows (one transaction), so the next check decides again. Nothing half-written survives.
_ASYNC_COMMIT = "SET LOCAL synchronous_commit = off"

_UPDATE_STATE = """
UPDATE monitors m SET
    state = u.state,
    state_version = m.state_version + u.bump,
    state_since = u.state_since,
    consecutive_failures = u.fails,
    consecutive_successes = u.oks,
    last_alert_at = u.last_alert_at,
    incident_started_at = u.incident_started_at,
    maintenance_until = u.maintenance_until,
    incident_failures = u.incident_failures,
    last_check_at = u.checked_at,
    last_ok = u.ok,
    last_error = u.error,
    last_latency_ms = u.latency_ms,
    claimed_by = NULL,
    claimed_until = NULL,
    updated_at = now()
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::timestamptz[], $6::int[],
            $7::int[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[],
            $11::timestamptz[], $12::bool[], $13::text[], $14::int[], $15::int[])
     AS u(id, version, state, bump, state_since, fails, oks, last_alert_at,
          incident_started_at, maintenance_until, checked_at, ok, error, latency_ms,
          incident_failures)
WHERE m.id = u.id AND m.state_version = u.version AND m.claimed_by = $16
RETURNING m.id, m.state_version
"""

_QUARANTINE = """
INSERT INTO quarantined_results (monitor_id, checked_at, worker_id, stage, error, result)
VALUES ($1, $2, $3, $4, $5, $6)
"""

# A monitor paused, edited or deleted while its check ran keeps its new state;
# only the claim is dropped.
_RELEASE_STALE = """
UPDATE monitors SET claimed_by = NULL, claimed_until = NULL,
    last_check_at = now()
WHERE id = ANY($1::bigint[]) AND claimed_by = $2
"""


@dataclass
class Finished:
    claim: ClaimedCheck
    result: CheckResult
    checked_at: datetime
    description: str
    history_written: bool = False  # its row is in check_history (retries skip it)
    state_written: bool = False  # its state, alerts and outbox rows are committed

    @property
    def done(self) -> bool:
        return self.history_written and self.state_written


def _evidence(f: Finished) -> dict[str, Any]:
    """The refused result as printable ASCII (ascii() escapes whatever made it fail)."""
    r = f.result
    return {
        "ok": r.ok, "status_code": r.status_code, "latency_ms": r.latency_ms,
        "error_code": ascii(r.error_code)[:200], "error": ascii(r.error)[:2000],
        "details": ascii(r.details)[:8000], "signals": ascii(r.signals)[:2000],
        "target": ascii(f.description)[:500],
    }


class ResultWriter:
    """Buffers finished checks; flushes by size or age."""

    def __init__(
        self,
        pool: Pool,
        worker_id: str,
        *,
        max_batch: int = 500,
        max_delay_s: float = 0.25,
        max_buffered: int = MAX_BUFFERED,
        stall_after_s: float = STALL_AFTER_S,
        metrics: Metrics | None = None,
        on_flush: Callable[[int, int], Awaitable[None] | None] | None = None,
    ) -> None:
        self._pool = pool
        self._worker_id = worker_id
        self._max_batch = max_batch
        self._max_delay_s = max_delay_s
        self._max_buffered = max_buffered
        self._stall_after_s = stall_after_s
        self._metrics = metrics
        self._buffer: list[Finished] = []
        self._lock = asyncio.Lock()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._on_flush = on_flush
        self.rows_written = 0
        self.alerts_written = 0
        self.quarantined = 0
        self.dropped = 0
        self._closing = False
        # When the buffer last drained or a write last succeeded (monotonic seconds).
        self._progress_at = time.monotonic()
        self._flush_failures = RepeatedFailure(log, "writing results")

    def add(self, item: Finished) -> None:
        if not self._buffer:
            self._progress_at = time.monotonic()  # an empty buffer was not stalled
        self._buffer.append(item)
        overflow = len(self._buffer) - self._max_buffered
        if overflow > 0:
            del self._buffer[:overflow]
            self.dropped += overflow
            if self._metrics is not None:
                self._metrics.results_dropped.inc(overflow)
            log.warning("result buffer full; oldest results dropped", extra={"dropped": overflow})
        if len(self._buffer) >= self._max_batch:
            self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def stalled_s(self) -> float:
        """Seconds the buffer has held results without a successful write (0 when draining)."""
        if not self._buffer:
            return 0.0
        return time.monotonic() - self._progress_at

    def health(self) -> str:
        return "stalled" if self.stalled_s() > self._stall_after_s else "ok"

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="result-writer")

    async def _run(self) -> None:
        while not self._closing:
            try:
                await asyncio.wait_for(self._wakeup.wait(), self._max_delay_s)
            except TimeoutError:
                pass
            self._wakeup.clear()
            try:
                await self.flush()
            except Exception:  # keep the buffer and try again next round
                self._flush_failures.failed()  # one line per outage, not per round
                await asyncio.sleep(1.0)
            else:
                self._flush_failures.succeeded()

    async def stop(self) -> None:
        # Never cancel a flush halfway: a COPY that committed before the cancellation would
        # not be marked written and would be written again by the final flush.
        if self._task is not None:
            self._closing = True
            self._wakeup.set()
            await self._task
            self._task = None
        await self.flush()

    async def flush(self) -> int:
        async with self._lock:
            if not self._buffer:
                return 0
            size = self._max_batch * 4
            batch, self._buffer = self._buffer[:size], self._buffer[size:]
            try:
                await self._write_isolating(batch)
            except BaseException:
                self._buffer[:0] = [f for f in batch if not f.done]
                raise
            self._progress_at = time.monotonic()
            return len(batch)

    async def _write_isolating(self, batch: list[Finished]) -> None:
        """Write ``batch``; when a row's data is refused, halve until it is found."""
        try:
            await self._write(batch)
        except ROW_ERRORS as exc:
            left = [f for f in batch if not f.done]
            if len(left) == 1:
                await self._quarantine(left[0], exc)
            elif left:
                self._progress_at = time.monotonic()  # splitting is progress, not a stall
                half = len(left) // 2
                await self._write_isolating(left[:half])
                await self._write_isolating(left[half:])

    async def _quarantine(self, f: Finished, exc: Exception) -> None:
        stage = "history" if not f.history_written else "state"
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_QUARANTINE, f.claim.id, f.checked_at, self._worker_id, stage,
                               ascii(str(exc))[:1000], _evidence(f))
            if not f.state_written:
                # The claim ends now; the next due check decides the state again.
                await conn.execute(_RELEASE_STALE, [f.claim.id], self._worker_id)
        f.history_written = f.state_written = True
        self.quarantined += 1
        if self._metrics is not None:
            self._metrics.results_quarantined.inc()
        log.error("result refused by the database; quarantined",
                  extra={"monitor_id": f.claim.id, "stage": stage, "error": ascii(str(exc))[:300]})

    async def _copy_history(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_ASYNC_COMMIT)
            await conn.copy_records_to_table("check_history", records=rows, columns=HISTORY_COLUMNS)
        self.rows_written += len(rows)
        if self._metrics is not None:
            self._metrics.result_writes.labels("history").inc()

    async def _write_state(self, cols: list[list[Any]], alerts_by_id: dict[int, list[PendingAlert]],
                           opened: list[incidents.Opening], closed: list[incidents.Closing]
                           ) -> set[int]:
        """The ids whose state was written (the others changed meanwhile, e.g. paused)."""
        if not cols[0]:
            return set()
        async with self._pool.acquire() as conn:
            if opened:
                opened = await incidents.with_first_errors(conn, opened)
            async with conn.transaction():
                done = await self._commit_state(conn, cols, alerts_by_id, opened, closed)
        if self._metrics is not None:
            self._metrics.result_writes.labels("state").inc()
        return done

    async def _commit_state(self, conn: Any, cols: list[list[Any]],
                            alerts_by_id: dict[int, list[PendingAlert]],
                            opened: list[incidents.Opening], closed: list[incidents.Closing]
                            ) -> set[int]:
        """The state update, its alerts and incidents: one transaction (the caller's)."""
        await conn.execute(_ASYNC_COMMIT)
        updated = await conn.fetch(_UPDATE_STATE, *cols, self._worker_id)
        done = {r["id"] for r in updated}
        stale = [mid for mid in cols[0] if mid not in done]
        if stale:
            await conn.execute(_RELEASE_STALE, stale, self._worker_id)
        alerts = [a for mid in done for a in alerts_by_id.get(mid, ())]
        if alerts:
            self.alerts_written += await insert_alerts(conn, alerts)
        if opened or closed:
            await incidents.write(conn, [o for o in opened if o.monitor_id in done],
                                  [c for c in closed if c.monitor_id in done])
        return done

    async def _write(self, batch: list[Finished]) -> None:
        history: list[tuple[Any, ...]] = []
        in_history: list[Finished] = []
        in_state: list[Finished] = []
        cols: list[list[Any]] = [[] for _ in range(15)]
        alerts_by_id: dict[int, list[PendingAlert]] = {}
        opened: list[incidents.Opening] = []
        closed: list[incidents.Closing] = []
        changes: list[tuple[Finished, State, State, str | None]] = []
        for f in batch:
            r, c = f.result, f.claim
            error = clean_text(r.error[:ERROR_TEXT_MAX]) if r.error else None
            latency = None if r.latency_ms is None else round(r.latency_ms)
            if not f.history_written:
                in_history.append(f)
                history.append((
                    f.checked_at, c.id, r.ok, r.status_code, latency, r.error_code, error,
                    r.details or None, self._worker_id,
                ))
            if f.state_written:
                continue
            if r.ok and c.state is State.UP and c.consecutive_failures == 0 and not r.signals:
                # Healthy stays healthy: nothing in the state changes (the success streak only
                # matters while DOWN), so the monitor row is not rewritten at all. The claim
                # lease runs out by itself before the next due time.
                f.state_written = True
                continue
            in_state.append(f)
            st = c.status
            new, event = apply(st, r.ok, f.checked_at, c.policy)
            changed = new.state is not st.state
            if changed:
                changes.append((f, st.state, new.state, error))
            for col, value in zip(cols, (
                c.id, c.state_version, new.state.value, 1 if changed else 0, new.state_since,
                new.consecutive_failures, new.consecutive_successes, new.last_alert_at,
                new.incident_started_at, new.maintenance_until, f.checked_at, r.ok, error, latency,
                new.incident_failures,
            ), strict=True):
                col.append(value)
            pending = alerts_for(f, event, c.state_version + (1 if changed else 0),
                                 new.state is State.MAINTENANCE, error)
            if pending:
                alerts_by_id.setdefault(c.id, []).extend(pending)
            if event is not None and event.kind is EventKind.DOWN and event.incident_started_at:
                opened.append(incidents.Opening(c.id, event.incident_started_at, r.error_code,
                                                error, event.incident_failures))
            elif event is not None and event.kind is EventKind.RECOVERY:
                closed.append(incidents.Closing(c.id, event.incident_started_at, f.checked_at,
                                                event.incident_failures))

        # History rows and state are independent: write them on two connections at once.
        # The state, its alerts and their outbox rows still commit together. Each part is
        # marked written on its own, so a retry repeats only what failed.
        copied, stated = await asyncio.gather(
            self._copy_history(history), self._write_state(cols, alerts_by_id, opened, closed),
            return_exceptions=True,
        )
        if not isinstance(copied, BaseException):
            for f in in_history:
                f.history_written = True
            if self._metrics is not None:
                self._metrics.monitors.record(in_history)
        if not isinstance(stated, BaseException):
            for f in in_state:
                f.state_written = True
            for f, before, after, error in changes:
                if f.claim.id in stated:
                    _log_change(f, before, after, error)
        failures = [e for e in (copied, stated) if isinstance(e, BaseException)]
        if failures:
            # An outage outranks a refused row: splitting cannot help while it lasts.
            outage = [e for e in failures if not isinstance(e, ROW_ERRORS)]
            raise (outage or failures)[0]
        if self._on_flush is not None:
            res = self._on_flush(len(history), len(alerts_by_id))
            if res is not None:
                await res


def _log_change(f: Finished, before: State, after: State, error: str | None) -> None:
    """One line per state change a check caused, naming the monitor as the CLI finds it."""
    level = logging.WARNING if after is State.DOWN else logging.INFO
    if not changes_log.isEnabledFor(level):
        return  # a new fleet's first results are all changes: build no line nobody reads
    c = f.claim
    public_id = str(c.public_id)
    reason = f": {error}" if error and not f.result.ok else ""
    changes_log.log(
        level,
        "monitor %s (%s) is %s (was %s)%s", c.name, public_id[:8], after.value, before.value,
        reason, extra={"monitor_id": public_id, "monitor_name": c.name, "monitor_type": c.type,
                       "from_state": before.value, "to_state": after.value,
                       "target": f.description, "error": error if not f.result.ok else None},
    )
