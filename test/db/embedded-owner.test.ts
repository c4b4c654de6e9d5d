import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { runCli } from '../support/cli-process.ts'
import { type ServerProcess, startServerProcess } from '../support/server-process.ts'

/** The embedded database has one owner: the CLI beside a running embedded server is refused and changes nothing. */
const root = path.resolve(import.meta.dirname, '../..')

const cli = runCli

async function stop(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM')
  const [code] = await once(server.child, 'exit')
  if (code !== 0) throw new Error(`server exited with ${code}:\n${server.output()}`)
}

t.test('a shred beside a running server is refused; after the server stops it shreds for good', async (t) => {
  const env = { VAULT_DATA_DIR: path.join(mkdtempSync(path.join(tmpdir(), 'vault-owner-')), 'data') }
  let server = await startServerProcess(t, env)
  const mint = spawnSync(process.execPath, ['src/cli.ts', 'token', 'mint'], {
    cwd: root,
    env: { PATH: process.env.PATH!, ...env },
    encoding: 'utf8',
  })
  t.equal(mint.status, 0, 'token mint reads only the signing key: it works beside the server')
  const headers = { authorization: `Bearer ${mint.stdout.trim()}`, 'content-type': 'application/json' }
  const tokenUrl = (address: string) => `${address}/v1/tenants/acme/users/alice/connections/social/github/access-token`
  const pushed = await fetch(`${server.address}/v1/tenants/acme/users/alice/connections/social/github/token-set`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ target: 'github', token_response: { access_token: 'gho_owned' } }),
  })
  t.equal(pushed.status, 201)

  for (const args of [
    ['tenants', 'shred', 'acme', '--yes'],
    ['keys', 'rotate', '--all'],
    ['keys', 'status'],
  ]) {
    const refused = await cli(args, env)
    t.equal(refused.code, 1, `${args.join(' ')} is refused`)
    t.match(refused.stderr, 'in use by another process')
    t.match(refused.stderr, 'Stop it first')
    t.equal(refused.stdout, '', 'and claims nothing')
  }
  t.equal((await fetch(tokenUrl(server.address), { headers })).status, 200, 'the server still serves the tenant')
  await stop(server)

  const status = JSON.parse((await cli(['keys', 'status', '--json'], env)).stdout)
  t.match(status.data_keys, [{ tenant_id: 'acme', version: 1, state: 'active' }], 'the refused rotation changed nothing')
  const shredded = await cli(['tenants', 'shred', 'acme', '--yes', '--json'], env)
  t.equal(shredded.code, 0, shredded.stderr)
  t.match(JSON.parse(shredded.stdout), { tenant_id: 'acme', token_sets: 1, data_keys: 1 })

  server = await startServerProcess(t, env)
  const read = await fetch(tokenUrl(server.address), { headers })
  t.equal(read.status, 404, 'after a restart the tenant is still gone')
  t.equal(((await read.json()) as { code: string }).code, 'token_set.not_found')
  await stop(server)
  const after = JSON.parse((await cli(['keys', 'status', '--json'], env)).stdout)
  t.same(after.data_keys, [], 'and so are its data keys')
})

t.test('a lock left by a process that was killed is taken over at once', async (t) => {
  const env = { VAULT_DATA_DIR: path.join(mkdtempSync(path.join(tmpdir(), 'vault-owner-')), 'data') }
  const server = await startServerProcess(t, env)
  server.child.kill('SIGKILL')
  await once(server.child, 'exit')
  const run = await cli(['keys', 'status', '--json'], env)
  t.equal(run.code, 0, run.stderr)
})
