import { type KeyObject, randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { type EndpointBinding, openRecord, sealRecord, WEBHOOK_SIGNING_SECRETS } from '../crypto/record-binding.ts'

/** 32 random bytes; shown to the caller once, as Standard Webhooks writes it (whsec_ and base64). */
const SECRET_BYTES = 32
const PREFIX = 'whsec_'

/** The secrets an endpoint signs with: the current one, and the one it replaced until its overlap ends. */
export interface SigningSecrets {
  current: Buffer
  previous?: { secret: Buffer; expiresAt: Date }
}

export function generateSigningSecret(): Buffer {
  return randomBytes(SECRET_BYTES)
}

/** How a secret is handed out once, and how a receiver's Standard Webhooks library takes it. */
export function formatSigningSecret(secret: Buffer): string {
  return `${PREFIX}${secret.toString('base64')}`
}

/** The secrets in use at `at`: the current one always, the previous one until its overlap ends. */
export function activeSecrets(secrets: SigningSecrets, at: Date): Buffer[] {
  const previous = secrets.previous
  return previous !== undefined && previous.expiresAt.getTime() > at.getTime() ? [secrets.current, previous.secret] : [secrets.current]
}

/** The expiry lives inside the sealed value, so it is authenticated with the secrets. */
interface SealedForm {
  current: string
  previous?: { secret: string; expires_at: number }
}

export function sealSigningSecrets(key: KeyObject, row: EndpointBinding, keyVersion: number, secrets: SigningSecrets): Buffer {
  const form: SealedForm = {
    current: secrets.current.toString('base64'),
    ...(secrets.previous === undefined
      ? {}
      : { previous: { secret: secrets.previous.secret.toString('base64'), expires_at: secrets.previous.expiresAt.getTime() } }),
  }
  const plain = Buffer.from(JSON.stringify(form), 'utf8')
  try {
    return sealRecord(WEBHOOK_SIGNING_SECRETS, key, row, keyVersion, plain)
  } finally {
    plain.fill(0)
  }
}

/** Every failure is the one IntegrityError (crypto.integrity). */
export function openSigningSecrets(key: KeyObject, row: EndpointBinding, keyVersion: number, sealed: Uint8Array): SigningSecrets {
  const plain = openRecord(WEBHOOK_SIGNING_SECRETS, key, row, keyVersion, sealed)
  try {
    const form = JSON.parse(plain.toString('utf8')) as SealedForm
    return {
      current: Buffer.from(form.current, 'base64'),
      ...(form.previous === undefined
        ? {}
        : { previous: { secret: Buffer.from(form.previous.secret, 'base64'), expiresAt: new Date(form.previous.expires_at) } }),
    }
  } finally {
    plain.fill(0)
  }
}

/** The Standard Webhooks headers for one attempt: one v1 signature per secret in use, space-separated. */
export function signDelivery(
  secrets: readonly Buffer[],
  message: { id: string; timestamp: Date; body: string },
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(message.timestamp.getTime() / 1000)),
    'webhook-signature': secrets
      .map((secret) => new Webhook(new Uint8Array(secret), { format: 'raw' }).sign(message.id, message.timestamp, message.body))
      .join(' '),
  }
}
