// Operator key lifecycle at scale, on a real PostgreSQL server, the CLI run as operators run it:
//   1. keys reencrypt throughput and peak RSS for each N (default 100,000 and 1,000,000 token sets):
//      targets ≥ 5,000 token sets/s on 2 cores, peak RSS < 256 MB and flat as N grows.
//   2. keys rotate-root for 10,000 tenants with the local provider: target < 10 s.
//
//   npm run bench:keys -- [--sizes 100000,1000000] [--tenants 100] [--root-tenants 10000] [--batch 1000]
//
// Token sets are sealed with the service's own crypto and bulk-inserted (pushing a million through HTTP
// would measure HTTP). BENCH_DATABASE_URL as for the other benchmarks.
import { spawn } from 'node:child_process'
import { createSecretKey, type KeyObject, randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { secretsOfRow } from '../src/crypto/token-binding.ts'
import { sealToken } from '../src/crypto/token-sealing.ts'
import { openDatabase } from '../src/db/database.ts'
import { bootstrapRoles, migrateToLatest } from '../src/db/migrate.ts'
import { createLocalKeyProvider } from '../src/keys/local-key-provider.ts'
import { benchDatabase } from './bench-database.ts'

const { values: options } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    tenants: { type: 'string', default: '100' },
    'root-tenants': { type: 'string', default: '10000' },
    batch: { type: 'string', default: '1000' },
  },
})
const root = path.resolve(import.meta.dirname, '..')
const benchDb = 'secret_vault_bench_keys'
const { url: benchUrl, admin } = benchDatabase(benchDb)
const rootKeys = { 'root-1': randomBytes(32), 'root-2': randomBytes(32) }
const provider = createLocalKeyProvider(
  Object.entries(rootKeys).map(([id, key]) => ({ id, key: createSecretKey(key) })),
  'root-1',
)
const cliEnv = {
  PATH: process.env.PATH!,
  LOG_LEVEL: 'warn',
  DATABASE_URL: benchUrl,
  VAULT_LOCAL_ROOT_KEYS: Object.entries(rootKeys)
    .map(([id, key]) => `${id}=${key.toString('base64')}`)
    .join(','),
  VAULT_ACTIVE_ROOT_KEY_ID: 'root-1',
  VAULT_AUTH_ISSUER: 'https://bench.invalid',
  VAULT_AUTH_JWKS_URL: 'https://bench.invalid/jwks',
  // e.g. BENCH_CLI_NODE_OPTIONS=--max-old-space-size=96 to tell a leak (it dies) from lazy collection.
  ...(process.env.BENCH_CLI_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_CLI_NODE_OPTIONS } : {}),
}

async function freshDatabase() {
  await admin(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`)
  await admin(`CREATE DATABASE ${benchDb}`)
  const database = await openDatabase({ kind: 'postgres', url: benchUrl, poolMax: 4 })
  await bootstrapRoles(database.db)
  await migrateToLatest(database.db)
  return database
}

/** Runs the CLI, sampling its resident memory from /proc; returns wall time and peak RSS. */
function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; ms: number; peakRssMb: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    // Through the launcher operators use, with its memory settings.
    const child = spawn('bin/secret-vault', args, { cwd: root, env: { ...cliEnv, ...env } })
    let stdout = ''
    let peak = 0
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.pipe(process.stderr)
    const sample = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024)
      } catch {}
    }, 50)
    child.on('error', reject)
    child.on('close', (code) => {
      clearInterval(sample)
      resolve({ code, ms: Date.now() - started, peakRssMb: peak, stdout })
    })
  })
}

async function seedTokenSets(database: Awaited<ReturnType<typeof freshDatabase>>, total: number, tenants: number) {
  const keys: KeyObject[] = []
  for (let t = 0; t < tenants; t++) {
    const generated = await provider.generateDataKey({ tenantId: `t${t}`, version: 1 })
    keys.push(generated.plaintext)
    await database.db
      .insertInto('tenants')
      .values({ tenant_id: `t${t}` })
      .execute()
    await database.db
      .insertInto('data_keys')
      .values({ tenant_id: `t${t}`, version: 1, state: 'active', root_key_id: generated.rootKeyId, wrapped_key: generated.wrapped })
      .execute()
  }
  const now = new Date()
  for (let i = 0; i < total; i += 2000) {
    const rows = Array.from({ length: Math.min(2000, total - i) }, (_, j) => {
      const n = i + j
      const tenantId = `t${n % tenants}`
      const id = randomUUID()
      const location = { tenantId, userId: `u${n}`, connectorType: 'social', connectorId: 'github', tokenSetId: id }
      const key = keys[n % tenants]!
      const row = {
        tenant_id: tenantId,
        id,
        user_id: `u${n}`,
        connector_type: 'social' as const,
        connector_id: 'github',
        target: 'github',
        issuer: null,
        provider_subject: null,
        expires_at: null,
        refresh_server: 'https://github.com/login/oauth/access_token',
        token_type: 'Bearer',
        scope: 'repo',
        issued_at: now,
        state: 'active' as const,
        key_version: 1,
        write_id: randomUUID(),
      }
      const secrets = secretsOfRow({ ...row, has_refresh_token: true })
      return {
        ...row,
        access_token_sealed: sealToken(key, location, secrets.access_token, 1, Buffer.from(`gho_${n}_${'a'.repeat(36)}`)),
        refresh_token_sealed: sealToken(key, location, secrets.refresh_token, 1, Buffer.from(`ghr_${n}_${'b'.repeat(36)}`)),
        id_token_sealed: null,
      }
    })
    await database.db.insertInto('token_sets').values(rows).execute()
  }
  await admin(`VACUUM ANALYZE`).catch(() => {})
}

const report: Record<string, unknown> = { node: process.version, batch: Number(options.batch) }
interface ReencryptRun {
  tokenSets: number
  seconds: number
  perSecond: number
  peakRssMb: number
}
const reencrypt: ReencryptRun[] = []
for (const size of options.sizes!.split(',').map(Number)) {
  const database = await freshDatabase()
  const seedStart = Date.now()
  await seedTokenSets(database, size, Number(options.tenants))
  await database.close()
  process.stderr.write(`seeded ${size} token sets in ${((Date.now() - seedStart) / 1000).toFixed(1)} s\n`)
  const rotated = await runCli(['keys', 'rotate', '--all', '--json'])
  if (rotated.code !== 0) throw new Error('rotate failed')
  const run = await runCli(['keys', 'reencrypt', '--batch', options.batch!, '--json'])
  const done = JSON.parse(run.stdout.trim().split('\n').at(-1)!)
  if (run.code !== 0 || done.remaining !== 0 || done.done !== size) throw new Error(`reencrypt failed: ${run.stdout.slice(-500)}`)
  const result = { tokenSets: size, seconds: run.ms / 1000, perSecond: size / (run.ms / 1000), peakRssMb: run.peakRssMb }
  reencrypt.push(result)
  process.stderr.write(`reencrypt ${size}: ${result.perSecond.toFixed(0)} token sets/s, peak RSS ${result.peakRssMb.toFixed(0)} MB\n`)
}
report.reencrypt = reencrypt
if (reencrypt.length > 1) report.rssGrowth = reencrypt.at(-1)!.peakRssMb / reencrypt[0]!.peakRssMb

const database = await freshDatabase()
const rootTenants = Number(options['root-tenants'])
for (let t = 0; t < rootTenants; t += 1000) {
  const rows = await Promise.all(
    Array.from({ length: Math.min(1000, rootTenants - t) }, async (_, j) => {
      const generated = await provider.generateDataKey({ tenantId: `r${t + j}`, version: 1 })
      return {
        tenant_id: `r${t + j}`,
        version: 1,
        state: 'active' as const,
        root_key_id: generated.rootKeyId,
        wrapped_key: generated.wrapped,
      }
    }),
  )
  await database.db
    .insertInto('tenants')
    .values(rows.map((row) => ({ tenant_id: row.tenant_id })))
    .execute()
  await database.db.insertInto('data_keys').values(rows).execute()
}
await database.close()
const rotateRoot = await runCli(['keys', 'rotate-root', '--to', 'root-2', '--json'])
if (rotateRoot.code !== 0) throw new Error('rotate-root failed')
report.rotateRoot = { tenants: rootTenants, seconds: rotateRoot.ms / 1000, peakRssMb: rotateRoot.peakRssMb }
await admin(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`)

mkdirSync(path.join(root, 'bench/results'), { recursive: true })
writeFileSync(path.join(root, 'bench/results/key-lifecycle.json'), `${JSON.stringify(report, null, 2)}\n`)
process.stdout.write(
  `${[
    '| token sets | reencrypt s | token sets/s | peak RSS MB |',
    '| --- | --- | --- | --- |',
    ...reencrypt.map((r) => `| ${r.tokenSets} | ${r.seconds.toFixed(1)} | ${r.perSecond.toFixed(0)} | ${r.peakRssMb.toFixed(0)} |`),
    `rotate-root for ${rootTenants} tenants: ${(rotateRoot.ms / 1000).toFixed(1)} s (peak RSS ${rotateRoot.peakRssMb.toFixed(0)} MB)`,
  ].join('\n')}\n`,
)
