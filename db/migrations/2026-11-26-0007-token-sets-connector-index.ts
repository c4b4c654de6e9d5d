import { sql, type Kysely } from 'kysely'

// Frozen in time: this file never imports application code.
//
// A read or push names a connection by all four of tenant, user, connector type and connector id. The
// connector index held only three of them, so whenever the planner had no statistics yet — a new table, a
// tenant that just grew — it could pick that index for the one-row lookup and filter every token set of the
// connector (every user of "github") row by row. With user_id as its last column, either index the planner
// picks finds the one row by its full key; the connector-wide deletes still use the index's prefix.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX token_sets_connector_idx`.execute(db)
  await db.schema.createIndex('token_sets_connector_idx').on('token_sets').columns(['tenant_id', 'connector_type', 'connector_id', 'user_id']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX token_sets_connector_idx`.execute(db)
  await db.schema.createIndex('token_sets_connector_idx').on('token_sets').columns(['tenant_id', 'connector_type', 'connector_id']).execute()
}
