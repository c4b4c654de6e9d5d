/**
 * The events the vault sends. Connection events are recorded by the database, in the transaction of the
 * change (db/functions/vault_connection_events); connection.revoked when a queued revocation finishes;
 * webhook.test by the test route. Payloads carry ids, states, scopes, times and reason codes, never a
 * token or a secret.
 */
export const EVENT_TYPES = {
  'connection.created': 'A connection was stored for the first time (its first push)',
  'connection.updated': 'A push replaced a connection’s tokens: the user signed in again, re-consented, or changed scope',
  'connection.refreshed': 'The vault refreshed a connection’s access token at the provider',
  'connection.refresh_failing':
    'A refresh failed for a reason other than a revoked grant, the first of a streak; `refresh_failure` says how (sent once per streak)',
  'connection.reauth_required': 'The provider revoked the grant or the refresh token expired: the user has to connect again',
  'connection.recovered': 'A failing streak ended with a successful refresh or a push, or a push reconnected a reauth_required connection',
  'connection.deleted': 'A connection was deleted (unlink, user deleted, connector deleted, token storage turned off)',
  'connection.revoked':
    'A refresh token that a delete or a re-consent left behind was revoked at the provider (`revoked: ["refresh_token"]`), was still in use (`outcome: not_needed`), or was given up (`outcome: given_up` and `error`); it is erased either way',
  'tenant.data_key_rotated': "An operator rotated the tenant's data key (`key_version`: the new active one)",
  'tenant.reencrypted': "An operator's re-encryption moved the tenant's secrets to its active data key",
  'tenant.data_key_destroyed': 'An operator destroyed a data-key version the tenant no longer used (`key_version`)',
  'tenant.root_key_rotated': "An operator re-wrapped the tenant's data keys under another root key",
  'webhook.test': 'Sent on request to one endpoint, to check that it receives and verifies deliveries',
} as const

export type EventType = keyof typeof EVENT_TYPES
export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as [EventType, ...EventType[]]
