import type { KeyObject } from 'node:crypto'
import type { Kysely } from 'kysely'
import { batched } from '../db/batched.ts'
import type { DB } from '../db/schema.ts'
import { hasSqlState, SQL_STATE } from '../db/sql-state.ts'
import { inTenantTransaction, type TenantTransaction } from '../db/tenant-scope.ts'
import * as functions from '../db/vault-functions.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { toConnection } from './connection.ts'
import { createPushBasisMemory } from './push-basis-memory.ts'
import { type Push, type PushBasis, planPush } from './push-plan.ts'
import * as repository from './token-set.repository.ts'
import { connectionRecord, type TokenSetKey } from './token-set.repository.ts'
import type { Connection } from './token-set.schemas.ts'

export type PushResult = { result: 'created' | 'updated' | 'ignored_stale'; connection: Connection }

/**
 * How often a push asks for its basis afresh, sharing statements, when it changed before the write. Within a
 * replica, pushes to one connection take turns, so only another writer of the set (a replica, a refresh)
 * costs a round; after these the push holds the row's lock from basis to write, and so cannot lose again.
 */
const SHARED_ATTEMPTS = 2
/** Holding the lock, only the set's first insert by another writer, or a key rotation, can still intervene. */
const LOCKED_ATTEMPTS = 3

/** How a push's statements reach the database: shared with concurrent pushes, or inside one transaction. */
interface Transport {
  findBasis(key: TokenSetKey): Promise<functions.PushBasisRow | undefined>
  write(record: functions.TokenSetWriteRecord): Promise<functions.WriteResult>
  createFirstKey(key: TokenSetKey): Promise<unknown>
}

function basisOf(row: functions.PushBasisRow, tenantId: string): PushBasis {
  const activeKey = { tenantId, version: row.active_version, rootKeyId: row.active_root_key_id, wrappedKey: row.active_wrapped_key }
  if (row.stored_id === null) return { activeKey, settingsServer: row.settings_server, stored: undefined }
  const storedKey = { tenantId, version: row.stored_key_version!, rootKeyId: row.stored_root_key_id!, wrappedKey: row.stored_wrapped_key! }
  const refreshToken =
    row.stored_refresh_token_sealed === null
      ? null
      : { server: row.stored_refresh_server, sealed: { bytes: row.stored_refresh_token_sealed, dataKey: storedKey } }
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

/** The basis of the next push after `record` was written: the replica's own write, under the active key. */
function basisAfter(basis: PushBasis, record: functions.TokenSetWriteRecord & { write: true }, hasRefreshToken: boolean): PushBasis {
  const server = record.keep_refresh_token ? (basis.stored?.refreshToken?.server ?? null) : record.refresh_server
  return {
    activeKey: basis.activeKey,
    settingsServer: basis.settingsServer,
    stored: {
      id: record.id,
      writeId: record.write_id,
      keyVersion: record.key_version,
      issuedAt: record.issued_at,
      refreshToken: hasRefreshToken ? { server } : null,
    },
  }
}

/** The two statements a push uses; a test may watch or fail them. */
export type PushStatements = Pick<typeof functions, 'findPushBases' | 'writeTokenSets'>

export interface TokenSetPusherDeps {
  db: Kysely<DB>
  keyRing: DataKeyRing
  statements?: PushStatements
}

/** Pushes in one path: take a basis, plan the write, compare-and-swap; ask afresh when the basis no longer held. */
export function createTokenSetPusher({ db, keyRing, statements = functions }: TokenSetPusherDeps) {
  // Concurrent pushes share statements (see batched); each still gets its own answer.
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
  const memory = createPushBasisMemory()
  const turns = new Map<string, Promise<unknown>>()

  const shared: Transport = {
    findBasis,
    async write(record) {
      const written = await write(record)
      // Another transaction holds the row (a refresh at the provider, say): wait for it, alone.
      return written.status === 'locked' ? (await statements.writeTokenSets(db, [record], { waitForLocks: true }))[0]! : written
    },
    createFirstKey: (key) => inTenantTransaction(db, key.tenantId, (trx) => keyRing.activeKey(trx, key.tenantId)),
  }
  const holdingLock = (trx: TenantTransaction): Transport => ({
    findBasis: async (key) => (await statements.findPushBases(trx, [connectionRecord(key)]))[0],
    write: async (record) => (await statements.writeTokenSets(trx, [record], { waitForLocks: true }))[0]!,
    createFirstKey: (key) => keyRing.activeKey(trx, key.tenantId),
  })

  /** The stored basis, creating the tenant's first data key if it has none. */
  async function storedBasis(transport: Transport, key: TokenSetKey): Promise<PushBasis> {
    let row = await transport.findBasis(key)
    if (row === undefined) {
      await transport.createFirstKey(key)
      row = await transport.findBasis(key)
    }
    if (row === undefined) throw new Error('the tenant has no active data key after creating one')
    return basisOf(row, key.tenantId)
  }

  /** Plans the push on `basis` and writes it; undefined when the basis no longer held (nothing was written). */
  async function attempt(transport: Transport, key: TokenSetKey, push: Push, basis: PushBasis, dataKey?: KeyObject) {
    const active = { key: dataKey ?? (await keyRing.unwrap(basis.activeKey)), version: basis.activeKey.version }
    const record = await planPush(key, push, basis, active, keyRing)
    const written = await transport.write(record)
    if (written.row === undefined) return undefined
    if (record.write) memory.remember(key, basisAfter(basis, record, written.row.has_refresh_token))
    return { result: written.status, connection: toConnection(written.row) }
  }

  async function pushOnce(key: TokenSetKey, push: Push): Promise<PushResult> {
    const remembered = memory.recall(key)
    // A remembered wrapping may be one the provider no longer opens (the root key was rotated and the old
    // one retired): the stored basis names the current one, and a provider really down fails there.
    const rememberedKey = remembered && (await keyRing.unwrap(remembered.activeKey).catch(() => undefined))
    const pushed = rememberedKey && (await attempt(shared, key, push, remembered!, rememberedKey))
    if (pushed) return pushed
    memory.forget(key)
    for (let round = 0; round < SHARED_ATTEMPTS; round++) {
      const pushed = await attempt(shared, key, push, await storedBasis(shared, key))
      if (pushed) return pushed
    }
    // Still racing other writers of this set: the same steps, holding its row lock from basis to write.
    return inTenantTransaction(db, key.tenantId, async (trx) => {
      for (let round = 0; round < LOCKED_ATTEMPTS; round++) {
        await repository.lockTokenSet(trx, key)
        const pushed = await attempt(holdingLock(trx), key, push, await storedBasis(holdingLock(trx), key))
        if (pushed) return pushed
      }
      throw new Error('the basis of a push changed while its row was locked')
    })
  }

  return {
    /** Stores a push with its audit event (token_set.push), in one transaction. Pushes to one connection take turns. */
    push(key: TokenSetKey, push: Push): Promise<PushResult> {
      const turnKey = JSON.stringify([key.tenantId, key.userId, key.connectorType, key.connectorId])
      const previous = turns.get(turnKey) ?? Promise.resolve()
      const result = previous.then(
        () => pushOnce(key, push),
        () => pushOnce(key, push),
      )
      const turn = result.catch(() => undefined)
      turns.set(turnKey, turn)
      void turn.then(() => {
        if (turns.get(turnKey) === turn) turns.delete(turnKey)
      })
      return result
    },
  }
}
