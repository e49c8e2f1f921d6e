"""Table-driven state machine: each row is a sequence of results and what must follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lighthouse.core.state import EventKind, Policy, State, Status, apply, pause, resume

T0 = datetime(2026, 1, 1, tzinfo=UTC)
P = Policy(failure_threshold=3, success_threshold=2, reminder_interval=timedelta(minutes=10))


def run(start: Status, results: str, step: timedelta = timedelta(minutes=1),
        policy: Policy = P) -> tuple[list[State], list[tuple[int, EventKind]]]:
    """results: a string of '+' (success) and '-' (failure)."""
    s, states, events = start, [], []
    for i, ch in enumerate(results):
        s, ev = apply(s, ch == "+", T0 + step * i, policy)
        states.append(s.state)
        if ev:
            events.append((i, ev.kind))
    return states, events


U, PE, D = State.UP, State.PENDING, State.DOWN

CASES = [
    # name, start state, results, expected states, expected events
    ("healthy stays up", U, "+++", [U, U, U], []),
    ("new monitor confirms up silently", PE, "+", [U], []),
    ("one blip is pending, then up silently", U, "-+", [PE, U], []),
    ("threshold reached goes down once", U, "----", [PE, PE, D, D], [(2, EventKind.DOWN)]),
    ("flapping below threshold never alerts", U, "-+-+--+-", [PE, U, PE, U, PE, PE, U, PE], []),
    ("recovery needs two successes", U, "---+-++", [PE, PE, D, D, D, D, U],
     [(2, EventKind.DOWN), (6, EventKind.RECOVERY)]),
    ("new monitor failing from the start", PE, "---", [PE, PE, D], [(2, EventKind.DOWN)]),
]


@pytest.mark.parametrize(("name", "start", "results", "states", "events"), CASES,
                         ids=[c[0] for c in CASES])
def test_transitions(name: str, start: State, results: str, states: list[State],
                     events: list[tuple[int, EventKind]]) -> None:
    got_states, got_events = run(Status(start), results)
    assert got_states == states
    assert got_events == events


def test_reminders_no_closer_than_interval_and_never_below_five_minutes() -> None:
    # Down at minute 2; reminder interval 10 min: reminders at minutes 12 and 22 only.
    _, events = run(Status(U), "-" * 25)
    assert events == [(2, EventKind.DOWN), (12, EventKind.REMINDER), (22, EventKind.REMINDER)]
    # A 1-minute reminder setting is raised to the 5-minute floor.
    fast = Policy(3, 2, timedelta(minutes=1))
    _, events = run(Status(U), "-" * 15, policy=fast)
    assert events == [(2, EventKind.DOWN), (7, EventKind.REMINDER), (12, EventKind.REMINDER)]
    off = Policy(3, 2, timedelta(0))
    _, events = run(Status(U), "-" * 30, policy=off)
    assert events == [(2, EventKind.DOWN)]


def test_recovery_carries_incident_start() -> None:
    """The incident starts at the first failing check, not at the one that crossed the
    threshold, and counts every failed check until recovery (the one between the two
    successes included)."""
    s = Status(U)
    for i in range(3):
        s, ev = apply(s, False, T0 + timedelta(minutes=i), P)
    assert s.incident_started_at == T0
    assert ev is not None and ev.kind is EventKind.DOWN and ev.incident_started_at == T0
    assert ev.incident_failures == 3
    for minute, ok in ((10, False), (30, True), (31, False), (32, True)):
        s, ev = apply(s, ok, T0 + timedelta(minutes=minute), P)
    s, ev = apply(s, True, T0 + timedelta(minutes=33), P)
    assert ev is not None and ev.kind is EventKind.RECOVERY
    assert ev.incident_started_at == T0 and ev.incident_failures == 5
    assert s.incident_started_at is None and s.incident_failures == 0


def test_a_blip_that_never_goes_down_leaves_no_incident_start() -> None:
    s = Status(U)
    s, _ = apply(s, False, T0, P)
    assert s.incident_started_at == T0 and s.incident_failures == 1
    s, ev = apply(s, True, T0 + timedelta(minutes=1), P)
    assert ev is None and s.incident_started_at is None and s.incident_failures == 0
    # The next streak starts its own incident.
    for i in range(2, 5):
        s, ev = apply(s, False, T0 + timedelta(minutes=i), P)
    assert ev is not None and ev.incident_started_at == T0 + timedelta(minutes=2)


def test_reminders_measure_from_the_first_failure() -> None:
    s = Status(U)
    events = []
    for i in range(13):
        s, ev = apply(s, False, T0 + timedelta(minutes=i), P)
        if ev:
            events.append(ev)
    assert [e.kind for e in events] == [EventKind.DOWN, EventKind.REMINDER]
    assert events[1].incident_started_at == T0 and events[1].incident_failures == 13


def test_paused_ignores_results_and_resume_starts_fresh() -> None:
    s = pause(Status(D, consecutive_failures=7), T0)
    s2, ev = apply(s, False, T0, P)
    assert (s2, ev) == (s, None)
    r = resume(s, T0)
    assert r.state is State.PENDING and r.consecutive_failures == 0


def test_maintenance_records_without_alerting_and_leaves_by_outcome() -> None:
    end = T0 + timedelta(minutes=5)
    m = Status(State.MAINTENANCE, maintenance_until=end)
    states, events = run(m, "------")  # minutes 0..5; the window ends at minute 5
    assert states[:5] == [State.MAINTENANCE] * 5
    # Still failing: the DOWN alert is the note, and the incident starts when the window ends.
    assert states[5] is D and events == [(5, EventKind.DOWN)]
    s = m
    for i in range(6):
        s, ev = apply(s, False, T0 + timedelta(minutes=i), P)
    assert ev is not None and ev.incident_started_at == end and s.incident_failures == 1
    # Healthy at the end: a note that the window is over, nothing else.
    states, events = run(Status(State.MAINTENANCE, maintenance_until=end), "-----+")
    assert states[5] is U and events == [(5, EventKind.MAINTENANCE_END)]
    # Failing once at the end, below the threshold: pending, with the note.
    states, events = run(Status(State.MAINTENANCE, maintenance_until=end), "+++++-")
    assert states[5] is PE and events == [(5, EventKind.MAINTENANCE_END)]


def test_failures_inside_maintenance_start_no_incident() -> None:
    s = Status(State.MAINTENANCE, maintenance_until=T0 + timedelta(hours=1))
    for i in range(5):
        s, ev = apply(s, False, T0 + timedelta(minutes=i), P)
        assert ev is None
    assert s.incident_started_at is None and s.incident_failures == 0


def test_pause_and_resume_forget_the_incident() -> None:
    s = Status(D, consecutive_failures=7, incident_started_at=T0, incident_failures=7)
    assert pause(s, T0).incident_started_at is None and pause(s, T0).incident_failures == 0
    assert resume(s, T0).incident_started_at is None and resume(s, T0).incident_failures == 0
