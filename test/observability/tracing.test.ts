import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace'
import t from 'tap'
import { startTracing, statementSummary, tracingEnabled } from '../../src/observability/tracing.ts'
import { openTestDatabase } from '../support/helper.ts'
import { connectionPath } from '../support/http.ts'
import { CLIENT_SECRET, HOUR_MS, refreshScenario, tokens } from '../support/refresh-scenario.ts'

/**
 * Traces as an operator gets them with OTEL_* set: a server span per request continuing the caller's
 * trace, database, key-provider and provider spans beneath it, the trace id in the request's log lines,
 * and no secret in any span — tested with an in-memory exporter in place of OTLP.
 */
const exporter = new InMemorySpanExporter()
const tracing = startTracing({}, { processor: new SimpleSpanProcessor({ exporter }) })
t.teardown(() => tracing?.shutdown())
const database = await openTestDatabase(t)

t.test('off unless the standard variables turn it on', async (t) => {
  t.equal(tracingEnabled({}), false)
  t.equal(tracingEnabled({ OTEL_SERVICE_NAME: 'vault' }), false, 'a name alone exports nothing')
  t.equal(tracingEnabled({ OTEL_TRACES_EXPORTER: 'otlp' }), true)
  t.equal(tracingEnabled({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), false)
  t.equal(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true)
  t.equal(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), true)
  t.equal(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }), false)
})

t.test('a statement is named by its operation and the table or function it names, never its text', async (t) => {
  t.same(statementSummary('select * from vault_read_token_sets($1::jsonb)'), {
    operation: 'SELECT',
    summary: 'SELECT vault_read_token_sets',
  })
  t.same(statementSummary('update "token_sets" set "state" = $1 where "id" = $2'), { operation: 'UPDATE', summary: 'UPDATE token_sets' })
  t.same(statementSummary('insert into "user_secrets" ("tenant_id") values ($1)'), { operation: 'INSERT', summary: 'INSERT user_secrets' })
  t.same(statementSummary("SELECT set_config('role', 'secret_vault_app', true)"), { operation: 'SELECT', summary: 'SELECT' })
})

t.test('a refreshing read: one trace from the caller through the vault to the database, KMS and the provider', async (t) => {
  const s = await refreshScenario(t, database)
  s.fake.answer = () => tokens('gho_traced_new', { refresh_token: 'ghr_traced_new' })
  s.advance(HOUR_MS)
  s.keyRing.forgetTenant(s.tenant)
  exporter.reset()
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const read = await s.app.inject({
    method: 'GET',
    url: `${connectionPath({ tenant: s.tenant })}/access-token`,
    headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
  })
  t.equal(read.json().access_token, 'gho_traced_new')
  const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId)
  const server = spans.find(
    (span) => span.name === 'GET /v1/tenants/:tenantId/users/:userId/connections/:connectorType/:connectorId/access-token',
  )
  t.ok(server, 'a server span named by the route template')
  t.equal(server!.parentSpanContext?.spanId, '00f067aa0ba902b7', "it continues the caller's trace")
  t.match(server!.attributes, { 'http.request.method': 'GET', 'http.response.status_code': 200 })
  const names = spans.map((span) => span.name)
  t.ok(
    names.some((name) => name.startsWith('SELECT vault_')),
    'database statements',
  )
  t.ok(names.includes('key_provider decrypt_data_key'), 'the key provider call (a cold data-key cache)')
  t.ok(names.includes('oauth refresh_token'), 'the provider call')
  const provider = spans.find((span) => span.name === 'oauth refresh_token')!
  t.match(provider.attributes, { 'server.address': '127.0.0.1', 'http.response.status_code': 200 })
  const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]))
  const rootOf = (span: ReadableSpan): ReadableSpan => {
    const parent = span.parentSpanContext === undefined ? undefined : byId.get(span.parentSpanContext.spanId)
    return parent === undefined ? span : rootOf(parent)
  }
  t.ok(
    spans.every((span) => rootOf(span) === server),
    'every span of the request is beneath its server span',
  )

  const lines = s.logs.filter((line) => line.includes(traceId))
  t.ok(lines.length > 0, 'the request logs with its trace id')
  t.ok(
    lines.every((line) => line.includes('"trace_id"')),
    'as trace_id',
  )

  const everything = JSON.stringify(exporter.getFinishedSpans().map((span) => [span.name, span.attributes, span.events]))
  for (const secret of ['gho_old', 'ghr_old', 'gho_traced_new', 'ghr_traced_new', CLIENT_SECRET, s.tenant, 'alice'])
    t.notOk(everything.includes(secret), `no ${secret} in any span`)
})

t.test('an error answer marks the server span with its code', async (t) => {
  const s = await refreshScenario(t, database)
  exporter.reset()
  const missing = await s.app.inject({ method: 'GET', url: `${connectionPath({ tenant: s.tenant, user: 'nobody' })}/access-token` })
  t.equal(missing.statusCode, 404)
  const server = exporter.getFinishedSpans().find((span) => span.attributes['http.route'] !== undefined)
  t.match(server?.attributes, { 'http.response.status_code': 404, 'error.type': 'token_set.not_found' })
})
