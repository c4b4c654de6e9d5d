import { readFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'

// A push batch's writes go to the database together: vault_write_token_sets v2 locks what a tenant's
// records saw in one statement and writes them, with their audit events, in one more, where v1 ran five
// statements per record. Its signature and what it answers are unchanged, so it is replaced in place;
// vault_token_set_writes is the typed view of a call's records that both statements read.
// Frozen in time like every migration: no application code, and never edited once released.

const functionSource = (name: string) => readFileSync(new URL(`../functions/${name}.sql`, import.meta.url), 'utf8')

export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(functionSource('vault_token_set_writes.v1')).execute(db)
  await sql.raw(functionSource('vault_write_token_sets.v2')).execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw(functionSource('vault_write_token_sets.v1').replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION')).execute(db)
  await sql`DROP FUNCTION vault_token_set_writes(jsonb, text, integer)`.execute(db)
}
