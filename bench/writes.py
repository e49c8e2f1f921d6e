"""Write-path benchmark: the batched result writer against a raw COPY of the same rows.

The writer does what production does per batch: COPY into check_history, the state
update of every monitor, and alerts for state changes, in one transaction, and the
per-monitor gauges of every written result (core/metrics.py). The raw figure is
copy_records_to_table alone, so the ratio shows what state keeping costs;
``gauge_us_per_row`` times the gauges' part alone, on the same rows, and ``gauge_share``
is that part of the writer's time.

    .venv/bin/python bench/writes.py --monitors 1000 --batches 100
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, fresh_database, machine
from lighthouse.core.checks.base import CheckResult
from lighthouse.core.metrics import Metrics
from lighthouse.core.storage.results import HISTORY_COLUMNS, Finished, ResultWriter
from lighthouse.core.storage.schedule import claim_due


async def run(args: argparse.Namespace) -> dict[str, object]:
    async with fresh_database() as (pool, _dsn):
        await pool.execute(
            """
            WITH u AS (INSERT INTO users (tier) VALUES ('enterprise') RETURNING id)
            INSERT INTO monitors (owner_id, name, type, config, target_host, interval_s, tier, next_due)
            SELECT u.id, 'm' || g, 'http', jsonb_build_object('url', 'http://127.0.0.1/' || g),
                   '127.0.0.1', 60, 'enterprise', now() - interval '1 hour'
            FROM u, generate_series(1, $1) g
            """,
            args.monitors,
        )
        metrics = Metrics()
        writer = ResultWriter(pool, "bench", max_batch=args.monitors, metrics=metrics)
        base = datetime.now(UTC)
        writer_s = 0.0
        gauge_s = 0.0
        raw_rows: list[list[tuple[object, ...]]] = []
        for b in range(args.batches):
            # Claim every monitor (untimed) so each batch updates real state rows.
            await pool.execute("UPDATE monitors SET next_due = now() - interval '1 s', "
                               "claimed_by = NULL, claimed_until = NULL")
            claims = await claim_due(pool, "bench", args.monitors)
            at = base + timedelta(seconds=b)
            items = [
                Finished(c, CheckResult(ok=(b + c.id) % 50 != 0, latency_ms=12.5 + c.id % 40,
                                        status_code=200, details={"timings": {"total_ms": 12.5}}),
                         at, "http://127.0.0.1/")
                for c in claims
            ]
            for item in items:
                writer.add(item)
            t = time.perf_counter()
            await writer.flush()
            writer_s += time.perf_counter() - t
            monitors = getattr(metrics, "monitors", None)
            if monitors is not None:  # the same call the writer makes, timed alone
                t = time.perf_counter()
                monitors.record(items)
                gauge_s += time.perf_counter() - t
            raw_rows.append([(at + timedelta(days=1), c.id, True, 200, 12, None, None,
                              {"timings": {"total_ms": 12.5}}, "bench") for c in claims])
        rows = args.monitors * args.batches
        raw_s = 0.0
        async with pool.acquire() as conn:
            for batch in raw_rows:
                t = time.perf_counter()
                await conn.copy_records_to_table("check_history", records=batch,
                                                 columns=HISTORY_COLUMNS)
                raw_s += time.perf_counter() - t
        alerts = await pool.fetchval("SELECT count(*) FROM alerts")
    writer_rate = rows / writer_s
    raw_rate = rows / raw_s
    return {
        "bench": "writes", "rows": rows, "batch": args.monitors,
        "rows_per_s": round(writer_rate), "raw_copy_rows_per_s": round(raw_rate),
        "ratio": round(writer_rate / raw_rate, 3), "alerts_written": alerts,
        "gauge_us_per_row": round(gauge_s / rows * 1e6, 3),
        # The gauges' part of the writer's time per row, both measured in this run.
        "gauge_share": round(gauge_s / writer_s, 4),
        "machine": machine(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--monitors", type=int, default=1000)
    p.add_argument("--batches", type=int, default=100)
    args = p.parse_args()
    if not (1 <= args.monitors <= 100_000 and 1 <= args.batches <= 1000):
        p.error("--monitors 1..100000, --batches 1..1000")
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
