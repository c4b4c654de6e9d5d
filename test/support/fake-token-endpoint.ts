import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface TokenRequest {
  headers: IncomingHttpHeaders
  form: Record<string, string>
}

export interface FakeAnswer {
  status?: number
  body?: unknown
  /** Waits this long before answering (timeouts, races). */
  delayMs?: number
  headers?: Record<string, string>
}

/**
 * A provider's token endpoint on 127.0.0.1 that records every request and answers as the test says. It
 * also serves OpenID Connect Discovery for its own issuer URL.
 */
export interface FakeTokenEndpoint {
  issuer: string
  tokenEndpoint: string
  requests: TokenRequest[]
  discoveryRequests: number
  answer: (request: TokenRequest) => FakeAnswer
  /** Overrides the discovery document's answer (outages, broken documents). */
  discoveryAnswer: (() => FakeAnswer) | undefined
  /** Its RFC 7009 revocation endpoint (named in its discovery document), every request to it, and its answer. */
  revocationEndpoint: string
  revocations: TokenRequest[]
  revocationAnswer: (request: TokenRequest) => FakeAnswer
}

export async function startFakeTokenEndpoint(t: Test): Promise<FakeTokenEndpoint> {
  const fake: FakeTokenEndpoint = {
    issuer: '',
    tokenEndpoint: '',
    requests: [],
    discoveryRequests: 0,
    answer: () => ({ status: 500 }),
    discoveryAnswer: undefined,
    revocationEndpoint: '',
    revocations: [],
    revocationAnswer: () => ({ status: 200 }),
  }
  const server = createServer((req, res) => {
    let raw = ''
    req.on('data', (chunk) => (raw += chunk))
    req.on('end', () => {
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers })
        res.end(body === undefined ? '' : JSON.stringify(body))
      }
      if (req.method === 'GET' && req.url === '/.well-known/openid-configuration') {
        fake.discoveryRequests++
        const scripted = fake.discoveryAnswer?.()
        if (scripted !== undefined) return reply(scripted.status ?? 200, scripted.body)
        return reply(200, {
          issuer: fake.issuer,
          token_endpoint: fake.tokenEndpoint,
          revocation_endpoint: fake.revocationEndpoint,
          authorization_endpoint: `${fake.issuer}/authorize`,
          jwks_uri: `${fake.issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        })
      }
      if (req.method === 'POST' && req.url === '/revoke') {
        const request = { headers: req.headers, form: Object.fromEntries(new URLSearchParams(raw)) }
        fake.revocations.push(request)
        const answer = fake.revocationAnswer(request)
        return setTimeout(() => reply(answer.status ?? 200, answer.body, answer.headers), answer.delayMs ?? 0)
      }
      if (req.method !== 'POST' || req.url !== '/token') return reply(404, { error: 'not_found' })
      const request = { headers: req.headers, form: Object.fromEntries(new URLSearchParams(raw)) }
      fake.requests.push(request)
      const answer = fake.answer(request)
      setTimeout(() => reply(answer.status ?? 200, answer.body, answer.headers), answer.delayMs ?? 0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  fake.issuer = `http://127.0.0.1:${port}`
  fake.tokenEndpoint = `${fake.issuer}/token`
  fake.revocationEndpoint = `${fake.issuer}/revoke`
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  server.unref()
  return fake
}

/** The client credentials of a client_secret_basic request, decoded as RFC 6749 §2.3.1 says. */
export function basicCredentials(request: TokenRequest): { id: string; secret: string } | undefined {
  const header = request.headers.authorization
  if (header === undefined || !header.startsWith('Basic ')) return undefined
  const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')
  return { id: decodeURIComponent(id!.replace(/\+/g, ' ')), secret: decodeURIComponent(secret!.replace(/\+/g, ' ')) }
}
