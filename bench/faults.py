#!/usr/bin/env python3
"""Reliability figures under process-level faults (issue 16), as one JSON object.

Runs the fault harness of tests/faults/ (tests/faults/fault_harness.py: the real
`lighthouse run` process, PostgreSQL and Redis as their own processes, local targets, a
webhook receiver and an SMTP mailbox behind an Apprise channel) through kill -9 and
restart, a Redis outage, a PostgreSQL outage and SIGTERM under load, and prints:

  alerts_duplicated    deliveries with an idempotency key already received (webhook),
                       plus extra mails for one alert (SMTP)
  alerts_lost          alerts in the database that a receiver never got
  results_lost         checks the surviving run finished but never wrote (both outages
                       and its SIGTERM included); the killed run's unwritten checks are
                       checks_lost_in_killed_interval
  resume_after_kill9_s restart to the first new check
  resume_after_postgres_s / resume_after_redis_s
                       server back to the first new check / to /health 200
  sigterm_exit_s       SIGTERM to exit (code in sigterm_exit_code)

Bounded: about 4 minutes with the defaults (the interval is 30 s, each outage 60 s).

    .venv/bin/python bench/faults.py [--monitors 2000] [--outage-s 60]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "faults"))
from _common import emit, machine  # noqa: E402
from fault_harness import run_faults  # noqa: E402


def figures(report: dict[str, Any]) -> dict[str, Any]:
    a, k, r = report["alerts"], report["kill9"], report["redis"]
    p, s = report["postgres"], report["sigterm"]
    return {
        "alerts": a["in_database"],
        "alerts_duplicated": a["webhook_duplicated"] + a["email_duplicated"],
        "alerts_lost": a["webhook_lost"] + a["email_lost"],
        "alerts_in_wrong_language": a["webhook_not_english"] + a["email_not_spanish"],
        "state_changes_off_script": a["monitors_off_script"],
        "results_lost": s["results_lost"],
        "results_dropped": s["results_dropped"],
        "checks_lost_in_killed_interval": k["history"]["checks_lost_in_killed_interval"],
        "checks_late_after_kill": k["history"]["checks_late_after_kill"],
        "history_gaps_outside_killed_interval": k["history"]["gaps_outside_killed_interval"],
        "resume_after_kill9_s": k["resume_s"],
        "alerts_settled_after_kill9_s": k["settled_after_restart_s"],
        "resume_after_postgres_s": p["resume_s"],
        "max_checks_per_monitor_20s_after_postgres": p["max_checks_per_monitor_in_window"],
        "resume_after_redis_s": r["resume_s"],
        "sigterm_exit_s": s["exit_s"],
        "sigterm_checks_finished": s.get("finished_while_stopping"),
        "sigterm_checks_released": s.get("released_at_stop"),
        "sigterm_exit_code": s["exit_code"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=2000)
    parser.add_argument("--outage-s", type=float, default=60.0)
    args = parser.parse_args()
    report = asyncio.run(run_faults(monitors=args.monitors, failing=100, flipping=100, slow=30,
                                    outage_s=args.outage_s))
    emit({"bench": "faults", "machine": machine(), "monitors": args.monitors,
          "interval_s": 30, "outage_s": args.outage_s, **figures(report), "report": report})


if __name__ == "__main__":
    main()
