import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { closeSync, createWriteStream, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, type WriteStream } from 'node:fs'
import path from 'node:path'
import type { Kysely } from 'kysely'
import { insertAuditEvent, tenantsWithAuditEvents } from '../audit/audit.repository.ts'
import { findAuditDigests } from '../audit/audit-digest.repository.ts'
import { sealRetentionCut } from '../audit/audit-digests.ts'
import type { DroppedRange } from '../audit/audit-entries.ts'
import { type AuditExportResult, exportAuditEvents } from '../audit/audit-export.ts'
import { verifyAuditTrail } from '../audit/audit-verify.ts'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction, type OperatorTransaction } from '../db/tenant-scope.ts'
import { type DroppedAuditPartitionRow, dropAuditPartitions } from '../db/vault-functions.ts'
import { findDataKey } from '../key-lifecycle/key-lifecycle.repository.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { EXIT, UsageError, withRuntime } from './key-commands.ts'
import { createOutput, type OutputFormat, type Progress, table } from './output.ts'

/** How far back from the end of an export file its last complete line is looked for. */
const TAIL_BYTES = 64 * 1024

/**
 * Where an existing export file ends: the `key` (an event's id, a digest's number) of its last complete
 * line, after cutting a line that an interruption left half-written. Undefined for an empty file.
 */
export function resumePointOf(file: string, key: 'id' | 'number' = 'id'): string | undefined {
  const fd = openSync(file, 'r+')
  try {
    const size = fstatSync(fd).size
    if (size === 0) return undefined
    const start = Math.max(0, size - TAIL_BYTES)
    const tail = Buffer.alloc(size - start)
    readSync(fd, tail, 0, tail.length, start)
    const end = tail.lastIndexOf(0x0a)
    if (end === -1) {
      if (start > 0) throw new UsageError(`${file} does not end in NDJSON lines: not an export to resume`)
      ftruncateSync(fd, 0)
      return undefined
    }
    // A half-written last line goes: it is written again, whole, by the resumed run.
    if (end + 1 < tail.length) ftruncateSync(fd, start + end + 1)
    const lineStart = tail.lastIndexOf(0x0a, end - 1) + 1
    const last = JSON.parse(tail.subarray(lineStart, end).toString('utf8')) as Record<string, unknown>
    const at = last[key]
    if (typeof at !== 'string' || !/^[1-9]\d*$/.test(at))
      throw new UsageError(`${file}'s last line is not an audit ${key === 'id' ? 'event' : 'digest'}`)
    return at
  } catch (error) {
    if (error instanceof SyntaxError) throw new UsageError(`${file}'s last line is not JSON: not an export to resume`)
    throw error
  } finally {
    closeSync(fd)
  }
}

async function writeTo(stream: NodeJS.WritableStream | WriteStream, line: string): Promise<void> {
  if (!stream.write(line)) await once(stream, 'drain')
}

/** Runs `work` with a line writer into stdout or appending to `output`, closed (flushed) after. */
async function withSink<T>(output: string | undefined, work: (write: (line: string) => Promise<void>) => Promise<T>): Promise<T> {
  const sink = output === undefined ? process.stdout : createWriteStream(output, { flags: 'a' })
  try {
    return await work((line) => writeTo(sink, line))
  } finally {
    if (sink !== process.stdout) {
      const file = sink as WriteStream
      await new Promise<void>((resolve) => file.end(resolve))
    }
  }
}

/** Where a file of NDJSON lines ends by `key` (resumePointOf); undefined for a missing or empty file. */
function resumePointIfAny(file: string, key: 'id' | 'number'): string | undefined {
  try {
    return resumePointOf(file, key)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

interface ExportOptions {
  batch: number
  settleSeconds: number
  format?: OutputFormat
}

/** Where an export into `output` starts: after its last complete event, or `after` when it is new. */
function resumeAfter(output: string | undefined, after: string | undefined): string | undefined {
  if (output === undefined) return after
  const existing = resumePointIfAny(output, 'id')
  if (existing !== undefined && after !== undefined)
    throw new UsageError('--after and a non-empty --output file: the file says where to resume')
  return existing ?? after
}

/** One tenant's export into stdout or a file, on an open database; resolves with what it wrote. */
async function exportTenant(
  db: Kysely<DB>,
  tenantId: string,
  target: { output?: string; after?: string },
  options: ExportOptions & { signal: AbortSignal; progress: Progress },
): Promise<AuditExportResult> {
  const afterId = resumeAfter(target.output, target.after)
  return withSink(target.output, (write) =>
    exportAuditEvents(db, write, {
      tenantId,
      afterId,
      batch: options.batch,
      settleMs: options.settleSeconds * 1000,
      signal: options.signal,
      onProgress: (done, total) => options.progress.update(done, total),
    }),
  )
}

/** Runs `work` with Ctrl-C and SIGTERM turned into an abort the export stops at, between pages. */
async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController()
  const stop = () => abort.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    return await work(abort.signal)
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}

/**
 * `audit export`: a tenant's audit events as NDJSON on stdout or into a file. With a file, a second run
 * continues where the first stopped (interrupted, or simply run again later): no event twice, none lost.
 * Progress and the summary go to stderr, so stdout carries only events.
 */
export async function auditExport(options: ExportOptions & { tenant: string; output?: string; after?: string }): Promise<number> {
  // A wrong --after with a non-empty file is refused before the database is opened.
  resumeAfter(options.output, options.after)
  const status = createOutput(options.format ?? (process.stderr.isTTY === true ? 'table' : 'json'), process.stderr)
  const progress = status.progress('events')
  return interruptible((signal) =>
    withRuntime(async ({ database }) => {
      const result = await exportTenant(database.db, options.tenant, options, { ...options, signal, progress })
      progress.stop()
      status.result({ tenantId: options.tenant, ...result, settledUntil: result.settledUntil.toISOString() }, () =>
        result.interrupted
          ? `interrupted after ${result.exported} events (last id ${result.lastId ?? 'none'}); run the command again to resume`
          : `exported ${result.exported} events of ${options.tenant} up to ${result.settledUntil.toISOString()} (last id ${result.lastId ?? 'none'})`,
      )
      return result.interrupted ? EXIT.interrupted : EXIT.done
    }),
  )
}

/**
 * `audit export --all-tenants --output-dir DIR`: every tenant's events, one file per tenant
 * (DIR/<tenant>.ndjson), each exported and resumed exactly like a single tenant's file. The tenants are
 * those with events (read from the trail's primary key, a skip scan), so a shredded tenant's trail is
 * exported too. Each tenant's file is read in its own id order: a later run picks up every tenant's new
 * events, whichever tenant the last one stopped in.
 */
export async function auditExportAll(options: ExportOptions & { outputDir: string }): Promise<number> {
  mkdirSync(options.outputDir, { recursive: true })
  const status = createOutput(options.format ?? (process.stderr.isTTY === true ? 'table' : 'json'), process.stderr)
  const progress = status.progress('events')
  return interruptible((signal) =>
    withRuntime(async ({ database }) => {
      const tenants = await inOperatorTransaction(database.db, (trx) => tenantsWithAuditEvents(trx))
      let exported = 0
      let done = 0
      for (const tenantId of tenants) {
        const output = path.join(options.outputDir, `${tenantId}.ndjson`)
        const result = await exportTenant(database.db, tenantId, { output }, { ...options, signal, progress })
        exported += result.exported
        if (result.interrupted) break
        done += 1
      }
      progress.stop()
      const interrupted = done < tenants.length
      status.result({ outputDir: options.outputDir, tenants: tenants.length, tenantsDone: done, exported, interrupted }, () =>
        interrupted
          ? `interrupted after ${done} of ${tenants.length} tenants (${exported} events); run the command again to resume`
          : `exported ${exported} events of ${tenants.length} tenants into ${options.outputDir}`,
      )
      return interrupted ? EXIT.interrupted : EXIT.done
    }),
  )
}

/**
 * `audit retention`: drops the audit trail's months that ended more than `olderThanDays` ago, whole
 * partitions at a time (a dry run counts them). In the transaction of the drop, before it, each tenant
 * that loses events gets a retention digest sealing the months it loses (so `audit verify` counts nothing
 * the command dropped as deleted) and records the drop in its own trail.
 */
export async function auditRetention(options: { olderThanDays: number; dryRun: boolean; format: OutputFormat }): Promise<number> {
  const output = createOutput(options.format)
  return withRuntime(async ({ database, keyRing }) => {
    const before = new Date(Date.now() - options.olderThanDays * 86_400_000)
    const { rows, uncut } = await inOperatorTransaction(database.db, async (trx) => {
      if (options.dryRun) return { rows: await dropAuditPartitions(trx, before, true), uncut: [] }
      const uncut = await sealRetentionCuts(trx, keyRing, await dropAuditPartitions(trx, before, true))
      const dropped = await dropAuditPartitions(trx, before, false)
      for (const tenantId of new Set(dropped.flatMap((row) => (row.tenant_id === null ? [] : [row.tenant_id])))) {
        await insertAuditEvent(trx, {
          tenant_id: tenantId,
          client_id: 'operator-cli',
          action: 'audit.retention',
          outcome: 'success',
          error_code: null,
          user_id: null,
          connector_type: null,
          connector_id: null,
          request_id: randomUUID(),
          key_version: null,
        })
      }
      return { rows: dropped, uncut }
    })
    const partitions = [...new Set(rows.map((row) => row.partition_name))].map((name) => {
      const of = rows.filter((row) => row.partition_name === name)
      return {
        partition: name,
        from: of[0]!.range_start.toISOString(),
        to: of[0]!.range_end.toISOString(),
        events: of.reduce((sum, row) => sum + Number(row.events), 0),
        tenants: of.filter((row) => row.tenant_id !== null).length,
      }
    })
    output.result({ dryRun: options.dryRun, before: before.toISOString(), partitions, tenantsWithoutCut: uncut }, () =>
      partitions.length === 0
        ? `no month of the audit trail ended before ${before.toISOString()}`
        : [
            options.dryRun ? 'would drop (dry run):' : 'dropped:',
            table(
              ['PARTITION', 'FROM', 'TO', 'EVENTS', 'TENANTS'],
              partitions.map((p) => [p.partition, p.from, p.to, p.events, p.tenants]),
            ),
            ...(uncut.length === 0
              ? []
              : [`no data key to seal a retention cut for: ${uncut.join(', ')} (audit verify reports their dropped months as deleted)`]),
          ].join('\n'),
    )
    return EXIT.done
  })
}

/** Seals each losing tenant's retention cut (the months it loses); answers the tenants with no data key to seal one with. */
async function sealRetentionCuts(
  trx: OperatorTransaction,
  keyRing: DataKeyRing,
  planned: readonly DroppedAuditPartitionRow[],
): Promise<string[]> {
  const cuts = new Map<string, DroppedRange[]>()
  for (const row of planned) {
    if (row.tenant_id === null) continue
    const ranges = cuts.get(row.tenant_id) ?? []
    ranges.push([row.range_start.getTime() * 1000, row.range_end.getTime() * 1000])
    cuts.set(row.tenant_id, ranges)
  }
  const uncut: string[] = []
  for (const [tenantId, dropped] of cuts) {
    const active = await findDataKey(trx, tenantId, 'active')
    if (active === undefined) {
      uncut.push(tenantId)
      continue
    }
    await sealRetentionCut(trx, { version: active.version, key: await keyRing.unwrap(active) }, tenantId, dropped, new Date())
  }
  return uncut
}

/** `audit verify`: checks a tenant's trail against its digests; exit 1 on the first problem found. */
export async function auditVerify(options: { tenant: string; format: OutputFormat }): Promise<number> {
  const output = createOutput(options.format)
  // Progress on stderr (a bar on a terminal, JSON lines otherwise), so stdout carries only the report.
  const progress = createOutput(process.stderr.isTTY === true ? 'table' : 'json', process.stderr).progress('events')
  return withRuntime(async ({ database, keyRing }) => {
    const report = await verifyAuditTrail(database.db, keyRing, {
      tenantId: options.tenant,
      onProgress: (done, total) => progress.update(done, total),
    })
    progress.stop()
    output.result(report, () =>
      report.ok
        ? `${options.tenant}: ${report.checked} events verified against ${report.digests} digests (sealed through id ${report.sealedThroughId}, last at ${report.lastSealedAt ?? 'never'}); ${report.unsealed} not sealed yet, ${report.droppedByRetention} dropped by retention`
        : `${options.tenant}: ${report.description}`,
    )
    return report.ok ? EXIT.done : EXIT.refused
  })
}

/**
 * `audit digests`: a tenant's audit digests as NDJSON, to keep beside an export of its events (the seal
 * and entries base64, never the data key). With a file, a second run continues after its last digest.
 */
export async function auditDigests(options: { tenant: string; output?: string; format?: OutputFormat }): Promise<number> {
  let after = Number(options.output === undefined ? 0 : (resumePointIfAny(options.output, 'number') ?? 0))
  const status = createOutput(options.format ?? (process.stderr.isTTY === true ? 'table' : 'json'), process.stderr)
  return withRuntime(({ database }) =>
    withSink(options.output, async (write) => {
      let exported = 0
      for (;;) {
        const page = await inOperatorTransaction(database.db, (trx) =>
          findAuditDigests(trx, { tenantId: options.tenant, afterNumber: after, limit: 100 }),
        )
        for (const row of page) {
          await write(
            `${JSON.stringify({
              tenant_id: row.tenant_id,
              number: String(row.number),
              kind: row.kind,
              sealed_at: row.sealed_at.toISOString(),
              after_id: String(row.after_id),
              through_id: String(row.through_id),
              entries: Buffer.from(row.entries).toString('base64'),
              cut: row.cut === null ? null : JSON.parse(row.cut),
              key_version: row.key_version,
              seal: Buffer.from(row.seal).toString('base64'),
            })}\n`,
          )
          after = Number(row.number)
          exported += 1
        }
        if (page.length < 100) break
      }
      status.result(
        { tenantId: options.tenant, exported, lastNumber: after === 0 ? null : String(after) },
        () => `exported ${exported} digests of ${options.tenant} (last number ${after === 0 ? 'none' : after})`,
      )
      return EXIT.done
    }),
  )
}
