import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import t from 'tap'
import { createCliEnvironment, seedTokenSets } from '../support/cli-environment.ts'
import { startServerProcess } from '../support/server-process.ts'
import { TEST_DATABASE_URL } from '../support/test-database.ts'
import { createTestIssuer } from '../support/test-issuer.ts'

t.test('a reencrypt SIGKILLed at random points resumes: nothing lost, nothing sealed twice', async (t) => {
  const cli = await createCliEnvironment(t)
  const tenant = 'crash'
  const tokens = await cli.withDatabase((_db, tokenSets) => seedTokenSets(tokenSets, tenant, 600))
  t.equal((await cli.run(['keys', 'rotate', '--tenant', tenant])).code, 0)

  let killedMidway = 0
  for (let attempt = 0; attempt < 3; attempt++) {
    // Slowed to about 150 token sets a second so that a kill lands while batches are committing.
    const run = await cli.run(['keys', 'reencrypt', '--tenant', tenant, '--batch', '20', '--max-rate', '150'], {
      killAfterMs: 1800 + Math.random() * 1500,
    })
    const moved = await cli.withDatabase((db) =>
      sql<{ n: number }>`SELECT count(*)::int AS n FROM token_sets WHERE tenant_id = ${tenant} AND key_version = 2`.execute(db.admin),
    )
    if (run.signal === 'SIGKILL' && moved.rows[0]!.n > 0 && moved.rows[0]!.n < 600) killedMidway++
  }
  t.ok(killedMidway >= 1, `${killedMidway} kill(s) landed mid-run`)

  const finish = await cli.run(['keys', 'reencrypt', '--tenant', tenant, '--json'])
  t.equal(finish.code, 0, finish.stderr)
  t.match(JSON.parse(finish.stdout.trim().split('\n').at(-1)!), { remaining: 0, interrupted: false })

  await cli.withDatabase(async (db, tokenSets) => {
    const rows = await sql<{
      key_version: number
      n: number
    }>`SELECT key_version, count(*)::int AS n FROM token_sets WHERE tenant_id = ${tenant} GROUP BY key_version`.execute(db.admin)
    t.same(rows.rows, [{ key_version: 2, n: 600 }], 'every token set moved, none lost or duplicated')
    // A secret sealed twice would not open to its original value under its binding.
    let intact = 0
    for (const [user, accessToken] of tokens) {
      const read = await tokenSets.readAccessToken({
        tenantId: tenant,
        userId: user,
        connectorType: 'social',
        connectorId: 'github',
      })
      if (read.access_token === accessToken) intact++
    }
    t.equal(intact, 600, 'every access token opens to its original value')
  })
  const verified = await cli.run(['verify', '--tenant', tenant, '--json'])
  t.same(
    JSON.parse(verified.stdout),
    {
      checked: 600,
      connectors_checked: 0,
      user_secrets_checked: 0,
      mfa_factors_checked: 0,
      webhook_endpoints_checked: 0,
      audit_digests_checked: 0,
      failures: [],
    },
    'refresh and ID tokens too',
  )
})

t.test(
  'rotation, re-encryption and destruction while a server keeps serving reads',
  { skip: TEST_DATABASE_URL === undefined ? 'needs a PostgreSQL server (two processes on one database); CI runs it' : false },
  async (t) => {
    const cli = await createCliEnvironment(t)
    const tenant = 'live'
    const tokens = await cli.withDatabase((_db, tokenSets) => seedTokenSets(tokenSets, tenant, 200))

    const issuer = await createTestIssuer()
    const jwksFile = path.join(mkdtempSync(path.join(tmpdir(), 'vault-live-')), 'jwks.json')
    writeFileSync(jwksFile, JSON.stringify(issuer.jwks))
    const token = await issuer.mint({ client_id: 'account-api', scope: 'token_sets:read' }, { expiresIn: 600 })
    const { address } = await startServerProcess(t, {
      ...cli.serviceEnv,
      LOG_LEVEL: 'info',
      VAULT_AUTH_ISSUER: issuer.issuer,
      VAULT_AUTH_JWKS_URL: '',
      VAULT_AUTH_JWKS_FILE: jwksFile,
    })

    let reads = 0
    const failures: string[] = []
    let stop = false
    const users = [...tokens.keys()]
    const readers = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const user = users[reads % users.length]!
        reads++
        const res = await fetch(`${address}/v1/tenants/${tenant}/users/${user}/connections/social/github/access-token`, {
          headers: { authorization: `Bearer ${token}` },
        })
        const body = (await res.json()) as { access_token?: string; code?: string }
        if (res.status !== 200 || body.access_token !== tokens.get(user)) failures.push(`${res.status} ${body.code ?? ''}`)
      }
    })
    const step = async (args: string[]) => {
      const run = await cli.run(args)
      t.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`)
    }
    await step(['keys', 'rotate', '--tenant', tenant])
    await step(['keys', 'reencrypt', '--tenant', tenant, '--batch', '25'])
    await step(['keys', 'destroy', '--tenant', tenant, '--version', '1'])
    await step(['keys', 'rotate', '--tenant', tenant])
    await step(['keys', 'reencrypt', '--tenant', tenant])
    await new Promise((resolve) => setTimeout(resolve, 300))
    stop = true
    await Promise.all(readers)
    t.ok(reads > 100, `${reads} reads during the operations`)
    t.same(failures, [], 'no read failed')
  },
)
