-- Named leases: work that must run in one process at a time while every process shares
-- the database (the chat bots: one Discord gateway session and one Telegram poller per
-- token). A row is held by `holder` until `expires_at` (database clock); the holder
-- renews it, anyone may take it once it has expired (core/storage/leases.py).
CREATE TABLE leases (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    expires_at  timestamptz NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now()
);
