import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { basicCredentials } from '../support/fake-token-endpoint.ts'
import { buildTestApp, openTestDatabase } from '../support/helper.ts'
import { connectionPath, githubPush, listConnections, push } from '../support/http.ts'
import { CLIENT_SECRET, HOUR_MS, refreshScenario, type ScenarioOptions, tokens } from '../support/refresh-scenario.ts'
import { TEST_DATABASE_URL } from '../support/test-database.ts'

/** Refresh through the HTTP API, against a provider token endpoint that the test scripts. */
const database = await openTestDatabase(t)
const scenario = (t: Test, options: ScenarioOptions = {}) => refreshScenario(t, database, options)

t.test('a due token is refreshed with client_secret_basic; the rotated refresh token replaces the old one', async (t) => {
  const s = await scenario(t, { settings: { extra_params: { resource: 'https://api.github.com' } } })
  let generation = 0
  s.fake.answer = () => tokens(`gho_new${++generation}`, { refresh_token: `ghr_new${generation}`, scope: 'repo,read:user' })

  t.equal((await s.read()).json().access_token, 'gho_old', 'not due yet: served as stored')
  t.equal(s.fake.requests.length, 0, 'no provider call')

  s.advance(HOUR_MS)
  const first = await s.read()
  t.equal(first.statusCode, 200, first.body)
  t.same(first.json(), { access_token: 'gho_new1', token_type: 'Bearer', scope: 'repo read:user', expires_in: 3600 })
  t.same(s.fake.requests[0]!.form, { grant_type: 'refresh_token', refresh_token: 'ghr_old', resource: 'https://api.github.com' })
  t.same(basicCredentials(s.fake.requests[0]!), { id: 'client 1', secret: CLIENT_SECRET }, 'RFC 6749 form-encoded basic credentials')
  t.notOk('client_secret' in s.fake.requests[0]!.form)

  t.equal((await s.read()).json().access_token, 'gho_new1', 'fresh now: no second refresh')
  t.equal(s.fake.requests.length, 1)

  s.advance(HOUR_MS)
  t.equal((await s.read()).json().access_token, 'gho_new2')
  t.equal(s.fake.requests[1]!.form.refresh_token, 'ghr_new1', 'the rotated refresh token is the one presented next')
  const [connection] = (await listConnections(s.app, s.tenant)).json().connections
  t.match(connection, { state: 'active', has_refresh_token: true, scope: 'repo read:user' })
})

t.test('a response without a refresh token or scope keeps the stored ones', async (t) => {
  const s = await scenario(t)
  s.fake.answer = () => ({ body: { access_token: 'gho_2', expires_in: 3600 } })
  s.advance(HOUR_MS)
  t.same((await s.read()).json(), { access_token: 'gho_2', token_type: 'Bearer', scope: 'repo read:user', expires_in: 3600 })
  s.advance(HOUR_MS)
  t.equal((await s.read()).json().access_token, 'gho_2')
  t.equal(s.fake.requests[1]!.form.refresh_token, 'ghr_old', 'the old refresh token was kept')
})

t.test('client_secret_post sends the credentials in the form, none sends only the client id', async (t) => {
  const post = await scenario(t, { settings: { client_auth_method: 'client_secret_post' } })
  post.fake.answer = () => tokens('gho_post')
  post.advance(HOUR_MS)
  t.equal((await post.read()).statusCode, 200)
  t.match(post.fake.requests[0]!.form, { client_id: 'client 1', client_secret: CLIENT_SECRET, refresh_token: 'ghr_old' })
  t.equal(post.fake.requests[0]!.headers.authorization, undefined)

  const pub = await scenario(t, { settings: { client_auth_method: 'none', client_secret: undefined } })
  pub.fake.answer = () => tokens('gho_public')
  pub.advance(HOUR_MS)
  t.equal((await pub.read()).json().access_token, 'gho_public')
  t.match(pub.fake.requests[0]!.form, { client_id: 'client 1' })
  t.notOk('client_secret' in pub.fake.requests[0]!.form)
})

t.test('concurrent reads of a due set make one refresh and all get its token', async (t) => {
  const s = await scenario(t)
  s.fake.answer = () => ({ ...tokens('gho_once', { refresh_token: 'ghr_once' }), delayMs: 100 })
  s.advance(HOUR_MS)
  const reads = await Promise.all(Array.from({ length: 20 }, () => s.read()))
  t.same(new Set(reads.map((res) => res.statusCode)), new Set([200]))
  t.same(new Set(reads.map((res) => res.json().access_token)), new Set(['gho_once']))
  t.equal(s.fake.requests.length, 1)
})

t.test('two replicas on one database refresh a set once: the row lock orders them', async (t) => {
  const s = await scenario(t)
  // Another process: its own data-key cache and in-process state, the same root key and database.
  const replica = await buildTestApp(t, database, { provider: s.provider })
  replica.clock.now = s.clock.now
  s.fake.answer = () => ({ ...tokens('gho_replicated', { refresh_token: 'ghr_replicated' }), delayMs: 150 })
  s.advance(HOUR_MS)
  replica.clock.now = s.clock.now
  const url = `${connectionPath({ tenant: s.tenant })}/access-token`
  const reads = await Promise.all([
    ...Array.from({ length: 5 }, () => s.app.inject({ method: 'GET', url })),
    ...Array.from({ length: 5 }, () => replica.app.inject({ method: 'GET', url })),
  ])
  t.same(
    reads.map((res) => res.statusCode),
    Array(10).fill(200),
  )
  t.same(new Set(reads.map((res) => res.json().access_token)), new Set(['gho_replicated']))
  t.equal(s.fake.requests.length, 1, 'the waiting replica found the set fresh and served it')
})

t.test('invalid_grant marks the set reauth_required and gives the reconnect code until a new push', async (t) => {
  const s = await scenario(t)
  s.fake.answer = () => ({
    status: 400,
    body: { error: 'invalid_grant', error_description: `refresh token ghr_old revoked by admin-4711` },
  })
  s.advance(HOUR_MS)
  const res = await s.read()
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'token_set.reconnect_required')
  t.notMatch(res.body, /ghr_old|admin-4711/, 'provider text is not passed on')
  t.equal((await listConnections(s.app, s.tenant)).json().connections[0].state, 'reauth_required')

  const again = await s.read()
  t.equal(again.json().code, 'token_set.reconnect_required')
  t.equal(s.fake.requests.length, 1, 'a set that needs the user is not refreshed again')

  const pushed = await push(
    s.app,
    { tenant: s.tenant },
    githubPush('gho_reconnected', { issued_at: s.clock.now.toISOString() }, { expires_in: 3600 }),
  )
  t.equal(pushed.json().connection.state, 'active')
  t.equal((await s.read()).json().access_token, 'gho_reconnected')
})

t.test("GitHub's 200 with bad_refresh_token also means the grant is gone", async (t) => {
  const s = await scenario(t)
  s.fake.answer = () => ({
    status: 200,
    body: { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.' },
  })
  s.advance(HOUR_MS)
  t.equal((await s.read()).json().code, 'token_set.reconnect_required')
  t.equal((await s.sealed()).state, 'reauth_required')
})

t.test('a provider outage leaves the set as it was and gives a retryable code; its text never leaks', async (t) => {
  const s = await scenario(t)
  const before = await s.sealed()
  s.fake.answer = () => ({ status: 503, body: { error: 'temporarily_unavailable', error_description: `echo ${CLIENT_SECRET} ghr_old` } })
  s.advance(HOUR_MS)
  const res = await s.read()
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'provider.unavailable')
  t.ok(Number(res.headers['retry-after']) > 0)
  t.same(await s.sealed(), before, 'nothing stored changed')
  const everything = res.body + s.logs.join('\n')
  t.notMatch(everything, CLIENT_SECRET)
  t.notMatch(everything, 'ghr_old')
  t.notMatch(everything, 'gho_old')

  s.fake.answer = () => tokens('gho_after_outage')
  t.equal((await s.read()).json().code, 'provider.unavailable', 'backing off: the provider is not asked again at once')
  t.equal(s.fake.requests.length, 1)
  s.advance(Number(res.headers['retry-after']) * 1000)
  t.equal((await s.read()).json().access_token, 'gho_after_outage', 'after the backoff, a read retries and succeeds')
})

t.test('a provider that does not answer in time is an outage too', async (t) => {
  const s = await scenario(t, { refresh: { timeoutMs: 150 } })
  s.fake.answer = () => ({ ...tokens('gho_late'), delayMs: 1000 })
  s.advance(HOUR_MS)
  const res = await s.read()
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'provider.unavailable')
  t.equal((await s.sealed()).state, 'active')
})

t.test('while the stored token is still valid, an outage serves it', async (t) => {
  const s = await scenario(t)
  s.fake.answer = () => ({ status: 502 })
  s.advance(HOUR_MS - 30_000)
  const res = await s.read()
  t.equal(res.statusCode, 200)
  t.same(res.json(), { access_token: 'gho_old', token_type: 'Bearer', scope: 'repo read:user', expires_in: 30 })
  t.equal(s.fake.requests.length, 1, 'the refresh was tried')
})

t.test("a provider that refuses the client is the connector's problem, not the user's", async (t) => {
  const s = await scenario(t)
  s.fake.answer = () => ({ status: 401, body: { error: 'invalid_client' } })
  s.advance(HOUR_MS)
  const res = await s.read()
  t.equal(res.statusCode, 502)
  t.equal(res.json().code, 'provider.refresh_rejected')
  t.equal((await s.sealed()).state, 'active', 'the user need not reconnect')
  s.fake.answer = () => ({ status: 200, body: { token_type: 'bearer' } })
  t.equal((await s.read()).json().code, 'provider.refresh_rejected', 'backing off, the last failure is what the caller hears')
  t.equal(s.fake.requests.length, 1)
  s.advance(5_000)
  t.equal((await s.read()).json().code, 'provider.refresh_rejected', 'a token response without an access token is refused')
  t.equal(s.fake.requests.length, 2)
})

t.test('without refresh settings an expired token needs the user; a due but valid one is served', async (t) => {
  const s = await scenario(t, { settings: null })
  s.advance(HOUR_MS - 30_000)
  t.equal((await s.read()).json().access_token, 'gho_old')
  s.advance(60_000)
  t.equal((await s.read()).json().code, 'token_set.reconnect_required')
  t.equal((await s.sealed()).state, 'active', 'nothing happened at a provider, so nothing is marked')
})

t.test('with only an issuer, the token endpoint is discovered once and reused', async (t) => {
  const s = await scenario(t, { settings: null })
  await s.app.inject({
    method: 'PUT',
    url: `/v1/tenants/${s.tenant}/connectors/social/github/refresh-settings`,
    payload: { issuer: s.fake.issuer, client_id: 'client 1', client_secret: CLIENT_SECRET },
  })
  let n = 0
  s.fake.answer = () => tokens(`gho_discovered${++n}`)
  s.advance(HOUR_MS)
  t.equal((await s.read()).json().access_token, 'gho_discovered1')
  s.advance(HOUR_MS)
  t.equal((await s.read()).json().access_token, 'gho_discovered2')
  t.equal(s.fake.discoveryRequests, 1)
})

t.test("discovery that is down is retryable; a discovery document that is wrong is the connector's problem", async (t) => {
  const s = await scenario(t, { settings: null })
  await s.app.inject({
    method: 'PUT',
    url: `/v1/tenants/${s.tenant}/connectors/social/github/refresh-settings`,
    payload: { issuer: s.fake.issuer, client_id: 'client 1', client_secret: CLIENT_SECRET },
  })
  const before = await s.sealed()
  s.advance(HOUR_MS)
  s.fake.discoveryAnswer = () => ({ status: 503, body: { error: 'down' } })
  const down = await s.read()
  t.equal(down.statusCode, 503)
  t.equal(down.json().code, 'provider.unavailable')
  s.fake.discoveryAnswer = () => ({ status: 200, body: { issuer: 'https://someone-else.example', token_endpoint: s.fake.tokenEndpoint } })
  s.advance(Number(down.headers['retry-after']) * 1000)
  const wrong = await s.read()
  t.equal(wrong.statusCode, 502)
  t.equal(wrong.json().code, 'provider.refresh_rejected')
  t.equal(s.fake.requests.length, 0, 'no refresh token was sent anywhere')
  t.same(await s.sealed(), before, 'nothing stored changed')
})

t.test('a re-consent pushed during a slow refresh is stored: the refresh neither overwrites it nor makes it stale', async (t) => {
  const s = await scenario(t)
  s.advance(HOUR_MS)
  let reconsent: ReturnType<typeof push> | undefined
  s.fake.answer = () => {
    // The user signs in again while the provider is still answering the refresh of the old grant.
    s.advance(1000)
    reconsent = push(
      s.app,
      { tenant: s.tenant },
      githubPush('gho_reconsent', {}, { refresh_token: 'ghr_reconsent', scope: 'repo,read:user,gist', expires_in: 3600 }),
    )
    setTimeout(() => s.advance(1000), 100)
    return { ...tokens('gho_refreshed_old_grant'), delayMs: 400 }
  }
  const read = await s.read()
  t.equal(read.json().access_token, 'gho_refreshed_old_grant', 'the read that caused the refresh gets its result')
  const pushed = await reconsent!
  t.equal(pushed.json().result, 'updated', 'the re-consent is the newer grant')
  const after = await s.read()
  t.match(after.json(), { access_token: 'gho_reconsent', scope: 'repo read:user gist' }, 'and it is what the vault keeps')
  t.equal(s.fake.requests.length, 1)
})

t.test('required scopes: a set granted fewer gets a code of its own', async (t) => {
  const s = await scenario(t)
  t.equal((await s.read('?required_scopes=repo')).statusCode, 200)
  t.equal((await s.read('?required_scopes=repo%20read:user')).statusCode, 200)
  const missing = await s.read('?required_scopes=repo,admin:org,gist')
  t.equal(missing.statusCode, 409)
  t.equal(missing.json().code, 'token_set.insufficient_scope')
  t.same(
    missing.json().issues,
    [
      { path: 'query.required_scopes[1]', message: 'not granted' },
      { path: 'query.required_scopes[2]', message: 'not granted' },
    ],
    "named by position, never by repeating the caller's values",
  )
  t.notMatch(missing.body, /admin:org|gist/)
  for (const query of ['?required_scopes=bad%22scope', '?required_scopes=a\\b', '?unknown=1']) {
    const bad = await s.read(query)
    t.equal(bad.statusCode, 400, query)
    t.equal(bad.json().code, 'request.invalid', query)
  }
})

t.test('each refresh is audited with the read that caused it, and counted', async (t) => {
  const s = await scenario(t)
  s.fake.answer = () => tokens('gho_audited')
  s.advance(HOUR_MS)
  const ok = await s.read()
  s.fake.answer = () => ({ status: 400, body: { error: 'invalid_grant' } })
  s.advance(HOUR_MS)
  const gone = await s.read()
  const events = await s.app.inject({ method: 'GET', url: `/v1/tenants/${s.tenant}/audit-events?action=token_set.refresh` })
  t.match(events.json().events, [
    {
      action: 'token_set.refresh',
      outcome: 'failed',
      error_code: 'token_set.reconnect_required',
      request_id: gone.headers['x-request-id'],
    },
    { action: 'token_set.refresh', outcome: 'success', error_code: null, request_id: ok.headers['x-request-id'], user_id: 'alice' },
  ])
  const metrics = (await s.app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /secret_vault_token_refreshes_total\{outcome="refreshed"\} 1/)
  t.match(metrics, /secret_vault_token_refreshes_total\{outcome="reauth_required"\} 1/)
})

t.test('nothing secret reaches the logs on any refresh path', async (t) => {
  const s = await scenario(t)
  s.fake.answer = () => tokens('gho_logged', { refresh_token: 'ghr_logged' })
  s.advance(HOUR_MS)
  await s.read()
  s.fake.answer = () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'ghr_logged' } })
  s.advance(HOUR_MS)
  await s.read()
  t.ok(s.logs.length > 0)
  t.notMatch(s.logs.join('\n'), /gho_|ghr_|cs_Sup3r/)
})

t.test(
  "a read that waits too long for another replica's refresh gets a retryable code and changes nothing",
  { skip: TEST_DATABASE_URL === undefined ? 'needs a second connection holding the row lock: a PostgreSQL server; CI runs it' : false },
  async (t) => {
    const s = await scenario(t, { refresh: { lockTimeoutMs: 200 } })
    s.fake.answer = () => tokens('gho_never')
    s.advance(HOUR_MS)
    const before = await s.sealed()
    // Another replica is refreshing: it holds the token set's row lock (taken as the administrator, which
    // needs no tenant setting to see the row).
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let locked!: () => void
    const lockTaken = new Promise<void>((resolve) => (locked = resolve))
    const holder = database.admin.transaction().execute(async (trx) => {
      await sql`SELECT id FROM token_sets WHERE tenant_id = ${s.tenant} FOR UPDATE`.execute(trx)
      locked()
      await held
    })
    await lockTaken
    const res = await s.read()
    release()
    await holder
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'service.unavailable')
    t.ok(Number(res.headers['retry-after']) > 0)
    t.equal(s.fake.requests.length, 0, 'the provider was not asked')
    t.same(await s.sealed(), before)
  },
)
