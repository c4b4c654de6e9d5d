import type { TokenSetMetadataRow } from '../db/vault-functions.ts'
import type { Connection } from './token-set.schemas.ts'

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
    key_version: row.key_version,
    issued_at: row.issued_at.toISOString(),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}
