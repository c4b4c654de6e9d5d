import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { verifyTokenSets } from '../../src/key-lifecycle/verify-token-sets.ts'
import { type FakeTokenEndpoint, startFakeTokenEndpoint } from '../support/fake-token-endpoint.ts'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, githubPush, push, readAccessToken } from '../support/http.ts'

/**
 * The database is not trusted with what steers a secret. Someone who can write a row — a DBA, a restored
 * backup, an injection elsewhere, the operator login — edits the clear columns beside the ciphertexts, as
 * the superuser; the vault must answer crypto.integrity on the next read (refresh path included) with no
 * outbound call, and verify must name the row. A caller with connectors:write must not obtain a refresh
 * token by pointing the connector elsewhere.
 */
const database = await openTestDatabase(t)
const ctx = await buildTestApp(t, database)
const { app } = ctx
const HOUR = 3_600_000

interface Scenario {
  tenant: string
  provider: FakeTokenEndpoint
  attacker: FakeTokenEndpoint
  read(): ReturnType<typeof readAccessToken>
  /** Every request either endpoint received. */
  outbound(): number
}

/** A connection with refresh settings, its access token due for refresh (it expires within the margin). */
async function scenario(t: Test, { due = true, declare = true }: { due?: boolean; declare?: boolean } = {}): Promise<Scenario> {
  const tenant = uniqueTenant('boundary')
  const provider = await startFakeTokenEndpoint(t)
  provider.answer = () => ({ body: { access_token: 'gho_refreshed', token_type: 'bearer', expires_in: 3600 } })
  const attacker = await startFakeTokenEndpoint(t)
  attacker.answer = () => ({ body: { access_token: 'gho_attacker', token_type: 'bearer', expires_in: 3600 } })
  const settings = await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
    payload: {
      token_endpoint: provider.tokenEndpoint,
      client_id: 'Iv1.real',
      client_secret: 'cs_real_secret',
      extra_params: { resource: 'https://api.github.com' },
    },
  })
  t.equal(settings.statusCode, 201)
  const issuedAt = new Date(Date.now() - (due ? HOUR : 0)).toISOString()
  const declared = declare ? { authorization_server: provider.tokenEndpoint } : {}
  const pushed = await push(
    app,
    { tenant },
    githubPush('gho_stored', { issued_at: issuedAt, ...declared }, { refresh_token: 'ghr_user_refresh', expires_in: due ? 3630 : 7200 }),
  )
  t.equal(pushed.statusCode, 201)
  return {
    tenant,
    provider,
    attacker,
    read: () => readAccessToken(app, { tenant }),
    outbound: () => provider.requests.length + attacker.requests.length,
  }
}

async function tamper(statement: ReturnType<typeof sql>) {
  await statement.execute(database.admin)
}

async function verified(tenant: string) {
  return verifyTokenSets(database.operator, ctx.keyRing, { tenantId: tenant, sample: undefined })
}

const tokenSetEdits: Array<[string, (tenant: string, s: Scenario) => ReturnType<typeof sql>, string]> = [
  [
    'expires_at moved forward',
    (tenant) => sql`UPDATE token_sets SET expires_at = expires_at + interval '1 year' WHERE tenant_id = ${tenant}`,
    'access_token',
  ],
  [
    'state flipped to reauth_required',
    (tenant) => sql`UPDATE token_sets SET state = 'reauth_required' WHERE tenant_id = ${tenant}`,
    'access_token',
  ],
  ['scope widened', (tenant) => sql`UPDATE token_sets SET scope = scope || ' admin:org' WHERE tenant_id = ${tenant}`, 'access_token'],
  ['issued_at set to 9999', (tenant) => sql`UPDATE token_sets SET issued_at = '9999-01-01' WHERE tenant_id = ${tenant}`, 'access_token'],
  ['token_type changed', (tenant) => sql`UPDATE token_sets SET token_type = 'mac' WHERE tenant_id = ${tenant}`, 'access_token'],
  ['target changed', (tenant) => sql`UPDATE token_sets SET target = 'gitlab' WHERE tenant_id = ${tenant}`, 'access_token'],
  ['issuer added', (tenant) => sql`UPDATE token_sets SET issuer = 'https://attacker.example' WHERE tenant_id = ${tenant}`, 'access_token'],
  ['provider_subject changed', (tenant) => sql`UPDATE token_sets SET provider_subject = '1' WHERE tenant_id = ${tenant}`, 'access_token'],
  ['refresh token removed', (tenant) => sql`UPDATE token_sets SET refresh_token_sealed = NULL WHERE tenant_id = ${tenant}`, 'access_token'],
  [
    'refresh token re-bound to another server',
    (tenant, s) => sql`UPDATE token_sets SET refresh_server = ${s.attacker.tokenEndpoint} WHERE tenant_id = ${tenant}`,
    'refresh_token',
  ],
]

for (const [name, edit, field] of tokenSetEdits) {
  t.test(`token set: ${name} behind the vault's back is crypto.integrity before any call, and verify names it`, async (t) => {
    const s = await scenario(t)
    await tamper(edit(s.tenant, s))
    const res = await s.read()
    t.equal(res.statusCode, 500)
    t.equal(res.json().code, 'crypto.integrity')
    t.notMatch(res.body, /gho_|ghr_/)
    t.equal(s.outbound(), 0, 'nothing was sent anywhere')
    const { failures } = await verified(s.tenant)
    t.match(failures, [{ tenant_id: s.tenant, field, code: 'crypto.integrity' }])
  })
}

t.test('token set: a superseded sealed value written back does not open', async (t) => {
  const s = await scenario(t, { due: false })
  const old = await sql<{ a: Uint8Array }>`SELECT access_token_sealed AS a FROM token_sets WHERE tenant_id = ${s.tenant}`.execute(
    database.admin,
  )
  const newer = await push(
    app,
    { tenant: s.tenant },
    githubPush('gho_newer', { issued_at: new Date().toISOString() }, { expires_in: 7200 }),
  )
  t.equal(newer.json().result, 'updated')
  await tamper(sql`UPDATE token_sets SET access_token_sealed = ${old.rows[0]!.a} WHERE tenant_id = ${s.tenant}`)
  const res = await s.read()
  t.equal(res.json().code, 'crypto.integrity', `the old value is bound to the old metadata: ${res.body}`)
})

const settingsEdits: Array<[string, (tenant: string, s: Scenario) => ReturnType<typeof sql>]> = [
  [
    'token_endpoint redirected',
    (tenant, s) => sql`UPDATE connector_refresh_settings SET token_endpoint = ${s.attacker.tokenEndpoint} WHERE tenant_id = ${tenant}`,
  ],
  ['client_id changed', (tenant) => sql`UPDATE connector_refresh_settings SET client_id = 'Iv1.other' WHERE tenant_id = ${tenant}`],
  [
    'client authentication turned off',
    (tenant) => sql`UPDATE connector_refresh_settings SET client_auth_method = 'none' WHERE tenant_id = ${tenant}`,
  ],
  [
    'extra parameter changed',
    (tenant) =>
      sql`UPDATE connector_refresh_settings SET extra_params = '{"resource":"https://attacker.example"}' WHERE tenant_id = ${tenant}`,
  ],
  [
    'token endpoint swapped for an issuer',
    (tenant, s) =>
      sql`UPDATE connector_refresh_settings SET token_endpoint = NULL, issuer = ${s.attacker.issuer} WHERE tenant_id = ${tenant}`,
  ],
]

for (const [name, edit] of settingsEdits) {
  t.test(
    `refresh settings: ${name} behind the vault's back is crypto.integrity, and no client secret or refresh token leaves`,
    async (t) => {
      const s = await scenario(t)
      await tamper(edit(s.tenant, s))
      const res = await s.read()
      t.equal(res.json().code, 'crypto.integrity')
      t.equal(s.outbound(), 0, 'nothing was sent anywhere')
      const { failures } = await verified(s.tenant)
      t.match(failures, [{ token_set_id: 'connector:social/github', field: 'client_secret', code: 'crypto.integrity' }])
    },
  )
}

async function redirectConnector(s: Scenario) {
  const writer = `Bearer ${await ctx.issuer.mint({ client_id: 'connector-admin', scope: 'connectors:write' })}`
  return app.inject({
    method: 'PUT',
    url: `/v1/tenants/${s.tenant}/connectors/social/github/refresh-settings`,
    headers: { authorization: writer },
    payload: { token_endpoint: s.attacker.tokenEndpoint, client_id: 'attacker', client_auth_method: 'none' },
  })
}

t.test('connectors:write pointing the connector elsewhere obtains no refresh token, stored or pushed later', async (t) => {
  const s = await scenario(t)
  t.equal((await redirectConnector(s)).statusCode, 200, 'the API may change the settings')
  // Still valid but due: the stored token is served, nothing is sent to the new endpoint.
  const res = await s.read()
  t.equal(res.statusCode, 200)
  t.equal(res.json().access_token, 'gho_stored')
  t.equal(s.outbound(), 0, 'the new endpoint received nothing')
  const audit = await sql<{
    error_code: string
  }>`SELECT error_code FROM audit_events WHERE tenant_id = ${s.tenant} AND action = 'token_set.refresh'`.execute(database.admin)
  t.same(audit.rows, [{ error_code: 'connector.endpoint_changed' }], 'the refusal is audited')
  // The user signs in again: the identity core names where the tokens came from, so the new refresh token
  // is bound there too, whatever the settings say.
  await push(
    app,
    { tenant: s.tenant },
    githubPush(
      'gho_again',
      { issued_at: new Date(Date.now() - HOUR).toISOString(), authorization_server: s.provider.tokenEndpoint },
      { refresh_token: 'ghr_new', expires_in: 3630 },
    ),
  )
  t.equal((await s.read()).json().access_token, 'gho_again')
  // Once expired, the caller is told why.
  const saved = ctx.clock.now
  ctx.clock.now = new Date(saved.getTime() + HOUR)
  t.teardown(() => {
    ctx.clock.now = saved
  })
  const expired = await s.read()
  t.equal(expired.statusCode, 409)
  t.equal(expired.json().code, 'connector.endpoint_changed')
  t.equal(s.outbound(), 0, 'not one request reached either endpoint')
})

t.test('without authorization_server in the push, stored refresh tokens stay bound to the settings of their time', async (t) => {
  const s = await scenario(t, { declare: false })
  t.equal((await redirectConnector(s)).statusCode, 200)
  t.equal((await s.read()).json().access_token, 'gho_stored', 'served as stored, not refreshed at the new endpoint')
  t.equal(s.outbound(), 0)
  // A push that names nothing is bound to the settings as they are then: the weaker, documented case.
  await push(
    app,
    { tenant: s.tenant },
    githubPush('gho_again', { issued_at: new Date(Date.now() - HOUR).toISOString() }, { refresh_token: 'ghr_new', expires_in: 3630 }),
  )
  t.equal((await s.read()).json().access_token, 'gho_attacker')
  t.same(
    s.attacker.requests.map((r) => r.form.refresh_token),
    ['ghr_new'],
    'only the refresh token pushed after the change',
  )
  t.equal(s.provider.requests.length, 0)
})

t.test('untouched rows still serve, refresh and verify', async (t) => {
  const s = await scenario(t)
  const res = await s.read()
  t.equal(res.json().access_token, 'gho_refreshed')
  t.equal(s.provider.requests.length, 1)
  t.equal(s.provider.requests[0]!.form.refresh_token, 'ghr_user_refresh')
  t.same((await verified(s.tenant)).failures, [])
  t.equal(
    (await app.inject({ method: 'GET', url: `${connectionPath({ tenant: s.tenant })}/access-token` })).json().access_token,
    'gho_refreshed',
  )
})

t.test('an endpoint the egress policy now refuses gets nothing at refresh time: provider.egress_refused, audited', async (t) => {
  // Registered while loopback was allowed; a replica whose policy allows nothing internal then refreshes.
  const s = await scenario(t)
  const strict = await buildTestApp(t, database, { provider: ctx.provider, egress: { allow: [], allowInsecureHttp: false } })
  const ref = { tenant: s.tenant }
  const due = await readAccessToken(strict.app, ref)
  t.equal(due.json().access_token, 'gho_stored', 'still valid: the stored token is served')
  strict.clock.now = new Date(strict.clock.now.getTime() + HOUR)
  const expired = await readAccessToken(strict.app, ref)
  t.equal(expired.statusCode, 502)
  t.equal(expired.json().code, 'provider.egress_refused')
  t.equal(s.outbound(), 0, 'nothing was sent')
  const audit = await sql<{ error_code: string }>`
    SELECT error_code FROM audit_events WHERE tenant_id = ${s.tenant} AND action = 'token_set.refresh'`.execute(database.admin)
  t.same(
    audit.rows.map((row) => row.error_code),
    ['provider.egress_refused', 'provider.egress_refused'],
    'each refused attempt is audited',
  )
  const stored = await sql<{ state: string }>`SELECT state FROM token_sets WHERE tenant_id = ${s.tenant}`.execute(database.admin)
  t.same(stored.rows, [{ state: 'active' }], 'the stored set is left as it was')
})
