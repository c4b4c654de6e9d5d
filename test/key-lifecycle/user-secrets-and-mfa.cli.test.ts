import { createSecretKey } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { createDataKeyRing } from '../../src/keys/data-key-ring.ts'
import { createLocalKeyProvider } from '../../src/keys/local-key-provider.ts'
import { createMfaService, type MfaService } from '../../src/mfa/mfa.service.ts'
import { createUserSecretService, type UserSecretService } from '../../src/user-secrets/user-secret.service.ts'
import { createCliEnvironment } from '../support/cli-environment.ts'
import { base32Decode, totp } from '../support/reference-totp.ts'
import type { TestDatabase } from '../support/test-database.ts'

/**
 * A user's named secrets and MFA factors share the token sets' key lifecycle, through the operator
 * commands as real processes: counted by status, refused a destroy while they need a version, moved by
 * reencrypt (and still open and verify afterwards), checked by verify, erased by a shred.
 */
const cli = await createCliEnvironment(t)
const TENANT = 'initech'
const OTHER = 'umbrella'
const user = (tenantId: string) => ({ tenantId, userId: 'milton' })

async function withServices<T>(work: (services: { db: TestDatabase; secrets: UserSecretService; mfa: MfaService }) => Promise<T>) {
  return cli.withDatabase(async (db) => {
    const provider = createLocalKeyProvider(
      [{ id: 'root-1', key: createSecretKey(Buffer.from(cli.rootKeys['root-1']!, 'base64')) }],
      'root-1',
    )
    const keyRing = createDataKeyRing({ provider, ttlMs: 60_000, maxEntries: 100 })
    return work({
      db,
      secrets: createUserSecretService({ db: db.db, keyRing }),
      mfa: createMfaService({ db: db.db, keyRing, now: () => new Date() }),
    })
  })
}

const seeded = await withServices(async ({ secrets, mfa }) => {
  const seeds = new Map<string, { seed: Buffer; backupCodes: string[] }>()
  for (const tenantId of [TENANT, OTHER]) {
    await secrets.put({ ...user(tenantId), name: 'stapler' }, { kind: 'api_key', value: `sk_${tenantId}_red`, labels: {} })
    const generated = await mfa.generateTotp(user(tenantId), { issuer: 'Initech', accountName: 'milton@initech.example' })
    const seed = base32Decode(generated.secret)
    await mfa.bindTotp(user(tenantId), generated.factor.id, totp(seed, new Date()))
    const codes = await mfa.generateBackupCodes(user(tenantId))
    await mfa.bindBackupCodes(user(tenantId), codes.factor.id)
    seeds.set(tenantId, { seed, backupCodes: codes.codes })
  }
  return seeds
})

async function keyVersions(tenantId: string) {
  return cli.withDatabase(async (db) => {
    const rows = await sql<{ table: string; key_version: number }>`
      SELECT 'user_secrets' AS table, key_version FROM user_secrets WHERE tenant_id = ${tenantId}
      UNION ALL SELECT 'mfa_factors:' || type, key_version FROM mfa_factors WHERE tenant_id = ${tenantId}
      ORDER BY 1`.execute(db.admin)
    return Object.fromEntries(rows.rows.map((row) => [row.table, row.key_version]))
  })
}

t.test('keys status counts user secrets and MFA factors under each data-key version', async (t) => {
  const status = await cli.run(['keys', 'status', '--tenant', TENANT, '--format', 'json'])
  t.equal(status.code, 0, status.stderr)
  t.match(JSON.parse(status.stdout).data_keys, [
    { tenant_id: TENANT, version: 1, state: 'active', token_sets: 0, user_secrets: 1, mfa_factors: 2 },
  ])
  const table = await cli.run(['keys', 'status', '--tenant', TENANT])
  t.match(table.stdout, /USER SECRETS\s+MFA FACTORS/)
})

t.test('destroy refuses while they need a version; reencrypt moves them; they still open; then destroy', async (t) => {
  t.equal((await cli.run(['keys', 'rotate', '--tenant', TENANT])).code, 0)
  const inUse = await cli.run(['keys', 'destroy', '--tenant', TENANT, '--version', '1', '--json'])
  t.equal(inUse.code, 1)
  t.same(JSON.parse(inUse.stdout), {
    destroyed: false,
    reason: 'in_use',
    token_sets: 0,
    connector_secrets: 0,
    user_secrets: 1,
    mfa_factors: 2,
    webhook_endpoints: 0,
    audit_digests: 0,
    queued_revocations: 0,
  })

  const reencrypted = await cli.run(['keys', 'reencrypt', '--tenant', TENANT, '--json'])
  t.equal(reencrypted.code, 0, reencrypted.stderr)
  t.match(JSON.parse(reencrypted.stdout.trim().split('\n').at(-1)!), { event: 'done', done: 3, remaining: 0 })
  t.same(await keyVersions(TENANT), { 'mfa_factors:backup_codes': 2, 'mfa_factors:totp': 2, user_secrets: 2 })
  t.same(await keyVersions(OTHER), { 'mfa_factors:backup_codes': 1, 'mfa_factors:totp': 1, user_secrets: 1 }, 'another tenant untouched')

  const { seed, backupCodes } = seeded.get(TENANT)!
  await withServices(async ({ secrets, mfa }) => {
    t.equal((await secrets.read({ ...user(TENANT), name: 'stapler' })).value, `sk_${TENANT}_red`)
    // The step after the one used to bind: each step is accepted once.
    t.equal((await mfa.verifyTotp(user(TENANT), totp(seed, new Date(Date.now() + 30_000)))).key_version, 2)
    t.same(
      (await mfa.listBackupCodes(user(TENANT))).codes.map((entry) => entry.code),
      backupCodes,
    )
  })

  const destroyed = await cli.run(['keys', 'destroy', '--tenant', TENANT, '--version', '1'])
  t.equal(destroyed.code, 0, destroyed.stdout)
})

t.test('verify opens them all and names a tampered one by its ids, never its secret', async (t) => {
  const clean = await cli.run(['verify', '--json'])
  t.equal(clean.code, 0, clean.stderr)
  t.match(JSON.parse(clean.stdout), { user_secrets_checked: 2, mfa_factors_checked: 4, failures: [] })

  const factorId = await cli.withDatabase(async (db) => {
    // A database writer re-kinds a secret (bound into its seal) and rewrites a factor's timestamps (not bound: display only).
    const factor = await sql<{ id: string }>`SELECT id FROM mfa_factors WHERE tenant_id = ${OTHER} AND type = 'totp'`.execute(db.admin)
    await sql`UPDATE mfa_factors SET last_used_at = NULL, bound_at = now() - interval '1 day' WHERE tenant_id = ${OTHER}`.execute(db.admin)
    await sql`UPDATE user_secrets SET kind = 'password' WHERE tenant_id = ${OTHER}`.execute(db.admin)
    return factor.rows[0]!.id
  })
  const failing = await cli.run(['verify', '--tenant', OTHER, '--format', 'json'])
  t.equal(failing.code, 1)
  t.same(
    JSON.parse(failing.stdout).failures,
    [{ tenant_id: OTHER, token_set_id: 'user_secret:milton/stapler', field: 'value', code: 'crypto.integrity' }],
    'the re-kinded secret fails; unbound timestamps do not',
  )
  await cli.withDatabase((db) =>
    sql`UPDATE mfa_factors SET secret_sealed = set_byte(secret_sealed, 49, get_byte(secret_sealed, 49) # 1) WHERE id = ${factorId}`.execute(
      db.admin,
    ),
  )
  const text = await cli.run(['verify', '--tenant', OTHER])
  t.equal(text.code, 1)
  t.match(text.stdout, new RegExp(`mfa_factor:${factorId}\\s+secret\\s+crypto\\.integrity`))
  t.notMatch(text.stdout + text.stderr, /sk_|[A-Z2-7]{32}/, 'no secret printed')
})

t.test('tenants shred erases user secrets, MFA factors, their used codes and attempt counts', async (t) => {
  await withServices(async ({ mfa }) => {
    await mfa.consumeBackupCode(user(OTHER), seeded.get(OTHER)!.backupCodes[0]!).catch(() => undefined)
    await mfa.verifyTotp(user(OTHER), '000000').catch(() => undefined)
  })
  const shredded = await cli.run(['tenants', 'shred', OTHER, '--yes', '--json'])
  t.equal(shredded.code, 0, shredded.stderr)
  t.match(JSON.parse(shredded.stdout), { tenant_id: OTHER, user_secrets: 1, mfa_factors: 2, data_keys: 1, tenant: true })
  const left = await cli.withDatabase((db) =>
    sql<{
      n: number
    }>`SELECT (SELECT count(*) FROM user_secrets WHERE tenant_id = ${OTHER}) + (SELECT count(*) FROM mfa_factors WHERE tenant_id = ${OTHER})
      + (SELECT count(*) FROM mfa_used_codes WHERE tenant_id = ${OTHER}) + (SELECT count(*) FROM mfa_attempts WHERE tenant_id = ${OTHER}) AS n`.execute(
      db.admin,
    ),
  )
  t.equal(Number(left.rows[0]!.n), 0, 'nothing of the tenant is left')
  t.same(
    await keyVersions(TENANT),
    { 'mfa_factors:backup_codes': 2, 'mfa_factors:totp': 2, user_secrets: 2 },
    'the other tenant keeps its own',
  )
})
