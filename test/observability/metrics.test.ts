import { spawnSync } from 'node:child_process'
import { sql } from 'kysely'
import t from 'tap'
import { createMetrics } from '../../src/observability/metrics.ts'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, githubPush, push, readAccessToken } from '../support/http.ts'

const database = await openTestDatabase(t)

t.test('request latency, errors, provider calls, cache and audit failures — with bounded labels only', async (t) => {
  const { app } = await buildTestApp(t, database)
  const tenant = uniqueTenant('metric-tenant')
  await push(app, { tenant, user: 'metric-user' }, githubPush('gho_metric_secret'))
  await readAccessToken(app, { tenant, user: 'metric-user' })
  await readAccessToken(app, { tenant, user: 'nobody' })
  await app.inject({ method: 'GET', url: `${connectionPath({ tenant })}/access-token`, headers: { authorization: '' } })
  await sql`UPDATE token_sets SET access_token_sealed = set_byte(access_token_sealed, 59, get_byte(access_token_sealed, 59) # 1) WHERE tenant_id = ${tenant}`.execute(
    database.admin,
  )
  await readAccessToken(app, { tenant, user: 'metric-user' })
  await sql`ALTER TABLE audit_events ADD CONSTRAINT refuse_lists CHECK (action <> 'connection.list') NOT VALID`.execute(database.admin)
  t.teardown(() => sql`ALTER TABLE audit_events DROP CONSTRAINT refuse_lists`.execute(database.admin))
  await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/users/metric-user/connections` })

  const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: '' } })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], 'text/plain')
  const text = res.body
  t.match(
    text,
    /secret_vault_http_request_duration_seconds_count\{method="PUT",route="\/v1\/tenants\/:tenantId\/users\/:userId\/connections\/:connectorType\/:connectorId\/token-set",status_code="201"\} 1/,
  )
  t.match(text, /secret_vault_errors_total\{code="token_set.not_found"\} 1/)
  t.match(text, /secret_vault_errors_total\{code="auth.missing_token"\} 1/)
  t.match(text, /secret_vault_errors_total\{code="crypto.integrity"\} 1/, 'integrity failures')
  t.match(text, /secret_vault_audit_write_failures_total 1/)
  t.match(text, /secret_vault_key_provider_calls_total\{operation="generate_data_key",outcome="success"\} 1/)
  t.match(text, /secret_vault_data_key_cache_lookups_total\{result="hit"\} \d+/)
  t.match(text, /secret_vault_data_key_cache_entries 1/)
  t.match(text, /secret_vault_key_provider_state\{state="ok"\} 1/)
  t.match(text, /secret_vault_key_provider_state\{state="unavailable"\} 0/)
  t.match(text, /\nprocess_resident_memory_bytes \d+/, 'process metrics under their standard names')
  t.match(text, /\nnodejs_eventloop_lag_seconds /)
  t.notMatch(text, /secret_vault_process_|secret_vault_nodejs_/)
  t.match(text, /secret_vault_build_info\{version="\d+\.\d+\.\d+",node_version="v24\.[^"]+"\} 1/)
  t.match(text, /secret_vault_connections\{health="active"\} \d+/)
  t.match(text, /secret_vault_data_keys\{state="active"\} [1-9]/)
  for (const forbidden of [tenant, 'metric-user', 'gho_metric_secret', 'github"'])
    t.notMatch(text, forbidden, `no ${forbidden} in any label`)
})

t.test(
  'promtool check metrics accepts a live scrape',
  {
    skip: spawnSync('promtool', ['--version']).error === undefined ? false : "promtool is not installed (CI installs Debian's prometheus)",
  },
  async (t) => {
    const { app } = await buildTestApp(t, database)
    await push(app, { tenant: uniqueTenant('promtool') }, githubPush('gho_promtool'))
    const scrape = (await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: '' } })).body
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8' })
    t.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`)
    t.equal(`${checked.stdout}${checked.stderr}`.trim(), '', 'no lint finding')
  },
)

t.test('a count across tenants: a label that drops out is gone, and a database that cannot count keeps the last', async (t) => {
  const metrics = createMetrics({ countTtlMs: 0 })
  let answer: () => Promise<Record<string, number>> = async () => ({ active: 2, decrypt_only: 1 })
  metrics.observeDataKeys(() => answer())
  const scrape = () => metrics.registry.metrics()
  t.match(await scrape(), /secret_vault_data_keys\{state="decrypt_only"\} 1\n/)
  answer = async () => ({ active: 2 })
  const after = await scrape()
  t.match(after, /secret_vault_data_keys\{state="active"\} 2\n/)
  t.notMatch(after, /state="decrypt_only"/, 'the destroyed version is no longer reported')
  answer = async () => {
    throw new Error('the database is down')
  }
  t.match(await scrape(), /secret_vault_data_keys\{state="active"\} 2\n/, 'the scrape still answers, with the last count')
})
