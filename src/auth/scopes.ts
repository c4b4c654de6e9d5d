/**
 * Least privilege: each caller gets only what its job needs. The identity core pushes and deletes; the
 * account API reads access tokens; an admin console lists connection metadata; auditors read the trail.
 * Connector refresh settings carry the connector's client secret, so they have a scope of their own.
 */
export const SCOPES = {
  tokenSetsWrite: 'token_sets:write',
  tokenSetsRead: 'token_sets:read',
  connectionsRead: 'connections:read',
  auditRead: 'audit:read',
  connectorsWrite: 'connectors:write',
} as const

export type Scope = (typeof SCOPES)[keyof typeof SCOPES]
export const ALL_SCOPES: readonly Scope[] = Object.values(SCOPES)

export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  'token_sets:write': 'Push token sets and delete them (identity core)',
  'token_sets:read': 'Read access tokens (account API)',
  'connections:read': "List a user's connections, metadata only (admin console)",
  'audit:read': "Read a tenant's audit trail",
  'connectors:write': "Register a connector's refresh settings (its client secret included) and delete connectors (identity core)",
}
