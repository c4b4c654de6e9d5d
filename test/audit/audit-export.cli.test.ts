import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import t from 'tap'
import { resumePointOf } from '../../src/cli/audit-commands.ts'
import { insertAuditEvents } from '../../src/db/vault-functions.ts'
import { createCliEnvironment } from '../support/cli-environment.ts'

/**
 * `audit export` as a process: a tenant's events as NDJSON, bounded pages, resumed after an interruption
 * with neither a gap nor a duplicate, and never past events whose transactions may still be open.
 */
const cli = await createCliEnvironment(t)
const TENANT = 'hooli'
const OTHER = 'pied-piper'
const work = mkdtempSync(path.join(tmpdir(), 'vault-audit-export-'))

async function seed(tenantId: string, count: number, ageSeconds: number) {
  await cli.withDatabase(async (db) => {
    for (let i = 0; i < count; i += 500) {
      const events = Array.from({ length: Math.min(500, count - i) }, (_, j) => ({
        tenant_id: tenantId,
        client_id: 'identity-core',
        action: 'token_set.read',
        outcome: 'success' as const,
        error_code: null,
        user_id: `user-${i + j}`,
        connector_type: 'social',
        connector_id: 'github',
        request_id: randomUUID(),
        caller_request_id: null,
        key_version: 1,
      }))
      await insertAuditEvents(db.db, events)
    }
    // Recorded that long ago (the trail is append-only for the service: only an administrator can do this).
    await sql`UPDATE audit_events SET occurred_at = now() - make_interval(secs => ${ageSeconds})
      WHERE tenant_id = ${tenantId} AND occurred_at > now() - interval '1 second'`.execute(db.admin)
  })
}

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { id: string; tenant_id?: string; user_id: string; action: string })

await seed(TENANT, 2500, 300)
await seed(OTHER, 100, 300)

t.test('exports every settled event of the tenant, in id order, and a second run continues after the last', async (t) => {
  const file = path.join(work, 'full.ndjson')
  const first = await cli.run(['audit', 'export', '--tenant', TENANT, '--output', file, '--batch', '300', '--format', 'json'])
  t.equal(first.code, 0, first.stderr)
  t.equal(first.stdout, '', 'events go to the file, nothing to stdout')
  const summary = JSON.parse(first.stderr.trim().split('\n').at(-1)!)
  t.match(summary, { tenant_id: TENANT, exported: 2500, interrupted: false })
  const exported = lines(file)
  t.equal(exported.length, 2500)
  t.ok(
    exported.every((event, i) => i === 0 || BigInt(event.id) > BigInt(exported[i - 1]!.id)),
    'ids strictly increasing',
  )
  t.equal(new Set(exported.map((e) => e.user_id)).size, 2500, 'every event, none of another tenant')
  t.same(Object.keys(exported[0]!).sort(), [
    'action',
    'caller_request_id',
    'client_id',
    'connector_id',
    'connector_type',
    'error_code',
    'id',
    'key_version',
    'occurred_at',
    'outcome',
    'request_id',
    'user_id',
  ])
  t.equal(summary.last_id, exported.at(-1)!.id)

  const again = await cli.run(['audit', 'export', '--tenant', TENANT, '--output', file, '--format', 'json'])
  t.equal(again.code, 0, again.stderr)
  t.match(JSON.parse(again.stderr.trim().split('\n').at(-1)!), { exported: 0 })
  t.equal(lines(file).length, 2500, 'nothing twice')
})

t.test('an export cut off mid-line resumes without a gap or a duplicate', async (t) => {
  const file = path.join(work, 'cut.ndjson')
  const full = await cli.run(['audit', 'export', '--tenant', TENANT, '--output', file, '--batch', '500', '--format', 'json'])
  t.equal(full.code, 0, full.stderr)
  const whole = readFileSync(file, 'utf8')
  // As a crash leaves it: 1,234 lines and half of the next.
  const cut = whole.split('\n').slice(0, 1234).join('\n').length + 1 + 40
  truncateSync(file, cut)
  t.equal(resumePointOf(file), lines(file).at(-1)!.id, 'the last complete line says where to resume')
  t.equal(readFileSync(file, 'utf8').endsWith('\n'), true, 'the half line was cut')
  const resumed = await cli.run(['audit', 'export', '--tenant', TENANT, '--output', file, '--batch', '500', '--format', 'json'])
  t.equal(resumed.code, 0, resumed.stderr)
  t.match(JSON.parse(resumed.stderr.trim().split('\n').at(-1)!), { exported: 2500 - 1234 })
  t.equal(readFileSync(file, 'utf8'), whole, 'byte for byte what one run wrote')
})

t.test('events too recent to be settled wait for the next run', async (t) => {
  const file = path.join(work, 'settle.ndjson')
  const base = await cli.run(['audit', 'export', '--tenant', OTHER, '--output', file, '--format', 'json'])
  t.match(JSON.parse(base.stderr.trim().split('\n').at(-1)!), { exported: 100 })
  await seed(OTHER, 10, 0)
  const early = await cli.run(['audit', 'export', '--tenant', OTHER, '--output', file, '--format', 'json'])
  t.match(JSON.parse(early.stderr.trim().split('\n').at(-1)!), { exported: 0 }, 'recorded just now: not yet')
  const settled = await cli.run(['audit', 'export', '--tenant', OTHER, '--output', file, '--settle-seconds', '0', '--format', 'json'])
  t.match(JSON.parse(settled.stderr.trim().split('\n').at(-1)!), { exported: 10 })
  t.equal(lines(file).length, 110)
})

t.test('to stdout from a given id; wrong use is exit 2 and writes nothing', async (t) => {
  const file = path.join(work, 'full.ndjson')
  const all = lines(file)
  const tail = await cli.run(['audit', 'export', '--tenant', TENANT, '--after', all[2489]!.id, '--format', 'json'])
  t.equal(tail.code, 0, tail.stderr)
  t.same(
    tail.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id),
    all.slice(2490).map((e) => e.id),
    'the ten after it, on stdout',
  )
  const both = await cli.run(['audit', 'export', '--tenant', TENANT, '--output', file, '--after', '1'])
  t.equal(both.code, 2)
  t.match(both.stderr, /--after and a non-empty --output file/)
  const garbage = path.join(work, 'garbage.ndjson')
  writeFileSync(garbage, 'not json\n')
  const refused = await cli.run(['audit', 'export', '--tenant', TENANT, '--output', garbage])
  t.equal(refused.code, 2)
  t.match(refused.stderr, /not JSON: not an export to resume/)
  t.equal(readFileSync(garbage, 'utf8'), 'not json\n', 'left as it was')
  for (const args of [
    ['--tenant', '-bad'],
    ['--tenant', TENANT, '--after', '0'],
    ['--tenant', TENANT, '--settle-seconds', '3601'],
    ['--tenant', TENANT, '--batch', '0'],
    [],
  ]) {
    const run = await cli.run(['audit', 'export', ...args])
    t.equal(run.code, 2, args.join(' '))
  }
})

t.test('every tenant at once: a file each, and a later run picks up each tenant where its file ends', async (t) => {
  const dir = path.join(work, 'all')
  await seed('initech', 30, 300)
  const first = await cli.run(['audit', 'export', '--all-tenants', '--output-dir', dir, '--settle-seconds', '0', '--json'])
  t.equal(first.code, 0, first.stderr)
  const files = ['hooli', 'initech', 'pied-piper'].map((tenant) => path.join(dir, `${tenant}.ndjson`))
  const counts = files.map((file) => lines(file).length)
  t.ok(
    counts.every((n) => n > 0),
    `every tenant with events has its file: ${counts.join(', ')}`,
  )
  t.ok(
    lines(files[1]!).every((line) => line.user_id.startsWith('user-')),
    "each file holds its own tenant's events",
  )
  // New events for two tenants, in the order that would trip a single cursor across tenants.
  await seed('pied-piper', 3, 300)
  await seed('initech', 2, 300)
  const second = await cli.run(['audit', 'export', '--all-tenants', '--output-dir', dir, '--settle-seconds', '0', '--json'])
  t.equal(second.code, 0, second.stderr)
  t.same(
    files.map((file) => lines(file).length),
    [counts[0], counts[1]! + 2, counts[2]! + 3],
    'only the new ones, each into its tenant',
  )
  for (const file of files) {
    const ids = lines(file).map((line) => BigInt(line.id))
    t.same(
      ids,
      [...new Set(ids)].sort((a, b) => (a < b ? -1 : 1)),
      `${path.basename(file)}: in id order, none twice`,
    )
  }
  for (const wrong of [
    ['audit', 'export', '--all-tenants'],
    ['audit', 'export', '--all-tenants', '--output-dir', dir, '--tenant', 'hooli'],
    ['audit', 'export', '--tenant', 'hooli', '--output-dir', dir],
    ['audit', 'export'],
  ]) {
    t.equal((await cli.run(wrong)).code, 2, wrong.join(' '))
  }
})
