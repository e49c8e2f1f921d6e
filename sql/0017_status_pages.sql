-- Public status pages (core/service/status_pages.py): one owner's monitors on /status/<slug>.
-- An empty monitor_ids lists every monitor of the owner; a listed id that is not the
-- owner's is never shown (the read joins on owner_id), so a page cannot leak another's.
CREATE TABLE status_pages (
    id          bigserial PRIMARY KEY,
    owner_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{3,48}$'),
    title       text NOT NULL,
    monitor_ids bigint[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_pages_owner ON status_pages (owner_id);
