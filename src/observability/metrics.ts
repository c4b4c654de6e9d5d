import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { SERVICE_VERSION } from '../version.ts'

/**
 * The service's Prometheus metrics, on a registry of their own (one per app, so tests can build many).
 * Labels are bounded sets — route templates, status codes, error codes, provider operations — never a
 * tenant, user, connector id or anything secret.
 */
export interface Metrics {
  registry: Registry
  httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>
  errors: Counter<'code'>
  keyProviderCalls: Counter<'operation' | 'outcome'>
  /** 1 for the state the key provider's last real call left it in (ok, unavailable, misconfigured), 0 for the others. */
  keyProviderState: Gauge<'state'>
  dataKeyCacheLookups: Counter<'result'>
  auditWriteFailures: Counter
  /** Callers refused by authentication or authorization, by reason (never a client id: unbounded). */
  callerRefusals: Counter<'reason'>
  tokenRefreshes: Counter<'outcome'>
  /** Keep-alive refreshes, by outcome: a refresh's, or not_due, busy, skipped, error. */
  keepAliveRefreshes: Counter<'outcome'>
  /** Webhook delivery attempts, by outcome: delivered, failed (retried later), dead (given up). */
  webhookDeliveries: Counter<'outcome'>
  /** Attempts to revoke a refresh token at its provider, by outcome: revoked, not_needed, given_up, retry. */
  tokenRevocations: Counter<'outcome'>
  /** Audit digests this replica sealed (sealed), or could not (failed: a key-provider or database failure). */
  auditSeals: Counter<'outcome'>
  /** Registers the data-key cache's current size, read at each scrape. */
  observeDataKeyCacheSize(read: () => number): void
  /** Registers the count of every tenant's connections by health; read at a scrape, at most every COUNT_TTL_MS. */
  observeConnections(read: CountReader): void
  /** Registers the count of every tenant's data-key versions by state; likewise. */
  observeDataKeys(read: CountReader): void
}

type CountReader = () => Promise<Record<string, number>>

/** Counting across tenants reads every tenant's rows: a scrape reuses a count up to this old. */
export const COUNT_TTL_MS = 60_000

/**
 * A gauge of counts across tenants (no tenant label), recounted at a scrape at most every COUNT_TTL_MS. A
 * database that cannot count now leaves the last count (or none) instead of failing the scrape.
 */
function countsGauge(
  registry: Registry,
  readers: CountReader[],
  { name, help, labelName, ttlMs }: { name: string; help: string; labelName: string; ttlMs: number },
) {
  let counted: { at: number; counts: Record<string, number> } | undefined
  new Gauge({
    name,
    help: `${help}, counted at most every ${ttlMs / 1000} s`,
    labelNames: [labelName],
    registers: [registry],
    async collect() {
      if (counted === undefined || Date.now() - counted.at >= ttlMs) {
        const all = await Promise.all(readers.map((read) => read().catch(() => undefined)))
        if (all.every((counts) => counts !== undefined)) {
          const counts: Record<string, number> = {}
          for (const one of all) for (const [label, n] of Object.entries(one!)) counts[label] = (counts[label] ?? 0) + n
          counted = { at: Date.now(), counts }
        }
      }
      // A label the last count no longer has (no decrypt-only key left) is gone, not left at its old value.
      this.reset()
      for (const [label, n] of Object.entries(counted?.counts ?? {})) this.set({ [labelName]: label }, n)
    },
  })
}

/** `countTtlMs`: how old a count across tenants may be (tests recount at every scrape). */
export function createMetrics({ countTtlMs = COUNT_TTL_MS }: { countTtlMs?: number } = {}): Metrics {
  const registry = new Registry()
  // Under their standard names (process_*, nodejs_*), which stock dashboards and alerts expect. Three of
  // them are gauges named *_total, which Prometheus reserves for counters (promtool refuses them); each is
  // the sum of its by-type gauge (nodejs_active_handles{type}, ...), which stays.
  collectDefaultMetrics({ register: registry })
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name)
  }
  const cacheSizeReaders: Array<() => number> = []
  new Gauge({
    name: 'secret_vault_data_key_cache_entries',
    help: 'Unwrapped tenant data keys held in memory',
    registers: [registry],
    collect() {
      this.set(cacheSizeReaders.reduce((sum, read) => sum + read(), 0))
    },
  })
  const connectionReaders: CountReader[] = []
  const dataKeyReaders: CountReader[] = []
  countsGauge(registry, connectionReaders, {
    name: 'secret_vault_connections',
    help: 'Connections (token sets) of every tenant by health (active, refresh_failing, reauth_required)',
    labelName: 'health',
    ttlMs: countTtlMs,
  })
  countsGauge(registry, dataKeyReaders, {
    name: 'secret_vault_data_keys',
    help: 'Data-key versions of every tenant by state (active, decrypt_only, ...)',
    labelName: 'state',
    ttlMs: countTtlMs,
  })
  new Gauge({
    name: 'secret_vault_build_info',
    help: 'Always 1: the version of the service and of Node.js that runs it',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  }).set({ version: SERVICE_VERSION, node_version: process.version }, 1)
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'secret_vault_http_request_duration_seconds',
      help: 'HTTP request latency by route template and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'secret_vault_errors_total',
      help: 'Requests that ended in an error, by stable error code (crypto.integrity counts integrity failures)',
      labelNames: ['code'],
      registers: [registry],
    }),
    keyProviderCalls: new Counter({
      name: 'secret_vault_key_provider_calls_total',
      help: 'Calls to the root-key provider (KMS or local), by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    keyProviderState: new Gauge({
      name: 'secret_vault_key_provider_state',
      help: "The key provider's state after its last real call: 1 for the current state (ok, unavailable, misconfigured), 0 for the others",
      labelNames: ['state'],
      registers: [registry],
    }),
    dataKeyCacheLookups: new Counter({
      name: 'secret_vault_data_key_cache_lookups_total',
      help: 'Data-key cache lookups: hit (served from memory, or joined an in-flight unwrap) or miss (provider call)',
      labelNames: ['result'],
      registers: [registry],
    }),
    callerRefusals: new Counter({
      name: 'secret_vault_caller_refusals_total',
      help: 'Requests refused for their caller, by reason (missing, expired, wrong_audience, insufficient_scope, ...)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    auditWriteFailures: new Counter({
      name: 'secret_vault_audit_write_failures_total',
      help: 'Audit events that could not be written',
      registers: [registry],
    }),
    tokenRefreshes: new Counter({
      name: 'secret_vault_token_refreshes_total',
      help: 'Refresh-token grants sent to providers, by outcome (refreshed, reauth_required, provider_unavailable, provider_rejected)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    keepAliveRefreshes: new Counter({
      name: 'secret_vault_keep_alive_refreshes_total',
      help: 'Keep-alive refreshes of idle token sets, by outcome (refreshed and the other refresh outcomes; not_due, busy, skipped, error)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'secret_vault_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by outcome (delivered; failed, retried later; dead, given up)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    tokenRevocations: new Counter({
      name: 'secret_vault_token_revocations_total',
      help: 'Attempts to revoke a refresh token at its provider (RFC 7009), by outcome (revoked, not_needed, given_up, retry)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    auditSeals: new Counter({
      name: 'secret_vault_audit_seals_total',
      help: "Audit digests sealed over tenants' new events, by outcome (sealed, failed)",
      labelNames: ['outcome'],
      registers: [registry],
    }),
    observeDataKeyCacheSize(read) {
      cacheSizeReaders.push(read)
    },
    observeConnections(read) {
      connectionReaders.push(read)
    },
    observeDataKeys(read) {
      dataKeyReaders.push(read)
    },
  }
}
