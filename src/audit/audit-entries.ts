import { createHash } from 'node:crypto'
import { encodeBinding } from '../crypto/associated-data.ts'

/**
 * What a digest says of each event, and how `audit verify` holds a trail against its digests. The content
 * hash is computed here only, from the row as stored, by the sealer and by verify alike: one rule, one
 * language, and nothing the database computes is trusted.
 */
export const AUDIT_EVENT_LABEL = 'secret-vault/audit-event/v1'
/** A content hash is SHA-256 cut to 128 bits: a second preimage still costs 2^128. */
const HASH_BYTES = 16
/** An entry: id (u64), occurred_at in microseconds (u64), content hash. */
export const ENTRY_BYTES = 8 + 8 + HASH_BYTES

/** An event as a digest covers it; its id as a decimal string (bigint), its time in microseconds. */
export interface SealedEvent {
  tenant_id: string
  id: string
  occurred_us: string
  client_id: string | null
  action: string
  outcome: string
  error_code: string | null
  user_id: string | null
  connector_type: string | null
  connector_id: string | null
  request_id: string
  caller_request_id: string | null
  key_version: number | null
}

/**
 * The hash of what an event says, without its id: the id's place is the digest's entry, so an event moved
 * to another id is recognised there by its unchanged content.
 */
export function contentHash(event: SealedEvent): Buffer {
  const fields = encodeBinding(AUDIT_EVENT_LABEL, [
    event.tenant_id,
    Number(event.occurred_us),
    event.client_id,
    event.action,
    event.outcome,
    event.error_code,
    event.user_id,
    event.connector_type,
    event.connector_id,
    event.request_id,
    event.caller_request_id,
    event.key_version,
  ])
  return createHash('sha256').update(fields).digest().subarray(0, HASH_BYTES)
}

export interface DigestEntry {
  id: bigint
  occurredUs: bigint
  hash: Buffer
}

export function packEntries(events: readonly SealedEvent[]): Buffer {
  const out = Buffer.alloc(events.length * ENTRY_BYTES)
  events.forEach((event, i) => {
    out.writeBigUInt64BE(BigInt(event.id), i * ENTRY_BYTES)
    out.writeBigUInt64BE(BigInt(event.occurred_us), i * ENTRY_BYTES + 8)
    contentHash(event).copy(out, i * ENTRY_BYTES + 16)
  })
  return out
}

export function unpackEntries(entries: Uint8Array): DigestEntry[] {
  const bytes = Buffer.from(entries.buffer, entries.byteOffset, entries.byteLength)
  if (bytes.length % ENTRY_BYTES !== 0) throw new Error('audit digest entries are not whole')
  const out: DigestEntry[] = []
  for (let at = 0; at < bytes.length; at += ENTRY_BYTES) {
    out.push({ id: bytes.readBigUInt64BE(at), occurredUs: bytes.readBigUInt64BE(at + 8), hash: bytes.subarray(at + 16, at + ENTRY_BYTES) })
  }
  return out
}

/** Microsecond ranges [from, to) of months a retention run dropped. */
export type DroppedRange = [from: number, to: number]

export type TrailProblem =
  | { kind: 'edited'; id: string; digest: number }
  | { kind: 'deleted'; id: string; digest: number }
  | { kind: 'reordered'; id: string; movedTo: string; digest: number }
  | { kind: 'inserted'; id: string; digest: number }

/** One sealed digest's range, as verify holds the events in it against its entries. */
export interface SealedRange {
  number: number
  afterId: bigint
  throughId: bigint
  entries: DigestEntry[]
}

/**
 * Compares the events in one digest's range (in id order) with its entries and answers the first
 * problem: an entry whose event is gone (deleted — unless retention dropped its month), an event whose
 * content no longer hashes to its entry (edited), an event the digest does not list (inserted), or a
 * deleted entry whose content turns up at another id of the range (reordered: moved to that id).
 */
export function compareRange(
  range: SealedRange,
  events: readonly SealedEvent[],
  dropped: readonly DroppedRange[],
): { problem: TrailProblem | undefined; checked: number; dropped: number } {
  const digest = range.number
  const byId = new Map(events.map((event) => [BigInt(event.id), event]))
  const listed = new Set<bigint>()
  const missing: DigestEntry[] = []
  let checked = 0
  let droppedCount = 0
  for (const entry of range.entries) {
    listed.add(entry.id)
    const event = byId.get(entry.id)
    if (event === undefined) {
      const at = Number(entry.occurredUs)
      if (dropped.some(([from, to]) => at >= from && at < to)) droppedCount += 1
      else missing.push(entry)
      continue
    }
    if (!contentHash(event).equals(entry.hash)) return { problem: { kind: 'edited', id: event.id, digest }, checked, dropped: droppedCount }
    checked += 1
  }
  const unlisted = events.filter((event) => !listed.has(BigInt(event.id)))
  for (const entry of missing) {
    const moved = unlisted.find((event) => contentHash(event).equals(entry.hash))
    if (moved !== undefined)
      return { problem: { kind: 'reordered', id: String(entry.id), movedTo: moved.id, digest }, checked, dropped: droppedCount }
  }
  if (missing.length > 0) return { problem: { kind: 'deleted', id: String(missing[0]!.id), digest }, checked, dropped: droppedCount }
  if (unlisted.length > 0) return { problem: { kind: 'inserted', id: unlisted[0]!.id, digest }, checked, dropped: droppedCount }
  return { problem: undefined, checked, dropped: droppedCount }
}

/** How verify and the CLI say a problem, by position and never by content. */
export function describeProblem(problem: TrailProblem): string {
  switch (problem.kind) {
    case 'edited':
      return `event ${problem.id} was edited: its content no longer matches what digest ${problem.digest} sealed`
    case 'deleted':
      return `event ${problem.id} is missing: digest ${problem.digest} sealed it, and no retention dropped its month`
    case 'reordered':
      return `event ${problem.id} was moved to id ${problem.movedTo}: digest ${problem.digest} sealed its content at ${problem.id}`
    case 'inserted':
      return `event ${problem.id} lies in the range of digest ${problem.digest}, which does not list it: it was inserted`
  }
}
