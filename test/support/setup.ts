// Runs once before the test files (npm test runs it before tap): migrates the template every test database is
// cloned from. On a server it takes the documented steps: an administrator bootstraps the roles and the test
// logins, then an owner without superuser or CREATEROLE migrates.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import { bootstrapRoles, migrateToLatest } from '../../src/db/migrate.ts'
import { PG_TEMPLATE_DATABASE, PGLITE_TEMPLATE_FILE, TEST_DATABASE_URL, TEST_LOGINS, databaseUrl, withAdminClient } from './test-database.ts'

if (TEST_DATABASE_URL === undefined) {
  const pglite = await PGlite.create()
  const db = new Kysely({ dialect: new PGliteDialect({ pglite }) })
  await bootstrapRoles(db)
  await migrateToLatest(db)
  const dump = await pglite.dumpDataDir('none')
  mkdirSync(path.dirname(PGLITE_TEMPLATE_FILE), { recursive: true })
  writeFileSync(PGLITE_TEMPLATE_FILE, Buffer.from(await dump.arrayBuffer()))
  await pglite.close()
} else {
  await withAdminClient(async (client) => {
    const leftovers = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'secret\\_vault\\_test\\_%'`)
    for (const { datname } of leftovers.rows) await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`)
    for (const login of Object.values(TEST_LOGINS)) {
      await client.query(`DO $$ BEGIN CREATE ROLE ${login} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB; EXCEPTION WHEN duplicate_object THEN NULL; END $$`)
    }
    const admin = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 }) }) })
    await bootstrapRoles(admin, { appLogins: [TEST_LOGINS.app], operatorLogins: [TEST_LOGINS.operator] })
    await admin.destroy()
    await client.query(`CREATE DATABASE ${PG_TEMPLATE_DATABASE} OWNER ${TEST_LOGINS.owner}`)
  })
  const owner = new Kysely<any>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl(TEST_DATABASE_URL, PG_TEMPLATE_DATABASE, 'owner'), max: 1 }) }),
  })
  await migrateToLatest(owner)
  await owner.destroy()
}
