import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { startServerProcess } from '../support/server-process.ts'

/**
 * The client as its users get it: `npm pack` of packages/client, installed into an empty project outside
 * this repository, type-checked there, and run on Node 24 and Node 20 against a fresh `npm start` with
 * nothing but the development credentials the server prints.
 */
const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../..')
const packageDir = path.join(root, 'packages/client')
const manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'))
const node20 = ['/usr/bin/node', '/usr/local/bin/node'].find(
  (candidate) => existsSync(candidate) && spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout.startsWith('v20.'),
)

t.test('a publishable package: its own name, licence, two runtime dependencies, no bin', async (t) => {
  t.equal(manifest.name, '@secret-vault/client')
  t.notOk(manifest.private)
  t.equal(manifest.license, 'Apache-2.0')
  t.same(Object.keys(manifest.dependencies).sort(), ['oauth4webapi', 'openapi-fetch'])
  t.notOk(manifest.bin)
  t.ok(existsSync(path.join(root, 'LICENSE')), 'the project has a LICENSE')
  t.equal(readFileSync(path.join(packageDir, 'LICENSE'), 'utf8'), readFileSync(path.join(root, 'LICENSE'), 'utf8'), 'the same licence')
  t.match(readFileSync(path.join(root, 'LICENSE'), 'utf8'), 'Apache License')
  t.equal(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).license, 'Apache-2.0')
})

const work = mkdtempSync(path.join(tmpdir(), 'vault-client-package-'))
const consumer = path.join(work, 'consumer')

t.test('packed and installed into an empty project: only the built client and its two dependencies', async (t) => {
  const packed = await run('npm', ['pack', '--workspace', 'packages/client', '--pack-destination', work, '--json'], { cwd: root })
  const [report] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
  const files = report!.files.map((file) => file.path).sort()
  t.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), 'JavaScript with declarations')
  t.same(
    files.filter((file) => !file.startsWith('dist/')),
    ['LICENSE', 'README.md', 'package.json'],
    'no sources, tests or service code',
  )

  mkdirSync(consumer)
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(work, report!.filename)], { cwd: consumer })
  const installed = readdirSync(path.join(consumer, 'node_modules'), { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.'))
    .flatMap((entry) =>
      entry.name.startsWith('@')
        ? readdirSync(path.join(consumer, 'node_modules', entry.name)).map((name) => `${entry.name}/${name}`)
        : [entry.name],
    )
    .sort()
  t.ok(installed.includes('@secret-vault/client'))
  t.ok(installed.length <= 4, `a handful of packages, not the service's: ${installed.join(', ')}`)
  for (const heavy of ['fastify', '@electric-sql/pglite', '@aws-sdk/client-kms', 'pg', 'kysely']) t.notOk(installed.includes(heavy), heavy)
})

t.test("its types check in the user's project, and a wrong call does not", async (t) => {
  writeFileSync(
    path.join(consumer, 'typed.ts'),
    `import { createVaultClient, VaultClientError, type AccessToken } from '@secret-vault/client'
const vault = createVaultClient({ baseUrl: 'http://127.0.0.1:1', credentials: { tokenEndpoint: 'http://127.0.0.1:1/t', clientId: 'a', clientSecret: 'b' } })
export async function read(): Promise<string> {
  const token: AccessToken = await vault.readAccessToken({ tenantId: 't', userId: 'u', connectorType: 'social', connectorId: 'github' })
  // @ts-expect-error: not a connector type
  await vault.readAccessToken({ tenantId: 't', userId: 'u', connectorType: 'ldap', connectorId: 'github' })
  // @ts-expect-error: a push needs its token response
  await vault.pushTokenSet({ tenantId: 't', userId: 'u', connectorType: 'social', connectorId: 'github' }, { target: 'github' })
  return token.access_token
}
export const isVaultError = (e: unknown) => e instanceof VaultClientError && e.code === 'token_set.not_found'
`,
  )
  writeFileSync(
    path.join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2022', 'dom'],
        noEmit: true,
        types: [],
      },
      files: ['typed.ts'],
    }),
  )
  const checked = spawnSync(path.join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: consumer, encoding: 'utf8' })
  t.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`)
})

t.test('typed calls against a fresh npm start, with only the printed development credentials, on Node 24 and 20', async (t) => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'vault-client-server-')), 'data')
  const server = await startServerProcess(t, { VAULT_DATA_DIR: dataDir })
  let printed: RegExpExecArray | null = null
  for (let i = 0; i < 100 && printed === null; i++) {
    printed = /development client \(embedded default only\): tokenEndpoint (\S+) clientId (\S+) clientSecret (\S+)/.exec(server.output())
    if (printed === null) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(printed, 'the server printed its development client')
  writeFileSync(
    path.join(consumer, 'calls.mjs'),
    `import { createVaultClient, VaultClientError } from '@secret-vault/client'
const [baseUrl, tokenEndpoint, clientId, clientSecret, user] = process.argv.slice(2)
const vault = createVaultClient({ baseUrl, credentials: { tokenEndpoint, clientId, clientSecret, scope: 'token_sets:write token_sets:read' }, allowInsecureRequests: true })
const connection = { tenantId: 'demo', userId: user, connectorType: 'social', connectorId: 'github' }
const pushed = await vault.pushTokenSet(connection, { target: 'github', token_response: { access_token: 'gho_' + user, scope: 'repo' } })
const read = await vault.readAccessToken(connection)
const missing = await vault.readAccessToken({ ...connection, userId: 'nobody' }).catch((e) => e)
console.log(JSON.stringify({ result: pushed.result, token: read.access_token, error: missing instanceof VaultClientError ? missing.code : String(missing) }))
`,
  )
  const [, tokenEndpoint, clientId, clientSecret] = printed!
  const runtimes: Array<[string, string | undefined]> = [
    ['Node 24', process.execPath],
    ['Node 20', node20],
  ]
  for (const [name, executable] of runtimes) {
    if (executable === undefined) {
      t.test(name, { skip: 'not installed on this machine' }, async () => {})
      continue
    }
    const user = name.replace(/\W/g, '').toLowerCase()
    const { stdout } = await run(executable, ['calls.mjs', server.address, tokenEndpoint!, clientId!, clientSecret!, user], {
      cwd: consumer,
    })
    t.same(JSON.parse(stdout), { result: 'created', token: `gho_${user}`, error: 'token_set.not_found' }, name)
  }
})
