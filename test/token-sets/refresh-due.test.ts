import { sql } from 'kysely'
import t from 'tap'
import { keepAliveDue, refreshDue } from '../../src/db/vault-functions.ts'
import { openTestDatabase } from '../support/helper.ts'

/**
 * When a token is due: vault_refresh_due, the one home of the rule (the read statement and the refresh ask
 * it); and when an idle set is due for keep-alive: vault_keep_alive_due (the sweep and the refresh ask it).
 */
const database = await openTestDatabase(t)
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000)
const MARGIN = 60_000

async function isDue(expiresAt: Date | null, issuedAt: Date, now: Date, marginMs = MARGIN, policy: object | null = {}): Promise<boolean> {
  const result = await sql<{ due: boolean }>`SELECT ${refreshDue(
    sql`${expiresAt}::timestamptz`,
    sql`${issuedAt}::timestamptz`,
    now,
    marginMs,
    sql`${policy === null ? null : JSON.stringify(policy)}::jsonb`,
  )} AS due`.execute(database.db)
  return result.rows[0]!.due
}

async function isKeepAliveDue(issuedAt: Date, nextRefreshAt: Date | null, policy: object | null, now: Date): Promise<boolean> {
  const result = await sql<{ due: boolean }>`SELECT ${keepAliveDue(
    sql`${issuedAt}::timestamptz`,
    sql`${nextRefreshAt}::timestamptz`,
    sql`${policy === null ? null : JSON.stringify(policy)}::jsonb`,
    now,
  )} AS due`.execute(database.db)
  return result.rows[0]!.due
}

t.test('due within the margin before expiry, and after it', async (t) => {
  const issued = at(0)
  const expires = at(3600)
  t.notOk(await isDue(expires, issued, at(3539)))
  t.ok(await isDue(expires, issued, at(3540)))
  t.ok(await isDue(expires, issued, at(4000)))
})

t.test('a token shorter-lived than the margin is due at half its life, not at every read', async (t) => {
  const issued = at(0)
  const expires = at(30)
  t.notOk(await isDue(expires, issued, at(10)))
  t.ok(await isDue(expires, issued, at(15)))
})

t.test('a token without an expiry is never due; with no margin, only an expired one is', async (t) => {
  t.notOk(await isDue(null, at(0), at(10 ** 6)))
  t.notOk(await isDue(at(3600), at(0), at(3599), 0))
  t.ok(await isDue(at(3600), at(0), at(3600), 0))
})

t.test("a connector's refresh_margin_seconds replaces the service's margin; no settings keep the service's", async (t) => {
  const issued = at(0)
  const expires = at(3600)
  const policy = { refresh_margin_seconds: 600 }
  t.notOk(await isDue(expires, issued, at(2999), MARGIN, policy))
  t.ok(await isDue(expires, issued, at(3000), MARGIN, policy), 'ten minutes before expiry, not one')
  t.notOk(await isDue(expires, issued, at(3000), MARGIN, {}), 'a policy without a margin keeps the service margin')
  t.notOk(await isDue(expires, issued, at(3000), MARGIN, null), 'so does a connector without settings')
  t.ok(await isDue(expires, issued, at(3540), MARGIN, null))
  t.notOk(await isDue(expires, issued, at(3599), MARGIN, { refresh_margin_seconds: 0 }), 'a margin of 0: only at expiry')
  t.ok(await isDue(expires, issued, at(1800), MARGIN, { refresh_margin_seconds: 3600 }), 'a margin past half the life: at half')
  t.notOk(await isDue(expires, issued, at(1799), MARGIN, { refresh_margin_seconds: 3600 }))
})

t.test('keep-alive: due once idle for keep_alive_idle_seconds, never while backing off, never when off', async (t) => {
  const policy = { keep_alive_idle_seconds: 86_400 }
  t.notOk(await isKeepAliveDue(at(0), null, policy, at(86_399)))
  t.ok(await isKeepAliveDue(at(0), null, policy, at(86_400)))
  t.ok(await isKeepAliveDue(at(0), at(86_000), policy, at(86_400)), 'a backoff already over does not hold it')
  t.notOk(await isKeepAliveDue(at(0), at(90_000), policy, at(86_400)), 'backing off after failures')
  t.ok(await isKeepAliveDue(at(0), at(90_000), policy, at(90_000)))
  t.notOk(await isKeepAliveDue(at(0), null, {}, at(10 ** 8)), 'a policy without keep-alive')
  t.notOk(await isKeepAliveDue(at(0), null, { min_interval_seconds: 5 }, at(10 ** 8)))
  t.notOk(await isKeepAliveDue(at(0), null, null, at(10 ** 8)), 'a connector without settings')
})
