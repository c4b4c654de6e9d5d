import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { DB } from '../db/schema.ts'
import { findKeepAliveSets } from '../db/vault-functions.ts'
import { createPoller } from '../outbox/outbox-worker.ts'
import type { KeepAliveOutcome, TokenRefresher } from './token-refresh.ts'

export interface KeepAliveOptions {
  /** How often this replica sweeps (with ±20% jitter, so replicas drift apart); 0: never. */
  intervalMs: number
  /** At most this many sets refreshed per sweep, one after another: the replica's rate limit. */
  batch: number
}

export interface KeepAliveDeps extends KeepAliveOptions {
  db: Kysely<DB>
  refresher: Pick<TokenRefresher, 'keepAlive'>
  now: () => Date
  logger: Logger
  onOutcome?: (outcome: KeepAliveOutcome | 'error') => void
}

export interface KeepAlive {
  /** One sweep now: finds the sets due (vault_find_keep_alive_sets) and refreshes each; what happened to each. */
  sweep(): Promise<(KeepAliveOutcome | 'error')[]>
  /** Sweeps every interval from now on. */
  start(): void
  /** No sweep starts after this; resolves when the running one (if any) has finished. */
  stop(): Promise<void>
}

/**
 * Keep-alive refresh, for providers whose refresh tokens die when unused: every replica sweeps on its own,
 * without a leader. A sweep claims nothing for long: rows being refreshed are skipped when the sets are
 * found, and each refresh takes its row lock without waiting and asks again whether the set is still due,
 * so a set is refreshed once however many replicas find it (the same single flight as reads). Sets are
 * refreshed one at a time, at most `batch` per sweep: a provider sees at most replicas × batch keep-alive
 * refreshes per interval.
 */
export function createKeepAlive({ db, refresher, now, logger, intervalMs, batch, onOutcome }: KeepAliveDeps): KeepAlive {
  let stopped = false

  async function sweep(): Promise<(KeepAliveOutcome | 'error')[]> {
    const due = await findKeepAliveSets(db, now(), batch)
    const outcomes: (KeepAliveOutcome | 'error')[] = []
    for (const set of due) {
      if (stopped) break
      const key = { tenantId: set.tenant_id, userId: set.user_id, connectorType: set.connector_type, connectorId: set.connector_id }
      const outcome = await refresher.keepAlive(key).catch((error: unknown) => {
        // Names no user and no token: the tenant and connector say where to look.
        logger.error({ err: error, tenantId: key.tenantId, connectorId: key.connectorId }, 'keep-alive refresh failed')
        return 'error' as const
      })
      onOutcome?.(outcome)
      outcomes.push(outcome)
    }
    return outcomes
  }

  const poller = createPoller({ intervalMs, logger, what: 'keep-alive sweep', round: sweep })
  return {
    sweep,
    start: poller.start,
    async stop() {
      // A sweep in progress finishes the refresh it is in, and starts no other.
      stopped = true
      await poller.stop()
    },
  }
}
