-- Heartbeat (push) monitors: one secret ping URL per monitor, /ping/<token>[/fail|/start].
-- Only the SHA-256 of the token is stored (the clear token is shown once, at creation);
-- the monitor's config carries the same hash so its check can find this row. The row is
-- written before its monitor (monitor_id NULL until then), so a check never misses it.
CREATE TABLE heartbeats (
    token_hash      text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    monitor_id      bigint UNIQUE REFERENCES monitors(id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_ping_at    timestamptz,
    last_kind       text CHECK (last_kind IN ('success', 'fail', 'start')),
    last_success_at timestamptz,
    last_start_at   timestamptz,
    last_fail_at    timestamptz,
    last_message    text,  -- first 1000 characters of the last ping's body (e.g. a job's log)
    pings           bigint NOT NULL DEFAULT 0
);
