"""Hostile-target benchmark (issue 16): how long each misbehaving target takes to become an
error, the checker's peak memory with many of them at once, and server errors under fuzzing.

The hostile servers (tests/faults/hostile.py: silent, endless body, 50 MB body, 100,000-deep
JSON, slowloris headers, stalled TLS handshake) run in a child process; the checks run here
through the real check types and, for memory, the real scheduler on an embedded PostgreSQL.

    .venv/bin/python bench/hostile.py                    # time to error + RSS, 200 at once
    .venv/bin/python bench/hostile.py --concurrent 500   # more at once
    .venv/bin/python bench/hostile.py --fuzz             # + the schemathesis run's 5xx count

Prints one JSON line last: time_to_error_s per case (kind-type) and the worst per kind,
rss_mb (baseline, peak, growth) for --concurrent checks at once, fuzz (cases, 5xx count).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))
from _common import emit, fresh_database, machine  # noqa: E402
from faults.hostile import hostile_servers  # noqa: E402
from faults.hostile_checks import (  # noqa: E402
    CASES,
    TIMEOUT_S,
    RssSampler,
    hostile_monitors,
    insert_monitors,
    loopback_context,
    run_scheduler,
)
from lighthouse.core.checks.runner import run_check  # noqa: E402

_FUZZ_LINE = re.compile(r"schemathesis: (\d+) operations, (\d+) cases, .*statuses (\[.*\])")


async def time_to_error(ports: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Each case alone: seconds until its result, and the error it became."""
    out: dict[str, dict[str, Any]] = {}
    async with loopback_context() as ctx:
        for case in CASES:
            started = time.monotonic()
            result = await run_check(case.type, case.config(ports[case.kind]), ctx)
            out[case.label] = {"s": round(time.monotonic() - started, 3), "ok": result.ok,
                               "error_code": result.error_code}
    return out


async def rss_under_load(ports: dict[str, int], concurrent: int) -> dict[str, Any]:
    async with fresh_database() as (pool, dsn):
        await insert_monitors(pool, hostile_monitors(ports, concurrent))
        started = time.monotonic()
        with RssSampler() as rss:
            rows = await run_scheduler(dsn, pool, concurrent, concurrency=concurrent)
        return {"checks": len(rows), "failed_as_errors": sum(not r["ok"] for r in rows),
                "seconds": round(time.monotonic() - started, 2),
                "baseline": round(rss.baseline, 1), "peak": round(rss.peak, 1),
                "growth": round(rss.growth_mb, 1)}


def fuzz_figures() -> dict[str, Any]:
    """The schemathesis run of the suite (tests/api/test_openapi_fuzz.py), its statuses."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/api/test_openapi_fuzz.py", "-q", "-s",
         "-k", "schemathesis", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    match = _FUZZ_LINE.search(done.stdout)
    if match is None:
        return {"error": "no schemathesis figures in the output", "exit": done.returncode,
                "tail": done.stdout[-2000:]}
    statuses = dict(ast.literal_eval(match.group(3)))
    return {"operations": int(match.group(1)), "cases": int(match.group(2)),
            "server_errors_5xx": sum(n for code, n in statuses.items() if code >= 500),
            "statuses": statuses, "passed": done.returncode == 0}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--fuzz", action="store_true", help="also run the schemathesis test")
    args = parser.parse_args()
    with hostile_servers(max_s=900) as ports:
        cases = await time_to_error(ports)
        rss = await rss_under_load(ports, args.concurrent)
    by_kind: dict[str, float] = {}
    for label, figures in cases.items():
        kind = label.rsplit("-", 1)[0]
        by_kind[kind] = max(by_kind.get(kind, 0.0), figures["s"])
    for label, figures in cases.items():
        print(f"{label:22} {figures['s']:6.3f} s  {figures['error_code']}")
    print(f"{args.concurrent} at once: RSS {rss['baseline']} -> {rss['peak']} MB "
          f"(+{rss['growth']} MB) in {rss['seconds']} s")
    figures: dict[str, Any] = {
        "bench": "hostile", "timeout_s": TIMEOUT_S, "time_to_error_s": cases,
        "worst_time_to_error_s_by_kind": by_kind, "concurrent": args.concurrent, "rss_mb": rss,
        "all_errors": all(not f["ok"] for f in cases.values())
        and rss["failed_as_errors"] == rss["checks"],
        "machine": machine(),
    }
    if args.fuzz:
        figures["fuzz"] = fuzz_figures()
    emit(figures)


if __name__ == "__main__":
    asyncio.run(main())
