import t from 'tap'
import { compareRange, contentHash, packEntries, type SealedEvent, unpackEntries } from '../../src/audit/audit-entries.ts'

const event = (id: number, overrides: Partial<SealedEvent> = {}): SealedEvent => ({
  tenant_id: 'acme',
  id: String(id),
  occurred_us: String(1_796_000_000_000_000 + id),
  client_id: 'account-api',
  action: 'token_set.read',
  outcome: 'success',
  error_code: null,
  user_id: `user-${id}`,
  connector_type: 'social',
  connector_id: 'github',
  request_id: `req-${id}`,
  caller_request_id: null,
  key_version: 1,
  ...overrides,
})

const range = (events: SealedEvent[]) => ({ number: 7, afterId: 0n, throughId: 100n, entries: unpackEntries(packEntries(events)) })

t.test('an entry is id, time and 16 bytes of content hash, and reads back as written', async (t) => {
  const events = [event(3), event(5), event(9)]
  const packed = packEntries(events)
  t.equal(packed.length, 3 * 32)
  t.same(
    unpackEntries(packed).map((e) => [e.id, e.occurredUs, e.hash.toString('hex')]),
    events.map((e) => [BigInt(e.id), BigInt(e.occurred_us), contentHash(e).toString('hex')]),
  )
  t.throws(() => unpackEntries(packed.subarray(0, 40)), /not whole/)
})

t.test('the content hash covers every field but the id; null and empty differ', async (t) => {
  const base = event(1)
  t.same(contentHash(event(1)), contentHash({ ...base, id: '999' }), 'the id is the entry’s, not the content’s')
  const changes: Partial<SealedEvent>[] = [
    { tenant_id: 'acme2' },
    { occurred_us: String(Number(base.occurred_us) + 1) },
    { client_id: null },
    { action: 'token_set.push' },
    { outcome: 'denied' },
    { error_code: '' },
    { user_id: 'user-2' },
    { connector_type: 'sso' },
    { connector_id: 'google' },
    { request_id: 'req-2' },
    { caller_request_id: '' },
    { key_version: 2 },
    { key_version: null },
  ]
  for (const change of changes) t.notSame(contentHash({ ...base, ...change }), contentHash(base), JSON.stringify(change))
  t.notSame(contentHash(event(1, { user_id: 'ab', connector_id: 'c' })), contentHash(event(1, { user_id: 'a', connector_id: 'bc' })))
})

t.test('a range compared with its events: each kind of change is named by id', async (t) => {
  const sealed = [event(3), event(5), event(9), event(12)]
  t.same(compareRange(range(sealed), sealed, []), { problem: undefined, checked: 4, dropped: 0 })
  t.match(compareRange(range(sealed), [sealed[0]!, { ...sealed[1]!, outcome: 'failed' }, sealed[2]!, sealed[3]!], []).problem, {
    kind: 'edited',
    id: '5',
    digest: 7,
  })
  t.match(compareRange(range(sealed), [sealed[0]!, sealed[2]!, sealed[3]!], []).problem, { kind: 'deleted', id: '5' })
  t.match(compareRange(range(sealed), [sealed[0]!, { ...sealed[1]!, id: '40' }, sealed[2]!, sealed[3]!], []).problem, {
    kind: 'reordered',
    id: '5',
    movedTo: '40',
  })
  t.match(compareRange(range(sealed), [...sealed, event(50)], []).problem, { kind: 'inserted', id: '50' })
})

t.test('an entry whose month retention dropped is counted, not reported', async (t) => {
  const sealed = [event(3), event(5), event(9)]
  const at = Number(sealed[1]!.occurred_us)
  t.same(compareRange(range(sealed), [sealed[0]!, sealed[2]!], [[at, at + 1]]), { problem: undefined, checked: 2, dropped: 1 })
  t.match(compareRange(range(sealed), [sealed[0]!, sealed[2]!], [[at + 1, at + 2]]).problem, { kind: 'deleted', id: '5' })
})
