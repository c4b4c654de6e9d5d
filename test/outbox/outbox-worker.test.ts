import t from 'tap'
import { leaseSecondsFor, nextAttemptAfterFailure, retryDelayMs } from '../../src/outbox/outbox-worker.ts'

/** The outbox's retry schedule, shared by webhook deliveries and revocations. */
t.test('5 s doubling to an hour, each delay in the upper three quarters of its step', async (t) => {
  const ceilings = [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600].map((s) => s * 1000)
  for (const [i, ceiling] of ceilings.entries()) {
    t.equal(
      retryDelayMs(i + 1, () => 0.9999999),
      Math.round(ceiling * (0.25 + 0.75 * 0.9999999)),
      `attempt ${i + 1}: at most ${ceiling} ms`,
    )
    t.equal(
      retryDelayMs(i + 1, () => 0),
      ceiling / 4,
      `attempt ${i + 1}: at least a quarter`,
    )
  }
  t.equal(
    retryDelayMs(10_000, () => 1),
    3_600_000,
    'a huge attempt count stays at an hour',
  )
})

t.test('given up once the retry period has passed since the first attempt, not since the last', async (t) => {
  const first = new Date('2026-12-04T00:00:00Z')
  const policy = { retryPeriodMs: 24 * 3_600_000 }
  const next = nextAttemptAfterFailure({ attempts: 3, first_attempt_at: first }, new Date('2026-12-04T10:00:00Z'), policy)
  t.ok(next !== null && next.getTime() > Date.parse('2026-12-04T10:00:00Z'))
  t.equal(nextAttemptAfterFailure({ attempts: 30, first_attempt_at: first }, new Date('2026-12-05T00:00:00Z'), policy), null)
  t.equal(nextAttemptAfterFailure({ attempts: 1, first_attempt_at: first }, new Date('2026-12-05T00:00:01Z'), policy), null)
})

t.test('a lease outlasts an attempt that runs to its timeout, twice over', async (t) => {
  t.equal(leaseSecondsFor(10_000), 25)
  t.equal(leaseSecondsFor(100), 6)
})
