import { z } from 'zod'
import { connectorParamsSchema } from '../schemas/ids.ts'
import { clearText, clearUrl } from '../schemas/text.ts'

export { connectorParamsSchema }

/** Parameter names a connector may add to the refresh request; the grant's own parameters are not among them. */
const RESERVED_PARAMS = new Set(['grant_type', 'refresh_token', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type'])
const PARAM_NAME = /^[A-Za-z0-9_.-]{1,64}$/

const clientAuthMethodSchema = z
  .enum(['client_secret_basic', 'client_secret_post', 'none'])
  .describe('How the vault authenticates to the token endpoint (RFC 6749 §2.3.1); none for public clients')

/** The defaults a connector's refresh policy starts from; null: the service's setting (or, for keep-alive, off). */
export const DEFAULT_REFRESH_POLICY = {
  min_interval_seconds: 0,
  backoff_max_seconds: 300,
  refresh_margin_seconds: null,
  read_wait_ms: null,
  keep_alive_idle_seconds: null,
} as const

const refreshPolicySchema = z.strictObject({
  min_interval_seconds: z
    .number()
    .int()
    .min(0)
    .max(86_400)
    .optional()
    .describe(
      'Refreshes of one token set at least this far apart, while its token is still valid (providers that refuse early refresh); default 0',
    ),
  backoff_max_seconds: z
    .number()
    .int()
    .min(5)
    .max(86_400)
    .optional()
    .describe(
      "The longest wait between failed refreshes of one set (from 5 s, doubling); the provider's Retry-After still counts; default 300",
    ),
  refresh_margin_seconds: z
    .number()
    .int()
    .min(0)
    .max(3600)
    .optional()
    .describe(
      "A read refreshes a token that expires within this margin (or is past half its lifetime, if that is shorter); default: the service's VAULT_REFRESH_MARGIN_SECONDS",
    ),
  read_wait_ms: z
    .number()
    .int()
    .min(0)
    .max(30_000)
    .optional()
    .describe(
      "How long a read of a still-valid token waits for its refresh before it is served as stored; default: the service's VAULT_REFRESH_READ_WAIT_MS",
    ),
  keep_alive_idle_seconds: z
    .number()
    .int()
    .min(3600)
    .max(31_536_000)
    .optional()
    .describe(
      'Keep-alive: a token set not refreshed or pushed for this long is refreshed in the background (providers whose refresh tokens die unused); default off',
    ),
})

export const putRefreshSettingsBodySchema = z
  .strictObject({
    token_endpoint: clearUrl(2048).optional().describe("The provider's token endpoint; give this or issuer, not both"),
    issuer: clearUrl(2048)
      .optional()
      .describe('OIDC issuer, to find the token endpoint by OpenID Connect Discovery; give this or token_endpoint, not both'),
    client_id: clearText(1, 512),
    client_secret: z.string().min(1).max(4096).optional().describe('Stored sealed; never returned. Required unless the method is none.'),
    client_auth_method: clientAuthMethodSchema.default('client_secret_basic'),
    extra_params: z
      .record(z.string().regex(PARAM_NAME), clearText(0, 1024))
      .refine((params) => Object.keys(params).length <= 20, 'at most 20 parameters')
      .refine(
        (params) => Object.keys(params).every((name) => !RESERVED_PARAMS.has(name)),
        'grant and client parameters are set by the vault',
      )
      .default({})
      .describe('Extra form parameters sent with every refresh request (e.g. a resource indicator); not secret'),
    refresh_policy: refreshPolicySchema.default({}).describe("When the vault refreshes this connector's token sets"),
    revocation_endpoint: clearUrl(2048)
      .optional()
      .describe(
        "The provider's RFC 7009 revocation endpoint; without it, the issuer's discovery document names it, if it has one (GitHub has none)",
      ),
    revoke_tokens: z
      .boolean()
      .default(true)
      .describe('Revoke a refresh token at the provider when its connection is deleted or a push replaces it; default true'),
  })
  .superRefine((body, ctx) => {
    if ((body.token_endpoint === undefined) === (body.issuer === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [body.token_endpoint === undefined ? 'token_endpoint' : 'issuer'],
        message:
          body.token_endpoint === undefined ? 'give token_endpoint, or issuer to discover it' : 'give token_endpoint or issuer, not both',
      })
    }
    if ((body.client_auth_method === 'none') !== (body.client_secret === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['client_secret'],
        message:
          body.client_auth_method === 'none' ? 'must be absent when client_auth_method is none' : 'required for this client_auth_method',
      })
    }
  })
  .meta({
    example: {
      token_endpoint: 'https://github.com/login/oauth/access_token',
      client_id: 'Iv1.8a61f9b3a7aba766',
      client_secret: 'example-client-secret',
    },
  })

export const refreshSettingsSchema = z.object({
  tenant_id: z.string(),
  connector_type: z.enum(['social', 'enterprise_sso']),
  connector_id: z.string(),
  token_endpoint: z.string().nullable(),
  issuer: z.string().nullable(),
  client_id: z.string(),
  client_auth_method: clientAuthMethodSchema,
  has_client_secret: z.boolean(),
  extra_params: z.record(z.string(), z.string()),
  refresh_policy: z.object({
    min_interval_seconds: z.number().int(),
    backoff_max_seconds: z.number().int(),
    refresh_margin_seconds: z.number().int().nullable(),
    read_wait_ms: z.number().int().nullable(),
    keep_alive_idle_seconds: z.number().int().nullable(),
  }),
  revocation_endpoint: z.string().nullable(),
  revoke_tokens: z.boolean(),
  key_version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
})

export const deletedConnectorSchema = z.object({
  token_sets_deleted: z.number().int().min(0),
  refresh_settings_deleted: z.boolean(),
  revocations_scheduled: z
    .number()
    .int()
    .min(0)
    .describe('Refresh tokens queued for revocation at the provider (connection.revoked says how each went)'),
})

export type PutRefreshSettingsBody = z.infer<typeof putRefreshSettingsBodySchema>
export type RefreshSettings = z.infer<typeof refreshSettingsSchema>
