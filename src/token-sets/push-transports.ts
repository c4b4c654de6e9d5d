import type { Kysely } from 'kysely'
import { batched } from '../db/batched.ts'
import type { DB } from '../db/schema.ts'
import { hasSqlState, SQL_STATE } from '../db/sql-state.ts'
import { inTenantTransaction, type TenantTransaction } from '../db/tenant-scope.ts'
import type * as functions from '../db/vault-functions.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import type { PushBasis } from './push-plan.ts'
import { connectionRecord, type TokenSetKey } from './token-set.repository.ts'

/** The two statements a push uses; a test may watch or fail them. */
export type PushStatements = Pick<typeof functions, 'findPushBases' | 'writeTokenSets'>

/** How a push's statements reach the database: shared with concurrent pushes, or inside one transaction. */
export interface Transport {
  findBasis(key: TokenSetKey): Promise<functions.PushBasisRow | undefined>
  write(record: functions.TokenSetWriteRecord): Promise<functions.WriteResult>
  createFirstKey(key: TokenSetKey): Promise<unknown>
}

interface TransportDeps {
  keyRing: DataKeyRing
  statements: PushStatements
}

/**
 * The statements shared with the pushes that arrive at the same time (see batched), each push still with
 * its own answer. A write never waits for a row lock in a shared statement: a push whose row is held (by a
 * refresh at the provider, say) writes again alone and waits for it.
 */
export function createSharedTransport({ db, keyRing, statements }: TransportDeps & { db: Kysely<DB> }): Transport {
  const findBasis = batched((keys: readonly TokenSetKey[]) => statements.findPushBases(db, keys.map(connectionRecord)))
  const write = batched(async (records: readonly functions.TokenSetWriteRecord[]) => {
    try {
      return await statements.writeTokenSets(db, records, { waitForLocks: false })
    } catch (error) {
      // Rolled back to break a lock cycle, the batch wrote nothing: each push writes again alone.
      if (hasSqlState(error, SQL_STATE.deadlockDetected)) return records.map(() => ({ status: 'locked' as const }))
      throw error
    }
  })
  return {
    findBasis,
    async write(record) {
      const written = await write(record)
      return written.status === 'locked' ? (await statements.writeTokenSets(db, [record], { waitForLocks: true }))[0]! : written
    },
    createFirstKey: (key) => inTenantTransaction(db, key.tenantId, (trx) => keyRing.activeKey(trx, key.tenantId)),
  }
}

/** The same statements inside one transaction (which holds the row's lock). */
export function transportInTransaction(trx: TenantTransaction, { keyRing, statements }: TransportDeps): Transport {
  return {
    findBasis: async (key) => (await statements.findPushBases(trx, [connectionRecord(key)]))[0],
    write: async (record) => (await statements.writeTokenSets(trx, [record], { waitForLocks: true }))[0]!,
    createFirstKey: (key) => keyRing.activeKey(trx, key.tenantId),
  }
}

/** The basis as stored, creating the tenant's first data key if it has none. */
export async function storedBasis(transport: Transport, key: TokenSetKey): Promise<PushBasis> {
  let row = await transport.findBasis(key)
  if (row === undefined) {
    await transport.createFirstKey(key)
    row = await transport.findBasis(key)
  }
  if (row === undefined) throw new Error('the tenant has no active data key after creating one')
  return basisOf(row, key.tenantId)
}

function basisOf(row: functions.PushBasisRow, tenantId: string): PushBasis {
  const activeKey = { tenantId, version: row.active_version, rootKeyId: row.active_root_key_id, wrappedKey: row.active_wrapped_key }
  if (row.stored_id === null) return { activeKey, settingsServer: row.settings_server, stored: undefined }
  const storedKey = { tenantId, version: row.stored_key_version!, rootKeyId: row.stored_root_key_id!, wrappedKey: row.stored_wrapped_key! }
  const refreshToken =
    row.stored_refresh_token_sealed === null
      ? null
      : {
          server: row.stored_refresh_server,
          expiresAt: row.stored_refresh_token_expires_at,
          sealed: { bytes: row.stored_refresh_token_sealed, dataKey: storedKey },
        }
  return {
    activeKey,
    settingsServer: row.settings_server,
    stored: {
      id: row.stored_id,
      writeId: row.stored_write_id!,
      keyVersion: storedKey.version,
      issuedAt: row.stored_issued_at!,
      refreshToken,
    },
  }
}
