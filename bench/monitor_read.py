"""The chat read of a user's monitors with their last result (``/monitor list``, ``status``,
any name lookup): core/storage/monitors.py's SELECT, which also reads the last result's
error code (failures told in the user's language), against the same SELECT without it, in
one run on one embedded PostgreSQL; and, for the record, with the last result's details
too (what /monitor status reads for one monitor only: 1.7x slower for the whole list).

One user with ``--monitors`` monitors (default 500, the enterprise limit's order), each with
``--history`` results whose details are as large as an EVM check's (~0.5 kB JSON).

    .venv/bin/python bench/monitor_read.py            # ~1 minute
    .venv/bin/python bench/monitor_read.py --monitors 1000 --runs 100

The last line is one JSON object: p50/p95 ms of each query and the ratio after/before.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, fresh_database, machine, percentile
from lighthouse.core.storage import monitors as monitor_rows

# The SELECT as it was before it read error_code; and with the details as well.
BEFORE = monitor_rows._SELECT.replace(", h.error_code AS last_error_code", "").replace(
    "SELECT time, ok, error, error_code, latency_ms", "SELECT time, ok, error, latency_ms")
WITH_DETAILS = monitor_rows._SELECT.replace(
    "h.error_code AS last_error_code", "h.error_code AS last_error_code, h.details").replace(
    "SELECT time, ok, error, error_code, latency_ms",
    "SELECT time, ok, error, error_code, details, latency_ms")


async def main(monitors: int, history: int, runs: int) -> None:
    assert BEFORE != monitor_rows._SELECT != WITH_DETAILS, "the SELECT changed: update these"
    async with fresh_database() as (pool, _dsn):
        owner = await pool.fetchval("INSERT INTO users (tier) VALUES ('enterprise') RETURNING id")
        await pool.execute(
            "INSERT INTO monitors (owner_id, name, type, config, interval_s, tier, next_due) "
            "SELECT $1, 'node ' || g, 'evm_rpc', '{}'::jsonb, 60, 'enterprise', now() "
            "FROM generate_series(1, $2) g", owner, monitors)
        await pool.execute(
            """
            INSERT INTO check_history (time, monitor_id, ok, status_code, latency_ms,
                                       error_code, error, details)
            SELECT now() - make_interval(mins => g), m.id, true, 200, 80, NULL, NULL,
                   jsonb_build_object('chain_id', 84532, 'block_number', 1000000 + g,
                       'block_timestamp', 1760000000 + g, 'block_age_s', 2.5,
                       'calls_ms', jsonb_build_object('eth_chainId', 12.5,
                                                      'eth_getBlockByNumber', 20.1),
                       'conditions', jsonb_build_array(jsonb_build_object(
                           'condition', '[BLOCK_AGE] < 60', 'ok', true, 'left', 2.5,
                           'reason', repeat('x', 300))))
            FROM monitors m, generate_series(0, $1 - 1) g
            """, history)
        await pool.execute("ANALYZE")
        order = " WHERE m.owner_id = $1 ORDER BY m.created_at, m.id"
        queries = {"before": BEFORE + order, "after": monitor_rows._SELECT + order,
                   "with_details": WITH_DETAILS + order}
        times: dict[str, list[float]] = {k: [] for k in queries}
        for _ in range(3):  # warm the cache for both
            for sql in queries.values():
                await pool.fetch(sql, owner)
        for _ in range(runs):  # interleaved, so both see the same machine
            for name, sql in queries.items():
                t0 = time.perf_counter()
                rows = await pool.fetch(sql, owner)
                times[name].append((time.perf_counter() - t0) * 1000)
                assert len(rows) == monitors
        fig = {k: {"p50_ms": round(percentile(v, 0.5) or 0, 2),
                   "p95_ms": round(percentile(v, 0.95) or 0, 2)} for k, v in times.items()}
        ratio = fig["after"]["p50_ms"] / fig["before"]["p50_ms"] if fig["before"]["p50_ms"] else None
        print(f"list of {monitors} monitors: before p50 {fig['before']['p50_ms']} ms, "
              f"after p50 {fig['after']['p50_ms']} ms")
        emit({"bench": "monitor_read", "monitors": monitors, "history": history, "runs": runs,
              **fig, "ratio_p50": None if ratio is None else round(ratio, 2), **machine()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--monitors", type=int, default=500)
    parser.add_argument("--history", type=int, default=20)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.monitors, args.history, args.runs))
