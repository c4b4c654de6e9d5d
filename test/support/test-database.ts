import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Kysely } from 'kysely'
import pg from 'pg'
import { type Database, openDatabase } from '../../src/db/database.ts'
import type { DB } from '../../src/db/schema.ts'

/**
 * Every test file gets a database of its own, cloned from a template that test/support/setup.ts (run by
 * npm test) migrates once before the run: PGlite by default, or a PostgreSQL server when TEST_DATABASE_URL
 * is set (an administrator's URL).
 *
 * On a server, tests run in the deployed shape: the template is migrated by an owner that is neither
 * superuser nor CREATEROLE, the service code runs as a login that is only a member of secret_vault_app, the
 * operator code as one that is only a member of secret_vault_operator. A test that needs more — to look at
 * what is really stored, or to tamper with it — says so by using `admin`. On PGlite, which one process owns
 * as its superuser (the embedded shape), all three are the same connection.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL
export const PGLITE_TEMPLATE_FILE = fileURLToPath(new URL('../../.tap/pglite-template.tar', import.meta.url))
export const PG_TEMPLATE_DATABASE = 'secret_vault_test_template'

/** The logins of the test pass on a server, as README.md tells operators to make them. */
export const TEST_LOGINS = {
  owner: 'secret_vault_test_owner',
  app: 'secret_vault_test_app',
  operator: 'secret_vault_test_operator',
} as const

export type TestLogin = keyof typeof TEST_LOGINS

export function databaseUrl(base: string, database: string, login?: TestLogin): string {
  const url = new URL(base)
  url.pathname = `/${database}`
  if (login !== undefined) {
    url.username = TEST_LOGINS[login]
    url.password = ''
  }
  return url.toString()
}

export async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const client = new pg.Client({ connectionString: database === undefined ? TEST_DATABASE_URL : databaseUrl(TEST_DATABASE_URL!, database) })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

export interface TestDatabase extends Database {
  /** The service's login: what the app and the service code under test use. */
  db: Kysely<DB>
  /** The operator's login: what operator commands under test use. */
  operator: Kysely<DB>
  /** An administrator (superuser, so RLS does not apply): only for a test's own inspection and tampering. */
  admin: Kysely<DB>
  /** Connection URLs per login, for processes a test starts (PostgreSQL only). */
  urls: Record<TestLogin | 'admin', string> | undefined
}

export async function createTestDatabase(): Promise<TestDatabase> {
  // Imported here: the template module imports this one.
  await (await import('./test-template.ts')).ensureTemplate()
  if (TEST_DATABASE_URL === undefined) {
    const template = new Blob([readFileSync(PGLITE_TEMPLATE_FILE)])
    const database = await openDatabase({ kind: 'pglite', dataDir: undefined, loadDataDir: template })
    return { ...database, operator: database.db, admin: database.db, urls: undefined }
  }
  const name = `secret_vault_test_${randomBytes(6).toString('hex')}`
  await withAdminClient(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${name} TEMPLATE ${PG_TEMPLATE_DATABASE} OWNER ${TEST_LOGINS.owner}`)
        return
      } catch (error) {
        // Another file's CREATE DATABASE may be copying the template at this very moment.
        if (attempt >= 20 || !String((error as Error).message).includes('being accessed')) throw error
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200))
      }
    }
  })
  const urls = {
    admin: databaseUrl(TEST_DATABASE_URL, name),
    owner: databaseUrl(TEST_DATABASE_URL, name, 'owner'),
    app: databaseUrl(TEST_DATABASE_URL, name, 'app'),
    operator: databaseUrl(TEST_DATABASE_URL, name, 'operator'),
  }
  const app = await openDatabase({ kind: 'postgres', url: urls.app, poolMax: 10 })
  const operator = await openDatabase({ kind: 'postgres', url: urls.operator, poolMax: 4 })
  const admin = await openDatabase({ kind: 'postgres', url: urls.admin, poolMax: 4 })
  return {
    ...app,
    operator: operator.db,
    admin: admin.db,
    urls,
    close: async () => {
      await Promise.all([app.close(), operator.close(), admin.close()])
      await withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    },
  }
}
