import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { sql } from 'kysely'
import t from 'tap'
import { openTestDatabase } from '../support/helper.ts'

/**
 * A released migration means the same thing forever: the migrator records names, not contents, so an edit
 * after release would leave databases migrated before it with another schema than those migrated after.
 * Every released file is pinned here by its hash; a change goes in a new migration (or a new function
 * version), which is pinned when it is released.
 */
const dbDir = path.resolve(import.meta.dirname, '../../db')
const RELEASED: Record<string, string> = {
  'functions/vault_refresh_due.v1.sql': '54dd54298c48a09c535dbc244580ab9a293ba92ae74ec6ff9b0eb9df02659baa',
  'migrations/2026-12-03-0001-baseline.ts': '219392dd0e07592d7bd8e5fbeb6cace5ef7355ee38b1440f54167b284e8f9d30',
  'functions/vault_insert_audit_events.v1.sql': 'b3594ab8d875020a3da0d104d8a9fa97f7e9e36b2c18ebc29c83ec0fed319949',
  'functions/vault_prepare_pushes.v1.sql': '579b7ffea365e7ded210f2cfc7ec50fb35a0f316a4529763fd3a09ecdcbd6713',
  'functions/vault_read_and_record_token_sets.v1.sql': 'adab9bee2ef2cfc782d8eac965bc5efed9dd4f78981cd9d9aeca46e957236b63',
  'functions/vault_write_pushed_token_sets.v1.sql': 'cc71e68ed1df77adef2bf0cb8aab9e349bf2c3745107dcf59b5ee7e6225ba23a',
  'migrations/2026-12-03-0002-named-records-and-connection-health.ts': '40e0fc2daa578c9593e7d89e8ab756eefaed2eac69812109ff4e3f28345e4558',
  'functions/vault_insert_audit_events.v2.sql': 'b5644f2a992d2e544bc99a7bb61a02b784639de5fc10b4d982303c9a32e628d8',
  'functions/vault_read_token_sets.v1.sql': '77c2849556e26115a507f15d4a2339ff676402a685c0b989717312e95661be90',
  'functions/vault_find_push_bases.v1.sql': '0dc8c6b1dcebd0ea0834fb4776d96b233abd6ad754aa22157dc29c8a7b26b607',
  'functions/vault_write_token_sets.v1.sql': '3dd53964cbac121bdca2bdc62aa9320dbd47ef2be812ed29e682d1ba1a30ee2e',
  'migrations/2026-12-03-0003-keep-alive-and-connector-timing.ts': '64f75f1a7c8fa8025570b62e5bd291bbf849b572eb180054acbe3cabdf79972b',
  'functions/vault_count_data_keys.v1.sql': '9e9235938f4b3780f72f63a3dd5c38897563dbe44afc357ec0a471c48bb92563',
  'functions/vault_count_token_sets.v1.sql': '17c0b05056aed8e18218f668dbb8790fcb144619009eb4ea056b297a8f099343',
  'functions/vault_find_keep_alive_sets.v1.sql': 'e954a40d9c97cdd2527c477beeda96a4457f75185996ea8bafe4c595a6804db8',
  'functions/vault_keep_alive_due.v1.sql': '3a09e4bd1840082d45136e38779604e165f3c5c93e1f95d503a3a6fa307d59c5',
  'functions/vault_read_token_sets.v2.sql': '789e523a9c55d94dd92525fbb9bad16e6a48efd1053732fb2a7c6157f418a763',
  'functions/vault_refresh_due.v2.sql': '962e1b7c47dce5d63da47062f49bf13262a98854bfbaf08ea1b110efe03509df',
  'migrations/2026-12-03-0004-user-secrets-and-mfa.ts': '97fac5df38065f7f883daf3661d44cdcdbe7632181a577acfb98b1fd286a0981',
  'functions/vault_claim_mfa_attempt.v1.sql': 'd3b1656847ada0dde7269e797553ba12897683cced16112c08a8cd5d7ac5f392',
  'functions/vault_clear_mfa_attempts.v1.sql': '5c4e79ab786e769b94eb6f06dd9498a8988f90d84ad7a125b6ef711a6a67c8a5',
  // 2026-12-04: events, webhooks and revocation.
  'migrations/2026-12-04-0005-events-and-webhooks.ts': '705707678acf45937d4c1ad3e010bcd71b32634e24abd634954b1535f01bc732',
  'functions/vault_emit_event.v1.sql': '16dde7f28c7e9f93a5bfa9ad08e7146f0dbd8fe5e2b370ce3053d339fbc372c7',
  'functions/vault_connection_event_data.v1.sql': '167124f6531250fef673a1ce460730f8d0436031fd19be0fada81d3e6c2ebff4',
  'functions/vault_connection_events.v1.sql': '526f8983025b1d4e5e59ae0276683d5ffe6dac8e7d64cbeec0155edd6797db19',
  'functions/vault_claim_webhook_deliveries.v1.sql': '17f8b6b82192eb35160c7f4c10815956baa75b03c5445fc4367122c42791b485',
  'functions/vault_claim_token_revocations.v1.sql': '83a312b5596c1367d902dc9cbf37b796cc064e8119bcddd947276c61f32a3c6c',
  'functions/vault_prune_outbox.v1.sql': '704dac30607be5eeaf69ef418a80a5b66925fc4ac39cd5ceae28f20c4d29c07d',
  // 2026-12-04: the audit trail by month.
  'migrations/2026-12-04-0006-audit-partitions.ts': 'c999e383bc4ba5643cd6f8a44ef73aafb93c27e3d9062c7bff596b751f6bfa2f',
  'functions/vault_ensure_audit_partitions.v1.sql': '788ae8f02b43ae3ed98023408de2f1a66d2a15f0aef2ff2dbb60029b34136508',
  'functions/vault_drop_audit_partitions.v1.sql': '812126d04396b271d333383a539da9a711ffda5e381722027469fd7cc585001c',
  // 2026-12-07: audit digests.
  'migrations/2026-12-07-0007-audit-digests.ts': 'e2e572602a0fe5b5e9c28188d8a956b009bcaa7084b8c57aef4641f48817955c',
  'functions/vault_audit_tenants_to_seal.v1.sql': '0d90999ad857bb80d540e0a80b05eb84f41128ffce431aa031a0ccb79e6b6f59',
  // 2026-12-08: the connection-event trigger returns at once when nobody hears and nothing revokes.
  'migrations/2026-12-08-0008-connection-events-early-exit.ts': '9a390ac381e7e61e2924a826147075a1d271afe6373ace1c071752509ed51121',
  'functions/vault_connection_events.v2.sql': 'da82e8c76633667b9afe2c931da783a83643496cb322449d891fabf72161a682',
  // 2026-12-08: a tenant's records of a push batch are written together.
  'migrations/2026-12-08-0009-token-set-writes-together.ts': '5fd33e3d05e141ad0c23f702ed8e972e7f7dfe8e49e8a8c14b01264d7b39b15d',
  'functions/vault_token_set_writes.v1.sql': '4f526fd09c2fc9fceb62e0475e8b1606b426e41dd4e75d76e6a850357a360b4a',
  'functions/vault_write_token_sets.v2.sql': 'b440d416178e9bd5546ec84bdef5e5eefff2f3ad13183461d6618276a938aefd',
}

const files = ['migrations', 'functions'].flatMap((folder) => readdirSync(path.join(dbDir, folder)).map((name) => `${folder}/${name}`))

t.test('every released migration and function source is unchanged since its release', async (t) => {
  for (const [file, hash] of Object.entries(RELEASED)) {
    const actual = createHash('sha256')
      .update(readFileSync(path.join(dbDir, file)))
      .digest('hex')
    t.equal(actual, hash, `${file} was edited after its release: put the change in a new migration`)
  }
})

t.test('every migration and function source is pinned (pin a new one when it is released)', async (t) => {
  t.same(
    files.filter((file) => RELEASED[file] === undefined),
    [],
  )
})

/** Each function's latest source: the highest version in db/functions. */
function latestFunctionSources(): Map<string, string> {
  const latest = new Map<string, { version: number; file: string }>()
  for (const file of files.filter((f) => f.startsWith('functions/'))) {
    const [, name, version] = /^functions\/(\w+)\.v(\d+)\.sql$/.exec(file) ?? []
    if (name === undefined) throw new Error(`${file} is not named <function>.v<version>.sql`)
    if ((latest.get(name)?.version ?? 0) < Number(version)) latest.set(name, { version: Number(version), file })
  }
  return new Map([...latest].map(([name, { file }]) => [name, readFileSync(path.join(dbDir, file), 'utf8')]))
}

t.test('the database holds exactly the functions this release calls, each once, as their latest source says', async (t) => {
  const database = await openTestDatabase(t)
  const functions = await sql<{ proname: string; prosrc: string }>`
    SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY proname`.execute(database.admin)
  const sources = latestFunctionSources()
  const wrapper = readFileSync(path.resolve(import.meta.dirname, '../../src/db/vault-functions.ts'), 'utf8')
  const triggers = await sql<{ proname: string }>`
    SELECT p.proname FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid WHERE NOT tg.tgisinternal`.execute(database.admin)
  // What the wrapper calls and what triggers run, and every function those sources call in turn.
  const callsIn = (text: string) => [...text.matchAll(/\b(vault_\w+)\(/g)].map((m) => m[1]!)
  const called = new Set([...callsIn(wrapper), ...triggers.rows.map((row) => row.proname)])
  for (const name of called) for (const inner of callsIn(sources.get(name) ?? '')) called.add(inner)
  t.same(
    functions.rows.map((row) => row.proname),
    [...called].sort(),
    'the functions the wrapper calls and the triggers run, each once: no superseded function is left behind',
  )
  for (const row of functions.rows) {
    const body = /AS \$\$([\s\S]*)\$\$/.exec(sources.get(row.proname) ?? '')?.[1]
    t.equal(row.prosrc, body, `${row.proname} is its latest source in db/functions`)
  }
})

t.test('the migration refuses, saying what to run, when the roles were not bootstrapped', async (t) => {
  // A fresh embedded database has no roles: exactly a server whose administrator skipped the bootstrap.
  const { PGlite } = await import('@electric-sql/pglite')
  const { Kysely, PGliteDialect } = await import('kysely')
  const { migrateToLatest } = await import('../../src/db/migrate.ts')
  const pglite = await PGlite.create()
  const db = new Kysely<any>({ dialect: new PGliteDialect({ pglite }) })
  t.teardown(() => db.destroy())
  await t.rejects(migrateToLatest(db), {
    message: /secret_vault_app and secret_vault_operator do not exist: an administrator runs "secret-vault db bootstrap"/,
  })
  const tables = await sql<{
    n: number
  }>`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'kysely_%'`.execute(db)
  t.equal(tables.rows[0]!.n, 0, 'nothing was created')
})
