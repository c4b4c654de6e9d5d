import { z } from 'zod'
import { ERROR_CODES, ERROR_DESCRIPTIONS } from '../errors.ts'

const codeDescription = [
  'Stable, machine-readable error code:',
  '',
  ...ERROR_CODES.map((code) => `- \`${code}\` — ${ERROR_DESCRIPTIONS[code]}`),
].join('\n')

/** Registered by id, so openapi.yaml states the codes and their meanings once and refers to them. */
const errorCodeSchema = z.enum(ERROR_CODES).describe(codeDescription)
z.globalRegistry.add(errorCodeSchema, { id: 'ErrorCode' })

const errorResponseSchema = z.object({
  code: errorCodeSchema,
  message: z.string().describe('Human-readable explanation; never contains secret material'),
  request_id: z.string(),
  issues: z
    .array(z.object({ path: z.string(), message: z.string() }))
    .optional()
    .describe('For request.invalid: which inputs were wrong and why'),
})

export type ErrorResponse = z.infer<typeof errorResponseSchema>

const STATUS_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (request.invalid, request.invalid_json)',
  401: 'No valid access token (auth.missing_token, auth.invalid_token)',
  403: 'The token lacks the scope or the tenant (auth.insufficient_scope, auth.tenant_forbidden)',
  404: 'Not found',
  408: 'The request did not arrive in time (request.timeout)',
  409: 'The user must act: reconnect the account or grant more scopes',
  413: 'Body too large (request.body_too_large)',
  414: 'A path segment is too long (request.uri_too_long)',
  415: 'Body is not JSON (request.unsupported_media_type)',
  431: 'Headers too large (request.headers_too_large)',
  500: 'Internal error (crypto.integrity, key.*, internal)',
  502: 'The provider refused the refresh (provider.refresh_rejected)',
  503: 'Retry after Retry-After (service.unavailable, key.unavailable, provider.unavailable)',
}

/** Declares the error responses a route can give, for its schema and so for openapi.yaml. */
export function errorResponses(...statuses: number[]): Record<number, typeof errorResponseSchema> {
  // Every authenticated route can be shed or find its dependencies down, and any request can arrive too
  // slowly, with an over-long path segment or with headers the server does not take.
  const all = [...new Set([...statuses, 408, 414, 431, 500, 503])].sort((a, b) => a - b)
  return Object.fromEntries(all.map((status) => [status, errorResponseSchema.describe(STATUS_DESCRIPTIONS[status] ?? 'Error')]))
}
