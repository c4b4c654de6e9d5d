import { randomUUID } from 'node:crypto'
import type { AuditContext } from '../audit/audit.repository.ts'
import { secretsOfRow, type TokenSecret } from '../crypto/token-binding.ts'
import { sealToken } from '../crypto/token-sealing.ts'
import type { TokenSetWriteRecord } from '../db/vault-functions.ts'
import type { WrappedDataKey } from '../keys/data-key.repository.ts'
import type { ActiveDataKey, DataKeyRing } from '../keys/data-key-ring.ts'
import type { NormalizedTokenSet } from '../oauth/token-response.ts'
import { carrySealedSecret } from './carry-sealed-secret.ts'
import type { TokenSetKey } from './token-set.repository.ts'
import type { PushTokenSetBody } from './token-set.schemas.ts'

// The rules of a push, in one place: what a push writes, given the push and what it is based on. The
// database function that writes it only compares and swaps (db/functions/vault_write_token_sets.v2.sql).

/** A validated push, normalised once. */
export interface Push {
  body: PushTokenSetBody
  tokens: NormalizedTokenSet
  issuedAt: Date
  context: AuditContext
}

/** The token set a push is based on, as it was stored. */
export interface StoredBasis {
  id: string
  writeId: string
  keyVersion: number
  issuedAt: Date
  /**
   * Its refresh token: the server it is bound to, and, when it is sealed under another key version than
   * the active one, the sealed bytes and the key that opens them (it must be carried over).
   */
  refreshToken: { server: string | null; expiresAt: Date | null; sealed?: { bytes: Uint8Array; dataKey: WrappedDataKey } } | null
}

/** What a push's write depends on besides the push: read from the database, or remembered from this replica's last write. */
export interface PushBasis {
  activeKey: WrappedDataKey
  /** The authorization server the connector's refresh settings name now. */
  settingsServer: string | null
  stored: StoredBasis | undefined
}

const PUSH_AUDIT_ACTION = 'token_set.push'

/** How the written row gets its refresh token. */
type RefreshTokenWrite =
  | { kind: 'none' }
  | { kind: 'keep' }
  | { kind: 'write'; sealed: Uint8Array; server: string | null; serverFromSettings: boolean; expiresAt: Date | null }

/**
 * Where a push's refresh token comes from. A new one is bound to the authorization server the push names
 * (the identity core, which just exchanged the code there, knows it), or else to what the settings name.
 * A push without one keeps the stored one; if the set moves to a newer data key, it is carried over.
 */
async function refreshTokenWrite(
  key: TokenSetKey,
  push: Push,
  basis: PushBasis & { id: string },
  active: ActiveDataKey,
  keyRing: DataKeyRing,
): Promise<RefreshTokenWrite> {
  const location = { ...key, tokenSetId: basis.id }
  if (push.tokens.refreshToken !== undefined) {
    const server = push.body.authorization_server ?? basis.settingsServer
    const secret: TokenSecret = { field: 'refresh_token', authorizationServer: server }
    const sealed = sealToken(active.key, location, secret, active.version, Buffer.from(push.tokens.refreshToken, 'utf8'))
    return {
      kind: 'write',
      sealed,
      server,
      serverFromSettings: push.body.authorization_server === undefined,
      expiresAt: push.tokens.refreshTokenExpiresAt,
    }
  }
  const stored = basis.stored?.refreshToken
  if (stored === undefined || stored === null) return { kind: 'none' }
  if (basis.stored!.keyVersion === active.version) return { kind: 'keep' }
  if (stored.sealed === undefined) throw new Error('a push basis without the refresh token it must carry over')
  const secret: TokenSecret = { field: 'refresh_token', authorizationServer: stored.server }
  const carried = await carrySealedSecret(keyRing, location, secret, stored.sealed.bytes, stored.sealed.dataKey, active)
  return { kind: 'write', sealed: carried!, server: stored.server, serverFromSettings: false, expiresAt: stored.expiresAt }
}

/**
 * What a push writes: an older push than the stored set (issued_at) is recorded and changes nothing;
 * otherwise the set takes the push's metadata and tokens, sealed under the active key for its row id, the
 * access token bound to that metadata. The write happens only while `basis` still holds.
 */
export async function planPush(
  key: TokenSetKey,
  push: Push,
  basis: PushBasis,
  active: ActiveDataKey,
  keyRing: DataKeyRing,
): Promise<TokenSetWriteRecord> {
  const { body, tokens, issuedAt, context } = push
  const id = basis.stored?.id ?? randomUUID()
  const common = {
    tenant_id: key.tenantId,
    user_id: key.userId,
    connector_type: key.connectorType,
    connector_id: key.connectorId,
    id,
    expected_write_id: basis.stored?.writeId ?? null,
    expected_key_version: basis.stored?.keyVersion ?? null,
    action: PUSH_AUDIT_ACTION,
    client_id: context.clientId,
    request_id: context.requestId,
    caller_request_id: context.callerRequestId ?? null,
  }
  if (basis.stored !== undefined && issuedAt < basis.stored.issuedAt) return { ...common, write: false }

  const refresh = await refreshTokenWrite(key, push, { ...basis, id }, active, keyRing)
  const metadata = {
    state: 'active' as const,
    target: body.target ?? null,
    issuer: body.issuer ?? null,
    provider_subject: body.provider_subject ?? null,
    token_type: tokens.tokenType,
    scope: tokens.scope,
    expires_at: tokens.expiresAt,
    issued_at: issuedAt,
    has_refresh_token: refresh.kind !== 'none',
    write_id: randomUUID(),
    refresh_server: null,
  }
  const location = { ...key, tokenSetId: id }
  const seal = (secret: TokenSecret, value: string) => sealToken(active.key, location, secret, active.version, Buffer.from(value, 'utf8'))
  return {
    ...common,
    write: true,
    target: metadata.target,
    issuer: metadata.issuer,
    provider_subject: metadata.provider_subject,
    token_type: metadata.token_type,
    scope: metadata.scope,
    expires_at: metadata.expires_at,
    issued_at: metadata.issued_at,
    key_version: active.version,
    write_id: metadata.write_id,
    access_token_sealed: seal(secretsOfRow(metadata).access_token, tokens.accessToken),
    keep_refresh_token: refresh.kind === 'keep',
    refresh_token_sealed: refresh.kind === 'write' ? refresh.sealed : null,
    refresh_server: refresh.kind === 'write' ? refresh.server : null,
    refresh_token_expires_at: refresh.kind === 'write' ? refresh.expiresAt : null,
    id_token_sealed: tokens.idToken === undefined ? null : seal({ field: 'id_token' }, tokens.idToken),
    settings_server_expected: refresh.kind === 'write' && refresh.serverFromSettings,
    settings_server: basis.settingsServer,
  }
}
