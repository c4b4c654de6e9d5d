import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp, countRows, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, githubPush, listConnections, push, readAccessToken } from '../support/http.ts'

const database = await openTestDatabase(t)
const ctx = await buildTestApp(t, database)
const { app } = ctx

t.test('push, read, list, delete: the whole life of a token set', async (t) => {
  const tenant = uniqueTenant()
  const pushed = await push(app, { tenant }, githubPush('gho_life1', {}, { expires_in: 3600, refresh_token: 'ghr_life1' }))
  t.equal(pushed.statusCode, 201)
  const body = pushed.json()
  t.equal(body.result, 'created')
  t.match(body.connection, {
    tenant_id: tenant,
    user_id: 'alice',
    connector_type: 'social',
    connector_id: 'github',
    target: 'github',
    provider_subject: '583231',
    token_type: 'Bearer',
    scope: 'repo read:user',
    has_refresh_token: true,
    has_id_token: false,
    state: 'active',
    key_version: 1,
  })
  t.notMatch(pushed.body, 'gho_life1', 'the push response carries no token')
  t.notMatch(pushed.body, 'ghr_life1')

  const read = await readAccessToken(app, { tenant })
  t.equal(read.statusCode, 200)
  t.same(read.json(), { access_token: 'gho_life1', token_type: 'Bearer', scope: 'repo read:user', expires_in: 3600 })
  t.match(
    read.headers,
    { 'cache-control': 'no-store', pragma: 'no-cache', 'x-content-type-options': 'nosniff' },
    'a token answer is never cached (RFC 6749 §5.1)',
  )

  const list = await listConnections(app, tenant)
  t.equal(list.statusCode, 200)
  t.equal(list.json().connections.length, 1)
  t.notMatch(list.body, 'gho_life1', 'metadata only')
  t.notMatch(list.body, 'ghr_life1')

  const deleted = await app.inject({ method: 'DELETE', url: connectionPath({ tenant }) })
  t.same(deleted.json(), { deleted: 1, revocations_scheduled: 0 })
  t.equal((await readAccessToken(app, { tenant })).json().code, 'token_set.not_found')
  const again = await app.inject({ method: 'DELETE', url: connectionPath({ tenant }) })
  t.same(again.json(), { deleted: 0, revocations_scheduled: 0 }, 'deleting again is harmless')
})

t.test('an enterprise SSO connection is identified by its issuer', async (t) => {
  const tenant = uniqueTenant()
  const ref = { tenant, type: 'enterprise_sso', connector: 'okta-main' }
  const res = await push(app, ref, {
    issuer: 'https://acme.okta.com',
    provider_subject: '00u1',
    token_response: { access_token: 'okta_at', token_type: 'Bearer', expires_in: 3600, id_token: 'eyJ.x.y', scope: 'openid profile' },
  })
  t.equal(res.statusCode, 201)
  t.match(res.json().connection, { issuer: 'https://acme.okta.com', target: null, has_id_token: true })
  t.equal((await readAccessToken(app, ref)).json().access_token, 'okta_at')

  const missingIssuer = await push(app, ref, { token_response: { access_token: 'x' } })
  t.equal(missingIssuer.statusCode, 400)
  t.equal(missingIssuer.json().code, 'request.invalid')
  t.match(missingIssuer.json().issues, [{ path: 'body.issuer' }])
  const missingTarget = await push(app, { tenant }, { token_response: { access_token: 'x' } })
  t.match(missingTarget.json(), { code: 'request.invalid', issues: [{ path: 'body.target' }] })
})

t.test('a repeated push is harmless', async (t) => {
  const tenant = uniqueTenant()
  const body = githubPush('gho_repeat', { issued_at: new Date(ctx.clock.now.getTime() - 1000).toISOString() }, { refresh_token: 'ghr_r' })
  const first = await push(app, { tenant }, body)
  const second = await push(app, { tenant }, body)
  t.equal(first.statusCode, 201)
  t.equal(second.statusCode, 200)
  t.equal(second.json().result, 'updated')
  t.equal(second.json().connection.id, first.json().connection.id, 'same token set')
  t.equal(await countRows(database, 'token_sets', tenant), 1)
  t.equal((await readAccessToken(app, { tenant })).json().access_token, 'gho_repeat')
})

t.test('an older push never overwrites a newer one, and says so', async (t) => {
  const tenant = uniqueTenant()
  const now = ctx.clock.now.getTime()
  const newer = await push(app, { tenant }, githubPush('gho_newer', { issued_at: new Date(now - 1_000).toISOString() }))
  const older = await push(app, { tenant }, githubPush('gho_older', { issued_at: new Date(now - 60_000).toISOString() }))
  t.equal(older.statusCode, 200)
  t.equal(older.json().result, 'ignored_stale')
  t.equal(older.json().connection.issued_at, newer.json().connection.issued_at)
  t.equal((await readAccessToken(app, { tenant })).json().access_token, 'gho_newer')
})

t.test('issued_at too far in the future is refused and stores nothing', async (t) => {
  const tenant = uniqueTenant()
  const future = new Date(ctx.clock.now.getTime() + 10 * 60_000).toISOString()
  const res = await push(app, { tenant }, githubPush('gho_future', { issued_at: future }))
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'request.invalid', issues: [{ path: 'body.issued_at' }] })
  t.equal(await countRows(database, 'token_sets', tenant), 0)
})

t.test('a push without a refresh token keeps the stored one', async (t) => {
  const tenant = uniqueTenant()
  await push(app, { tenant }, githubPush('gho_1', {}, { refresh_token: 'ghr_keep' }))
  const second = await push(app, { tenant }, githubPush('gho_2'))
  t.equal(second.json().connection.has_refresh_token, true)
  const third = await push(app, { tenant }, githubPush('gho_3', {}, { refresh_token: null }))
  t.equal(third.json().connection.has_refresh_token, true, 'null is absent too')
  // The kept refresh token still opens under its binding.
  const row = await sql<{
    refresh_token_sealed: Uint8Array
  }>`SELECT refresh_token_sealed FROM token_sets WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.ok(row.rows[0]!.refresh_token_sealed.length > 0)
  t.equal((await readAccessToken(app, { tenant })).json().access_token, 'gho_3')
})

t.test('a push with no stored set and no refresh token stores none', async (t) => {
  const tenant = uniqueTenant()
  const res = await push(app, { tenant }, githubPush('gho_x'))
  t.equal(res.json().connection.has_refresh_token, false)
})

t.test('expires_in as a number, a numeric string, or absent', async (t) => {
  const tenant = uniqueTenant()
  await push(app, { tenant, connector: 'a' }, githubPush('t1', {}, { expires_in: 120 }))
  await push(app, { tenant, connector: 'b' }, githubPush('t2', {}, { expires_in: '120' }))
  await push(app, { tenant, connector: 'c' }, githubPush('t3'))
  t.equal((await readAccessToken(app, { tenant, connector: 'a' })).json().expires_in, 120)
  t.equal((await readAccessToken(app, { tenant, connector: 'b' })).json().expires_in, 120)
  t.equal((await readAccessToken(app, { tenant, connector: 'c' })).json().expires_in, null)
})

t.test('an expired token that cannot be refreshed asks for a reconnect', async (t) => {
  const tenant = uniqueTenant()
  await push(app, { tenant }, githubPush('gho_exp', {}, { expires_in: 60 }))
  const saved = ctx.clock.now
  ctx.clock.now = new Date(saved.getTime() + 61_000)
  t.teardown(() => {
    ctx.clock.now = saved
  })
  const res = await readAccessToken(app, { tenant })
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'token_set.reconnect_required')
  t.notMatch(res.body, 'gho_exp')
})

t.test("a state changed behind the vault's back is refused as tampered; a new sign-in replaces the set", async (t) => {
  const tenant = uniqueTenant()
  await push(app, { tenant }, githubPush('gho_reauth'))
  await sql`UPDATE token_sets SET state = 'reauth_required' WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal((await readAccessToken(app, { tenant })).json().code, 'crypto.integrity', 'the state is bound into the access token')
  const pushedAgain = await push(app, { tenant }, githubPush('gho_back'))
  t.equal(pushedAgain.json().connection.state, 'active', 'a new sign-in clears it')
  t.equal((await readAccessToken(app, { tenant })).json().access_token, 'gho_back')
})

t.test('delete all of a user, and all of a connector', async (t) => {
  const tenant = uniqueTenant()
  await push(app, { tenant, user: 'alice', connector: 'github' }, githubPush('a1'))
  await push(app, { tenant, user: 'alice', connector: 'google' }, githubPush('a2'))
  await push(app, { tenant, user: 'bob', connector: 'github' }, githubPush('b1'))
  await push(app, { tenant, user: 'carol', connector: 'github' }, githubPush('c1'))

  const user = await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant}/users/alice/connections` })
  t.same(user.json(), { deleted: 2, revocations_scheduled: 0 })
  const connector = await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant}/connectors/social/github/token-sets` })
  t.same(connector.json(), { deleted: 2, revocations_scheduled: 0 })
  t.equal(await countRows(database, 'token_sets', tenant), 0)
})

t.test("a tenant can neither read, list nor delete another tenant's sets", async (t) => {
  const owner = uniqueTenant('owner')
  const intruder = uniqueTenant('intruder')
  await push(app, { tenant: owner }, githubPush('gho_owner_secret'))
  await push(app, { tenant: intruder, user: 'mallory' }, githubPush('gho_mallory'))

  const read = await readAccessToken(app, { tenant: intruder })
  t.equal(read.json().code, 'token_set.not_found')
  t.same((await listConnections(app, intruder)).json(), { connections: [] })
  t.same(
    (await app.inject({ method: 'DELETE', url: `/v1/tenants/${intruder}/connectors/social/github/token-sets` })).json(),
    {
      deleted: 1,
      revocations_scheduled: 0,
    },
    'only its own set',
  )
  t.equal(await countRows(database, 'token_sets', owner), 1)
  t.equal((await readAccessToken(app, { tenant: owner })).json().access_token, 'gho_owner_secret')
})

t.test('a ciphertext moved to another row is an integrity error, logged without secrets', async (t) => {
  const tenant = uniqueTenant()
  await push(app, { tenant, user: 'alice' }, githubPush('gho_alice_secret'))
  await push(app, { tenant, user: 'bob' }, githubPush('gho_bob_secret'))
  // An attacker with write access to the table copies alice's sealed token into bob's row.
  await sql`
    UPDATE token_sets SET access_token_sealed = (SELECT access_token_sealed FROM token_sets WHERE tenant_id = ${tenant} AND user_id = 'alice')
    WHERE tenant_id = ${tenant} AND user_id = 'bob'`.execute(database.admin)
  const res = await readAccessToken(app, { tenant, user: 'bob' })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'crypto.integrity')
  t.notMatch(res.body, 'gho_alice_secret')
  const line = ctx.logs.find((entry) => entry.includes('crypto.integrity') && entry.includes(res.json().request_id))
  t.ok(line, 'the failure is logged with its request id')
  t.notMatch(line, 'gho_')
})

t.test('a tampered ciphertext is an integrity error', async (t) => {
  const tenant = uniqueTenant()
  await push(app, { tenant }, githubPush('gho_tamper'))
  await sql`UPDATE token_sets SET access_token_sealed = set_byte(access_token_sealed, 59, get_byte(access_token_sealed, 59) # 1) WHERE tenant_id = ${tenant}`.execute(
    database.admin,
  )
  t.equal((await readAccessToken(app, { tenant })).json().code, 'crypto.integrity')
})

t.test('a ciphertext moved to another key version is an integrity error', async (t) => {
  const tenant = uniqueTenant()
  await push(app, { tenant }, githubPush('gho_version'))
  // A second data-key version (as a rotation makes), then the row claims the new version.
  const existing = await sql<{
    root_key_id: string
    wrapped_key: Uint8Array
  }>`SELECT root_key_id, wrapped_key FROM data_keys WHERE tenant_id = ${tenant}`.execute(database.admin)
  const generated = await ctx.provider.generateDataKey({ tenantId: tenant, version: 2 })
  await sql`UPDATE data_keys SET state = 'decrypt_only' WHERE tenant_id = ${tenant}`.execute(database.admin)
  await sql`INSERT INTO data_keys (tenant_id, version, state, root_key_id, wrapped_key) VALUES (${tenant}, 2, 'active', ${generated.rootKeyId}, ${generated.wrapped})`.execute(
    database.admin,
  )
  await sql`UPDATE token_sets SET key_version = 2 WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.ok(existing.rows.length === 1)
  t.equal((await readAccessToken(app, { tenant })).json().code, 'crypto.integrity')
})

t.test('a push moves the set to the active key version and keeps its refresh token', async (t) => {
  const tenant = uniqueTenant()
  await push(app, { tenant }, githubPush('gho_v1', {}, { refresh_token: 'ghr_carried' }))
  const generated = await ctx.provider.generateDataKey({ tenantId: tenant, version: 2 })
  await sql`UPDATE data_keys SET state = 'decrypt_only' WHERE tenant_id = ${tenant}`.execute(database.admin)
  await sql`INSERT INTO data_keys (tenant_id, version, state, root_key_id, wrapped_key) VALUES (${tenant}, 2, 'active', ${generated.rootKeyId}, ${generated.wrapped})`.execute(
    database.admin,
  )
  const res = await push(app, { tenant }, githubPush('gho_v2'))
  t.equal(res.json().connection.key_version, 2)
  t.equal(res.json().connection.has_refresh_token, true)
  t.equal((await readAccessToken(app, { tenant })).json().access_token, 'gho_v2')
  // The carried refresh token opens under version 2 with its own binding.
  const { open } = await import('../../src/crypto/seal.ts')
  const { tokenSecretAssociatedData } = await import('../../src/crypto/token-binding.ts')
  const row = (
    await sql<{
      id: string
      refresh_token_sealed: Uint8Array
    }>`SELECT id, refresh_token_sealed FROM token_sets WHERE tenant_id = ${tenant}`.execute(database.admin)
  ).rows[0]!
  const ad = tokenSecretAssociatedData(
    { tenantId: tenant, userId: 'alice', connectorType: 'social', connectorId: 'github', tokenSetId: row.id },
    { field: 'refresh_token', authorizationServer: null },
    2,
  )
  t.equal(open(generated.plaintext, row.refresh_token_sealed, ad).toString(), 'ghr_carried')
})

t.test('concurrent pushes to one new connection make one token set', async (t) => {
  const tenant = uniqueTenant()
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => push(app, { tenant }, githubPush(`gho_c${i}`))))
  t.ok(results.every((res) => res.statusCode === 200 || res.statusCode === 201))
  t.equal(results.filter((res) => res.statusCode === 201).length, 1, 'exactly one created')
  t.equal(await countRows(database, 'token_sets', tenant), 1)
  t.equal(await countRows(database, 'data_keys', tenant), 1)
})

t.test('concurrent pushes and reads across tenants and users share statements, each with its own answer', async (t) => {
  const tenants = [uniqueTenant('many'), uniqueTenant('many')]
  const refs = tenants.flatMap((tenant) => Array.from({ length: 12 }, (_, i) => ({ tenant, user: `user-${i}` })))
  const token = (ref: { tenant: string; user: string }) => `gho_${ref.tenant}_${ref.user}`
  const created = await Promise.all(refs.map((ref) => push(app, ref, githubPush(token(ref)))))
  t.same(
    created.map((res) => res.statusCode),
    refs.map(() => 201),
  )
  // Half the users push again while everyone reads, with one unknown connection per tenant among them.
  const [pushed, reads, unknown] = await Promise.all([
    Promise.all(refs.filter((_, i) => i % 2 === 0).map((ref) => push(app, ref, githubPush(`${token(ref)}_2`)))),
    Promise.all(refs.filter((_, i) => i % 2 === 1).map((ref) => readAccessToken(app, ref))),
    Promise.all(tenants.map((tenant) => readAccessToken(app, { tenant, user: 'nobody' }))),
  ])
  t.same(
    pushed.map((res) => res.json().result),
    pushed.map(() => 'updated'),
  )
  t.same(
    reads.map((res) => res.json().access_token),
    refs.filter((_, i) => i % 2 === 1).map(token),
  )
  t.same(
    unknown.map((res) => res.json().code),
    ['token_set.not_found', 'token_set.not_found'],
  )
  const again = await Promise.all(refs.map((ref) => readAccessToken(app, ref)))
  t.same(
    again.map((res) => res.json().access_token),
    refs.map((ref, i) => (i % 2 === 0 ? `${token(ref)}_2` : token(ref))),
  )
})

t.test("every response carries the vault's own request id, whatever the caller sent", async (t) => {
  const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'core-1234' } })
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, "the caller's id is recorded beside it, never instead")
  const generated = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id with spaces' } })
  t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  const error = await app.inject({ method: 'GET', url: '/nope' })
  t.equal(error.json().request_id, error.headers['x-request-id'])
})

t.test('health and readiness', async (t) => {
  t.same((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' })
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ready', checks: { database: { status: 'ok' }, key_provider: { status: 'ok', since: String } } })
  t.notOk('message' in ready.json().checks.key_provider)
})
