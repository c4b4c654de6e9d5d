/**
 * Least privilege: each caller gets only what its job needs. The identity core pushes and deletes; the
 * account API reads access tokens; an admin console lists connection metadata; auditors read the trail.
 * Connector refresh settings carry the connector's client secret, so they have a scope of their own. A user's
 * secrets are written, read and listed under three scopes; MFA is enrolled, verified and read back under
 * three more, so that a caller that verifies codes can never read a seed or a code set.
 */
export const SCOPES = {
  tokenSetsWrite: 'token_sets:write',
  tokenSetsRead: 'token_sets:read',
  connectionsRead: 'connections:read',
  auditRead: 'audit:read',
  connectorsWrite: 'connectors:write',
  secretsWrite: 'secrets:write',
  secretsRead: 'secrets:read',
  secretsList: 'secrets:list',
  mfaEnroll: 'mfa:enroll',
  mfaVerify: 'mfa:verify',
  mfaRead: 'mfa:read',
  usersDelete: 'users:delete',
  webhooksManage: 'webhooks:manage',
} as const

export type Scope = (typeof SCOPES)[keyof typeof SCOPES]
export const ALL_SCOPES: readonly Scope[] = Object.values(SCOPES)

export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  'token_sets:write': 'Push token sets and delete them (identity core)',
  'token_sets:read': 'Read access tokens (account API)',
  'connections:read': "List a user's connections, metadata only (admin console)",
  'audit:read': "Read a tenant's audit trail",
  'connectors:write': "Register a connector's refresh settings (its client secret included) and delete connectors (identity core)",
  'secrets:write': "Store, replace and delete a user's named secrets",
  'secrets:read': "Read a user's named secret, its value included",
  'secrets:list': "List a user's named secrets, metadata only",
  'mfa:enroll': 'Generate, bind and delete MFA factors; a TOTP seed and backup codes are returned once, at generation',
  'mfa:verify': "Verify a TOTP code, consume a backup code, list a user's factors (metadata only)",
  'mfa:read': "Read a user's backup codes back, each with when it was used (Account Center)",
  'users:delete': 'Delete everything the vault holds for a user (identity core, when the user is deleted)',
  'webhooks:manage':
    "Register, list, rotate and delete a tenant's webhook endpoints and see their deliveries; a signing secret is shown once",
}
