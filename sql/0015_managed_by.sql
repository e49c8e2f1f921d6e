-- Monitors and alert channels declared by the operator's monitors-as-code file
-- (core/config_file/): managed_by is 'file:<the entry's id or name>'. An apply changes or
-- removes only these; NULL (made from chat, the API or the CLI) is never touched by it.
ALTER TABLE monitors ADD COLUMN managed_by text;
-- The hash of the file entry as last applied, so an unchanged entry is skipped without
-- validating it again; any other change to the monitor clears it.
ALTER TABLE monitors ADD COLUMN managed_hash text;
CREATE UNIQUE INDEX monitors_managed ON monitors (owner_id, managed_by) WHERE managed_by IS NOT NULL;
ALTER TABLE alert_channels ADD COLUMN managed_by text;
