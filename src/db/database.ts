import { existsSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, type LogEvent, PGliteDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import { ConfigError } from '../config.ts'
import { recordFinishedSpan, statementSummary, tracingStarted } from '../observability/tracing.ts'
import { takeEmbeddedOwnership } from './embedded-owner.ts'
import type { DB } from './schema.ts'

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolMax: number }
  | {
      kind: 'pglite'
      /** Undefined: in memory (tests). A directory is owned by one process at a time. */
      dataDir: string | undefined
      loadDataDir?: Blob | undefined
      /** Refuse instead of creating an embedded database that does not exist yet (operator commands). */
      mustExist?: boolean
    }

export interface Database {
  readonly kind: DatabaseTarget['kind']
  readonly db: Kysely<DB>
  close(): Promise<void>
}

// int8 (count(*), sums) as a JS number: counts here stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10))

/** Each statement as a span: its operation and the table or function it names, never its text or values. */
function traceStatement(event: LogEvent): void {
  const { operation, summary } = statementSummary(event.query.sql)
  const attributes = { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'db.query.summary': summary }
  recordFinishedSpan(summary, attributes, event.queryDurationMillis, event.level === 'error' ? event.error : undefined)
}

const statementTracing = () => (tracingStarted() ? { log: traceStatement } : {})

/** Opens the store: a PostgreSQL server through a pg pool, or the embedded PGlite in a data directory. */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: target.url, max: target.poolMax })
    // A broken idle connection must not crash the process; the pool replaces it.
    pool.on('error', () => {})
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), ...statementTracing() })
    return { kind: 'postgres', db, close: () => db.destroy() }
  }
  if (target.dataDir !== undefined && target.mustExist === true && !existsSync(target.dataDir)) {
    throw new ConfigError(
      `there is no embedded database in ${target.dataDir}: set DATABASE_URL to your PostgreSQL server, ` +
        'or VAULT_DATA_DIR to where the service keeps its data (npm start creates it)',
    )
  }
  const owner = target.dataDir === undefined ? undefined : await takeEmbeddedOwnership(target.dataDir)
  let pglite: PGlite
  try {
    pglite = await PGlite.create({
      ...(target.dataDir === undefined ? {} : { dataDir: target.dataDir }),
      ...(target.loadDataDir === undefined ? {} : { loadDataDir: target.loadDataDir }),
    })
  } catch (error) {
    await owner?.release()
    throw error
  }
  const db = new Kysely<DB>({ dialect: new PGliteDialect({ pglite }), ...statementTracing() })
  const close = async () => {
    await db.destroy()
    // kysely only closes an instance it has started using: close one that was never queried too.
    if (!pglite.closed) await pglite.close()
    // Only once everything is on disk may another process open the directory.
    await owner?.release()
  }
  return { kind: 'pglite', db, close }
}
