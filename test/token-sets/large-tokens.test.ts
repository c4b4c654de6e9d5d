import { randomBytes } from 'node:crypto'
import t from 'tap'
import { loadConfig } from '../../src/config.ts'
import { reencryptTokenSets } from '../../src/key-lifecycle/reencrypt-token-sets.ts'
import { rotateDataKey } from '../../src/key-lifecycle/rotate-data-keys.ts'
import { verifyTokenSets } from '../../src/key-lifecycle/verify-token-sets.ts'
import { startFakeTokenEndpoint } from '../support/fake-token-endpoint.ts'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, githubPush, listConnections, readAccessToken } from '../support/http.ts'

/**
 * Enterprise ID tokens reach hundreds of KiB (groups claims). One of 600 KiB is pushed with the default
 * body limit, read around, refreshed into another, re-encrypted and verified.
 */
const ID_TOKEN_BYTES = 600 * 1024
const bigIdToken = () => `eyJhbGciOiJSUzI1NiJ9.${randomBytes((ID_TOKEN_BYTES * 3) / 4).toString('base64url')}.sig`
const database = await openTestDatabase(t)
const ctx = await buildTestApp(t, database, { bodyLimitBytes: loadConfig({}).bodyLimitBytes })
const { app } = ctx

t.test('a 600 KiB ID token round-trips through push, refresh, re-encryption and verify', async (t) => {
  const tenant = uniqueTenant('large')
  const provider = await startFakeTokenEndpoint(t)
  const refreshedIdToken = bigIdToken()
  provider.answer = () => ({ body: { access_token: 'okta_refreshed', token_type: 'Bearer', expires_in: 3600, id_token: refreshedIdToken } })
  const ref = { tenant, type: 'enterprise_sso', connector: 'okta' }
  await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/enterprise_sso/okta/refresh-settings`,
    payload: { token_endpoint: provider.tokenEndpoint, client_id: 'okta-client', client_secret: 'cs_okta' },
  })
  const pushed = await app.inject({
    method: 'PUT',
    url: `${connectionPath(ref)}/token-set`,
    payload: {
      issuer: 'https://acme.okta.com',
      issued_at: new Date(ctx.clock.now.getTime() - 3_600_000).toISOString(),
      authorization_server: provider.tokenEndpoint,
      token_response: {
        access_token: 'okta_first',
        token_type: 'Bearer',
        expires_in: 3630,
        refresh_token: 'okta_rt',
        id_token: bigIdToken(),
      },
    },
  })
  t.equal(pushed.statusCode, 201, pushed.body.slice(0, 200))
  t.equal(pushed.json().connection.has_id_token, true)
  t.ok(pushed.body.length < 10_000, 'the answer carries no token')

  const refreshed = await readAccessToken(app, ref)
  t.equal(refreshed.json().access_token, 'okta_refreshed', 'refreshed, with a large ID token in the answer')

  await rotateDataKey(database.operator, ctx.provider, tenant)
  const moved = await reencryptTokenSets(database.operator, ctx.keyRing, {
    tenantId: tenant,
    batchSize: 10,
    maxRate: undefined,
    parallelism: 1,
    signal: new AbortController().signal,
    onProgress: () => {},
  })
  t.match(moved, { remaining: 0, interrupted: false })
  const verified = await verifyTokenSets(database.operator, ctx.keyRing, { tenantId: tenant, sample: undefined })
  t.same(verified.failures, [])
  t.equal(verified.checked, 1)
  t.equal((await readAccessToken(app, ref)).json().access_token, 'okta_refreshed', 'still served after re-encryption')
})

t.test('the default body limit takes such a push, and still refuses a larger body with its code', async (t) => {
  const limit = loadConfig({}).bodyLimitBytes
  t.ok(limit >= ID_TOKEN_BYTES + 64 * 1024, `${limit} bytes`)
  const tenant = uniqueTenant('large')
  const tooLarge = await app.inject({
    method: 'PUT',
    url: `${connectionPath({ tenant })}/token-set`,
    payload: githubPush('gho_x', {}, { id_token: 'x'.repeat(limit) }),
  })
  t.equal(tooLarge.statusCode, 413)
  t.equal(tooLarge.json().code, 'request.body_too_large')
  // Loud: its own code, counted, and in the tenant's audit trail as a failed push; nothing stored.
  const audit = await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/audit-events?action=token_set.push` })
  t.match(audit.json().events, [{ action: 'token_set.push', outcome: 'failed', error_code: 'request.body_too_large', user_id: 'alice' }])
  t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /secret_vault_errors_total\{code="request.body_too_large"\} [1-9]/)
  t.equal((await listConnections(app, tenant)).json().connections.length, 0)
})
