-- TimescaleDB 2.x: hypertable with 1-day chunks, compression after 7 days segmented by
-- monitor, raw retention 90 days, hourly and daily continuous aggregates from raw data
-- (percentiles do not combine, so daily is not built on hourly). Classic function names
-- keep this valid on 2.13 to 2.2x. Each statement runs in its own transaction.
-- The latency histogram uses ln(ms) buckets (0..11 in 55 steps) so ranges merge exactly.

SELECT create_hypertable('check_history', by_range('time', INTERVAL '1 day'), migrate_data => true, if_not_exists => true);
-- statement
ALTER TABLE check_history SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'monitor_id',
    timescaledb.compress_orderby = 'time DESC'
);
-- statement
SELECT add_compression_policy('check_history', INTERVAL '7 days', if_not_exists => true);
-- statement
SELECT add_retention_policy('check_history', INTERVAL '90 days', if_not_exists => true);
-- statement
CREATE MATERIALIZED VIEW IF NOT EXISTS hourly_metrics
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT monitor_id,
       time_bucket(INTERVAL '1 hour', time) AS bucket,
       count(*)::bigint AS checks,
       count(*) FILTER (WHERE ok)::bigint AS ok_checks,
       avg(latency_ms)::double precision AS avg_latency_ms,
       min(latency_ms) AS min_latency_ms,
       max(latency_ms) AS max_latency_ms,
       percentile_cont(0.50) WITHIN GROUP (ORDER BY latency_ms) AS p50_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99_latency_ms,
       histogram(ln(greatest(latency_ms, 1)::double precision), 0.0, 11.0, 55) AS latency_hist
FROM check_history
GROUP BY monitor_id, time_bucket(INTERVAL '1 hour', time)
WITH NO DATA;
-- statement
SELECT add_continuous_aggregate_policy('hourly_metrics',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '15 minutes', if_not_exists => true);
-- statement
CREATE MATERIALIZED VIEW IF NOT EXISTS daily_metrics
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT monitor_id,
       time_bucket(INTERVAL '1 day', time) AS bucket,
       count(*)::bigint AS checks,
       count(*) FILTER (WHERE ok)::bigint AS ok_checks,
       avg(latency_ms)::double precision AS avg_latency_ms,
       min(latency_ms) AS min_latency_ms,
       max(latency_ms) AS max_latency_ms,
       percentile_cont(0.50) WITHIN GROUP (ORDER BY latency_ms) AS p50_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99_latency_ms,
       histogram(ln(greatest(latency_ms, 1)::double precision), 0.0, 11.0, 55) AS latency_hist
FROM check_history
GROUP BY monitor_id, time_bucket(INTERVAL '1 day', time)
WITH NO DATA;
-- statement
SELECT add_continuous_aggregate_policy('daily_metrics',
    start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '1 hour', if_not_exists => true);
-- statement
SELECT add_retention_policy('hourly_metrics', INTERVAL '90 days', if_not_exists => true);
-- statement
SELECT add_retention_policy('daily_metrics', INTERVAL '400 days', if_not_exists => true);
