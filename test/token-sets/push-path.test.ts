import { sql } from 'kysely'
import t from 'tap'
import * as functions from '../../src/db/vault-functions.ts'
import { rotateDataKey } from '../../src/key-lifecycle/rotate-data-keys.ts'
import type { KeyProvider } from '../../src/keys/key-provider.ts'
import { createLocalKeyProvider } from '../../src/keys/local-key-provider.ts'
import { normalizeTokenResponse } from '../../src/oauth/token-response.ts'
import { createTokenSetPusher, type PushStatements } from '../../src/token-sets/push-token-set.ts'
import type { TokenSetKey } from '../../src/token-sets/token-set.repository.ts'
import { buildTestApp, openTestDatabase, randomRootKey, uniqueTenant } from '../support/helper.ts'
import { githubPush, push, readAccessToken } from '../support/http.ts'

/**
 * The one push path, watched through the two statements it may use: a basis remembered from this replica's
 * own last write costs one statement; a basis that no longer holds costs a detour, never a wrong write.
 */
const database = await openTestDatabase(t)
const { app, provider, keyRing } = await buildTestApp(t, database)

/** The real statements, counted, with a hook that may fail a call. */
function watchedStatements(fail?: (call: 'findPushBases' | 'writeTokenSets', waitForLocks?: boolean) => Error | undefined) {
  const calls = { findPushBases: 0, writeTokenSets: 0, writeTokenSetsWaiting: 0 }
  const statements: PushStatements = {
    findPushBases: async (db, keys) => {
      calls.findPushBases += 1
      const error = fail?.('findPushBases')
      if (error !== undefined) throw error
      return functions.findPushBases(db, keys)
    },
    writeTokenSets: async (db, records, options) => {
      if (options.waitForLocks) calls.writeTokenSetsWaiting += 1
      else calls.writeTokenSets += 1
      const error = fail?.('writeTokenSets', options.waitForLocks)
      if (error !== undefined) throw error
      return functions.writeTokenSets(db, records, options)
    },
  }
  return { statements, calls }
}

const keyOf = (tenantId: string, userId = 'alice'): TokenSetKey => ({ tenantId, userId, connectorType: 'social', connectorId: 'github' })

let pushes = 0
function pushOf(accessToken: string, response: Record<string, unknown> = {}, issuedAt = new Date()) {
  pushes += 1
  const body = { target: 'github', token_response: { access_token: accessToken, token_type: 'bearer', scope: 'repo', ...response } }
  return {
    body,
    tokens: normalizeTokenResponse(body.token_response, issuedAt),
    issuedAt,
    context: { requestId: `push-path-${process.pid}-${pushes}`, clientId: 'identity-core' },
  }
}

const accessTokenOf = async (tenant: string, user = 'alice') => (await readAccessToken(app, { tenant, user })).json().access_token

t.test('a push to a connection this replica wrote to before takes one statement; a stale memory costs a detour', async (t) => {
  const { statements, calls } = watchedStatements()
  const pusher = createTokenSetPusher({ db: database.db, keyRing, statements })
  const tenant = uniqueTenant('memory')
  const key = keyOf(tenant)

  t.equal((await pusher.push(key, pushOf('gho_1', { refresh_token: 'ghr_1' }))).result, 'created')
  t.same(calls, { findPushBases: 2, writeTokenSets: 1, writeTokenSetsWaiting: 0 }, 'a new tenant: asked, created its key, asked again')

  const second = await pusher.push(key, pushOf('gho_2'))
  t.equal(second.result, 'updated')
  t.equal(second.connection.has_refresh_token, true, 'the stored refresh token is kept')
  t.same(calls, { findPushBases: 2, writeTokenSets: 2, writeTokenSetsWaiting: 0 }, 'remembered: one statement')
  t.equal(await accessTokenOf(tenant), 'gho_2')

  // Another replica wrote meanwhile: the remembered write id no longer holds.
  const otherReplica = createTokenSetPusher({ db: database.db, keyRing })
  t.equal((await otherReplica.push(key, pushOf('gho_elsewhere'))).result, 'updated')
  t.equal((await pusher.push(key, pushOf('gho_3'))).result, 'updated')
  t.same(calls, { findPushBases: 3, writeTokenSets: 4, writeTokenSetsWaiting: 0 }, 'refused, asked, written')
  t.equal(await accessTokenOf(tenant), 'gho_3')

  // The row is gone (deleted by another replica): the push creates a new one.
  await sql`DELETE FROM token_sets WHERE tenant_id = ${tenant}`.execute(database.admin)
  const recreated = await pusher.push(key, pushOf('gho_4'))
  t.equal(recreated.result, 'created')
  t.not(recreated.connection.id, second.connection.id)
  t.equal(await accessTokenOf(tenant), 'gho_4')

  // The data key was rotated (by an operator): the push is sealed under the new key.
  await rotateDataKey(database.operator, provider, tenant)
  const rotated = await pusher.push(key, pushOf('gho_5'))
  t.equal(rotated.connection.key_version, 2)
  t.equal(await accessTokenOf(tenant), 'gho_5')

  const events = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = ${tenant} AND action = 'token_set.push'`.execute(database.admin)
  t.equal(events.rows[0]!.n, 6, 'one event per push, whatever it cost')
})

t.test('a push without a refresh token carries the stored one over to a newer data key', async (t) => {
  const tenant = uniqueTenant('carry')
  t.equal((await push(app, { tenant }, githubPush('gho_1', {}, { refresh_token: 'ghr_1' }))).statusCode, 201)
  await rotateDataKey(database.operator, provider, tenant)
  const pusher = createTokenSetPusher({ db: database.db, keyRing })
  const pushed = await pusher.push(keyOf(tenant), pushOf('gho_2'))
  t.equal(pushed.connection.key_version, 2)
  t.equal(pushed.connection.has_refresh_token, true)
  const versions = await sql<{
    n: number
  }>`SELECT count(DISTINCT key_version)::int AS n FROM token_sets WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal(versions.rows[0]!.n, 1)
  t.equal(await accessTokenOf(tenant), 'gho_2', 'and the row opens whole under the new key')
})

t.test('pushes to one connection take turns within a replica, and race safely across replicas', async (t) => {
  const tenant = uniqueTenant('turns')
  const key = keyOf(tenant)
  const { statements, calls } = watchedStatements()
  const replicas = [
    createTokenSetPusher({ db: database.db, keyRing, statements }),
    createTokenSetPusher({ db: database.db, keyRing }),
    createTokenSetPusher({ db: database.db, keyRing }),
  ]
  const start = Date.now() - 60_000
  const results = await Promise.all(
    Array.from({ length: 24 }, (_, i) => replicas[i % 3]!.push(key, pushOf(`gho_${i}`, {}, new Date(start + i * 1000)))),
  )
  t.equal(results.filter((r) => r.result === 'created').length, 1, 'one token set')
  t.ok(
    results.every((r) => r.connection.id === results[0]!.connection.id),
    'every push names it',
  )
  t.equal(await accessTokenOf(tenant), 'gho_23', 'the latest issued_at wins, whatever the order')
  t.ok(calls.writeTokenSets <= 8 * 3, 'at most three shared writes a push; then it holds the lock')
})

t.test('a batch rolled back to break a lock cycle is written again push by push; any other failure stores nothing', async (t) => {
  const tenant = uniqueTenant('deadlock')
  t.equal((await push(app, { tenant }, githubPush('gho_1'))).statusCode, 201)
  const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' })
  const cycles = watchedStatements((call, waitForLocks) => (call === 'writeTokenSets' && !waitForLocks ? deadlock : undefined))
  const retried = await createTokenSetPusher({ db: database.db, keyRing, statements: cycles.statements }).push(
    keyOf(tenant),
    pushOf('gho_2'),
  )
  t.equal(retried.result, 'updated')
  t.equal(cycles.calls.writeTokenSetsWaiting, 1, 'written alone')
  t.equal(await accessTokenOf(tenant), 'gho_2')

  const broken = watchedStatements((call) =>
    call === 'writeTokenSets' ? Object.assign(new Error('broken'), { code: '22000' }) : undefined,
  )
  await t.rejects(createTokenSetPusher({ db: database.db, keyRing, statements: broken.statements }).push(keyOf(tenant), pushOf('gho_3')), {
    message: 'broken',
  })
  t.equal(await accessTokenOf(tenant), 'gho_2', 'nothing stored')
})

t.test('a remembered data key whose root key was rotated and retired costs a detour, not a failed push', async (t) => {
  const [root1, root2] = [randomRootKey('root-1'), randomRootKey('root-2')]
  const local = createLocalKeyProvider([root1, root2], 'root-1')
  const retired = new Set<string>()
  const retiring: KeyProvider = {
    ...local,
    name: local.name,
    activeRootKeyId: local.activeRootKeyId,
    knownRootKeyIds: local.knownRootKeyIds,
    decryptDataKey: async (wrapped, rootKeyId, context) => {
      if (retired.has(rootKeyId)) throw new Error(`root key ${rootKeyId} is retired`)
      return local.decryptDataKey(wrapped, rootKeyId, context)
    },
  }
  const replica = await buildTestApp(t, database, { provider: retiring })
  const tenant = uniqueTenant('retired-root')
  const ref = { tenant, user: 'alice' }
  t.equal((await push(replica.app, ref, githubPush('gho_1'))).statusCode, 201)
  t.equal((await push(replica.app, ref, githubPush('gho_2'))).statusCode, 200, 'remembered from here on')

  // An operator re-wraps every data key under root-2 and retires root-1; the replica's cache has expired.
  // (By hand for this tenant alone: keys rotate-root would walk every tenant of this shared database.)
  const stored = await sql<{ version: number; wrapped_key: Uint8Array }>`
    SELECT version, wrapped_key FROM data_keys WHERE tenant_id = ${tenant}`.execute(database.admin)
  for (const row of stored.rows) {
    const rewrapped = await local.reEncryptDataKey(row.wrapped_key, 'root-1', 'root-2', { tenantId: tenant, version: row.version })
    await sql`UPDATE data_keys SET wrapped_key = ${rewrapped}, root_key_id = 'root-2'
      WHERE tenant_id = ${tenant} AND version = ${row.version}`.execute(database.admin)
  }
  retired.add('root-1')
  replica.keyRing.clear()
  const res = await push(replica.app, ref, githubPush('gho_3'))
  t.equal(res.statusCode, 200)
  t.equal(res.json().result, 'updated')
  t.equal((await readAccessToken(replica.app, ref)).json().access_token, 'gho_3')
})
