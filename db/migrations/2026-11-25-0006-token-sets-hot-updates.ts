import { sql, type Kysely } from 'kysely'

// Frozen in time: this file never imports application code.
//
// Re-encryption, pushes and refreshes rewrite a token set's sealed columns and its key version, never its
// identity (tenant, id, user, connector). With key_version out of every index and room left on each page,
// PostgreSQL can make those updates heap-only (HOT): the new row version stays on its page and no index is
// touched. Re-encryption walks a tenant's rows in primary-key order instead of through a key-version index.
// The fill factor applies to pages written from now on.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX token_sets_key_version_idx`.execute(db)
  await sql`ALTER TABLE token_sets SET (fillfactor = 70)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE token_sets RESET (fillfactor)`.execute(db)
  await db.schema.createIndex('token_sets_key_version_idx').on('token_sets').columns(['tenant_id', 'key_version']).execute()
}
