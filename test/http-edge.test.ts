import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import t from 'tap'
import { DEFAULT_OVERLOAD } from '../src/app.ts'
import { buildTestApp, countRows, openTestDatabase, uniqueTenant } from './support/helper.ts'
import { githubPush } from './support/http.ts'

/**
 * The edge as a client on a real socket sees it: the whole request must arrive in time, and the HTTP
 * server's own refusals (a request that did not arrive, headers too large, bytes that are not HTTP) carry
 * the vault's error body like every other refusal.
 */
const REQUEST_TIMEOUT_MS = 1000
const database = await openTestDatabase(t)
const { app, issuer } = await buildTestApp(t, database, { overload: { ...DEFAULT_OVERLOAD, requestTimeoutMs: REQUEST_TIMEOUT_MS } })
await app.server.listen({ port: 0, host: '127.0.0.1' })
const { port } = app.server.server.address() as AddressInfo
const token = `Bearer ${await issuer.mint({}, { expiresIn: 600 })}`

interface RawAnswer {
  text: string
  /** When the server closed the connection, from the first byte sent. */
  closedAfterMs: number
}

/** Sends `head`, then `body` one chunk every `intervalMs` (or nothing more, if intervalMs is undefined). */
function rawRequest(head: string, body: string[] = [], intervalMs?: number): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = connect(port, '127.0.0.1')
    let text = ''
    let timer: NodeJS.Timeout | undefined
    socket.on('data', (chunk) => (text += chunk))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearInterval(timer)
      resolve({ text, closedAfterMs: Date.now() - started })
    })
    socket.write(head)
    if (intervalMs !== undefined) {
      const chunks = [...body]
      timer = setInterval(() => {
        const next = chunks.shift()
        if (next === undefined || socket.destroyed) return clearInterval(timer)
        socket.write(next)
      }, intervalMs)
    }
    setTimeout(() => reject(new Error('the server never closed the connection')), 20 * REQUEST_TIMEOUT_MS).unref()
  })
}

function parse(answer: RawAnswer): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  const [head, ...rest] = answer.text.split('\r\n\r\n')
  const [statusLine, ...headerLines] = head!.split('\r\n')
  const headers = Object.fromEntries(
    headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  )
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n\r\n')) }
}

const pushHead = (tenant: string, length: number) =>
  `PUT /v1/tenants/${tenant}/users/alice/connections/social/github/token-set HTTP/1.1\r\nhost: vault\r\nauthorization: ${token}\r\n` +
  `content-type: application/json\r\ncontent-length: ${length}\r\n\r\n`

t.test("a body trickled a byte at a time is cut at the request timeout, with the vault's error, and nothing is stored", async (t) => {
  const tenant = uniqueTenant()
  const body = JSON.stringify(githubPush('gho_trickled'))
  const answer = await rawRequest(pushHead(tenant, body.length), [...body], 150)
  t.ok(
    answer.closedAfterMs < 3 * REQUEST_TIMEOUT_MS,
    `closed after ${answer.closedAfterMs} ms, not after the whole trickle (${body.length * 150} ms)`,
  )
  const { status, headers, body: error } = parse(answer)
  t.equal(status, 408)
  t.match(error, { code: 'request.timeout', request_id: headers['x-request-id'] })
  t.match(headers, { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
  t.equal(await countRows(database, 'token_sets', tenant), 0)
})

t.test('a stalled body is cut at the request timeout', async (t) => {
  const tenant = uniqueTenant()
  const answer = await rawRequest(`${pushHead(tenant, 500)}{"target":"git`)
  t.ok(answer.closedAfterMs < 3 * REQUEST_TIMEOUT_MS, `closed after ${answer.closedAfterMs} ms`)
  t.match(parse(answer), { status: 408, body: { code: 'request.timeout' } })
  t.equal(await countRows(database, 'token_sets', tenant), 0)
})

t.test('headers that never end are cut too', async (t) => {
  const answer = await rawRequest(
    `GET /healthz HTTP/1.1\r\nhost: vault\r\n`,
    [
      'x-a: 1\r\n',
      'x-b: 2\r\n',
      'x-c: 3\r\n',
      'x-d: 4\r\n',
      'x-e: 5\r\n',
      'x-f: 6\r\n',
      'x-g: 7\r\n',
      'x-h: 8\r\n',
      'x-i: 9\r\n',
      'x-j: 10\r\n',
    ],
    250,
  )
  t.ok(answer.closedAfterMs < 3 * REQUEST_TIMEOUT_MS, `closed after ${answer.closedAfterMs} ms`)
  t.match(parse(answer), { status: 408, body: { code: 'request.timeout' } })
})

t.test('a connection that sends nothing at all is cut too', async (t) => {
  const answer = await rawRequest('')
  t.ok(answer.closedAfterMs < 3 * REQUEST_TIMEOUT_MS, `closed after ${answer.closedAfterMs} ms`)
  t.match(parse(answer), { status: 408, body: { code: 'request.timeout' } })
})

t.test("headers larger than the server takes: 431 with the vault's body, the header not echoed", async (t) => {
  const huge = 'x'.repeat(20_000)
  const answer = await rawRequest(`GET /healthz HTTP/1.1\r\nhost: vault\r\nx-huge: ${huge}\r\n\r\n`)
  const { status, headers, body } = parse(answer)
  t.equal(status, 431)
  t.match(headers['content-type'], 'application/problem+json')
  t.same(body, {
    type: 'urn:secret-vault:error:request.headers_too_large',
    title: 'The request headers are larger than the server accepts',
    status: 431,
    detail: 'The request headers are too large',
    instance: `urn:uuid:${headers['x-request-id']}`,
    code: 'request.headers_too_large',
    request_id: headers['x-request-id'],
  })
  t.notMatch(answer.text, huge.slice(0, 100))
})

t.test("bytes that are not HTTP: 400 request.malformed with the vault's body", async (t) => {
  const answer = await rawRequest('THIS IS NOT HTTP\r\n\r\n')
  t.match(parse(answer), { status: 400, body: { code: 'request.malformed' } })
})

t.test('a request that arrives in time is served on the same server', async (t) => {
  const tenant = uniqueTenant()
  const body = JSON.stringify(githubPush('gho_in_time'))
  const res = await fetch(`http://127.0.0.1:${port}/v1/tenants/${tenant}/users/alice/connections/social/github/token-set`, {
    method: 'PUT',
    headers: { authorization: token, 'content-type': 'application/json' },
    body,
  })
  t.equal(res.status, 201)
  t.equal(res.headers.get('pragma'), 'no-cache')
})

t.test('no log line carries a query value: a token sent in the URL is refused and not logged', async (t) => {
  const ctx = await buildTestApp(t, database)
  const res = await ctx.app.inject({
    method: 'GET',
    url: '/v1/tenants/acme/users/alice/connections?access_token=gho_in_the_url&required_scopes=repo',
  })
  t.equal(res.json().code, 'request.invalid')
  t.ok(
    ctx.logs.some((line) => line.includes('request completed') && line.includes('access_token=…')),
    'the URL is logged without its values',
  )
  t.notOk(ctx.logs.some((line) => line.includes('gho_in_the_url')))
})
