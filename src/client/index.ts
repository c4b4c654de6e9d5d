/**
 * The typed client for secret-vault: `import { createVaultClient } from '@secret-vault/client'`.
 *
 * It authenticates with the caller's client credentials at the identity platform, caches the access token
 * and renews it before it expires (one fetch however many calls wait), retries a call once when the vault
 * answers 401, and turns every failure into a VaultClientError carrying the vault's stable code. Request and
 * response types come from openapi.yaml.
 */
import createClient from 'openapi-fetch'
import { VaultClientError, type VaultErrorCode, type VaultErrorIssue } from './errors.ts'
import type { components, operations, paths } from './schema.ts'
import { type ClientCredentials, createTokenSource } from './token-source.ts'

export type { ClientErrorCode, VaultErrorCode, VaultErrorIssue } from './errors.ts'
export { VaultClientError } from './errors.ts'
export type { components, operations, paths } from './schema.ts'
export type { ClientCredentials } from './token-source.ts'

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never
type RequestBody<Op extends keyof operations> = operations[Op] extends { requestBody: { content: { 'application/json': infer Body } } }
  ? Body
  : never
type Success<Op extends keyof operations> = Json<operations[Op]['responses'][keyof operations[Op]['responses'] & (200 | 201 | 202)]>

export type ConnectorType = operations['pushTokenSet']['parameters']['path']['connectorType']
export interface UserRef {
  tenantId: string
  userId: string
}
export interface ConnectorRef {
  tenantId: string
  connectorType: ConnectorType
  connectorId: string
}
export type ConnectionRef = UserRef & ConnectorRef

export type PushTokenSetBody = RequestBody<'pushTokenSet'>
export type PushTokenSetResult = Success<'pushTokenSet'>
export type AccessToken = Success<'readAccessToken'>
export type Connection = components['schemas']['Connection']
export type RefreshSettingsBody = RequestBody<'putRefreshSettings'>
export type RefreshSettings = Success<'getRefreshSettings'>
export type AuditQuery = NonNullable<operations['listAuditEvents']['parameters']['query']>
export type AuditPage = Success<'listAuditEvents'>
export interface UserSecretRef extends UserRef {
  name: string
}
export type PutUserSecretBody = RequestBody<'putUserSecret'>
export type UserSecretMetadata = Success<'putUserSecret'>
export type UserSecret = Success<'readUserSecret'>
export type MfaFactor = Success<'bindTotp'>
export type MfaFactorType = operations['deleteMfaFactor']['parameters']['path']['type']
export type GeneratedTotp = Success<'generateTotpSecret'>
export type GeneratedBackupCodes = Success<'generateBackupCodes'>
export type BackupCodeList = Success<'listBackupCodes'>
export type ConsumedBackupCode = Success<'consumeBackupCode'>
export type DeletedTokenSets = Success<'deleteTokenSet'>
export interface WebhookRef {
  tenantId: string
  webhookId: string
}
export type CreateWebhookBody = RequestBody<'createWebhook'>
export type CreatedWebhook = Success<'createWebhook'>
export type Webhook = Success<'getWebhook'>
export type RotatedWebhookSecret = Success<'rotateWebhookSecret'>
export type WebhookDelivery = Success<'listWebhookDeliveries'>['deliveries'][number]
export type WebhookDeliveriesQuery = NonNullable<operations['listWebhookDeliveries']['parameters']['query']>

export interface VaultClientOptions {
  /** Where the vault is, e.g. `https://secret-vault.internal`. */
  baseUrl: string
  credentials: ClientCredentials
  /** Renew the access token this many seconds before it expires (default 60). */
  renewBeforeSeconds?: number
  /** Allow plain-http token endpoints (development only). */
  allowInsecureRequests?: boolean
  fetch?: typeof fetch
  /** The clock the token cache uses (tests). */
  now?: () => number
}

export interface VaultClient {
  /** Identity core, after a sign-in: store the provider's token response. */
  pushTokenSet(connection: ConnectionRef, body: PushTokenSetBody): Promise<PushTokenSetResult>
  /** Account API: the connection's access token, refreshed by the vault if it was about to expire. */
  readAccessToken(connection: ConnectionRef, options?: { requiredScopes?: readonly string[] }): Promise<AccessToken>
  /** Admin console: a user's connections, metadata only. */
  listConnections(user: UserRef): Promise<Connection[]>
  /** Unlink: `revocations_scheduled` says how many refresh tokens go to the provider for revocation. */
  deleteTokenSet(connection: ConnectionRef): Promise<DeletedTokenSets>
  deleteUserTokenSets(user: UserRef): Promise<DeletedTokenSets>
  deleteConnectorTokenSets(connector: ConnectorRef): Promise<DeletedTokenSets>
  putRefreshSettings(connector: ConnectorRef, body: RefreshSettingsBody): Promise<RefreshSettings>
  getRefreshSettings(connector: ConnectorRef): Promise<RefreshSettings>
  /** The connector was deleted: its token sets and refresh settings go together. */
  deleteConnector(connector: ConnectorRef): Promise<Success<'deleteConnector'>>
  listAuditEvents(tenantId: string, query?: AuditQuery): Promise<AuditPage>
  /** A user's named secret (an API key, a password): stored, replaced; the answer carries no value. */
  putUserSecret(secret: UserSecretRef, body: PutUserSecretBody): Promise<UserSecretMetadata>
  readUserSecret(secret: UserSecretRef): Promise<UserSecret>
  /** Metadata only, never a value. */
  listUserSecrets(user: UserRef): Promise<UserSecretMetadata[]>
  deleteUserSecret(secret: UserSecretRef): Promise<{ deleted: number }>
  /** Account API: a TOTP seed for the user's app (returned this once); bind it with a code from the app. */
  generateTotpSecret(user: UserRef, label: { issuer: string; accountName: string }): Promise<GeneratedTotp>
  bindTotp(user: UserRef, factorId: string, code: string): Promise<MfaFactor>
  /** Sign-in: a code the user typed. Refused with mfa.code_invalid, or mfa.locked after too many in a row. */
  verifyTotp(user: UserRef, code: string): Promise<Success<'verifyTotp'>>
  generateBackupCodes(user: UserRef): Promise<GeneratedBackupCodes>
  bindBackupCodes(user: UserRef, factorId: string): Promise<MfaFactor>
  listBackupCodes(user: UserRef): Promise<BackupCodeList>
  consumeBackupCode(user: UserRef, code: string): Promise<ConsumedBackupCode>
  /** Metadata only. */
  listMfaFactors(user: UserRef): Promise<MfaFactor[]>
  deleteMfaFactor(user: UserRef, type: MfaFactorType): Promise<{ deleted: number }>
  /** The user was deleted: everything the vault holds for them goes, in one transaction. */
  deleteUser(user: UserRef): Promise<Success<'deleteUser'>>
  /** A webhook endpoint; its signing secret is in this answer and never again. */
  createWebhook(tenantId: string, body: CreateWebhookBody): Promise<CreatedWebhook>
  listWebhooks(tenantId: string): Promise<Webhook[]>
  getWebhook(webhook: WebhookRef): Promise<Webhook>
  deleteWebhook(webhook: WebhookRef): Promise<{ deleted: number }>
  /** A new signing secret; the old one keeps signing beside it for `overlapSeconds` (default one day). */
  rotateWebhookSecret(webhook: WebhookRef, options?: { overlapSeconds?: number }): Promise<RotatedWebhookSecret>
  listWebhookDeliveries(webhook: WebhookRef, query?: WebhookDeliveriesQuery): Promise<WebhookDelivery[]>
  /** Queues a webhook.test event for this endpoint alone; its id. */
  testWebhook(webhook: WebhookRef): Promise<string>
}

export function createVaultClient(options: VaultClientOptions): VaultClient {
  const baseFetch = options.fetch ?? globalThis.fetch
  const tokens = createTokenSource({
    credentials: options.credentials,
    renewBeforeMs: (options.renewBeforeSeconds ?? 60) * 1000,
    allowInsecureRequests: options.allowInsecureRequests ?? false,
    fetch: baseFetch,
    now: options.now ?? Date.now,
  })

  /** Sends with the cached token; on 401, once more with a fresh one (the token was revoked or the keys rotated). */
  async function authenticatedFetch(request: Request): Promise<Response> {
    const retry = request.clone()
    const send = async (attempt: Request) => {
      const token = await tokens.get()
      attempt.headers.set('authorization', `Bearer ${token}`)
      try {
        return { token, response: await baseFetch(attempt) }
      } catch (error) {
        throw new VaultClientError('client.vault_unreachable', 'The vault could not be reached', { cause: error })
      }
    }
    const first = await send(request)
    if (first.response.status !== 401) return first.response
    tokens.invalidate(first.token)
    return (await send(retry)).response
  }

  const http = createClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ''), fetch: authenticatedFetch })

  async function call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    const { data, error, response } = await request
    if (response.ok && data !== undefined) return data
    throw toClientError(response, error)
  }

  const connectionPath = (c: ConnectionRef) =>
    pathParams({ tenantId: c.tenantId, userId: c.userId, connectorType: c.connectorType, connectorId: c.connectorId })
  const connectorPath = (c: ConnectorRef) =>
    pathParams({ tenantId: c.tenantId, connectorType: c.connectorType, connectorId: c.connectorId })
  const userPath = (u: UserRef) => pathParams({ tenantId: u.tenantId, userId: u.userId })
  const connection = '/v1/tenants/{tenantId}/users/{userId}/connections/{connectorType}/{connectorId}' as const
  const connector = '/v1/tenants/{tenantId}/connectors/{connectorType}/{connectorId}' as const
  const user = '/v1/tenants/{tenantId}/users/{userId}' as const
  const secretPath = (s: UserSecretRef) => pathParams({ tenantId: s.tenantId, userId: s.userId, name: s.name })
  const webhooks = '/v1/tenants/{tenantId}/webhooks' as const
  const webhook = '/v1/tenants/{tenantId}/webhooks/{webhookId}' as const
  const webhookPath = (w: WebhookRef) => pathParams({ tenantId: w.tenantId, webhookId: w.webhookId })

  // Every method is async, so that a refused argument is a rejected promise like every other failure.
  return {
    pushTokenSet: async (c, body) => call(http.PUT(`${connection}/token-set`, { params: { path: connectionPath(c) }, body })),
    readAccessToken: async (c, { requiredScopes } = {}) =>
      call(
        http.GET(`${connection}/access-token`, {
          params: { path: connectionPath(c), query: requiredScopes === undefined ? {} : { required_scopes: requiredScopes.join(' ') } },
        }),
      ),
    listConnections: async (u) =>
      (await call(http.GET('/v1/tenants/{tenantId}/users/{userId}/connections', { params: { path: userPath(u) } }))).connections,
    deleteTokenSet: async (c) => call(http.DELETE(connection, { params: { path: connectionPath(c) } })),
    deleteUserTokenSets: async (u) =>
      call(http.DELETE('/v1/tenants/{tenantId}/users/{userId}/connections', { params: { path: userPath(u) } })),
    deleteConnectorTokenSets: async (c) => call(http.DELETE(`${connector}/token-sets`, { params: { path: connectorPath(c) } })),
    putRefreshSettings: async (c, body) => call(http.PUT(`${connector}/refresh-settings`, { params: { path: connectorPath(c) }, body })),
    getRefreshSettings: async (c) => call(http.GET(`${connector}/refresh-settings`, { params: { path: connectorPath(c) } })),
    deleteConnector: async (c) => call(http.DELETE(connector, { params: { path: connectorPath(c) } })),
    listAuditEvents: async (tenantId, query = {}) =>
      call(http.GET('/v1/tenants/{tenantId}/audit-events', { params: { path: pathParams({ tenantId }), query } })),
    putUserSecret: async (s, body) => call(http.PUT(`${user}/secrets/{name}`, { params: { path: secretPath(s) }, body })),
    readUserSecret: async (s) => call(http.GET(`${user}/secrets/{name}`, { params: { path: secretPath(s) } })),
    listUserSecrets: async (u) => (await call(http.GET(`${user}/secrets`, { params: { path: userPath(u) } }))).secrets,
    deleteUserSecret: async (s) => call(http.DELETE(`${user}/secrets/{name}`, { params: { path: secretPath(s) } })),
    generateTotpSecret: async (u, { issuer, accountName }) =>
      call(http.POST(`${user}/mfa/totp/generate`, { params: { path: userPath(u) }, body: { issuer, account_name: accountName } })),
    bindTotp: async (u, factorId, code) =>
      call(http.POST(`${user}/mfa/totp/bind`, { params: { path: userPath(u) }, body: { factor_id: factorId, code } })),
    verifyTotp: async (u, code) => call(http.POST(`${user}/mfa/totp/verify`, { params: { path: userPath(u) }, body: { code } })),
    generateBackupCodes: async (u) => call(http.POST(`${user}/mfa/backup-codes/generate`, { params: { path: userPath(u) } })),
    bindBackupCodes: async (u, factorId) =>
      call(http.POST(`${user}/mfa/backup-codes/bind`, { params: { path: userPath(u) }, body: { factor_id: factorId } })),
    listBackupCodes: async (u) => call(http.GET(`${user}/mfa/backup-codes`, { params: { path: userPath(u) } })),
    consumeBackupCode: async (u, code) =>
      call(http.POST(`${user}/mfa/backup-codes/consume`, { params: { path: userPath(u) }, body: { code } })),
    listMfaFactors: async (u) => (await call(http.GET(`${user}/mfa`, { params: { path: userPath(u) } }))).factors,
    deleteMfaFactor: async (u, type) =>
      call(http.DELETE(`${user}/mfa/{type}`, { params: { path: { ...userPath(u), type: pathParams({ type }).type } } })),
    deleteUser: async (u) => call(http.DELETE(user, { params: { path: userPath(u) } })),
    createWebhook: async (tenantId, body) => call(http.POST(webhooks, { params: { path: pathParams({ tenantId }) }, body })),
    listWebhooks: async (tenantId) => (await call(http.GET(webhooks, { params: { path: pathParams({ tenantId }) } }))).webhooks,
    getWebhook: async (w) => call(http.GET(webhook, { params: { path: webhookPath(w) } })),
    deleteWebhook: async (w) => call(http.DELETE(webhook, { params: { path: webhookPath(w) } })),
    rotateWebhookSecret: async (w, { overlapSeconds } = {}) =>
      call(
        http.POST(`${webhook}/rotate-secret`, {
          params: { path: webhookPath(w) },
          body: overlapSeconds === undefined ? {} : { overlap_seconds: overlapSeconds },
        }),
      ),
    listWebhookDeliveries: async (w, query = {}) =>
      (await call(http.GET(`${webhook}/deliveries`, { params: { path: webhookPath(w), query } }))).deliveries,
    testWebhook: async (w) => (await call(http.POST(`${webhook}/test`, { params: { path: webhookPath(w) } }))).event_id,
  }
}

/**
 * Path parameters that URL rules would resolve away ("", ".", "..") change which route a call reaches:
 * `deleteTokenSet` with connectorId ".." would become the user's delete-everything route. Such a call is
 * refused before anything is sent. The message names the parameter, never its value.
 */
function pathParams<P extends Record<string, string>>(params: P): P {
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'string' || value === '' || value === '.' || value === '..') {
      throw new VaultClientError('client.invalid_argument', `${name} must be a non-empty id other than "." and ".."`)
    }
  }
  return params
}

function toClientError(response: Response, body: unknown): VaultClientError {
  const retryAfter = Number(response.headers.get('retry-after'))
  const details = {
    status: response.status,
    requestId: response.headers.get('x-request-id') ?? undefined,
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
  }
  if (isVaultErrorBody(body)) return new VaultClientError(body.code, body.detail, { ...details, issues: body.issues ?? [] })
  return new VaultClientError('client.unexpected_response', `The vault answered ${response.status} without an error body`, details)
}

/** The vault's problem details (RFC 9457) with its code; a gateway's or another server's body is not one. */
function isVaultErrorBody(body: unknown): body is { code: VaultErrorCode; detail: string; issues?: VaultErrorIssue[] } {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { code?: unknown }).code === 'string' &&
    typeof (body as { detail?: unknown }).detail === 'string'
  )
}
