-- Maintenance planned ahead (admin CLI, monitors-as-code file). A window puts its monitor
-- into maintenance when it starts (the scheduler applies due windows and deletes them); the
-- state machine leaves maintenance at maintenance_until, as for maintenance started at once.
CREATE TABLE maintenance_windows (
    id         bigserial PRIMARY KEY,
    monitor_id bigint NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX maintenance_windows_starts ON maintenance_windows (starts_at);
CREATE INDEX maintenance_windows_monitor ON maintenance_windows (monitor_id);
