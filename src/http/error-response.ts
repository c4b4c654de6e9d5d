import { z } from 'zod'
import { ERROR_CODES, ERROR_DESCRIPTIONS, type ErrorCode } from '../errors.ts'

const codeDescription = [
  'Stable, machine-readable error code:',
  '',
  ...ERROR_CODES.map((code) => `- \`${code}\` — ${ERROR_DESCRIPTIONS[code]}`),
].join('\n')

/** Registered by id, so openapi.yaml states the codes and their meanings once and refers to them. */
const errorCodeSchema = z.enum(ERROR_CODES).describe(codeDescription)
z.globalRegistry.add(errorCodeSchema, { id: 'ErrorCode' })

/** Errors are RFC 9457 problem details, with the vault's code, request id and issues as extension members. */
const errorResponseSchema = z
  .object({
    type: z.string().describe('The kind of problem, one per code: urn:secret-vault:error:<code>'),
    title: z.string().describe('What the code means; the same for every occurrence of it'),
    status: z.number().int().min(400).max(599).describe('The HTTP status, repeated'),
    detail: z.string().describe('What happened this time, in words; never contains secret material'),
    instance: z.string().describe('This occurrence: urn:uuid:<request_id>'),
    code: errorCodeSchema,
    request_id: z.string().describe("The vault's id of the request, also in x-request-id"),
    issues: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('For request.invalid: which inputs were wrong and why'),
  })
  .describe('Problem details (RFC 9457), served as application/problem+json')
z.globalRegistry.add(errorResponseSchema, { id: 'Problem' })

export type ErrorResponse = z.infer<typeof errorResponseSchema>

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

/** The one shape of every error the vault answers, whoever answers it (a route, the server, the audit hook). */
export function problemDetails(
  error: { code: ErrorCode; message: string; statusCode: number; issues?: readonly { path: string; message: string }[] | undefined },
  requestId: string,
): ErrorResponse {
  const body: ErrorResponse = {
    type: `urn:secret-vault:error:${error.code}`,
    title: ERROR_DESCRIPTIONS[error.code],
    status: error.statusCode,
    detail: error.message,
    instance: `urn:uuid:${requestId}`,
    code: error.code,
    request_id: requestId,
  }
  if (error.issues !== undefined) body.issues = [...error.issues]
  return body
}

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
  422: 'The code was not accepted (mfa.code_invalid)',
  429: "The user's MFA is locked; retry after Retry-After (mfa.locked)",
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
