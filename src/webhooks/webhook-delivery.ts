import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { DB } from '../db/schema.ts'
import { inTenantTransaction } from '../db/tenant-scope.ts'
import { type ClaimedDeliveryRow, claimWebhookDeliveries, pruneOutbox } from '../db/vault-functions.ts'
import { type EgressPolicy, egressRefusal } from '../egress/egress-policy.ts'
import { IntegrityError, isVaultError } from '../errors.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { inSpan } from '../observability/tracing.ts'
import { createPoller, leaseSecondsFor, nextAttemptAfterFailure, type OutboxOptions, PRUNE_INTERVAL_MS } from '../outbox/outbox-worker.ts'
import { SERVICE_VERSION } from '../version.ts'
import { activeSecrets, openSigningSecrets, signDelivery } from './signing-secrets.ts'
import { type AttemptResult, finishAttempt } from './webhook.repository.ts'

export type AttemptOutcome = 'delivered' | 'failed' | 'dead'

export interface WebhookDeliveryDeps extends OutboxOptions {
  db: Kysely<DB>
  keyRing: Pick<DataKeyRing, 'unwrap'>
  egress: Pick<EgressPolicy, 'fetch' | 'urlRule'>
  now: () => Date
  logger: Logger
  onAttempt?: (outcome: AttemptOutcome) => void
}

export interface WebhookDelivery {
  /** Claims what is due now and attempts each once; the outcome of each attempt. */
  deliverDue(): Promise<AttemptOutcome[]>
  /** Deletes finished deliveries and their events older than the retention period; how many events. */
  prune(): Promise<number>
  start(): void
  /** No poll starts after this; resolves when the running one (if any) has finished. */
  stop(): Promise<void>
}

/** What a receiver gets: the Standard Webhooks envelope. */
export function deliveryBody(row: Pick<ClaimedDeliveryRow, 'event_type' | 'occurred_at' | 'event_data'>): string {
  return JSON.stringify({ type: row.event_type, timestamp: row.occurred_at.toISOString(), data: row.event_data })
}

/**
 * At-least-once delivery of the outbox, by every replica, without a leader: a poll leases what is due
 * (vault_claim_webhook_deliveries, SKIP LOCKED), attempts each once outside any transaction, and records
 * the outcome under the attempt's number. A 2xx delivers; anything else is retried as the outbox retries
 * (src/outbox) until its retry period has passed since the first attempt, then the delivery is dead. A receiver
 * deduplicates by webhook-id (the event id, the same on every attempt). Nothing about the answer is kept
 * but its status: a receiver's body can echo anything.
 */
export function createWebhookDelivery(deps: WebhookDeliveryDeps): WebhookDelivery {
  const { db, keyRing, egress, now, logger, pollIntervalMs, batch, timeoutMs, retryPeriodMs, retentionMs, onAttempt } = deps
  const leaseSeconds = leaseSecondsFor(timeoutMs)

  function failure(row: ClaimedDeliveryRow, at: Date, status: number | null, error: string): AttemptResult {
    const nextAttemptAt = nextAttemptAfterFailure(row, at, { retryPeriodMs })
    return nextAttemptAt === null ? { state: 'dead', status, error, at } : { state: 'pending', status, error, at, nextAttemptAt }
  }

  async function send(row: ClaimedDeliveryRow, at: Date): Promise<AttemptResult> {
    let secrets: Buffer[]
    try {
      const key = await keyRing.unwrap({
        tenantId: row.tenant_id,
        version: row.key_version,
        rootKeyId: row.root_key_id,
        wrappedKey: row.wrapped_key,
      })
      const binding = { tenant_id: row.tenant_id, id: row.endpoint_id, url: row.url, event_types: row.event_types }
      secrets = activeSecrets(openSigningSecrets(key, binding, row.key_version, row.secrets_sealed), at)
    } catch (error) {
      // The key provider out of reach is tried again later; only a secret that does not open is final.
      if (!(error instanceof IntegrityError)) return failure(row, at, null, isVaultError(error) ? error.code : 'internal')
      // An endpoint changed behind the vault's back: nothing is sent, now or later.
      logger.error({ err: error, tenantId: row.tenant_id, endpointId: row.endpoint_id }, 'webhook endpoint failed to open')
      return { state: 'dead', status: null, error: 'crypto.integrity', at }
    }
    if (egress.urlRule(row.url) !== undefined) return failure(row, at, null, 'egress.refused')
    const body = deliveryBody(row)
    const headers = signDelivery(secrets, { id: row.event_id, timestamp: at, body })
    for (const secret of secrets) secret.fill(0)
    try {
      const response = await egress.fetch(row.url, {
        method: 'POST',
        body,
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': `secret-vault/${SERVICE_VERSION}` },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      })
      await response.body?.cancel().catch(() => undefined)
      if (response.status >= 200 && response.status < 300) return { state: 'delivered', status: response.status, at }
      const error = response.status >= 300 && response.status < 400 ? 'redirect' : `http_${response.status}`
      return failure(row, at, response.status, error)
    } catch (error) {
      if (egressRefusal(error) !== undefined) return failure(row, at, null, 'egress.refused')
      const name = (error as { name?: string }).name
      return failure(row, at, null, name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'connect_failed')
    }
  }

  async function attempt(row: ClaimedDeliveryRow): Promise<AttemptOutcome> {
    const result = await inSpan(
      'webhook deliver',
      { 'secret_vault.webhook.event_type': row.event_type, 'secret_vault.webhook.attempt': row.attempts },
      async (span) => {
        const result = await send(row, now())
        span.setAttribute('secret_vault.webhook.outcome', result.state)
        if (result.status !== null) span.setAttribute('http.response.status_code', result.status)
        return result
      },
    )
    await inTenantTransaction(db, row.tenant_id, (trx) =>
      finishAttempt(trx, { tenantId: row.tenant_id, id: row.id, attempt: row.attempts }, result),
    )
    const outcome: AttemptOutcome = result.state === 'pending' ? 'failed' : result.state
    if (outcome !== 'delivered') {
      const { error, status } = result as { error: string; status: number | null }
      logger.warn(
        { tenantId: row.tenant_id, endpointId: row.endpoint_id, eventId: row.event_id, attempt: row.attempts, status, error, outcome },
        'webhook delivery failed',
      )
    }
    onAttempt?.(outcome)
    return outcome
  }

  async function deliverDue(): Promise<AttemptOutcome[]> {
    const claimed = await claimWebhookDeliveries(db, now(), leaseSeconds, batch)
    return Promise.all(claimed.map(attempt))
  }

  const prune = () => pruneOutbox(db, new Date(now().getTime() - retentionMs))
  const poller = createPoller({ intervalMs: pollIntervalMs, logger, what: 'webhook delivery poll', round: deliverDue })
  const pruner = createPoller({ intervalMs: pollIntervalMs > 0 ? PRUNE_INTERVAL_MS : 0, logger, what: 'outbox prune', round: prune })
  return {
    deliverDue,
    prune,
    start() {
      poller.start()
      pruner.start()
    },
    stop: () => Promise.all([poller.stop(), pruner.stop()]).then(() => undefined),
  }
}
