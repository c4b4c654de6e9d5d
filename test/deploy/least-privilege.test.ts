import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { runCli } from '../support/cli-process.ts'
import { startFakeTokenEndpoint } from '../support/fake-token-endpoint.ts'
import { startServerProcess } from '../support/server-process.ts'
import { databaseUrl, TEST_DATABASE_URL, TEST_LOGINS, withAdminClient } from '../support/test-database.ts'
import { createTestIssuer } from '../support/test-issuer.ts'
import { startWebhookReceiver } from '../support/webhook-receiver.ts'

/**
 * The documented deployment on a PostgreSQL server, step by step as README.md gives it, each step as the
 * login it names: an administrator bootstraps the roles, an owner that is neither superuser nor CREATEROLE
 * migrates with nothing but DATABASE_URL, the service serves as a member of secret_vault_app, the CLI works
 * as a member of secret_vault_operator. With TEST_PGBOUNCER_URL (CI sets it), the service and the CLI go
 * through PgBouncer in transaction pooling mode, LISTEN/NOTIFY through a direct connection.
 */
const PGBOUNCER_URL = process.env.TEST_PGBOUNCER_URL

const cli = runCli

const passes = [
  { name: 'directly', via: TEST_DATABASE_URL },
  ...(PGBOUNCER_URL === undefined ? [] : [{ name: 'through PgBouncer (transaction pooling)', via: PGBOUNCER_URL }]),
]

for (const pass of passes) {
  t.test(
    `the documented deployment, ${pass.name}`,
    { skip: TEST_DATABASE_URL === undefined ? 'needs a PostgreSQL server; CI runs it' : false },
    async (t) => {
      const name = `secret_vault_deploy_${randomBytes(5).toString('hex')}`
      await withAdminClient((client) => client.query(`CREATE DATABASE ${name} OWNER ${TEST_LOGINS.owner}`))
      t.teardown(() => withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)))
      const direct = (login?: 'owner' | 'app' | 'operator') => databaseUrl(TEST_DATABASE_URL!, name, login)
      const pooled = (login: 'app' | 'operator') => databaseUrl(pass.via!, name, login)

      // 1. An administrator, once per cluster: the roles, and which logins are members of them. Idempotent.
      for (let run = 0; run < 2; run++) {
        const bootstrap = await cli(['db', 'bootstrap', '--app-login', TEST_LOGINS.app, '--operator-login', TEST_LOGINS.operator], {
          DATABASE_URL: direct(),
        })
        t.equal(bootstrap.code, 0, `bootstrap #${run + 1}: ${bootstrap.stderr}`)
      }
      const owner = await withAdminClient((client) =>
        client.query<{ rolsuper: boolean; rolcreaterole: boolean }>(`SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = $1`, [
          TEST_LOGINS.owner,
        ]),
      )
      t.same(owner.rows, [{ rolsuper: false, rolcreaterole: false }], 'the owner is neither superuser nor CREATEROLE')

      // 2. The owner migrates, with nothing configured but the database.
      const migrated = await cli(['migrate'], { DATABASE_URL: direct('owner') })
      t.equal(migrated.code, 0, migrated.stderr)
      t.match(migrated.stdout, 'migrations: up to date')

      // 3. The service, as a member of secret_vault_app only.
      const issuer = await createTestIssuer()
      const jwksFile = path.join(mkdtempSync(path.join(tmpdir(), 'vault-deploy-')), 'jwks.json')
      writeFileSync(jwksFile, JSON.stringify(issuer.jwks))
      const rootKeys = `root-1=${randomBytes(32).toString('base64')}`
      const provider = await startFakeTokenEndpoint(t)
      provider.answer = () => ({ body: { access_token: 'gho_refreshed', token_type: 'bearer', expires_in: 3600, refresh_token: 'ghr_2' } })
      const serviceEnv = {
        DATABASE_URL: pooled('app'),
        DATABASE_LISTEN_URL: direct('app'),
        VAULT_LOCAL_ROOT_KEYS: rootKeys,
        VAULT_AUTH_ISSUER: issuer.issuer,
        VAULT_AUTH_JWKS_FILE: jwksFile,
        VAULT_REFRESH_ALLOW_INSECURE_HTTP: 'true',
        VAULT_EGRESS_ALLOW: '127.0.0.1',
        VAULT_KEEP_ALIVE_INTERVAL_SECONDS: '1',
        VAULT_OUTBOX_POLL_MS: '100',
        VAULT_AUDIT_SEAL_INTERVAL_SECONDS: '1',
      }
      const server = await startServerProcess(t, serviceEnv)
      const headers = { authorization: `Bearer ${await issuer.mint({}, { expiresIn: 600 })}`, 'content-type': 'application/json' }
      const connection = `${server.address}/v1/tenants/acme/users/alice/connections/social/github`
      const settings = await fetch(`${server.address}/v1/tenants/acme/connectors/social/github/refresh-settings`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ token_endpoint: provider.tokenEndpoint, client_id: 'Iv1.deploy', client_secret: 'cs_deploy' }),
      })
      t.equal(settings.status, 201, await settings.clone().text())
      const pushed = await fetch(`${connection}/token-set`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({
          target: 'github',
          token_response: { access_token: 'gho_deployed', refresh_token: 'ghr_1', expires_in: 3600 },
        }),
      })
      t.equal(pushed.status, 201, await pushed.clone().text())
      t.match(await (await fetch(`${connection}/access-token`, { headers })).json(), { access_token: 'gho_deployed', token_type: 'Bearer' })
      // A second set, due for refresh: the refresh goes through the same pooled connections.
      const due = await fetch(`${server.address}/v1/tenants/acme/users/bob/connections/social/github/token-set`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({
          target: 'github',
          issued_at: new Date(Date.now() - 3_600_000).toISOString(),
          token_response: { access_token: 'gho_due', refresh_token: 'ghr_1', expires_in: 3630 },
        }),
      })
      t.equal(due.status, 201)
      const refreshed = await fetch(`${server.address}/v1/tenants/acme/users/bob/connections/social/github/access-token`, { headers })
      t.equal(((await refreshed.json()) as { access_token: string }).access_token, 'gho_refreshed')
      t.equal(provider.requests.length, 1, 'one refresh at the provider')
      t.equal((await fetch(`${server.address}/readyz`)).status, 200)

      // Keep-alive, swept by two service processes every second: an idle set is refreshed once between them.
      const second = await startServerProcess(t, serviceEnv)
      const keptAlive = await fetch(`${server.address}/v1/tenants/acme/connectors/social/github/refresh-settings`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({
          token_endpoint: provider.tokenEndpoint,
          client_id: 'Iv1.deploy',
          client_secret: 'cs_deploy',
          refresh_policy: { keep_alive_idle_seconds: 3600 },
        }),
      })
      t.equal(keptAlive.status, 200, await keptAlive.clone().text())
      const idle = await fetch(`${server.address}/v1/tenants/acme/users/carol/connections/social/github/token-set`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({
          target: 'github',
          issued_at: new Date(Date.now() - 2 * 3_600_000).toISOString(),
          token_response: { access_token: 'gho_idle', refresh_token: 'ghr_idle', expires_in: 86_400 },
        }),
      })
      t.equal(idle.status, 201)
      for (let i = 0; i < 100 && provider.requests.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100))
      t.equal(provider.requests.at(-1)?.form.refresh_token, 'ghr_idle', "carol's idle set was kept alive")
      await new Promise((resolve) => setTimeout(resolve, 2500))
      t.equal(provider.requests.length, 2, 'once, by one of the two processes, over several sweeps of each')
      const scraped = (await Promise.all([server, second].map((one) => fetch(`${one.address}/metrics`).then((res) => res.text())))).join(
        '\n',
      )
      t.match(scraped, /secret_vault_keep_alive_refreshes_total\{outcome="refreshed"\} 1\n/)
      t.match(scraped, /secret_vault_connections\{health="active"\} 3\n/, 'the gauge, counted as the service login')

      // Webhooks, polled by both processes: every event delivered, each once between them, signed.
      const receiver = await startWebhookReceiver(t)
      const hook = await fetch(`${server.address}/v1/tenants/acme/webhooks`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ url: receiver.url, event_types: ['connection.created'] }),
      })
      t.equal(hook.status, 201, await hook.clone().text())
      const { secret } = (await hook.json()) as { secret: string }
      const newcomers = ['dave', 'erin', 'frank', 'gina', 'hank', 'ines']
      for (const [i, user] of newcomers.entries()) {
        const via = i % 2 === 0 ? server : second
        const res = await fetch(`${via.address}/v1/tenants/acme/users/${user}/connections/social/github/token-set`, {
          method: 'PUT',
          headers,
          body: JSON.stringify({ target: 'github', token_response: { access_token: `gho_${user}`, expires_in: 3600 } }),
        })
        t.equal(res.status, 201)
      }
      for (let i = 0; i < 100 && receiver.received.length < newcomers.length; i++) await new Promise((resolve) => setTimeout(resolve, 100))
      await new Promise((resolve) => setTimeout(resolve, 1000))
      t.equal(receiver.received.length, newcomers.length, 'every event arrived once: no replica sent one twice')
      const verifier = new Webhook(secret)
      t.same(
        receiver.received
          .map((d) => (verifier.verify(d.body, d.headers as Record<string, string>) as { data: { user_id: string } }).data.user_id)
          .sort(),
        newcomers,
      )
      const delivered = (await Promise.all([server, second].map((one) => fetch(`${one.address}/metrics`).then((res) => res.text()))))
        .map((text) => Number(/secret_vault_webhook_deliveries_total\{outcome="delivered"\} (\d+)/.exec(text)?.[1] ?? 0))
        .reduce((a, b) => a + b)
      t.equal(delivered, newcomers.length, 'the two processes delivered them between them')

      // The audit chain, sealed by both processes every second as the service login: digests stored.
      const sealedBy = async () =>
        (await Promise.all([server, second].map((one) => fetch(`${one.address}/metrics`).then((res) => res.text()))))
          .map((text) => Number(/secret_vault_audit_seals_total\{outcome="sealed"\} (\d+)/.exec(text)?.[1] ?? 0))
          .reduce((a, b) => a + b)
      for (let i = 0; i < 50 && (await sealedBy()) < 2; i++) await new Promise((resolve) => setTimeout(resolve, 200))
      t.ok((await sealedBy()) >= 2, 'digests sealed by the service processes')
      second.child.kill('SIGTERM')

      // 4. The operator, as a member of secret_vault_operator only, while the service runs.
      const operatorEnv = {
        DATABASE_URL: pooled('operator'),
        VAULT_LOCAL_ROOT_KEYS: rootKeys,
        VAULT_AUTH_ISSUER: issuer.issuer,
        VAULT_AUTH_JWKS_FILE: jwksFile,
      }
      for (const args of [
        ['keys', 'rotate', '--tenant', 'acme'],
        ['keys', 'reencrypt', '--json'],
        ['verify', '--json'],
      ]) {
        const run = await cli(args, operatorEnv)
        t.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`)
      }
      const status = JSON.parse((await cli(['keys', 'status', '--json'], operatorEnv)).stdout)
      t.match(status.data_keys, [
        { tenant_id: 'acme', version: 1, state: 'decrypt_only', token_sets: 0, webhook_endpoints: 0 },
        { tenant_id: 'acme', version: 2, state: 'active', token_sets: 9, webhook_endpoints: 1 },
      ])
      // The trail the two processes wrote and sealed between them verifies as the operator login (the
      // digests moved to version 2 with everything else).
      const audited = await cli(['audit', 'verify', '--tenant', 'acme', '--format', 'json'], operatorEnv)
      t.equal(audited.code, 0, audited.stdout + audited.stderr)
      const report = JSON.parse(audited.stdout)
      t.match(report, { ok: true, dropped_by_retention: 0 })
      t.ok(report.digests >= 2 && report.checked >= 15, `${report.checked} events against ${report.digests} digests`)
      t.match(
        await (await fetch(`${connection}/access-token`, { headers })).json(),
        { access_token: 'gho_deployed' },
        'served after re-encryption',
      )

      // What each login may not do.
      const serviceAsOperator = await cli(['keys', 'rotate', '--tenant', 'acme'], { ...operatorEnv, DATABASE_URL: pooled('app') })
      t.equal(serviceAsOperator.code, 1, 'the service login cannot run operator commands')
      t.match(serviceAsOperator.stderr, /permission denied|must be member/)
    },
  )
}
