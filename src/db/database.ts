import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { DB } from './schema.ts'

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolMax: number }
  | { kind: 'pglite'; dataDir: string | undefined; loadDataDir?: Blob | undefined }

export interface Database {
  readonly kind: DatabaseTarget['kind']
  readonly db: Kysely<DB>
  close(): Promise<void>
}

// int8 (count(*), sums) as a JS number: counts here stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10))

/** Opens the store: a PostgreSQL server through a pg pool, or the embedded PGlite in a data directory. */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: target.url, max: target.poolMax })
    // A broken idle connection must not crash the process; the pool replaces it.
    pool.on('error', () => {})
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
    return { kind: 'postgres', db, close: () => db.destroy() }
  }
  if (target.dataDir !== undefined) mkdirSync(target.dataDir, { recursive: true })
  const pglite = await PGlite.create({
    ...(target.dataDir === undefined ? {} : { dataDir: target.dataDir }),
    ...(target.loadDataDir === undefined ? {} : { loadDataDir: target.loadDataDir }),
  })
  const db = new Kysely<DB>({ dialect: new PGliteDialect({ pglite }) })
  const close = async () => {
    await db.destroy()
    // kysely only closes an instance it has started using: close one that was never queried too.
    if (!pglite.closed) await pglite.close()
  }
  return { kind: 'pglite', db, close }
}
