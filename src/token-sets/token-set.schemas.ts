import { z } from 'zod'
import { tokenResponseSchema } from '../oauth/token-response.ts'
import { connectorTypeSchema } from '../schemas/ids.ts'
import { clearText, clearUrl } from '../schemas/text.ts'

/**
 * Wire schemas of the token-set API. Routes validate with them and openapi.yaml is generated from them, so
 * the contract and the code cannot drift apart.
 */
export const pushTokenSetBodySchema = z
  .strictObject({
    target: clearText(1, 128).optional().describe('Social connectors: the provider, e.g. "github". Required for social.'),
    issuer: clearUrl(2048).optional().describe('Enterprise SSO connectors: the OIDC issuer. Required for enterprise_sso.'),
    provider_subject: clearText(1, 255).optional().describe("The user's id at the provider"),
    authorization_server: clearUrl(2048)
      .optional()
      .describe(
        "Where the token response came from: the connector's token endpoint (or, for a connector refreshed through discovery, its issuer), " +
          'exactly as its refresh settings name it. The refresh token is bound to it and only ever sent there. Without it, it is bound to ' +
          "what the connector's refresh settings name at the time of the push.",
      ),
    issued_at: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('When the identity core received the token response; defaults to now. An older push never overwrites a newer one.'),
    token_response: tokenResponseSchema,
  })
  .meta({
    // What /docs sends for "Try it out": GitHub's answer to a code exchange (issued_at defaults to now).
    example: {
      target: 'github',
      authorization_server: 'https://github.com/login/oauth/access_token',
      token_response: {
        access_token: 'gho_example',
        token_type: 'bearer',
        scope: 'read:user,repo',
        expires_in: 28800,
        refresh_token: 'ghr_example',
      },
    },
  })

const connectionSchema = z.object({
  id: z.uuid(),
  tenant_id: z.string(),
  user_id: z.string(),
  connector_type: connectorTypeSchema,
  connector_id: z.string(),
  target: z.string().nullable(),
  issuer: z.string().nullable(),
  provider_subject: z.string().nullable(),
  token_type: z.string(),
  scope: z.string().describe('Granted scopes, space-separated'),
  expires_at: z.string().nullable().describe('When the access token expires (RFC 3339), null when the provider said nothing'),
  has_refresh_token: z.boolean(),
  has_id_token: z.boolean(),
  state: z.enum(['active', 'reauth_required']),
  health: z
    .enum(['active', 'refresh_failing', 'reauth_required'])
    .describe(
      'active; refresh_failing: refreshes are failing in a row (provider down, throttling, misconfigured), the stored token is served while ' +
        'valid and the vault retries with backoff; reauth_required: the grant is gone or its refresh token expired: the user must connect again',
    ),
  refresh_token_expires_at: z
    .string()
    .nullable()
    .describe('When the refresh token expires (RFC 3339), when the provider said (refresh_token_expires_in); null otherwise'),
  refresh_failure: z
    .object({
      count: z.number().int().min(1).describe('Failed refresh attempts in a row'),
      since: z.string().describe('The first of them (RFC 3339)'),
      last_at: z.string().describe('The last of them (RFC 3339)'),
      last_error: z.string().describe("The last one's error code, e.g. provider.unavailable"),
      next_attempt_at: z.string().nullable().describe("No refresh is attempted before this (backoff, the provider's Retry-After)"),
    })
    .nullable()
    .describe('Set while health is refresh_failing'),
  key_version: z.number().int(),
  issued_at: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
})

z.globalRegistry.add(connectionSchema, { id: 'Connection' })

export const pushTokenSetResponseSchema = z.object({
  result: z
    .enum(['created', 'updated', 'ignored_stale'])
    .describe('ignored_stale: the stored token set was issued later than this push, which changed nothing'),
  connection: connectionSchema,
})

export const accessTokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.string(),
  scope: z.string(),
  expires_in: z.number().int().nullable().describe('Seconds until expiry; null when the provider gave no expiry'),
})

/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/

export const readAccessTokenQuerySchema = z.strictObject({
  required_scopes: z
    .string()
    .max(4096)
    .transform((value) => value.split(/[\s,]+/).filter((scope) => scope !== ''))
    .pipe(z.array(z.string().regex(SCOPE_TOKEN, 'not a valid scope token')).max(50))
    .optional()
    .describe('Scopes the app needs, space- or comma-separated; if the user granted fewer, the answer is token_set.insufficient_scope'),
})

export const connectionListSchema = z.object({ connections: z.array(connectionSchema) })
export const deletedCountSchema = z.object({
  deleted: z.number().int().min(0),
  revocations_scheduled: z
    .number()
    .int()
    .min(0)
    .describe(
      'Refresh tokens queued for revocation at the provider (connection.revoked says how each went); the delete never waits for it',
    ),
})

export type PushTokenSetBody = z.infer<typeof pushTokenSetBodySchema>
export type Connection = z.infer<typeof connectionSchema>
export type AccessTokenResponse = z.infer<typeof accessTokenResponseSchema>
