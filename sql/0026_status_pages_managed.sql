-- Status pages declared by the operator's monitors-as-code file (core/config_file/):
-- managed_by is 'file'; an apply changes or removes only these, never a page made from
-- chat, the API or the CLI (NULL).
ALTER TABLE status_pages ADD COLUMN managed_by text;
