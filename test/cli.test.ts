import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { runCli } from './support/cli-process.ts'

const dataDir = () => path.join(mkdtempSync(path.join(tmpdir(), 'vault-cli-')), 'data')

t.test('migrate brings an embedded database up to date, twice without harm', async (t) => {
  const env = { VAULT_DATA_DIR: dataDir() }
  const first = await runCli(['migrate'], env)
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, 'migrations: up to date')
  const second = await runCli(['migrate'], env)
  t.equal(second.code, 0, second.stderr)
})

t.test('an unknown command exits 2, and a typo gets a suggestion', async (t) => {
  const run = await runCli(['frobnicate'], {})
  t.equal(run.code, 2)
  t.match(run.stderr, "unknown command 'frobnicate'")
  const typo = await runCli(['keys', 'rotat'], {})
  t.equal(typo.code, 2)
  t.match(typo.stderr, 'Did you mean rotate?')
  const option = await runCli(['verify', '--tennant', 'acme'], {})
  t.equal(option.code, 2)
  t.match(option.stderr, 'Did you mean --tenant?')
  const nothing = await runCli([], {})
  t.equal(nothing.code, 2, 'no command is wrong usage too')
  t.match(nothing.stderr, 'Usage: secret-vault')
})

t.test('every command and subcommand answers --help with exit 0, and --version prints the version', async (t) => {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  const printed = await runCli(['--version'], {})
  t.same([printed.code, printed.stdout.trim()], [0, version])
  const top = await runCli(['--help'], {})
  t.equal(top.code, 0)
  t.match(top.stdout, /Exit codes:[\s\S]*130/, 'the exit codes are documented')
  const commands = [
    ['migrate'],
    ['db'],
    ['db', 'bootstrap'],
    ['token'],
    ['token', 'mint'],
    ['keys'],
    ['keys', 'status'],
    ['keys', 'rotate'],
    ['keys', 'reencrypt'],
    ['keys', 'destroy'],
    ['keys', 'rotate-root'],
    ['tenants'],
    ['tenants', 'shred'],
    ['verify'],
  ]
  for (const command of commands) {
    const help = await runCli([...command, '--help'], {})
    t.equal(help.code, 0, `${command.join(' ')} --help`)
    t.match(help.stdout, `Usage: secret-vault ${command.join(' ')}`)
    if (command.length === 2 || ['migrate', 'verify'].includes(command[0]!))
      t.match(help.stdout, `Examples:\n  $ secret-vault ${command.join(' ')}`, `${command.join(' ')} shows examples`)
  }
  t.equal((await runCli(['help', 'keys'], {})).code, 0, 'help <command> too')
})

/** An embedded database the operator commands can open (they never create one). */
async function migratedDataDir(t: Test): Promise<string> {
  const dir = dataDir()
  const run = await runCli(['migrate'], { VAULT_DATA_DIR: dir })
  t.equal(run.code, 0, run.stderr)
  return dir
}

t.test('migrate needs no key provider and no issuer; the commands that use keys do', async (t) => {
  const dir = await migratedDataDir(t)
  t.notOk(existsSync(path.join(dir, 'root-keys')), 'no root key was made to create tables')
  const status = await runCli(['keys', 'status', '--json'], { VAULT_DATA_DIR: dir })
  t.equal(status.code, 0, status.stderr)
})

t.test('an operator command with no database configured and no embedded one refuses and creates nothing', async (t) => {
  const dir = dataDir()
  const run = await runCli(['keys', 'status'], { VAULT_DATA_DIR: dir })
  t.equal(run.code, 1)
  t.match(run.stderr, 'there is no embedded database')
  t.match(run.stderr, 'DATABASE_URL')
  t.notOk(existsSync(dir), 'no directory, no database, no root key')
})

t.test('a wrong-length root key is refused at start, without echoing it', async (t) => {
  const key = randomBytes(31).toString('base64')
  const run = await runCli(['keys', 'status'], { VAULT_DATA_DIR: await migratedDataDir(t), VAULT_LOCAL_ROOT_KEYS: `k1=${key}` })
  t.equal(run.code, 1)
  t.match(run.stderr, 'exactly 32 bytes')
  t.notMatch(run.stderr, key)
})

t.test('a PostgreSQL server without a configured root key is refused', async (t) => {
  const run = await runCli(['keys', 'status'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })
  t.equal(run.code, 1)
  t.match(run.stderr, 'VAULT_LOCAL_ROOT_KEYS')
})

t.test('migrate against a PostgreSQL server needs only DATABASE_URL', async (t) => {
  const run = await runCli(['migrate'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })
  t.equal(run.code, 1)
  t.notMatch(run.stderr, /VAULT_|invalid configuration/, 'no key or issuer asked for')
  t.match(run.stderr, /ECONNREFUSED|connect/)
})

t.test('an unreachable KMS stops the start with a message that says so', async (t) => {
  const run = await runCli(['keys', 'status'], {
    VAULT_DATA_DIR: await migratedDataDir(t),
    VAULT_KEY_PROVIDER: 'aws-kms',
    VAULT_KMS_KEY_IDS: 'alias/secret-vault',
    VAULT_KMS_REGION: 'eu-west-1',
    VAULT_KMS_ENDPOINT: 'http://127.0.0.1:9',
    VAULT_KMS_MAX_ATTEMPTS: '1',
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'test',
  })
  t.equal(run.code, 1)
  t.match(run.stderr, /KMS key alias\/secret-vault: KMS did not answer/)
})

t.test('token mint refuses what it cannot honour', async (t) => {
  const env = { VAULT_DATA_DIR: dataDir() }
  const scope = await runCli(['token', 'mint', '--scope', 'keys:admin'], env)
  t.equal(scope.code, 2)
  t.match(scope.stderr, 'unknown scope(s): keys:admin')
  for (const ttl of ['0', '86401', 'soon']) {
    t.equal((await runCli(['token', 'mint', '--ttl', ttl], env)).code, 2, `--ttl ${ttl}`)
  }
  const external = await runCli(['token', 'mint'], {
    ...env,
    VAULT_AUTH_ISSUER: 'https://id.example.com',
    VAULT_AUTH_JWKS_URL: 'https://id.example.com/jwks',
  })
  t.equal(external.code, 1)
  t.match(external.stderr, 'tokens come from your identity platform')
  t.equal(external.stdout, '', 'no token printed')
})
