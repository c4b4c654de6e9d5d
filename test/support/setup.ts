// Runs once before the test files (npm test runs it before tap): migrates the template every test database is cloned from.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import { migrateToLatest } from '../../src/db/migrate.ts'
import {
  PG_TEMPLATE_DATABASE,
  PGLITE_TEMPLATE_FILE,
  TEST_DATABASE_URL,
  databaseUrl,
  withAdminClient,
} from './test-database.ts'

if (TEST_DATABASE_URL === undefined) {
  const pglite = await PGlite.create()
  await migrateToLatest(new Kysely({ dialect: new PGliteDialect({ pglite }) }))
  const dump = await pglite.dumpDataDir('none')
  mkdirSync(path.dirname(PGLITE_TEMPLATE_FILE), { recursive: true })
  writeFileSync(PGLITE_TEMPLATE_FILE, Buffer.from(await dump.arrayBuffer()))
  await pglite.close()
} else {
  await withAdminClient(async (client) => {
    const leftovers = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'secret\\_vault\\_test\\_%'`,
    )
    for (const { datname } of leftovers.rows) await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`)
    await client.query(`CREATE DATABASE ${PG_TEMPLATE_DATABASE}`)
  })
  const db = new Kysely<any>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl(TEST_DATABASE_URL, PG_TEMPLATE_DATABASE), max: 1 }) }),
  })
  await migrateToLatest(db)
  await db.destroy()
}
