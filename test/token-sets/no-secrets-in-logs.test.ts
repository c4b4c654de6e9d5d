import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, push, readAccessToken } from '../support/http.ts'

/**
 * Drives the whole API — successes, refusals, integrity failures, internal errors — at trace level and
 * proves that no token value appears in any log line.
 */
const database = await openTestDatabase(t)
const ctx = await buildTestApp(t, database, { bodyLimitBytes: 8192 })
const { app, logs } = ctx

t.test('no token value reaches a log line', async (t) => {
  const secrets = new Set<string>()
  const secret = (label: string) => {
    const value = `${label}_${Math.random().toString(36).slice(2)}_TOKENVALUE`
    secrets.add(value)
    return value
  }
  const tenant = uniqueTenant()
  for (const connector of ['github', 'google', 'facebook']) {
    const res = await push(
      app,
      { tenant, connector },
      {
        target: connector,
        token_response: {
          access_token: secret('at'),
          refresh_token: secret('rt'),
          id_token: secret('idt'),
          expires_in: '3600',
          scope: 'a,b',
          refresh_token_expires_in: 999,
          extra_secret: secret('extra'),
        },
      },
    )
    t.equal(res.statusCode, 201)
    await readAccessToken(app, { tenant, connector })
  }
  await push(app, { tenant, connector: 'github' }, { target: 'github', token_response: { access_token: secret('at2') } })
  await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/users/alice/connections` })
  // Refusals that carry tokens in the body, the URL and headers.
  await app.inject({
    method: 'PUT',
    url: `${connectionPath({ tenant })}/token-set`,
    headers: { 'content-type': 'application/json' },
    payload: `{"token_response":{"access_token":"${secret('badjson')}"`,
  })
  await app.inject({
    method: 'PUT',
    url: `${connectionPath({ tenant })}/token-set`,
    payload: { target: 'github', token_response: { access_token: secret('big').repeat(400) } },
  })
  await app.inject({
    method: 'PUT',
    url: `${connectionPath({ tenant })}/token-set`,
    payload: { target: 'github', leaked: secret('unknown'), token_response: { access_token: secret('at3') } },
  })
  await app.inject({
    method: 'GET',
    url: `${connectionPath({ tenant })}/access-token`,
    headers: { authorization: `Bearer ${secret('authz')}`, cookie: `s=${secret('cookie')}` },
  })
  // Caller credentials are secrets too: valid and refused bearer tokens alike.
  const callerToken = await ctx.issuer.mint({ client_id: 'log-test' })
  secrets.add(callerToken)
  await app.inject({
    method: 'GET',
    url: `${connectionPath({ tenant })}/access-token`,
    headers: { authorization: `Bearer ${callerToken}` },
  })
  const narrowToken = await ctx.issuer.mint({ scope: 'audit:read' })
  secrets.add(narrowToken)
  await app.inject({
    method: 'GET',
    url: `${connectionPath({ tenant })}/access-token`,
    headers: { authorization: `Bearer ${narrowToken}` },
  })
  // An integrity failure and an internal database error.
  await sql`UPDATE token_sets SET access_token_sealed = (SELECT access_token_sealed FROM token_sets WHERE tenant_id = ${tenant} AND connector_id = 'google') WHERE tenant_id = ${tenant} AND connector_id = 'facebook'`.execute(
    database.admin,
  )
  t.equal((await readAccessToken(app, { tenant, connector: 'facebook' })).json().code, 'crypto.integrity')
  await sql`ALTER TABLE token_sets ADD CONSTRAINT reject_everything CHECK (scope <> 'poison') NOT VALID`.execute(database.admin)
  const failed = await push(
    app,
    { tenant, connector: 'poisoned' },
    { target: 'x', token_response: { access_token: secret('poison'), scope: 'poison' } },
  )
  t.equal(failed.statusCode, 500)
  t.same(Object.keys(failed.json()).sort(), ['code', 'detail', 'instance', 'request_id', 'status', 'title', 'type'])
  t.equal(failed.json().detail, 'Internal error', '5xx messages are generic')
  t.notMatch(failed.body, 'poison')

  t.ok(logs.length >= 20, `${logs.length} log lines captured`)
  const leaks = logs.filter((line) => [...secrets].some((value) => line.includes(value)))
  t.same(leaks, [], 'no log line contains a token')
})
