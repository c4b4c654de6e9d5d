import { readFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'

// The user's other secrets: named secrets (API keys, passwords, anything else) and MFA factors (a TOTP
// seed, a set of backup codes), sealed under the tenant's data keys like token sets, with their own
// binding labels. Every table is a tenant table: tenant first in its key, composite foreign keys (to the
// data-key version a secret is sealed under, ON DELETE RESTRICT), forced row-level security.
//
// A code is accepted at most once because its use is a row (mfa_used_codes: a TOTP time step, or a
// backup code's place in its set) that can be inserted once; attempts are counted per user before they
// are checked (vault_claim_mfa_attempt), so concurrent guesses on any replica cannot pass the limit.
// Frozen in time like every migration: no application code, and never edited once released.

const CREATED = ['vault_claim_mfa_attempt.v1', 'vault_clear_mfa_attempts.v1'] as const
const TABLES = ['user_secrets', 'mfa_factors', 'mfa_used_codes', 'mfa_attempts'] as const

const functionSource = (name: string) => readFileSync(new URL(`../functions/${name}.sql`, import.meta.url), 'utf8')

const statements = [
  sql`CREATE TABLE user_secrets (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    user_id text NOT NULL,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('api_key', 'password', 'generic')),
    labels jsonb NOT NULL DEFAULT '{}'::jsonb,
    key_version integer NOT NULL,
    -- Bound to tenant, user, name, kind and key version: moved to another row it does not open.
    value_sealed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_secrets_pkey PRIMARY KEY (tenant_id, user_id, name),
    CONSTRAINT user_secrets_data_key_fkey FOREIGN KEY (tenant_id, key_version) REFERENCES data_keys (tenant_id, version) ON DELETE RESTRICT
  )`,
  sql`CREATE INDEX user_secrets_key_version_idx ON user_secrets (tenant_id, key_version)`,

  sql`CREATE TABLE mfa_factors (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    id uuid NOT NULL,
    user_id text NOT NULL,
    type text NOT NULL CHECK (type IN ('totp', 'backup_codes')),
    -- A pending factor was generated and not yet bound; it expires. Binding re-seals it as bound.
    state text NOT NULL CHECK (state IN ('pending', 'bound')),
    expires_at timestamptz,
    key_version integer NOT NULL,
    -- The TOTP seed or the set of backup codes, bound to tenant, user, id, type, state, expiry and key version.
    secret_sealed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    bound_at timestamptz,
    last_used_at timestamptz,
    CONSTRAINT mfa_factors_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT mfa_factors_data_key_fkey FOREIGN KEY (tenant_id, key_version) REFERENCES data_keys (tenant_id, version) ON DELETE RESTRICT,
    CONSTRAINT mfa_factors_pending_expires CHECK ((state = 'pending') = (expires_at IS NOT NULL))
  )`,
  // One bound and one pending factor of each type per user; its prefix finds a user's factors.
  sql`CREATE UNIQUE INDEX mfa_factors_user_type_state_key ON mfa_factors (tenant_id, user_id, type, state)`,
  sql`CREATE INDEX mfa_factors_key_version_idx ON mfa_factors (tenant_id, key_version)`,

  sql`CREATE TABLE mfa_used_codes (
    tenant_id text NOT NULL,
    factor_id uuid NOT NULL,
    -- The TOTP time step, or the backup code's place in its set.
    counter bigint NOT NULL CHECK (counter >= 0),
    used_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mfa_used_codes_pkey PRIMARY KEY (tenant_id, factor_id, counter),
    CONSTRAINT mfa_used_codes_factor_fkey FOREIGN KEY (tenant_id, factor_id) REFERENCES mfa_factors (tenant_id, id) ON DELETE CASCADE
  )`,

  sql`CREATE TABLE mfa_attempts (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    user_id text NOT NULL,
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mfa_attempts_pkey PRIMARY KEY (tenant_id, user_id)
  )`,

  ...TABLES.flatMap((table) => [
    sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`,
    sql`ALTER TABLE ${sql.table(table)} FORCE ROW LEVEL SECURITY`,
    sql`CREATE POLICY tenant_isolation ON ${sql.table(table)} TO secret_vault_app
      USING (tenant_id = current_setting('vault.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('vault.tenant_id', true))`,
    sql`CREATE POLICY operator_all_tenants ON ${sql.table(table)} TO secret_vault_operator USING (true) WITH CHECK (true)`,
  ]),
  sql`GRANT SELECT, INSERT, UPDATE, DELETE ON user_secrets, mfa_factors, mfa_used_codes, mfa_attempts TO secret_vault_app`,
  // Operators move sealed values to new key versions, verify them, and shred tenants.
  sql`GRANT SELECT, UPDATE, DELETE ON user_secrets, mfa_factors TO secret_vault_operator`,
  sql`GRANT SELECT, DELETE ON mfa_used_codes, mfa_attempts TO secret_vault_operator`,
]

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db)
  for (const name of CREATED) await sql.raw(functionSource(name)).execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION vault_clear_mfa_attempts(text, text)`.execute(db)
  await sql`DROP FUNCTION vault_claim_mfa_attempt(text, text, timestamptz)`.execute(db)
  for (const table of [...TABLES].reverse()) await sql`DROP TABLE ${sql.table(table)}`.execute(db)
}
