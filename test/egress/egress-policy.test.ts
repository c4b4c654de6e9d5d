import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { addressRule, createEgressPolicy, egressRefusal } from '../../src/egress/egress-policy.ts'

/**
 * The egress policy at connect time, against a real server on loopback and a resolver stub: the addresses a
 * name resolves to are checked before connecting, so a DNS answer that changes after registration (a name
 * that was public and now points inside) gets nothing. Nothing is ever sent off this machine.
 */
let requests = 0
const server = createServer((_req, res) => {
  requests++
  res.end('{"ok":true}')
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
const { port } = server.address() as AddressInfo

t.test('address classes', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link_local'],
    ['169.254.169.254', 'link_local'],
    ['fd00:ec2::254', 'unique_local'],
    ['10.1.2.3', 'private'],
    ['100.100.100.100', 'carrier_grade_nat'],
    ['224.0.0.1', 'reserved'],
    ['8.8.8.8', undefined],
    ['2606:4700:4700::1111', undefined],
  ]
  for (const [address, rule] of cases) t.equal(addressRule(address), rule, address)
})

t.test('a public name that resolves inside is refused before any connection', async (t) => {
  // idp.example.com "was" public at registration; now its DNS answer points at loopback.
  const policy = createEgressPolicy({
    allow: [],
    allowInsecureHttp: true,
    lookup: (_host, done) => done(null, [{ address: '127.0.0.1', family: 4 }]),
  })
  t.teardown(() => policy.close())
  t.equal(policy.urlRule(`http://idp.example.com:${port}/token`), undefined, 'the URL itself passes')
  const before = requests
  const error = await policy
    .fetch(`http://idp.example.com:${port}/token`, { method: 'POST', body: 'refresh_token=ghr_secret' })
    .catch((e: unknown) => e)
  t.equal(egressRefusal(error)?.rule, 'loopback')
  t.equal(requests, before, 'the server saw nothing')
})

t.test('a name resolving to several addresses keeps only the admitted ones', async (t) => {
  const policy = createEgressPolicy({
    allow: ['127.0.0.1'],
    allowInsecureHttp: true,
    lookup: (_host, done) =>
      done(null, [
        { address: '169.254.169.254', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]),
  })
  t.teardown(() => policy.close())
  const res = await policy.fetch(`http://idp.example.com:${port}/token`)
  t.equal(res.status, 200, 'connected to the allowed address, never to the metadata one')
})

t.test('an address in the URL is checked as it is; the operator can allow it', async (t) => {
  const strict = createEgressPolicy({ allow: [], allowInsecureHttp: true })
  t.teardown(() => strict.close())
  const before = requests
  t.equal(egressRefusal(await strict.fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e))?.rule, 'loopback')
  t.equal(requests, before)
  const allowing = createEgressPolicy({ allow: ['127.0.0.0/8'], allowInsecureHttp: true })
  t.teardown(() => allowing.close())
  t.equal((await allowing.fetch(`http://127.0.0.1:${port}/`)).status, 200)
})

t.test('an allowed host name is trusted with whatever it resolves to', async (t) => {
  const policy = createEgressPolicy({
    allow: ['idp.dev.test'],
    allowInsecureHttp: true,
    lookup: (_host, done) => done(null, [{ address: '127.0.0.1', family: 4 }]),
  })
  t.teardown(() => policy.close())
  t.equal((await policy.fetch(`http://idp.dev.test:${port}/`)).status, 200)
})
