// Push and read throughput and p99 of the vault against the unencrypted baseline, on a real PostgreSQL
// server, in one run: same machine, same database server, same concurrency, load from a separate process.
//
//   npm run bench:http -- [--seconds 10] [--connections 32] [--users 1000] [--rounds 3] [--warmup 5] [--only read] [--profile]
//                         [--against DIR]
//
// --against DIR also runs the vault of another checkout (a worktree of an earlier commit, with node_modules)
// on a database of its own, in the same rounds: a change is measured against its before in one run.
//
// BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names a server and an admin
// database; the benchmark creates and drops its own database there.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { bootstrapRoles, migrateToLatest } from '../src/db/migrate.ts'
import { createTestIssuer } from '../test/support/test-issuer.ts'
import { benchDatabase } from './bench-database.ts'
import { cpuSecondsOf, postgresCpuSecondsBetween, postgresCpuSnapshot } from './cpu-time.ts'

const { values: options } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    users: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    // Unmeasured load on each side first: JIT, plan caches, statistics and the first update of every
    // seeded row are paid before any round counts.
    warmup: { type: 'string', default: '5' },
    // Writes a V8 CPU profile of each server process to bench/results/profiles (open in Chrome DevTools).
    profile: { type: 'boolean', default: false },
    // Only one operation (push or read), e.g. while profiling.
    only: { type: 'string' },
    // Another checkout whose vault runs beside this one (before and after a change, in one run).
    against: { type: 'string' },
  },
})
const root = path.resolve(import.meta.dirname, '..')
const benchDb = 'secret_vault_bench'
const { url: benchUrl, admin } = benchDatabase(benchDb)
const againstRoot = options.against === undefined ? undefined : path.resolve(options.against)
const againstDb = 'secret_vault_bench_against'
const againstUrl = benchDatabase(againstDb).url

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Starts a server process on a free port and waits until it answers. */
async function start(
  script: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
  cwd = root,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd,
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`)
    const up = await fetch(`${url}/healthz`).then(
      (res) => res.status < 500,
      () => false,
    )
    if (up) return { child, url }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${script} did not start`)
}

interface LoadResult {
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  non2xx: number
  errors: number
  total: number
  /** CPU time per request of the server process and of the database server; undefined without /proc. */
  serverCpuUs?: number
  postgresCpuUs?: number
}

function load(url: string, kind: 'push' | 'read', seconds = options.seconds!): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/load.ts', url, kind, seconds, options.connections!, options.users!], {
      cwd: root,
      env: { ...process.env, BENCH_TOKEN: token },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output) as LoadResult) : reject(new Error(`load exited ${code}`))))
  })
}

async function seed(url: string): Promise<void> {
  // Every user gets a token set first, so reads always hit.
  const users = Number(options.users)
  for (let i = 0; i < users; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, users - i) }, (_, j) =>
        fetch(`${url}/v1/tenants/bench/users/u${i + j}/connections/social/github/token-set`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            target: 'github',
            token_response: { access_token: `seed${i + j}`, refresh_token: 'r', expires_in: 28800 },
          }),
        }).then((res) => {
          if (!res.ok) throw new Error(`seed failed: ${res.status}`)
        }),
      ),
    )
  }
}

// The vault authenticates its callers as in production: a static JWKS file and one long-lived token.
const issuer = await createTestIssuer()
const jwksFile = path.join(mkdtempSync(path.join(tmpdir(), 'vault-bench-')), 'jwks.json')
writeFileSync(jwksFile, JSON.stringify(issuer.jwks))
const token = await issuer.mint({ client_id: 'bench', scope: 'token_sets:write token_sets:read' }, { expiresIn: 4 * 3600 })

await admin(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`)
await admin(`CREATE DATABASE ${benchDb}`)
const migrator = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: benchUrl, max: 1 }) }) })
await bootstrapRoles(migrator)
await migrateToLatest(migrator)
await migrator.destroy()
if (againstRoot !== undefined) {
  // The other checkout migrates its own database with its own migrations (the roles are the cluster's).
  await admin(`DROP DATABASE IF EXISTS ${againstDb} WITH (FORCE)`)
  await admin(`CREATE DATABASE ${againstDb}`)
  await new Promise<void>((resolve, reject) =>
    spawn(process.execPath, ['src/cli.ts', 'migrate'], {
      cwd: againstRoot,
      env: { PATH: process.env.PATH, DATABASE_URL: againstUrl, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    }).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`migrate in ${againstRoot} exited ${code}`)))),
  )
}

// Both sides are profiled alike, so their profiles can be compared per request.
const profileArgs = (side: string) =>
  options.profile ? ['--cpu-prof', '--cpu-prof-dir=bench/results/profiles', `--cpu-prof-name=${side}-${Date.now()}.cpuprofile`] : []
const common = { DATABASE_URL: benchUrl, DATABASE_POOL_MAX: '10', LOG_LEVEL: 'warn' }
const vaultEnv = {
  ...common,
  VAULT_LOCAL_ROOT_KEYS: `bench=${randomBytes(32).toString('base64')}`,
  VAULT_AUTH_ISSUER: issuer.issuer,
  VAULT_AUTH_JWKS_FILE: jwksFile,
}
type Side = 'vault' | 'baseline' | 'against'
const servers: Partial<Record<Side, { child: ChildProcess; url: string }>> = {
  vault: await start('src/server.ts', vaultEnv, profileArgs('vault')),
  baseline: await start('bench/baseline-server.ts', common, profileArgs('baseline')),
}
if (againstRoot !== undefined) {
  servers.against = await start('src/server.ts', { ...vaultEnv, DATABASE_URL: againstUrl }, profileArgs('against'), againstRoot)
}
const sides = Object.keys(servers) as Side[]
const kinds = (['push', 'read'] as const).filter((kind) => options.only === undefined || options.only === kind)
const results: Record<string, LoadResult[]> = Object.fromEntries(kinds.flatMap((kind) => sides.map((side) => [`${side} ${kind}`, []])))
try {
  for (const side of sides) await seed(servers[side]!.url)
  if (Number(options.warmup) > 0) {
    for (const kind of kinds) {
      for (const side of sides) await load(servers[side]!.url, kind, options.warmup)
    }
  }
  for (let round = 0; round < Number(options.rounds); round++) {
    // Rotate who goes first, so no side always gets the warmer machine.
    const order = sides.map((_, i) => sides[(i + round) % sides.length]!)
    for (const kind of kinds) {
      for (const who of order) {
        const server = servers[who]!
        const cpuBefore = { server: cpuSecondsOf(server.child.pid!), postgres: postgresCpuSnapshot() }
        const result = await load(server.url, kind)
        const cpuAfter = { server: cpuSecondsOf(server.child.pid!), postgres: postgresCpuSnapshot() }
        const perRequestUs = (seconds: number) => (seconds * 1e6) / result.total
        if (cpuBefore.server !== undefined && cpuAfter.server !== undefined)
          result.serverCpuUs = perRequestUs(cpuAfter.server - cpuBefore.server)
        if (cpuBefore.postgres !== undefined && cpuAfter.postgres !== undefined) {
          result.postgresCpuUs = perRequestUs(postgresCpuSecondsBetween(cpuBefore.postgres, cpuAfter.postgres))
        }
        results[`${who} ${kind}`]!.push(result)
        const cpu =
          result.serverCpuUs === undefined
            ? ''
            : `, CPU per request: server ${result.serverCpuUs.toFixed(0)} µs, postgres ${result.postgresCpuUs?.toFixed(0)} µs`
        process.stderr.write(
          `round ${round + 1} ${who} ${kind}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms} ms, non-2xx ${result.non2xx}${cpu}\n`,
        )
      }
    }
  }
} finally {
  for (const side of sides) servers[side]!.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 500))
  await admin(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`)
  if (againstRoot !== undefined) await admin(`DROP DATABASE IF EXISTS ${againstDb} WITH (FORCE)`)
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const medianOf = (values: (number | undefined)[]) => (values.includes(undefined) ? undefined : median(values as number[]))
const summary = Object.fromEntries(
  Object.entries(results).map(([name, runs]) => [
    name,
    {
      requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
      p99Ms: median(runs.map((run) => run.p99Ms)),
      non2xx: runs.reduce((sum, run) => sum + run.non2xx + run.errors, 0),
      serverCpuUs: medianOf(runs.map((run) => run.serverCpuUs)),
      postgresCpuUs: medianOf(runs.map((run) => run.postgresCpuUs)),
    },
  ]),
)
type Kind = 'push' | 'read'
const ratio = (kind: Kind, side: Side) => ({
  throughput: summary[`${side} ${kind}`]!.requestsPerSecond / summary[`baseline ${kind}`]!.requestsPerSecond,
  p99: summary[`${side} ${kind}`]!.p99Ms / summary[`baseline ${kind}`]!.p99Ms,
})
// Each round's ratio of one side to another: the sides of a round run back to back, so a machine whose
// speed drifts between rounds (a shared VM) moves them alike.
const roundRatios = (kind: Kind, side: Side, to: Side = 'baseline') =>
  results[`${side} ${kind}`]!.map((run, i) => run.requestsPerSecond / results[`${to} ${kind}`]![i]!.requestsPerSecond)
const vaults = sides.filter((side) => side !== 'baseline')
const report = {
  options,
  node: process.version,
  summary,
  ratios: Object.fromEntries(
    kinds.map((kind) => [
      kind,
      Object.fromEntries(
        vaults.map((side) => [
          side,
          { ...ratio(kind, side), rounds: roundRatios(kind, side), medianOfRounds: median(roundRatios(kind, side)) },
        ]),
      ),
    ]),
  ),
  ...(againstRoot === undefined
    ? {}
    : {
        againstRoot,
        vaultToAgainst: Object.fromEntries(
          kinds.map((kind) => [
            kind,
            { rounds: roundRatios(kind, 'vault', 'against'), medianOfRounds: median(roundRatios(kind, 'vault', 'against')) },
          ]),
        ),
      }),
}
mkdirSync(path.join(root, 'bench/results'), { recursive: true })
writeFileSync(path.join(root, 'bench/results/http-throughput.json'), `${JSON.stringify(report, null, 2)}\n`)

const label = (side: Side) => (side === 'against' ? `against (${options.against})` : side)
const row = (kind: Kind, side: Side) => {
  const v = summary[`${side} ${kind}`]!
  const b = summary[`baseline ${kind}`]!
  const r = ratio(kind, side)
  return `| ${kind} | ${label(side)} | ${b.requestsPerSecond.toFixed(0)} | ${v.requestsPerSecond.toFixed(0)} | ${r.throughput.toFixed(2)}× | ${b.p99Ms} | ${v.p99Ms} | ${r.p99.toFixed(2)}× |`
}
const listed = (values: number[]) => `${values.map((r) => r.toFixed(2)).join(', ')}; median ${median(values).toFixed(2)}×`
const us = (value: number | undefined) => `${value?.toFixed(0)} µs`
process.stdout.write(
  `${[
    `median of ${options.rounds} rounds, ${options.seconds}s each, ${options.connections} connections, ${options.users} users`,
    '| operation | side | baseline req/s | side req/s | throughput ratio | baseline p99 ms | side p99 ms | p99 ratio |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...kinds.flatMap((kind) => vaults.map((side) => row(kind, side))),
    '',
    ...kinds.flatMap((kind) =>
      vaults.map((side) => `${kind}: ${label(side)} to baseline, round ratios ${listed(roundRatios(kind, side))}`),
    ),
    ...(againstRoot === undefined
      ? []
      : kinds.map((kind) => `${kind}: vault to against, round ratios ${listed(roundRatios(kind, 'vault', 'against'))}`)),
    ...kinds.flatMap((kind) =>
      sides.flatMap((side) => {
        const v = summary[`${side} ${kind}`]!
        return v.serverCpuUs === undefined
          ? []
          : [`${kind}: CPU per request (median) — ${label(side)} ${us(v.serverCpuUs)} + postgres ${us(v.postgresCpuUs)}`]
      }),
    ),
  ].join('\n')}\n`,
)
