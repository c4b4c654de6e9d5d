import { sql } from 'kysely'
import t from 'tap'
import { refreshDue } from '../../src/db/vault-functions.ts'
import { openTestDatabase } from '../support/helper.ts'

/** When a token is due: vault_refresh_due, the one home of the rule (the read statement and the refresh ask it). */
const database = await openTestDatabase(t)
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000)
const MARGIN = 60_000

async function isDue(expiresAt: Date | null, issuedAt: Date, now: Date, marginMs = MARGIN): Promise<boolean> {
  const result = await sql<{ due: boolean }>`SELECT ${refreshDue(
    sql`${expiresAt}::timestamptz`,
    sql`${issuedAt}::timestamptz`,
    now,
    marginMs,
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
