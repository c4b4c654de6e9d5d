import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { closeSync, createWriteStream, fstatSync, ftruncateSync, openSync, readSync, type WriteStream } from 'node:fs'
import { insertAuditEvent } from '../audit/audit.repository.ts'
import { exportAuditEvents } from '../audit/audit-export.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import { dropAuditPartitions } from '../db/vault-functions.ts'
import { EXIT, UsageError, withRuntime } from './key-commands.ts'
import { createOutput, type OutputFormat, table } from './output.ts'

/** How far back from the end of an export file its last complete line is looked for. */
const TAIL_BYTES = 64 * 1024

/**
 * Where an existing export file ends: the id of its last complete line, after cutting a line that an
 * interruption left half-written. Undefined for an empty file.
 */
export function resumePointOf(file: string): string | undefined {
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
    const last = JSON.parse(tail.subarray(lineStart, end).toString('utf8')) as { id?: unknown }
    if (typeof last.id !== 'string' || !/^[1-9]\d*$/.test(last.id)) throw new UsageError(`${file}'s last line is not an audit event`)
    return last.id
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

/**
 * `audit export`: a tenant's audit events as NDJSON on stdout or into a file. With a file, a second run
 * continues where the first stopped (interrupted, or simply run again later): no event twice, none lost.
 * Progress and the summary go to stderr, so stdout carries only events.
 */
export async function auditExport(options: {
  tenant: string
  output?: string
  after?: string
  batch: number
  settleSeconds: number
  format?: OutputFormat
}): Promise<number> {
  let afterId = options.after
  if (options.output !== undefined) {
    let existing: string | undefined
    try {
      existing = resumePointOf(options.output)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    if (existing !== undefined && afterId !== undefined)
      throw new UsageError('--after and a non-empty --output file: the file says where to resume')
    afterId = existing ?? afterId
  }
  const status = createOutput(options.format ?? (process.stderr.isTTY === true ? 'table' : 'json'), process.stderr)
  const progress = status.progress('events')
  const abort = new AbortController()
  const stop = () => abort.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const sink = options.output === undefined ? process.stdout : createWriteStream(options.output, { flags: 'a' })
  try {
    return await withRuntime(async ({ database }) => {
      const result = await exportAuditEvents(database.db, (line) => writeTo(sink, line), {
        tenantId: options.tenant,
        afterId,
        batch: options.batch,
        settleMs: options.settleSeconds * 1000,
        signal: abort.signal,
        onProgress: (done, total) => progress.update(done, total),
      })
      progress.stop()
      status.result({ tenantId: options.tenant, ...result, settledUntil: result.settledUntil.toISOString() }, () =>
        result.interrupted
          ? `interrupted after ${result.exported} events (last id ${result.lastId ?? 'none'}); run the command again to resume`
          : `exported ${result.exported} events of ${options.tenant} up to ${result.settledUntil.toISOString()} (last id ${result.lastId ?? 'none'})`,
      )
      return result.interrupted ? EXIT.interrupted : EXIT.done
    })
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    if (sink !== process.stdout) {
      const file = sink as WriteStream
      await new Promise<void>((resolve) => file.end(resolve))
    }
  }
}

/**
 * `audit retention`: drops the audit trail's months that ended more than `olderThanDays` ago, whole
 * partitions at a time (a dry run counts them). Each tenant that lost events records it in its own trail,
 * in the transaction of the drop.
 */
export async function auditRetention(options: { olderThanDays: number; dryRun: boolean; format: OutputFormat }): Promise<number> {
  const output = createOutput(options.format)
  return withRuntime(async ({ database }) => {
    const before = new Date(Date.now() - options.olderThanDays * 86_400_000)
    const rows = await inOperatorTransaction(database.db, async (trx) => {
      const dropped = await dropAuditPartitions(trx, before, options.dryRun)
      if (!options.dryRun) {
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
      }
      return dropped
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
    output.result({ dryRun: options.dryRun, before: before.toISOString(), partitions }, () =>
      partitions.length === 0
        ? `no month of the audit trail ended before ${before.toISOString()}`
        : [
            options.dryRun ? 'would drop (dry run):' : 'dropped:',
            table(
              ['PARTITION', 'FROM', 'TO', 'EVENTS', 'TENANTS'],
              partitions.map((p) => [p.partition, p.from, p.to, p.events, p.tenants]),
            ),
          ].join('\n'),
    )
    return EXIT.done
  })
}
