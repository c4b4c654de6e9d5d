import { createSecretKey, randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { createLocalJWKSet } from 'jose'
import { sql } from 'kysely'
import type { Test } from 'tap'
import {
  buildApp,
  DEFAULT_AUDIT_SEAL,
  DEFAULT_OUTBOX,
  DEFAULT_REFRESH,
  type EgressOptions,
  type OverloadOptions,
  type RefreshOptions,
} from '../../src/app.ts'
import type { AuditSealerOptions } from '../../src/audit/audit-digests.ts'
import { type Authenticator, createAuthenticator } from '../../src/auth/authenticator.ts'
import { createDataKeyRing, type DataKeyRing } from '../../src/keys/data-key-ring.ts'
import { instrumentKeyProvider, type ObservedKeyProvider } from '../../src/keys/instrumented-key-provider.ts'
import type { KeyProvider } from '../../src/keys/key-provider.ts'
import { createLocalKeyProvider, type LocalRootKey } from '../../src/keys/local-key-provider.ts'
import { createLogger } from '../../src/logger.ts'
import { createMetrics, type Metrics } from '../../src/observability/metrics.ts'
import type { OutboxOptions } from '../../src/outbox/outbox-worker.ts'
import { createTestDatabase, type TestDatabase } from './test-database.ts'
import { createTestIssuer, type TestIssuer } from './test-issuer.ts'

export function randomRootKey(id: string): LocalRootKey {
  return { id, key: createSecretKey(randomBytes(32)) }
}

/** Wraps a provider and counts its calls, so tests can assert how often the provider was asked. */
export function countingProvider(inner: KeyProvider): KeyProvider & { calls: Record<string, number> } {
  const calls: Record<string, number> = { generateDataKey: 0, decryptDataKey: 0, reEncryptDataKey: 0 }
  return {
    name: inner.name,
    activeRootKeyId: inner.activeRootKeyId,
    knownRootKeyIds: inner.knownRootKeyIds,
    calls,
    generateDataKey: (context) => {
      calls.generateDataKey! += 1
      return inner.generateDataKey(context)
    },
    decryptDataKey: (...args) => {
      calls.decryptDataKey! += 1
      return inner.decryptDataKey(...args)
    },
    reEncryptDataKey: (...args) => {
      calls.reEncryptDataKey! += 1
      return inner.reEncryptDataKey(...args)
    },
    close: () => inner.close(),
  }
}

/** What tests send requests through (see withDefaultAuthorization); `server` is the app itself. */
export interface TestClient {
  inject(options: InjectOptions): Promise<LightMyRequestResponse>
  server: FastifyInstance
}

/**
 * Sends every request with `authorization` unless the request sets its own Authorization header (an empty
 * one sends none): tests of authentication do exactly that.
 */
export function withDefaultAuthorization(server: FastifyInstance, authorization: string): TestClient {
  return {
    server,
    inject(options) {
      const headers: Record<string, unknown> = { authorization, ...(options.headers as Record<string, unknown> | undefined) }
      if (headers.authorization === '') delete headers.authorization
      return server.inject({ ...options, headers } as InjectOptions)
    },
  }
}

export interface TestContext {
  /** The app, every request authenticated as a full-scope, tenant-unbound caller unless it says otherwise. */
  app: TestClient
  database: TestDatabase
  /** The provider as the app sees it: counted, observed (its health is what readiness reports), and instrumented. */
  provider: ObservedKeyProvider & { calls: Record<string, number> }
  metrics: Metrics
  keyRing: DataKeyRing
  /** Every log line the app wrote, as raw JSON text. */
  logs: string[]
  clock: { now: Date }
  issuer: TestIssuer
}

export function testAuthenticator(issuer: TestIssuer): Authenticator {
  return createAuthenticator({
    keys: createLocalJWKSet(issuer.jwks),
    issuer: issuer.issuer,
    audience: issuer.audience,
    algorithms: ['ES256', 'RS256', 'EdDSA'],
    clockToleranceSeconds: 5,
    maxTokenLifetimeSeconds: 86_400,
    requireAccessTokenType: false,
    tenantClaim: 'tenant_ids',
  })
}

/** One database per test file: call once at the top of a file. */
export async function openTestDatabase(t: Test): Promise<TestDatabase> {
  const database = await createTestDatabase()
  t.teardown(() => database.close())
  return database
}

/** Builds the app over a test database, closing it when the test ends. */
export async function buildTestApp(
  t: Test,
  database: TestDatabase,
  options: {
    provider?: KeyProvider
    keyRing?: DataKeyRing
    bodyLimitBytes?: number
    authenticator?: Authenticator
    metrics?: Metrics
    overload?: OverloadOptions
    refresh?: Partial<RefreshOptions>
    egress?: Partial<EgressOptions>
    outbox?: Partial<OutboxOptions>
    auditSeal?: Partial<AuditSealerOptions>
  } = {},
): Promise<TestContext> {
  const logs: string[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line !== ''),
      )
      done()
    },
  })
  const logger = createLogger('trace', sink)
  const metrics = options.metrics ?? createMetrics()
  // As the runtime wires it: the provider is instrumented once, and the key ring asks it through that.
  const counting = countingProvider(options.provider ?? createLocalKeyProvider([randomRootKey('root-1')], 'root-1'))
  const provider = Object.assign(instrumentKeyProvider(counting, metrics, logger), { calls: counting.calls })
  const keyRing =
    options.keyRing ??
    createDataKeyRing({ provider, ttlMs: 60_000, maxEntries: 100, onLookup: (result) => metrics.dataKeyCacheLookups.inc({ result }) })
  const clock = { now: new Date() }
  const issuer = await createTestIssuer()
  const app = await buildApp({
    db: database.db,
    keyProvider: provider,
    keyRing,
    authenticator: options.authenticator ?? testAuthenticator(issuer),
    logger,
    metrics,
    bodyLimitBytes: options.bodyLimitBytes ?? 65_536,
    now: () => clock.now,
    ...(options.overload === undefined ? {} : { overload: options.overload }),
    // Test providers listen on plain http on loopback and answer at once: the egress policy admits exactly that.
    refresh: { ...DEFAULT_REFRESH, timeoutMs: 2000, lockTimeoutMs: 5000, ...options.refresh },
    egress: { allow: ['127.0.0.1'], allowInsecureHttp: true, ...options.egress },
    // Tests work off the outbox by hand (app.webhookDelivery.deliverDue(), app.revocations.revokeDue())
    // unless they ask for polling.
    outbox: { ...DEFAULT_OUTBOX, pollIntervalMs: 0, timeoutMs: 2000, ...options.outbox },
    // Likewise the audit sealer (app.auditSealer.sealNow()).
    auditSeal: { ...DEFAULT_AUDIT_SEAL, intervalMs: 0, settleMs: 20, ...options.auditSeal },
  })
  t.teardown(() => app.close())
  const client = withDefaultAuthorization(app, `Bearer ${await issuer.mint({}, { expiresIn: 3600 })}`)
  return { app: client, database, provider, metrics, keyRing, logs, clock, issuer }
}

let tenantCounter = 0
/** A tenant id unique within the run, so subtests sharing a database never see each other's rows. */
export function uniqueTenant(prefix = 'tenant'): string {
  tenantCounter += 1
  return `${prefix}-${process.pid}-${tenantCounter}`
}

/** Counts rows as the owner, bypassing RLS: what is really stored. */
export async function countRows(database: TestDatabase, table: 'token_sets' | 'data_keys' | 'tenants', tenantId: string): Promise<number> {
  const result = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)} WHERE tenant_id = ${tenantId}`.execute(
    database.admin,
  )
  return result.rows[0]!.n
}
