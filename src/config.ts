import { z } from 'zod'

/**
 * Every environment variable the service reads, in one schema. Only the entry points call `loadConfig`;
 * everything else receives the frozen result. Secrets have no defaults.
 */
const integer = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback)

export const configSchema = z
  .object({
    PORT: integer(8080, 0, 65535),
    HOST: z.string().min(1).default('127.0.0.1'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    DATABASE_POOL_MAX: integer(10, 1, 1000),
    VAULT_DATA_DIR: z.string().min(1).default('./.data'),
    VAULT_KEY_PROVIDER: z.enum(['local']).default('local'),
    VAULT_LOCAL_ROOT_KEYS: z.string().min(1).optional(),
    VAULT_LOCAL_ROOT_KEYS_FILE: z.string().min(1).optional(),
    VAULT_ACTIVE_ROOT_KEY_ID: z.string().min(1).optional(),
    VAULT_DATA_KEY_CACHE_TTL_SECONDS: integer(300, 1, 86_400),
    VAULT_DATA_KEY_CACHE_MAX_ENTRIES: integer(10_000, 1, 10_000_000),
    VAULT_BODY_LIMIT_BYTES: integer(65_536, 1024, 10_485_760),
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

export type ConfigEnv = z.infer<typeof configSchema>

export interface Config {
  readonly port: number
  readonly host: string
  readonly logLevel: ConfigEnv['LOG_LEVEL']
  readonly database:
    | { readonly kind: 'postgres'; readonly url: string; readonly poolMax: number }
    | { readonly kind: 'pglite'; readonly dataDir: string }
  readonly dataDir: string
  readonly keys: {
    readonly provider: 'local'
    readonly localRootKeys: string | undefined
    readonly localRootKeysFile: string | undefined
    readonly activeRootKeyId: string | undefined
  }
  readonly dataKeyCache: { readonly ttlMs: number; readonly maxEntries: number }
  readonly bodyLimitBytes: number
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = configSchema.safeParse(env)
  if (!parsed.success) {
    // Name the variable and the rule; never echo the value (it may be a key).
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(config)'}: ${issue.message}`)
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`)
  }
  const e = parsed.data
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    database:
      e.DATABASE_URL === undefined
        ? { kind: 'pglite' as const, dataDir: `${e.VAULT_DATA_DIR}/pglite` }
        : { kind: 'postgres' as const, url: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX },
    dataDir: e.VAULT_DATA_DIR,
    keys: {
      provider: e.VAULT_KEY_PROVIDER,
      localRootKeys: e.VAULT_LOCAL_ROOT_KEYS,
      localRootKeysFile: e.VAULT_LOCAL_ROOT_KEYS_FILE,
      activeRootKeyId: e.VAULT_ACTIVE_ROOT_KEY_ID,
    },
    dataKeyCache: { ttlMs: e.VAULT_DATA_KEY_CACHE_TTL_SECONDS * 1000, maxEntries: e.VAULT_DATA_KEY_CACHE_MAX_ENTRIES },
    bodyLimitBytes: e.VAULT_BODY_LIMIT_BYTES,
  })
}
