/** At most this many calls share one statement (and its parameter arrays). */
const MAX_BATCH = 64

/**
 * How long the next batch waits for the running one at most. Answers normally come within a few
 * milliseconds; the bound only matters when one statement is stuck (a half-open connection, say): the
 * replica's other calls then still leave, as if nothing were running.
 */
const MAX_WAIT_MS = 20

interface Call<K, V> {
  key: K
  resolve: (value: V) => void
  reject: (error: unknown) => void
}

/** Every kind's turn end that is due and has not run yet: see settleAfterTurnEnds. */
const turnEnds = new Set<() => void>()

/**
 * Runs `settle` (an answered batch's callers carrying on) once every batch due to leave at this turn's end,
 * of any kind, has been handed to the driver: a request that arrived in the same turn as an answer goes to
 * the database before that answer's callers are finished, not after. Those batches leave here and `settle`
 * waits for the next turn, so that the driver's own steps are not queued behind the callers'.
 */
function settleAfterTurnEnds(settle: () => void): void {
  setImmediate(() => {
    if (turnEnds.size === 0) return settle()
    for (const turnEnd of [...turnEnds]) turnEnd()
    setImmediate(settle)
  })
}

/**
 * Calls made during one turn of the event loop go to `run` together, so that they share one statement:
 * one round trip, one parse and plan, one commit for all of them. While a statement of this kind is
 * running, further calls wait and leave together the moment it has answered, before its callers carry on:
 * under load a batch grows to hold whatever arrived while the last one ran, each kind of statement keeps
 * one backend busy per replica instead of many (tiny batches each paying a commit), and that backend works
 * on the next batch while this process answers the last one (so do calls of any kind that arrived with the
 * answer: settleAfterTurnEnds). An idle service sends each call at the end of its turn. A batch that
 * reaches MAX_BATCH leaves at once, running or not: waiting cannot make it larger. Nothing is cached: every
 * call reaches the database. `run` answers with one value per key, in order.
 */
export function batched<K, V>(run: (keys: readonly K[]) => Promise<readonly V[]>): (key: K) => Promise<V> {
  let pending: Call<K, V>[] = []
  let running = 0
  let waitLimit: NodeJS.Timeout | undefined

  function send(calls: Call<K, V>[]): void {
    running++
    let answer: Promise<readonly V[]>
    try {
      answer = run(calls.map((call) => call.key))
    } catch (error) {
      answer = Promise.reject(error)
    }
    // What waited for this answer leaves before these callers carry on, and they carry on only after it has
    // been handed to the driver (a later phase of this turn, or the next turn: settleAfterTurnEnds): the
    // database runs the next batch while this process answers the last one, instead of each waiting.
    const answered = (settle: () => void) => {
      running--
      if (pending.length > 0) sendPending()
      settleAfterTurnEnds(settle)
    }
    answer.then(
      (values) =>
        answered(() => {
          if (values.length !== calls.length) {
            const error = new Error(`a batched run answered ${values.length} values for ${calls.length} keys`)
            for (const call of calls) call.reject(error)
          } else {
            for (const [i, call] of calls.entries()) call.resolve(values[i]!)
          }
        }),
      (error: unknown) =>
        answered(() => {
          for (const call of calls) call.reject(error)
        }),
    )
  }

  function sendPending(): void {
    clearTimeout(waitLimit)
    waitLimit = undefined
    const calls = pending
    pending = []
    if (calls.length > 0) send(calls)
  }

  // After the I/O of this turn (every request that arrived with it), not after the current callback.
  // Runs once per scheduling: from its own setImmediate or from settleAfterTurnEnds, whichever comes first.
  function atTurnEnd(): void {
    if (!turnEnds.delete(atTurnEnd)) return
    if (pending.length === 0) return
    if (running === 0) sendPending()
    else waitLimit ??= setTimeout(sendPending, MAX_WAIT_MS)
  }

  function scheduleTurnEnd(): void {
    if (turnEnds.has(atTurnEnd)) return
    turnEnds.add(atTurnEnd)
    setImmediate(atTurnEnd)
  }

  return (key) =>
    new Promise<V>((resolve, reject) => {
      pending.push({ key, resolve, reject })
      if (pending.length >= MAX_BATCH) sendPending()
      else scheduleTurnEnd()
    })
}
