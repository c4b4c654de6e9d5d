import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
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
