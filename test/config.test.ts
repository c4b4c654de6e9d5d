import { randomBytes } from 'node:crypto'
import t from 'tap'
import { ConfigError, loadConfig, loadDatabaseConfig } from '../src/config.ts'

t.test('defaults serve the embedded database on localhost', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, 8080)
  t.equal(config.host, '127.0.0.1')
  t.same(config.database, { kind: 'pglite', dataDir: './.data/pglite' })
  t.equal(config.keys.provider, 'local')
  t.ok(Object.isFrozen(config))
})

t.test('a PostgreSQL server needs an operator-supplied root key', async (t) => {
  t.throws(() => loadConfig({ DATABASE_URL: 'postgres://vault@db/vault' }), { message: /VAULT_LOCAL_ROOT_KEYS/ })
  const key = `k1=${randomBytes(32).toString('base64')}`
  const auth = { VAULT_AUTH_ISSUER: 'https://id.example.com/oidc', VAULT_AUTH_JWKS_URL: 'https://id.example.com/oidc/jwks' }
  const config = loadConfig({ DATABASE_URL: 'postgres://vault@db/vault', VAULT_LOCAL_ROOT_KEYS: key, ...auth })
  t.same(config.database, { kind: 'postgres', url: 'postgres://vault@db/vault', poolMax: 10, listenUrl: 'postgres://vault@db/vault' })
  const pooled = loadConfig({
    DATABASE_URL: 'postgres://vault@pgbouncer/vault',
    DATABASE_LISTEN_URL: 'postgres://vault@db/vault',
    VAULT_LOCAL_ROOT_KEYS: key,
    ...auth,
  })
  t.match(
    pooled.database,
    { url: 'postgres://vault@pgbouncer/vault', listenUrl: 'postgres://vault@db/vault' },
    'LISTEN may bypass the pooler',
  )
})

t.test('migrations need only the database: no key provider, no issuer', async (t) => {
  t.same(loadDatabaseConfig({ DATABASE_URL: 'postgres://owner@db/vault' }).database, {
    kind: 'postgres',
    url: 'postgres://owner@db/vault',
    poolMax: 10,
    listenUrl: 'postgres://owner@db/vault',
  })
  t.match(loadDatabaseConfig({}).database, { kind: 'pglite', dataDir: './.data/pglite' })
  t.throws(() => loadDatabaseConfig({ DATABASE_URL: 'mysql://owner@db/vault' }), { message: /DATABASE_URL/ })
})

t.test('a PostgreSQL server needs an external token issuer: no development issuer there', async (t) => {
  const key = `k1=${randomBytes(32).toString('base64')}`
  t.throws(() => loadConfig({ DATABASE_URL: 'postgres://vault@db/vault', VAULT_LOCAL_ROOT_KEYS: key }), { message: /VAULT_AUTH_ISSUER/ })
})

t.test('auth settings: issuer and keys go together, algorithms are asymmetric only', async (t) => {
  t.throws(() => loadConfig({ VAULT_AUTH_ISSUER: 'https://id' }), { message: /VAULT_AUTH_ISSUER/ })
  t.throws(() => loadConfig({ VAULT_AUTH_JWKS_URL: 'https://id/jwks' }), { message: /VAULT_AUTH_ISSUER/ })
  t.throws(
    () => loadConfig({ VAULT_AUTH_ISSUER: 'https://id', VAULT_AUTH_JWKS_URL: 'https://id/jwks', VAULT_AUTH_JWKS_FILE: '/jwks.json' }),
    { message: /not both/ },
  )
  for (const algorithms of ['HS256', 'none', 'RS256,HS512', ',']) {
    t.throws(() => loadConfig({ VAULT_AUTH_ALGORITHMS: algorithms }), { message: /VAULT_AUTH_ALGORITHMS/ }, algorithms)
  }
  t.same(loadConfig({ VAULT_AUTH_ALGORITHMS: 'ES256, EdDSA' }).auth.algorithms, ['ES256', 'EdDSA'])
  t.same(loadConfig({}).auth.issuer, undefined, 'embedded default: the development issuer')
})

t.test('malformed values are refused with the variable named and the value not echoed', async (t) => {
  const secret = randomBytes(32).toString('base64')
  const cases: Array<[string, NodeJS.ProcessEnv]> = [
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['DATABASE_URL', { DATABASE_URL: `mysql://u:${secret}@db/x`, VAULT_LOCAL_ROOT_KEYS: `k=${secret}` }],
    ['VAULT_LOCAL_ROOT_KEYS_FILE', { VAULT_LOCAL_ROOT_KEYS: `k=${secret}`, VAULT_LOCAL_ROOT_KEYS_FILE: '/keys' }],
    ['VAULT_KEY_PROVIDER', { VAULT_KEY_PROVIDER: 'vault' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
  ]
  for (const [variable, env] of cases) {
    try {
      loadConfig(env)
      t.fail(`${variable} accepted`)
    } catch (error) {
      t.type(error, ConfigError)
      t.match((error as Error).message, variable)
      t.notMatch((error as Error).message, secret, `${variable}: value not echoed`)
    }
  }
})

t.test('aws-kms: key ids required, an active one among several, no stray local keys', async (t) => {
  t.throws(() => loadConfig({ VAULT_KEY_PROVIDER: 'aws-kms' }), { message: /VAULT_KMS_KEY_IDS/ })
  t.throws(() => loadConfig({ VAULT_KEY_PROVIDER: 'aws-kms', VAULT_KMS_KEY_IDS: 'alias/a,alias/b' }), {
    message: /VAULT_KMS_ACTIVE_KEY_ID/,
  })
  t.throws(() => loadConfig({ VAULT_KEY_PROVIDER: 'aws-kms', VAULT_KMS_KEY_IDS: 'alias/a', VAULT_KMS_ACTIVE_KEY_ID: 'alias/z' }), {
    message: /VAULT_KMS_ACTIVE_KEY_ID/,
  })
  t.throws(
    () =>
      loadConfig({
        VAULT_KEY_PROVIDER: 'aws-kms',
        VAULT_KMS_KEY_IDS: 'alias/a',
        VAULT_LOCAL_ROOT_KEYS: `k=${randomBytes(32).toString('base64')}`,
      }),
    { message: /remove them/ },
  )
  t.throws(() => loadConfig({ VAULT_KEY_PROVIDER: 'aws-kms', VAULT_KMS_KEY_IDS: 'alias/a', VAULT_KMS_REGION: 'moon' }), {
    message: /VAULT_KMS_REGION/,
  })
  const config = loadConfig({
    VAULT_KEY_PROVIDER: 'aws-kms',
    VAULT_KMS_KEY_IDS: 'alias/a, arn:aws:kms:eu-west-1:111122223333:key/1234',
    VAULT_KMS_ACTIVE_KEY_ID: 'alias/a',
    VAULT_KMS_REGION: 'eu-west-1',
  })
  t.same(config.keys.kms, {
    keyIds: ['alias/a', 'arn:aws:kms:eu-west-1:111122223333:key/1234'],
    activeKeyId: 'alias/a',
    region: 'eu-west-1',
    endpoint: undefined,
    timeoutMs: 2000,
    maxAttempts: 3,
  })
  const db = { DATABASE_URL: 'postgres://v@db/v', VAULT_AUTH_ISSUER: 'https://id', VAULT_AUTH_JWKS_URL: 'https://id/jwks' }
  t.equal(
    loadConfig({ ...db, VAULT_KEY_PROVIDER: 'aws-kms', VAULT_KMS_KEY_IDS: 'alias/a' }).keys.provider,
    'aws-kms',
    'KMS needs no local key',
  )
})

t.test('an empty variable counts as unset', async (t) => {
  const config = loadConfig({ PORT: '', VAULT_AUTH_JWKS_URL: '', VAULT_AUTH_ISSUER: '' })
  t.equal(config.port, 8080)
  t.equal(config.auth.issuer, undefined)
})

t.test('refresh settings: defaults fail closed, plain http only when spelled out', async (t) => {
  t.same(loadConfig({}).refresh, { marginMs: 60_000, timeoutMs: 10_000, lockTimeoutMs: 15_000, readWaitMs: 2000 })
  t.same(loadConfig({}).egress, { allow: [], allowInsecureHttp: false }, 'no egress exception by default')
  t.equal(loadConfig({ VAULT_REFRESH_ALLOW_INSECURE_HTTP: 'true' }).egress.allowInsecureHttp, true)
  t.same(loadConfig({ VAULT_EGRESS_ALLOW: '127.0.0.1, 10.1.0.0/16,idp.internal.example' }).egress.allow, [
    '127.0.0.1',
    '10.1.0.0/16',
    'idp.internal.example',
  ])
  for (const value of ['https://idp.example', '10.0.0.0/99', 'a b']) {
    t.throws(() => loadConfig({ VAULT_EGRESS_ALLOW: value }), { message: /VAULT_EGRESS_ALLOW/ }, value)
  }
  for (const value of ['yes', '1', 'TRUE']) {
    t.throws(() => loadConfig({ VAULT_REFRESH_ALLOW_INSECURE_HTTP: value }), { message: /VAULT_REFRESH_ALLOW_INSECURE_HTTP/ }, value)
  }
  t.throws(() => loadConfig({ VAULT_REFRESH_TIMEOUT_MS: '10' }), { message: /VAULT_REFRESH_TIMEOUT_MS/ })
  t.equal(loadConfig({ VAULT_AUTH_VERIFIED_TOKEN_CACHE_SECONDS: '0' }).auth.verifiedTokenCacheMs, 0)
})

t.test('a misspelled VAULT_ setting is refused, naming the one it meant; it never falls back in silence', async (t) => {
  for (const [typo, meant] of [
    ['VAULT_KEY_PROVIDR', 'VAULT_KEY_PROVIDER'],
    ['VAULT_EGRESS_ALLOWED', 'VAULT_EGRESS_ALLOW'],
    ['VAULT_REFRESH_MARGIN_SECS', 'VAULT_REFRESH_MARGIN_SECONDS'],
  ] as const) {
    const error = (() => {
      try {
        loadConfig({ [typo]: 'aws-kms' })
      } catch (caught) {
        return caught
      }
    })()
    t.ok(error instanceof ConfigError, typo)
    t.match((error as Error).message, `${typo} is not a setting: did you mean ${meant}?`)
    t.notMatch((error as Error).message, 'aws-kms', 'the value is not echoed')
  }
})

t.test("another tool's VAULT_ variables are ignored and reported with the closest setting", async (t) => {
  const config = loadConfig({ VAULT_ADDR: 'https://vault.example:8200', VAULT_CLIENT_ID: 'app-1', HOME: '/root' })
  t.same(
    config.ignoredVariables.map((variable) => variable.name),
    ['VAULT_ADDR', 'VAULT_CLIENT_ID'],
  )
  t.ok(config.ignoredVariables.every((variable) => variable.closest.startsWith('VAULT_') || variable.closest === 'DATABASE_URL'))
  t.same(loadConfig({}).ignoredVariables, [])
})
