import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import type { AuditContext } from '../audit/audit.repository.ts'
import { secretsOfRow } from '../crypto/token-binding.ts'
import { openToken } from '../crypto/token-sealing.ts'
import { batched } from '../db/batched.ts'
import type { DB } from '../db/schema.ts'
import * as functions from '../db/vault-functions.ts'
import { VaultError } from '../errors.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import type { TokenRefresher } from './token-refresh.ts'
import { connectionRecord, type TokenSetKey } from './token-set.repository.ts'
import type { AccessTokenResponse } from './token-set.schemas.ts'

export interface ReadOptions {
  /** Scopes the app needs; a set granted fewer gets token_set.insufficient_scope (ask the user for more). */
  requiredScopes?: readonly string[]
  /** Who asked: recorded with the read and with a refresh the read causes. */
  context?: AuditContext
}

export interface AccessTokenReaderDeps {
  db: Kysely<DB>
  keyRing: DataKeyRing
  /** Without one, an expired token always needs the user to reconnect. */
  refresher?: TokenRefresher
  now: () => Date
}

const reconnectRequired = () =>
  new VaultError(
    'token_set.reconnect_required',
    'The stored access token has expired or its grant is gone: ask the user to connect the account again',
  )

/** Missing scopes are named by their position in required_scopes: an error never repeats the caller's input. */
const insufficientScope = (missing: readonly number[]) =>
  new VaultError('token_set.insufficient_scope', 'The user has not granted every scope the app asked for: ask the user to grant them', {
    issues: missing.map((position) => ({ path: `query.required_scopes[${position - 1}]`, message: 'not granted' })),
  })

function toAccessTokenResponse(row: functions.ReadTokenSetRow, accessToken: string, at: Date): AccessTokenResponse {
  return {
    access_token: accessToken,
    token_type: row.token_type,
    scope: row.scope,
    expires_in: row.expires_at === null ? null : Math.max(0, Math.floor((row.expires_at.getTime() - at.getTime()) / 1000)),
  }
}

/**
 * Reads act on the read statement's verdict (db/functions/vault_read_token_sets.v2.sql, the one home of the
 * rule): served as stored (and recorded by that statement), refused, or refreshed first — after which the
 * set is read again, without refreshing, so that what is served is decided and recorded the same way.
 */
export function createAccessTokenReader({ db, keyRing, refresher, now }: AccessTokenReaderDeps) {
  // Concurrent reads share one statement (see batched); each still gets its own answer.
  const statement = batched((reads: readonly functions.TokenSetReadRecord[]) => functions.readTokenSets(db, reads, 'token_set.read'))

  async function readOnce(key: TokenSetKey, requiredScopes: readonly string[], context: AuditContext, mayRefresh: boolean) {
    const row = await statement({
      ...connectionRecord(key),
      required_scopes: requiredScopes.length === 0 ? null : requiredScopes.join(' '),
      at: now(),
      refresh_margin_ms: mayRefresh && refresher !== undefined ? refresher.marginMs : null,
      client_id: context.clientId,
      request_id: context.requestId,
      caller_request_id: context.callerRequestId ?? null,
    })
    if (row === undefined) throw new VaultError('token_set.not_found', 'No token set is stored for this connection')
    // Opened before the verdict is acted on: a state, expiry or scope changed behind the vault's back is
    // crypto.integrity, not an answer. No connection is held for it.
    const dataKey = await keyRing.unwrap({
      tenantId: key.tenantId,
      version: row.key_version,
      rootKeyId: row.root_key_id,
      wrappedKey: row.wrapped_key,
    })
    const secret = secretsOfRow({ ...row, refresh_server: null }).access_token
    const location = { ...key, tokenSetId: row.id }
    const accessToken = openToken(dataKey, location, secret, row.key_version, row.access_token_sealed, { keepDerivedKey: true })
    return { row, accessToken }
  }

  /**
   * Waits for the set's refresh. A token that is still valid waits at most the read wait (its connector's
   * policy, else the service's): a slow provider then finishes in the background (its outcome is recorded
   * and stored as usual) while the read is served the stored token.
   */
  async function refreshed(key: TokenSetKey, context: AuditContext, row: functions.ReadTokenSetRow): Promise<void> {
    const refreshing = refresher!.refresh(key, context)
    const validFor = row.expires_at === null ? Number.POSITIVE_INFINITY : row.expires_at.getTime() - now().getTime()
    if (validFor <= 0) return refreshing
    const patience = new AbortController()
    const readWaitMs = row.read_wait_ms ?? refresher!.readWaitMs
    const late = sleep(Math.min(readWaitMs, validFor), undefined, { signal: patience.signal }).then(
      () => 'late' as const,
      () => 'done' as const,
    )
    try {
      if ((await Promise.race([refreshing.then(() => 'done' as const), late])) === 'late') {
        // Recorded and counted by the refresh itself; nobody is waiting for it any more.
        refreshing.catch(() => undefined)
      }
    } finally {
      patience.abort()
    }
  }

  return {
    /** The access token, refreshed first when due; a read served is recorded (token_set.read) before it is returned. */
    async read(
      key: TokenSetKey,
      { requiredScopes = [], context = { requestId: randomUUID(), clientId: null } }: ReadOptions = {},
    ): Promise<AccessTokenResponse> {
      let read = await readOnce(key, requiredScopes, context, true)
      if (read.row.verdict === 'refresh') {
        await refreshed(key, context, read.row)
        read = await readOnce(key, requiredScopes, context, false)
      }
      const { row, accessToken } = read
      switch (row.verdict) {
        case 'serve':
          return toAccessTokenResponse(row, accessToken.toString('utf8'), now())
        case 'insufficient_scope':
          throw insufficientScope(row.missing_scopes ?? [])
        default:
          throw reconnectRequired()
      }
    },
  }
}
