import { mintDevelopmentToken, readDevelopmentSigningKey } from '../auth/development-issuer.ts'
import { ALL_SCOPES } from '../auth/scopes.ts'
import { ConfigError, loadConfig, loadDatabaseConfig } from '../config.ts'
import { openDatabase } from '../db/database.ts'
import { bootstrapRoles, migrateToLatest } from '../db/migrate.ts'
import { EXIT, UsageError } from './key-commands.ts'

/** Applies pending migrations as the tables' owner; needs only the database's address. */
export async function migrate(): Promise<number> {
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
  return EXIT.done
}

export async function dbBootstrap({ appLogin, operatorLogin }: { appLogin: string[]; operatorLogin: string[] }): Promise<number> {
  const config = loadDatabaseConfig(process.env)
  if (config.database.kind !== 'postgres')
    throw new UsageError('db bootstrap is for a PostgreSQL server (set DATABASE_URL); the embedded database bootstraps itself')
  const database = await openDatabase(config.database)
  try {
    await bootstrapRoles(database.db, { appLogins: appLogin, operatorLogins: operatorLogin })
  } finally {
    await database.close()
  }
  process.stdout.write('roles secret_vault_app and secret_vault_operator: present\n')
  return EXIT.done
}

export async function tokenMint(options: { scope?: string[]; tenant: string[]; clientId: string; ttl: number }): Promise<number> {
  const config = loadConfig(process.env)
  if (config.auth.issuer !== undefined) {
    throw new ConfigError(`tokens come from your identity platform (${config.auth.issuer}); token mint only serves the embedded issuer`)
  }
  const scopes = (options.scope ?? [...ALL_SCOPES]).flatMap((scope) => scope.split(/[ ,]+/)).filter((s) => s !== '')
  const unknown = scopes.filter((scope) => !(ALL_SCOPES as readonly string[]).includes(scope))
  if (unknown.length > 0) throw new UsageError(`unknown scope(s): ${unknown.join(', ')}; known: ${ALL_SCOPES.join(', ')}`)
  const token = await mintDevelopmentToken(readDevelopmentSigningKey(config.dataDir), {
    audience: config.auth.audience,
    clientId: options.clientId,
    scopes,
    tenants: options.tenant,
    tenantClaim: config.auth.tenantClaim,
    ttlSeconds: options.ttl,
  })
  process.stdout.write(`${token}\n`)
  return EXIT.done
}
