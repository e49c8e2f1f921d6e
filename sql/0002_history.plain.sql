-- Plain PostgreSQL: rollups are tables kept by the application (core/storage/rollups.py).
-- Same columns as the TimescaleDB continuous aggregates, so one query layer reads both.

CREATE INDEX check_history_time_brin ON check_history USING brin (time);

CREATE TABLE hourly_metrics (
    monitor_id     bigint NOT NULL,
    bucket         timestamptz NOT NULL,
    checks         bigint NOT NULL,
    ok_checks      bigint NOT NULL,
    avg_latency_ms double precision,
    min_latency_ms integer,
    max_latency_ms integer,
    p50_latency_ms double precision,
    p95_latency_ms double precision,
    p99_latency_ms double precision,
    latency_hist   integer[],
    PRIMARY KEY (monitor_id, bucket)
);

CREATE TABLE daily_metrics (LIKE hourly_metrics INCLUDING ALL);
