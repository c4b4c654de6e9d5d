import type { AddressInfo } from 'node:net'
import { createRemoteJWKSet } from 'jose'
import t from 'tap'
import { createAuthenticator } from '../../src/auth/authenticator.ts'
import { ALL_SCOPES } from '../../src/auth/scopes.ts'
import { createVaultClient, VaultClientError, type VaultClientOptions } from '../../src/client/index.ts'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { startOpenIdProvider } from '../support/oidc-provider.ts'
import { base32Decode, totp } from '../support/reference-totp.ts'
import { startWebhookReceiver } from '../support/webhook-receiver.ts'

/**
 * The typed client against a running vault over real HTTP, authenticating with client credentials at a
 * real OpenID Provider that issues JWT access tokens for the vault.
 */
const VAULT = 'urn:secret-vault'
const TOKEN_TTL_SECONDS = 2
const ACCOUNT_CENTER = 'secrets:write secrets:read secrets:list mfa:enroll mfa:verify mfa:read users:delete'
const op = await startOpenIdProvider(t, {
  accessTokenTtlSeconds: TOKEN_TTL_SECONDS,
  vault: { resource: VAULT, scopes: ALL_SCOPES },
  machineClients: {
    'identity-core': { scope: 'token_sets:write connectors:write' },
    'account-api': { scope: 'token_sets:read' },
    'admin-console': { scope: 'connections:read audit:read' },
    'account-center': { scope: ACCOUNT_CENTER },
    'webhook-admin': { scope: 'webhooks:manage' },
  },
})
const grants: string[] = []
op.provider.on('grant.success', (ctx) => {
  if (ctx.oidc.params?.grant_type === 'client_credentials') grants.push(String(ctx.oidc.client?.clientId))
})

const database = await openTestDatabase(t)
const { app, clock } = await buildTestApp(t, database, {
  authenticator: createAuthenticator({
    keys: createRemoteJWKSet(new URL(`${op.issuer}/jwks`)),
    issuer: op.issuer,
    audience: VAULT,
    algorithms: ['RS256'],
    clockToleranceSeconds: 0,
    maxTokenLifetimeSeconds: 86_400,
    requireAccessTokenType: false,
    tenantClaim: 'tenant_ids',
  }),
})
await app.server.listen({ port: 0, host: '127.0.0.1' })
const baseUrl = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`

const clientFor = (id: string, scope: string, extra: Partial<VaultClientOptions> = {}) =>
  createVaultClient({
    baseUrl,
    credentials: { issuer: op.issuer, clientId: id, clientSecret: op.clients[id]!.secret, scope, resource: VAULT },
    allowInsecureRequests: true,
    ...extra,
  })

const grantsOf = (id: string) => grants.filter((client) => client === id).length

t.test('the two main flows and the admin view: push after sign-in, read for the account API, list', async (t) => {
  const identityCore = clientFor('identity-core', 'token_sets:write connectors:write')
  const accountApi = clientFor('account-api', 'token_sets:read')
  const adminConsole = clientFor('admin-console', 'connections:read audit:read')
  const tenantId = uniqueTenant('client')
  const connection = { tenantId, userId: 'alice', connectorType: 'social', connectorId: 'github' } as const

  const pushed = await identityCore.pushTokenSet(connection, {
    target: 'github',
    token_response: { access_token: 'gho_client', token_type: 'bearer', scope: 'repo', expires_in: 28800 },
  })
  t.equal(pushed.result, 'created')
  t.equal(pushed.connection.state, 'active')

  const token = await accountApi.readAccessToken(connection, { requiredScopes: ['repo'] })
  t.same(token, { access_token: 'gho_client', token_type: 'Bearer', scope: 'repo', expires_in: 28800 })

  const connections = await adminConsole.listConnections({ tenantId, userId: 'alice' })
  t.match(connections, [{ connector_id: 'github', has_refresh_token: false }])
  t.notOk(JSON.stringify(connections).includes('gho_client'), 'metadata only')
  const audit = await adminConsole.listAuditEvents(tenantId, { action: 'token_set.read' })
  t.match(audit.events, [{ client_id: 'account-api', outcome: 'success' }])
})

t.test('concurrent calls share one token fetch; the token is reused until shortly before it expires', async (t) => {
  let clock = Date.now()
  const client = clientFor('admin-console', 'connections:read', { now: () => clock, renewBeforeSeconds: 1 })
  const before = grantsOf('admin-console')
  const tenantId = uniqueTenant('client')
  const lists = await Promise.all(Array.from({ length: 20 }, () => client.listConnections({ tenantId, userId: 'nobody' })))
  t.same(lists, Array(20).fill([]))
  t.equal(grantsOf('admin-console') - before, 1, '20 concurrent calls, one token fetch')

  clock += 500
  await client.listConnections({ tenantId, userId: 'nobody' })
  t.equal(grantsOf('admin-console') - before, 1, 'still fresh: no fetch')

  // Renewal is due one second before the two-second lifetime ends; calls waiting for it share one fetch.
  clock += 600
  await Promise.all(Array.from({ length: 5 }, () => client.listConnections({ tenantId, userId: 'nobody' })))
  t.equal(grantsOf('admin-console') - before, 2, 'renewed before expiry, once')
})

t.test('a 401 is retried once with a fresh token', async (t) => {
  // The client's clock stands still, so it believes its token is fresh after the vault has seen it expire.
  const frozen = Date.now()
  const client = clientFor('account-api', 'token_sets:read', { now: () => frozen })
  const tenantId = uniqueTenant('client')
  const connection = { tenantId, userId: 'alice', connectorType: 'social', connectorId: 'github' } as const
  const before = grantsOf('account-api')
  await t.rejects(client.readAccessToken(connection), { code: 'token_set.not_found', status: 404 })
  await new Promise((resolve) => setTimeout(resolve, (TOKEN_TTL_SECONDS + 0.5) * 1000))
  await t.rejects(client.readAccessToken(connection), { code: 'token_set.not_found' }, 'answered by the vault, not a 401')
  t.equal(grantsOf('account-api') - before, 2, 'the refused token was replaced once')
})

t.test('a token the vault keeps refusing is retried once, then the typed error is thrown', async (t) => {
  // A vault that expects another audience refuses every token this platform issues.
  const { app: elsewhere } = await buildTestApp(t, database, {
    authenticator: createAuthenticator({
      keys: createRemoteJWKSet(new URL(`${op.issuer}/jwks`)),
      issuer: op.issuer,
      audience: 'urn:another-vault',
      algorithms: ['RS256'],
      clockToleranceSeconds: 0,
      maxTokenLifetimeSeconds: 86_400,
      requireAccessTokenType: false,
      tenantClaim: 'tenant_ids',
    }),
  })
  await elsewhere.server.listen({ port: 0, host: '127.0.0.1' })
  const client = clientFor('account-api', 'token_sets:read', {
    baseUrl: `http://127.0.0.1:${(elsewhere.server.server.address() as AddressInfo).port}`,
  })
  const before = grantsOf('account-api')
  const error = await client
    .readAccessToken({ tenantId: 'x', userId: 'y', connectorType: 'social', connectorId: 'z' })
    .catch((e: unknown) => e)
  t.ok(error instanceof VaultClientError)
  t.match(error, { code: 'auth.invalid_token', status: 401 })
  t.equal(grantsOf('account-api') - before, 2, 'one retry, not a loop')
})

t.test('errors are typed with the vault codes, request ids and issues', async (t) => {
  const identityCore = clientFor('identity-core', 'token_sets:write connectors:write')
  const tenantId = uniqueTenant('client')
  const invalid = await identityCore
    .pushTokenSet(
      { tenantId, userId: 'alice', connectorType: 'social', connectorId: 'github' },
      { token_response: { access_token: 'gho_x' } },
    )
    .catch((e: VaultClientError) => e)
  t.match(invalid, { code: 'request.invalid', status: 400, issues: [{ path: 'body.target' }] })
  t.match((invalid as VaultClientError).requestId, /\S/)
  t.notMatch((invalid as VaultClientError).message, 'gho_x')

  const narrow = clientFor('account-api', 'token_sets:read')
  await t.rejects(narrow.listConnections({ tenantId, userId: 'alice' }), { code: 'auth.insufficient_scope', status: 403 })
  await t.rejects(identityCore.getRefreshSettings({ tenantId, connectorType: 'social', connectorId: 'github' }), {
    code: 'connector.not_found',
    status: 404,
  })

  const settings = await identityCore.putRefreshSettings(
    { tenantId, connectorType: 'social', connectorId: 'github' },
    { token_endpoint: 'https://github.com/login/oauth/access_token', client_id: 'Iv1.a', client_secret: 'cs_x' },
  )
  t.match(settings, { has_client_secret: true, client_auth_method: 'client_secret_basic' })
  t.same(await identityCore.deleteConnector({ tenantId, connectorType: 'social', connectorId: 'github' }), {
    token_sets_deleted: 0,
    refresh_settings_deleted: true,
    revocations_scheduled: 0,
  })
})

t.test("a user's other secrets: named secrets, TOTP and backup codes, then the user's deletion", async (t) => {
  const center = clientFor('account-center', ACCOUNT_CENTER)
  const user = { tenantId: uniqueTenant('client'), userId: 'alice' }
  const metadata = await center.putUserSecret({ ...user, name: 'openai' }, { kind: 'api_key', value: 'sk-client-value' })
  t.match(metadata, { name: 'openai', kind: 'api_key', key_version: 1 })
  t.notOk('value' in metadata, 'a put answers without the value')
  t.equal((await center.readUserSecret({ ...user, name: 'openai' })).value, 'sk-client-value')
  t.same(
    (await center.listUserSecrets(user)).map((secret) => secret.name),
    ['openai'],
  )

  // Codes are computed for the vault's clock (the test app's, set here), whatever time the earlier tests took.
  clock.now = new Date()
  const totpEnrolment = await center.generateTotpSecret(user, { issuer: 'Acme', accountName: 'alice@example.com' })
  const seed = base32Decode(totpEnrolment.secret)
  t.match(await center.bindTotp(user, totpEnrolment.factor.id, totp(seed, clock.now)), { type: 'totp', state: 'bound' })
  t.match(await center.verifyTotp(user, totp(seed, clock.now, 1)), { verified: true, factor: { type: 'totp' } })
  const wrong = totp(seed, clock.now, 5)
  await t.rejects(center.verifyTotp(user, wrong), { code: 'mfa.code_invalid', status: 422 })

  const backup = await center.generateBackupCodes(user)
  await center.bindBackupCodes(user, backup.factor.id)
  t.match(await center.consumeBackupCode(user, backup.codes[0]!), { remaining: 9 })
  t.same(
    (await center.listBackupCodes(user)).codes.map((entry) => entry.used_at !== null),
    backup.codes.map((_, index) => index === 0),
  )
  t.same((await center.listMfaFactors(user)).map((factor) => factor.type).sort(), ['backup_codes', 'totp'])

  for (let attempt = 0; attempt < 5; attempt++) await center.verifyTotp(user, wrong).catch(() => undefined)
  const locked = await center.verifyTotp(user, totp(seed, clock.now)).catch((e: VaultClientError) => e)
  t.match(locked, { code: 'mfa.locked', status: 429 }, 'locked after five in a row, the right code too')
  t.ok((locked as VaultClientError).retryAfterSeconds! > 0, 'with when to try again')

  t.same(await center.deleteMfaFactor(user, 'backup_codes'), { deleted: 1 })
  t.match(await center.deleteUser(user), { user_secrets_deleted: 1, mfa_factors_deleted: 1 })
  await t.rejects(center.readUserSecret({ ...user, name: 'openai' }), { code: 'user_secret.not_found', status: 404 })
})

t.test('webhooks: register, test, see the delivery, rotate, delete', async (t) => {
  const admin = clientFor('webhook-admin', 'webhooks:manage')
  const tenantId = uniqueTenant('client-hooks')
  const receiver = await startWebhookReceiver(t)
  const created = await admin.createWebhook(tenantId, { url: receiver.url, event_types: ['connection.deleted'] })
  t.match(created.secret, /^whsec_/)
  t.same(
    await admin.listWebhooks(tenantId),
    [{ ...created, secret: undefined }].map(({ secret, ...rest }) => rest),
  )
  const ref = { tenantId, webhookId: created.id }
  const eventId = await admin.testWebhook(ref)
  await app.server.webhookDelivery.deliverDue()
  t.match(await admin.listWebhookDeliveries(ref), [{ event_id: eventId, event_type: 'webhook.test', state: 'delivered' }])
  t.same(await admin.listWebhookDeliveries(ref, { state: 'pending' }), [])
  const rotated = await admin.rotateWebhookSecret(ref, { overlapSeconds: 60 })
  t.not(rotated.secret, created.secret)
  t.equal(rotated.previous_secret_expires_at, new Date(clock.now.getTime() + 60_000).toISOString())
  t.same(await admin.deleteWebhook(ref), { deleted: 1 })
  const missing = await admin.getWebhook(ref).catch((error: unknown) => error)
  t.ok(missing instanceof VaultClientError)
  t.equal((missing as VaultClientError).code, 'webhook.not_found')
})

t.test('a path parameter that would change the route is refused before anything is sent', async (t) => {
  const sent: string[] = []
  const counting = clientFor('identity-core', 'token_sets:write connectors:write', {
    fetch: (input, init) => {
      sent.push(input instanceof Request ? input.url : String(input))
      return fetch(input, init)
    },
  })
  const tenantId = uniqueTenant('client')
  // A real connection the guard protects: deleteTokenSet with connectorId ".." would have been the user's delete-all.
  await counting.pushTokenSet(
    { tenantId, userId: 'victim', connectorType: 'social', connectorId: 'github' },
    { target: 'github', token_response: { access_token: 'gho_kept' } },
  )
  sent.length = 0
  const connection = { tenantId, userId: 'victim', connectorType: 'social', connectorId: 'github' } as const
  for (const bad of ['', '.', '..']) {
    for (const [name, call] of [
      ['tenantId', () => counting.deleteTokenSet({ ...connection, tenantId: bad })],
      ['userId', () => counting.deleteTokenSet({ ...connection, userId: bad })],
      ['connectorId', () => counting.deleteTokenSet({ ...connection, connectorId: bad })],
      ['userId', () => counting.deleteUserTokenSets({ tenantId, userId: bad })],
      ['connectorId', () => counting.deleteConnector({ tenantId, connectorType: 'social', connectorId: bad })],
      ['tenantId', () => counting.listAuditEvents(bad)],
    ] as const) {
      const error = await call().catch((e: VaultClientError) => e)
      t.match(
        error,
        { code: 'client.invalid_argument', status: 0, message: new RegExp(`^${name} must be`) },
        `${name} = ${JSON.stringify(bad)}`,
      )
    }
  }
  t.same(sent, [], 'nothing was sent')
  t.equal((await counting.readAccessToken(connection).catch(() => undefined)) === undefined, true, 'the identity core may not read')
  const reader = clientFor('account-api', 'token_sets:read')
  t.equal((await reader.readAccessToken(connection)).access_token, 'gho_kept', 'the connection is still there')
})

t.test('bad client credentials and an unreachable vault or platform are client errors', async (t) => {
  const wrongSecret = createVaultClient({
    baseUrl,
    credentials: { issuer: op.issuer, clientId: 'account-api', clientSecret: 'wrong-secret', scope: 'token_sets:read', resource: VAULT },
    allowInsecureRequests: true,
  })
  const rejected = await wrongSecret.listConnections({ tenantId: 'a', userId: 'b' }).catch((e: VaultClientError) => e)
  t.match(rejected, { code: 'client.credentials_rejected', retryable: false })
  t.notMatch((rejected as Error).message, 'wrong-secret')

  const noPlatform = createVaultClient({
    baseUrl,
    credentials: { tokenEndpoint: 'http://127.0.0.1:1/token', clientId: 'a', clientSecret: 'b' },
    allowInsecureRequests: true,
  })
  await t.rejects(noPlatform.listConnections({ tenantId: 'a', userId: 'b' }), {
    code: 'client.token_endpoint_unavailable',
    retryable: true,
  })

  const noVault = clientFor('account-api', 'token_sets:read', { baseUrl: 'http://127.0.0.1:1' })
  await t.rejects(noVault.readAccessToken({ tenantId: 'a', userId: 'b', connectorType: 'social', connectorId: 'c' }), {
    code: 'client.vault_unreachable',
    status: 0,
    retryable: true,
  })

  // A gateway in front of a vault that is down answers its own page: retryable; a vault's own 502 is not.
  for (const [status, retryable] of [
    [502, true],
    [504, true],
    [500, false],
  ] as const) {
    const behindGateway = clientFor('account-api', 'token_sets:read', {
      fetch: async (input, init) =>
        new URL(input instanceof Request ? input.url : String(input)).origin === baseUrl
          ? new Response('<html>Bad Gateway</html>', { status, headers: { 'content-type': 'text/html' } })
          : fetch(input, init),
    })
    await t.rejects(behindGateway.readAccessToken({ tenantId: 'a', userId: 'b', connectorType: 'social', connectorId: 'c' }), {
      code: 'client.unexpected_response',
      status,
      retryable,
    })
  }
})
