import { parseArgs } from 'node:util'
import { mintDevelopmentToken, readDevelopmentSigningKey } from './auth/development-issuer.ts'
import { ALL_SCOPES } from './auth/scopes.ts'
import { keysCommand, tenantsCommand, UsageError, verifyCommand } from './cli/key-commands.ts'
import { ConfigError, loadConfig, loadDatabaseConfig } from './config.ts'
import { openDatabase } from './db/database.ts'
import { bootstrapRoles, migrateToLatest } from './db/migrate.ts'
import { VaultError } from './errors.ts'

const USAGE = `usage: secret-vault <command>

commands:
  db bootstrap [--app-login LOGIN]... [--operator-login LOGIN]...
              create the roles secret_vault_app and secret_vault_operator if missing, and make
              the named logins members (an administrator, once per PostgreSQL cluster)
  migrate     apply pending database migrations (as the tables' owner; needs only DATABASE_URL)
  token mint [--scope S]... [--tenant T]... [--client-id ID] [--ttl SECONDS]
              print a short-lived access token from the embedded development issuer
              (default: every scope, no tenant binding, 1 hour); not available with an external issuer
  keys status [--tenant T] [--json]
              root keys and every tenant's data-key versions, states and token-set counts
  keys rotate (--tenant T | --all)
              a new active data-key version; the old one becomes decrypt-only
  keys reencrypt [--tenant T] [--batch N] [--max-rate R] [--parallel P] [--json]
              move token sets to the active data key; batched, resumable, idempotent
  keys destroy --tenant T --version V
              destroy a decrypt-only data-key version that no token set uses
  keys rotate-root [--to KEY] [--dry-run] [--json]
              re-wrap every data key under a root key (default: the active one); no token set is touched
  tenants shred T --yes
              crypto-shred a tenant: delete its token sets and data keys
  verify [--tenant T] [--sample N] [--json]
              open every token set (or a sample) and report integrity failures by id; exit 1 if any
  help        show this text

Configuration comes from the same environment variables as the service (see README.md).`

type Command = (args: string[]) => Promise<number>

const commands: Record<string, Command> = {
  async migrate(args) {
    parseArgs({ args, options: {}, strict: true })
    const config = loadDatabaseConfig(process.env)
    const database = await openDatabase(config.database)
    try {
      // The embedded database is this process's own: it is its own administrator too.
      if (database.kind === 'pglite') await bootstrapRoles(database.db)
      const { results = [] } = await migrateToLatest(database.db)
      for (const result of results) process.stdout.write(`migration ${result.migrationName}: ${result.status}\n`)
    } finally {
      await database.close()
    }
    process.stdout.write('migrations: up to date\n')
    return 0
  },
  async db(args) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { 'app-login': { type: 'string', multiple: true }, 'operator-login': { type: 'string', multiple: true } },
    })
    if (positionals[0] !== 'bootstrap' || positionals.length !== 1)
      throw new UsageError('usage: db bootstrap [--app-login LOGIN]... [--operator-login LOGIN]...')
    const config = loadDatabaseConfig(process.env)
    if (config.database.kind !== 'postgres')
      throw new UsageError('db bootstrap is for a PostgreSQL server (set DATABASE_URL); the embedded database bootstraps itself')
    const database = await openDatabase(config.database)
    try {
      await bootstrapRoles(database.db, { appLogins: values['app-login'] ?? [], operatorLogins: values['operator-login'] ?? [] })
    } finally {
      await database.close()
    }
    process.stdout.write('roles secret_vault_app and secret_vault_operator: present\n')
    return 0
  },
  async token(args) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        scope: { type: 'string', multiple: true },
        tenant: { type: 'string', multiple: true },
        'client-id': { type: 'string', default: 'dev-cli' },
        ttl: { type: 'string', default: '3600' },
      },
    })
    if (positionals[0] !== 'mint' || positionals.length !== 1) throw new UsageError('usage: token mint [options]')
    const config = loadConfig(process.env)
    if (config.auth.issuer !== undefined) {
      throw new ConfigError(`tokens come from your identity platform (${config.auth.issuer}); token mint only serves the embedded issuer`)
    }
    const scopes = (values.scope ?? [...ALL_SCOPES]).flatMap((scope) => scope.split(/[ ,]+/)).filter((s) => s !== '')
    const unknown = scopes.filter((scope) => !(ALL_SCOPES as readonly string[]).includes(scope))
    if (unknown.length > 0) throw new UsageError(`unknown scope(s): ${unknown.join(', ')}; known: ${ALL_SCOPES.join(', ')}`)
    const ttlSeconds = Number(values.ttl)
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 86_400) throw new UsageError('--ttl must be 1..86400 seconds')
    const token = await mintDevelopmentToken(readDevelopmentSigningKey(config.dataDir), {
      audience: config.auth.audience,
      clientId: values['client-id'],
      scopes,
      tenants: values.tenant ?? [],
      tenantClaim: config.auth.tenantClaim,
      ttlSeconds,
    })
    process.stdout.write(`${token}\n`)
    return 0
  },
  keys: keysCommand,
  tenants: tenantsCommand,
  verify: verifyCommand,
  async help() {
    process.stdout.write(`${USAGE}\n`)
    return 0
  },
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  const command = name === undefined ? undefined : commands[name]
  if (command === undefined) {
    process.stderr.write(`${name === undefined ? 'missing command' : `unknown command: ${name}`}\n${USAGE}\n`)
    return 2
  }
  return command(args)
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`secret-vault: ${(error as Error).message}\n`)
      process.exit(2)
    }
    const message =
      error instanceof ConfigError || error instanceof VaultError || error instanceof TypeError ? error.message : String(error)
    process.stderr.write(`secret-vault: ${message}\n`)
    process.exit(1)
  },
)
