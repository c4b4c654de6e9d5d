import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import t from 'tap'
import { startServerProcess } from './support/server-process.ts'

const root = path.resolve(import.meta.dirname, '..')

t.test('SIGTERM under load: every push answered 2xx is in the database', async (t) => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'vault-shutdown-')), 'data')
  const env = { PATH: process.env.PATH!, VAULT_DATA_DIR: dataDir, LOG_LEVEL: 'info' }
  const server = await startServerProcess(t, env)
  const { child, address } = server
  const mint = spawnSync(process.execPath, ['src/cli.ts', 'token', 'mint'], { cwd: root, env, encoding: 'utf8' })
  const headers = { authorization: `Bearer ${mint.stdout.trim()}`, 'content-type': 'application/json' }

  const acknowledged: string[] = []
  let refused = 0
  let next = 0
  let stop = false
  async function worker(): Promise<void> {
    while (!stop) {
      const user = `u${next++}`
      try {
        const res = await fetch(`${address}/v1/tenants/shutdown/users/${user}/connections/social/github/token-set`, {
          method: 'PUT',
          headers,
          body: JSON.stringify({ target: 'github', token_response: { access_token: `gho_${user}` } }),
        })
        if (res.status === 201) acknowledged.push(user)
        else refused++
        await res.arrayBuffer()
      } catch {
        refused++ // connection refused or reset once the server stopped listening
        if (child.exitCode !== null) return
      }
    }
  }
  const workers = Array.from({ length: 16 }, () => worker())
  while (acknowledged.length < 50) await new Promise((resolve) => setTimeout(resolve, 10))
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  stop = true
  await Promise.all(workers)
  t.equal(code, 0, 'clean exit')
  t.match(server.output(), 'shutting down')
  t.ok(acknowledged.length >= 50, `${acknowledged.length} pushes acknowledged, ${refused} refused`)

  const pglite = await PGlite.create({ dataDir: path.join(dataDir, 'pglite') })
  t.teardown(() => pglite.close())
  const stored = await pglite.query<{ user_id: string }>(`SELECT user_id FROM token_sets WHERE tenant_id = 'shutdown'`)
  const storedUsers = new Set(stored.rows.map((row) => row.user_id))
  const lost = acknowledged.filter((user) => !storedUsers.has(user))
  t.same(lost, [], 'no acknowledged write was lost')
})
