import { promises as fs, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Kysely, sql } from 'kysely'
import { FileMigrationProvider, type MigrationResultSet, Migrator } from 'kysely/migration'
import { OPERATOR_ROLE, SERVICE_ROLE } from './tenant-scope.ts'

const MIGRATIONS_DIR = fileURLToPath(new URL('../../db/migrations', import.meta.url))
const BOOTSTRAP_FILE = fileURLToPath(new URL('../../db/bootstrap.sql', import.meta.url))

function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }) })
}

/** Applies every pending migration, as the tables' owner; throws the first failure. */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  const result = await createMigrator(db).migrateToLatest()
  if (result.error !== undefined) throw result.error
  return result
}

/** The migrations this code knows that the database has not run (read as the service or operator role). */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  return (await createMigrator(db).getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name)
}

/**
 * Creates the service's and the operators' roles (db/bootstrap.sql) if they are missing: an administrator's
 * step, once per cluster. With `grants`, also makes the named logins members of them.
 */
export async function bootstrapRoles(
  db: Kysely<any>,
  grants: { appLogins?: readonly string[]; operatorLogins?: readonly string[] } = {},
): Promise<void> {
  await sql.raw(readFileSync(BOOTSTRAP_FILE, 'utf8')).execute(db)
  for (const login of grants.appLogins ?? []) await sql`GRANT ${sql.id(SERVICE_ROLE)} TO ${sql.id(login)}`.execute(db)
  for (const login of grants.operatorLogins ?? []) await sql`GRANT ${sql.id(OPERATOR_ROLE)} TO ${sql.id(login)}`.execute(db)
}
