import { readFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'

// The database functions take named records (jsonb arrays of objects) instead of parallel arrays bound by
// position, and each rule has one home: a push's rules are the service's (its write function only
// compares and swaps), a read's are the read function's (the service acts on its verdict), and when a token
// is due is vault_refresh_due, which the read and the refresh both ask. The baseline's functions are
// dropped: no release calls them any more.
//
// Connection health: a token set keeps when its refresh token expires, if the provider said
// (refresh_token_expires_in), and how its refreshes are failing — how many in a row since when, the last
// error code, and when the next attempt may be made (backoff, Retry-After), shared by every replica. These
// columns steer only when the vault refreshes (always at the server the refresh token is bound to), not
// where a secret goes, and are not bound into a ciphertext (see docs/threat-model.md).
// Frozen in time like every migration: no application code, and never edited once released.

const DROPPED = [
  'vault_insert_audit_events(text[], text[], text[], text[], text[], text[], text[], text[], text[], integer[], text[])',
  'vault_prepare_pushes(text[], text[], text[], text[])',
  'vault_read_and_record_token_sets(text[], text[], text[], text[], text[], timestamptz[], text, text[], text[], text[])',
  'vault_write_pushed_token_sets(text[], text[], text[], text[], uuid[], boolean[], text[], text[], text[], text[], text[], ' +
    'timestamptz[], timestamptz[], integer[], bytea[], bytea[], bytea[], text, text[], text[], text[], boolean[], text[], boolean[], uuid[])',
] as const

const CREATED = [
  'vault_insert_audit_events.v2',
  'vault_refresh_due.v1',
  'vault_read_token_sets.v1',
  'vault_find_push_bases.v1',
  'vault_write_token_sets.v1',
] as const

const functionSource = (name: string) => readFileSync(new URL(`../functions/${name}.sql`, import.meta.url), 'utf8')

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE token_sets
    ADD COLUMN refresh_token_expires_at timestamptz,
    ADD COLUMN refresh_failures integer NOT NULL DEFAULT 0 CHECK (refresh_failures >= 0),
    ADD COLUMN refresh_failing_since timestamptz,
    ADD COLUMN last_refresh_failure_at timestamptz,
    ADD COLUMN last_refresh_error text,
    ADD COLUMN next_refresh_at timestamptz`.execute(db)
  // A connector's refresh policy (minimum interval between refreshes of a set, longest backoff): timing only.
  await sql`ALTER TABLE connector_refresh_settings ADD COLUMN refresh_policy jsonb NOT NULL DEFAULT '{}'::jsonb`.execute(db)
  for (const signature of DROPPED) await sql`DROP FUNCTION ${sql.raw(signature)}`.execute(db)
  for (const name of CREATED) await sql.raw(functionSource(name)).execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION vault_insert_audit_events(jsonb)`.execute(db)
  await sql`DROP FUNCTION vault_read_token_sets(jsonb, text)`.execute(db)
  await sql`DROP FUNCTION vault_refresh_due(timestamptz, timestamptz, timestamptz, bigint)`.execute(db)
  await sql`DROP FUNCTION vault_find_push_bases(jsonb)`.execute(db)
  await sql`DROP FUNCTION vault_write_token_sets(jsonb, boolean)`.execute(db)
  await sql`ALTER TABLE token_sets
    DROP COLUMN refresh_token_expires_at, DROP COLUMN refresh_failures, DROP COLUMN refresh_failing_since,
    DROP COLUMN last_refresh_failure_at, DROP COLUMN last_refresh_error, DROP COLUMN next_refresh_at`.execute(db)
  await sql`ALTER TABLE connector_refresh_settings DROP COLUMN refresh_policy`.execute(db)
  for (const name of [
    'vault_insert_audit_events.v1',
    'vault_read_and_record_token_sets.v1',
    'vault_prepare_pushes.v1',
    'vault_write_pushed_token_sets.v1',
  ]) {
    await sql.raw(functionSource(name)).execute(db)
  }
}
