import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto'
import { encodeBinding } from '../crypto/associated-data.ts'
import { open, seal } from '../crypto/seal.ts'
import { VaultError } from '../errors.ts'
import type { DataKeyContext, GeneratedDataKey, KeyProvider } from './key-provider.ts'

export interface LocalRootKey {
  id: string
  key: KeyObject
}

const DATA_KEY_BYTES = 32

function wrapBinding(rootKeyId: string, context: DataKeyContext): Buffer {
  return encodeBinding('secret-vault/tenant-data-key/v1', [rootKeyId, context.tenantId, context.version])
}

/**
 * Root keys held by the operator (from configuration or a key file). Wrapping is the same sealing primitive
 * as for tokens, bound to the root-key id, the tenant and the data-key version.
 */
export function createLocalKeyProvider(rootKeys: readonly LocalRootKey[], activeRootKeyId: string): KeyProvider {
  const byId = new Map(rootKeys.map((rootKey) => [rootKey.id, rootKey.key]))
  if (!byId.has(activeRootKeyId)) throw new TypeError(`active root key ${activeRootKeyId} is not among the known keys`)

  function rootKey(id: string): KeyObject {
    const key = byId.get(id)
    if (key === undefined) throw new VaultError('key.unknown_root_key', `Root key "${id}" is not configured`)
    return key
  }

  function unwrap(wrapped: Uint8Array, rootKeyId: string, context: DataKeyContext): Buffer {
    return open(rootKey(rootKeyId), wrapped, wrapBinding(rootKeyId, context))
  }

  return {
    name: 'local',
    activeRootKeyId,
    knownRootKeyIds: [...byId.keys()],
    async generateDataKey(context): Promise<GeneratedDataKey> {
      const plaintext = randomBytes(DATA_KEY_BYTES)
      const wrapped = seal(rootKey(activeRootKeyId), plaintext, wrapBinding(activeRootKeyId, context))
      return { plaintext: createSecretKey(plaintext), wrapped, rootKeyId: activeRootKeyId }
    },
    async decryptDataKey(wrapped, rootKeyId, context) {
      return createSecretKey(unwrap(wrapped, rootKeyId, context))
    },
    async reEncryptDataKey(wrapped, fromRootKeyId, toRootKeyId, context) {
      const plaintext = unwrap(wrapped, fromRootKeyId, context)
      return seal(rootKey(toRootKeyId), plaintext, wrapBinding(toRootKeyId, context))
    },
    close() {},
  }
}
