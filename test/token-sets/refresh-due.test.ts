import t from 'tap'
import { isRefreshDue } from '../../src/token-sets/token-refresh.ts'

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000)
const MARGIN = 60_000

t.test('due within the margin before expiry, and after it', async (t) => {
  const issued = at(0)
  const expires = at(3600)
  t.notOk(isRefreshDue(expires, issued, at(3539), MARGIN))
  t.ok(isRefreshDue(expires, issued, at(3540), MARGIN))
  t.ok(isRefreshDue(expires, issued, at(4000), MARGIN))
})

t.test('a token shorter-lived than the margin is due at half its life, not at every read', async (t) => {
  const issued = at(0)
  const expires = at(30)
  t.notOk(isRefreshDue(expires, issued, at(10), MARGIN))
  t.ok(isRefreshDue(expires, issued, at(15), MARGIN))
})

t.test('a token without an expiry is never due', async (t) => {
  t.notOk(isRefreshDue(null, at(0), at(10 ** 6), MARGIN))
})
