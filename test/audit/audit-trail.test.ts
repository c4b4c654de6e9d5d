import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, githubPush, push, readAccessToken } from '../support/http.ts'

const database = await openTestDatabase(t)
const ctx = await buildTestApp(t, database)
const { app, issuer } = ctx

async function auditOf(tenant: string) {
  const res = await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/audit-events?limit=500` })
  t.equal(res.statusCode, 200)
  return res.json().events as Array<Record<string, unknown>>
}

t.test('every push, read, list and delete leaves one event, newest first, never a token', async (t) => {
  const tenant = uniqueTenant()
  const caller = `Bearer ${await issuer.mint({ client_id: 'identity-core' })}`
  await app.inject({
    method: 'PUT',
    url: `${connectionPath({ tenant })}/token-set`,
    headers: { authorization: caller },
    payload: githubPush('gho_audited', {}, { refresh_token: 'ghr_audited' }),
  })
  await readAccessToken(app, { tenant })
  await readAccessToken(app, { tenant, user: 'ghost' })
  await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/users/alice/connections` })
  await app.inject({ method: 'DELETE', url: connectionPath({ tenant }) })
  const events = await auditOf(tenant)
  t.match(events.slice(0, 5).reverse(), [
    {
      action: 'token_set.push',
      outcome: 'success',
      client_id: 'identity-core',
      user_id: 'alice',
      connector_type: 'social',
      connector_id: 'github',
      key_version: 1,
      error_code: null,
    },
    { action: 'token_set.read', outcome: 'success', key_version: 1 },
    { action: 'token_set.read', outcome: 'failed', error_code: 'token_set.not_found', user_id: 'ghost', key_version: null },
    { action: 'connection.list', outcome: 'success' },
    { action: 'token_set.delete', outcome: 'success' },
  ])
  t.ok(
    events.every((event) => typeof event.request_id === 'string' && /^[0-9a-f-]{36}$/.test(event.request_id as string)),
    "the vault's own request ids",
  )
  const raw = await sql`SELECT * FROM audit_events WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.notMatch(JSON.stringify(raw.rows), /gho_|ghr_/, 'no token in any audit column')
})

t.test('a push commits its event with the token set: once on every path, and never one without the other', async (t) => {
  const tenant = uniqueTenant()
  const pushAs = (requestId: string, body: unknown, user = 'alice', tenantId = tenant) =>
    app.inject({
      method: 'PUT',
      url: `${connectionPath({ tenant: tenantId, user })}/token-set`,
      headers: { 'x-request-id': requestId },
      payload: body as object,
    })
  const earlier = new Date(Date.now() - 60_000).toISOString()
  // A new tenant (the transactional path), then an update and a stale push (the batched path).
  t.equal((await pushAs('push-1', githubPush('gho_1'))).statusCode, 201)
  t.equal((await pushAs('push-2', githubPush('gho_2'))).json().result, 'updated')
  t.equal((await pushAs('push-3', githubPush('gho_3', { issued_at: earlier }))).json().result, 'ignored_stale')
  const pushes = (await auditOf(tenant)).filter((event) => event.action === 'token_set.push').reverse()
  t.match(pushes, [
    { caller_request_id: 'push-1', outcome: 'success', user_id: 'alice', key_version: 1 },
    { caller_request_id: 'push-2', outcome: 'success', user_id: 'alice', key_version: 1 },
    { caller_request_id: 'push-3', outcome: 'success', user_id: 'alice', key_version: 1 },
  ])
  t.equal(pushes.length, 3, 'one event per push')

  // The trail refuses push events from now on: no push may land.
  await sql`ALTER TABLE audit_events ADD CONSTRAINT refuse_pushes CHECK (action <> 'token_set.push' OR outcome <> 'success') NOT VALID`.execute(
    database.admin,
  )
  t.teardown(() => sql`ALTER TABLE audit_events DROP CONSTRAINT refuse_pushes`.execute(database.admin))
  const newTenant = uniqueTenant()
  const refused = [
    await pushAs('refused-update', githubPush('gho_unrecorded')),
    await pushAs('refused-new-user', githubPush('gho_unrecorded'), 'bob'),
    await pushAs('refused-new-tenant', githubPush('gho_unrecorded'), 'alice', newTenant),
  ]
  t.same(
    refused.map((res) => [res.statusCode, res.json().code]),
    refused.map(() => [500, 'internal']),
  )
  t.notMatch(refused.map((res) => res.body).join(), 'gho_')
  t.equal((await readAccessToken(app, { tenant })).json().access_token, 'gho_2', 'the update did not land')
  t.equal((await readAccessToken(app, { tenant, user: 'bob' })).json().code, 'token_set.not_found')
  t.equal((await readAccessToken(app, { tenant: newTenant })).json().code, 'token_set.not_found')
  const failed = (await auditOf(tenant)).filter((event) => String(event.caller_request_id).startsWith('refused-'))
  t.same(
    failed.map((event) => [event.outcome, event.error_code]).sort(),
    [
      ['failed', 'internal'],
      ['failed', 'internal'],
    ],
    'recorded as failures',
  )
})

t.test('a read leaves one event with its outcome, whichever path it takes', async (t) => {
  const tenant = uniqueTenant()
  const readAs = (requestId: string, user: string, query = '') =>
    app.inject({ method: 'GET', url: `${connectionPath({ tenant, user })}/access-token${query}`, headers: { 'x-request-id': requestId } })
  const at = ctx.clock.now.getTime()
  const issuedAgo = (seconds: number) => ({ issued_at: new Date(at - seconds * 1000).toISOString() })
  await push(app, { tenant, user: 'stored' }, githubPush('gho_stored'))
  // Valid for two more minutes and without a refresh token: not due, served, but inside the refresh margin.
  await push(app, { tenant, user: 'short-lived' }, githubPush('gho_short', {}, { expires_in: 120 }))
  await push(app, { tenant, user: 'expired' }, githubPush('gho_expired', issuedAgo(600), { expires_in: 60 }))
  await push(app, { tenant, user: 'reauth' }, githubPush('gho_reauth'))
  await sql`UPDATE token_sets SET state = 'reauth_required' WHERE tenant_id = ${tenant} AND user_id = 'reauth'`.execute(database.admin)
  await push(app, { tenant, user: 'tampered' }, githubPush('gho_tampered'))
  await sql`UPDATE token_sets SET access_token_sealed = set_byte(access_token_sealed, 40, get_byte(access_token_sealed, 40) # 1)
    WHERE tenant_id = ${tenant} AND user_id = 'tampered'`.execute(database.admin)

  const answers = {
    'read-stored': await readAs('read-stored', 'stored'),
    'read-scoped': await readAs('read-scoped', 'stored', '?required_scopes=repo'),
    'read-short-lived': await readAs('read-short-lived', 'short-lived'),
    'read-unscoped': await readAs('read-unscoped', 'stored', '?required_scopes=repo,admin:org'),
    'read-expired': await readAs('read-expired', 'expired'),
    'read-reauth': await readAs('read-reauth', 'reauth'),
    'read-missing': await readAs('read-missing', 'nobody'),
    'read-tampered': await readAs('read-tampered', 'tampered'),
  }
  // The state flipped in SQL is tampering: the state is bound into the access token.
  t.same(
    Object.values(answers).map((res) => res.statusCode),
    [200, 200, 200, 409, 409, 500, 404, 500],
  )
  const reads = (await auditOf(tenant)).filter((event) => event.action === 'token_set.read').reverse()
  const outcomes = (requestId: string) =>
    reads.filter((e) => e.caller_request_id === requestId).map((e) => [e.outcome, e.error_code, e.key_version])
  t.same(outcomes('read-stored'), [['success', null, 1]])
  t.same(outcomes('read-scoped'), [['success', null, 1]])
  t.same(outcomes('read-short-lived'), [['success', null, 1]], 'served as stored, recorded by the statement that decided it')
  t.same(outcomes('read-unscoped'), [['failed', 'token_set.insufficient_scope', null]])
  t.same(outcomes('read-expired'), [['failed', 'token_set.reconnect_required', null]])
  t.same(outcomes('read-reauth'), [['failed', 'crypto.integrity', null]])
  t.same(outcomes('read-missing'), [['failed', 'token_set.not_found', null]])
  // The statement released the sealed token (recorded), then it would not open: the failure follows.
  t.same(outcomes('read-tampered'), [
    ['success', null, 1],
    ['failed', 'crypto.integrity', null],
  ])
  t.equal(reads.length, 9)
})

t.test("a caller's x-request-id is recorded beside the vault's own, never instead, and only when well-formed", async (t) => {
  const tenant = uniqueTenant()
  const ids: string[] = []
  for (const header of ['core-7f3a', 'bad id with spaces', 'x'.repeat(129)]) {
    const res = await app.inject({
      method: 'GET',
      url: `/v1/tenants/${tenant}/users/alice/connections`,
      headers: { 'x-request-id': header },
    })
    t.not(res.headers['x-request-id'], header, "the answer carries the vault's id")
    ids.push(String(res.headers['x-request-id']))
  }
  const events = (await auditOf(tenant)).filter((event) => event.action === 'connection.list').reverse()
  t.same(
    events.map((event) => [event.request_id, event.caller_request_id]),
    [
      [ids[0], 'core-7f3a'],
      [ids[1], null],
      [ids[2], null],
    ],
  )
})

t.test('requests without a valid token leave nothing in the trail of the tenant they name', async (t) => {
  const tenant = uniqueTenant('victim')
  for (let i = 0; i < 20; i++) {
    const res = await app.inject({
      method: 'GET',
      url: `/v1/tenants/${tenant}/users/u${i}/connections/social/github/access-token`,
      headers: { authorization: '', 'x-request-id': `flood-${i}` },
    })
    t.equal(res.statusCode, 401)
  }
  const written = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal(written.rows[0]!.n, 0)
  t.match(
    (await app.inject({ method: 'GET', url: '/metrics' })).body,
    /secret_vault_caller_refusals_total\{reason="missing"\} (\d+)/,
    'they are counted instead',
  )
})

t.test('filters and cursor pagination', async (t) => {
  const tenant = uniqueTenant()
  for (let i = 0; i < 7; i++) await push(app, { tenant, user: `u${i % 2}` }, githubPush(`gho_${i}`))
  await readAccessToken(app, { tenant, user: 'u0' })
  const byUser = await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/audit-events?user_id=u1&action=token_set.push` })
  t.equal(byUser.json().events.length, 3)
  t.ok(byUser.json().events.every((e: any) => e.user_id === 'u1' && e.action === 'token_set.push'))
  const byOutcome = await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/audit-events?outcome=failed` })
  t.same(byOutcome.json().events, [])

  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const url: string = `/v1/tenants/${tenant}/audit-events?limit=3${cursor ? `&cursor=${cursor}` : ''}`
    const page: { events: Array<{ id: string }>; next_cursor: string | null } = (await app.inject({ method: 'GET', url })).json()
    seen.push(...page.events.map((e) => e.id))
    cursor = page.next_cursor
    pages += 1
  } while (cursor !== null && pages < 10)
  // 8 operations, plus the 2 listings above and the listings of the earlier pages.
  t.equal(new Set(seen).size, seen.length, 'no event twice')
  t.same(
    seen,
    [...seen].sort((a, b) => Number(b) - Number(a)),
    'newest first',
  )
  t.ok(seen.length >= 10)

  const future = encodeURIComponent(new Date(Date.now() + 60_000).toISOString())
  t.same((await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/audit-events?since=${future}` })).json().events, [])
  const past = encodeURIComponent(new Date(Date.now() - 60_000).toISOString())
  t.same((await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/audit-events?until=${past}` })).json().events, [])
})

t.test('malformed audit queries are refused with their code', async (t) => {
  const tenant = uniqueTenant()
  for (const [query, path] of [
    ['limit=0', 'query.limit'],
    ['limit=501', 'query.limit'],
    ['outcome=maybe', 'query.outcome'],
    ['action=token_set.steal', 'query.action'],
    ['since=yesterday', 'query.since'],
    ['cursor=%2F%2F', 'query.cursor'],
    ['cursor=bm90LWEtbnVtYmVy', 'query.cursor'],
    // Cursors decoding to ids a bigint cannot hold, or to no id at all: never a 500 from the database.
    [`cursor=${Buffer.from('9999999999999999999').toString('base64url')}`, 'query.cursor'],
    [`cursor=${Buffer.from('9223372036854775808').toString('base64url')}`, 'query.cursor'],
    [`cursor=${Buffer.from('0').toString('base64url')}`, 'query.cursor'],
    ['unknown=1', 'query'],
  ] as const) {
    const res = await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/audit-events?${query}` })
    t.equal(res.statusCode, 400, query)
    t.equal(res.json().code, 'request.invalid', query)
    t.ok(
      res.json().issues.some((issue: { path: string }) => issue.path === path),
      `${query} → ${path}`,
    )
  }
})

t.test("a tenant's audit trail is its own", async (t) => {
  const mine = uniqueTenant()
  const theirs = uniqueTenant()
  await push(app, { tenant: theirs }, githubPush('gho_theirs'))
  const bound = `Bearer ${await issuer.mint({ scope: 'audit:read', tenant_ids: [mine] })}`
  t.equal(
    (await app.inject({ method: 'GET', url: `/v1/tenants/${theirs}/audit-events`, headers: { authorization: bound } })).json().code,
    'auth.tenant_forbidden',
  )
  const own = await app.inject({ method: 'GET', url: `/v1/tenants/${mine}/audit-events`, headers: { authorization: bound } })
  t.ok(
    own.json().events.every((e: any) => e.action === 'audit.list'),
    'only its own listing events',
  )
})

t.test('when the audit trail cannot be written, no token leaves the vault', async (t) => {
  const tenant = uniqueTenant()
  await push(app, { tenant }, githubPush('gho_unaudited'))
  await sql`ALTER TABLE audit_events ADD CONSTRAINT refuse_reads CHECK (action <> 'token_set.read') NOT VALID`.execute(database.admin)
  t.teardown(() => sql`ALTER TABLE audit_events DROP CONSTRAINT refuse_reads`.execute(database.admin))
  // Recorded by the statement that decides the read: it fails whole, and nothing is answered.
  const fetched = await readAccessToken(app, { tenant })
  t.equal(fetched.statusCode, 500)
  t.equal(fetched.json().code, 'internal')
  t.notMatch(fetched.body, 'gho_unaudited')
  // A request the hook records (here: a listing) is answered 503, retryable, when its event cannot be written.
  await sql`ALTER TABLE audit_events DROP CONSTRAINT refuse_reads`.execute(database.admin)
  await sql`ALTER TABLE audit_events ADD CONSTRAINT refuse_reads CHECK (action <> 'connection.list') NOT VALID`.execute(database.admin)
  const res = await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/users/alice/connections` })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'service.unavailable')
  t.equal(res.headers['retry-after'], '1')
  t.ok(ctx.logs.some((line) => line.includes('audit event could not be written')))
})
