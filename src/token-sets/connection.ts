import type { TokenSetMetadataRow } from '../db/vault-functions.ts'
import type { Connection } from './token-set.schemas.ts'

/**
 * How a connection is doing, from its stored state and refresh outcomes: reauth_required (the grant is gone,
 * or its refresh token expired) until a new push; refresh_failing while refreshes fail in a row (transient
 * or misconfigured), until one succeeds or a push arrives; active otherwise.
 */
export function healthOf(row: Pick<TokenSetMetadataRow, 'state' | 'refresh_failures'>): Connection['health'] {
  if (row.state === 'reauth_required') return 'reauth_required'
  return row.refresh_failures > 0 ? 'refresh_failing' : 'active'
}

const iso = (date: Date | null) => date?.toISOString() ?? null

/** A token set as the API shows it: metadata only, never a token. */
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
    health: healthOf(row),
    refresh_token_expires_at: iso(row.refresh_token_expires_at),
    refresh_failure:
      row.refresh_failures === 0
        ? null
        : {
            count: row.refresh_failures,
            since: iso(row.refresh_failing_since)!,
            last_at: iso(row.last_refresh_failure_at)!,
            last_error: row.last_refresh_error!,
            next_attempt_at: iso(row.next_refresh_at),
          },
    key_version: row.key_version,
    issued_at: row.issued_at.toISOString(),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}
