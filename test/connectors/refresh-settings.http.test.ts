import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp, countRows, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { githubPush, push } from '../support/http.ts'

const database = await openTestDatabase(t)
const { app, issuer, logs } = await buildTestApp(t, database)
const SECRET = 'cs_do-not-leak'
const settingsUrl = (tenant: string, type = 'social', connector = 'github') =>
  `/v1/tenants/${tenant}/connectors/${type}/${connector}/refresh-settings`
const valid = { token_endpoint: 'https://github.com/login/oauth/access_token', client_id: 'Iv1.abc', client_secret: SECRET }

t.test('register, replace and read back: the client secret is stored sealed and never returned', async (t) => {
  const tenant = uniqueTenant()
  const created = await app.inject({ method: 'PUT', url: settingsUrl(tenant), payload: valid })
  t.equal(created.statusCode, 201)
  t.match(created.json(), {
    tenant_id: tenant,
    connector_type: 'social',
    connector_id: 'github',
    token_endpoint: valid.token_endpoint,
    issuer: null,
    client_id: 'Iv1.abc',
    client_auth_method: 'client_secret_basic',
    has_client_secret: true,
    extra_params: {},
    key_version: 1,
  })
  const replaced = await app.inject({
    method: 'PUT',
    url: settingsUrl(tenant),
    payload: { ...valid, client_auth_method: 'client_secret_post', extra_params: { audience: 'api' } },
  })
  t.equal(replaced.statusCode, 200)
  t.match(replaced.json(), { client_auth_method: 'client_secret_post', extra_params: { audience: 'api' } })
  const read = await app.inject({ method: 'GET', url: settingsUrl(tenant) })
  t.equal(read.statusCode, 200)
  t.same(read.json(), replaced.json())
  t.notMatch(created.body + replaced.body + read.body + logs.join('\n'), SECRET)
  const stored = await sql<{
    sealed: Buffer
  }>`SELECT client_secret_sealed AS sealed FROM connector_refresh_settings WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.notOk(Buffer.from(stored.rows[0]!.sealed).includes(Buffer.from(SECRET)), 'sealed at rest')
})

t.test('malformed settings are refused with request.invalid and store nothing', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['neither endpoint nor issuer', { client_id: 'a', client_secret: SECRET }],
    ['basic without a secret', { token_endpoint: valid.token_endpoint, client_id: 'a' }],
    ['none with a secret', { ...valid, client_auth_method: 'none' }],
    ['unknown method', { ...valid, client_auth_method: 'private_key_jwt' }],
    ['not a URL', { ...valid, token_endpoint: 'github.com/token' }],
    ['not http(s)', { ...valid, token_endpoint: 'ftp://github.com/token' }],
    ['empty client id', { ...valid, client_id: '' }],
    ['reserved extra parameter', { ...valid, extra_params: { refresh_token: 'x' } }],
    ['extra parameter name', { ...valid, extra_params: { 'bad name': 'x' } }],
    ['extra parameter value', { ...valid, extra_params: { audience: 7 } }],
    ['unknown field', { ...valid, scope: 'openid' }],
  ]
  for (const [name, payload] of cases) {
    const tenant = uniqueTenant()
    const res = await app.inject({ method: 'PUT', url: settingsUrl(tenant), payload: payload as object })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().code, 'request.invalid', name)
    t.notMatch(res.body, SECRET, name)
    t.equal(await countRows(database, 'tenants', tenant), 0, `${name}: nothing stored`)
  }
  const badPath = await app.inject({ method: 'PUT', url: settingsUrl(uniqueTenant(), 'oauth'), payload: valid })
  t.equal(badPath.json().code, 'request.invalid', 'unknown connector type')
})

t.test('plain http endpoints are refused unless explicitly allowed', async (t) => {
  const strict = await buildTestApp(t, database, { egress: { allow: [], allowInsecureHttp: false } })
  for (const field of ['token_endpoint', 'issuer'] as const) {
    const payload =
      field === 'issuer'
        ? { issuer: 'http://idp.example', client_id: 'a', client_secret: SECRET }
        : { ...valid, token_endpoint: 'http://idp.example/token' }
    const res = await strict.app.inject({ method: 'PUT', url: settingsUrl(uniqueTenant()), payload })
    t.equal(res.statusCode, 400, field)
    t.match(res.json(), { code: 'egress.refused', issues: [{ path: `body.${field}`, message: /scheme/ }] })
  }
  t.equal((await strict.app.inject({ method: 'PUT', url: settingsUrl(uniqueTenant()), payload: valid })).statusCode, 201)
})

t.test('every internal target is refused at registration, naming the rule, and nothing is stored', async (t) => {
  const strict = await buildTestApp(t, database, { egress: { allow: [], allowInsecureHttp: false } })
  const targets: Array<[string, string]> = [
    ['https://169.254.169.254/latest/meta-data/', 'link_local'],
    ['https://[fd00:ec2::254]/latest/meta-data/', 'unique_local'],
    ['https://metadata.google.internal/computeMetadata/v1/', 'internal_name'],
    ['https://127.0.0.1/token', 'loopback'],
    ['https://127.1/token', 'loopback'],
    ['https://2130706433/token', 'loopback'],
    ['https://0x7f000001/token', 'loopback'],
    ['https://[::1]/token', 'loopback'],
    ['https://[::ffff:127.0.0.1]/token', 'loopback'],
    ['https://[::ffff:a9fe:a9fe]/token', 'link_local'],
    ['https://localhost/token', 'internal_name'],
    ['https://idp.localhost/token', 'internal_name'],
    ['https://10.0.0.5/token', 'private'],
    ['https://172.16.3.4/token', 'private'],
    ['https://192.168.1.1/token', 'private'],
    ['https://100.64.0.1/token', 'carrier_grade_nat'],
    ['https://[fe80::1]/token', 'link_local'],
    ['https://0.0.0.0/token', 'reserved'],
    ['https://keycloak/token', 'internal_name'],
    ['https://keycloak.identity.svc/token', 'internal_name'],
    ['https://keycloak.identity.svc.cluster.local/token', 'internal_name'],
    ['https://printer.local/token', 'internal_name'],
    ['https://user:pass@idp.example.com/token', 'userinfo'],
  ]
  for (const [url, rule] of targets) {
    for (const field of ['token_endpoint', 'issuer'] as const) {
      const tenant = uniqueTenant()
      const payload = { client_id: 'a', client_secret: SECRET, [field]: url }
      const res = await strict.app.inject({ method: 'PUT', url: settingsUrl(tenant), payload })
      t.match(
        [res.statusCode, res.json()],
        [400, { code: 'egress.refused', issues: [{ path: `body.${field}`, message: `refused by the egress policy: ${rule}` }] }],
        `${field} ${url}`,
      )
      t.equal(await countRows(database, 'tenants', tenant), 0)
    }
  }
  t.equal(
    (await strict.app.inject({ method: 'PUT', url: settingsUrl(uniqueTenant()), payload: valid })).statusCode,
    201,
    'a public https endpoint is fine',
  )
  const allowed = await buildTestApp(t, database, { egress: { allow: ['10.0.0.0/8', 'keycloak'], allowInsecureHttp: false } })
  for (const url of ['https://10.0.0.5/token', 'https://keycloak/token']) {
    t.equal(
      (await allowed.app.inject({ method: 'PUT', url: settingsUrl(uniqueTenant()), payload: { ...valid, token_endpoint: url } }))
        .statusCode,
      201,
      `${url} when the operator allows it`,
    )
  }
})

t.test('unknown connectors are not found; the scope is its own', async (t) => {
  const missing = await app.inject({ method: 'GET', url: settingsUrl(uniqueTenant()) })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'connector.not_found')
  const pushOnly = `Bearer ${await issuer.mint({ scope: 'token_sets:write token_sets:read connections:read' })}`
  for (const method of ['PUT', 'GET'] as const) {
    const res = await app.inject({
      method,
      url: settingsUrl(uniqueTenant()),
      headers: { authorization: pushOnly },
      ...(method === 'PUT' ? { payload: valid } : {}),
    })
    t.equal(res.statusCode, 403, method)
    t.equal(res.json().code, 'auth.insufficient_scope', method)
  }
  const deleted = await app.inject({
    method: 'DELETE',
    url: `/v1/tenants/${uniqueTenant()}/connectors/social/github`,
    headers: { authorization: pushOnly },
  })
  t.equal(deleted.json().code, 'auth.insufficient_scope')
})

t.test('deleting a connector deletes its token sets and refresh settings, nothing of other connectors', async (t) => {
  const tenant = uniqueTenant()
  await app.inject({ method: 'PUT', url: settingsUrl(tenant), payload: valid })
  await app.inject({ method: 'PUT', url: settingsUrl(tenant, 'social', 'google'), payload: valid })
  for (const user of ['alice', 'bob']) await push(app, { tenant, user }, githubPush(`gho_${user}`))
  await push(app, { tenant, connector: 'google' }, githubPush('ya29_alice'))
  const res = await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant}/connectors/social/github` })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { token_sets_deleted: 2, refresh_settings_deleted: true, revocations_scheduled: 0 })
  t.equal((await app.inject({ method: 'GET', url: settingsUrl(tenant) })).json().code, 'connector.not_found')
  t.equal((await app.inject({ method: 'GET', url: settingsUrl(tenant, 'social', 'google') })).statusCode, 200)
  t.equal(await countRows(database, 'token_sets', tenant), 1, 'the other connector keeps its token set')
  const again = await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant}/connectors/social/github` })
  t.same(again.json(), { token_sets_deleted: 0, refresh_settings_deleted: false, revocations_scheduled: 0 }, 'idempotent')
})

t.test("a tenant-bound caller cannot reach another tenant's connector", async (t) => {
  const tenant = uniqueTenant()
  await app.inject({ method: 'PUT', url: settingsUrl(tenant), payload: valid })
  const bound = `Bearer ${await issuer.mint({ tenant_ids: ['someone-else'] })}`
  const res = await app.inject({ method: 'GET', url: settingsUrl(tenant), headers: { authorization: bound } })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'auth.tenant_forbidden')
})
