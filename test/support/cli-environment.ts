import { createSecretKey, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Test } from 'tap'
import { createRefreshSettingsService, type RefreshSettingsService } from '../../src/connectors/refresh-settings.service.ts'
import { openDatabase } from '../../src/db/database.ts'
import { createEgressPolicy } from '../../src/egress/egress-policy.ts'
import { createDataKeyRing, type DataKeyRing } from '../../src/keys/data-key-ring.ts'
import { createLocalKeyProvider } from '../../src/keys/local-key-provider.ts'
import { deleteTokenSetsOfConnector } from '../../src/token-sets/token-set.repository.ts'
import { createTokenSetService, type TokenSetService } from '../../src/token-sets/token-set.service.ts'
import { type CliRun, runCli } from './cli-process.ts'
import { createTestDatabase, PGLITE_TEMPLATE_FILE, TEST_DATABASE_URL, type TestDatabase } from './test-database.ts'
import { ensureTemplate } from './test-template.ts'

export type { CliRun } from './cli-process.ts'

/**
 * A database that the CLI (a separate process) and the test share, with the root keys both use. On PGlite
 * one process at a time may open the data directory, so `withDatabase` opens and closes it around the
 * test's own work; on PostgreSQL the connections stay open, and the CLI logs in as the operator login.
 */
export interface CliEnvironment {
  /** The CLI's environment (on PostgreSQL: the operator login). */
  env: Record<string, string>
  /** The same configuration for a server process (on PostgreSQL: the service login). */
  serviceEnv: Record<string, string>
  rootKeys: Record<string, string>
  withDatabase<T>(
    work: (db: TestDatabase, tokenSets: TokenSetService, refreshSettings: RefreshSettingsService, keyRing: DataKeyRing) => Promise<T>,
    rootKeyIds?: string[],
  ): Promise<T>
  run(args: string[], options?: { env?: Record<string, string>; killAfterMs?: number }): Promise<CliRun>
}

export async function createCliEnvironment(t: Test): Promise<CliEnvironment> {
  await ensureTemplate()
  // Registration checks only: nothing in these tests calls out.
  const egress = createEgressPolicy({ allow: [], allowInsecureHttp: false })
  t.teardown(() => egress.close())
  const rootKeys: Record<string, string> = { 'root-1': randomBytes(32).toString('base64'), 'root-2': randomBytes(32).toString('base64') }
  const env: Record<string, string> = { PATH: process.env.PATH!, LOG_LEVEL: 'warn', VAULT_LOCAL_ROOT_KEYS: `root-1=${rootKeys['root-1']}` }
  let serviceUrl: string | undefined
  let open: () => Promise<TestDatabase>
  let release: (db: TestDatabase) => Promise<void>
  if (TEST_DATABASE_URL !== undefined) {
    const database = await createTestDatabase()
    t.teardown(() => database.close())
    Object.assign(env, {
      DATABASE_URL: database.urls!.operator,
      VAULT_AUTH_ISSUER: 'https://issuer.invalid',
      VAULT_AUTH_JWKS_URL: 'https://issuer.invalid/jwks',
    })
    serviceUrl = database.urls!.app
    open = async () => database
    release = async () => {}
  } else {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'vault-cli-')), 'data')
    const pgliteDir = path.join(dataDir, 'pglite')
    const first = await openDatabase({ kind: 'pglite', dataDir: pgliteDir, loadDataDir: new Blob([readFileSync(PGLITE_TEMPLATE_FILE)]) })
    await first.close()
    env.VAULT_DATA_DIR = dataDir
    open = async () => {
      const embedded = await openDatabase({ kind: 'pglite', dataDir: pgliteDir })
      return { ...embedded, operator: embedded.db, admin: embedded.db, urls: undefined }
    }
    release = (db) => db.close()
  }
  return {
    env,
    serviceEnv: serviceUrl === undefined ? env : { ...env, DATABASE_URL: serviceUrl },
    rootKeys,
    async withDatabase(work, rootKeyIds = ['root-1']) {
      const db = await open()
      try {
        const provider = createLocalKeyProvider(
          rootKeyIds.map((id) => ({ id, key: createSecretKey(Buffer.from(rootKeys[id]!, 'base64')) })),
          rootKeyIds.at(-1)!,
        )
        const keyRing = createDataKeyRing({ provider, ttlMs: 60_000, maxEntries: 1000 })
        return await work(
          db,
          createTokenSetService({ db: db.db, keyRing }),
          createRefreshSettingsService({
            db: db.db,
            keyRing,
            egress,
            deleteTokenSetsOfConnector: (trx, key) => deleteTokenSetsOfConnector(trx, key.tenantId, key.connectorType, key.connectorId),
          }),
          keyRing,
        )
      } finally {
        await release(db)
      }
    },
    run: (args, options = {}) => runCli(args, { ...env, ...options.env }, options),
  }
}

/** Pushes `count` token sets for a tenant through the service; returns their access tokens by user. */
export async function seedTokenSets(tokenSets: TokenSetService, tenantId: string, count: number): Promise<Map<string, string>> {
  const tokens = new Map<string, string>()
  for (let i = 0; i < count; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, (_, j) => {
        const user = `u${i + j}`
        const accessToken = `gho_${tenantId}_${user}_${randomBytes(6).toString('hex')}`
        tokens.set(user, accessToken)
        return tokenSets.pushTokenSet(
          { tenantId, userId: user, connectorType: 'social', connectorId: 'github' },
          { target: 'github', token_response: { access_token: accessToken, refresh_token: `ghr_${user}`, id_token: `idt_${user}` } },
          { requestId: `seed-${tenantId}-${user}`, clientId: null },
        )
      }),
    )
  }
  return tokens
}
