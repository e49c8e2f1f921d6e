-- Status pages are cached by the API for a few seconds (api/status_page.py); these triggers
-- tell every API process at once when what a page shows changes, whichever process made
-- the change (the scheduler's result writer, chat, the CLI, a file apply):
--   'o:<owner id>'  a monitor of that owner changed state, name or maintenance, came or went
--   's:<slug>'      a status page was created, changed or removed
-- NOTIFY is sent at commit and coalesced per transaction; the WHEN clause keeps the result
-- writer's ordinary updates (same state) free of it.
CREATE FUNCTION lighthouse_status_notify_monitor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lighthouse_status', 'o:' || COALESCE(NEW.owner_id, OLD.owner_id));
    RETURN NULL;
END $$;

CREATE TRIGGER monitors_status_notify_change AFTER UPDATE ON monitors FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.maintenance_until IS DISTINCT FROM NEW.maintenance_until)
    EXECUTE FUNCTION lighthouse_status_notify_monitor();
CREATE TRIGGER monitors_status_notify_set AFTER INSERT OR DELETE ON monitors FOR EACH ROW
    EXECUTE FUNCTION lighthouse_status_notify_monitor();

CREATE FUNCTION lighthouse_status_notify_page() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lighthouse_status', 's:' || COALESCE(NEW.slug, OLD.slug));
    IF TG_OP = 'UPDATE' AND OLD.slug IS DISTINCT FROM NEW.slug THEN
        PERFORM pg_notify('lighthouse_status', 's:' || OLD.slug);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER status_pages_notify AFTER INSERT OR UPDATE OR DELETE ON status_pages
    FOR EACH ROW EXECUTE FUNCTION lighthouse_status_notify_page();
