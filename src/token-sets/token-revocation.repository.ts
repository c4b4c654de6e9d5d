import type { Selectable } from 'kysely'
import type { TokenSetsTable } from '../db/schema.ts'
import type { TenantTransaction } from '../db/tenant-scope.ts'
import { type WrappedDataKey, withDataKey } from '../keys/data-key.repository.ts'

interface Job {
  tenantId: string
  id: string
  /** The attempt that claimed it: a later claim makes this attempt's write a no-op. */
  attempt: number
}

/** A queued revocation that is done (revoked, not needed, given up): its sealed token goes with it. */
export async function erase(trx: TenantTransaction, job: Job): Promise<boolean> {
  const result = await trx
    .deleteFrom('token_revocations')
    .where('tenant_id', '=', job.tenantId)
    .where('id', '=', job.id)
    .where('attempts', '=', job.attempt)
    .executeTakeFirst()
  return Number(result.numDeletedRows) === 1
}

export async function retryLater(trx: TenantTransaction, job: Job, retry: { error: string; nextAttemptAt: Date }): Promise<void> {
  await trx
    .updateTable('token_revocations')
    .set({ last_error: retry.error, next_attempt_at: retry.nextAttemptAt, lease_until: null })
    .where('tenant_id', '=', job.tenantId)
    .where('id', '=', job.id)
    .where('attempts', '=', job.attempt)
    .execute()
}

/** The refresh token a token set holds now, with what it is bound to and the data key that opens it. */
export async function findHeldRefreshToken(
  trx: TenantTransaction,
  tenantId: string,
  tokenSetId: string,
): Promise<
  | (Pick<
      Selectable<TokenSetsTable>,
      'user_id' | 'connector_type' | 'connector_id' | 'refresh_server' | 'refresh_token_sealed' | 'key_version'
    > & {
      dataKey: WrappedDataKey
    })
  | undefined
> {
  const row = await trx
    .selectFrom('token_sets as ts')
    .innerJoin('data_keys as dk', (join) => join.onRef('dk.tenant_id', '=', 'ts.tenant_id').onRef('dk.version', '=', 'ts.key_version'))
    .select([
      'ts.tenant_id',
      'ts.user_id',
      'ts.connector_type',
      'ts.connector_id',
      'ts.refresh_server',
      'ts.refresh_token_sealed',
      'ts.key_version',
      'dk.root_key_id',
      'dk.wrapped_key',
    ])
    .where('ts.tenant_id', '=', tenantId)
    .where('ts.id', '=', tokenSetId)
    .executeTakeFirst()
  return row && withDataKey(row)
}
