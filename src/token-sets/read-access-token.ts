import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { AuditContext, AuditEventInsert } from '../audit/audit.repository.ts'
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
  /** Records the read's success before the token leaves (a failure is recorded by whoever sees it). */
  audit: { record(event: AuditEventInsert): Promise<void> }
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
function requireScopes(granted: string, required: readonly string[]): void {
  const grantedScopes = new Set(granted.split(' '))
  const missing = required.flatMap((scope, position) => (grantedScopes.has(scope) ? [] : [position]))
  if (missing.length > 0) {
    throw new VaultError(
      'token_set.insufficient_scope',
      'The user has not granted every scope the app asked for: ask the user to grant them',
      { issues: missing.map((position) => ({ path: `query.required_scopes[${position}]`, message: 'not granted' })) },
    )
  }
}

interface ServedToken {
  accessToken: string
  tokenType: string
  scope: string
  expiresAt: Date | null
  keyVersion: number
}

function toAccessTokenResponse(token: ServedToken, at: Date): AccessTokenResponse {
  return {
    access_token: token.accessToken,
    token_type: token.tokenType,
    scope: token.scope,
    expires_in: token.expiresAt === null ? null : Math.max(0, Math.floor((token.expiresAt.getTime() - at.getTime()) / 1000)),
  }
}

/**
 * The read, decided in one place: the stored token is served when the set is active, holds every required
 * scope and is not due for a refresh; a due one is refreshed first; an expired one that cannot be refreshed
 * needs a reconnect. Every decision rests on metadata authenticated by opening the token first.
 */
export function createAccessTokenReader({ db, keyRing, audit, refresher, now }: AccessTokenReaderDeps) {
  // Concurrent reads share one statement (see batched); each still gets its own answer.
  const readTokenSet = batched((keys: readonly TokenSetKey[]) => functions.readTokenSets(db, keys.map(connectionRecord)))

  async function serve(key: TokenSetKey, requiredScopes: readonly string[], context: AuditContext): Promise<ServedToken> {
    const row = await readTokenSet(key)
    if (row === undefined) throw new VaultError('token_set.not_found', 'No token set is stored for this connection')
    // Opened first, so every decision below rests on authenticated metadata: a state, expiry or scope
    // changed behind the vault's back is crypto.integrity, not an answer. No connection is held for it.
    const dataKey = await keyRing.unwrap({
      tenantId: key.tenantId,
      version: row.key_version,
      rootKeyId: row.root_key_id,
      wrappedKey: row.wrapped_key,
    })
    const secret = secretsOfRow({ ...row, refresh_server: null }).access_token
    const location = { ...key, tokenSetId: row.id }
    const accessToken = openToken(dataKey, location, secret, row.key_version, row.access_token_sealed, { keepDerivedKey: true })
    if (row.state === 'reauth_required') throw reconnectRequired()
    requireScopes(row.scope, requiredScopes)
    const readAt = now()
    if (refresher !== undefined && row.has_refresh_token && refresher.isDue(row.expires_at, row.issued_at, readAt)) {
      const fresh = await refresher.refresh(key, context)
      requireScopes(fresh.scope, requiredScopes)
      return fresh
    }
    if (row.expires_at !== null && row.expires_at.getTime() <= readAt.getTime()) throw reconnectRequired()
    const stored = { tokenType: row.token_type, scope: row.scope, expiresAt: row.expires_at, keyVersion: row.key_version }
    return { ...stored, accessToken: accessToken.toString('utf8') }
  }

  return {
    /** The access token, refreshed first when due; its read is recorded (token_set.read) before it is returned. */
    async read(key: TokenSetKey, { requiredScopes = [], context = { requestId: randomUUID(), clientId: null } }: ReadOptions = {}) {
      const served = await serve(key, requiredScopes, context)
      await audit.record({
        tenant_id: key.tenantId,
        client_id: context.clientId,
        action: 'token_set.read',
        outcome: 'success',
        user_id: key.userId,
        connector_type: key.connectorType,
        connector_id: key.connectorId,
        request_id: context.requestId,
        caller_request_id: context.callerRequestId ?? null,
        key_version: served.keyVersion,
      })
      return toAccessTokenResponse(served, now())
    },
  }
}
