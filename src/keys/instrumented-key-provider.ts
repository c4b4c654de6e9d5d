import type { Metrics } from '../observability/metrics.ts'
import type { KeyProvider } from './key-provider.ts'

/** Counts every provider call by operation and outcome; behaviour is the wrapped provider's. */
export function instrumentKeyProvider(provider: KeyProvider, metrics: Pick<Metrics, 'keyProviderCalls'>): KeyProvider {
  function counted<A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) {
    return async (...args: A): Promise<R> => {
      try {
        const result = await call(...args)
        metrics.keyProviderCalls.inc({ operation, outcome: 'success' })
        return result
      } catch (error) {
        metrics.keyProviderCalls.inc({ operation, outcome: 'error' })
        throw error
      }
    }
  }
  return {
    name: provider.name,
    activeRootKeyId: provider.activeRootKeyId,
    knownRootKeyIds: provider.knownRootKeyIds,
    generateDataKey: counted('generate_data_key', provider.generateDataKey.bind(provider)),
    decryptDataKey: counted('decrypt_data_key', provider.decryptDataKey.bind(provider)),
    reEncryptDataKey: counted('re_encrypt_data_key', provider.reEncryptDataKey.bind(provider)),
    checkHealth: provider.checkHealth.bind(provider),
    close: provider.close.bind(provider),
  }
}
