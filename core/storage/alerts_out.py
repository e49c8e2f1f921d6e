"""Alerts out of a result batch: the alert rows a state change or a check's signals make,
and the statements that insert them and queue them in the outbox for each channel.

They run inside the result writer's state transaction (core/storage/results.py), so a
state change and its alerts and outbox rows commit together, or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lighthouse.core.state import Event, EventKind, State

if TYPE_CHECKING:
    from lighthouse.core.storage.results import Finished

SEVERITY = {EventKind.DOWN: "critical", EventKind.RECOVERY: "info", EventKind.REMINDER: "warning",
            EventKind.MAINTENANCE_END: "info"}
ALERT_TYPE = {EventKind.DOWN: "downtime", EventKind.RECOVERY: "recovery", EventKind.REMINDER: "downtime",
              EventKind.MAINTENANCE_END: "maintenance_end"}

_INSERT_ALERTS = """
INSERT INTO alerts (monitor_id, idempotency_key, alert_type, severity, from_state, to_state,
                    check_time, payload)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::timestamptz[], $8::jsonb[])
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""

# Operator channels (owner NULL) get everything; an owner's channel gets its monitors'
# alerts, or one monitor's when scoped. min_severity filters.
FAN_OUT = """
INSERT INTO alert_outbox (alert_id, channel_id, channel_kind)
SELECT a.id, c.id, c.kind
FROM alerts a
JOIN monitors m ON m.id = a.monitor_id
JOIN alert_channels c ON c.enabled
    AND (c.owner_id IS NULL OR (c.owner_id = m.owner_id
         AND (c.monitor_id IS NULL OR c.monitor_id = m.id)))
    AND (CASE a.severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END)
        >= (CASE c.min_severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END)
WHERE a.id = ANY($1::bigint[])
ON CONFLICT (alert_id, channel_id) DO NOTHING
"""


@dataclass
class PendingAlert:
    monitor_id: int
    key: str
    alert_type: str
    severity: str
    from_state: str | None
    to_state: str | None
    check_time: datetime
    payload: dict[str, Any]


def _event_payload(f: Finished, event: Event, error: str | None) -> dict[str, Any]:
    r = f.result
    return {
        "kind": event.kind.value,
        "monitor_id": f.claim.id,
        "monitor_name": f.claim.name,
        "monitor_type": f.claim.type,
        "target": f.description,
        "language": f.claim.language,
        "error_code": r.error_code,
        "error": error,
        "status_code": r.status_code,
        "latency_ms": None if r.latency_ms is None else round(r.latency_ms, 1),
        "conditions": r.details.get("conditions"),
        "incident_started_at": event.incident_started_at.isoformat()
        if event.incident_started_at else None,
        "checked_at": f.checked_at.isoformat(),
        # A DOWN that ends a maintenance window is also the note that the window is over.
        "after_maintenance": event.from_state is State.MAINTENANCE,
    }


def alerts_for(f: Finished, event: Event | None, version: int, maintenance: bool,
               error: str | None) -> list[PendingAlert]:
    """The alerts one result makes: its state change, if any (``version`` is the monitor's
    state version after it), and its signals unless the monitor is in maintenance."""
    r, c = f.result, f.claim
    pending: list[PendingAlert] = []
    if event is not None:
        key = (
            f"m{c.id}:reminder:{int(f.checked_at.timestamp())}"
            if event.kind is EventKind.REMINDER else f"m{c.id}:v{version}:{event.kind}"
        )
        pending.append(PendingAlert(
            c.id, key, ALERT_TYPE[event.kind], SEVERITY[event.kind],
            event.from_state.value, event.to_state.value, f.checked_at,
            _event_payload(f, event, error),
        ))
    if not maintenance:
        for sig in r.signals:
            pending.append(PendingAlert(
                c.id, f"m{c.id}:sig:{sig.dedupe_key}", sig.alert_type, sig.severity,
                None, None, f.checked_at,
                {"kind": sig.alert_type, "monitor_id": c.id, "monitor_name": c.name,
                 "monitor_type": c.type, "target": f.description,
                 "language": c.language, "checked_at": f.checked_at.isoformat(),
                 **sig.params},
            ))
    return pending


async def insert_alerts(conn: Any, alerts: Sequence[PendingAlert]) -> int:
    """Insert ``alerts`` (an idempotency key already stored is skipped) and queue each new
    one for its channels; returns how many were new."""
    ids = [r["id"] for r in await conn.fetch(
        _INSERT_ALERTS,
        [a.monitor_id for a in alerts], [a.key for a in alerts],
        [a.alert_type for a in alerts], [a.severity for a in alerts],
        [a.from_state for a in alerts], [a.to_state for a in alerts],
        [a.check_time for a in alerts], [a.payload for a in alerts],
    )]
    if ids:
        await conn.execute(FAN_OUT, ids)
    return len(ids)
