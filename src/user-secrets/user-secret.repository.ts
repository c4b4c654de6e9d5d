import { type Selectable, sql } from 'kysely'
import type { UserSecretKind, UserSecretsTable } from '../db/schema.ts'
import type { TenantTransaction } from '../db/tenant-scope.ts'
import { type WrappedDataKey, withDataKey } from '../keys/data-key.repository.ts'

export interface UserSecretKey {
  tenantId: string
  userId: string
  name: string
}

export type UserSecretRow = Omit<Selectable<UserSecretsTable>, 'value_sealed'>

const metadataColumns = [
  'user_secrets.tenant_id',
  'user_secrets.user_id',
  'user_secrets.name',
  'user_secrets.kind',
  'user_secrets.labels',
  'user_secrets.key_version',
  'user_secrets.created_at',
  'user_secrets.updated_at',
] as const

/** Inserts or replaces; `created` tells which (xmax is 0 only for a row this statement inserted). */
export async function upsertUserSecret(
  trx: TenantTransaction,
  key: UserSecretKey,
  write: { kind: UserSecretKind; labels: Record<string, string>; key_version: number; value_sealed: Buffer },
): Promise<UserSecretRow & { created: boolean }> {
  const values = { ...write, labels: JSON.stringify(write.labels) }
  return trx
    .insertInto('user_secrets')
    .values({ tenant_id: key.tenantId, user_id: key.userId, name: key.name, ...values })
    .onConflict((c) => c.columns(['tenant_id', 'user_id', 'name']).doUpdateSet({ ...values, updated_at: sql<Date>`now()` }))
    .returning([...metadataColumns, sql<boolean>`(xmax = 0)`.as('created')])
    .executeTakeFirstOrThrow()
}

/** The row with its sealed value and the wrapped data key that opens it. */
export async function findUserSecretWithValue(
  trx: TenantTransaction,
  key: UserSecretKey,
): Promise<(UserSecretRow & { value_sealed: Uint8Array; dataKey: WrappedDataKey }) | undefined> {
  const row = await trx
    .selectFrom('user_secrets')
    .innerJoin('data_keys as dk', (join) =>
      join.onRef('dk.tenant_id', '=', 'user_secrets.tenant_id').onRef('dk.version', '=', 'user_secrets.key_version'),
    )
    .select([...metadataColumns, 'user_secrets.value_sealed', 'dk.root_key_id', 'dk.wrapped_key'])
    .where('user_secrets.tenant_id', '=', key.tenantId)
    .where('user_secrets.user_id', '=', key.userId)
    .where('user_secrets.name', '=', key.name)
    .executeTakeFirst()
  return row && withDataKey(row)
}

export async function listUserSecrets(trx: TenantTransaction, tenantId: string, userId: string): Promise<UserSecretRow[]> {
  return trx
    .selectFrom('user_secrets')
    .select(metadataColumns)
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .orderBy('name')
    .execute()
}

export async function deleteUserSecret(trx: TenantTransaction, key: UserSecretKey): Promise<number> {
  const result = await trx
    .deleteFrom('user_secrets')
    .where('tenant_id', '=', key.tenantId)
    .where('user_id', '=', key.userId)
    .where('name', '=', key.name)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

export async function deleteUserSecretsOfUser(trx: TenantTransaction, tenantId: string, userId: string): Promise<number> {
  const result = await trx.deleteFrom('user_secrets').where('tenant_id', '=', tenantId).where('user_id', '=', userId).executeTakeFirst()
  return Number(result.numDeletedRows)
}
