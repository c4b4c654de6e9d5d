import t from 'tap'
import { retryAfterOf } from '../../src/oauth/provider-client.ts'

/** RFC 9110 §10.2.3: delay-seconds or an HTTP date; anything else is no advice. */
const answer = (value?: string) => ({ headers: new Headers(value === undefined ? {} : { 'retry-after': value }) })
const now = Date.parse('2026-12-03T12:00:00Z')

t.test('delay-seconds', async (t) => {
  t.equal(retryAfterOf(answer('120'), now), 120)
  t.equal(retryAfterOf(answer(' 0 '), now), 0)
})

t.test('an HTTP date, counted from now; one in the past is no advice', async (t) => {
  t.equal(retryAfterOf(answer('Thu, 03 Dec 2026 12:01:30 GMT'), now), 90)
  t.equal(retryAfterOf(answer('Thu, 03 Dec 2026 11:59:00 GMT'), now), undefined)
})

t.test('absent, empty, negative or garbage is no advice', async (t) => {
  for (const value of [undefined, '', '-5', '1.5', 'soon', '99999999999'])
    t.equal(retryAfterOf(answer(value), now), undefined, String(value))
})
