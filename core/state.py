"""The monitor state machine: pure, table-tested, persisted by the result writer.

UP --fail--> PENDING --(failure_threshold fails)--> DOWN   (downtime alert)
DOWN --(success_threshold successes)--> UP                  (recovery alert)
PENDING --success--> UP                                     (silent)
DOWN --fail, reminder interval passed--> DOWN               (reminder)
MAINTENANCE records results, never alerts; leaving it into DOWN alerts, into UP or
PENDING sends a note (MAINTENANCE_END, info) that the window is over.
PAUSED is never claimed by the scheduler.

An incident runs from the first failing check of the streak that ends in DOWN to the
check that confirms recovery: ``incident_started_at`` is set at the first failure (so a
DOWN alert, a reminder and the recovery all measure from there) and ``incident_failures``
counts the failed checks until recovery. Failures inside a maintenance window start no
incident; one that is still failing when the window ends starts it then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class State(StrEnum):
    UP = "up"
    PENDING = "pending"
    DOWN = "down"
    PAUSED = "paused"
    MAINTENANCE = "maintenance"


class EventKind(StrEnum):
    DOWN = "down"
    RECOVERY = "recovery"
    REMINDER = "reminder"
    MAINTENANCE_END = "maintenance_end"


MIN_REMINDER_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class Status:
    state: State
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    state_since: datetime | None = None
    last_alert_at: datetime | None = None
    incident_started_at: datetime | None = None
    maintenance_until: datetime | None = None
    incident_failures: int = 0


@dataclass(frozen=True)
class Policy:
    failure_threshold: int = 3
    success_threshold: int = 2
    reminder_interval: timedelta = timedelta(hours=1)  # zero disables reminders


@dataclass(frozen=True)
class Event:
    kind: EventKind
    from_state: State
    to_state: State
    incident_started_at: datetime | None
    incident_failures: int = 0  # failed checks of the incident so far (at recovery: all)


def _enter(status: Status, state: State, now: datetime) -> Status:
    return replace(status, state=state, state_since=now)


def apply(status: Status, ok: bool, now: datetime, policy: Policy) -> tuple[Status, Event | None]:
    """Fold one check result into the status; return the new status and any alert event."""
    if status.state is State.PAUSED:
        return status, None
    if ok and (status.state is State.UP or status.state is State.PENDING):
        # The most frequent path that writes state (a new monitor's first result, the end
        # of a blip), built in one step: dataclasses.replace costs microseconds per call.
        since = status.state_since if status.state is State.UP else now
        return Status(State.UP, 0, status.consecutive_successes + 1, since,
                      status.last_alert_at, None, status.maintenance_until, 0), None
    fails = 0 if ok else status.consecutive_failures + 1
    oks = status.consecutive_successes + 1 if ok else 0
    s = replace(status, consecutive_failures=fails, consecutive_successes=oks)

    if s.state is State.MAINTENANCE:
        if s.maintenance_until is not None and now >= s.maintenance_until:
            return _leave_maintenance(s, ok, now, policy)
        return s, None

    if s.state in (State.UP, State.PENDING):  # a failure: a success returned above
        # The first failure of a streak starts the would-be incident; a row written before
        # incidents were tracked may be mid-streak without a start, which then starts now.
        started = s.incident_started_at if fails > 1 and s.incident_started_at else now
        s = replace(s, incident_started_at=started,
                    incident_failures=1 if fails == 1 else s.incident_failures + 1)
        if fails >= policy.failure_threshold:
            down = replace(_enter(s, State.DOWN, now), last_alert_at=now)
            return down, Event(EventKind.DOWN, status.state, State.DOWN, started,
                               s.incident_failures)
        return (_enter(s, State.PENDING, now) if s.state is not State.PENDING else s), None

    # DOWN
    if ok:
        if oks >= policy.success_threshold:
            up = replace(_enter(s, State.UP, now), last_alert_at=now, incident_started_at=None,
                         incident_failures=0)
            return up, Event(EventKind.RECOVERY, State.DOWN, State.UP, s.incident_started_at,
                             s.incident_failures)
        return s, None
    s = replace(s, incident_failures=s.incident_failures + 1)
    interval = max(policy.reminder_interval, MIN_REMINDER_INTERVAL)
    if policy.reminder_interval > timedelta(0) and (
        s.last_alert_at is None or now - s.last_alert_at >= interval
    ):
        s = replace(s, last_alert_at=now)
        return s, Event(EventKind.REMINDER, State.DOWN, State.DOWN, s.incident_started_at,
                        s.incident_failures)
    return s, None


def _leave_maintenance(s: Status, ok: bool, now: datetime, policy: Policy) -> tuple[Status, Event | None]:
    s = replace(s, maintenance_until=None, incident_started_at=None, incident_failures=0)
    if s.consecutive_failures >= policy.failure_threshold:
        down = replace(_enter(s, State.DOWN, now), last_alert_at=now, incident_started_at=now,
                       incident_failures=1)
        return down, Event(EventKind.DOWN, State.MAINTENANCE, State.DOWN, now, 1)
    left = _enter(s, State.UP if ok else State.PENDING, now)
    if not ok:  # failing, not yet confirmed: this failure may start an incident
        left = replace(left, incident_started_at=now, incident_failures=1)
    return left, Event(EventKind.MAINTENANCE_END, State.MAINTENANCE, left.state, None)


def pause(s: Status, now: datetime) -> Status:
    return replace(_enter(s, State.PAUSED, now), consecutive_failures=0, consecutive_successes=0,
                   incident_started_at=None, incident_failures=0)


def resume(s: Status, now: datetime) -> Status:
    """Back to PENDING with fresh counters: the next checks decide, silently if healthy."""
    return replace(
        _enter(s, State.PENDING, now),
        consecutive_failures=0, consecutive_successes=0, incident_started_at=None,
        incident_failures=0,
    )
