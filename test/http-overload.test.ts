import t from 'tap'
import { buildTestApp, openTestDatabase, uniqueTenant } from './support/helper.ts'
import { githubPush, push } from './support/http.ts'

const database = await openTestDatabase(t)

t.test('under pressure, API requests are shed with 503 and Retry-After; probes still answer', async (t) => {
  // A heap limit of one byte puts the process under pressure from the first sample.
  const { app } = await buildTestApp(t, database, {
    overload: {
      maxEventLoopDelayMs: 0,
      maxEventLoopUtilization: 0,
      maxHeapUsedBytes: 1,
      retryAfterSeconds: 7,
      requestTimeoutMs: 30_000,
      sampleIntervalMs: 5,
    },
  })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const tenant = uniqueTenant()
  const res = await push(app, { tenant }, githubPush('gho_shed'))
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'service.unavailable')
  t.equal(res.headers['retry-after'], '7')
  t.equal(res.json().request_id, res.headers['x-request-id'])
  // A shed request must never reach its handler; give a stray handler time to store what it would.
  await new Promise((resolve) => setTimeout(resolve, 200))
  const stored = await database.admin.selectFrom('token_sets').select('id').where('tenant_id', '=', tenant).execute()
  t.same(stored, [], 'nothing stored')
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200)
})

t.test('with room to spare, nothing is shed', async (t) => {
  const { app } = await buildTestApp(t, database)
  t.equal((await push(app, { tenant: uniqueTenant() }, githubPush('gho_ok'))).statusCode, 201)
})
