import { sql, type Kysely, type Transaction } from 'kysely'
import type { DB } from './schema.ts'

/** The role every service transaction runs as: not the tables' owner, not a superuser, so RLS binds it. */
export const SERVICE_ROLE = 'secret_vault_app'

export type TenantTransaction = Transaction<DB>

/**
 * Runs `work` in a transaction that the database confines to one tenant: it switches to the service role
 * and sets the tenant for row-level security, both transaction-local, so nothing leaks to the next user of
 * the pooled connection.
 */
export function inTenantTransaction<T>(
  db: Kysely<DB>,
  tenantId: string,
  work: (trx: TenantTransaction) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('role', ${SERVICE_ROLE}, true), set_config('vault.tenant_id', ${tenantId}, true)`.execute(trx)
    return work(trx)
  })
}
