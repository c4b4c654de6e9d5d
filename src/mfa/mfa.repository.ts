import { type Selectable, sql } from 'kysely'
import type { MfaFactorsTable, MfaFactorType } from '../db/schema.ts'
import type { TenantTransaction } from '../db/tenant-scope.ts'
import { type WrappedDataKey, withDataKey } from '../keys/data-key.repository.ts'

export type FactorRow = Omit<Selectable<MfaFactorsTable>, 'secret_sealed'>
export type FactorWithSecret = FactorRow & { secret_sealed: Uint8Array; dataKey: WrappedDataKey }

const columns = [
  'mfa_factors.tenant_id',
  'mfa_factors.id',
  'mfa_factors.user_id',
  'mfa_factors.type',
  'mfa_factors.state',
  'mfa_factors.expires_at',
  'mfa_factors.key_version',
  'mfa_factors.created_at',
  'mfa_factors.bound_at',
  'mfa_factors.last_used_at',
] as const

/** The user's factor of this type in `state`, if any (one of each: the unique index). */
async function deleteFactorIn(
  trx: TenantTransaction,
  { tenant_id, user_id, type }: Pick<MfaFactorsTable, 'tenant_id' | 'user_id' | 'type'>,
  state: 'pending' | 'bound',
): Promise<void> {
  await trx
    .deleteFrom('mfa_factors')
    .where('tenant_id', '=', tenant_id)
    .where('user_id', '=', user_id)
    .where('type', '=', type)
    .where('state', '=', state)
    .execute()
}

/** A new pending factor replaces the user's pending one of its type, if any (the bound one stays). */
export async function insertPendingFactor(
  trx: TenantTransaction,
  factor: Pick<MfaFactorsTable, 'tenant_id' | 'id' | 'user_id' | 'type' | 'key_version'> & { expires_at: Date; secret_sealed: Buffer },
): Promise<FactorRow> {
  await deleteFactorIn(trx, factor, 'pending')
  return trx
    .insertInto('mfa_factors')
    .values({ ...factor, state: 'pending' })
    .returning(columns)
    .executeTakeFirstOrThrow()
}

/**
 * The user's factor of a type in a state, with its sealed secret and data key, held for the transaction
 * (a bind and a concurrent generate or bind take turns). A pending one must be `pendingId`.
 */
export async function lockFactor(
  trx: TenantTransaction,
  where: { tenantId: string; userId: string; type: MfaFactorType } & ({ state: 'bound' } | { state: 'pending'; id: string }),
): Promise<FactorWithSecret | undefined> {
  let query = trx
    .selectFrom('mfa_factors')
    .innerJoin('data_keys as dk', (join) =>
      join.onRef('dk.tenant_id', '=', 'mfa_factors.tenant_id').onRef('dk.version', '=', 'mfa_factors.key_version'),
    )
    .select([...columns, 'mfa_factors.secret_sealed', 'dk.root_key_id', 'dk.wrapped_key'])
    .where('mfa_factors.tenant_id', '=', where.tenantId)
    .where('mfa_factors.user_id', '=', where.userId)
    .where('mfa_factors.type', '=', where.type)
    .where('mfa_factors.state', '=', where.state)
  if (where.state === 'pending') query = query.where('mfa_factors.id', '=', where.id)
  const row = await query.forUpdate('mfa_factors').executeTakeFirst()
  return row && withDataKey(row)
}

/** Makes a pending factor the user's bound one of its type, replacing the old one (its used codes go with it). */
export async function bindFactor(trx: TenantTransaction, pending: FactorRow, secretSealed: Buffer, at: Date): Promise<FactorRow> {
  await deleteFactorIn(trx, pending, 'bound')
  return trx
    .updateTable('mfa_factors')
    .set({ state: 'bound', expires_at: null, bound_at: at, secret_sealed: secretSealed })
    .where('tenant_id', '=', pending.tenant_id)
    .where('id', '=', pending.id)
    .returning(columns)
    .executeTakeFirstOrThrow()
}

/** Records a code's use; false when it was used before (the row exists: one use, across every replica). */
export async function recordUse(trx: TenantTransaction, factor: FactorRow, counter: number, at: Date): Promise<boolean> {
  const inserted = await trx
    .insertInto('mfa_used_codes')
    .values({ tenant_id: factor.tenant_id, factor_id: factor.id, counter, used_at: at })
    .onConflict((c) => c.doNothing())
    .returning('counter')
    .executeTakeFirst()
  if (inserted === undefined) return false
  await trx
    .updateTable('mfa_factors')
    .set({ last_used_at: at })
    .where('tenant_id', '=', factor.tenant_id)
    .where('id', '=', factor.id)
    .execute()
  return true
}

/** TOTP steps older than the window can never be presented again: their records can go. */
export async function forgetStepsBefore(trx: TenantTransaction, factor: FactorRow, step: number): Promise<void> {
  await trx
    .deleteFrom('mfa_used_codes')
    .where('tenant_id', '=', factor.tenant_id)
    .where('factor_id', '=', factor.id)
    .where('counter', '<', String(step))
    .execute()
}

export async function usesOf(trx: TenantTransaction, factor: FactorRow): Promise<Map<number, Date>> {
  const rows = await trx
    .selectFrom('mfa_used_codes')
    .select(['counter', 'used_at'])
    .where('tenant_id', '=', factor.tenant_id)
    .where('factor_id', '=', factor.id)
    .execute()
  return new Map(rows.map((row) => [Number(row.counter), row.used_at]))
}

export async function listFactors(trx: TenantTransaction, tenantId: string, userId: string): Promise<Array<FactorRow & { used: number }>> {
  return trx
    .selectFrom('mfa_factors')
    .select([
      ...columns,
      sql<number>`(SELECT count(*)::int FROM mfa_used_codes u WHERE u.tenant_id = mfa_factors.tenant_id AND u.factor_id = mfa_factors.id)`.as(
        'used',
      ),
    ])
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .orderBy('type')
    .orderBy('state')
    .execute()
}

export async function deleteFactors(
  trx: TenantTransaction,
  tenantId: string,
  userId: string,
  type: MfaFactorType | undefined,
): Promise<number> {
  let query = trx.deleteFrom('mfa_factors').where('tenant_id', '=', tenantId).where('user_id', '=', userId)
  if (type !== undefined) query = query.where('type', '=', type)
  return Number((await query.executeTakeFirst()).numDeletedRows)
}

export async function deleteAttempts(trx: TenantTransaction, tenantId: string, userId: string): Promise<void> {
  await trx.deleteFrom('mfa_attempts').where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute()
}
