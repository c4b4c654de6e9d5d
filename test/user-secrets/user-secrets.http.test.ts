import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { githubPush, push } from '../support/http.ts'

/** A user's named secrets through the API: round trip, metadata-only listing, integrity, scopes, deletion. */
const database = await openTestDatabase(t)
const ctx = await buildTestApp(t, database)
const { app, issuer } = ctx
const url = (tenant: string, name?: string, user = 'alice') => `/v1/tenants/${tenant}/users/${user}/secrets${name ? `/${name}` : ''}`

t.test('round trip: put, read, list without values, replace, delete', async (t) => {
  const tenant = uniqueTenant()
  const put = await app.inject({
    method: 'PUT',
    url: url(tenant, 'openai'),
    payload: { kind: 'api_key', value: 'sk-live-round-trip', labels: { provider: 'openai' } },
  })
  t.equal(put.statusCode, 201, put.body)
  t.notOk(put.body.includes('sk-live-round-trip'), 'the answer to a put carries no value')
  const read = await app.inject({ method: 'GET', url: url(tenant, 'openai') })
  t.equal(read.statusCode, 200)
  t.equal(read.headers['cache-control'], 'no-store')
  t.match(read.json(), { name: 'openai', kind: 'api_key', value: 'sk-live-round-trip', labels: { provider: 'openai' }, key_version: 1 })

  await app.inject({ method: 'PUT', url: url(tenant, 'bank'), payload: { kind: 'password', value: 'hunter2-round-trip' } })
  const listed = await app.inject({ method: 'GET', url: url(tenant) })
  t.same(
    listed.json().secrets.map((s: { name: string; kind: string }) => [s.name, s.kind]),
    [
      ['bank', 'password'],
      ['openai', 'api_key'],
    ],
  )
  t.notOk(listed.body.includes('round-trip'), 'no value in a listing')
  t.notOk('value' in listed.json().secrets[0])

  const replaced = await app.inject({ method: 'PUT', url: url(tenant, 'openai'), payload: { kind: 'api_key', value: 'sk-live-second' } })
  t.equal(replaced.statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: url(tenant, 'openai') })).json().value, 'sk-live-second')

  t.same((await app.inject({ method: 'DELETE', url: url(tenant, 'openai') })).json(), { deleted: 1 })
  t.same((await app.inject({ method: 'DELETE', url: url(tenant, 'openai') })).json(), { deleted: 0 })
  const gone = await app.inject({ method: 'GET', url: url(tenant, 'openai') })
  t.equal(gone.statusCode, 404)
  t.equal(gone.json().code, 'user_secret.not_found')
  t.notOk(ctx.logs.join('\n').includes('round-trip'), 'no value in any log line')
})

t.test("a sealed value moved to another row, edited, or re-kinded behind the vault's back is crypto.integrity", async (t) => {
  const tenant = uniqueTenant()
  for (const name of ['a', 'b', 'c', 'd']) {
    await app.inject({ method: 'PUT', url: url(tenant, name), payload: { kind: 'generic', value: `value-${name}` } })
  }
  await app.inject({ method: 'PUT', url: url(tenant, 'a', 'bob'), payload: { kind: 'generic', value: 'bobs' } })
  await sql`UPDATE user_secrets SET value_sealed = (SELECT value_sealed FROM user_secrets WHERE tenant_id = ${tenant} AND user_id = 'alice' AND name = 'b')
    WHERE tenant_id = ${tenant} AND user_id = 'alice' AND name = 'a'`.execute(database.admin)
  await sql`UPDATE user_secrets SET value_sealed = (SELECT value_sealed FROM user_secrets WHERE tenant_id = ${tenant} AND user_id = 'alice' AND name = 'c')
    WHERE tenant_id = ${tenant} AND user_id = 'bob' AND name = 'a'`.execute(database.admin)
  await sql`UPDATE user_secrets SET value_sealed = set_byte(value_sealed, 49, get_byte(value_sealed, 49) # 255)
    WHERE tenant_id = ${tenant} AND name = 'c'`.execute(database.admin)
  await sql`UPDATE user_secrets SET kind = 'password' WHERE tenant_id = ${tenant} AND name = 'd'`.execute(database.admin)
  for (const [name, user, what] of [
    ['a', 'alice', 'moved to another name'],
    ['a', 'bob', 'moved to another user'],
    ['c', 'alice', 'a flipped byte'],
    ['d', 'alice', 'its kind changed'],
  ] as const) {
    const read = await app.inject({ method: 'GET', url: url(tenant, name, user) })
    t.equal(read.statusCode, 500, what)
    t.equal(read.json().code, 'crypto.integrity', what)
    t.notMatch(read.body, /value-/, what)
  }
  t.equal((await app.inject({ method: 'GET', url: url(tenant, 'b') })).json().value, 'value-b', 'the untouched one still opens')
})

t.test('malformed input is refused with its code and stores nothing', async (t) => {
  const tenant = uniqueTenant()
  const cases: Array<[string, unknown, string]> = [
    ['ok', { kind: 'token', value: 'x' }, 'body.kind'],
    ['ok', { kind: 'generic' }, 'body.value'],
    ['ok', { kind: 'generic', value: '' }, 'body.value'],
    ['ok', { kind: 'generic', value: 'x'.repeat(8193) }, 'body.value'],
    [
      'ok',
      { kind: 'generic', value: 'x', labels: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`l${i}`, 'v'])) },
      'body.labels',
    ],
    ['ok', { kind: 'generic', value: 'x', labels: { a: 'b\u0000' } }, 'body.labels'],
    ['ok', { kind: 'generic', value: 'x', extra: true }, 'body'],
    ['-bad', { kind: 'generic', value: 'x' }, 'params.name'],
    ['a'.repeat(129), { kind: 'generic', value: 'x' }, 'params.name'],
  ]
  for (const [name, payload, path] of cases) {
    const refused = await app.inject({ method: 'PUT', url: url(tenant, name), payload: payload as object })
    t.equal(refused.statusCode, 400, `${path}: ${refused.body}`)
    t.equal(refused.json().code, 'request.invalid')
    t.match(refused.json().issues[0].path, path)
  }
  const rows = await sql`SELECT 1 FROM user_secrets WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal(rows.rows.length, 0)
})

t.test('scopes: listing does not read values; writing does not read them either; every read is audited', async (t) => {
  const tenant = uniqueTenant()
  await app.inject({ method: 'PUT', url: url(tenant, 'pat'), payload: { kind: 'api_key', value: 'ghp_scoped' } })
  const lister = { authorization: `Bearer ${await issuer.mint({ scope: 'secrets:list' })}` }
  const writer = { authorization: `Bearer ${await issuer.mint({ scope: 'secrets:write' })}` }
  const reader = { authorization: `Bearer ${await issuer.mint({ scope: 'secrets:read' })}` }
  t.equal((await app.inject({ method: 'GET', url: url(tenant), headers: lister })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: url(tenant, 'pat'), headers: lister })).json().code, 'auth.insufficient_scope')
  t.equal((await app.inject({ method: 'GET', url: url(tenant, 'pat'), headers: writer })).json().code, 'auth.insufficient_scope')
  t.equal((await app.inject({ method: 'GET', url: url(tenant), headers: reader })).json().code, 'auth.insufficient_scope')
  t.equal((await app.inject({ method: 'GET', url: url(tenant, 'pat'), headers: reader })).json().value, 'ghp_scoped')
  const trail = (await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/audit-events?action=user_secret.read` })).json()
  t.same(
    trail.events.map((e: { outcome: string; key_version: number | null; user_id: string }) => [e.outcome, e.key_version, e.user_id]),
    [
      ['success', 1, 'alice'],
      ['denied', null, 'alice'],
      ['denied', null, 'alice'],
    ],
  )
})

t.test("deleting a user removes their token sets, secrets and MFA factors, nobody else's", async (t) => {
  const tenant = uniqueTenant()
  for (const user of ['alice', 'bob']) {
    await push(app, { tenant, user }, githubPush(`gho_${user}`))
    await app.inject({ method: 'PUT', url: url(tenant, 'pat', user), payload: { kind: 'api_key', value: 'x' } })
    const generated = (await app.inject({ method: 'POST', url: `/v1/tenants/${tenant}/users/${user}/mfa/backup-codes/generate` })).json()
    await app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenant}/users/${user}/mfa/backup-codes/bind`,
      payload: { factor_id: generated.factor.id },
    })
  }
  const identityCore = { authorization: `Bearer ${await issuer.mint({ scope: 'token_sets:write' })}` }
  t.equal(
    (await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant}/users/alice`, headers: identityCore })).json().code,
    'auth.insufficient_scope',
    'a scope of its own',
  )
  const deleted = await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant}/users/alice` })
  t.same(deleted.json(), { token_sets_deleted: 1, user_secrets_deleted: 1, mfa_factors_deleted: 1, revocations_scheduled: 0 })
  const left = await sql<{ user_id: string; what: string }>`
    SELECT user_id, 'token_set' AS what FROM token_sets WHERE tenant_id = ${tenant}
    UNION ALL SELECT user_id, 'secret' FROM user_secrets WHERE tenant_id = ${tenant}
    UNION ALL SELECT user_id, 'factor' FROM mfa_factors WHERE tenant_id = ${tenant}
    ORDER BY 1, 2`.execute(database.admin)
  t.same(
    left.rows.map((row) => `${row.user_id}:${row.what}`),
    ['bob:factor', 'bob:secret', 'bob:token_set'],
  )
})
