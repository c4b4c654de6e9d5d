import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { base32Decode, totp } from '../support/reference-totp.ts'

/**
 * TOTP through the API as the Account API drives it: a seed the vault generated, codes computed by the
 * tests' own RFC 6238 implementation (never the vault's library), time moved by the app's clock.
 */
const database = await openTestDatabase(t)
const ctx = await buildTestApp(t, database)
const { app, clock, issuer } = ctx
const STEP = 30_000
// Mid-step, so that ±1 step is unambiguous.
const startOfStep = (at: number) => new Date(Math.floor(at / STEP) * STEP + 10_000)

const mfaUrl = (tenant: string, user = 'alice') => `/v1/tenants/${tenant}/users/${user}/mfa`
const post = (url: string, payload: unknown = {}, authorization?: string) =>
  app.inject({ method: 'POST', url, payload: payload as object, ...(authorization ? { headers: { authorization } } : {}) })

async function enrol(tenant: string, user = 'alice') {
  const generated = await post(`${mfaUrl(tenant, user)}/totp/generate`, { issuer: 'Acme', account_name: `${user}@example.com` })
  if (generated.statusCode !== 201) throw new Error(generated.body)
  const body = generated.json()
  return { body, key: base32Decode(body.secret as string), response: generated }
}

t.test('enrol with a generated seed, bind with the current code, then verify by the RFC', async (t) => {
  const tenant = uniqueTenant()
  clock.now = startOfStep(Date.now())
  const { body, key, response } = await enrol(tenant)
  t.equal(response.headers['cache-control'], 'no-store', 'the seed is never cached')
  t.match(body.secret, /^[A-Z2-7]{32}$/, '160 bits in base32')
  const uri = new URL(body.otpauth_uri)
  t.equal(uri.protocol, 'otpauth:')
  t.equal(uri.host, 'totp')
  t.equal(decodeURIComponent(uri.pathname), '/Acme:alice@example.com')
  t.same(
    {
      secret: uri.searchParams.get('secret'),
      issuer: uri.searchParams.get('issuer'),
      algorithm: uri.searchParams.get('algorithm'),
      digits: uri.searchParams.get('digits'),
      period: uri.searchParams.get('period'),
    },
    { secret: body.secret, issuer: 'Acme', algorithm: 'SHA1', digits: '6', period: '30' },
  )
  t.match(body.qr_code_svg, /^<svg[\s\S]*<\/svg>$/, 'a QR code as SVG')
  t.equal(body.factor.state, 'pending')
  t.equal(new Date(body.factor.expires_at).getTime() - clock.now.getTime(), 600_000, 'a pending enrolment lives ten minutes')

  const verifyUrl = `${mfaUrl(tenant)}/totp/verify`
  const beforeBind = await post(verifyUrl, { code: totp(key, clock.now) })
  t.equal(beforeBind.json().code, 'mfa.factor_not_found', 'a pending factor verifies nothing')

  const bound = await post(`${mfaUrl(tenant)}/totp/bind`, { factor_id: body.factor.id, code: totp(key, clock.now) })
  t.equal(bound.statusCode, 200, bound.body)
  t.equal(bound.json().state, 'bound')
  t.equal(bound.json().expires_at, null)

  const code = (offset: number) => post(verifyUrl, { code: totp(key, clock.now, offset) })
  t.equal((await code(-1)).statusCode, 200, 'the previous step verifies')
  t.equal((await code(1)).statusCode, 200, 'the next step verifies')
  for (const [offset, what] of [
    [0, 'the step used to bind'],
    [-1, 'a reused step'],
    [2, 'two steps ahead'],
    [-2, 'two steps behind'],
  ] as const) {
    const refused = await code(offset)
    t.equal(refused.statusCode, 422, what)
    t.equal(refused.json().code, 'mfa.code_invalid', what)
  }

  clock.now = new Date(clock.now.getTime() + 3 * STEP)
  const accepted = await code(0)
  t.equal(accepted.statusCode, 200, 'a fresh step verifies, and clears the failures before it')
  t.equal(accepted.json().factor.last_used_at, clock.now.toISOString())
})

t.test('the sixth failed attempt in a row is locked out with Retry-After, even with a right code', async (t) => {
  const tenant = uniqueTenant()
  clock.now = startOfStep(Date.now())
  const { body, key } = await enrol(tenant)
  t.equal((await post(`${mfaUrl(tenant)}/totp/bind`, { factor_id: body.factor.id, code: totp(key, clock.now) })).statusCode, 200)
  clock.now = new Date(clock.now.getTime() + 5 * STEP)
  const wrong = totp(key, clock.now, 5)
  for (let attempt = 1; attempt <= 5; attempt++) {
    const refused = await post(`${mfaUrl(tenant)}/totp/verify`, { code: wrong })
    t.equal(refused.json().code, 'mfa.code_invalid', `attempt ${attempt}`)
  }
  const locked = await post(`${mfaUrl(tenant)}/totp/verify`, { code: totp(key, clock.now) })
  t.equal(locked.statusCode, 429)
  t.equal(locked.json().code, 'mfa.locked')
  t.equal(locked.headers['retry-after'], '30')
  const otherUser = await post(`${mfaUrl(tenant, 'bob')}/totp/verify`, { code: wrong })
  t.equal(otherUser.json().code, 'mfa.factor_not_found', 'the lock is per user')

  clock.now = new Date(clock.now.getTime() + 31_000)
  const afterLock = await post(`${mfaUrl(tenant)}/totp/verify`, { code: wrong })
  t.equal(afterLock.json().code, 'mfa.code_invalid', 'the lock has ended; the attempt counts')
  const longer = await post(`${mfaUrl(tenant)}/totp/verify`, { code: totp(key, clock.now) })
  t.equal(longer.statusCode, 429, 'a failure after a lock locks again at once')
  t.equal(longer.headers['retry-after'], '60', 'for twice as long')

  clock.now = new Date(clock.now.getTime() + 61_000)
  t.equal((await post(`${mfaUrl(tenant)}/totp/verify`, { code: totp(key, clock.now) })).statusCode, 200, 'a right code after the lock')
  const counts = await sql<{ failures: number; locked_until: Date | null }>`
    SELECT failures, locked_until FROM mfa_attempts WHERE tenant_id = ${tenant} AND user_id = 'alice'`.execute(database.admin)
  t.same(counts.rows, [{ failures: 0, locked_until: null }], 'a success starts the count again')
})

t.test('concurrent guesses cannot pass the limit: each is counted before it is checked', async (t) => {
  const tenant = uniqueTenant()
  clock.now = startOfStep(Date.now())
  const { body, key } = await enrol(tenant)
  await post(`${mfaUrl(tenant)}/totp/bind`, { factor_id: body.factor.id, code: totp(key, clock.now) })
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, i) => post(`${mfaUrl(tenant)}/totp/verify`, { code: String(i).padStart(6, '9') })),
  )
  const codes = answers.map((answer) => answer.json().code as string)
  t.equal(codes.filter((code) => code === 'mfa.code_invalid').length, 5, 'five were checked')
  t.equal(codes.filter((code) => code === 'mfa.locked').length, 25, 'the rest were refused unchecked')
})

t.test('two replicas on one database: a code is accepted once, and guesses on both count toward one limit', async (t) => {
  // Another process: its own data-key cache and in-process state, the same root key and database.
  const replica = await buildTestApp(t, database, { provider: ctx.provider })
  const tenant = uniqueTenant()
  clock.now = startOfStep(Date.now())
  replica.clock.now = clock.now
  const { body, key } = await enrol(tenant)
  await post(`${mfaUrl(tenant)}/totp/bind`, { factor_id: body.factor.id, code: totp(key, clock.now) })
  const verifyUrl = `${mfaUrl(tenant)}/totp/verify`
  const next = { code: totp(key, clock.now, 1) }
  // Four, so that the refused uses stay under the limit of five in a row.
  const uses = await Promise.all(
    Array.from({ length: 4 }, (_, i) => (i % 2 === 0 ? app : replica.app).inject({ method: 'POST', url: verifyUrl, payload: next })),
  )
  t.same(uses.map((answer) => answer.statusCode).sort(), [200, 422, 422, 422], 'one of four, across both replicas')
  clock.now = new Date(clock.now.getTime() + 2 * STEP)
  replica.clock.now = clock.now
  t.equal(
    (await replica.app.inject({ method: 'POST', url: verifyUrl, payload: { code: totp(key, clock.now) } })).statusCode,
    200,
    'the count starts again',
  )

  const guesses = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      (i % 2 === 0 ? app : replica.app).inject({ method: 'POST', url: verifyUrl, payload: { code: String(i).padStart(6, '9') } }),
    ),
  )
  const codes = guesses.map((answer) => answer.json().code as string)
  t.equal(codes.filter((code) => code === 'mfa.code_invalid').length, 5, 'five checked in all')
  t.equal(codes.filter((code) => code === 'mfa.locked').length, 15)
})

t.test('re-enrolment replaces the factor only when the new one is bound', async (t) => {
  const tenant = uniqueTenant()
  clock.now = startOfStep(Date.now())
  const first = await enrol(tenant)
  await post(`${mfaUrl(tenant)}/totp/bind`, { factor_id: first.body.factor.id, code: totp(first.key, clock.now) })
  const second = await enrol(tenant)
  clock.now = new Date(clock.now.getTime() + 2 * STEP)
  t.equal((await post(`${mfaUrl(tenant)}/totp/verify`, { code: totp(first.key, clock.now) })).statusCode, 200, 'the old factor still works')
  const listed = await app.inject({ method: 'GET', url: mfaUrl(tenant) })
  t.same(
    listed.json().factors.map((f: { type: string; state: string }) => `${f.type}:${f.state}`),
    ['totp:bound', 'totp:pending'],
  )
  clock.now = new Date(clock.now.getTime() + 2 * STEP)
  const rebound = await post(`${mfaUrl(tenant)}/totp/bind`, { factor_id: second.body.factor.id, code: totp(second.key, clock.now) })
  t.equal(rebound.statusCode, 200)
  clock.now = new Date(clock.now.getTime() + 2 * STEP)
  t.equal(
    (await post(`${mfaUrl(tenant)}/totp/verify`, { code: totp(first.key, clock.now) })).json().code,
    'mfa.code_invalid',
    'the old seed is gone',
  )
  t.equal((await post(`${mfaUrl(tenant)}/totp/verify`, { code: totp(second.key, clock.now) })).statusCode, 200, 'the new one works')
  const rebindAgain = await post(`${mfaUrl(tenant)}/totp/bind`, { factor_id: second.body.factor.id, code: totp(second.key, clock.now, 1) })
  t.equal(rebindAgain.json().code, 'mfa.factor_not_found', 'an enrolment binds once')
})

t.test('an enrolment that expired, or a wrong code, binds nothing', async (t) => {
  const tenant = uniqueTenant()
  clock.now = startOfStep(Date.now())
  const { body, key } = await enrol(tenant)
  const wrong = await post(`${mfaUrl(tenant)}/totp/bind`, { factor_id: body.factor.id, code: totp(key, clock.now, 3) })
  t.equal(wrong.json().code, 'mfa.code_invalid')
  clock.now = new Date(clock.now.getTime() + 601_000)
  const late = await post(`${mfaUrl(tenant)}/totp/bind`, { factor_id: body.factor.id, code: totp(key, clock.now) })
  t.equal(late.json().code, 'mfa.factor_not_found')
  const stored = await sql<{ state: string }>`SELECT state FROM mfa_factors WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.same(stored.rows, [{ state: 'pending' }], 'nothing was bound')
})

t.test("a pending factor made bound behind the vault's back does not open", async (t) => {
  const tenant = uniqueTenant()
  clock.now = startOfStep(Date.now())
  const { key } = await enrol(tenant)
  await sql`UPDATE mfa_factors SET state = 'bound', expires_at = NULL WHERE tenant_id = ${tenant}`.execute(database.admin)
  const verified = await post(`${mfaUrl(tenant)}/totp/verify`, { code: totp(key, clock.now) })
  t.equal(verified.statusCode, 500)
  t.equal(verified.json().code, 'crypto.integrity')
})

t.test('malformed input is refused with its code, and counts no attempt', async (t) => {
  const tenant = uniqueTenant()
  for (const [payload, path] of [
    [{ code: '12345' }, 'body.code'],
    [{ code: '1234567' }, 'body.code'],
    [{ code: 'abcdef' }, 'body.code'],
    [{ code: 123456 }, 'body.code'],
    [{}, 'body.code'],
    [{ code: '123456', extra: 1 }, 'body'],
  ] as const) {
    const refused = await post(`${mfaUrl(tenant)}/totp/verify`, payload)
    t.equal(refused.json().code, 'request.invalid', JSON.stringify(payload))
    t.match(refused.json().issues[0].path, path)
  }
  for (const payload of [{ issuer: '', account_name: 'a' }, { issuer: 'Acme' }, { issuer: 'A\u0000', account_name: 'a' }]) {
    t.equal((await post(`${mfaUrl(tenant)}/totp/generate`, payload)).json().code, 'request.invalid', JSON.stringify(payload))
  }
  t.equal((await post(`${mfaUrl(tenant)}/totp/bind`, { factor_id: 'nope', code: '123456' })).json().code, 'request.invalid')
  const attempts = await sql`SELECT 1 FROM mfa_attempts WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal(attempts.rows.length, 0)
  const factors = await sql`SELECT 1 FROM mfa_factors WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal(factors.rows.length, 0, 'nothing stored')
})

t.test('a verifier cannot enrol or read a seed; the seed never reaches a log or the audit trail', async (t) => {
  const tenant = uniqueTenant()
  clock.now = startOfStep(Date.now())
  const { body, key } = await enrol(tenant)
  await post(`${mfaUrl(tenant)}/totp/bind`, { factor_id: body.factor.id, code: totp(key, clock.now) })
  const verifier = `Bearer ${await issuer.mint({ scope: 'mfa:verify' })}`
  const generate = await post(`${mfaUrl(tenant)}/totp/generate`, { issuer: 'Acme', account_name: 'a' }, verifier)
  t.equal(generate.json().code, 'auth.insufficient_scope')
  const codes = await app.inject({ method: 'GET', url: `${mfaUrl(tenant)}/backup-codes`, headers: { authorization: verifier } })
  t.equal(codes.json().code, 'auth.insufficient_scope')
  clock.now = new Date(clock.now.getTime() + 2 * STEP)
  const verified = await post(`${mfaUrl(tenant)}/totp/verify`, { code: totp(key, clock.now) }, verifier)
  t.equal(verified.statusCode, 200)
  t.notMatch(verified.body, body.secret)
  const logs = ctx.logs.join('\n')
  t.notOk(logs.includes(body.secret), 'no seed in any log line')
  t.notOk(logs.includes(totp(key, clock.now)), 'no code in any log line')
  const trail = await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/audit-events` })
  const actions = trail.json().events.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`)
  t.same(actions, [
    'mfa.totp.verify:success',
    'mfa.backup_codes.list:denied',
    'mfa.totp.generate:denied',
    'mfa.totp.bind:success',
    'mfa.totp.generate:success',
  ])
  t.notOk(trail.body.includes(body.secret))
})
