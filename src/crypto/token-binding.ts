import { type BindingValue, encodeBinding } from './associated-data.ts'

/** The secrets a token set holds. Each is sealed on its own, bound to its field name. */
export const SEALED_FIELDS = ['access_token', 'refresh_token', 'id_token'] as const
export type SealedField = (typeof SEALED_FIELDS)[number]

/** Where a token set's secrets belong: the row and the connection it names. */
export interface TokenSetLocation {
  tenantId: string
  userId: string
  connectorType: string
  connectorId: string
  tokenSetId: string
}

/**
 * The clear columns that decide what the vault does with a token set: whether it is served (state, expiry,
 * scope), whether it is newer than a push (issued_at), whether it can be refreshed, and what it belongs to.
 * They are bound into the access token's associated data, so a change made behind the vault's back makes
 * the access token fail to open: crypto.integrity before any answer and before any outbound call.
 */
export interface TokenSetMetadata {
  state: 'active' | 'reauth_required'
  tokenType: string
  scope: string
  expiresAt: Date | null
  issuedAt: Date
  hasRefreshToken: boolean
  target: string | null
  issuer: string | null
  providerSubject: string | null
  /** Fresh for every write of the row: a sealed value from an earlier write does not open in a later one. */
  writeId: string
}

/**
 * What one sealed secret is bound to beyond its location and key version. The access token carries the
 * set's metadata; the refresh token carries the authorization server it belongs to (the connector's token
 * endpoint or issuer when it was stored), so that it opens only for a refresh at that server; the ID token
 * carries nothing more.
 */
export type TokenSecret =
  | { field: 'access_token'; metadata: TokenSetMetadata }
  | { field: 'refresh_token'; authorizationServer: string | null }
  | { field: 'id_token' }

/** The authorization server a connector's refresh settings name, as a refresh token is bound to it. */
export function authorizationServerOf(settings: { token_endpoint: string | null; issuer: string | null }): string | null {
  return settings.token_endpoint ?? settings.issuer
}

const time = (date: Date | null) => (date === null ? null : date.getTime())

function secretFields(secret: TokenSecret): BindingValue[] {
  switch (secret.field) {
    case 'access_token': {
      const m = secret.metadata
      return [
        m.state,
        m.tokenType,
        m.scope,
        time(m.expiresAt),
        time(m.issuedAt),
        m.hasRefreshToken ? 1 : 0,
        m.target,
        m.issuer,
        m.providerSubject,
        m.writeId,
      ]
    }
    case 'refresh_token':
      return [secret.authorizationServer]
    case 'id_token':
      return []
  }
}

/**
 * Associated data for one sealed token: a ciphertext copied to another row, user, connector, tenant, field
 * or data-key version no longer opens, nor one whose row's metadata (access token) or bound authorization
 * server (refresh token) was changed. Format v2 (v1 bound the location, field and version only).
 */
export function tokenSecretAssociatedData(location: TokenSetLocation, secret: TokenSecret, keyVersion: number): Buffer {
  return encodeBinding('secret-vault/token-secret/v2', [
    location.tenantId,
    location.userId,
    location.connectorType,
    location.connectorId,
    location.tokenSetId,
    secret.field,
    keyVersion,
    ...secretFields(secret),
  ])
}

/** The clear columns of a stored token set that its secrets are bound to, as the database returns them. */
export interface TokenSetColumns {
  state: 'active' | 'reauth_required'
  token_type: string
  scope: string
  expires_at: Date | null
  issued_at: Date
  has_refresh_token: boolean
  target: string | null
  issuer: string | null
  provider_subject: string | null
  refresh_server: string | null
  write_id: string
}

/** Each sealed field of a stored row with what it is bound to: what opening, re-sealing and verifying need. */
export function secretsOfRow(row: TokenSetColumns): Record<SealedField, TokenSecret> {
  return {
    access_token: {
      field: 'access_token',
      metadata: {
        state: row.state,
        tokenType: row.token_type,
        scope: row.scope,
        expiresAt: row.expires_at,
        issuedAt: row.issued_at,
        hasRefreshToken: row.has_refresh_token,
        target: row.target,
        issuer: row.issuer,
        providerSubject: row.provider_subject,
        writeId: row.write_id,
      },
    },
    refresh_token: { field: 'refresh_token', authorizationServer: row.refresh_server },
    id_token: { field: 'id_token' },
  }
}
