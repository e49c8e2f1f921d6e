"""Incidents through the real claim + batched write path, and the maintenance-end note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from lighthouse.core.alerts.render import render
from lighthouse.core.checks.base import CheckResult
from lighthouse.core.errors import InvalidStateError, ValidationError
from lighthouse.core.models import Identity, Provider
from lighthouse.core.service import MonitorService
from lighthouse.core.storage.results import Finished, ResultWriter
from lighthouse.core.storage.schedule import claim_due

WHO = Identity(Provider.API, "incidents")
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
REFUSED = ("connection_error", "connection refused")
TIMEOUT = ("timeout", "timed out after 10 s")

Step = tuple[bool, tuple[str, str] | None]


async def _monitor(service: MonitorService, pool: asyncpg.Pool, **kwargs: int) -> int:
    await service.ensure_user(WHO)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    m = await service.create_monitor(WHO, config={"url": "http://127.0.0.1:9/"}, interval_s=30,
                                     name="api", **kwargs)
    return m.id


async def _feed(pool: asyncpg.Pool, steps: list[Step], start: int = 0,
                base: datetime = T0) -> None:
    """One real claim and batch per step; step i is checked at ``base`` + i minutes."""
    writer = ResultWriter(pool, "w")
    for i, (ok, err) in enumerate(steps, start):
        await pool.execute("UPDATE monitors SET next_due = now() - interval '1 ms', "
                           "claimed_by = NULL, claimed_until = NULL")
        [claim] = await claim_due(pool, "w", 1)
        result = CheckResult(ok=ok, latency_ms=5.0, error_code=err[0] if err else None,
                             error=err[1] if err else None)
        writer.add(Finished(claim, result, base + timedelta(minutes=i), "http://127.0.0.1:9/"))
        await writer.flush()


async def test_an_outage_is_one_incident_from_the_first_failure_to_recovery(
    pool: asyncpg.Pool, service: MonitorService
) -> None:
    await _monitor(service, pool)
    # minute 0 ok; 1 refused (first failure); 2, 3 timeouts (DOWN at 3); 4 timeout;
    # 5 ok; 6 timeout (counts, streak broken); 7, 8 ok (recovered at 8).
    await _feed(pool, [(True, None), (False, REFUSED), (False, TIMEOUT), (False, TIMEOUT)])
    [open_] = await service.incidents(WHO, "api")
    assert open_.started_at == T0 + timedelta(minutes=1) and open_.ended_at is None
    assert open_.end_reason is None and open_.checks_failed == 3
    # The first failing check's error, read back from its history row, not the latest one.
    assert (open_.first_error_code, open_.first_error) == REFUSED
    assert open_.duration >= datetime.now(UTC) - open_.started_at - timedelta(seconds=5)

    await _feed(pool, [(False, TIMEOUT), (True, None), (False, TIMEOUT), (True, None),
                       (True, None)], start=4)
    [done] = await service.incidents(WHO, "api")
    assert done.id == open_.id
    assert (done.started_at, done.ended_at) == (T0 + timedelta(minutes=1), T0 + timedelta(minutes=8))
    assert done.duration == timedelta(minutes=7) and done.end_reason == "recovered"
    assert done.checks_failed == 5 and done.first_error_code == "connection_error"
    # The recovery alert measures the outage the same way.
    payload = await pool.fetchval("SELECT payload FROM alerts WHERE alert_type = 'recovery'")
    assert payload["incident_started_at"] == (T0 + timedelta(minutes=1)).isoformat()

    # A second outage is a second row, newest first.
    await _feed(pool, [(False, TIMEOUT)] * 3, start=20)
    second, first = await service.incidents(WHO, "api")
    assert second.ended_at is None and first.id == done.id
    assert (second.first_error_code, second.checks_failed) == ("timeout", 3)
    assert [i.id for i in await service.incidents(WHO, "api", limit=1)] == [second.id]


async def test_threshold_one_takes_the_error_of_the_check_that_went_down(
    pool: asyncpg.Pool, service: MonitorService
) -> None:
    await _monitor(service, pool, failure_threshold=1, success_threshold=1)
    await _feed(pool, [(True, None), (False, REFUSED), (True, None)])
    [inc] = await service.incidents(WHO, "api")
    assert (inc.first_error_code, inc.checks_failed) == ("connection_error", 1)
    assert inc.duration == timedelta(minutes=1)


async def test_a_blip_below_the_threshold_is_no_incident(
    pool: asyncpg.Pool, service: MonitorService
) -> None:
    await _monitor(service, pool)
    await _feed(pool, [(False, REFUSED), (False, REFUSED), (True, None), (False, REFUSED),
                       (True, None)])
    assert await service.incidents(WHO, "api") == []
    assert await pool.fetchval("SELECT incident_failures FROM monitors") == 0


async def test_pause_and_maintenance_end_the_incident_and_maintenance_ends_with_a_note(
    pool: asyncpg.Pool, service: MonitorService
) -> None:
    await _monitor(service, pool)
    await _feed(pool, [(False, REFUSED)] * 4)
    await service.pause(WHO, "api")
    [paused] = await service.incidents(WHO, "api")
    assert paused.end_reason == "paused" and paused.checks_failed == 4
    await service.resume(WHO, "api")

    await _feed(pool, [(False, REFUSED)] * 3, start=10)
    until = datetime.now(UTC) + timedelta(hours=1)
    m = await service.set_maintenance(WHO, "api", until)
    assert m.state.value == "maintenance" and m.maintenance_until == until
    latest = (await service.incidents(WHO, "api"))[0]
    assert latest.end_reason == "maintenance" and latest.checks_failed == 3
    alerts_before = await pool.fetchval("SELECT count(*) FROM alerts")
    await _feed(pool, [(False, REFUSED), (True, None)], start=20)
    assert await pool.fetchval("SELECT count(*) FROM alerts") == alerts_before  # suppressed

    await service.set_maintenance(WHO, "api", None)
    due = await pool.fetchval("SELECT next_due <= now() FROM monitors")
    assert due, "ending maintenance makes the monitor due at once"
    await _feed(pool, [(True, None)], base=datetime.now(UTC))
    row = await pool.fetchrow("SELECT alert_type, severity, from_state, to_state, payload "
                              "FROM alerts ORDER BY id DESC LIMIT 1")
    assert (row["alert_type"], row["severity"], row["from_state"], row["to_state"]) == (
        "maintenance_end", "info", "maintenance", "up")
    assert len(await service.incidents(WHO, "api")) == 2  # maintenance opened none
    es = render(row["alert_type"], row["severity"], row["payload"], "es")
    assert es.title == "Mantenimiento terminado: api"
    assert "La ventana de mantenimiento ha terminado; las alertas vuelven a estar activas" in es.lines
    en = render(row["alert_type"], row["severity"], row["payload"], "en")
    assert en.title == "Maintenance over: api"


async def test_still_failing_when_maintenance_ends_goes_down_with_the_note(
    pool: asyncpg.Pool, service: MonitorService
) -> None:
    await _monitor(service, pool)
    await service.set_maintenance(WHO, "api", datetime.now(UTC) + timedelta(hours=1))
    await _feed(pool, [(False, REFUSED)] * 3)
    await service.set_maintenance(WHO, "api", None)
    after = datetime.now(UTC)
    await _feed(pool, [(False, TIMEOUT)], base=after)
    row = await pool.fetchrow("SELECT alert_type, from_state, payload FROM alerts")
    assert (row["alert_type"], row["from_state"]) == ("downtime", "maintenance")
    assert any("maintenance window has ended" in line
               for line in render("downtime", "critical", row["payload"], "en").lines)
    [inc] = await service.incidents(WHO, "api")
    assert inc.started_at == after and inc.first_error_code == "timeout"


async def test_a_monitor_down_before_incidents_existed_still_gets_its_row(
    pool: asyncpg.Pool, service: MonitorService
) -> None:
    await _monitor(service, pool)
    await _feed(pool, [(False, REFUSED)] * 3)
    await pool.execute("DELETE FROM incidents")  # as if it went down on an older version
    await _feed(pool, [(True, None), (True, None)], start=3)
    [inc] = await service.incidents(WHO, "api")
    assert inc.end_reason == "recovered" and inc.first_error is None
    assert inc.started_at == T0 and inc.ended_at == T0 + timedelta(minutes=4)


async def test_maintenance_rules(pool: asyncpg.Pool, service: MonitorService) -> None:
    await _monitor(service, pool)
    now = datetime.now(UTC)
    for until, reason in ((now - timedelta(seconds=1), "past"),
                          (now + timedelta(days=400), "too_far"),
                          (datetime(2099, 1, 1), "naive")):
        with pytest.raises(ValidationError) as info:
            await service.set_maintenance(WHO, "api", until)
        assert info.value.params["reason"] == reason
    with pytest.raises(InvalidStateError):
        await service.set_maintenance(WHO, "api", None)  # not in maintenance
    with pytest.raises(ValidationError):
        await service.incidents(WHO, "api", limit=0)


async def test_an_unreadable_history_does_not_stop_the_incident(
    pool: asyncpg.Pool, service: MonitorService
) -> None:
    """History and state are written independently: the first-error lookup failing (here
    the table is gone) leaves the incident opened with the error in hand."""
    await _monitor(service, pool)
    await _feed(pool, [(False, REFUSED), (False, REFUSED)])
    await pool.execute("ALTER TABLE check_history RENAME TO check_history_away")
    writer = ResultWriter(pool, "w")
    await pool.execute("UPDATE monitors SET next_due = now() - interval '1 ms', "
                       "claimed_by = NULL, claimed_until = NULL")
    [claim] = await claim_due(pool, "w", 1)
    writer.add(Finished(claim, CheckResult(ok=False, error_code=TIMEOUT[0], error=TIMEOUT[1]),
                        T0 + timedelta(minutes=2), "http://127.0.0.1:9/"))
    with pytest.raises(asyncpg.exceptions.UndefinedTableError):
        await writer.flush()
    row = await pool.fetchrow("SELECT started_at, first_error_code, checks_failed FROM incidents")
    assert (row["started_at"], row["first_error_code"], row["checks_failed"]) == (T0, "timeout", 3)
    await pool.execute("ALTER TABLE check_history_away RENAME TO check_history")
    await writer.flush()
    assert writer.pending == 0
