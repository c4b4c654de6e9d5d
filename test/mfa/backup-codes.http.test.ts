import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'

/** Backup codes through the API: generate, bind, read back with used_at, consume each exactly once. */
const database = await openTestDatabase(t)
const { app, issuer, clock } = await buildTestApp(t, database)
const url = (tenant: string, path = '') => `/v1/tenants/${tenant}/users/alice/mfa/backup-codes${path}`

async function boundSet(tenant: string): Promise<{ codes: string[]; factorId: string }> {
  const generated = (await app.inject({ method: 'POST', url: url(tenant, '/generate') })).json()
  const bound = await app.inject({ method: 'POST', url: url(tenant, '/bind'), payload: { factor_id: generated.factor.id } })
  if (bound.statusCode !== 200) throw new Error(bound.body)
  return { codes: generated.codes, factorId: generated.factor.id }
}

t.test('a generated set: ten easy-to-type codes, pending until bound, then listed with used_at', async (t) => {
  const tenant = uniqueTenant()
  clock.now = new Date()
  const generated = await app.inject({ method: 'POST', url: url(tenant, '/generate') })
  t.equal(generated.statusCode, 201)
  t.equal(generated.headers['cache-control'], 'no-store')
  const { codes, factor } = generated.json()
  t.equal(codes.length, 10)
  t.equal(new Set(codes).size, 10)
  for (const code of codes) t.match(code, /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/, 'Crockford base32, two groups of five')
  t.equal((await app.inject({ method: 'GET', url: url(tenant) })).json().code, 'mfa.factor_not_found', 'nothing bound yet')

  t.equal((await app.inject({ method: 'POST', url: url(tenant, '/bind'), payload: { factor_id: factor.id } })).statusCode, 200)
  const listed = await app.inject({ method: 'GET', url: url(tenant) })
  t.equal(listed.headers['cache-control'], 'no-store')
  t.same(
    listed.json().codes,
    codes.map((code: string) => ({ code, used_at: null })),
  )

  const typed = codes[3].replace('-', ' ').toUpperCase()
  const consumed = await app.inject({ method: 'POST', url: url(tenant, '/consume'), payload: { code: typed } })
  t.equal(consumed.statusCode, 200, consumed.body)
  t.equal(consumed.json().remaining, 9)
  const after = (await app.inject({ method: 'GET', url: url(tenant) })).json()
  t.equal(after.codes[3].used_at, clock.now.toISOString(), 'the used code says when')
  t.equal(after.codes.filter((c: { used_at: string | null }) => c.used_at !== null).length, 1)
  t.equal(after.factor.codes_used, 1)

  const again = await app.inject({ method: 'POST', url: url(tenant, '/consume'), payload: { code: codes[3] } })
  t.equal(again.statusCode, 422)
  t.equal(again.json().code, 'mfa.code_invalid', 'a code is used once')
  const unknown = await app.inject({ method: 'POST', url: url(tenant, '/consume'), payload: { code: 'zzzzz-zzzzz' } })
  t.equal(unknown.json().code, 'mfa.code_invalid')
})

t.test('20 concurrent uses of one code: exactly one succeeds', async (t) => {
  const tenant = uniqueTenant()
  const { codes } = await boundSet(tenant)
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => app.inject({ method: 'POST', url: url(tenant, '/consume'), payload: { code: codes[0] } })),
  )
  t.equal(answers.filter((a) => a.statusCode === 200).length, 1, 'one success')
  t.ok(
    answers.every((a) => a.statusCode === 200 || ['mfa.code_invalid', 'mfa.locked'].includes(a.json().code)),
    'every other use refused',
  )
  const uses = await sql<{ n: number }>`SELECT count(*)::int AS n FROM mfa_used_codes WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal(uses.rows[0]!.n, 1, 'one use recorded')
})

t.test('regenerating replaces the set atomically, only once bound', async (t) => {
  const tenant = uniqueTenant()
  const first = await boundSet(tenant)
  const pending = (await app.inject({ method: 'POST', url: url(tenant, '/generate') })).json()
  t.same(
    (await app.inject({ method: 'GET', url: url(tenant) })).json().codes.map((c: { code: string }) => c.code),
    first.codes,
    'the bound set stands while the new one is pending',
  )
  t.equal((await app.inject({ method: 'POST', url: url(tenant, '/consume'), payload: { code: first.codes[1] } })).statusCode, 200)
  await app.inject({ method: 'POST', url: url(tenant, '/bind'), payload: { factor_id: pending.factor.id } })
  const listed = (await app.inject({ method: 'GET', url: url(tenant) })).json()
  t.same(
    listed.codes,
    pending.codes.map((code: string) => ({ code, used_at: null })),
    'the new set, unused',
  )
  t.equal(
    (await app.inject({ method: 'POST', url: url(tenant, '/consume'), payload: { code: first.codes[2] } })).json().code,
    'mfa.code_invalid',
  )
  const factors = await sql<{ n: number }>`SELECT count(*)::int AS n FROM mfa_factors WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal(factors.rows[0]!.n, 1, 'the old set and its uses are gone')
})

t.test('scopes: a verifier consumes but cannot read the set; deleting a factor removes it', async (t) => {
  const tenant = uniqueTenant()
  const { codes } = await boundSet(tenant)
  const verifier = { authorization: `Bearer ${await issuer.mint({ scope: 'mfa:verify' })}` }
  const reader = { authorization: `Bearer ${await issuer.mint({ scope: 'mfa:read' })}` }
  t.equal((await app.inject({ method: 'GET', url: url(tenant), headers: verifier })).json().code, 'auth.insufficient_scope')
  t.equal((await app.inject({ method: 'GET', url: url(tenant), headers: reader })).statusCode, 200)
  t.equal(
    (await app.inject({ method: 'POST', url: url(tenant, '/consume'), headers: reader, payload: { code: codes[0] } })).json().code,
    'auth.insufficient_scope',
  )
  t.equal(
    (await app.inject({ method: 'POST', url: url(tenant, '/consume'), headers: verifier, payload: { code: codes[0] } })).statusCode,
    200,
  )
  const deleted = await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant}/users/alice/mfa/backup_codes` })
  t.same(deleted.json(), { deleted: 1 })
  t.equal((await app.inject({ method: 'GET', url: url(tenant) })).json().code, 'mfa.factor_not_found')
  const uses = await sql<{ n: number }>`SELECT count(*)::int AS n FROM mfa_used_codes WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal(uses.rows[0]!.n, 0, 'its uses went with it')
})

t.test('malformed input is refused with its code', async (t) => {
  const tenant = uniqueTenant()
  for (const code of ['', 'x'.repeat(33), 'abc_def', 'ä']) {
    const refused = await app.inject({ method: 'POST', url: url(tenant, '/consume'), payload: { code } })
    t.equal(refused.json().code, 'request.invalid', JSON.stringify(code))
  }
  t.equal((await app.inject({ method: 'POST', url: url(tenant, '/bind'), payload: {} })).json().code, 'request.invalid')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant}/users/alice/mfa/sms` })).json().code, 'request.invalid')
})
