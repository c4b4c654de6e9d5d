import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import { VaultError } from '../errors.ts'
import type { KeyProvider } from '../keys/key-provider.ts'
import { recordKeyOperation } from './key-events.ts'
import { countDataKeysNotUnder, lockDataKeysNotUnder, rewrapDataKey } from './key-lifecycle.repository.ts'

const BATCH = 500
const PARALLEL = 16

export interface RootRotationResult {
  toRewrap: number
  rewrapped: number
  dryRun: boolean
}

/**
 * Re-wraps every tenant data key under another root key: O(data keys), no token set touched. With KMS the
 * provider uses ReEncrypt, so plaintext data keys never leave KMS. Each batch is one transaction and each
 * update is a compare-and-swap on the old root key, so the command is resumable and idempotent.
 */
export async function rotateRootKey(
  db: Kysely<DB>,
  provider: KeyProvider,
  options: { to: string; dryRun: boolean; onProgress?(done: number, total: number): void },
): Promise<RootRotationResult> {
  if (!provider.knownRootKeyIds.includes(options.to)) {
    throw new VaultError(
      'key.unknown_root_key',
      `Root key "${options.to}" is not configured; known: ${provider.knownRootKeyIds.join(', ')}`,
    )
  }
  const toRewrap = await inOperatorTransaction(db, (trx) => countDataKeysNotUnder(trx, options.to))
  if (options.dryRun) return { toRewrap, rewrapped: 0, dryRun: true }
  let rewrapped = 0
  for (;;) {
    const moved = await inOperatorTransaction(db, async (trx) => {
      const keys = await lockDataKeysNotUnder(trx, options.to, BATCH)
      for (let i = 0; i < keys.length; i += PARALLEL) {
        const slice = keys.slice(i, i + PARALLEL)
        const wrapped = await Promise.all(
          slice.map((key) =>
            provider.reEncryptDataKey(key.wrapped_key, key.root_key_id, options.to, { tenantId: key.tenant_id, version: key.version }),
          ),
        )
        for (const [j, key] of slice.entries()) {
          await rewrapDataKey(trx, key, options.to, wrapped[j]!)
        }
      }
      for (const tenantId of new Set(keys.map((key) => key.tenant_id))) {
        await recordKeyOperation(trx, { tenantId, action: 'key.rotate_root', keyVersion: null, requestId: randomUUID() })
      }
      return keys.length
    })
    rewrapped += moved
    options.onProgress?.(rewrapped, toRewrap)
    if (moved === 0) break
  }
  return { toRewrap, rewrapped, dryRun: false }
}
