import type { Logger } from 'pino'
import { isVaultError } from '../errors.ts'
import type { Metrics } from '../observability/metrics.ts'
import { inSpan } from '../observability/tracing.ts'
import type { KeyProvider } from './key-provider.ts'

/** How the key provider answered its last real call; nothing is asked just to find out. */
export const KEY_PROVIDER_STATES = ['ok', 'unavailable', 'misconfigured'] as const
export type KeyProviderState = (typeof KEY_PROVIDER_STATES)[number]

export interface KeyProviderHealth {
  readonly state: KeyProviderState
  /** When the provider entered this state. */
  readonly since: Date
  /** What the last failure said (a provider message: it names keys and permissions, never key material). */
  readonly message: string | undefined
}

export interface ObservedKeyProvider extends KeyProvider {
  readonly health: KeyProviderHealth
}

/** A failed call's meaning for the provider's health; failures of the data (a tampered key) say nothing of it. */
function stateAfter(error: unknown): KeyProviderState | undefined {
  if (!isVaultError(error)) return undefined
  if (error.code === 'key.unavailable') return 'unavailable'
  if (error.code === 'key.provider_misconfigured') return 'misconfigured'
  return undefined
}

/**
 * Counts every provider call by operation and outcome, and keeps the provider's health from the outcomes
 * of those real calls: a metric, a log line on each change, and what readiness reports. Readiness never
 * calls the provider itself, so a KMS blip cannot mark every replica unready and empty the Service while
 * tenants whose keys are cached could still be served. It starts `ok`: the provider was checked at start
 * (a KMS key must exist and be enabled). Behaviour is the wrapped provider's.
 */
export function instrumentKeyProvider(
  provider: KeyProvider,
  metrics: Pick<Metrics, 'keyProviderCalls' | 'keyProviderState'>,
  logger: Logger,
): ObservedKeyProvider {
  let health: KeyProviderHealth = { state: 'ok', since: new Date(), message: undefined }
  const publish = () => {
    for (const state of KEY_PROVIDER_STATES) metrics.keyProviderState.set({ state }, state === health.state ? 1 : 0)
  }
  publish()
  function observe(state: KeyProviderState, message: string | undefined): void {
    if (state === health.state) return
    const previous = health.state
    health = { state, since: new Date(), message }
    publish()
    if (state === 'ok') logger.info({ keyProvider: provider.name, previous }, 'key provider answers again')
    else logger.warn({ keyProvider: provider.name, state, previous, reason: message }, 'key provider is failing')
  }

  function counted<A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) {
    return async (...args: A): Promise<R> => {
      try {
        const result = await inSpan(
          `key_provider ${operation}`,
          { 'secret_vault.key_provider': provider.name, 'rpc.method': operation },
          () => call(...args),
        )
        metrics.keyProviderCalls.inc({ operation, outcome: 'success' })
        observe('ok', undefined)
        return result
      } catch (error) {
        metrics.keyProviderCalls.inc({ operation, outcome: 'error' })
        const state = stateAfter(error)
        if (state !== undefined) observe(state, (error as Error).message)
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
    close: provider.close.bind(provider),
    get health() {
      return health
    },
  }
}
