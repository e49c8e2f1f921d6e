-- Results PostgreSQL refused for their own data (after core/text.py's cleaning, which
-- should leave none). The writer sets each aside here with the error, so one bad row never
-- stops the batch it came in; the evidence is ASCII-escaped so that this insert cannot
-- fail the same way. No foreign key: the monitor may be gone by the time anyone looks.
CREATE TABLE quarantined_results (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    monitor_id  bigint NOT NULL,
    checked_at  timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    worker_id   text NOT NULL,
    stage       text NOT NULL CHECK (stage IN ('history', 'state')),
    error       text NOT NULL,
    result      jsonb NOT NULL
);
CREATE INDEX quarantined_results_monitor ON quarantined_results (monitor_id, recorded_at);
