import t from 'tap'
import { batched } from '../../src/db/batched.ts'

/** A run that records every batch it is given and answers each key with a function of it. */
function recorder<K, V>(answer: (key: K) => V) {
  const batches: K[][] = []
  const load = batched(async (keys: readonly K[]) => {
    batches.push([...keys])
    return keys.map(answer)
  })
  return { batches, load }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

t.test('calls made in one turn share one run, in call order, and each gets its own answer', async (t) => {
  const { batches, load } = recorder((key: number) => key * 10)
  const answers = await Promise.all([load(3), load(1), load(2)])
  t.same(answers, [30, 10, 20])
  t.same(batches, [[3, 1, 2]])
})

t.test('calls made after an await in the same callback still join the batch of that turn', async (t) => {
  const { batches, load } = recorder((key: string) => key.toUpperCase())
  const first = load('a')
  await Promise.resolve()
  const second = load('b')
  t.same(await Promise.all([first, second]), ['A', 'B'])
  t.same(batches, [['a', 'b']])
})

t.test('calls in later turns go in runs of their own', async (t) => {
  const { batches, load } = recorder((key: number) => key)
  await load(1)
  await nextTurn()
  await load(2)
  t.same(batches, [[1], [2]])
})

t.test('nothing is cached or merged: the same key twice reaches the run twice', async (t) => {
  let calls = 0
  const { batches, load } = recorder(() => ++calls)
  const answers = await Promise.all([load('k'), load('k')])
  t.same(batches, [['k', 'k']])
  t.same(answers, [1, 2])
  t.equal(await load('k'), 3, 'a later call runs again')
})

t.test('a batch holds at most 64 calls', async (t) => {
  const { batches, load } = recorder((key: number) => key)
  const keys = Array.from({ length: 150 }, (_, i) => i)
  t.same(await Promise.all(keys.map(load)), keys)
  t.same(batches.map((batch) => batch.length), [64, 64, 22])
  t.same(batches.flat(), keys)
})

t.test('a failed run fails every call in it, and only those', async (t) => {
  let fail = true
  const load = batched(async (keys: readonly number[]) => {
    if (fail) throw new Error('database down')
    return keys
  })
  const results = await Promise.allSettled([load(1), load(2)])
  t.same(results.map((result) => result.status), ['rejected', 'rejected'])
  t.match((results[0] as PromiseRejectedResult).reason, { message: 'database down' })
  fail = false
  t.equal(await load(3), 3)
})
