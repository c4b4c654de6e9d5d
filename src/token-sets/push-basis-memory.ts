import { LRUCache } from 'lru-cache'
import type { WrappedDataKey } from '../keys/data-key.repository.ts'
import type { PushBasis } from './push-plan.ts'
import { connectionId, type TokenSetKey } from './token-set.repository.ts'

/**
 * What a replica remembers of the connections it wrote to: the basis of its last write there, so that the
 * next push to one seals and writes in one statement instead of asking the database first. Hints only,
 * never trusted: the write compares and swaps, and a basis that no longer holds is forgotten and asked for
 * again. Nothing secret is kept (the data key stays wrapped; opening it goes through the key ring), and no
 * sealed refresh token: a remembered basis is always the replica's own write, under the key it names.
 */
export interface PushBasisMemory {
  recall(key: TokenSetKey): PushBasis | undefined
  remember(key: TokenSetKey, basis: PushBasis): void
  forget(key: TokenSetKey): void
}

/** About 250 bytes an entry: 50,000 connections cost ~12 MB at most. */
const MAX_CONNECTIONS = 50_000

export function createPushBasisMemory(maxConnections = MAX_CONNECTIONS): PushBasisMemory {
  const rows = new LRUCache<string, Omit<PushBasis, 'activeKey'>>({ max: maxConnections })
  // One entry per tenant, not per connection: a rotation is noticed once per tenant.
  const activeKeys = new LRUCache<string, WrappedDataKey>({ max: maxConnections })
  return {
    recall(key) {
      const row = rows.get(connectionId(key))
      const activeKey = row === undefined ? undefined : activeKeys.get(key.tenantId)
      return activeKey === undefined ? undefined : { ...row!, activeKey }
    },
    remember(key, { activeKey, ...row }) {
      rows.set(connectionId(key), row)
      activeKeys.set(key.tenantId, activeKey)
    },
    // Both: whichever was stale, the next push learns them again.
    forget(key) {
      rows.delete(connectionId(key))
      activeKeys.delete(key.tenantId)
    },
  }
}
