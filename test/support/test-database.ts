import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { openDatabase, type Database } from '../../src/db/database.ts'

/**
 * Every test file gets a database of its own, cloned from a template that test/support/setup.ts (run by npm test)
 * once before the run: PGlite by default, or a PostgreSQL server when TEST_DATABASE_URL is set.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL
export const PGLITE_TEMPLATE_FILE = fileURLToPath(new URL('../../.tap/pglite-template.tar', import.meta.url))
export const PG_TEMPLATE_DATABASE = 'secret_vault_test_template'

export function databaseUrl(base: string, database: string): string {
  const url = new URL(base)
  url.pathname = `/${database}`
  return url.toString()
}

export async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

export interface TestDatabase extends Database {
  /** A connection URL for processes started by the test (PostgreSQL only). */
  url: string | undefined
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (TEST_DATABASE_URL === undefined) {
    const template = new Blob([readFileSync(PGLITE_TEMPLATE_FILE)])
    const database = await openDatabase({ kind: 'pglite', dataDir: undefined, loadDataDir: template })
    return { ...database, url: undefined }
  }
  const name = `secret_vault_test_${randomBytes(6).toString('hex')}`
  await withAdminClient(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${name} TEMPLATE ${PG_TEMPLATE_DATABASE}`)
        return
      } catch (error) {
        // Another file's CREATE DATABASE may be copying the template at this very moment.
        if (attempt >= 20 || !String((error as Error).message).includes('being accessed')) throw error
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200))
      }
    }
  })
  const url = databaseUrl(TEST_DATABASE_URL, name)
  const database = await openDatabase({ kind: 'postgres', url, poolMax: 10 })
  return {
    ...database,
    url,
    close: async () => {
      await database.close()
      await withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    },
  }
}
