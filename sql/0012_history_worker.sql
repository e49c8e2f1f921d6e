-- The process that ran each check: signed results name it (core/signing.py), and a
-- history row is signed when it is served, so the row must keep it. NULL for rows
-- written before this column existed. Nullable without a default: adding it rewrites
-- nothing, on plain PostgreSQL and on a compressed TimescaleDB hypertable alike.
ALTER TABLE check_history ADD COLUMN worker_id text;
