import type { KeyObject } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { TenantTransaction } from '../db/tenant-scope.ts'
import { findActiveDataKey, insertActiveDataKey, nextDataKeyVersion, type WrappedDataKey } from './data-key.repository.ts'
import type { KeyProvider } from './key-provider.ts'

export interface DataKeyRingOptions {
  provider: KeyProvider
  /** How long an unwrapped data key may stay in memory. */
  ttlMs: number
  maxEntries: number
  /** Told of every lookup, for metrics. */
  onLookup?: (result: 'hit' | 'miss') => void
}

export interface ActiveDataKey {
  version: number
  key: KeyObject
}

export interface DataKeyCacheStats {
  hits: number
  misses: number
  size: number
}

export interface DataKeyRing {
  /** The tenant's active data key, created (and wrapped by the provider) on the tenant's first write. */
  activeKey(trx: TenantTransaction, tenantId: string): Promise<ActiveDataKey>
  /** Unwraps a stored data key; cached, and concurrent misses for one key share one provider call. */
  unwrap(wrapped: WrappedDataKey): Promise<KeyObject>
  /** Drops every cached key of a tenant (rotation, destruction, shredding). */
  forgetTenant(tenantId: string): void
  clear(): void
  stats(): DataKeyCacheStats
}

/**
 * The cache is keyed by the wrapped bytes as well as tenant and version, so a cached key is only ever used
 * for exactly the stored key it was unwrapped from: a shredded and re-created tenant, or a re-wrapped key,
 * can never be served a stale plaintext key.
 */
function cacheKey(wrapped: WrappedDataKey): string {
  return `${wrapped.tenantId}\u0000${wrapped.version}\u0000${Buffer.from(wrapped.wrappedKey).toString('base64')}`
}

export function createDataKeyRing({ provider, ttlMs, maxEntries, onLookup }: DataKeyRingOptions): DataKeyRing {
  const counters = { hits: 0, misses: 0 }
  const cache = new LRUCache<string, KeyObject, WrappedDataKey>({
    max: maxEntries,
    ttl: ttlMs,
    // The time limit counts from the unwrap, not from the last use: a key retired elsewhere leaves memory.
    updateAgeOnGet: false,
    fetchMethod: (_key, _stale, { context }) =>
      provider.decryptDataKey(context.wrappedKey, context.rootKeyId, { tenantId: context.tenantId, version: context.version }),
  })

  function count(result: 'hit' | 'miss'): void {
    counters[result === 'miss' ? 'misses' : 'hits'] += 1
    onLookup?.(result)
  }

  async function unwrap(wrapped: WrappedDataKey): Promise<KeyObject> {
    const id = cacheKey(wrapped)
    // Nearly every lookup is a hit: answered without fetch()'s promise and status bookkeeping.
    const cached = cache.get(id)
    if (cached !== undefined) {
      count('hit')
      return cached
    }
    const status: LRUCache.Status<string, KeyObject, WrappedDataKey> = {}
    const key = await cache.fetch(id, { context: wrapped, status })
    // A miss is a provider call; waiting on another request's in-flight call counts as a hit.
    count(status.fetch === 'miss' || status.fetch === 'refresh' ? 'miss' : 'hit')
    if (key === undefined) throw new Error('data key fetch resolved to nothing')
    return key
  }

  async function createFirstKey(trx: TenantTransaction, tenantId: string): Promise<ActiveDataKey> {
    const version = await nextDataKeyVersion(trx, tenantId)
    const generated = await provider.generateDataKey({ tenantId, version })
    const wrapped: WrappedDataKey = { tenantId, version, rootKeyId: generated.rootKeyId, wrappedKey: generated.wrapped }
    if (await insertActiveDataKey(trx, wrapped)) {
      cache.set(cacheKey(wrapped), generated.plaintext)
      return { version, key: generated.plaintext }
    }
    const winner = await findActiveDataKey(trx, tenantId)
    if (winner === undefined) throw new Error('active data key vanished while being created')
    return { version: winner.version, key: await unwrap(winner) }
  }

  return {
    async activeKey(trx, tenantId) {
      const active = await findActiveDataKey(trx, tenantId)
      if (active === undefined) return createFirstKey(trx, tenantId)
      return { version: active.version, key: await unwrap(active) }
    },
    unwrap,
    forgetTenant(tenantId) {
      const prefix = `${tenantId}\u0000`
      for (const key of cache.keys()) if (key.startsWith(prefix)) cache.delete(key)
    },
    clear: () => cache.clear(),
    stats: () => ({ ...counters, size: cache.size }),
  }
}
