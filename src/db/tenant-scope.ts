import { type Kysely, sql, type Transaction } from 'kysely'
import type { DB } from './schema.ts'

/** The role every service transaction runs as: not the tables' owner, not a superuser, so RLS binds it. */
export const SERVICE_ROLE = 'secret_vault_app'
/** The role operator commands run as: admitted to every tenant by explicit policies, still not the owner. */
export const OPERATOR_ROLE = 'secret_vault_operator'

export type TenantTransaction = Transaction<DB>

/**
 * Runs `work` in a transaction that the database confines to one tenant: it switches to the service role
 * and sets the tenant for row-level security, both transaction-local, so nothing leaks to the next user of
 * the pooled connection.
 */
export function inTenantTransaction<T>(db: Kysely<DB>, tenantId: string, work: (trx: TenantTransaction) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('role', ${SERVICE_ROLE}, true), set_config('vault.tenant_id', ${tenantId}, true)`.execute(trx)
    return work(trx)
  })
}

export type OperatorTransaction = Transaction<DB> & { readonly __operator: true }

/**
 * Runs `work` in a transaction as the operator role, which may read and change every tenant's keys.
 * `snapshot`: one snapshot for every statement (repeatable read), for a reader that must see one instant.
 */
export function inOperatorTransaction<T>(
  db: Kysely<DB>,
  work: (trx: OperatorTransaction) => Promise<T>,
  options: { snapshot?: boolean } = {},
): Promise<T> {
  const transaction = options.snapshot === true ? db.transaction().setIsolationLevel('repeatable read') : db.transaction()
  return transaction.execute(async (trx) => {
    await sql`SELECT set_config('role', ${OPERATOR_ROLE}, true)`.execute(trx)
    return work(trx as OperatorTransaction)
  })
}
