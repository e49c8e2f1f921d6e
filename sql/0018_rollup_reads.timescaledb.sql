-- TimescaleDB: the finished part of each continuous aggregate and the raw rows after it,
-- for the summaries of the query layer (core/storage/rollups.py).
--
-- The real-time views (hourly_metrics, daily_metrics) stay as they are for every other
-- reader. A summary needs neither their percentile sorts nor hourly rows where a whole
-- day is finished: it reads finished days from daily_metrics_finished, finished hours
-- from hourly_metrics_finished, and only the rows after the hourly watermark from
-- check_history_unmaterialized, aggregated on the fly.
--
-- Each view compares with COALESCE(to_timestamp(cagg_watermark(<id>)), '-infinity'), the
-- expression of TimescaleDB's own real-time views: the planner replaces it with the
-- watermark's value and PostgreSQL drops the plan when the watermark moves, so a cached
-- plan reads only the chunks on the right side of the watermark (a watermark read by a
-- separate statement would be a parameter, planned again on every call). The constant
-- is only taken when the statement also reads that materialization hypertable, which
-- the summary statement does through the first two views.
--
-- Days are read from the daily aggregate only where the hourly one is finished too
-- (days_until), so the three views never count a row twice whatever each policy's lag.
--
-- The views name the materialization hypertables, which TimescaleDB numbers: a migration
-- that recreates an aggregate must recreate these views after it.
DO $$
DECLARE
    hourly_id integer;
    daily_id integer;
    hourly_mat text;
    daily_mat text;
    hourly_mark text;
    daily_mark text;
    days_until text;
BEGIN
    SELECT h.id, format('%I.%I', h.schema_name, h.table_name) INTO hourly_id, hourly_mat
    FROM timescaledb_information.continuous_aggregates c
    JOIN _timescaledb_catalog.hypertable h
      ON h.schema_name = c.materialization_hypertable_schema
     AND h.table_name = c.materialization_hypertable_name
    WHERE c.view_schema = current_schema() AND c.view_name = 'hourly_metrics';
    SELECT h.id, format('%I.%I', h.schema_name, h.table_name) INTO daily_id, daily_mat
    FROM timescaledb_information.continuous_aggregates c
    JOIN _timescaledb_catalog.hypertable h
      ON h.schema_name = c.materialization_hypertable_schema
     AND h.table_name = c.materialization_hypertable_name
    WHERE c.view_schema = current_schema() AND c.view_name = 'daily_metrics';
    IF hourly_id IS NULL OR daily_id IS NULL THEN
        RAISE EXCEPTION 'expected the continuous aggregates hourly_metrics and daily_metrics';
    END IF;
    hourly_mark := format('COALESCE(_timescaledb_functions.to_timestamp('
                          '_timescaledb_functions.cagg_watermark(%s)), ''-infinity''::timestamptz)',
                          hourly_id);
    daily_mark := format('COALESCE(_timescaledb_functions.to_timestamp('
                         '_timescaledb_functions.cagg_watermark(%s)), ''-infinity''::timestamptz)',
                         daily_id);
    days_until := format('least(%s, time_bucket(INTERVAL ''1 day'', %s))', daily_mark, hourly_mark);

    EXECUTE format(
        'CREATE OR REPLACE VIEW hourly_metrics_finished AS '
        'SELECT monitor_id, bucket, checks, ok_checks, avg_latency_ms, latency_hist, '
        '%s AS days_until FROM %s WHERE bucket < %s',
        days_until, hourly_mat, hourly_mark);
    EXECUTE format(
        'CREATE OR REPLACE VIEW daily_metrics_finished AS '
        'SELECT monitor_id, bucket, checks, ok_checks, avg_latency_ms, latency_hist '
        'FROM %s WHERE bucket < %s',
        daily_mat, days_until);
    EXECUTE format(
        'CREATE OR REPLACE VIEW check_history_unmaterialized AS '
        'SELECT time, monitor_id, ok, latency_ms FROM check_history WHERE time >= %s',
        hourly_mark);
END
$$;
