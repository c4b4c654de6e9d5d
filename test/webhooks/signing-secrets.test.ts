import { createSecretKey, randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { openClientSecret, sealClientSecret } from '../../src/crypto/connector-secret-sealing.ts'
import {
  activeSecrets,
  formatSigningSecret,
  generateSigningSecret,
  openSigningSecrets,
  sealSigningSecrets,
  signDelivery,
} from '../../src/webhooks/signing-secrets.ts'

/** Signing secrets: the Standard Webhooks bytes, the binding that keeps an endpoint where it was registered. */
const key = createSecretKey(randomBytes(32))
const endpoint = {
  tenant_id: 'acme',
  id: '6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b',
  url: 'https://hooks.example.com/a',
  event_types: ['connection.deleted'],
}

t.test("a signature is the specification's: its published test vector", async (t) => {
  // From the Standard Webhooks specification's reference implementations.
  const secret = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64')
  const headers = signDelivery([secret], {
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: new Date(1614265330 * 1000),
    body: '{"test": 2432232314}',
  })
  t.same(headers, {
    'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    'webhook-timestamp': '1614265330',
    'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  })
})

t.test('two secrets sign twice, and a verifier holding either one accepts', async (t) => {
  const [a, b] = [generateSigningSecret(), generateSigningSecret()]
  t.equal(a.length, 32)
  t.match(formatSigningSecret(a), /^whsec_[A-Za-z0-9+/]{43}=$/)
  const now = new Date()
  const body = '{"type":"webhook.test"}'
  const headers = signDelivery([a, b], { id: 'evt_1', timestamp: now, body })
  t.equal(headers['webhook-signature'].split(' ').length, 2)
  for (const secret of [a, b]) t.ok(new Webhook(formatSigningSecret(secret)).verify(body, headers))
  t.throws(() => new Webhook(formatSigningSecret(generateSigningSecret())).verify(body, headers), {
    message: 'No matching signature found',
  })
  t.throws(() => new Webhook(formatSigningSecret(a)).verify(`${body} `, headers), 'the body is signed')
})

t.test('the previous secret signs until its overlap ends, and its end is sealed with it', async (t) => {
  const current = generateSigningSecret()
  const previous = { secret: generateSigningSecret(), expiresAt: new Date('2026-12-05T00:00:00Z') }
  const sealed = sealSigningSecrets(key, endpoint, 3, { current, previous })
  const opened = openSigningSecrets(key, endpoint, 3, sealed)
  t.same(opened, { current, previous })
  t.same(activeSecrets(opened, new Date('2026-12-04T23:59:59Z')), [current, previous.secret])
  t.same(activeSecrets(opened, new Date('2026-12-05T00:00:00Z')), [current], 'ended at its expiry')
  t.same(activeSecrets(openSigningSecrets(key, endpoint, 3, sealSigningSecrets(key, endpoint, 3, { current })), new Date()), [current])
})

t.test('an endpoint moved, re-pointed, widened or re-versioned does not open', async (t) => {
  const sealed = sealSigningSecrets(key, endpoint, 3, { current: generateSigningSecret() })
  for (const [what, row, version] of [
    ['another tenant', { ...endpoint, tenant_id: 'evil' }, 3],
    ['another endpoint', { ...endpoint, id: '00000000-0000-4000-8000-000000000000' }, 3],
    ['another URL', { ...endpoint, url: 'https://evil.example.com/a' }, 3],
    ['more event types', { ...endpoint, event_types: ['connection.deleted', 'connection.created'] }, 3],
    ['every event type', { ...endpoint, event_types: [] }, 3],
    ['another key version', endpoint, 4],
  ] as const) {
    t.throws(() => openSigningSecrets(key, row, version, sealed), { code: 'crypto.integrity' }, what)
  }
  const reordered = sealSigningSecrets(key, { ...endpoint, event_types: ['b.x', 'a.y'] }, 3, { current: generateSigningSecret() })
  t.ok(openSigningSecrets(key, { ...endpoint, event_types: ['a.y', 'b.x'] }, 3, reordered), 'the order of the types does not matter')
})

t.test("a connector's revocation settings are bound when set; settings without them open as before", async (t) => {
  const location = { tenantId: 'acme', connectorType: 'social', connectorId: 'google' }
  const settings = {
    tokenEndpoint: 'https://oauth2.googleapis.com/token',
    issuer: null,
    clientId: 'client',
    clientAuthMethod: 'client_secret_post',
    extraParams: {},
    revocationEndpoint: null,
    revokeTokens: true,
  }
  const secret = Buffer.from('cs_google')
  const plain = sealClientSecret(key, location, settings, 1, secret)
  t.same(openClientSecret(key, location, settings, 1, plain), secret)
  for (const [what, changed] of [
    ['a revocation endpoint added', { ...settings, revocationEndpoint: 'https://evil.example.com/revoke' }],
    ['revocation turned off', { ...settings, revokeTokens: false }],
  ] as const) {
    t.throws(() => openClientSecret(key, location, changed, 1, plain), { code: 'crypto.integrity' }, what)
  }
  const withRevocation = { ...settings, revocationEndpoint: 'https://oauth2.googleapis.com/revoke' }
  const bound = sealClientSecret(key, location, withRevocation, 1, secret)
  t.same(openClientSecret(key, location, withRevocation, 1, bound), secret)
  for (const [what, changed] of [
    ['the endpoint removed', settings],
    ['the endpoint moved', { ...withRevocation, revocationEndpoint: 'https://evil.example.com/revoke' }],
    ['revocation turned off', { ...withRevocation, revokeTokens: false }],
  ] as const) {
    t.throws(() => openClientSecret(key, location, changed, 1, bound), { code: 'crypto.integrity' }, what)
  }
})
