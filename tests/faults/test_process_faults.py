"""The real `lighthouse run` process under faults (issue 16): kill -9 and restart, Redis
and PostgreSQL each stopped for a minute, SIGTERM under load, with ~2,000 monitors at 30 s,
some failing, alerts to a webhook (English) and to an SMTP mailbox through Apprise
(Spanish). One run goes through the faults in turn (tests/faults/fault_harness.py says
the timeline); each test below asserts on its part of the record. About 3.5 minutes.

Run alone: `.venv/bin/python -m pytest -m faults tests/faults -q`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fault_harness import run_faults

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
async def report() -> AsyncIterator[dict[str, Any]]:
    figures = await run_faults(monitors=2000, failing=100, flipping=100, slow=30, outage_s=60.0)
    print(json.dumps(figures))  # shown with -s, and beside any failure
    yield figures


def test_every_alert_arrives_once_in_the_recipients_language(report: dict[str, Any]) -> None:
    a = report["alerts"]
    assert a["in_database"] == a["expected"], a
    assert a["monitors_off_script"] == 0, a  # no state change without its alert, none extra
    assert a["outbox_not_delivered"] == 0, a
    assert (a["webhook_lost"], a["webhook_duplicated"], a["webhook_unknown"]) == (0, 0, 0), a
    assert a["webhook_received"] == a["expected"], a
    assert (a["email_lost"], a["email_duplicated"]) == (0, 0), a
    assert a["email_received"] == a["expected"], a
    assert (a["webhook_not_english"], a["email_not_spanish"]) == (0, 0), a


def test_kill9_restart_resumes_within_10s_with_a_gap_only_for_the_killed_interval(
        report: dict[str, Any]) -> None:
    k = report["kill9"]
    # The kill hit a process with checks in flight, part-way through a wave of alerts.
    assert k["in_flight_at_kill"] > 0, k
    assert 0 < k["flipped_down_at_kill"] < 100, k
    # Alert sends were cut off mid-way, none of them accepted by a receiver.
    assert k["sends_aborted_by_kill"] == k["sends_held_at_kill"] > 0, k
    assert k["resume_s"] <= 10.0, k
    assert k["unchecked_after_restart"] == 0, k
    assert k["claimed_by_dead_run"] == 0, k  # every claim it held ended and was taken over
    assert k["outbox_claimed_by_dead_run"] == 0, k
    h = k["history"]
    assert h["gaps_outside_killed_interval"] == 0, h
    assert h["longest_gap_s"] <= 2 * 30 + 5, h


def test_redis_outage_degrades_and_recovers_by_itself(report: dict[str, Any]) -> None:
    r = report["redis"]
    assert r["service_alive"], r
    h = r["health"]
    assert h["samples"] >= 10 and h["status_codes"] == [503], h
    assert h["named_down"] == h["samples"], h
    # The flipped monitors recovered while Redis was away: their alerts still went out.
    d = r["recovery_alerts_delivered_during_outage"]
    assert d["webhook"] > 0 and d["email"] > 0, r
    assert r["resume_s"] <= 10.0, r
    assert r["log_lines_during_outage"] <= 10, r


def test_postgres_outage_buffers_reconnects_and_resumes_without_a_storm(
        report: dict[str, Any]) -> None:
    p = report["postgres"]
    assert p["service_alive"], p
    h = p["health"]
    assert h["samples"] >= 10 and h["status_codes"] == [503], h
    assert h["named_down"] == h["samples"], h
    assert p["dropped_during"] == 0, p
    assert p["log_lines_during_outage"] <= 40, p  # one line per outage and loop, not per retry
    assert p["resume_s"] <= 10.0, p
    # Each overdue monitor is checked once on return, then at its own phase again.
    assert p["max_checks_per_monitor_in_window"] <= 2, p
    assert p["checks_in_window"] <= 2 * 2000, p


def test_sigterm_under_load_flushes_and_exits_0_within_10s(report: dict[str, Any]) -> None:
    s = report["sigterm"]
    assert s["in_flight_before"] > 0, s  # under load: the stop finds checks running
    assert s["exit_code"] == 0, s
    assert s["exit_s"] <= 10.0, s
    assert s["results_pending"] == 0 and s["results_dropped"] == 0, s
    # Everything run-2 checked (through both outages and the stop) is in the history.
    assert s["results_lost"] == 0, s
    assert s["claims_past_due"] == 0, s
