-- The person who runs the instance (admin CLI, monitors-as-code file) is a user too, so
-- their monitors go through the same service rules as everyone's.
ALTER TABLE user_identities DROP CONSTRAINT user_identities_provider_check;
ALTER TABLE user_identities ADD CONSTRAINT user_identities_provider_check
    CHECK (provider IN ('discord', 'telegram', 'wallet', 'api', 'operator'));
