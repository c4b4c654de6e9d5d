// Push and read of a token set whose ID token is 600 KiB (an enterprise ID token with a large groups claim)
// against a 2 KB set, in one run: same app, same database, same concurrency. Reports time per request and
// the large-to-small ratio for each operation (a ratio, never a timed assertion).
//
//   npm run bench:large -- [--requests 400] [--concurrency 8] [--rounds 3]
//
// Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), creating its own database.
import { createSecretKey, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { buildApp } from '../src/app.ts'
import { openDatabase } from '../src/db/database.ts'
import { bootstrapRoles, migrateToLatest } from '../src/db/migrate.ts'
import { createDataKeyRing } from '../src/keys/data-key-ring.ts'
import { instrumentKeyProvider } from '../src/keys/instrumented-key-provider.ts'
import { createLocalKeyProvider } from '../src/keys/local-key-provider.ts'
import { createLogger } from '../src/logger.ts'
import { createMetrics } from '../src/observability/metrics.ts'
import { testAuthenticator } from '../test/support/helper.ts'
import { createTestIssuer } from '../test/support/test-issuer.ts'
import { benchDatabase } from './bench-database.ts'

const { values: options } = parseArgs({
  options: {
    requests: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
  },
})
const requests = Number(options.requests)
const concurrency = Number(options.concurrency)
const rounds = Number(options.rounds)
const root = path.resolve(import.meta.dirname, '..')
const benchDb = 'secret_vault_bench_large'
const { url: benchUrl, admin } = benchDatabase(benchDb)

await admin(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`)
await admin(`CREATE DATABASE ${benchDb}`)
const database = await openDatabase({ kind: 'postgres', url: benchUrl, poolMax: 10 })
await bootstrapRoles(database.db)
await migrateToLatest(database.db)

const issuer = await createTestIssuer()
const authorization = `Bearer ${await issuer.mint({ client_id: 'bench', scope: 'token_sets:write token_sets:read' }, { expiresIn: 3600 })}`
const provider = createLocalKeyProvider([{ id: 'bench', key: createSecretKey(randomBytes(32)) }], 'bench')
const app = await buildApp({
  db: database.db,
  keyProvider: instrumentKeyProvider(provider, createMetrics(), createLogger('silent')),
  keyRing: createDataKeyRing({ provider, ttlMs: 300_000, maxEntries: 10_000 }),
  authenticator: testAuthenticator(issuer),
  logger: createLogger('silent'),
  bodyLimitBytes: 1_048_576,
  overload: { maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, maxHeapUsedBytes: 0, retryAfterSeconds: 1, requestTimeoutMs: 30_000 },
})

/** A 2 KB set (a JWT access token and a refresh token), or the same with a 600 KiB ID token. */
const sizes = {
  small: { idToken: undefined as string | undefined },
  large: { idToken: `eyJ.${randomBytes(450 * 1024).toString('base64url')}.sig`.slice(0, 600 * 1024) },
}
const accessToken = `eyJ.${randomBytes(1400).toString('base64url')}.sig`
const body = (size: keyof typeof sizes, n: number) => ({
  issuer: 'https://login.example.com',
  token_response: {
    access_token: `${accessToken}${n}`,
    refresh_token: `rt_${n}`,
    expires_in: 3600,
    scope: 'openid profile',
    ...(sizes[size].idToken === undefined ? {} : { id_token: sizes[size].idToken }),
  },
})
const url = (size: string, user: number, what: string) => `/v1/tenants/bench/users/${size}-u${user}/connections/enterprise_sso/okta/${what}`

/** Milliseconds per request over `requests` requests from `concurrency` callers. */
async function timePerRequest(one: (i: number) => Promise<void>): Promise<number> {
  let next = 0
  const started = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) await one(next++)
    }),
  )
  return Number(process.hrtime.bigint() - started) / 1e6 / requests
}

async function ok(method: 'GET' | 'PUT', target: string, payload?: object) {
  const res = await app.inject({ method, url: target, headers: { authorization }, ...(payload === undefined ? {} : { payload }) })
  if (res.statusCode >= 300) throw new Error(`${res.statusCode} ${res.body.slice(0, 200)}`)
}

const users = 50
const results = { push: { small: [] as number[], large: [] as number[] }, read: { small: [] as number[], large: [] as number[] } }
for (const size of ['small', 'large'] as const) await timePerRequest((i) => ok('PUT', url(size, i % users, 'token-set'), body(size, i)))
for (let round = 0; round < rounds; round++) {
  for (const size of round % 2 === 0 ? (['small', 'large'] as const) : (['large', 'small'] as const)) {
    results.push[size].push(await timePerRequest((i) => ok('PUT', url(size, i % users, 'token-set'), body(size, i))))
    results.read[size].push(await timePerRequest((i) => ok('GET', url(size, i % users, 'access-token'))))
  }
}
await app.close()
await database.close()
await admin(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`)

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const report = Object.fromEntries(
  (['push', 'read'] as const).map((op) => {
    const small = median(results[op].small)
    const large = median(results[op].large)
    return [op, { smallMsPerRequest: small, largeMsPerRequest: large, largeToSmall: large / small }]
  }),
)
mkdirSync(path.join(root, 'bench/results'), { recursive: true })
writeFileSync(
  path.join(root, 'bench/results/large-tokens.json'),
  `${JSON.stringify({ requests, concurrency, rounds, ...report }, null, 2)}\n`,
)
for (const [op, r] of Object.entries(report)) {
  process.stdout.write(
    `${op}: 2 KB set ${r.smallMsPerRequest.toFixed(2)} ms/request, 600 KiB ID token ${r.largeMsPerRequest.toFixed(2)} ms/request, ` +
      `${r.largeToSmall.toFixed(2)}× (median of ${rounds} rounds, ${requests} requests, ${concurrency} at a time, in-process)\n`,
  )
}
