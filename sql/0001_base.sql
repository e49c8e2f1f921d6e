-- Lighthouse base schema: the same in plain PostgreSQL and TimescaleDB mode.
-- The seed's `subscriptions` table is `monitors` here: one row per watched target.

CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    tier            text NOT NULL DEFAULT 'free'
                    CHECK (tier IN ('free', 'basic', 'standard', 'pro', 'enterprise')),
    tier_expires_at timestamptz,
    language        text CHECK (language IN ('en', 'es')),  -- the user's override
    total_spent_atomic bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- One person or agent may be known by a Discord id, a Telegram id and a wallet.
CREATE TABLE user_identities (
    provider   text NOT NULL CHECK (provider IN ('discord', 'telegram', 'wallet', 'api')),
    subject    text NOT NULL,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

CREATE TABLE monitors (
    id                    bigserial PRIMARY KEY,
    public_id             uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    owner_id              bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name                  text NOT NULL,
    type                  text NOT NULL,
    config                jsonb NOT NULL,
    target_host           text NOT NULL DEFAULT '',
    interval_s            integer NOT NULL CHECK (interval_s >= 30),
    tier                  text NOT NULL,
    failure_threshold     smallint NOT NULL DEFAULT 3 CHECK (failure_threshold BETWEEN 1 AND 100),
    success_threshold     smallint NOT NULL DEFAULT 2 CHECK (success_threshold BETWEEN 1 AND 100),
    reminder_interval_s   integer NOT NULL DEFAULT 3600
                          CHECK (reminder_interval_s = 0 OR reminder_interval_s >= 300),
    state                 text NOT NULL DEFAULT 'pending'
                          CHECK (state IN ('up', 'pending', 'down', 'paused', 'maintenance')),
    state_since           timestamptz NOT NULL DEFAULT now(),
    state_version         bigint NOT NULL DEFAULT 0,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    consecutive_successes integer NOT NULL DEFAULT 0,
    maintenance_until     timestamptz,
    last_check_at         timestamptz,
    last_ok               boolean,
    last_error            text,
    last_latency_ms       integer,
    last_alert_at         timestamptz,
    incident_started_at   timestamptz,
    next_due              timestamptz NOT NULL,
    claimed_by            text,
    claimed_until         timestamptz,
    language              text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es')),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    expires_at            timestamptz
) WITH (fillfactor = 70);  -- room for HOT updates: every check rewrites its monitor's row
-- The scheduler's claim reads only this partial index.
CREATE INDEX monitors_due ON monitors (next_due) WHERE state <> 'paused';
CREATE INDEX monitors_owner ON monitors (owner_id);

CREATE TABLE check_history (
    time        timestamptz NOT NULL,
    monitor_id  bigint NOT NULL,
    ok          boolean NOT NULL,
    status_code smallint,
    latency_ms  integer,
    error_code  text,
    error       text,
    details     jsonb
);
CREATE INDEX check_history_monitor_time ON check_history (monitor_id, time DESC);

-- Where alerts go. owner_id NULL: an operator channel that receives every alert.
CREATE TABLE alert_channels (
    id               bigserial PRIMARY KEY,
    owner_id         bigint REFERENCES users(id) ON DELETE CASCADE,
    monitor_id       bigint REFERENCES monitors(id) ON DELETE CASCADE,  -- NULL: all the owner's
    kind             text NOT NULL,
    config           jsonb NOT NULL DEFAULT '{}'::jsonb,
    language         text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es')),
    min_severity     text NOT NULL DEFAULT 'info' CHECK (min_severity IN ('info', 'warning', 'critical')),
    enabled          boolean NOT NULL DEFAULT true,
    disabled_reason  text,
    last_delivery_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    system_key       text UNIQUE  -- set for channels created from settings
);
CREATE INDEX alert_channels_owner ON alert_channels (owner_id);

-- One row per state change: the durable record of an alert.
CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    monitor_id      bigint NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    idempotency_key text NOT NULL UNIQUE,
    alert_type      text NOT NULL,
    severity        text NOT NULL,
    from_state      text,
    to_state        text,
    check_time      timestamptz NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_monitor_time ON alerts (monitor_id, created_at DESC);

-- The outbox: one delivery per alert and channel, claimed by delivery workers.
CREATE TABLE alert_outbox (
    id              bigserial PRIMARY KEY,
    alert_id        bigint NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    channel_id      bigint NOT NULL REFERENCES alert_channels(id) ON DELETE CASCADE,
    channel_kind    text NOT NULL,  -- copied so the claim stays single-table
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_by      text,
    claimed_until   timestamptz,
    last_error      text,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (alert_id, channel_id)
);
CREATE INDEX alert_outbox_due ON alert_outbox (channel_kind, next_attempt_at) WHERE status = 'pending';

-- Housekeeping runs once per tick across all processes: the loser of the insert skips.
CREATE TABLE job_runs (
    job        text NOT NULL,
    tick       timestamptz NOT NULL,
    claimed_by text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, tick)
);
