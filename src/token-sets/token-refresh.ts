import { type KeyObject, randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { type AuditContext, insertAuditEvent } from '../audit/audit.repository.ts'
import { findRefreshSettingsWithSecret, type RefreshSettingsWithSecret } from '../connectors/refresh-settings.repository.ts'
import { openClientSecret, settingsBindingOf } from '../crypto/connector-secret-sealing.ts'
import { authorizationServerOf, secretsOfRow, type TokenSecret } from '../crypto/token-binding.ts'
import { openToken, resealToken, sealToken } from '../crypto/token-sealing.ts'
import type { DB } from '../db/schema.ts'
import { hasSqlState, SQL_STATE } from '../db/sql-state.ts'
import { inTenantTransaction, type TenantTransaction } from '../db/tenant-scope.ts'
import { IntegrityError, VaultError } from '../errors.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import type { ProviderClient, RefreshOutcome } from '../oauth/provider-client.ts'
import { normalizeScope, normalizeTokenResponse, type TokenResponse } from '../oauth/token-response.ts'
import { carrySealedSecret } from './carry-sealed-secret.ts'
import * as repository from './token-set.repository.ts'
import { connectionId, type RefreshReason, type TokenSetForUpdate, type TokenSetKey } from './token-set.repository.ts'

/** How a refresh attempt ended, as counted by the metrics. */
export type RefreshMetricOutcome =
  | 'refreshed'
  | 'reauth_required'
  | 'provider_unavailable'
  | 'provider_rejected'
  | 'egress_refused'
  | 'endpoint_changed'
  /** Not attempted: the set is backing off after failures. */
  | 'backing_off'

export interface TokenRefreshOptions {
  db: Kysely<DB>
  keyRing: DataKeyRing
  provider: ProviderClient
  /** Refresh when the access token expires within this margin. */
  marginMs: number
  /** How long a read waits for another replica's refresh of the same set before giving up (retryable). */
  lockTimeoutMs: number
  /** How long a read of a still-valid token waits for its refresh before serving it as stored. */
  readWaitMs: number
  now: () => Date
  onRefresh?: (outcome: RefreshMetricOutcome) => void
}

export interface TokenRefresher {
  /** A token is due when it expires within this margin (see vault_refresh_due). */
  readonly marginMs: number
  /** How long a read of a still-valid token waits for its refresh before serving it as stored. */
  readonly readWaitMs: number
  /**
   * Brings the set up to date: refreshed at the provider if it is still due once its row is locked, left as
   * it is when it may still be served (not due, or the provider failed while the token is valid); throws
   * the refusal otherwise. At most one refresh per set runs at a time, across every replica.
   */
  refresh(key: TokenSetKey, context: AuditContext): Promise<void>
  /**
   * A keep-alive refresh of an idle set: refreshed at the provider if it is still due for one once its row
   * is locked (vault_keep_alive_due); a row that another refresh holds is left to it. Says what happened:
   * the attempt's outcome, or why none was made. Throws only what is not about the set's state (a database
   * error, a row that fails its integrity check).
   */
  keepAlive(key: TokenSetKey): Promise<KeepAliveOutcome>
}

/**
 * How one keep-alive refresh ended: as a refresh attempt does; or not attempted — no longer due (refreshed
 * or pushed meanwhile), busy (a refresh of it is running now), or skipped (it cannot be refreshed: its grant
 * is gone, it has no refresh token or its connector no settings, or it was deleted).
 */
export type KeepAliveOutcome = RefreshMetricOutcome | 'not_due' | 'busy' | 'skipped'

/** After a refresh attempt: the set may be read again (refreshed, or still servable), or the read is refused. */
type Decision = { kind: 'done' } | { kind: 'refuse'; error: VaultError }

const reconnect = () =>
  new VaultError(
    'token_set.reconnect_required',
    'The provider no longer accepts this connection: ask the user to connect the account again',
  )

const endpointChanged = () =>
  new VaultError(
    'connector.endpoint_changed',
    "The connector's token endpoint is not the one this refresh token was issued by, and it is sent nowhere else: ask the user to connect again",
  )

/**
 * Backoff after a failed refresh: the first retry after 5 s, doubling to at most 5 minutes, never sooner
 * than the provider's Retry-After (itself capped at an hour). Stored with the set, so a provider in trouble
 * sees at most one attempt per set per step from all replicas together.
 */
const BACKOFF = { firstSeconds: 5, maxSeconds: 300, maxRetryAfterSeconds: 3600 } as const

function nextAttemptAt(failures: number, at: Date, retryAfterSeconds?: number, maxSeconds: number = BACKOFF.maxSeconds): Date {
  const backoff = Math.min(maxSeconds, BACKOFF.firstSeconds * 2 ** Math.min(failures - 1, 30))
  const seconds = Math.max(backoff, Math.min(retryAfterSeconds ?? 0, BACKOFF.maxRetryAfterSeconds))
  return new Date(at.getTime() + seconds * 1000)
}

type RefreshFailureCode = 'provider.unavailable' | 'provider.egress_refused' | 'provider.refresh_rejected' | 'connector.endpoint_changed'

/**
 * The refusal of a failed refresh, by its code: the same when the attempt has just failed and while its
 * backoff has not passed (then no attempt is made, and the caller hears why the last one failed).
 */
function refreshFailure(code: string, retryAfterSeconds: number): VaultError {
  switch (code as RefreshFailureCode) {
    case 'provider.egress_refused':
      return new VaultError('provider.egress_refused', "The provider's address is one the egress policy refuses; nothing was sent")
    case 'provider.refresh_rejected':
      return new VaultError(
        'provider.refresh_rejected',
        "The provider refused the connector's refresh request: check the connector's refresh settings",
      )
    case 'connector.endpoint_changed':
      return endpointChanged()
    default:
      return new VaultError('provider.unavailable', 'The provider could not refresh the access token right now; retry shortly', {
        retryAfterSeconds,
      })
  }
}

/** A Retry-After for the caller: at least a second, and never past the longest wait the vault itself sets. */
const secondsUntil = (until: Date, now: Date) =>
  Math.min(BACKOFF.maxRetryAfterSeconds, Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000)))

/** One refresh of one set, under its row lock: what every step below needs. */
interface Attempt {
  options: TokenRefreshOptions
  trx: TenantTransaction
  key: TokenSetKey
  tokenSet: TokenSetForUpdate
  location: TokenSetKey & { tokenSetId: string }
  tokenSetKey: KeyObject
  secrets: ReturnType<typeof secretsOfRow>
  /** The connector's longest backoff, when its refresh policy sets one. */
  backoffMaxSeconds?: number
  audit(outcome: 'success' | 'failed', errorCode: string | null, keyVersion: number): Promise<void>
}

function isExpired(attempt: Attempt): boolean {
  const { expires_at } = attempt.tokenSet
  return expires_at !== null && expires_at.getTime() <= attempt.options.now().getTime()
}

/** With no refresh possible, a still-valid token may be served and an expired one gets `error`. */
function otherwise(attempt: Attempt, error: VaultError): Decision {
  return isExpired(attempt) ? { kind: 'refuse', error } : { kind: 'done' }
}

/** A refresh for a read waits its turn on the row lock; a keep-alive leaves a held row to its holder. */
type RefreshMode = { reason: RefreshReason; noWait: boolean }

async function decide(
  options: TokenRefreshOptions,
  trx: TenantTransaction,
  key: TokenSetKey,
  context: AuditContext,
  mode: RefreshMode,
): Promise<Decision> {
  await sql`SELECT set_config('lock_timeout', ${`${options.lockTimeoutMs}ms`}, true)`.execute(trx)
  // The row lock is held across the provider call: a second refresher waits here, then finds the set no
  // longer due and its read serves the winner's token. The old refresh token is never presented twice.
  const tokenSet = await repository.findTokenSetForUpdate(trx, key, { at: options.now(), ...mode })
  if (tokenSet === undefined)
    return { kind: 'refuse', error: new VaultError('token_set.not_found', 'No token set is stored for this connection') }
  const location = { ...key, tokenSetId: tokenSet.id }
  const tokenSetKey = await options.keyRing.unwrap(tokenSet.dataKey)
  const secrets = secretsOfRow(tokenSet)
  // Every decision below, and any outbound call, rests on the row as the vault wrote it: opening the
  // access token under its metadata is the check (crypto.integrity otherwise, thrown from here).
  openToken(tokenSetKey, location, secrets.access_token, tokenSet.key_version, tokenSet.access_token_sealed).fill(0)
  const audit: Attempt['audit'] = (outcome, errorCode, keyVersion) =>
    insertAuditEvent(trx, {
      tenant_id: key.tenantId,
      client_id: context.clientId,
      action: 'token_set.refresh',
      outcome,
      error_code: errorCode,
      user_id: key.userId,
      connector_type: key.connectorType,
      connector_id: key.connectorId,
      request_id: context.requestId,
      caller_request_id: context.callerRequestId ?? null,
      key_version: keyVersion,
    })
  const attempt: Attempt = { options, trx, key, tokenSet, location, tokenSetKey, secrets, audit }
  if (tokenSet.state === 'reauth_required') return { kind: 'refuse', error: reconnect() }
  // Another replica may have refreshed it while this one waited for the lock.
  if (!tokenSet.due) return { kind: 'done' }
  if (tokenSet.refresh_token_sealed === null) return otherwise(attempt, reconnect())
  const now = options.now()
  // The provider said when the refresh token dies: past that, it is not asked, and the user must reconnect.
  if (tokenSet.refresh_token_expires_at !== null && tokenSet.refresh_token_expires_at.getTime() <= now.getTime()) {
    await markReauthRequired(attempt)
    await audit('failed', 'token_set.reconnect_required', tokenSet.key_version)
    options.onRefresh?.('reauth_required')
    return { kind: 'refuse', error: reconnect() }
  }
  // Backing off after failures: no attempt before next_refresh_at, whichever replica asks.
  if (tokenSet.next_refresh_at !== null && tokenSet.next_refresh_at.getTime() > now.getTime()) {
    options.onRefresh?.('backing_off')
    return otherwise(
      attempt,
      refreshFailure(tokenSet.last_refresh_error ?? 'provider.unavailable', secondsUntil(tokenSet.next_refresh_at, now)),
    )
  }
  const settings = await findRefreshSettingsWithSecret(trx, key)
  if (settings === undefined) return otherwise(attempt, reconnect())
  // The connector's providers refuse early refresh: a still-valid token refreshed less than that ago is served.
  const minIntervalMs = (settings.refresh_policy.min_interval_seconds ?? 0) * 1000
  if (!isExpired(attempt) && now.getTime() - tokenSet.issued_at.getTime() < minIntervalMs) return { kind: 'done' }
  return refreshAtProvider({ ...attempt, backoffMaxSeconds: settings.refresh_policy.backoff_max_seconds }, settings)
}

/**
 * The settings are authenticated by their sealed client secret (every connector has one), and the refresh
 * token goes only to the authorization server it is bound to: settings moved to another endpoint, through
 * the API or behind the vault's back, never receive it. A refresh token stored before the connector had
 * settings (and without a server named in its push) is bound at its first refresh.
 */
async function refreshAtProvider(attempt: Attempt, settings: RefreshSettingsWithSecret): Promise<Decision> {
  const { options, key, tokenSet, location, tokenSetKey, secrets } = attempt
  const settingsKey = await options.keyRing.unwrap(settings.dataKey)
  const clientSecret = openClientSecret(settingsKey, key, settingsBindingOf(settings), settings.key_version, settings.client_secret_sealed)
  // Opened before anything is decided on its binding: a bound server changed behind the vault's back is
  // crypto.integrity, not a refusal that looks legitimate.
  const refreshToken = openToken(tokenSetKey, location, secrets.refresh_token, tokenSet.key_version, tokenSet.refresh_token_sealed!)
  const server = authorizationServerOf(settings)
  if ((tokenSet.refresh_server ?? server) !== server) return failed(attempt, 'endpoint_changed', 'connector.endpoint_changed')
  // The refreshed set is issued when the refresh began, not when the provider answered: a push of a new
  // grant (a re-consent) that arrives meanwhile waits on this row's lock and must then be the newer one,
  // or the vault would keep the old grant and answer the re-consent ignored_stale. Expiry counts from
  // here too, which errs on the early side.
  const refreshStartedAt = options.now()
  const outcome = await options.provider.refresh({
    tokenEndpoint: settings.token_endpoint,
    issuer: settings.issuer,
    clientId: settings.client_id,
    clientAuthMethod: settings.client_auth_method,
    clientSecret: settings.client_auth_method === 'none' ? null : clientSecret.toString('utf8'),
    extraParams: settings.extra_params,
    refreshToken: refreshToken.toString('utf8'),
  })
  return settle(attempt, outcome, { issuedAt: refreshStartedAt, server })
}

/**
 * A failed attempt (not invalid_grant): recorded and counted, the set's failures go up and its next attempt
 * is put off (backoff, Retry-After); the stored set stays as it was and, while still valid, is served.
 */
async function failed(
  attempt: Attempt,
  metric: RefreshMetricOutcome,
  code: RefreshFailureCode,
  retryAfterSeconds?: number,
): Promise<Decision> {
  const { options, trx, key, tokenSet } = attempt
  const at = options.now()
  const nextAt = nextAttemptAt(tokenSet.refresh_failures + 1, at, retryAfterSeconds, attempt.backoffMaxSeconds)
  const error = refreshFailure(code, secondsUntil(nextAt, at))
  await repository.recordRefreshFailure(trx, key.tenantId, tokenSet.id, { errorCode: code, at, nextAt })
  await attempt.audit('failed', error.code, tokenSet.key_version)
  options.onRefresh?.(metric)
  return otherwise(attempt, error)
}

/** What the provider's answer makes of the set: stored fresh, marked reauth_required, or left as it was. */
async function settle(attempt: Attempt, outcome: RefreshOutcome, refreshed: { issuedAt: Date; server: string | null }): Promise<Decision> {
  const { options, tokenSet } = attempt
  switch (outcome.kind) {
    case 'tokens': {
      const keyVersion = await storeRefreshed(attempt, outcome.response, refreshed)
      await attempt.audit('success', null, keyVersion)
      options.onRefresh?.('refreshed')
      return { kind: 'done' }
    }
    case 'invalid_grant': {
      await markReauthRequired(attempt)
      await attempt.audit('failed', 'token_set.reconnect_required', tokenSet.key_version)
      options.onRefresh?.('reauth_required')
      return { kind: 'refuse', error: reconnect() }
    }
    // The stored set stays as it was; while its token is still valid, it is still served.
    case 'unavailable':
      return failed(attempt, 'provider_unavailable', 'provider.unavailable', outcome.retryAfterSeconds)
    case 'refused_by_policy':
      return failed(attempt, 'egress_refused', 'provider.egress_refused')
    case 'rejected':
      return failed(attempt, 'provider_rejected', 'provider.refresh_rejected')
  }
}

/** The refreshed tokens, sealed under the active key and bound to the server they came from; their key version. */
async function storeRefreshed(
  attempt: Attempt,
  response: TokenResponse,
  { issuedAt, server }: { issuedAt: Date; server: string | null },
): Promise<number> {
  const { options, trx, key, tokenSet, location, tokenSetKey, secrets } = attempt
  const tokens = normalizeTokenResponse(response, issuedAt)
  const active = await options.keyRing.activeKey(trx, key.tenantId)
  // RFC 6749 §5.1: an omitted scope is the scope granted before.
  const scope = response.scope === undefined || response.scope === null ? tokenSet.scope : normalizeScope(response.scope)
  const refreshed = {
    ...tokenSet,
    state: 'active' as const,
    token_type: tokens.tokenType,
    scope,
    expires_at: tokens.expiresAt,
    issued_at: issuedAt,
    refresh_server: server,
    write_id: randomUUID(),
  }
  const fresh = secretsOfRow(refreshed)
  const seal = (secret: TokenSecret, value: string) => sealToken(active.key, location, secret, active.version, Buffer.from(value, 'utf8'))
  const keep = (field: 'refresh_token' | 'id_token', sealed: Uint8Array | null) =>
    field === 'refresh_token' && tokenSet.refresh_server === null && sealed !== null
      ? // Bound now, at its first refresh: re-sealed with the server it was just sent to.
        resealToken(
          { key: tokenSetKey, version: tokenSet.key_version, secret: secrets.refresh_token },
          { ...active, secret: fresh.refresh_token },
          location,
          sealed,
        )
      : carrySealedSecret(options.keyRing, location, secrets[field], sealed, tokenSet.dataKey, active)
  await repository.updateRefreshedTokenSet(trx, key.tenantId, tokenSet.id, {
    token_type: tokens.tokenType,
    scope,
    expires_at: tokens.expiresAt,
    issued_at: issuedAt,
    key_version: active.version,
    write_id: refreshed.write_id,
    access_token_sealed: seal(fresh.access_token, tokens.accessToken),
    // A rotated refresh token replaces the old one, bound to the same server; a response without one keeps it.
    refresh_token_sealed:
      tokens.refreshToken !== undefined
        ? seal(fresh.refresh_token, tokens.refreshToken)
        : await keep('refresh_token', tokenSet.refresh_token_sealed),
    refresh_server: server,
    // A rotated refresh token comes with its own expiry, if any; a kept one keeps its own.
    refresh_token_expires_at: tokens.refreshToken !== undefined ? tokens.refreshTokenExpiresAt : tokenSet.refresh_token_expires_at,
    id_token_sealed: tokens.idToken !== undefined ? seal(fresh.id_token, tokens.idToken) : await keep('id_token', tokenSet.id_token_sealed),
  })
  return active.version
}

/** The grant is gone. The access token's binding names the state: it is re-sealed with it. */
async function markReauthRequired({ trx, key, tokenSet, location, tokenSetKey, secrets }: Attempt): Promise<void> {
  const writeId = randomUUID()
  const reauth = secretsOfRow({ ...tokenSet, state: 'reauth_required', write_id: writeId }).access_token
  const resealed = resealToken(
    { key: tokenSetKey, version: tokenSet.key_version, secret: secrets.access_token },
    { key: tokenSetKey, version: tokenSet.key_version, secret: reauth },
    location,
    tokenSet.access_token_sealed,
  )
  await repository.markReauthRequired(trx, key.tenantId, tokenSet.id, { write_id: writeId, access_token_sealed: resealed })
}

async function refreshOnce(options: TokenRefreshOptions, key: TokenSetKey, context: AuditContext, mode: RefreshMode): Promise<void> {
  let decision: Decision
  try {
    decision = await inTenantTransaction(options.db, key.tenantId, (trx) => decide(options, trx, key, context, mode))
  } catch (error) {
    // The wait for another refresh of the set ran out.
    if (hasSqlState(error, SQL_STATE.lockNotAvailable)) {
      throw new VaultError('service.unavailable', 'Another refresh of this token set is still running; retry shortly', {
        retryAfterSeconds: 1,
      })
    }
    throw error
  }
  // Refusals are thrown only now, after the commit: the reauth mark and the audit event must stay.
  if (decision.kind === 'refuse') throw decision.error
}

/** Refusals that say a keep-alive was not attempted: the row was held (busy), or the set cannot be refreshed. */
const KEEP_ALIVE_NOT_ATTEMPTED: Partial<Record<string, KeepAliveOutcome>> = {
  'service.unavailable': 'busy',
  'token_set.reconnect_required': 'skipped',
  'token_set.not_found': 'skipped',
}

export function createTokenRefresher(options: TokenRefreshOptions): TokenRefresher {
  // Concurrent reads of one set in this process share one attempt; the row lock covers other replicas.
  const inFlight = new Map<string, Promise<void>>()
  const forRead: RefreshMode = { reason: { kind: 'read', marginMs: options.marginMs }, noWait: false }
  const forKeepAlive: RefreshMode = { reason: { kind: 'keep_alive' }, noWait: true }

  async function keepAlive(key: TokenSetKey): Promise<KeepAliveOutcome> {
    // Refreshed by the vault itself: no caller, an id of its own for the audit trail.
    const context: AuditContext = { requestId: randomUUID(), clientId: null }
    let outcome: RefreshMetricOutcome | undefined
    const observed = {
      ...options,
      onRefresh: (attempt: RefreshMetricOutcome) => {
        outcome = attempt
        options.onRefresh?.(attempt)
      },
    }
    try {
      await refreshOnce(observed, key, context, forKeepAlive)
      return outcome ?? 'not_due'
    } catch (error) {
      // A refusal is thrown after its commit: after an attempt it was recorded and counted where it happened.
      // Anything else — the key provider down, the database, a row that fails its check — is the sweep's to report.
      const refusal = error instanceof VaultError && !(error instanceof IntegrityError) ? error : undefined
      const answer = refusal === undefined ? undefined : (outcome ?? KEEP_ALIVE_NOT_ATTEMPTED[refusal.code])
      if (answer === undefined) throw error
      return answer
    }
  }

  return {
    marginMs: options.marginMs,
    readWaitMs: options.readWaitMs,
    refresh(key, context) {
      const flightKey = connectionId(key)
      const running = inFlight.get(flightKey)
      if (running !== undefined) return running
      const attempt = refreshOnce(options, key, context, forRead).finally(() => inFlight.delete(flightKey))
      inFlight.set(flightKey, attempt)
      return attempt
    },
    // Not shared with a read's refresh in flight: that one is running, so this one is not needed.
    keepAlive: (key) => (inFlight.has(connectionId(key)) ? Promise.resolve('busy' as const) : keepAlive(key)),
  }
}
