import { randomUUID, timingSafeEqual } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { openClientSecret, settingsBindingOf } from '../crypto/connector-secret-sealing.ts'
import { authorizationServerOf } from '../crypto/token-binding.ts'
import { openToken } from '../crypto/token-sealing.ts'
import type { DB } from '../db/schema.ts'
import { inTenantTransaction } from '../db/tenant-scope.ts'
import { type ClaimedRevocationRow, claimTokenRevocations, emitEvent, insertAuditEvents } from '../db/vault-functions.ts'
import { IntegrityError, isVaultError } from '../errors.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import type { ProviderClient } from '../oauth/provider-client.ts'
import { createPoller, leaseSecondsFor, nextAttemptAfterFailure, type OutboxOptions } from '../outbox/outbox-worker.ts'
import * as repository from './token-revocation.repository.ts'

/** How one attempt ended: the token revoked, not needed, given up (each erases it), or retried later. */
export type RevocationAttemptOutcome = 'revoked' | 'not_needed' | 'given_up' | 'retry'

export interface RefreshTokenRevocationDeps extends OutboxOptions {
  db: Kysely<DB>
  keyRing: Pick<DataKeyRing, 'unwrap'>
  provider: Pick<ProviderClient, 'revoke'>
  now: () => Date
  logger: Logger
  onAttempt?: (outcome: RevocationAttemptOutcome) => void
}

export interface RefreshTokenRevocation {
  /** Claims the queued revocations due now and attempts each once; the outcome of each. */
  revokeDue(): Promise<RevocationAttemptOutcome[]>
  start(): void
  stop(): Promise<void>
}

type Decision =
  | { kind: 'finished'; outcome: 'revoked' | 'not_needed' | 'given_up'; error: string | null }
  | { kind: 'retry'; error: string }

/**
 * Revokes at the provider (RFC 7009) the refresh tokens that a delete or a re-consent left behind, as
 * queued by the token_sets trigger: best effort, never in the way of the delete, retried as the outbox
 * retries, and erased once revoked or given up. The token goes only where a refresh would send it: the
 * connector's settings (as copied with it, authenticated by their sealed client secret) must name the
 * authorization server the token is bound to. A token the set still holds is never revoked, however the
 * row came to be queued (a re-consent that only re-sealed the stored token under a newer key queues it too). Each one that finishes says how,
 * in a connection.revoked event and a token_set.revoke audit entry.
 */
export function createRefreshTokenRevocation(deps: RefreshTokenRevocationDeps): RefreshTokenRevocation {
  const { db, keyRing, provider, now, logger, pollIntervalMs, batch, timeoutMs, retryPeriodMs, onAttempt } = deps
  const leaseSeconds = leaseSecondsFor(timeoutMs)

  async function decide(row: ClaimedRevocationRow): Promise<Decision> {
    const location = {
      tenantId: row.tenant_id,
      userId: row.user_id,
      connectorType: row.connector_type,
      connectorId: row.connector_id,
      tokenSetId: row.token_set_id,
    }
    let refreshToken: Buffer
    let clientSecret: Buffer
    try {
      const tokenKey = await keyRing.unwrap({
        tenantId: row.tenant_id,
        version: row.token_key_version,
        rootKeyId: row.token_root_key_id,
        wrappedKey: row.token_wrapped_key,
      })
      const settingsKey = await keyRing.unwrap({
        tenantId: row.tenant_id,
        version: row.settings_key_version,
        rootKeyId: row.settings_root_key_id,
        wrappedKey: row.settings_wrapped_key,
      })
      const secret = { field: 'refresh_token', authorizationServer: row.refresh_server } as const
      refreshToken = openToken(tokenKey, location, secret, row.token_key_version, row.refresh_token_sealed)
      clientSecret = openClientSecret(settingsKey, location, settingsBindingOf(row), row.settings_key_version, row.client_secret_sealed)
    } catch (error) {
      return undecided(row, error)
    }
    try {
      const server = authorizationServerOf(row)
      if ((row.refresh_server ?? server) !== server) return { kind: 'finished', outcome: 'given_up', error: 'connector.endpoint_changed' }
      // Asked whatever the (clear) reason says: a queue row written behind the vault's back with a live
      // set's token is then not revoked either.
      const held = await stillHeld(row, refreshToken).catch((error: unknown) => undecided(row, error))
      if (held === true) return { kind: 'finished', outcome: 'not_needed', error: null }
      if (held !== false) return held
      const outcome = await provider.revoke({
        revocationEndpoint: row.revocation_endpoint,
        issuer: row.issuer,
        clientId: row.client_id,
        clientAuthMethod: row.client_auth_method,
        clientSecret: row.client_auth_method === 'none' ? null : clientSecret.toString('utf8'),
        refreshToken: refreshToken.toString('utf8'),
      })
      switch (outcome.kind) {
        case 'revoked':
          return { kind: 'finished', outcome: 'revoked', error: null }
        case 'no_endpoint':
          return { kind: 'finished', outcome: 'given_up', error: 'no_revocation_endpoint' }
        case 'rejected':
          return { kind: 'finished', outcome: 'given_up', error: `provider.${outcome.reason}` }
        case 'unavailable':
          return { kind: 'retry', error: `provider.${outcome.reason}` }
        case 'refused_by_policy':
          return { kind: 'retry', error: 'egress.refused' }
      }
    } finally {
      refreshToken.fill(0)
      clientSecret.fill(0)
    }
  }

  /**
   * A secret that does not open was changed behind the vault's back: nothing is sent, now or later, and the
   * token is erased. Anything else (the key provider out of reach) is tried again, so that a key outage
   * never erases a queued revocation.
   */
  function undecided(row: ClaimedRevocationRow, error: unknown): Decision {
    if (!(error instanceof IntegrityError)) return { kind: 'retry', error: isVaultError(error) ? error.code : 'internal' }
    logger.error({ err: error, tenantId: row.tenant_id, connectorId: row.connector_id }, 'queued revocation failed to open')
    return { kind: 'finished', outcome: 'given_up', error: 'crypto.integrity' }
  }

  /** Whether the set the token came from holds it still (a push that re-sealed it under a newer key). */
  async function stillHeld(row: ClaimedRevocationRow, refreshToken: Buffer): Promise<boolean> {
    const current = await inTenantTransaction(db, row.tenant_id, (trx) =>
      repository.findHeldRefreshToken(trx, row.tenant_id, row.token_set_id),
    )
    if (current === undefined || current.refresh_token_sealed === null) return false
    const location = {
      tenantId: row.tenant_id,
      userId: current.user_id,
      connectorType: current.connector_type,
      connectorId: current.connector_id,
      tokenSetId: row.token_set_id,
    }
    const held = openToken(
      await keyRing.unwrap(current.dataKey),
      location,
      { field: 'refresh_token', authorizationServer: current.refresh_server },
      current.key_version,
      current.refresh_token_sealed,
    )
    try {
      return held.length === refreshToken.length && timingSafeEqual(held, refreshToken)
    } finally {
      held.fill(0)
    }
  }

  async function attempt(row: ClaimedRevocationRow): Promise<RevocationAttemptOutcome> {
    const decision = await decide(row)
    const at = now()
    const job = { tenantId: row.tenant_id, id: row.id, attempt: row.attempts }
    const nextAttemptAt = decision.kind === 'retry' ? nextAttemptAfterFailure(row, at, { retryPeriodMs }) : null
    const finished: Decision =
      decision.kind === 'retry' && nextAttemptAt === null ? { kind: 'finished', outcome: 'given_up', error: decision.error } : decision
    await inTenantTransaction(db, row.tenant_id, async (trx) => {
      if (finished.kind === 'retry') return repository.retryLater(trx, job, { error: finished.error, nextAttemptAt: nextAttemptAt! })
      // Erased with its outcome reported, once: an attempt that outlived its lease finds nothing to erase.
      if (!(await repository.erase(trx, job))) return
      const connection = {
        tenant_id: row.tenant_id,
        user_id: row.user_id,
        connector_type: row.connector_type,
        connector_id: row.connector_id,
      }
      await emitEvent(trx, {
        tenantId: row.tenant_id,
        type: 'connection.revoked',
        data: {
          ...connection,
          reason: row.reason,
          outcome: finished.outcome,
          revoked: finished.outcome === 'revoked' ? ['refresh_token'] : [],
          error: finished.error,
          attempts: row.attempts,
        },
      })
      await insertAuditEvents(trx, [
        {
          ...connection,
          client_id: null,
          action: 'token_set.revoke',
          outcome: finished.outcome === 'given_up' ? 'failed' : 'success',
          error_code: finished.error,
          request_id: randomUUID(),
          caller_request_id: null,
          key_version: row.token_key_version,
        },
      ])
    })
    const outcome = finished.kind === 'retry' ? 'retry' : finished.outcome
    if (outcome === 'retry' || outcome === 'given_up') {
      logger.warn(
        { tenantId: row.tenant_id, connectorId: row.connector_id, attempt: row.attempts, error: decision.error, outcome },
        'refresh token revocation failed',
      )
    }
    onAttempt?.(outcome)
    return outcome
  }

  async function revokeDue(): Promise<RevocationAttemptOutcome[]> {
    const claimed = await claimTokenRevocations(db, now(), leaseSeconds, batch)
    return Promise.all(claimed.map(attempt))
  }

  const poller = createPoller({ intervalMs: pollIntervalMs, logger, what: 'refresh token revocation poll', round: revokeDue })
  return { revokeDue, start: poller.start, stop: poller.stop }
}
