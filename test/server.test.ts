import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { createVaultClient } from '../src/client/index.ts'
import { startServerProcess } from './support/server-process.ts'

const root = path.resolve(import.meta.dirname, '..')

t.test('npm start serves on the embedded default with a loudly announced development key', async (t) => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'vault-server-')), 'data')
  // HashiCorp Vault's own variable, as a shell that also talks to it has: reported, not refused.
  const server = await startServerProcess(t, { VAULT_DATA_DIR: dataDir, VAULT_ADDR: 'https://vault.example:8200' })
  const { child, address } = server
  t.match(server.output(), 'VAULT_ADDR is not a secret-vault setting and is ignored')
  t.notMatch(server.output(), 'vault.example', 'its value is not echoed')
  t.match(server.output(), 'DEVELOPMENT ROOT KEY')
  t.match(server.output(), 'DEVELOPMENT TOKEN ISSUER')
  t.ok(existsSync(path.join(dataDir, 'root-keys')))

  // The README's flow: mint a token with the CLI, then call the API with it.
  const mint = spawnSync(process.execPath, ['src/cli.ts', 'token', 'mint', '--tenant', 'demo'], {
    cwd: root,
    env: { PATH: process.env.PATH, VAULT_DATA_DIR: dataDir },
    encoding: 'utf8',
  })
  t.equal(mint.status, 0, mint.stderr)
  const headers = { authorization: `Bearer ${mint.stdout.trim()}`, 'content-type': 'application/json' }
  t.equal((await fetch(`${address}/v1/tenants/demo/users/alice/connections`)).status, 401, 'no token, no access')

  const url = `${address}/v1/tenants/demo/users/alice/connections/social/github`
  const pushed = await fetch(`${url}/token-set`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ target: 'github', token_response: { access_token: 'gho_process', scope: 'repo' } }),
  })
  t.equal(pushed.status, 201)
  const read = await fetch(`${url}/access-token`, { headers })
  t.same(await read.json(), { access_token: 'gho_process', token_type: 'Bearer', scope: 'repo', expires_in: null })
  t.equal((await fetch(`${address}/readyz`)).status, 200)
  const other = await fetch(`${address}/v1/tenants/other/users/alice/connections`, { headers })
  t.equal(((await other.json()) as { code: string }).code, 'auth.tenant_forbidden', 'the minted token is bound to its tenant')

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'a clean shutdown on SIGTERM')
  t.match(server.output(), 'shutting down')
  t.notMatch(server.output(), 'gho_process', 'the token never reached the log')
})

t.test('the typed client works against a fresh npm start with the development client it prints', async (t) => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'vault-server-')), 'data')
  const server = await startServerProcess(t, { VAULT_DATA_DIR: dataDir })
  let printed: RegExpExecArray | null = null
  for (let i = 0; i < 100 && printed === null; i++) {
    printed = /development client \(embedded default only\): tokenEndpoint (\S+) clientId (\S+) clientSecret (\S+)/.exec(server.output())
    if (printed === null) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(printed, 'npm start prints the development client')
  const [, tokenEndpoint, clientId, clientSecret] = printed!
  t.equal(tokenEndpoint, `${server.address}/dev/oauth/token`)
  const vault = createVaultClient({
    baseUrl: server.address,
    credentials: {
      tokenEndpoint: tokenEndpoint!,
      clientId: clientId!,
      clientSecret: clientSecret!,
      scope: 'token_sets:write token_sets:read',
    },
    allowInsecureRequests: true,
  })
  const connection = { tenantId: 'demo', userId: 'alice', connectorType: 'social' as const, connectorId: 'github' }
  t.match(await vault.pushTokenSet(connection, { target: 'github', token_response: { access_token: 'gho_typed', scope: 'repo' } }), {
    result: 'created',
  })
  t.match(await vault.readAccessToken(connection), { access_token: 'gho_typed' })
  await t.rejects(vault.listConnections(connection), { code: 'auth.insufficient_scope' }, 'only the scopes it asked for')

  const form = (body: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  })
  const wrong = await fetch(tokenEndpoint!, form({ grant_type: 'client_credentials', client_id: clientId!, client_secret: 'guess' }))
  t.same([wrong.status, ((await wrong.json()) as { error: string }).error], [401, 'invalid_client'])
  const garbled = await fetch(tokenEndpoint!, {
    ...form({ grant_type: 'client_credentials' }),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('dev-client:%E0%A4%A').toString('base64')}`,
    },
  })
  t.same(
    [garbled.status, ((await garbled.json()) as { error: string }).error],
    [401, 'invalid_client'],
    'credentials that are not form-encoded',
  )
  const grant = await fetch(tokenEndpoint!, form({ grant_type: 'password', client_id: clientId!, client_secret: clientSecret! }))
  t.same([grant.status, ((await grant.json()) as { error: string }).error], [400, 'unsupported_grant_type'])
  const scope = await fetch(
    tokenEndpoint!,
    form({ grant_type: 'client_credentials', client_id: clientId!, client_secret: clientSecret!, scope: 'admin' }),
  )
  t.same([scope.status, ((await scope.json()) as { error: string }).error], [400, 'invalid_scope'])

  const again = await startServerProcess(t, { VAULT_DATA_DIR: dataDir }).catch(() => undefined)
  t.notOk(again, 'one owner of the data directory at a time')
  server.child.kill('SIGTERM')
  await once(server.child, 'exit')
  const restarted = await startServerProcess(t, { VAULT_DATA_DIR: dataDir })
  for (let i = 0; i < 100 && !restarted.output().includes('clientSecret'); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.match(restarted.output(), `clientSecret ${clientSecret}`, 'the same client after a restart')
  t.notMatch(server.output() + restarted.output(), 'gho_typed', 'the token never reached the log')
  restarted.child.kill('SIGTERM')
  await once(restarted.child, 'exit')
})
