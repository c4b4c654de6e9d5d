import { readFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'

// The database functions take named records (jsonb arrays of objects) instead of parallel arrays bound by
// position, and each rule has one home: a push's rules are the service's (its write function only
// compares and swaps), a read's are the read function's (the service acts on its verdict), and when a token
// is due is vault_refresh_due, which the read and the refresh both ask. The baseline's functions are
// dropped: no release calls them any more.
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
  for (const signature of DROPPED) await sql`DROP FUNCTION ${sql.raw(signature)}`.execute(db)
  for (const name of CREATED) await sql.raw(functionSource(name)).execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION vault_insert_audit_events(jsonb)`.execute(db)
  await sql`DROP FUNCTION vault_read_token_sets(jsonb, text)`.execute(db)
  await sql`DROP FUNCTION vault_refresh_due(timestamptz, timestamptz, timestamptz, bigint)`.execute(db)
  await sql`DROP FUNCTION vault_find_push_bases(jsonb)`.execute(db)
  await sql`DROP FUNCTION vault_write_token_sets(jsonb, boolean)`.execute(db)
  for (const name of [
    'vault_insert_audit_events.v1',
    'vault_read_and_record_token_sets.v1',
    'vault_prepare_pushes.v1',
    'vault_write_pushed_token_sets.v1',
  ]) {
    await sql.raw(functionSource(name)).execute(db)
  }
}
