import { z } from 'zod'

/**
 * Every environment variable the service reads, in one schema. Only the entry points call `loadConfig`;
 * everything else receives the frozen result. Secrets have no defaults.
 */
function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const

/**
 * Defaults that buildApp also applies when its caller leaves an option out: stated once, here, for both.
 */
export const SERVICE_DEFAULTS = {
  refreshMarginSeconds: 60,
  refreshTimeoutMs: 10_000,
  refreshLockTimeoutMs: 15_000,
  refreshReadWaitMs: 2000,
  keepAliveIntervalSeconds: 300,
  keepAliveBatch: 50,
  outboxPollMs: 1000,
  outboxBatch: 20,
  outboxTimeoutMs: 10_000,
  outboxRetryHours: 24,
  outboxRetentionDays: 7,
  auditSealIntervalSeconds: 60,
  auditSealBatch: 500,
  maxEventLoopDelayMs: 1000,
  // Off by default: a busy loop is not an overloaded one. Event-loop delay says requests are waiting.
  maxEventLoopUtilization: 0,
  maxHeapUsedBytes: 0,
  overloadRetryAfterSeconds: 2,
  requestTimeoutMs: 30_000,
} as const

const integer = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback)

/** The variables that say where the database is: all that `migrate` and `db bootstrap` read. */
const databaseFields = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_POOL_MAX: integer(10, 1, 1000),
  // LISTEN needs a session of its own: behind a pooler in transaction mode, point this at the server directly.
  DATABASE_LISTEN_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  VAULT_DATA_DIR: z.string().min(1).default('./.data'),
}

export const configSchema = z
  .object({
    ...databaseFields,
    PORT: integer(8080, 0, 65535),
    HOST: z.string().min(1).default('127.0.0.1'),
    VAULT_KEY_PROVIDER: z.enum(['local', 'aws-kms']).default('local'),
    VAULT_KMS_KEY_IDS: z.string().min(1).optional(),
    VAULT_KMS_ACTIVE_KEY_ID: z.string().min(1).optional(),
    VAULT_KMS_REGION: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
      .optional(),
    VAULT_KMS_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    VAULT_KMS_TIMEOUT_MS: integer(2000, 100, 60_000),
    VAULT_KMS_MAX_ATTEMPTS: integer(3, 1, 10),
    VAULT_LOCAL_ROOT_KEYS: z.string().min(1).optional(),
    VAULT_LOCAL_ROOT_KEYS_FILE: z.string().min(1).optional(),
    VAULT_ACTIVE_ROOT_KEY_ID: z.string().min(1).optional(),
    VAULT_DATA_KEY_CACHE_TTL_SECONDS: integer(300, 1, 86_400),
    VAULT_DATA_KEY_CACHE_MAX_ENTRIES: integer(10_000, 1, 10_000_000),
    // Enterprise ID tokens carry groups claims of tens to hundreds of KiB: the default fits one of 600 KiB.
    VAULT_BODY_LIMIT_BYTES: integer(1_048_576, 1024, 10_485_760),
    VAULT_MAX_EVENT_LOOP_DELAY_MS: integer(SERVICE_DEFAULTS.maxEventLoopDelayMs, 0, 60_000),
    VAULT_MAX_EVENT_LOOP_UTILIZATION: z.coerce.number().min(0).max(1).default(SERVICE_DEFAULTS.maxEventLoopUtilization),
    VAULT_MAX_HEAP_USED_BYTES: integer(SERVICE_DEFAULTS.maxHeapUsedBytes, 0, 2 ** 40),
    VAULT_OVERLOAD_RETRY_AFTER_SECONDS: integer(SERVICE_DEFAULTS.overloadRetryAfterSeconds, 1, 600),
    VAULT_REQUEST_TIMEOUT_MS: integer(SERVICE_DEFAULTS.requestTimeoutMs, 1000, 600_000),
    VAULT_SHUTDOWN_DEADLINE_MS: integer(10_000, 0, 600_000),
    VAULT_AUTH_ISSUER: z.string().min(1).optional(),
    VAULT_AUTH_AUDIENCE: z.string().min(1).default('secret-vault'),
    VAULT_AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
    VAULT_AUTH_JWKS_FILE: z.string().min(1).optional(),
    // Asymmetric algorithms only: a shared HMAC secret would let the vault mint its own callers' tokens.
    VAULT_AUTH_ALGORITHMS: z
      .string()
      .default('RS256,PS256,ES256,EdDSA')
      .transform((list) => list.split(',').map((alg) => alg.trim()))
      .pipe(z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1)),
    VAULT_AUTH_CLOCK_TOLERANCE_SECONDS: integer(30, 0, 300),
    VAULT_AUTH_MAX_TOKEN_LIFETIME_SECONDS: integer(86_400, 60, 31_536_000),
    // Only "true" turns it on (RFC 9068 access tokens); off by default because not every issuer sets typ.
    VAULT_AUTH_REQUIRE_AT_JWT: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true'),
    VAULT_AUTH_TENANT_CLAIM: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_:.-]*$/)
      .default('tenant_ids'),
    VAULT_AUTH_JWKS_COOLDOWN_SECONDS: integer(30, 0, 3600),
    VAULT_AUTH_VERIFIED_TOKEN_CACHE_SECONDS: integer(60, 0, 3600),
    VAULT_REFRESH_MARGIN_SECONDS: integer(SERVICE_DEFAULTS.refreshMarginSeconds, 0, 3600),
    VAULT_REFRESH_TIMEOUT_MS: integer(SERVICE_DEFAULTS.refreshTimeoutMs, 100, 120_000),
    VAULT_REFRESH_LOCK_TIMEOUT_MS: integer(SERVICE_DEFAULTS.refreshLockTimeoutMs, 100, 300_000),
    VAULT_REFRESH_READ_WAIT_MS: integer(SERVICE_DEFAULTS.refreshReadWaitMs, 0, 120_000),
    // Keep-alive sweeps find nothing unless a connector's refresh policy names keep_alive_idle_seconds.
    VAULT_KEEP_ALIVE_INTERVAL_SECONDS: integer(SERVICE_DEFAULTS.keepAliveIntervalSeconds, 0, 86_400),
    VAULT_KEEP_ALIVE_BATCH: integer(SERVICE_DEFAULTS.keepAliveBatch, 1, 10_000),
    // The outbox (webhook deliveries, refresh-token revocations): polled by every replica; a job still
    // failing after the retry period is given up.
    VAULT_OUTBOX_POLL_MS: integer(SERVICE_DEFAULTS.outboxPollMs, 0, 60_000),
    VAULT_OUTBOX_BATCH: integer(SERVICE_DEFAULTS.outboxBatch, 1, 1000),
    VAULT_OUTBOX_TIMEOUT_MS: integer(SERVICE_DEFAULTS.outboxTimeoutMs, 100, 60_000),
    VAULT_OUTBOX_RETRY_HOURS: integer(SERVICE_DEFAULTS.outboxRetryHours, 1, 168),
    VAULT_OUTBOX_RETENTION_DAYS: integer(SERVICE_DEFAULTS.outboxRetentionDays, 1, 365),
    // How often every replica seals, per tenant, the audit events recorded since its last digest: an event
    // is tamper-evident from the next round on. 0 never seals (verify then has nothing to check against).
    VAULT_AUDIT_SEAL_INTERVAL_SECONDS: integer(SERVICE_DEFAULTS.auditSealIntervalSeconds, 0, 86_400),
    VAULT_AUDIT_SEAL_BATCH: integer(SERVICE_DEFAULTS.auditSealBatch, 1, 100_000),
    // Only "true" turns it on: a typo must not open plain http for client secrets.
    VAULT_REFRESH_ALLOW_INSECURE_HTTP: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true'),
    // Hosts, addresses and CIDR ranges outbound calls may reach despite the egress policy. Never on by default.
    VAULT_EGRESS_ALLOW: z
      .string()
      .default('')
      .transform(splitList)
      .pipe(
        z.array(
          z.union([
            z.ipv4(),
            z.ipv6(),
            z.cidrv4(),
            z.cidrv6(),
            z
              .string()
              .regex(
                /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/,
                'a host name, an address or a CIDR range',
              ),
          ]),
        ),
      ),
  })
  .refine((env) => !(env.VAULT_LOCAL_ROOT_KEYS !== undefined && env.VAULT_LOCAL_ROOT_KEYS_FILE !== undefined), {
    message: 'set VAULT_LOCAL_ROOT_KEYS or VAULT_LOCAL_ROOT_KEYS_FILE, not both',
    path: ['VAULT_LOCAL_ROOT_KEYS_FILE'],
  })
  .refine(
    (env) =>
      env.VAULT_KEY_PROVIDER !== 'local' ||
      env.DATABASE_URL === undefined ||
      env.VAULT_LOCAL_ROOT_KEYS !== undefined ||
      env.VAULT_LOCAL_ROOT_KEYS_FILE !== undefined,
    {
      message:
        'with DATABASE_URL set, the local key provider needs VAULT_LOCAL_ROOT_KEYS or VAULT_LOCAL_ROOT_KEYS_FILE ' +
        '(a development key is only generated for the embedded database)',
      path: ['VAULT_LOCAL_ROOT_KEYS'],
    },
  )

  .refine((env) => env.VAULT_KEY_PROVIDER !== 'aws-kms' || env.VAULT_KMS_KEY_IDS !== undefined, {
    message: 'the aws-kms key provider needs VAULT_KMS_KEY_IDS (key ids, ARNs or aliases, comma-separated)',
    path: ['VAULT_KMS_KEY_IDS'],
  })
  .refine(
    (env) =>
      env.VAULT_KEY_PROVIDER !== 'aws-kms' || (env.VAULT_LOCAL_ROOT_KEYS === undefined && env.VAULT_LOCAL_ROOT_KEYS_FILE === undefined),
    { message: 'local root keys are set but VAULT_KEY_PROVIDER is aws-kms: remove them', path: ['VAULT_LOCAL_ROOT_KEYS'] },
  )
  .refine(
    (env) => {
      const ids = splitList(env.VAULT_KMS_KEY_IDS)
      return env.VAULT_KMS_ACTIVE_KEY_ID === undefined ? ids.length <= 1 : ids.includes(env.VAULT_KMS_ACTIVE_KEY_ID)
    },
    {
      message: 'set VAULT_KMS_ACTIVE_KEY_ID to one of VAULT_KMS_KEY_IDS (required when there are several)',
      path: ['VAULT_KMS_ACTIVE_KEY_ID'],
    },
  )
  .refine((env) => !(env.VAULT_AUTH_JWKS_URL !== undefined && env.VAULT_AUTH_JWKS_FILE !== undefined), {
    message: 'set VAULT_AUTH_JWKS_URL or VAULT_AUTH_JWKS_FILE, not both',
    path: ['VAULT_AUTH_JWKS_FILE'],
  })
  .refine(
    (env) => (env.VAULT_AUTH_JWKS_URL === undefined && env.VAULT_AUTH_JWKS_FILE === undefined) === (env.VAULT_AUTH_ISSUER === undefined),
    { message: 'VAULT_AUTH_ISSUER and one of VAULT_AUTH_JWKS_URL / VAULT_AUTH_JWKS_FILE go together', path: ['VAULT_AUTH_ISSUER'] },
  )
  .refine((env) => env.DATABASE_URL === undefined || env.VAULT_AUTH_ISSUER !== undefined, {
    message:
      'with DATABASE_URL set, callers must be verified against your identity platform: set VAULT_AUTH_ISSUER and ' +
      'VAULT_AUTH_JWKS_URL (a development signing key is only generated for the embedded database)',
    path: ['VAULT_AUTH_ISSUER'],
  })

export type ConfigEnv = z.infer<typeof configSchema>

export interface Config {
  readonly port: number
  readonly host: string
  readonly logLevel: ConfigEnv['LOG_LEVEL']
  readonly database:
    | { readonly kind: 'postgres'; readonly url: string; readonly poolMax: number; readonly listenUrl: string }
    | { readonly kind: 'pglite'; readonly dataDir: string }
  readonly dataDir: string
  readonly keys: {
    readonly provider: 'local' | 'aws-kms'
    readonly kms: {
      readonly keyIds: readonly string[]
      readonly activeKeyId: string | undefined
      readonly region: string | undefined
      readonly endpoint: string | undefined
      readonly timeoutMs: number
      readonly maxAttempts: number
    }
    readonly localRootKeys: string | undefined
    readonly localRootKeysFile: string | undefined
    readonly activeRootKeyId: string | undefined
  }
  readonly dataKeyCache: { readonly ttlMs: number; readonly maxEntries: number }
  readonly bodyLimitBytes: number
  readonly overload: {
    readonly maxEventLoopDelayMs: number
    readonly maxEventLoopUtilization: number
    readonly maxHeapUsedBytes: number
    readonly retryAfterSeconds: number
    readonly requestTimeoutMs: number
  }
  readonly shutdownDeadlineMs: number
  readonly refresh: {
    readonly marginMs: number
    readonly timeoutMs: number
    readonly lockTimeoutMs: number
    readonly readWaitMs: number
  }
  readonly keepAlive: {
    readonly intervalMs: number
    readonly batch: number
  }
  readonly outbox: {
    readonly pollIntervalMs: number
    readonly batch: number
    readonly timeoutMs: number
    readonly retryPeriodMs: number
    readonly retentionMs: number
  }
  readonly auditSeal: {
    readonly intervalMs: number
    readonly batch: number
  }
  readonly egress: {
    readonly allow: readonly string[]
    readonly allowInsecureHttp: boolean
  }
  readonly auth: {
    /** External issuer; undefined means the embedded development issuer with a generated signing key. */
    readonly issuer: string | undefined
    readonly audience: string
    readonly jwksUrl: string | undefined
    readonly jwksFile: string | undefined
    readonly algorithms: readonly string[]
    readonly clockToleranceSeconds: number
    readonly maxTokenLifetimeSeconds: number
    readonly requireAccessTokenType: boolean
    readonly tenantClaim: string
    readonly jwksCooldownMs: number
    readonly verifiedTokenCacheMs: number
  }
  /** VAULT_* variables that are no setting and no near-miss of one (another tool's): reported at start. */
  readonly ignoredVariables: readonly { readonly name: string; readonly closest: string }[]
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

function parse<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  // An empty variable (VAR= in a shell, value: "" in a manifest) means unset.
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')))
  if (!parsed.success) {
    // Name the variable and the rule; never echo the value (it may be a key).
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(config)'}: ${issue.message}`)
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`)
  }
  return parsed.data
}

export type DatabaseConfig = Pick<Config, 'logLevel' | 'database' | 'dataDir'>

function databaseConfigOf(e: z.infer<z.ZodObject<typeof databaseFields>>): DatabaseConfig {
  return {
    logLevel: e.LOG_LEVEL,
    database:
      e.DATABASE_URL === undefined
        ? { kind: 'pglite' as const, dataDir: `${e.VAULT_DATA_DIR}/pglite` }
        : {
            kind: 'postgres' as const,
            url: e.DATABASE_URL,
            poolMax: e.DATABASE_POOL_MAX,
            listenUrl: e.DATABASE_LISTEN_URL ?? e.DATABASE_URL,
          },
    dataDir: e.VAULT_DATA_DIR,
  }
}

/**
 * Only where the database is: what migrations and the roles' bootstrap need. They never touch a key or a
 * caller, so they need no key provider and no issuer (a migration job holds no root-key access).
 */
export function loadDatabaseConfig(env: NodeJS.ProcessEnv): DatabaseConfig {
  return Object.freeze(databaseConfigOf(parse(z.object(databaseFields), env)))
}

/** The distance between two names: insertions, deletions and substitutions (Levenshtein). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

const KNOWN_VARIABLES = Object.keys(configSchema.shape)
/** A name this close to a known one is a typo of it, and the setting it meant would silently fall back. */
const TYPO_DISTANCE = 3

/** The known variable closest to `name`, and how far it is. */
function closestVariable(name: string): { name: string; distance: number } {
  let best = { name: KNOWN_VARIABLES[0]!, distance: Number.POSITIVE_INFINITY }
  for (const known of KNOWN_VARIABLES) {
    const distance = editDistance(name, known)
    if (distance < best.distance) best = { name: known, distance }
  }
  return best
}

/**
 * `VAULT_*` variables that are not settings. One within a few letters of a setting is refused (a misspelled
 * VAULT_KEY_PROVIDER would otherwise leave the local provider in charge, in silence); others — another
 * tool's, such as HashiCorp Vault's VAULT_ADDR — are returned, each with the closest setting, to be reported.
 */
function unknownVariables(env: NodeJS.ProcessEnv): { name: string; closest: string }[] {
  const unknown = Object.keys(env)
    .filter((name) => name.startsWith('VAULT_') && !KNOWN_VARIABLES.includes(name))
    .sort()
    .map((name) => {
      const closest = closestVariable(name)
      return { name, closest: closest.name, distance: closest.distance }
    })
  const typos = unknown.filter((variable) => variable.distance <= TYPO_DISTANCE)
  if (typos.length > 0) {
    const lines = typos.map((typo) => `  ${typo.name} is not a setting: did you mean ${typo.closest}?`)
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`)
  }
  return unknown.map((variable) => ({ name: variable.name, closest: variable.closest }))
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const e = parse(configSchema, env)
  const ignored = unknownVariables(env)
  return Object.freeze({
    ...databaseConfigOf(e),
    port: e.PORT,
    host: e.HOST,
    keys: {
      provider: e.VAULT_KEY_PROVIDER,
      kms: {
        keyIds: splitList(e.VAULT_KMS_KEY_IDS),
        activeKeyId: e.VAULT_KMS_ACTIVE_KEY_ID ?? splitList(e.VAULT_KMS_KEY_IDS)[0],
        region: e.VAULT_KMS_REGION,
        endpoint: e.VAULT_KMS_ENDPOINT,
        timeoutMs: e.VAULT_KMS_TIMEOUT_MS,
        maxAttempts: e.VAULT_KMS_MAX_ATTEMPTS,
      },
      localRootKeys: e.VAULT_LOCAL_ROOT_KEYS,
      localRootKeysFile: e.VAULT_LOCAL_ROOT_KEYS_FILE,
      activeRootKeyId: e.VAULT_ACTIVE_ROOT_KEY_ID,
    },
    dataKeyCache: { ttlMs: e.VAULT_DATA_KEY_CACHE_TTL_SECONDS * 1000, maxEntries: e.VAULT_DATA_KEY_CACHE_MAX_ENTRIES },
    bodyLimitBytes: e.VAULT_BODY_LIMIT_BYTES,
    overload: {
      maxEventLoopDelayMs: e.VAULT_MAX_EVENT_LOOP_DELAY_MS,
      maxEventLoopUtilization: e.VAULT_MAX_EVENT_LOOP_UTILIZATION,
      maxHeapUsedBytes: e.VAULT_MAX_HEAP_USED_BYTES,
      retryAfterSeconds: e.VAULT_OVERLOAD_RETRY_AFTER_SECONDS,
      requestTimeoutMs: e.VAULT_REQUEST_TIMEOUT_MS,
    },
    shutdownDeadlineMs: e.VAULT_SHUTDOWN_DEADLINE_MS,
    refresh: {
      marginMs: e.VAULT_REFRESH_MARGIN_SECONDS * 1000,
      timeoutMs: e.VAULT_REFRESH_TIMEOUT_MS,
      lockTimeoutMs: e.VAULT_REFRESH_LOCK_TIMEOUT_MS,
      readWaitMs: e.VAULT_REFRESH_READ_WAIT_MS,
    },
    keepAlive: { intervalMs: e.VAULT_KEEP_ALIVE_INTERVAL_SECONDS * 1000, batch: e.VAULT_KEEP_ALIVE_BATCH },
    outbox: {
      pollIntervalMs: e.VAULT_OUTBOX_POLL_MS,
      batch: e.VAULT_OUTBOX_BATCH,
      timeoutMs: e.VAULT_OUTBOX_TIMEOUT_MS,
      retryPeriodMs: e.VAULT_OUTBOX_RETRY_HOURS * 3_600_000,
      retentionMs: e.VAULT_OUTBOX_RETENTION_DAYS * 86_400_000,
    },
    auditSeal: { intervalMs: e.VAULT_AUDIT_SEAL_INTERVAL_SECONDS * 1000, batch: e.VAULT_AUDIT_SEAL_BATCH },
    egress: { allow: e.VAULT_EGRESS_ALLOW, allowInsecureHttp: e.VAULT_REFRESH_ALLOW_INSECURE_HTTP },
    auth: {
      issuer: e.VAULT_AUTH_ISSUER,
      audience: e.VAULT_AUTH_AUDIENCE,
      jwksUrl: e.VAULT_AUTH_JWKS_URL,
      jwksFile: e.VAULT_AUTH_JWKS_FILE,
      algorithms: e.VAULT_AUTH_ALGORITHMS,
      clockToleranceSeconds: e.VAULT_AUTH_CLOCK_TOLERANCE_SECONDS,
      maxTokenLifetimeSeconds: e.VAULT_AUTH_MAX_TOKEN_LIFETIME_SECONDS,
      requireAccessTokenType: e.VAULT_AUTH_REQUIRE_AT_JWT,
      tenantClaim: e.VAULT_AUTH_TENANT_CLAIM,
      jwksCooldownMs: e.VAULT_AUTH_JWKS_COOLDOWN_SECONDS * 1000,
      verifiedTokenCacheMs: e.VAULT_AUTH_VERIFIED_TOKEN_CACHE_SECONDS * 1000,
    },
    ignoredVariables: ignored,
  })
}
