import DataLoader from 'dataloader'

/** At most this many calls share one statement (and its parameter arrays). */
const MAX_BATCH = 64

/**
 * Calls made during one turn of the event loop go to `run` together, so that they share one statement:
 * one round trip, one parse and plan, one wake-up of the database for all of them. Under load every turn
 * brings several requests; an idle service sends each call at once, delayed only to the end of the turn.
 * Nothing is cached: every call reaches the database. `run` answers with one value per key, in order.
 */
export function batched<K, V>(run: (keys: readonly K[]) => Promise<readonly V[]>): (key: K) => Promise<V> {
  const loader = new DataLoader<K, V>((keys) => run(keys), {
    cache: false,
    maxBatchSize: MAX_BATCH,
    // After the I/O of this turn (every request that arrived with it), not after the current callback.
    batchScheduleFn: (dispatch) => setImmediate(dispatch),
  })
  return (key) => loader.load(key)
}
