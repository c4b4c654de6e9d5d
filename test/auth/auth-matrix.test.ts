import { createPublicKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { base64url, SignJWT } from 'jose'
import { sql } from 'kysely'
import t from 'tap'
import { parse } from 'yaml'
import { ALL_SCOPES } from '../../src/auth/scopes.ts'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, githubPush } from '../support/http.ts'

/**
 * Every route × every way a caller can be wrong → the exact status and code, a WWW-Authenticate challenge
 * on 401, the reason logged and counted for the operator, and what the attempt leaves in the audit trail: a
 * caller refused for its scope or tenant is recorded in the tenant's trail; one with no valid token is not
 * (anyone could otherwise fill any tenant's trail).
 */
const database = await openTestDatabase(t)
const ctx = await buildTestApp(t, database)
const { app, issuer } = ctx
const tenant = uniqueTenant()
await app.inject({ method: 'PUT', url: `${connectionPath({ tenant })}/token-set`, payload: githubPush('gho_matrix') })
const userPath = `/v1/tenants/${tenant}/users/alice`

const NO_WEBHOOK = '00000000-0000-4000-8000-000000000000'
const routes = [
  {
    method: 'PUT',
    url: `${connectionPath({ tenant })}/token-set`,
    scope: 'token_sets:write',
    action: 'token_set.push',
    payload: githubPush('gho_x'),
  },
  { method: 'GET', url: `${connectionPath({ tenant })}/access-token`, scope: 'token_sets:read', action: 'token_set.read' },
  { method: 'GET', url: `/v1/tenants/${tenant}/users/alice/connections`, scope: 'connections:read', action: 'connection.list' },
  { method: 'DELETE', url: connectionPath({ tenant, connector: 'other' }), scope: 'token_sets:write', action: 'token_set.delete' },
  { method: 'DELETE', url: `/v1/tenants/${tenant}/users/nobody/connections`, scope: 'token_sets:write', action: 'user.token_sets.delete' },
  {
    method: 'DELETE',
    url: `/v1/tenants/${tenant}/connectors/social/nothing/token-sets`,
    scope: 'token_sets:write',
    action: 'connector.token_sets.delete',
  },
  { method: 'GET', url: `/v1/tenants/${tenant}/audit-events`, scope: 'audit:read', action: 'audit.list' },
  {
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
    scope: 'connectors:write',
    action: 'connector.refresh_settings.put',
    payload: { token_endpoint: 'https://github.com/login/oauth/access_token', client_id: 'a', client_secret: 'cs_x' },
  },
  {
    method: 'GET',
    url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
    scope: 'connectors:write',
    action: 'connector.refresh_settings.read',
  },
  { method: 'DELETE', url: `/v1/tenants/${tenant}/connectors/social/nothing`, scope: 'connectors:write', action: 'connector.delete' },
  {
    method: 'PUT',
    url: `${userPath}/secrets/api`,
    scope: 'secrets:write',
    action: 'user_secret.put',
    payload: { kind: 'api_key', value: 'sk_x' },
  },
  { method: 'GET', url: `${userPath}/secrets/api`, scope: 'secrets:read', action: 'user_secret.read' },
  { method: 'GET', url: `${userPath}/secrets`, scope: 'secrets:list', action: 'user_secret.list' },
  { method: 'DELETE', url: `${userPath}/secrets/api`, scope: 'secrets:write', action: 'user_secret.delete' },
  {
    method: 'POST',
    url: `${userPath}/mfa/totp/generate`,
    scope: 'mfa:enroll',
    action: 'mfa.totp.generate',
    payload: { issuer: 'Acme', account_name: 'alice@example.com' },
  },
  {
    method: 'POST',
    url: `${userPath}/mfa/totp/bind`,
    scope: 'mfa:enroll',
    action: 'mfa.totp.bind',
    payload: { factor_id: '6a1f3a4e-0b7c-4d2e-9f10-2b3c4d5e6f70', code: '123456' },
  },
  { method: 'POST', url: `${userPath}/mfa/totp/verify`, scope: 'mfa:verify', action: 'mfa.totp.verify', payload: { code: '123456' } },
  { method: 'POST', url: `${userPath}/mfa/backup-codes/generate`, scope: 'mfa:enroll', action: 'mfa.backup_codes.generate' },
  {
    method: 'POST',
    url: `${userPath}/mfa/backup-codes/bind`,
    scope: 'mfa:enroll',
    action: 'mfa.backup_codes.bind',
    payload: { factor_id: '6a1f3a4e-0b7c-4d2e-9f10-2b3c4d5e6f70' },
  },
  { method: 'GET', url: `${userPath}/mfa/backup-codes`, scope: 'mfa:read', action: 'mfa.backup_codes.list' },
  {
    method: 'POST',
    url: `${userPath}/mfa/backup-codes/consume`,
    scope: 'mfa:verify',
    action: 'mfa.backup_codes.consume',
    payload: { code: 'abcde-fghjk' },
  },
  { method: 'GET', url: `${userPath}/mfa`, scope: 'mfa:verify', action: 'mfa.factors.list' },
  { method: 'DELETE', url: `${userPath}/mfa/totp`, scope: 'mfa:enroll', action: 'mfa.factor.delete' },
  { method: 'DELETE', url: `/v1/tenants/${tenant}/users/nobody`, scope: 'users:delete', action: 'user.delete' },
  {
    method: 'POST',
    url: `/v1/tenants/${tenant}/webhooks`,
    scope: 'webhooks:manage',
    action: 'webhook.create',
    payload: { url: 'https://hooks.example.com/matrix' },
  },
  { method: 'GET', url: `/v1/tenants/${tenant}/webhooks`, scope: 'webhooks:manage', action: 'webhook.list' },
  { method: 'GET', url: `/v1/tenants/${tenant}/webhooks/${NO_WEBHOOK}`, scope: 'webhooks:manage', action: 'webhook.read' },
  { method: 'DELETE', url: `/v1/tenants/${tenant}/webhooks/${NO_WEBHOOK}`, scope: 'webhooks:manage', action: 'webhook.delete' },
  {
    method: 'POST',
    url: `/v1/tenants/${tenant}/webhooks/${NO_WEBHOOK}/rotate-secret`,
    scope: 'webhooks:manage',
    action: 'webhook.rotate_secret',
    payload: {},
  },
  {
    method: 'GET',
    url: `/v1/tenants/${tenant}/webhooks/${NO_WEBHOOK}/deliveries`,
    scope: 'webhooks:manage',
    action: 'webhook.deliveries.list',
  },
  { method: 'POST', url: `/v1/tenants/${tenant}/webhooks/${NO_WEBHOOK}/test`, scope: 'webhooks:manage', action: 'webhook.test' },
] as const

t.test('the matrix covers every operation of the contract that needs a bearer token', async (t) => {
  const document = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8'))
  const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
  const template = (path: string) => new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`)
  for (const operation of operations) {
    const [method, path] = operation.split(' ') as [string, string]
    t.ok(
      routes.some((route) => route.method === method && template(path).test(route.url)),
      `${operation} is in the matrix`,
    )
  }
})

function unsigned(payload: Record<string, unknown>): string {
  const encode = (value: object) => base64url.encode(JSON.stringify(value))
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(payload)}.`
}

const now = () => Math.floor(Date.now() / 1000)
const attempts: Array<{
  name: string
  token: (route: (typeof routes)[number]) => Promise<string | null>
  status: number
  code: string
  reason: string
}> = [
  { name: 'no token', token: async () => null, status: 401, code: 'auth.missing_token', reason: 'missing' },
  {
    name: 'not a bearer token',
    token: async () => 'Basic dXNlcjpwYXNz',
    status: 401,
    code: 'auth.invalid_token',
    reason: 'malformed_header',
  },
  { name: 'garbage', token: async () => 'Bearer not.a.jwt', status: 401, code: 'auth.invalid_token', reason: 'malformed_token' },
  {
    name: 'expired',
    token: async () => `Bearer ${await issuer.mint({}, { expiresIn: -60 })}`,
    status: 401,
    code: 'auth.invalid_token',
    reason: 'expired',
  },
  {
    name: 'not yet valid',
    token: async () => `Bearer ${await issuer.mint({}, { notBefore: 600 })}`,
    status: 401,
    code: 'auth.invalid_token',
    reason: 'not_yet_valid',
  },
  {
    name: 'issued an hour ahead',
    token: async () => `Bearer ${await issuer.mint({}, { issuedAt: 3600, expiresIn: 3900 })}`,
    status: 401,
    code: 'auth.invalid_token',
    reason: 'issued_in_future',
  },
  {
    name: 'issued a year ahead',
    token: async () => `Bearer ${await issuer.mint({}, { issuedAt: 31_536_000, expiresIn: 31_536_300 })}`,
    status: 401,
    code: 'auth.invalid_token',
    reason: 'issued_in_future',
  },
  {
    name: 'valid for 1,000 years',
    token: async () => `Bearer ${await issuer.mint({}, { expiresIn: 1000 * 31_536_000 })}`,
    status: 401,
    code: 'auth.invalid_token',
    reason: 'lifetime_too_long',
  },
  {
    name: 'an ID token',
    token: async () => `Bearer ${await issuer.mint({ nonce: 'n-0S6_WzA2Mj', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q' }, { typ: 'JWT' })}`,
    status: 401,
    code: 'auth.invalid_token',
    reason: 'id_token',
  },
  {
    name: 'wrong issuer',
    token: async () => `Bearer ${await issuer.mint({}, { issuer: 'https://evil.test' })}`,
    status: 401,
    code: 'auth.invalid_token',
    reason: 'wrong_issuer',
  },
  {
    name: 'wrong audience',
    token: async () => `Bearer ${await issuer.mint({}, { audience: 'another-api' })}`,
    status: 401,
    code: 'auth.invalid_token',
    reason: 'wrong_audience',
  },
  {
    name: 'alg none',
    token: async () =>
      `Bearer ${unsigned({ iss: issuer.issuer, aud: 'secret-vault', exp: now() + 300, scope: ALL_SCOPES.join(' '), client_id: 'x' })}`,
    status: 401,
    code: 'auth.invalid_token',
    reason: 'algorithm_not_allowed',
  },
  {
    name: 'HS256 signed with the public key',
    token: async () => {
      const publicPem = createPublicKey({ key: issuer.signingKey.publicJwk as any, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
      const jwt = await new SignJWT({ scope: ALL_SCOPES.join(' '), client_id: 'x' })
        .setProtectedHeader({ alg: 'HS256', kid: issuer.signingKey.kid })
        .setIssuer(issuer.issuer)
        .setAudience('secret-vault')
        .setExpirationTime(now() + 300)
        .sign(new TextEncoder().encode(String(publicPem)))
      return `Bearer ${jwt}`
    },
    status: 401,
    code: 'auth.invalid_token',
    reason: 'algorithm_not_allowed',
  },
  {
    name: 'unknown kid',
    token: async () => `Bearer ${await issuer.mint({}, { kid: 'unknown-key' })}`,
    status: 401,
    code: 'auth.invalid_token',
    reason: 'unknown_key',
  },
  {
    name: 'missing scope',
    token: async (route) =>
      `Bearer ${await issuer.mint({ client_id: 'narrow', scope: ALL_SCOPES.filter((s) => s !== route.scope).join(' ') })}`,
    status: 403,
    code: 'auth.insufficient_scope',
    reason: 'insufficient_scope',
  },
  {
    name: 'other tenant',
    token: async () => `Bearer ${await issuer.mint({ client_id: 'other-tenant-core', tenant_ids: ['someone-else'] })}`,
    status: 403,
    code: 'auth.tenant_forbidden',
    reason: 'tenant_forbidden',
  },
]

for (const route of routes) {
  t.test(`${route.method} ${route.action}`, async (t) => {
    for (const attempt of attempts) {
      const authorization = await attempt.token(route)
      const res = await app.inject({
        method: route.method,
        url: route.url,
        headers: { authorization: authorization ?? '' },
        ...('payload' in route ? { payload: route.payload } : {}),
      })
      t.equal(res.statusCode, attempt.status, `${attempt.name}: status`)
      const body = res.json()
      t.equal(body.code, attempt.code, `${attempt.name}: code`)
      if (attempt.status === 401) t.match(res.headers['www-authenticate'], /^Bearer realm="secret-vault"/, `${attempt.name}: challenge`)
      if (attempt.code === 'auth.insufficient_scope') t.match(res.headers['www-authenticate'], `scope="${route.scope}"`)
      t.notMatch(res.body, 'gho_', `${attempt.name}: no token in the body`)
      const audit = await sql<{ action: string; outcome: string; error_code: string; client_id: string | null }>`
        SELECT action, outcome, error_code, client_id FROM audit_events WHERE request_id = ${body.request_id}`.execute(database.admin)
      if (attempt.status === 403) {
        t.same(
          audit.rows.map(({ action, outcome, error_code }) => ({ action, outcome, error_code })),
          [{ action: route.action, outcome: 'denied', error_code: attempt.code }],
          `${attempt.name}: one audit row`,
        )
        t.ok(audit.rows[0]?.client_id, `${attempt.name}: the caller is named`)
      } else {
        t.same(audit.rows, [], `${attempt.name}: no caller, nothing in any tenant's trail`)
      }
      const line = ctx.logs.find((entry) => entry.includes(body.request_id) && entry.includes('caller refused'))
      t.match(line, `"reason":"${attempt.reason}"`, `${attempt.name}: the operator learns why`)
      t.notMatch(line, /eyJ/, `${attempt.name}: never the token`)
    }
  })
}

t.test('refusals are counted by reason, with no client or tenant in any label', async (t) => {
  const metrics = (await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: '' } })).body
  for (const attempt of attempts)
    t.match(metrics, new RegExp(`secret_vault_caller_refusals_total\\{reason="${attempt.reason}"\\} [1-9]`), attempt.reason)
  t.notMatch(metrics, tenant)
  t.notMatch(metrics, 'narrow')
})

t.test('with VAULT_AUTH_REQUIRE_AT_JWT only RFC 9068 access tokens are accepted', async (t) => {
  const { createAuthenticator } = await import('../../src/auth/authenticator.ts')
  const { createLocalJWKSet } = await import('jose')
  const strict = createAuthenticator({
    keys: createLocalJWKSet(issuer.jwks),
    issuer: issuer.issuer,
    audience: issuer.audience,
    algorithms: ['ES256'],
    clockToleranceSeconds: 5,
    maxTokenLifetimeSeconds: 3600,
    requireAccessTokenType: true,
    tenantClaim: 'tenant_ids',
  })
  t.equal((await strict.authenticate(`Bearer ${await issuer.mint()}`)).clientId, 'identity-core', 'typ at+jwt')
  t.equal((await strict.authenticate(`Bearer ${await issuer.mint({}, { typ: 'application/at+jwt' })}`)).clientId, 'identity-core')
  for (const typ of ['JWT', null]) {
    t.match(
      await strict.authenticate(`Bearer ${await issuer.mint({}, { typ })}`).catch((e: unknown) => e),
      { code: 'auth.invalid_token', reason: 'wrong_type' },
      `typ ${typ}`,
    )
  }
  t.match(
    await strict.authenticate(`Bearer ${await issuer.mint({}, { expiresIn: 3700 })}`).catch((e: unknown) => e),
    { reason: 'lifetime_too_long' },
    'its own maximum lifetime',
  )
})

t.test('a refusal does not reveal whether a token set exists', async (t) => {
  const token = `Bearer ${await issuer.mint({ scope: 'connections:read' })}`
  const existing = await app.inject({ method: 'GET', url: `${connectionPath({ tenant })}/access-token`, headers: { authorization: token } })
  const missing = await app.inject({
    method: 'GET',
    url: `${connectionPath({ tenant, user: 'ghost' })}/access-token`,
    headers: { authorization: token },
  })
  t.equal(existing.statusCode, missing.statusCode)
  // Everything but the occurrence (request_id, and instance, which names it) is the same.
  const { request_id: _a, instance: _ia, ...a } = existing.json()
  const { request_id: _b, instance: _ib, ...b } = missing.json()
  t.same(a, b)
})

t.test('a token bound to its tenant works there, and scopes grant exactly their routes', async (t) => {
  const reader = `Bearer ${await issuer.mint({ client_id: 'account-api', scope: 'token_sets:read', tenant_ids: [tenant] })}`
  const read = await app.inject({ method: 'GET', url: `${connectionPath({ tenant })}/access-token`, headers: { authorization: reader } })
  t.equal(read.statusCode, 200)
  const push = await app.inject({
    method: 'PUT',
    url: `${connectionPath({ tenant })}/token-set`,
    headers: { authorization: reader },
    payload: githubPush('gho_no'),
  })
  t.equal(push.json().code, 'auth.insufficient_scope')
  const single = `Bearer ${await issuer.mint({ client_id: 'account-api', scope: 'token_sets:read', tenant_ids: tenant })}`
  t.equal(
    (await app.inject({ method: 'GET', url: `${connectionPath({ tenant })}/access-token`, headers: { authorization: single } })).statusCode,
    200,
    'a single tenant as a string',
  )
  const malformed = `Bearer ${await issuer.mint({ scope: 'token_sets:read', tenant_ids: { tenant } })}`
  t.equal(
    (await app.inject({ method: 'GET', url: `${connectionPath({ tenant })}/access-token`, headers: { authorization: malformed } })).json()
      .code,
    'auth.tenant_forbidden',
    'a malformed binding grants nothing',
  )
  const scp = `Bearer ${await issuer.mint({ scope: undefined, scp: ['token_sets:read'] })}`
  t.equal(
    (await app.inject({ method: 'GET', url: `${connectionPath({ tenant })}/access-token`, headers: { authorization: scp } })).statusCode,
    200,
    'scp array',
  )
})

t.test('an unauthenticated request is refused before its body is parsed', async (t) => {
  const res = await app.inject({
    method: 'PUT',
    url: `${connectionPath({ tenant })}/token-set`,
    headers: { authorization: '', 'content-type': 'application/json' },
    payload: '{not json',
  })
  t.equal(res.json().code, 'auth.missing_token')
})

t.test('health and readiness stay public', async (t) => {
  t.equal((await app.inject({ method: 'GET', url: '/healthz', headers: { authorization: '' } })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/readyz', headers: { authorization: '' } })).statusCode, 200)
})
