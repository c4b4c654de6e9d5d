import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { openTestDatabase } from '../support/helper.ts'
import { githubPush, listConnections, push } from '../support/http.ts'
import { HOUR_MS, refreshScenario, type Scenario, type ScenarioOptions, tokens } from '../support/refresh-scenario.ts'
import { TEST_DATABASE_URL } from '../support/test-database.ts'

/** How a connection is doing, as listings show it: refresh failures, backoff shared by replicas, refresh-token expiry. */
const database = await openTestDatabase(t)
const scenario = (t: Test, options: ScenarioOptions = {}) => refreshScenario(t, database, options)

async function connectionOf(s: Scenario) {
  const res = await listConnections(s.app, s.tenant)
  return res.json().connections[0]
}

t.test('failed refreshes leave the connection refresh_failing, backing off, until one succeeds', async (t) => {
  const s = await scenario(t)
  t.equal((await connectionOf(s)).health, 'active')
  t.equal((await connectionOf(s)).refresh_failure, null)
  s.fake.answer = () => ({ status: 503, body: { error: 'temporarily_unavailable' } })
  s.advance(HOUR_MS)
  const first = await s.read()
  t.equal(first.statusCode, 503)
  t.equal(first.json().code, 'provider.unavailable')
  t.equal(first.headers['retry-after'], '5', 'the first retry after 5 s')
  const failing = await connectionOf(s)
  t.equal(failing.health, 'refresh_failing')
  t.equal(failing.state, 'active', 'the stored set is untouched')
  t.same(failing.refresh_failure, {
    count: 1,
    since: s.clock.now.toISOString(),
    last_at: s.clock.now.toISOString(),
    last_error: 'provider.unavailable',
    next_attempt_at: new Date(s.clock.now.getTime() + 5000).toISOString(),
  })

  t.equal((await s.read()).statusCode, 503)
  t.equal(s.fake.requests.length, 1, 'backing off: the provider is not asked again')
  const since = s.clock.now.toISOString()
  s.advance(5000)
  const second = await s.read()
  t.equal(second.headers['retry-after'], '10', 'then 10 s: doubling')
  t.equal(s.fake.requests.length, 2)
  t.match((await connectionOf(s)).refresh_failure, { count: 2, since, last_at: s.clock.now.toISOString() })

  s.fake.answer = () => tokens('gho_recovered')
  s.advance(10_000)
  t.equal((await s.read()).json().access_token, 'gho_recovered')
  const recovered = await connectionOf(s)
  t.equal(recovered.health, 'active', 'a successful refresh ends it')
  t.equal(recovered.refresh_failure, null)
})

t.test("a 429's Retry-After holds every replica back: the provider sees one attempt per step", async (t) => {
  const one = await scenario(t)
  const two = await scenario(t, { sharing: one })
  one.fake.answer = () => ({ status: 429, headers: { 'retry-after': '120' } })
  two.advance(HOUR_MS)
  const res = await one.read()
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '120', "the provider's Retry-After, not the shorter backoff")
  const other = await two.read()
  t.equal(other.statusCode, 503, other.body)
  two.advance(60_000)
  t.equal((await two.read()).headers['retry-after'], '60')
  t.equal(one.fake.requests.length, 1, 'one attempt, from all replicas together')
  two.advance(60_000)
  one.fake.answer = () => tokens('gho_after_throttle')
  t.equal((await two.read()).json().access_token, 'gho_after_throttle')
  t.equal(one.fake.requests.length, 2)
})

t.test('while backing off, a still-valid token is served and the caller hears why the last attempt failed', async (t) => {
  const s = await scenario(t)
  s.fake.answer = () => ({ status: 401, body: { error: 'invalid_client' } })
  s.advance(HOUR_MS - 30_000)
  t.equal((await s.read()).json().access_token, 'gho_old', 'valid for 30 s more: served')
  t.equal((await s.read()).json().access_token, 'gho_old')
  t.equal(s.fake.requests.length, 1)
  t.match((await connectionOf(s)).refresh_failure, { count: 1, last_error: 'provider.refresh_rejected' })
  s.advance(60_000)
  const expired = await s.read()
  t.equal(expired.statusCode, 502)
  t.equal(expired.json().code, 'provider.refresh_rejected')
})

t.test('a new push ends refresh_failing: it is a new grant', async (t) => {
  const s = await scenario(t)
  s.fake.answer = () => ({ status: 500 })
  s.advance(HOUR_MS)
  await s.read()
  t.equal((await connectionOf(s)).health, 'refresh_failing')
  const res = await push(s.app, { tenant: s.tenant }, githubPush('gho_new_grant', { issued_at: s.clock.now.toISOString() }))
  t.equal(res.statusCode, 200)
  t.equal(res.json().connection.health, 'active')
  t.equal(res.json().connection.refresh_failure, null)
  t.equal((await s.read()).json().access_token, 'gho_new_grant')
})

t.test('refresh_token_expires_in is kept; past it, a due read needs a reconnect and the provider is not asked', async (t) => {
  const s = await scenario(t)
  const issuedAt = s.clock.now
  const pushed = await push(
    s.app,
    { tenant: s.tenant },
    githubPush(
      'gho_1',
      { issued_at: issuedAt.toISOString() },
      { refresh_token: 'ghr_1', expires_in: 3600, refresh_token_expires_in: '7200' },
    ),
  )
  t.equal(pushed.json().connection.refresh_token_expires_at, new Date(issuedAt.getTime() + 2 * HOUR_MS).toISOString())

  // A refresh that rotates the refresh token brings the new one's expiry.
  s.fake.answer = () => tokens('gho_2', { refresh_token: 'ghr_2', refresh_token_expires_in: 5400 })
  s.advance(HOUR_MS)
  t.equal((await s.read()).json().access_token, 'gho_2')
  const refreshed = await connectionOf(s)
  t.equal(refreshed.refresh_token_expires_at, new Date(s.clock.now.getTime() + 1.5 * HOUR_MS).toISOString())

  s.advance(2 * HOUR_MS)
  const res = await s.read()
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'token_set.reconnect_required')
  t.equal(s.fake.requests.length, 1, 'an expired refresh token is not presented')
  const gone = await connectionOf(s)
  t.equal(gone.health, 'reauth_required')
  t.equal(gone.state, 'reauth_required')
})

t.test(
  'a read of a still-valid token waits for a slow refresh only so long, then is served; the refresh still lands',
  {
    skip:
      TEST_DATABASE_URL === undefined
        ? 'the embedded database has one connection, which the refresh holds until the provider answers: a PostgreSQL server; CI runs it'
        : false,
  },
  async (t) => {
    const s = await scenario(t, { refresh: { readWaitMs: 50 } })
    let answered = false
    s.fake.answer = () => ({ ...tokens('gho_slow'), delayMs: 600 })
    const before = await s.sealed()
    s.advance(HOUR_MS - 30_000)
    const res = await s.read()
    t.equal(res.json().access_token, 'gho_old', 'served as stored while the provider is still answering')
    t.equal(s.fake.requests.length, 1)
    t.same(await s.sealed(), before, 'the refresh had not finished when the read was answered')
    for (let i = 0; i < 100 && !answered; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      answered = (await s.sealed()).access !== before.access
    }
    t.ok(answered, 'the refresh finished in the background and was stored')
    t.equal((await s.read()).json().access_token, 'gho_slow')
    t.equal(s.fake.requests.length, 1, 'one refresh')
  },
)

t.test('a database writer who edits the health columns changes only when the vault refreshes, never what it says', async (t) => {
  const s = await scenario(t)
  s.fake.answer = () => tokens('gho_new')
  s.advance(HOUR_MS + 60_000)
  // Behind the vault's back: a backoff far in the future, and an error code of the writer's choosing.
  await sql`UPDATE token_sets SET refresh_failures = 1, refresh_failing_since = now(), last_refresh_failure_at = now(),
    last_refresh_error = 'gho_chosen_by_the_writer', next_refresh_at = now() + interval '10 years'
    WHERE tenant_id = ${s.tenant}`.execute(database.admin)
  const held = await s.read()
  t.equal(held.statusCode, 503)
  t.equal(held.json().code, 'provider.unavailable', 'an unknown code is no code the vault answers with')
  t.notMatch(held.body, 'gho_chosen_by_the_writer')
  t.equal(held.headers['retry-after'], '3600', 'and no Retry-After longer than the vault itself would set')
  t.equal(s.fake.requests.length, 0, 'held back: denial of service, nothing else')
  await sql`UPDATE token_sets SET next_refresh_at = NULL WHERE tenant_id = ${s.tenant}`.execute(database.admin)
  t.equal((await s.read()).json().access_token, 'gho_new', 'released: refreshed at the server the refresh token is bound to')
  t.equal(s.fake.requests.length, 1)
})

t.test("a connector's refresh policy: a minimum interval between refreshes, and its longest backoff", async (t) => {
  const s = await scenario(t, { settings: { refresh_policy: { min_interval_seconds: 600, backoff_max_seconds: 5 } } })
  const settings = await s.app.inject({ method: 'GET', url: `/v1/tenants/${s.tenant}/connectors/social/github/refresh-settings` })
  t.same(settings.json().refresh_policy, {
    min_interval_seconds: 600,
    backoff_max_seconds: 5,
    refresh_margin_seconds: null,
    read_wait_ms: null,
    keep_alive_idle_seconds: null,
  })

  // Tokens that live two minutes are due after one; the provider refuses a refresh sooner than ten.
  s.fake.answer = () => tokens(`gho_${s.fake.requests.length}`, { expires_in: 120 })
  s.advance(HOUR_MS)
  t.equal((await s.read()).json().access_token, 'gho_1')
  s.advance(70_000)
  t.equal((await s.read()).json().access_token, 'gho_1', 'due, but refreshed 70 s ago: served as stored')
  t.equal(s.fake.requests.length, 1)
  s.advance(60_000)
  t.equal((await s.read()).json().access_token, 'gho_2', 'expired: refreshed whatever the interval')

  // Its backoff stops at 5 s instead of doubling to 10.
  s.fake.answer = () => ({ status: 503 })
  s.advance(3 * HOUR_MS)
  t.equal((await s.read()).headers['retry-after'], '5')
  s.advance(5000)
  t.equal((await s.read()).headers['retry-after'], '5', 'capped by the connector')
})

t.test('a refresh policy out of range is refused and stores nothing', async (t) => {
  const s = await scenario(t)
  for (const [policy, path] of [
    [{ backoff_max_seconds: 1 }, 'body.refresh_policy.backoff_max_seconds'],
    [{ min_interval_seconds: -1 }, 'body.refresh_policy.min_interval_seconds'],
    [{ margin: 5 }, 'body.refresh_policy'],
    [{ refresh_margin_seconds: 3601 }, 'body.refresh_policy.refresh_margin_seconds'],
    [{ refresh_margin_seconds: 1.5 }, 'body.refresh_policy.refresh_margin_seconds'],
    [{ read_wait_ms: -1 }, 'body.refresh_policy.read_wait_ms'],
    [{ read_wait_ms: 30_001 }, 'body.refresh_policy.read_wait_ms'],
    [{ keep_alive_idle_seconds: 3599 }, 'body.refresh_policy.keep_alive_idle_seconds'],
    [{ keep_alive_idle_seconds: null }, 'body.refresh_policy.keep_alive_idle_seconds'],
  ] as const) {
    const res = await s.app.inject({
      method: 'PUT',
      url: `/v1/tenants/${s.tenant}/connectors/social/github/refresh-settings`,
      payload: { token_endpoint: s.fake.tokenEndpoint, client_id: 'client 1', client_secret: 'cs', refresh_policy: policy },
    })
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'request.invalid')
    t.ok(
      res.json().issues.some((issue: { path: string }) => issue.path === path),
      path,
    )
  }
  const settings = await s.app.inject({ method: 'GET', url: `/v1/tenants/${s.tenant}/connectors/social/github/refresh-settings` })
  t.same(
    settings.json().refresh_policy,
    { min_interval_seconds: 0, backoff_max_seconds: 300, refresh_margin_seconds: null, read_wait_ms: null, keep_alive_idle_seconds: null },
    'the defaults, unchanged',
  )
})

t.test("a connector's refresh margin replaces the service's, for reads and for the refresh under the lock", async (t) => {
  const s = await scenario(t, { settings: { refresh_policy: { refresh_margin_seconds: 600 } } })
  s.fake.answer = () => tokens('gho_early')
  s.advance(HOUR_MS - 601_000)
  t.equal((await s.read()).json().access_token, 'gho_old', 'ten minutes and a second before expiry: not due')
  s.advance(1000)
  t.equal((await s.read()).json().access_token, 'gho_early', "ten minutes before: due with the connector's margin")
  t.equal(s.fake.requests.length, 1)

  // The service's own margin (a minute) applies to a connector that names none.
  const plain = await scenario(t)
  plain.fake.answer = () => tokens('gho_plain')
  plain.advance(HOUR_MS - 600_000)
  t.equal((await plain.read()).json().access_token, 'gho_old')
  t.equal(plain.fake.requests.length, 0)
})

t.test(
  "a connector's read wait replaces the service's: a still-valid token is served rather than wait for a slow provider",
  {
    skip:
      TEST_DATABASE_URL === undefined
        ? 'the embedded database has one connection, which the refresh holds until the provider answers: a PostgreSQL server; CI runs it'
        : false,
  },
  async (t) => {
    const s = await scenario(t, { settings: { refresh_policy: { read_wait_ms: 0 } }, refresh: { readWaitMs: 5000 } })
    s.fake.answer = () => ({ ...tokens('gho_slow'), delayMs: 500 })
    const before = await s.sealed()
    s.advance(HOUR_MS - 30_000)
    t.equal((await s.read()).json().access_token, 'gho_old', "served at once: the connector's wait is 0, not the service's 5 s")
    t.same(await s.sealed(), before, 'the refresh had not finished when the read was answered')
    let stored = false
    for (let i = 0; i < 100 && !stored; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      stored = (await s.sealed()).access !== before.access
    }
    t.ok(stored, 'the refresh finished in the background and was stored')

    // With the service's 5 s, the same read waits for the slow provider and gets its token.
    const waiting = await scenario(t, { refresh: { readWaitMs: 5000 } })
    waiting.fake.answer = () => ({ ...tokens('gho_waited'), delayMs: 500 })
    waiting.advance(HOUR_MS - 30_000)
    t.equal((await waiting.read()).json().access_token, 'gho_waited')
  },
)
