import { type KeyObject, randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { type AuditContext, insertAuditEvent } from '../audit/audit.repository.ts'
import type { AuditAction } from '../audit/audit.schemas.ts'
import { secretsOfRow, type TokenSecret } from '../crypto/token-binding.ts'
import { openToken, sealToken } from '../crypto/token-sealing.ts'
import { batched } from '../db/batched.ts'
import type { ConnectorType, DB } from '../db/schema.ts'
import { hasSqlState, SQL_STATE } from '../db/sql-state.ts'
import { inTenantTransaction, type TenantTransaction } from '../db/tenant-scope.ts'
import { VaultError } from '../errors.ts'
import type { ActiveDataKey, DataKeyRing } from '../keys/data-key-ring.ts'
import { carrySealedSecret } from './carry-sealed-secret.ts'
import { type NormalizedTokenSet, normalizeTokenResponse } from './normalize-token-response.ts'
import { createPushTargetMemory } from './push-targets.ts'
import type { TokenRefresher } from './token-refresh.ts'
import type { TokenSetKey, TokenSetMetadataRow, TokenSetWrite } from './token-set.repository.ts'
import * as repository from './token-set.repository.ts'
import type { AccessTokenResponse, Connection, PushTokenSetBody } from './token-set.schemas.ts'

/** How far in the future a pushed issued_at may lie (clock skew between the identity core and the vault). */
const MAX_ISSUED_AT_SKEW_MS = 5 * 60 * 1000

export interface TokenSetServiceDeps {
  db: Kysely<DB>
  keyRing: DataKeyRing
  /** Without one, an expired token always needs the user to reconnect. */
  refresher?: TokenRefresher
  now?: () => Date
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
      {
        issues: missing.map((position) => ({ path: `query.required_scopes[${position}]`, message: 'not granted' })),
      },
    )
  }
}

function toAccessTokenResponse(
  token: { accessToken: string; tokenType: string; scope: string; expiresAt: Date | null },
  at: Date,
): AccessTokenResponse {
  return {
    access_token: token.accessToken,
    token_type: token.tokenType,
    scope: token.scope,
    expires_in: token.expiresAt === null ? null : Math.max(0, Math.floor((token.expiresAt.getTime() - at.getTime()) / 1000)),
  }
}

export interface ReadOptions {
  /** Scopes the app needs; a set granted fewer gets token_set.insufficient_scope (ask the user for more). */
  requiredScopes?: readonly string[]
  /** Who asked, recorded with a refresh the read causes. */
  context?: AuditContext
}

export type PushResult = { result: 'created' | 'updated' | 'ignored_stale'; connection: Connection }

export interface TokenSetService {
  /**
   * Stores a push and, in the same transaction, its audit event (action token_set.push): a push and its
   * record commit together or not at all. A push that throws recorded nothing.
   */
  pushTokenSet(key: TokenSetKey, body: PushTokenSetBody, context: AuditContext): Promise<PushResult>
  /**
   * The access token, refreshed first when due. `recorded`: the read's success event was committed with the
   * statement that fetched the token, and nothing more is to be recorded for it; otherwise the caller
   * records the read's outcome (as it does whenever this throws).
   */
  readAccessToken(
    key: TokenSetKey,
    options?: ReadOptions,
  ): Promise<{ accessToken: AccessTokenResponse; keyVersion: number; recorded: boolean }>
  listConnections(tenantId: string, userId: string): Promise<Connection[]>
  deleteTokenSet(key: TokenSetKey): Promise<number>
  deleteUserTokenSets(tenantId: string, userId: string): Promise<number>
  deleteConnectorTokenSets(tenantId: string, connectorType: ConnectorType, connectorId: string): Promise<number>
}

/** The audit action of a push, recorded by the push itself (see pushTokenSet). */
const PUSH_AUDIT_ACTION: AuditAction = 'token_set.push'
/** The audit action of a read, recorded by the statement that fetches the token when it is served as stored. */
const READ_AUDIT_ACTION: AuditAction = 'token_set.read'

/** A validated push, normalised once for whichever path stores it. */
interface Push {
  body: PushTokenSetBody
  tokens: NormalizedTokenSet
  issuedAt: Date
  context: AuditContext
}

/** Raised inside a push transaction when a concurrent push created the same token set first. */
class LostInsertRace extends Error {}

export function toConnection(row: TokenSetMetadataRow): Connection {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    user_id: row.user_id,
    connector_type: row.connector_type,
    connector_id: row.connector_id,
    target: row.target,
    issuer: row.issuer,
    provider_subject: row.provider_subject,
    token_type: row.token_type,
    scope: row.scope,
    expires_at: row.expires_at?.toISOString() ?? null,
    has_refresh_token: row.has_refresh_token,
    has_id_token: row.has_id_token,
    state: row.state,
    key_version: row.key_version,
    issued_at: row.issued_at.toISOString(),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

function validateConnectorIdentity(key: TokenSetKey, body: PushTokenSetBody): void {
  if (key.connectorType === 'social' && body.target === undefined) {
    throw new VaultError('request.invalid', 'A social connection needs a target (e.g. "github")', {
      issues: [{ path: 'body.target', message: 'required for connector type social' }],
    })
  }
  if (key.connectorType === 'enterprise_sso' && body.issuer === undefined) {
    throw new VaultError('request.invalid', 'An enterprise SSO connection needs its OIDC issuer', {
      issues: [{ path: 'body.issuer', message: 'required for connector type enterprise_sso' }],
    })
  }
}

/** What a push's write depends on beyond the push: the stored refresh token it keeps, and where a new one belongs. */
interface PushBasis {
  /** The stored refresh token kept when the push carries none (sealed, with its binding), or null. */
  keptRefreshToken: { sealed: Uint8Array | null; server: string | null } | null
  /** Whether the row holds a refresh token the push does not carry (the one-statement write keeps it itself). */
  storedHasRefreshToken: boolean
  /** The authorization server the connector's settings name now: a new refresh token the push does not bind itself is bound to it. */
  refreshServer: string | null
}

/**
 * Where a push's new refresh token belongs: the authorization server the push names (the identity core,
 * which just exchanged the code there, knows it), or else what the connector's settings name now. Only
 * the first is safe against a connectors:write caller who moved the settings before the push.
 */
function refreshServerOf(body: PushTokenSetBody, basis: Pick<PushBasis, 'refreshServer'>): string | null {
  return body.authorization_server ?? basis.refreshServer
}

/**
 * What a push writes: the body's metadata and its tokens sealed under the active key for token set `id`,
 * the access token bound to that metadata and the refresh token to its authorization server.
 */
function sealedPush(
  key: TokenSetKey,
  id: string,
  body: PushTokenSetBody,
  tokens: NormalizedTokenSet,
  issuedAt: Date,
  active: { key: KeyObject; version: number },
  basis: PushBasis,
): { write: TokenSetWrite; hasRefreshToken: boolean } {
  const location = { ...key, tokenSetId: id }
  const hasRefreshToken = tokens.refreshToken !== undefined || basis.storedHasRefreshToken
  const write = {
    target: body.target ?? null,
    issuer: body.issuer ?? null,
    provider_subject: body.provider_subject ?? null,
    token_type: tokens.tokenType,
    scope: tokens.scope,
    expires_at: tokens.expiresAt,
    issued_at: issuedAt,
    key_version: active.version,
    write_id: randomUUID(),
  }
  const metadata = { ...write, state: 'active' as const, has_refresh_token: hasRefreshToken, refresh_server: null }
  const seal = (secret: TokenSecret, value: string) => sealToken(active.key, location, secret, active.version, Buffer.from(value, 'utf8'))
  return {
    hasRefreshToken,
    write: {
      ...write,
      access_token_sealed: seal(secretsOfRow(metadata).access_token, tokens.accessToken),
      refresh_token_sealed:
        tokens.refreshToken === undefined
          ? (basis.keptRefreshToken?.sealed ?? null)
          : seal({ field: 'refresh_token', authorizationServer: refreshServerOf(body, basis) }, tokens.refreshToken),
      refresh_server: tokens.refreshToken === undefined ? (basis.keptRefreshToken?.server ?? null) : refreshServerOf(body, basis),
      id_token_sealed: tokens.idToken === undefined ? null : seal({ field: 'id_token' }, tokens.idToken),
    },
  }
}

export function createTokenSetService({ db, keyRing, refresher, now = () => new Date() }: TokenSetServiceDeps): TokenSetService {
  // Concurrent requests share statements (see batched); each still gets its own answer.
  const readTokenSet = batched((reads: readonly repository.TokenSetRead[]) => repository.readTokenSets(db, reads, READ_AUDIT_ACTION))
  const preparePush = batched((keys: readonly TokenSetKey[]) => repository.preparePushes(db, keys))
  const pushTargets = createPushTargetMemory()
  const writePushed = batched(async (pushes: readonly repository.PushedWrite[]) => {
    try {
      return await repository.writePushedTokenSets(db, pushes, PUSH_AUDIT_ACTION)
    } catch (error) {
      // Rolled back to break a lock cycle, the batch wrote nothing: each push retries alone on the
      // transactional path.
      if (hasSqlState(error, SQL_STATE.deadlockDetected)) return pushes.map(() => undefined)
      throw error
    }
  })

  /**
   * Seals for row `target.id` under `active` and writes in one statement shared with the pushes that arrive
   * with it, recording the push's event with it. Undefined when the statement refused (the row changed, is locked, no longer names
   * the connection, or the key is no longer active): nothing was written and a slower path must decide.
   */
  async function writeInOneStatement(
    key: TokenSetKey,
    { body, tokens, issuedAt, context }: Push,
    target: { id: string; isNew: boolean; storedHasRefreshToken: boolean; refreshServer: string | null },
    active: ActiveDataKey,
  ): Promise<PushResult | undefined> {
    // No refresh token to keep here: the statement keeps the stored one (and its binding) itself, and writes
    // only if the row ends up as sealed for — a refresh token exactly when hasRefreshToken says so.
    const { write, hasRefreshToken } = sealedPush(key, target.id, body, tokens, issuedAt, active, { ...target, keptRefreshToken: null })
    const written = await writePushed({
      key,
      id: target.id,
      isNew: target.isNew,
      hasRefreshToken,
      refreshServerFromSettings: body.authorization_server === undefined,
      write,
      audit: context,
    })
    if (written === undefined) return undefined
    return { result: written.outcome, connection: toConnection(written.row) }
  }

  /** A push to a connection this replica pushed to before: one statement, if what it remembers still holds. */
  async function pushToRememberedTarget(key: TokenSetKey, push: Push): Promise<PushResult | undefined> {
    const target = pushTargets.recall(key)
    if (target === undefined) return undefined
    // The remembered wrapping may be one the provider no longer opens (the root key was rotated and the old
    // one retired): the prepared path reads the stored one, and reports a provider that is really down.
    const active = await keyRing.unwrap(target.activeKey).then(
      (dataKey) => ({ version: target.activeKey.version, key: dataKey }),
      () => undefined,
    )
    const pushed = active === undefined ? undefined : await writeInOneStatement(key, push, { ...target, isNew: false }, active)
    if (pushed === undefined) pushTargets.forget(key)
    return pushed
  }

  /**
   * The common push in two statements, each shared with the pushes that arrive with it, and no explicit
   * transaction: read what is stored and the active key, seal, then compare-and-swap. Undefined when the
   * tenant has no data key yet, when a kept refresh token would need re-sealing under a newer key, or when
   * the row changed or was locked in between: the transactional path handles those.
   */
  async function pushInTwoStatements(key: TokenSetKey, push: Push): Promise<PushResult | undefined> {
    const target = await preparePush(key)
    if (target === undefined) return undefined
    const { existing } = target
    if (
      existing !== undefined &&
      push.tokens.refreshToken === undefined &&
      existing.hasRefreshToken &&
      existing.keyVersion !== target.activeKey.version
    ) {
      return undefined
    }
    const active = { version: target.activeKey.version, key: await keyRing.unwrap(target.activeKey) }
    const id = existing?.id ?? randomUUID()
    const basis = { storedHasRefreshToken: existing?.hasRefreshToken ?? false, refreshServer: target.refreshServer }
    const pushed = await writeInOneStatement(key, push, { id, isNew: existing === undefined, ...basis }, active)
    // The remembered path reuses what it recalled; only a push that had to ask teaches the memory.
    if (pushed !== undefined) {
      pushTargets.remember(key, {
        id: pushed.connection.id,
        activeKey: target.activeKey,
        storedHasRefreshToken: pushed.connection.has_refresh_token,
        refreshServer: target.refreshServer,
      })
    }
    return pushed
  }

  async function pushOnce(trx: TenantTransaction, key: TokenSetKey, push: Push): Promise<PushResult> {
    const pushed = await writeOnce(trx, key, push)
    const { context } = push
    await insertAuditEvent(trx, {
      tenant_id: key.tenantId,
      client_id: context.clientId,
      action: PUSH_AUDIT_ACTION,
      outcome: 'success',
      user_id: key.userId,
      connector_type: key.connectorType,
      connector_id: key.connectorId,
      request_id: context.requestId,
      caller_request_id: context.callerRequestId ?? null,
      key_version: pushed.connection.key_version,
    })
    return pushed
  }

  async function writeOnce(trx: TenantTransaction, key: TokenSetKey, { body, tokens, issuedAt }: Push): Promise<PushResult> {
    const existing = await repository.findTokenSetForUpdate(trx, key)
    if (existing !== undefined && issuedAt < existing.issued_at) {
      return { result: 'ignored_stale', connection: toConnection(existing) }
    }
    const active = await keyRing.activeKey(trx, key.tenantId)
    const id = existing?.id ?? randomUUID()
    const stored = existing === undefined ? undefined : { sealed: existing.refresh_token_sealed, server: existing.refresh_server }
    const kept =
      stored === undefined || tokens.refreshToken !== undefined
        ? null
        : {
            sealed: await carrySealedSecret(
              keyRing,
              { ...key, tokenSetId: id },
              { field: 'refresh_token', authorizationServer: stored.server },
              stored.sealed,
              existing!.dataKey,
              active,
            ),
            server: stored.server,
          }
    const { write } = sealedPush(key, id, body, tokens, issuedAt, active, {
      keptRefreshToken: kept,
      storedHasRefreshToken: kept?.sealed != null,
      refreshServer: await repository.findRefreshServer(trx, key),
    })
    if (existing !== undefined) {
      return { result: 'updated', connection: toConnection(await repository.updateTokenSet(trx, key.tenantId, id, write)) }
    }
    const inserted = await repository.insertTokenSet(trx, key, id, write)
    if (inserted === undefined) throw new LostInsertRace()
    return { result: 'created', connection: toConnection(inserted) }
  }

  return {
    async pushTokenSet(key, body, context) {
      validateConnectorIdentity(key, body)
      const receivedAt = now()
      const issuedAt = body.issued_at === undefined ? receivedAt : new Date(body.issued_at)
      if (issuedAt.getTime() > receivedAt.getTime() + MAX_ISSUED_AT_SKEW_MS) {
        throw new VaultError('request.invalid', 'issued_at lies in the future', {
          issues: [{ path: 'body.issued_at', message: 'must not be more than 5 minutes ahead of the vault clock' }],
        })
      }
      const push: Push = { body, tokens: normalizeTokenResponse(body.token_response, issuedAt), issuedAt, context }
      const fast = (await pushToRememberedTarget(key, push)) ?? (await pushInTwoStatements(key, push))
      if (fast !== undefined) return fast
      try {
        return await inTenantTransaction(db, key.tenantId, (trx) => pushOnce(trx, key, push))
      } catch (error) {
        if (!(error instanceof LostInsertRace)) throw error
        // The concurrent push committed first; the retry sees its row, locks it and orders by issued_at.
        return inTenantTransaction(db, key.tenantId, (trx) => pushOnce(trx, key, push))
      }
    },

    async readAccessToken(key, { requiredScopes = [], context = { requestId: randomUUID(), clientId: null } } = {}) {
      // One instant for every decision about this read, the statement's included: a set the statement
      // records (it expires after readAt + the refresh margin) is one this read neither refreshes nor refuses.
      const readAt = now()
      const serveUntil = new Date(readAt.getTime() + (refresher?.marginMs ?? 0))
      const tokenSet = await readTokenSet({ key, requiredScopes, serveUntil, audit: context })
      if (tokenSet === undefined) throw new VaultError('token_set.not_found', 'No token set is stored for this connection')
      // Opened first, so every decision below rests on authenticated metadata: a state, expiry or scope
      // changed behind the vault's back is crypto.integrity, not an answer. Unwrapping and opening happen
      // after the statement: no connection is held for them.
      const dataKey = await keyRing.unwrap(tokenSet.dataKey)
      const secret = secretsOfRow({ ...tokenSet, refresh_server: null }).access_token
      const accessToken = openToken(
        dataKey,
        { ...key, tokenSetId: tokenSet.id },
        secret,
        tokenSet.dataKey.version,
        tokenSet.access_token_sealed,
        {
          keepDerivedKey: true,
        },
      )
      if (tokenSet.state === 'reauth_required') throw reconnectRequired()
      requireScopes(tokenSet.scope, requiredScopes)
      if (refresher !== undefined && tokenSet.has_refresh_token && refresher.isDue(tokenSet.expires_at, tokenSet.issued_at, readAt)) {
        const fresh = await refresher.refresh(key, context)
        requireScopes(fresh.scope, requiredScopes)
        return { accessToken: toAccessTokenResponse(fresh, now()), keyVersion: fresh.keyVersion, recorded: false }
      }
      if (tokenSet.expires_at !== null && tokenSet.expires_at.getTime() <= readAt.getTime()) throw reconnectRequired()
      const stored = {
        accessToken: accessToken.toString('utf8'),
        tokenType: tokenSet.token_type,
        scope: tokenSet.scope,
        expiresAt: tokenSet.expires_at,
      }
      return { accessToken: toAccessTokenResponse(stored, now()), keyVersion: tokenSet.dataKey.version, recorded: tokenSet.recorded }
    },

    async listConnections(tenantId, userId) {
      const rows = await inTenantTransaction(db, tenantId, (trx) => repository.listTokenSetsOfUser(trx, tenantId, userId))
      return rows.map(toConnection)
    },

    deleteTokenSet: (key) => inTenantTransaction(db, key.tenantId, (trx) => repository.deleteTokenSet(trx, key)),
    deleteUserTokenSets: (tenantId, userId) =>
      inTenantTransaction(db, tenantId, (trx) => repository.deleteTokenSetsOfUser(trx, tenantId, userId)),
    deleteConnectorTokenSets: (tenantId, connectorType, connectorId) =>
      inTenantTransaction(db, tenantId, (trx) => repository.deleteTokenSetsOfConnector(trx, tenantId, connectorType, connectorId)),
  }
}
