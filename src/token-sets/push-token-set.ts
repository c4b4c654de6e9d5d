import type { KeyObject } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { DB } from '../db/schema.ts'
import { inTenantTransaction, type TenantTransaction } from '../db/tenant-scope.ts'
import * as functions from '../db/vault-functions.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { toConnection } from './connection.ts'
import { createPushBasisMemory } from './push-basis-memory.ts'
import { type Push, type PushBasis, planPush } from './push-plan.ts'
import { createSharedTransport, type PushStatements, storedBasis, type Transport, transportInTransaction } from './push-transports.ts'
import * as repository from './token-set.repository.ts'
import { connectionId, type TokenSetKey } from './token-set.repository.ts'
import type { Connection } from './token-set.schemas.ts'

export type { PushStatements }

export type PushResult = { result: 'created' | 'updated' | 'ignored_stale'; connection: Connection }

/**
 * How often a push asks for its basis afresh, sharing statements, when it changed before the write. Within a
 * replica, pushes to one connection take turns, so only another writer of the set (a replica, a refresh)
 * costs a round; after these the push holds the row's lock from basis to write, and so cannot lose again.
 */
const SHARED_ATTEMPTS = 2
/** Holding the lock, only the set's first insert by another writer, or a key rotation, can still intervene. */
const LOCKED_ATTEMPTS = 3

/** The basis of the next push after `record` was written: the replica's own write, under the active key. */
function basisAfter(basis: PushBasis, record: functions.TokenSetWriteRecord & { write: true }, hasRefreshToken: boolean): PushBasis {
  const kept = basis.stored?.refreshToken
  const refreshToken = record.keep_refresh_token
    ? { server: kept?.server ?? null, expiresAt: kept?.expiresAt ?? null }
    : { server: record.refresh_server, expiresAt: record.refresh_token_expires_at }
  return {
    activeKey: basis.activeKey,
    settingsServer: basis.settingsServer,
    stored: {
      id: record.id,
      writeId: record.write_id,
      keyVersion: record.key_version,
      issuedAt: record.issued_at,
      refreshToken: hasRefreshToken ? refreshToken : null,
    },
  }
}

export interface TokenSetPusherDeps {
  db: Kysely<DB>
  keyRing: DataKeyRing
  statements?: PushStatements
}

/** Pushes in one path: take a basis, plan the write, compare-and-swap; ask afresh when the basis no longer held. */
export function createTokenSetPusher({ db, keyRing, statements = functions }: TokenSetPusherDeps) {
  const shared = createSharedTransport({ db, keyRing, statements })
  const inTransaction = (trx: TenantTransaction) => transportInTransaction(trx, { keyRing, statements })
  const memory = createPushBasisMemory()
  const turns = createTurns()

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
        const pushed = await attempt(inTransaction(trx), key, push, await storedBasis(inTransaction(trx), key))
        if (pushed) return pushed
      }
      throw new Error('the basis of a push changed while its row was locked')
    })
  }

  return {
    /** Stores a push with its audit event (token_set.push), in one transaction. Pushes to one connection take turns. */
    push: (key: TokenSetKey, push: Push): Promise<PushResult> => turns.take(connectionId(key), () => pushOnce(key, push)),
  }
}

/** Work under one key runs one call after another, in the order it came; work under different keys runs at once. */
function createTurns() {
  const last = new Map<string, Promise<unknown>>()
  return {
    take<T>(key: string, work: () => Promise<T>): Promise<T> {
      const result = (last.get(key) ?? Promise.resolve()).then(work, work)
      const done = result.then(
        () => undefined,
        () => undefined,
      )
      last.set(key, done)
      void done.then(() => {
        if (last.get(key) === done) last.delete(key)
      })
      return result
    },
  }
}
