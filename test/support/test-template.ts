import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import lockfile from 'proper-lockfile'
import { bootstrapRoles, migrateToLatest } from '../../src/db/migrate.ts'
import {
  databaseUrl,
  PG_TEMPLATE_DATABASE,
  PGLITE_TEMPLATE_FILE,
  TEST_DATABASE_URL,
  TEST_LOGINS,
  withAdminClient,
} from './test-database.ts'

/**
 * The template every test database is cloned from, built the way a deployment is: on a server an
 * administrator bootstraps the roles and the test logins, then an owner without superuser or CREATEROLE
 * migrates. `npm test` builds it afresh once before the run (setup.ts); a single file run with `npx tap`
 * builds it on first use when there is none, under a lock, so parallel files build it once.
 */
export async function buildTemplate(): Promise<void> {
  if (TEST_DATABASE_URL === undefined) {
    const pglite = await PGlite.create()
    const db = new Kysely({ dialect: new PGliteDialect({ pglite }) })
    await bootstrapRoles(db)
    await migrateToLatest(db)
    const dump = await pglite.dumpDataDir('none')
    mkdirSync(path.dirname(PGLITE_TEMPLATE_FILE), { recursive: true })
    writeFileSync(PGLITE_TEMPLATE_FILE, Buffer.from(await dump.arrayBuffer()))
    await pglite.close()
    return
  }
  await withAdminClient(async (client) => {
    const leftovers = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'secret\\_vault\\_test\\_%'`,
    )
    for (const { datname } of leftovers.rows) await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`)
    for (const login of Object.values(TEST_LOGINS)) {
      await client.query(
        `DO $$ BEGIN CREATE ROLE ${login} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
      )
    }
    const admin = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 }) }) })
    await bootstrapRoles(admin, { appLogins: [TEST_LOGINS.app], operatorLogins: [TEST_LOGINS.operator] })
    await admin.destroy()
    await client.query(`CREATE DATABASE ${PG_TEMPLATE_DATABASE} OWNER ${TEST_LOGINS.owner}`)
  })
  const owner = new Kysely<any>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ connectionString: databaseUrl(TEST_DATABASE_URL, PG_TEMPLATE_DATABASE, 'owner'), max: 1 }),
    }),
  })
  await migrateToLatest(owner)
  await owner.destroy()
}

async function templateExists(): Promise<boolean> {
  if (TEST_DATABASE_URL === undefined) return existsSync(PGLITE_TEMPLATE_FILE)
  return withAdminClient(
    async (client) => (await client.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [PG_TEMPLATE_DATABASE])).rowCount === 1,
  )
}

/** Builds the template if there is none yet (a single test file run on a clean checkout). */
export async function ensureTemplate(): Promise<void> {
  if (await templateExists()) return
  const dir = path.dirname(PGLITE_TEMPLATE_FILE)
  mkdirSync(dir, { recursive: true })
  const release = await lockfile.lock(dir, {
    lockfilePath: path.join(dir, 'template.lock'),
    realpath: false,
    retries: { retries: 600, minTimeout: 100, maxTimeout: 200 },
  })
  try {
    if (!(await templateExists())) await buildTemplate()
  } finally {
    await release()
  }
}
