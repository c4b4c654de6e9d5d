import { sql } from 'kysely'
import t from 'tap'
import { createCliEnvironment, seedTokenSets } from '../support/cli-environment.ts'

/** Operator commands, run as real processes against a seeded database. */
const cli = await createCliEnvironment(t)
const TENANT = 'acme'
const OTHER = 'globex'
const tokens = await cli.withDatabase(async (_db, tokenSets, refreshSettings) => {
  const acme = await seedTokenSets(tokenSets, TENANT, 37)
  await seedTokenSets(tokenSets, OTHER, 5)
  // Connector client secrets are sealed under the same data keys and share their lifecycle.
  for (const tenantId of [TENANT, OTHER]) {
    await refreshSettings.put(
      { tenantId, connectorType: 'social', connectorId: 'github' },
      {
        token_endpoint: 'https://github.com/login/oauth/access_token',
        client_id: 'Iv1.abc',
        client_secret: `cs_${tenantId}`,
        client_auth_method: 'client_secret_post',
        revoke_tokens: true,
        extra_params: {},
        refresh_policy: {},
      },
    )
  }
  return acme
})

async function connectorKeyVersion(tenantId: string) {
  return cli.withDatabase(async (db) => {
    const row = await sql<{
      key_version: number
    }>`SELECT key_version FROM connector_refresh_settings WHERE tenant_id = ${tenantId}`.execute(db.admin)
    return row.rows[0]?.key_version
  })
}

async function readAll(rootKeyIds?: string[]) {
  return cli.withDatabase(async (_db, tokenSets) => {
    const read = new Map<string, string>()
    for (const user of tokens.keys()) {
      const accessToken = await tokenSets.readAccessToken({
        tenantId: TENANT,
        userId: user,
        connectorType: 'social',
        connectorId: 'github',
      })
      read.set(user, accessToken.access_token)
    }
    return read
  }, rootKeyIds)
}

async function versions(tenantId: string) {
  return cli.withDatabase(async (db) => {
    const keys = await sql<{
      version: number
      state: string
    }>`SELECT version, state FROM data_keys WHERE tenant_id = ${tenantId} ORDER BY version`.execute(db.admin)
    const sets = await sql<{
      key_version: number
      n: number
    }>`SELECT key_version, count(*)::int AS n FROM token_sets WHERE tenant_id = ${tenantId} GROUP BY key_version ORDER BY key_version`.execute(
      db.admin,
    )
    return { keys: keys.rows, sets: sets.rows }
  })
}

t.test('keys status: JSON for machines, a table for people', async (t) => {
  const json = await cli.run(['keys', 'status', '--json'])
  t.equal(json.code, 0, json.stderr)
  const status = JSON.parse(json.stdout)
  t.equal(status.provider, 'local')
  t.match(status.root_keys, [{ id: 'root-1', active: true, configured: true, data_keys: 2, tenants: 2 }])
  t.match(status.data_keys, [
    { tenant_id: TENANT, version: 1, state: 'active', token_sets: 37, root_key_id: 'root-1' },
    { tenant_id: OTHER, version: 1, state: 'active', token_sets: 5 },
  ])
  const text = await cli.run(['keys', 'status', '--tenant', OTHER])
  t.match(text.stdout, /TENANT\s+VERSION\s+STATE\s+TOKEN SETS/)
  t.notMatch(text.stdout, TENANT)
})

t.test('rotate, refuse to destroy what is used, re-encrypt, destroy', async (t) => {
  const rotated = await cli.run(['keys', 'rotate', '--tenant', TENANT, '--json'])
  t.equal(rotated.code, 0, rotated.stderr)
  t.same(JSON.parse(rotated.stdout), { rotated: [{ tenant_id: TENANT, from: 1, to: 2 }] })
  t.same(
    await versions(TENANT),
    {
      keys: [
        { version: 1, state: 'decrypt_only' },
        { version: 2, state: 'active' },
      ],
      sets: [{ key_version: 1, n: 37 }],
    },
    'no token set touched',
  )
  t.same(await readAll(), tokens, 'everything still reads')

  const inUse = await cli.run(['keys', 'destroy', '--tenant', TENANT, '--version', '1', '--json'])
  t.equal(inUse.code, 1)
  t.same(JSON.parse(inUse.stdout), {
    destroyed: false,
    reason: 'in_use',
    token_sets: 37,
    connector_secrets: 1,
    user_secrets: 0,
    mfa_factors: 0,
    webhook_endpoints: 0,
    audit_digests: 0,
    queued_revocations: 0,
  })
  const active = await cli.run(['keys', 'destroy', '--tenant', TENANT, '--version', '2'])
  t.equal(active.code, 1)
  t.match(active.stdout, 'rotate first')

  const reencrypted = await cli.run(['keys', 'reencrypt', '--tenant', TENANT, '--batch', '10'])
  t.equal(reencrypted.code, 0, reencrypted.stderr)
  const lines = reencrypted.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  t.ok(lines.filter((line) => line.event === 'progress').length >= 4, 'JSON lines of progress off a terminal')
  t.match(lines.at(-1), { event: 'done', done: 38, remaining: 0, interrupted: false }, '37 token sets and one client secret')
  t.same((await versions(TENANT)).sets, [{ key_version: 2, n: 37 }])
  t.equal(await connectorKeyVersion(TENANT), 2, 'the client secret moved too')
  t.equal(await connectorKeyVersion(OTHER), 1)
  t.same((await versions(OTHER)).sets, [{ key_version: 1, n: 5 }], 'another tenant untouched')
  t.same(await readAll(), tokens, 'every token reads back unchanged')

  const again = await cli.run(['keys', 'reencrypt', '--tenant', TENANT, '--json'])
  t.match(JSON.parse(again.stdout.trim().split('\n').at(-1)!), { done: 0, remaining: 0 }, 'idempotent')

  const destroyed = await cli.run(['keys', 'destroy', '--tenant', TENANT, '--version', '1'])
  t.equal(destroyed.code, 0, destroyed.stdout)
  t.same((await versions(TENANT)).keys, [{ version: 2, state: 'active' }])
  const audit = await cli.withDatabase((db) =>
    sql<{ action: string }>`SELECT action FROM audit_events WHERE tenant_id = ${TENANT} AND action LIKE 'key.%' ORDER BY id`.execute(
      db.admin,
    ),
  )
  t.same(
    audit.rows.map((row) => row.action),
    ['key.rotate', 'key.reencrypt', 'key.destroy'],
    'every key operation is audited',
  )
})

t.test('verify: every secret opens; a tampered one is reported by id, without secrets', async (t) => {
  const clean = await cli.run(['verify', '--json'])
  t.equal(clean.code, 0, clean.stderr)
  t.same(JSON.parse(clean.stdout), {
    checked: 42,
    connectors_checked: 2,
    user_secrets_checked: 0,
    mfa_factors_checked: 0,
    webhook_endpoints_checked: 0,
    audit_digests_checked: 0,
    failures: [],
  })
  const sample = await cli.run(['verify', '--sample', '3', '--json'])
  t.equal(JSON.parse(sample.stdout).checked, 3)

  const tampered = await cli.withDatabase(async (db) => {
    const row = await sql<{ id: string }>`SELECT id FROM token_sets WHERE tenant_id = ${OTHER} ORDER BY id LIMIT 1`.execute(db.admin)
    await sql`UPDATE token_sets SET refresh_token_sealed = set_byte(refresh_token_sealed, 49, get_byte(refresh_token_sealed, 49) # 1) WHERE id = ${row.rows[0]!.id}`.execute(
      db.admin,
    )
    return row.rows[0]!.id
  })
  const failing = await cli.run(['verify'])
  t.equal(failing.code, 1)
  t.match(failing.stdout, tampered)
  t.match(failing.stdout, /refresh_token\s+crypto\.integrity/)
  t.notMatch(failing.stdout + failing.stderr, /gho_|ghr_|idt_/, 'no secret printed')

  await cli.withDatabase((db) =>
    sql`UPDATE connector_refresh_settings SET client_secret_sealed = set_byte(client_secret_sealed, 49, get_byte(client_secret_sealed, 49) # 1) WHERE tenant_id = ${OTHER}`.execute(
      db.admin,
    ),
  )
  const connector = await cli.run(['verify', '--tenant', OTHER, '--json'])
  t.equal(connector.code, 1)
  const secretFailures = JSON.parse(connector.stdout).failures.filter((failure: { field: string }) => failure.field === 'client_secret')
  t.same(secretFailures, [{ tenant_id: OTHER, token_set_id: 'connector:social/github', field: 'client_secret', code: 'crypto.integrity' }])
  t.notMatch(connector.stdout + connector.stderr, /cs_/, 'no client secret printed')
})

t.test('rotate-root re-wraps every data key and touches no token set', async (t) => {
  const both = {
    VAULT_LOCAL_ROOT_KEYS: `root-1=${cli.rootKeys['root-1']},root-2=${cli.rootKeys['root-2']}`,
    VAULT_ACTIVE_ROOT_KEY_ID: 'root-2',
  }
  const before = await cli.withDatabase((db) =>
    sql<{ id: string; a: string }>`SELECT id, encode(access_token_sealed, 'hex') AS a FROM token_sets ORDER BY id`.execute(db.admin),
  )
  const dry = await cli.run(['keys', 'rotate-root', '--dry-run', '--json'], { env: both })
  t.equal(dry.code, 0, dry.stderr)
  t.match(JSON.parse(dry.stdout), { to: 'root-2', to_rewrap: 2, rewrapped: 0, dry_run: true })
  const run = await cli.run(['keys', 'rotate-root', '--json'], { env: both })
  t.equal(run.code, 0, run.stderr)
  t.match(JSON.parse(run.stdout.trim().split('\n').at(-1)!), { to: 'root-2', rewrapped: 2 })
  const after = await cli.withDatabase((db) =>
    sql<{ id: string; a: string }>`SELECT id, encode(access_token_sealed, 'hex') AS a FROM token_sets ORDER BY id`.execute(db.admin),
  )
  t.same(after.rows, before.rows, 'no token set touched')
  t.same(await readAll(['root-2']), tokens, 'readable with the new root key alone')
  const unknown = await cli.run(['keys', 'rotate-root', '--to', 'root-9'], { env: both })
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, 'not configured')
})

t.test('tenants shred: refused without --yes, then complete', async (t) => {
  const refused = await cli.run(['tenants', 'shred', OTHER])
  t.equal(refused.code, 2)
  t.match(refused.stderr, '--yes')
  const env = { VAULT_LOCAL_ROOT_KEYS: `root-2=${cli.rootKeys['root-2']}` }
  const shredded = await cli.run(['tenants', 'shred', OTHER, '--yes', '--json'], { env })
  t.equal(shredded.code, 0, shredded.stderr)
  t.same(JSON.parse(shredded.stdout), {
    tenant_id: OTHER,
    token_sets: 5,
    connector_settings: 1,
    user_secrets: 0,
    mfa_factors: 0,
    webhook_endpoints: 0,
    audit_digests: 0,
    data_keys: 1,
    tenant: true,
  })
  const left = await cli.withDatabase((db) =>
    sql<{ t: number; d: number; a: number }>`SELECT (SELECT count(*)::int FROM token_sets WHERE tenant_id = ${OTHER}) AS t,
      (SELECT count(*)::int FROM data_keys WHERE tenant_id = ${OTHER}) AS d,
      (SELECT count(*)::int FROM audit_events WHERE tenant_id = ${OTHER} AND action = 'tenant.shred') AS a`.execute(db.admin),
  )
  t.same(left.rows[0], { t: 0, d: 0, a: 1 }, 'nothing left but the audit record of it')
})

t.test('usage errors exit 2', async (t) => {
  for (const args of [
    ['keys'],
    ['keys', 'rotate'],
    ['keys', 'rotate', '--tenant', 'a', '--all'],
    ['keys', 'destroy', '--tenant', 'a'],
    ['keys', 'reencrypt', '--batch', '0'],
    ['keys', 'status', '--tenant', 'bad id'],
    ['verify', '--bogus'],
  ]) {
    const run = await cli.run(args)
    t.equal(run.code, 2, args.join(' '))
  }
})
