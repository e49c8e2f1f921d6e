-- Incidents: one row per outage, from the first failing check of the streak that went
-- DOWN to the check that confirmed recovery. Opened and closed by the result writer in
-- the same transaction as the state change (core/storage/results.py), closed early when
-- a person pauses the monitor or puts it in maintenance.
CREATE TABLE incidents (
    id               bigserial PRIMARY KEY,
    monitor_id       bigint NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    started_at       timestamptz NOT NULL,
    ended_at         timestamptz,
    end_reason       text CHECK (end_reason IN ('recovered', 'paused', 'maintenance')),
    first_error_code text,
    first_error      text,
    checks_failed    integer NOT NULL DEFAULT 0,
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
-- At most one open incident per monitor: a retried batch cannot open a second one.
CREATE UNIQUE INDEX incidents_open ON incidents (monitor_id) WHERE ended_at IS NULL;
CREATE INDEX incidents_monitor_time ON incidents (monitor_id, started_at DESC);

-- Failed checks of the incident in progress (or of the failing streak that may become
-- one), kept with the state so closing an incident needs no count over check_history.
ALTER TABLE monitors ADD COLUMN incident_failures integer NOT NULL DEFAULT 0;
