import type { Logger } from 'pino'

/**
 * What every outbound job of the outbox (a webhook delivery, a refresh-token revocation) shares: how a
 * failed attempt is retried, and the poll that every replica runs without a leader. Each job table has
 * its own claim statement (db/functions/vault_claim_*), which leases due rows with SKIP LOCKED and counts
 * the attempt; a job is finished under that attempt number, so an attempt that outlived its lease changes
 * nothing.
 */
export interface RetryPolicy {
  /** A job still failing this long after its first attempt is given up. */
  retryPeriodMs: number
}

/** How this replica works off the outbox: the same for every kind of job. */
export interface OutboxOptions extends RetryPolicy {
  /** How often this replica looks for due jobs (with ±20% jitter); 0: never (tests run rounds by hand). */
  pollIntervalMs: number
  /** At most this many jobs of a kind per round, attempted concurrently. */
  batch: number
  /** One attempt (connect, send, answer) at most this long. */
  timeoutMs: number
  /** Finished webhook deliveries, and events with none left, are deleted this long after. */
  retentionMs: number
}

/** How often a polling replica prunes the outbox (each prune walks every tenant once). */
export const PRUNE_INTERVAL_MS = 10 * 60 * 1000

const FIRST_RETRY_MS = 5_000
const MAX_RETRY_MS = 60 * 60 * 1000

/** Exponential from 5 s, doubling to an hour, each delay drawn from its upper three quarters (jitter). */
export function retryDelayMs(attempt: number, random = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(attempt - 1, 20))
  return Math.round(ceiling * (0.25 + 0.75 * random()))
}

/** After a failed attempt: when to try again, or null once the retry period has passed since the first. */
export function nextAttemptAfterFailure(
  job: { attempts: number; first_attempt_at: Date },
  at: Date,
  { retryPeriodMs }: RetryPolicy,
): Date | null {
  if (at.getTime() - job.first_attempt_at.getTime() >= retryPeriodMs) return null
  return new Date(at.getTime() + retryDelayMs(job.attempts))
}

/** The lease a claim takes: long enough for an attempt that runs to its timeout, twice over. */
export function leaseSecondsFor(timeoutMs: number): number {
  return Math.ceil((2 * timeoutMs) / 1000) + 5
}

export interface Poller<T> {
  /** One round now. */
  runNow(): Promise<T>
  /** A round every interval from now on (with ±20% jitter, so replicas drift apart); never with interval 0. */
  start(): void
  /** No round starts after this; resolves when the running one (if any) has finished. */
  stop(): Promise<void>
}

export function createPoller<T>({
  intervalMs,
  logger,
  what,
  round,
}: {
  intervalMs: number
  logger: Logger
  what: string
  round: () => Promise<T>
}): Poller<T> {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined
  let stopped = false

  function scheduleNext(): void {
    if (stopped || intervalMs <= 0) return
    timer = setTimeout(
      () => {
        running = round()
          .catch((error: unknown) => logger.error({ err: error }, `${what} failed`))
          .finally(() => {
            running = undefined
            scheduleNext()
          })
      },
      intervalMs * (0.8 + Math.random() * 0.4),
    )
    timer.unref()
  }

  return {
    runNow: round,
    start: scheduleNext,
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
