import type { ColumnType, Generated } from 'kysely'

/** Row types as the database returns them. `bytea` arrives as Buffer from pg and Uint8Array from PGlite. */
type Bytes = Uint8Array
type CreatedAt = ColumnType<Date, Date | string | undefined, never>
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>

export interface TenantsTable {
  tenant_id: string
  created_at: CreatedAt
}

export type DataKeyState = 'active' | 'decrypt_only'

export interface DataKeysTable {
  tenant_id: string
  version: number
  state: DataKeyState
  root_key_id: string
  wrapped_key: Bytes
  created_at: CreatedAt
  retired_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

export type TokenSetState = 'active' | 'reauth_required'
export type ConnectorType = 'social' | 'enterprise_sso'

export interface TokenSetsTable {
  tenant_id: string
  id: string
  user_id: string
  connector_type: ConnectorType
  connector_id: string
  target: string | null
  issuer: string | null
  provider_subject: string | null
  token_type: string
  scope: string
  expires_at: Date | null
  issued_at: Date
  state: TokenSetState
  key_version: number
  /** Fresh for every write; bound into the access token (see crypto/token-binding.ts). */
  write_id: string
  access_token_sealed: Bytes
  refresh_token_sealed: Bytes | null
  /** The authorization server the refresh token is bound to (see crypto/token-binding.ts). */
  refresh_server: string | null
  id_token_sealed: Bytes | null
  /** When the refresh token expires, if the provider said (refresh_token_expires_in). */
  refresh_token_expires_at: Date | null
  /** Refresh failures in a row (not invalid_grant), since when, the last one's error code and time. */
  refresh_failures: ColumnType<number, number | undefined, number>
  refresh_failing_since: Date | null
  last_refresh_failure_at: Date | null
  last_refresh_error: string | null
  /** No refresh attempt before this (backoff, the provider's Retry-After), whichever replica asks. */
  next_refresh_at: Date | null
  /** Written by refreshes only: how the event trigger tells a refresh from a push. */
  last_refreshed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface RefreshPolicy {
  min_interval_seconds?: number
  backoff_max_seconds?: number
  refresh_margin_seconds?: number
  read_wait_ms?: number
  keep_alive_idle_seconds?: number
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'

export interface ConnectorRefreshSettingsTable {
  tenant_id: string
  connector_type: ConnectorType
  connector_id: string
  token_endpoint: string | null
  issuer: string | null
  client_id: string
  client_auth_method: ClientAuthMethod
  /** Sealed for every connector (empty for a public client), bound to the columns above. */
  client_secret_sealed: Bytes
  extra_params: ColumnType<Record<string, string>, string, string>
  /** When the vault refreshes this connector's sets (timing only; see refresh-settings.schemas.ts). */
  refresh_policy: ColumnType<RefreshPolicy, string, string>
  /** Where refresh tokens it leaves behind are revoked; null: discovered from the issuer, if it has one. */
  revocation_endpoint: string | null
  revoke_tokens: ColumnType<boolean, boolean | undefined, boolean>
  key_version: number
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export type AuditOutcome = 'success' | 'denied' | 'failed'

export interface AuditEventsTable {
  tenant_id: string
  id: ColumnType<string, never, never>
  occurred_at: CreatedAt
  client_id: string | null
  action: string
  outcome: AuditOutcome
  error_code: string | null
  user_id: string | null
  connector_type: string | null
  connector_id: string | null
  request_id: string
  caller_request_id: ColumnType<string | null, string | null | undefined, never>
  key_version: number | null
}

export type AuditDigestKind = 'seal' | 'retention'

/** A tenant's audit events (after_id, through_id], sealed under its data key (see src/audit/audit-digests.ts). */
export interface AuditDigestsTable {
  tenant_id: string
  number: string
  kind: AuditDigestKind
  sealed_at: Date
  after_id: string
  through_id: string
  /** Per event, in id order: id (u64), occurred_at in microseconds (u64), content hash (16 bytes). */
  entries: Bytes
  cut: string | null
  key_version: number
  seal: Bytes
}

export type UserSecretKind = 'api_key' | 'password' | 'generic'

export interface UserSecretsTable {
  tenant_id: string
  user_id: string
  name: string
  kind: UserSecretKind
  labels: ColumnType<Record<string, string>, string, string>
  key_version: number
  /** Bound to tenant, user, name, kind and key version (see crypto/record-binding.ts). */
  value_sealed: Bytes
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export type MfaFactorType = 'totp' | 'backup_codes'
export type MfaFactorState = 'pending' | 'bound'

export interface MfaFactorsTable {
  tenant_id: string
  id: string
  user_id: string
  type: MfaFactorType
  state: MfaFactorState
  /** A pending factor's end; null once bound. */
  expires_at: Date | null
  key_version: number
  /** The TOTP seed or the backup codes, bound to the columns above (see crypto/record-binding.ts). */
  secret_sealed: Bytes
  created_at: CreatedAt
  bound_at: Date | null
  last_used_at: Date | null
}

export interface MfaUsedCodesTable {
  tenant_id: string
  factor_id: string
  /** The TOTP time step, or the backup code's place in its set. */
  counter: ColumnType<string, number | string, never>
  used_at: CreatedAt
}

export interface MfaAttemptsTable {
  tenant_id: string
  user_id: string
  failures: number
  locked_until: Date | null
  updated_at: UpdatedAt
}

export interface EventsTable {
  tenant_id: string
  id: Generated<string>
  type: string
  occurred_at: CreatedAt
  /** Ids, states, scopes, times and reason codes: never a token, never a secret. */
  data: ColumnType<Record<string, unknown>, string, never>
}

export interface WebhookEndpointsTable {
  tenant_id: string
  id: string
  url: string
  /** Empty: every type. */
  event_types: string[]
  description: string
  key_version: number
  /** The signing secrets, bound to tenant, id, url, event types and key version (see webhooks/signing-secrets.ts). */
  secrets_sealed: Bytes
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'dead'

export interface WebhookDeliveriesTable {
  tenant_id: string
  id: Generated<string>
  endpoint_id: string
  event_id: string
  state: ColumnType<WebhookDeliveryState, WebhookDeliveryState | undefined, WebhookDeliveryState>
  attempts: ColumnType<number, number | undefined, number>
  /** Null until the first attempt fails: due at once. */
  next_attempt_at: Date | null
  lease_until: Date | null
  first_attempt_at: Date | null
  last_attempt_at: Date | null
  last_status: number | null
  last_error: string | null
  delivered_at: Date | null
  created_at: CreatedAt
}

export interface TokenRevocationsTable {
  tenant_id: string
  id: Generated<string>
  token_set_id: string
  user_id: string
  connector_type: ConnectorType
  connector_id: string
  reason: 'deleted' | 'replaced'
  token_key_version: number
  refresh_server: string | null
  refresh_token_sealed: Bytes
  token_endpoint: string | null
  issuer: string | null
  client_id: string
  client_auth_method: ClientAuthMethod
  extra_params: ColumnType<Record<string, string>, string, string>
  revocation_endpoint: string | null
  revoke_tokens: boolean
  settings_key_version: number
  client_secret_sealed: Bytes
  attempts: ColumnType<number, number | undefined, number>
  next_attempt_at: Date | null
  lease_until: Date | null
  first_attempt_at: Date | null
  last_error: string | null
  created_at: CreatedAt
}

export interface DB {
  token_revocations: TokenRevocationsTable
  events: EventsTable
  webhook_endpoints: WebhookEndpointsTable
  webhook_deliveries: WebhookDeliveriesTable
  audit_events: AuditEventsTable
  audit_digests: AuditDigestsTable
  user_secrets: UserSecretsTable
  mfa_factors: MfaFactorsTable
  mfa_used_codes: MfaUsedCodesTable
  mfa_attempts: MfaAttemptsTable
  tenants: TenantsTable
  data_keys: DataKeysTable
  token_sets: TokenSetsTable
  connector_refresh_settings: ConnectorRefreshSettingsTable
}

export type { Generated }
