"""Periodic jobs that must run once per tick across all processes.

Each run inserts (job, tick) into job_runs; the process whose insert wins does the work.
TimescaleDB mode needs none of this: its own policies refresh, compress and drop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from lighthouse.core.storage import rollups
from lighthouse.core.storage.database import Pool, StorageMode

log = logging.getLogger(__name__)

JOBS: dict[str, timedelta] = {
    "rollup_hourly": timedelta(minutes=5),
    "rollup_daily": timedelta(hours=1),
    "retention": timedelta(hours=1),
}


def _tick(now: datetime, every: timedelta) -> datetime:
    step = int(every.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)


class Housekeeper:
    def __init__(self, pool: Pool, mode: StorageMode, worker_id: str, poll_s: float = 30.0) -> None:
        self._pool = pool
        self._mode = mode
        self._worker_id = worker_id
        self._poll_s = poll_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._mode == "plain":
            self._task = asyncio.create_task(self._loop(), name="housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_due(datetime.now(UTC))
            except Exception:
                log.exception("housekeeping failed")
            await asyncio.sleep(self._poll_s)

    async def _claim(self, job: str, now: datetime) -> bool:
        won = await self._pool.fetchval(
            "INSERT INTO job_runs (job, tick, claimed_by) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING RETURNING true",
            job, _tick(now, JOBS[job]), self._worker_id,
        )
        return bool(won)

    async def run_due(self, now: datetime) -> list[str]:
        ran: list[str] = []
        if await self._claim("rollup_hourly", now):
            await rollups.refresh_hourly(self._pool, now - timedelta(hours=2), now)
            ran.append("rollup_hourly")
        if await self._claim("rollup_daily", now):
            await rollups.refresh_daily(self._pool, now - timedelta(days=2), now + timedelta(hours=1))
            ran.append("rollup_daily")
        if await self._claim("retention", now):
            await rollups.delete_expired(self._pool, now)
            await self._pool.execute(
                "DELETE FROM job_runs WHERE started_at < now() - interval '2 days'"
            )
            ran.append("retention")
        return ran
