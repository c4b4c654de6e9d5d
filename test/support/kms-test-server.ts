import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A KMS that speaks the real AWS JSON 1.1 protocol (POST /, X-Amz-Target: TrentService.<Operation>,
 * base64 blobs) so the real SDK can be pointed at it with `endpoint`. It really encrypts (AES-256-GCM under
 * per-key material), binds every ciphertext to its key and encryption context, and can be told to be slow,
 * throttle, fail or deny, and its keys can be disabled or scheduled for deletion, which KMS reports as it
 * does: DescribeKey still answers (with the KeyState), every cryptographic operation is refused. It does not
 * check SigV4 signatures.
 */
export type KmsMode = 'ok' | 'throttle' | 'outage' | 'deny'
export type KmsKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion'

export interface KmsTestServer {
  endpoint: string
  region: string
  /** Creates a key and returns its ARN; `alias` (e.g. alias/vault) also resolves to it. */
  createKey(alias?: string): string
  disableKey(arn: string): void
  setKeyState(arn: string, state: KmsKeyState): void
  calls: Record<string, number>
  mode: KmsMode
  latencyMs: number
  /** Throttles this many next requests, then serves normally (exercises the SDK's retries). */
  throttleNext: number
  close(): Promise<void>
}

const ACCOUNT = '111122223333'

function canonicalContext(context: Record<string, string> | undefined): Buffer {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return Buffer.from(JSON.stringify(entries))
}

class KmsError extends Error {
  readonly type: string
  readonly status: number
  constructor(type: string, status = 400) {
    super(type)
    this.type = type
    this.status = status
  }
}

export async function startKmsTestServer(region = 'us-east-1'): Promise<KmsTestServer> {
  const keys = new Map<string, { arn: string; material: Buffer; state: KmsKeyState }>()
  const aliases = new Map<string, string>()
  const calls: Record<string, number> = {}

  function find(keyId: string | undefined) {
    if (keyId === undefined) throw new KmsError('ValidationException')
    const arn = aliases.get(keyId) ?? aliases.get(keyId.replace(/^arn:aws:kms:[^:]+:\d+:/, '')) ?? keyId
    const key = keys.get(arn) ?? [...keys.values()].find((k) => k.arn.endsWith(`/${keyId}`))
    if (key === undefined) throw new KmsError('NotFoundException')
    return key
  }

  /** A key for a cryptographic operation: KMS refuses a disabled key and one pending deletion. */
  function usable<K extends { state: KmsKeyState }>(key: K): K {
    if (key.state === 'Disabled') throw new KmsError('DisabledException')
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException')
    return key
  }

  const resolve = (keyId: string | undefined) => usable(find(keyId))

  function encrypt(key: { arn: string; material: Buffer }, plaintext: Buffer, context: Record<string, string> | undefined): Buffer {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', key.material, iv)
    cipher.setAAD(canonicalContext(context))
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()])
    const id = Buffer.from(key.arn)
    return Buffer.concat([Buffer.of(id.length), id, iv, ct, cipher.getAuthTag()])
  }

  function decrypt(blob: Buffer, context: Record<string, string> | undefined) {
    const idLength = blob[0] ?? 0
    const arn = blob.subarray(1, 1 + idLength).toString()
    const key = keys.get(arn)
    if (key === undefined || blob.length < 1 + idLength + 12 + 16) throw new KmsError('InvalidCiphertextException')
    usable(key)
    const iv = blob.subarray(1 + idLength, 13 + idLength)
    const decipher = createDecipheriv('aes-256-gcm', key.material, iv)
    decipher.setAAD(canonicalContext(context))
    decipher.setAuthTag(blob.subarray(blob.length - 16))
    try {
      return { key, plaintext: Buffer.concat([decipher.update(blob.subarray(13 + idLength, blob.length - 16)), decipher.final()]) }
    } catch {
      throw new KmsError('InvalidCiphertextException')
    }
  }

  const operations: Record<string, (body: any) => unknown> = {
    DescribeKey: (body) => {
      const key = find(body.KeyId)
      return {
        KeyMetadata: {
          AWSAccountId: ACCOUNT,
          KeyId: key.arn.split('/').pop(),
          Arn: key.arn,
          Enabled: key.state === 'Enabled',
          KeyState: key.state,
          KeyUsage: 'ENCRYPT_DECRYPT',
          KeySpec: 'SYMMETRIC_DEFAULT',
        },
      }
    },
    GenerateDataKey: (body) => {
      if (body.KeySpec !== 'AES_256') throw new KmsError('ValidationException')
      const key = resolve(body.KeyId)
      const plaintext = randomBytes(32)
      return {
        KeyId: key.arn,
        Plaintext: plaintext.toString('base64'),
        CiphertextBlob: encrypt(key, plaintext, body.EncryptionContext).toString('base64'),
      }
    },
    Decrypt: (body) => {
      const { key, plaintext } = decrypt(Buffer.from(body.CiphertextBlob, 'base64'), body.EncryptionContext)
      if (body.KeyId !== undefined && resolve(body.KeyId).arn !== key.arn) throw new KmsError('IncorrectKeyException')
      return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }
    },
    ReEncrypt: (body) => {
      const { key: source, plaintext } = decrypt(Buffer.from(body.CiphertextBlob, 'base64'), body.SourceEncryptionContext)
      if (body.SourceKeyId !== undefined && resolve(body.SourceKeyId).arn !== source.arn) throw new KmsError('IncorrectKeyException')
      const destination = resolve(body.DestinationKeyId)
      return {
        SourceKeyId: source.arn,
        KeyId: destination.arn,
        CiphertextBlob: encrypt(destination, plaintext, body.DestinationEncryptionContext).toString('base64'),
      }
    },
  }

  const state = { mode: 'ok' as KmsMode, latencyMs: 0, throttleNext: 0 }
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk) => chunks.push(chunk))
    request.on('end', () => {
      const operation = String(request.headers['x-amz-target'] ?? '').replace('TrentService.', '')
      calls[operation] = (calls[operation] ?? 0) + 1
      const reply = (status: number, body: unknown, errorType?: string) => {
        if (response.destroyed) return
        response.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
        })
        response.end(JSON.stringify(body))
      }
      setTimeout(() => {
        try {
          if (state.mode === 'outage') throw new KmsError('KMSInternalException', 500)
          if (state.mode === 'throttle' || state.throttleNext > 0) {
            state.throttleNext = Math.max(0, state.throttleNext - 1)
            throw new KmsError('ThrottlingException')
          }
          if (state.mode === 'deny') throw new KmsError('AccessDeniedException')
          const handler = operations[operation]
          if (handler === undefined) throw new KmsError('UnknownOperationException')
          reply(200, handler(JSON.parse(Buffer.concat(chunks).toString() || '{}')))
        } catch (error) {
          const e = error instanceof KmsError ? error : new KmsError('KMSInternalException', 500)
          reply(e.status, { __type: e.type, message: e.type }, e.type)
        }
      }, state.latencyMs)
    })
  })
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen))
  const { port } = server.address() as AddressInfo

  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    calls,
    get mode() {
      return state.mode
    },
    set mode(mode) {
      state.mode = mode
    },
    get latencyMs() {
      return state.latencyMs
    },
    set latencyMs(ms) {
      state.latencyMs = ms
    },
    get throttleNext() {
      return state.throttleNext
    },
    set throttleNext(n) {
      state.throttleNext = n
    },
    createKey(alias) {
      const arn = `arn:aws:kms:${region}:${ACCOUNT}:key/${randomUUID()}`
      keys.set(arn, { arn, material: randomBytes(32), state: 'Enabled' })
      if (alias !== undefined) aliases.set(alias, arn)
      return arn
    },
    disableKey(arn) {
      keys.get(arn)!.state = 'Disabled'
    },
    setKeyState(arn, state) {
      keys.get(arn)!.state = state
    },
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections()
        server.close(() => resolveClose())
      }),
  }
}
