// KMS economy and cost, in one run against the KMS test server (real AWS JSON protocol, real SDK):
//   1. KMS calls per 10,000 mixed requests (80% reads, 20% pushes) across 100 tenants, from a replica
//      whose cache starts cold. Target: one call per tenant per cache lifetime.
//   2. Read throughput with the aws-kms provider against the local provider, same database, same harness.
//
//   npm run bench:kms -- [--requests 10000] [--tenants 100] [--seconds 5] [--concurrency 32]
//
// Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), creating its own database.
import { createSecretKey, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.ts'
import { openDatabase } from '../src/db/database.ts'
import { bootstrapRoles, migrateToLatest } from '../src/db/migrate.ts'
import { createAwsKmsKeyProvider } from '../src/keys/aws-kms-key-provider.ts'
import { createDataKeyRing } from '../src/keys/data-key-ring.ts'
import { instrumentKeyProvider } from '../src/keys/instrumented-key-provider.ts'
import type { KeyProvider } from '../src/keys/key-provider.ts'
import { createLocalKeyProvider } from '../src/keys/local-key-provider.ts'
import { createLogger } from '../src/logger.ts'
import { createMetrics } from '../src/observability/metrics.ts'
import { testAuthenticator } from '../test/support/helper.ts'
import { startKmsTestServer } from '../test/support/kms-test-server.ts'
import { createTestIssuer } from '../test/support/test-issuer.ts'
import { benchDatabase } from './bench-database.ts'

const { values: options } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    tenants: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
  },
})
const requests = Number(options.requests)
const tenants = Number(options.tenants)
const concurrency = Number(options.concurrency)
const usersPerTenant = 10
const root = path.resolve(import.meta.dirname, '..')
const benchDb = 'secret_vault_bench_kms'
const { url: benchUrl, admin } = benchDatabase(benchDb)

process.env.AWS_ACCESS_KEY_ID ??= 'AKIDBENCH'
process.env.AWS_SECRET_ACCESS_KEY ??= 'bench'
const kms = await startKmsTestServer()
kms.createKey('alias/secret-vault')
const issuer = await createTestIssuer()
const token = await issuer.mint({ client_id: 'bench', scope: 'token_sets:write token_sets:read' }, { expiresIn: 2 * 3600 })
const authorization = `Bearer ${token}`

await admin(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`)
await admin(`CREATE DATABASE ${benchDb}`)
const database = await openDatabase({ kind: 'postgres', url: benchUrl, poolMax: 10 })
await bootstrapRoles(database.db)
await migrateToLatest(database.db)

const kmsOptions = {
  keyIds: ['alias/secret-vault'],
  activeKeyId: 'alias/secret-vault',
  region: kms.region,
  endpoint: kms.endpoint,
  timeoutMs: 2000,
  maxAttempts: 3,
}
const localProvider = createLocalKeyProvider([{ id: 'bench', key: createSecretKey(randomBytes(32)) }], 'bench')

async function appFor(provider: KeyProvider): Promise<FastifyInstance> {
  return buildApp({
    db: database.db,
    keyProvider: instrumentKeyProvider(provider, createMetrics(), createLogger('silent')),
    keyRing: createDataKeyRing({ provider, ttlMs: 300_000, maxEntries: 10_000 }),
    authenticator: testAuthenticator(issuer),
    logger: createLogger('silent'),
    bodyLimitBytes: 65_536,
    // This harness drives the app in-process and keeps its event loop busy on purpose: no load shedding.
    overload: { maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, maxHeapUsedBytes: 0, retryAfterSeconds: 1, requestTimeoutMs: 30_000 },
  })
}

const pushBody = (n: number) => ({
  target: 'github',
  token_response: { access_token: `gho_${n}_${'a'.repeat(30)}`, refresh_token: 'ghr', expires_in: 28800, scope: 'repo' },
})
const url = (prefix: string, tenant: number, user: number, what: string) =>
  `/v1/tenants/${prefix}-${tenant}/users/u${user}/connections/social/github/${what}`

async function inParallel(total: number, one: (i: number) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await one(next++)
    }),
  )
}

interface BenchRequest {
  method: 'GET' | 'PUT'
  url: string
  payload?: object
}

async function expectOk(app: FastifyInstance, request: BenchRequest) {
  const res = await app.inject({ ...request, headers: { authorization } })
  if (res.statusCode >= 300) throw new Error(`${res.statusCode} ${res.body}`)
}

// Seed both providers' tenants.
for (const [prefix, provider] of [
  ['kms', await createAwsKmsKeyProvider(kmsOptions)],
  ['local', localProvider],
] as const) {
  const app = await appFor(provider)
  await inParallel(tenants * usersPerTenant, (i) =>
    expectOk(app, { method: 'PUT', url: url(prefix, i % tenants, Math.floor(i / tenants), 'token-set'), payload: pushBody(i) }),
  )
  await app.close()
}

// 1. KMS calls from a replica with a cold cache.
const coldProvider = await createAwsKmsKeyProvider(kmsOptions)
const coldApp = await appFor(coldProvider)
const before = { ...kms.calls }
await inParallel(requests, async (i) => {
  const tenant = Math.floor(Math.random() * tenants)
  const user = Math.floor(Math.random() * usersPerTenant)
  if (i % 5 === 0) await expectOk(coldApp, { method: 'PUT', url: url('kms', tenant, user, 'token-set'), payload: pushBody(i) })
  else await expectOk(coldApp, { method: 'GET', url: url('kms', tenant, user, 'access-token') })
})
const kmsCalls = Object.fromEntries(['Decrypt', 'GenerateDataKey', 'ReEncrypt'].map((op) => [op, (kms.calls[op] ?? 0) - (before[op] ?? 0)]))
const totalKmsCalls = Object.values(kmsCalls).reduce((a, b) => a + b, 0)

// 2. Read throughput, warm caches, alternating providers.
async function readRate(app: FastifyInstance, prefix: string): Promise<number> {
  const deadline = Date.now() + Number(options.seconds) * 1000
  let done = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await expectOk(app, { method: 'GET', url: url(prefix, done % tenants, done % usersPerTenant, 'access-token') })
        done++
      }
    }),
  )
  return done / Number(options.seconds)
}
const localApp = await appFor(localProvider)
const rates = { kms: [] as number[], local: [] as number[] }
for (let round = 0; round < 3; round++) {
  rates.kms.push(await readRate(coldApp, 'kms'))
  rates.local.push(await readRate(localApp, 'local'))
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[1]!

await coldApp.close()
await localApp.close()
coldProvider.close()
await database.close()
await kms.close()
await admin(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`)

const report = {
  requests,
  tenants,
  kmsCalls,
  kmsCallsPerTenant: totalKmsCalls / tenants,
  readsPerSecond: { kms: median(rates.kms), local: median(rates.local) },
  kmsToLocalReadRatio: median(rates.kms) / median(rates.local),
}
mkdirSync(path.join(root, 'bench/results'), { recursive: true })
writeFileSync(path.join(root, 'bench/results/kms.json'), `${JSON.stringify(report, null, 2)}\n`)
process.stdout.write(
  `${requests} mixed requests across ${tenants} tenants from a cold replica: ${totalKmsCalls} KMS calls ` +
    `(${JSON.stringify(kmsCalls)}), ${report.kmsCallsPerTenant.toFixed(2)} per tenant\n` +
    `read throughput (in-process, warm cache, median of 3 × ${options.seconds}s): aws-kms ${report.readsPerSecond.kms.toFixed(0)}/s, ` +
    `local ${report.readsPerSecond.local.toFixed(0)}/s, ratio ${report.kmsToLocalReadRatio.toFixed(2)}×\n`,
)
