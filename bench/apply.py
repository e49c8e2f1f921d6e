"""Monitors-as-code benchmark: apply a file of N monitors, apply it again unchanged, then
with 100 entries changed; seconds for each, file reading and parsing included.

    .venv/bin/python bench/apply.py --monitors 10000

Targets (2 cores): 10,000 new < 10 s, unchanged re-apply < 2 s. The monitors are HTTP
checks of 127.0.0.1 with a condition (private targets allowed, so no name is resolved).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, fresh_database, machine
from lighthouse.core.config_file.apply import apply_file
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService


def make_file(n: int, changed: int = 0) -> str:
    lines = ["defaults:", "  interval: 60", "monitors:"]
    for i in range(n):
        interval = 120 if i < changed else 60
        lines += [f"  - name: monitor {i}", "    type: http", f"    interval: {interval}",
                  "    config:", f"      url: http://127.0.0.1:9/m{i}",
                  '      conditions: ["[STATUS] == 200"]']
    return "\n".join(lines) + "\n"


async def timed_apply(service: MonitorService, path: Path) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    report = await apply_file(service, path)
    seconds = time.perf_counter() - started
    return seconds, {"added": report.count("+"), "changed": report.count("~"),
                     "removed": report.count("-"), "unchanged": report.unchanged}


async def run(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="lh-bench-apply-") as tmp:
        first, second = Path(tmp) / "first.yaml", Path(tmp) / "second.yaml"
        first.write_text(make_file(args.monitors))
        file_bytes = first.stat().st_size
        second.write_text(make_file(args.monitors, changed=args.changes))
        async with fresh_database() as (pool, _dsn):
            service = MonitorService(pool, TargetGuard(allow_private=True))
            new_s, new = await timed_apply(service, first)
            same_s, same = await timed_apply(service, first)
            changed_s, changed = await timed_apply(service, second)
            stored = await pool.fetchval("SELECT count(*) FROM monitors WHERE managed_by IS NOT NULL")
            moved = await pool.fetchval("SELECT count(*) FROM monitors WHERE interval_s = 120")
    assert new["added"] == args.monitors and stored == args.monitors, (new, stored)
    assert same["unchanged"] == args.monitors and same["added"] + same["changed"] == 0, same
    assert changed["changed"] == args.changes == moved, (changed, moved)
    return {
        "bench": "apply", "monitors": args.monitors, "file_bytes": file_bytes,
        "new_s": round(new_s, 3), "unchanged_s": round(same_s, 3),
        "changed_s": round(changed_s, 3), "changes": args.changes, "machine": machine(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--monitors", type=int, default=10_000)
    p.add_argument("--changes", type=int, default=100)
    figures = asyncio.run(run(p.parse_args()))
    emit(figures)


if __name__ == "__main__":
    main()
