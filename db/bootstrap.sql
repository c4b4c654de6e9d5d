-- Run once per PostgreSQL cluster, by an administrator (a role with CREATEROLE), before the first
-- migration: `secret-vault db bootstrap`, or `psql -f db/bootstrap.sql`. Roles are cluster-wide, so this
-- lives outside the migrations, which run as the tables' owner and need no role privileges at all.
--
--   secret_vault_app       the service. Neither owner nor superuser: row-level security binds it.
--   secret_vault_operator  operator commands, admitted to every tenant by explicit policies; still not the owner.
--
-- Both are NOLOGIN: logins become members of them (GRANT secret_vault_app TO vault_service). Idempotent.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'secret_vault_app') THEN
    CREATE ROLE secret_vault_app NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'secret_vault_operator') THEN
    CREATE ROLE secret_vault_operator NOLOGIN;
  END IF;
EXCEPTION
  -- Another bootstrap of the same cluster created them a moment ago.
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
