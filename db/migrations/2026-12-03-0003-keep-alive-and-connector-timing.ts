import { readFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'

// Keep-alive refresh, gauges across tenants, and a connector's own refresh timing.
//
// A connector's refresh policy may now keep idle grants alive (keep_alive_idle_seconds: a set not issued
// for that long is refreshed in the background, for providers whose refresh tokens die unused), and name
// its own refresh margin and how long a read waits for a refresh. When a token is due therefore takes the
// policy (vault_refresh_due v2, and the read statement v2 that asks it); when a set is due for keep-alive
// is vault_keep_alive_due, asked by the sweep (vault_find_keep_alive_sets) and by the refresh under its
// lock. vault_count_token_sets and vault_count_data_keys feed the gauges of connections by health and
// of data-key versions by state.
//
// These walk every tenant, so the service's role may now list the tenants' ids (tenants holds nothing else:
// an id and when it was created); every other table still admits it to one tenant at a time.
// Frozen in time like every migration: no application code, and never edited once released.

const CREATED = [
  'vault_refresh_due.v2',
  'vault_read_token_sets.v2',
  'vault_keep_alive_due.v1',
  'vault_find_keep_alive_sets.v1',
  'vault_count_token_sets.v1',
  'vault_count_data_keys.v1',
] as const

const functionSource = (name: string) => readFileSync(new URL(`../functions/${name}.sql`, import.meta.url), 'utf8')

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE POLICY tenants_listed ON tenants FOR SELECT TO secret_vault_app USING (true)`.execute(db)
  // No index on issued_at for the sweep: every push and refresh changes issued_at, and an index on it
  // would cost each of them its heap-only update. The sweep reads the opted-in connectors' sets instead.
  await sql`DROP FUNCTION vault_read_token_sets(jsonb, text)`.execute(db)
  await sql`DROP FUNCTION vault_refresh_due(timestamptz, timestamptz, timestamptz, bigint)`.execute(db)
  for (const name of CREATED) await sql.raw(functionSource(name)).execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION vault_count_data_keys()`.execute(db)
  await sql`DROP FUNCTION vault_count_token_sets()`.execute(db)
  await sql`DROP FUNCTION vault_find_keep_alive_sets(timestamptz, integer)`.execute(db)
  await sql`DROP FUNCTION vault_keep_alive_due(timestamptz, timestamptz, jsonb, timestamptz)`.execute(db)
  await sql`DROP FUNCTION vault_read_token_sets(jsonb, text)`.execute(db)
  await sql`DROP FUNCTION vault_refresh_due(timestamptz, timestamptz, timestamptz, bigint, jsonb)`.execute(db)
  for (const name of ['vault_refresh_due.v1', 'vault_read_token_sets.v1']) await sql.raw(functionSource(name)).execute(db)
  await sql`DROP POLICY tenants_listed ON tenants`.execute(db)
}
