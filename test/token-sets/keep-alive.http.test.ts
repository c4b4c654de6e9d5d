import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { openTestDatabase } from '../support/helper.ts'
import { githubPush, listConnections, push } from '../support/http.ts'
import { HOUR_MS, refreshScenario, type Scenario, type ScenarioOptions, tokens } from '../support/refresh-scenario.ts'

/**
 * Keep-alive refresh: sets idle for their connector's keep_alive_idle_seconds are refreshed in the
 * background by every replica's sweep, each once, and fresh ones are left alone.
 */
const database = await openTestDatabase(t)
const DAY_S = 86_400
const keepAlivePolicy = { settings: { refresh_policy: { keep_alive_idle_seconds: DAY_S } } }

// Sweeps walk every tenant of the database: each test's sets go when it ends, so no sweep finds another's.
async function scenario(t: Test, options: ScenarioOptions = {}): Promise<Scenario> {
  const s = await refreshScenario(t, database, options)
  if (options.sharing === undefined) t.teardown(() => sql`DELETE FROM token_sets WHERE tenant_id = ${s.tenant}`.execute(database.admin))
  return s
}
const sweep = (s: Scenario) => s.app.server.keepAlive.sweep()

async function connectionOf(s: Scenario, user = 'alice') {
  return (await listConnections(s.app, s.tenant, user)).json().connections[0]
}

t.test('an idle set is refreshed once its connector keeps it alive; a fresh one is left alone', async (t) => {
  const s = await scenario(t, keepAlivePolicy)
  s.fake.answer = () => tokens('gho_kept_alive', { refresh_token: 'ghr_rotated' })
  s.advance(DAY_S * 1000 - 1000)
  const fresh = await push(
    s.app,
    { tenant: s.tenant, user: 'bob' },
    githubPush('gho_bob', { issued_at: s.clock.now.toISOString() }, { refresh_token: 'ghr_bob' }),
  )
  t.equal(fresh.statusCode, 201, fresh.body)

  t.same(await sweep(s), [], 'idle a second short of a day: nothing is due')
  t.equal(s.fake.requests.length, 0)
  s.advance(1000)
  t.same(await sweep(s), ['refreshed'], "alice's set, idle a day")
  t.equal(s.fake.requests.length, 1)
  t.equal(s.fake.requests[0]!.form.refresh_token, 'ghr_old')
  t.equal((await connectionOf(s)).issued_at, s.clock.now.toISOString(), 'issued again now')
  t.equal((await connectionOf(s, 'bob')).issued_at, fresh.json().connection.issued_at, "bob's fresh set untouched")

  t.same(await sweep(s), [], 'refreshed: not due again for a day')
  s.advance(DAY_S * 1000)
  s.fake.answer = () => tokens('gho_again')
  t.same((await sweep(s)).sort(), ['refreshed', 'refreshed'], 'a day later, both')
  t.same(
    s.fake.requests
      .slice(1)
      .map((request) => request.form.refresh_token)
      .sort(),
    ['ghr_bob', 'ghr_rotated'],
    "alice's rotated refresh token, and bob's",
  )
  t.equal((await s.read()).json().access_token, 'gho_again', 'the kept-alive set is what reads get')
})

t.test('a connector without keep-alive is never swept, however idle', async (t) => {
  const s = await scenario(t)
  s.advance(400 * DAY_S * 1000)
  t.same(await sweep(s), [])
  t.equal(s.fake.requests.length, 0)
})

t.test('two replicas sweeping at once refresh an idle set once', async (t) => {
  const one = await scenario(t, keepAlivePolicy)
  const two = await scenario(t, { sharing: one })
  one.fake.answer = () => ({ ...tokens('gho_once'), delayMs: 300 })
  one.advance(DAY_S * 1000)
  const [a, b] = await Promise.all([sweep(one), sweep(two)])
  t.same(
    [...a, ...b].filter((outcome) => outcome === 'refreshed'),
    ['refreshed'],
    `one refresh between them (${[...a, ...b].join(', ')})`,
  )
  t.ok([...a, ...b].every((outcome) => ['refreshed', 'busy', 'not_due'].includes(outcome)))
  t.equal(one.fake.requests.length, 1, 'the provider saw one request')
})

t.test('a keep-alive that fails backs off like any refresh, and invalid_grant ends it', async (t) => {
  const s = await scenario(t, keepAlivePolicy)
  s.fake.answer = () => ({ status: 503 })
  s.advance(DAY_S * 1000)
  t.same(await sweep(s), ['provider_unavailable'])
  t.same(await sweep(s), [], 'backing off: not swept again')
  t.match((await connectionOf(s)).refresh_failure, { count: 1, last_error: 'provider.unavailable' })
  s.advance(5000)
  s.fake.answer = () => ({ status: 400, body: { error: 'invalid_grant' } })
  t.same(await sweep(s), ['reauth_required'])
  t.equal((await connectionOf(s)).health, 'reauth_required')
  s.advance(DAY_S * 1000)
  t.same(await sweep(s), [], 'a set whose grant is gone is not swept')
  t.equal(s.fake.requests.length, 2)
})

t.test('keep-alive refreshes are audited and counted; the gauge counts connections by health', async (t) => {
  const s = await scenario(t, keepAlivePolicy)
  s.fake.answer = () => tokens('gho_kept')
  s.advance(DAY_S * 1000)
  await sweep(s)
  const audit = await s.app.inject({ method: 'GET', url: `/v1/tenants/${s.tenant}/audit-events?action=token_set.refresh` })
  t.match(audit.json().events, [{ action: 'token_set.refresh', outcome: 'success', client_id: null, user_id: 'alice' }])
  const metrics = (await s.app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /secret_vault_keep_alive_refreshes_total\{outcome="refreshed"\} 1\n/)
  t.match(metrics, /secret_vault_token_refreshes_total\{outcome="refreshed"\} 1\n/)
})

t.test('the connections gauge moves with health, across tenants, without naming any', async (t) => {
  const gauge = async (s: Scenario) => {
    const body = (await s.app.inject({ method: 'GET', url: '/metrics' })).body
    const value = (health: string) => Number(new RegExp(`secret_vault_connections\\{health="${health}"\\} (\\d+)`).exec(body)?.[1])
    t.notMatch(body, /secret_vault_connections\{[^}]*tenant/, 'no tenant label')
    return { active: value('active'), refresh_failing: value('refresh_failing'), reauth_required: value('reauth_required') }
  }
  const one = await scenario(t)
  const before = await gauge(one)
  t.ok(before.active >= 1, `counts this test's connection (${JSON.stringify(before)})`)
  one.fake.answer = () => ({ status: 503 })
  one.advance(HOUR_MS)
  await one.read()
  // A replica that has not counted yet; the first one's count is kept for a minute.
  const two = await scenario(t, { sharing: one })
  const after = await gauge(two)
  t.same(after, { ...before, active: before.active - 1, refresh_failing: before.refresh_failing + 1 })
  t.same(await gauge(one), before, 'a scrape within the minute reuses the count')
})
