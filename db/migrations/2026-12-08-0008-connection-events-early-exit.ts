import { readFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'

// The connection-event trigger function returns at once for a change that no webhook endpoint hears and
// no revoking connector has a token to revoke in (vault_connection_events v2): what it records is
// unchanged. Replaced in place, so the three triggers on token_sets keep calling it.
// Frozen in time like every migration: no application code, and never edited once released.

const functionSource = (name: string) => readFileSync(new URL(`../functions/${name}.sql`, import.meta.url), 'utf8')

export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(functionSource('vault_connection_events.v2')).execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  // v1 was written to be created, not to replace: the triggers need the function to stay.
  await sql.raw(functionSource('vault_connection_events.v1').replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION')).execute(db)
}
