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
  t.same(
    batches.map((batch) => batch.length),
    [64, 64, 22],
  )
  t.same(batches.flat(), keys)
})

t.test('a failed run fails every call in it, and only those', async (t) => {
  let fail = true
  const load = batched(async (keys: readonly number[]) => {
    if (fail) throw new Error('database down')
    return keys
  })
  const results = await Promise.allSettled([load(1), load(2)])
  t.same(
    results.map((result) => result.status),
    ['rejected', 'rejected'],
  )
  t.match((results[0] as PromiseRejectedResult).reason, { message: 'database down' })
  fail = false
  t.equal(await load(3), 3)
})

/** A run whose answers the test releases: each batch stays running until `release` is called for it. */
function heldRecorder() {
  const batches: number[][] = []
  const releases: (() => void)[] = []
  const load = batched(
    (keys: readonly number[]) =>
      new Promise<readonly number[]>((resolve) => {
        batches.push([...keys])
        releases.push(() => resolve(keys))
      }),
  )
  return { batches, load, release: (batch: number) => releases[batch]!() }
}

t.test('while a batch runs, later calls wait and leave together once it has answered', async (t) => {
  const { batches, load, release } = heldRecorder()
  const first = load(1)
  await nextTurn()
  t.same(batches, [[1]], 'the first batch leaves at the end of its turn')
  const later = [load(2)]
  await nextTurn()
  later.push(load(3))
  await nextTurn()
  later.push(load(4))
  await nextTurn()
  t.same(batches, [[1]], 'nothing more leaves while the first batch runs')
  release(0)
  t.equal(await first, 1)
  await nextTurn()
  t.same(batches, [[1], [2, 3, 4]], 'calls from several turns leave as one batch')
  release(1)
  t.same(await Promise.all(later), [2, 3, 4])
})

t.test('the waiting batch leaves before the callers of the answered one carry on', async (t) => {
  const { batches, load, release } = heldRecorder()
  const first = load(1)
  await nextTurn()
  const second = load(2)
  await nextTurn()
  t.same(batches, [[1]])
  let seenByFirstCaller: number[][] = []
  const firstCarriedOn = first.then(() => {
    seenByFirstCaller = batches.map((batch) => [...batch])
  })
  release(0)
  await firstCarriedOn
  t.same(seenByFirstCaller, [[1], [2]], 'the database has the next batch while this process answers the last one')
  release(1)
  t.equal(await second, 2)
})

t.test('a call of another kind made in the turn of an answer leaves before the callers of that answer carry on', async (t) => {
  let answer!: (keys: readonly number[]) => void
  const answered = new Promise<readonly number[]>((resolve) => {
    answer = resolve
  })
  const load = batched(() => answered)
  const otherBatches: number[][] = []
  const loadOther = batched(async (keys: readonly number[]) => {
    otherBatches.push([...keys])
    return keys
  })
  const first = load(1)
  await nextTurn()
  // Runs right after the batch's own handler, in the turn that answers: like a request arriving with it.
  const other = answered.then(() => loadOther(2))
  let seenByFirstCaller: number[][] = []
  const firstCarriedOn = first.then(() => {
    seenByFirstCaller = otherBatches.map((batch) => [...batch])
  })
  answer([1])
  await firstCarriedOn
  t.same(seenByFirstCaller, [[2]], 'the other kind went to the database first')
  t.equal(await other, 2)
})

t.test('a full batch leaves at once, even while another runs', async (t) => {
  const { batches, load, release } = heldRecorder()
  const first = load(0)
  await nextTurn()
  const full = Array.from({ length: 64 }, (_, i) => load(i + 1))
  t.same(
    batches.map((batch) => batch.length),
    [1, 64],
    'sent with the 64th call, before the turn ends',
  )
  release(0)
  release(1)
  t.same(
    await Promise.all([first, ...full]),
    Array.from({ length: 65 }, (_, i) => i),
  )
})

t.test('a batch waits for a running one only so long: a stuck statement does not stall later calls', async (t) => {
  const { batches, load, release } = heldRecorder()
  void load(1)
  await nextTurn()
  const second = load(2)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(batches, [[1], [2]], 'the second batch left although the first never answered')
  release(1)
  t.equal(await second, 2)
  release(0)
})

t.test('a run that answers the wrong number of values fails every call in it', async (t) => {
  const load = batched(async (keys: readonly number[]) => keys.slice(1))
  const results = await Promise.allSettled([load(1), load(2)])
  t.same(
    results.map((result) => result.status),
    ['rejected', 'rejected'],
  )
  t.match((results[0] as PromiseRejectedResult).reason, { message: /answered 1 values for 2 keys/ })
})

t.test('a run that throws before answering fails its calls and leaves the next batch free to go', async (t) => {
  let calls = 0
  const load = batched((keys: readonly number[]) => {
    if (calls++ === 0) throw new Error('could not start')
    return Promise.resolve(keys)
  })
  await t.rejects(load(1), { message: 'could not start' })
  t.equal(await load(2), 2)
})
