import { LRUCache } from 'lru-cache'
import type { WrappedDataKey } from '../keys/data-key.repository.ts'
import type { TokenSetKey } from './token-set.repository.ts'

/**
 * Where the next push to a connection goes: its row id (bound into every ciphertext), the key to seal
 * under, and what the access token's binding depends on beyond the push — whether the row holds a refresh
 * token, and the authorization server a new one is bound to.
 */
export interface PushTarget {
  id: string
  activeKey: WrappedDataKey
  storedHasRefreshToken: boolean
  refreshServer: string | null
}

/**
 * What a replica remembers of the connections it pushed to, so that the next push to one seals and writes
 * in one statement instead of asking the database first. Hints only, never trusted: the write refuses a row
 * id that no longer names the connection and a key that is no longer the tenant's active one, and the push
 * then asks. Nothing secret is kept (the data key stays wrapped; opening it goes through the key ring).
 */
export interface PushTargetMemory {
  recall(key: TokenSetKey): PushTarget | undefined
  remember(key: TokenSetKey, target: PushTarget): void
  forget(key: TokenSetKey): void
}

/** About 200 bytes an entry: 50,000 connections cost ~10 MB at most. */
const MAX_CONNECTIONS = 50_000

const connectionKey = (key: TokenSetKey) => `${key.tenantId}\u0000${key.userId}\u0000${key.connectorType}\u0000${key.connectorId}`

export function createPushTargetMemory(maxConnections = MAX_CONNECTIONS): PushTargetMemory {
  const rows = new LRUCache<string, Pick<PushTarget, 'id' | 'storedHasRefreshToken' | 'refreshServer'>>({ max: maxConnections })
  // One entry per tenant, not per connection: a rotation is noticed once per tenant.
  const activeKeys = new LRUCache<string, WrappedDataKey>({ max: maxConnections })
  return {
    recall(key) {
      const row = rows.get(connectionKey(key))
      const activeKey = row === undefined ? undefined : activeKeys.get(key.tenantId)
      return activeKey === undefined ? undefined : { ...row!, activeKey }
    },
    remember(key, { activeKey, ...row }) {
      rows.set(connectionKey(key), row)
      activeKeys.set(key.tenantId, activeKey)
    },
    // Both: whichever was stale, the prepared path learns them again.
    forget(key) {
      rows.delete(connectionKey(key))
      activeKeys.delete(key.tenantId)
    },
  }
}
