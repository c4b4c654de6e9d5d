import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { type ErrorCode, VaultError, type ValidationIssue } from '../errors.ts'
import type { ErrorResponse } from './error-response.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The error code this request ended with, for the audit trail and metrics; null on success. */
    errorCode: string | null
  }
}

/** Fastify's own request errors, by their code, mapped to ours. Their messages are not passed on. */
const fastifyErrors: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'request.invalid_json', message: 'The request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'request.invalid_json', message: 'The request body is empty but declared as JSON' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'request.body_too_large', message: 'The request body is larger than allowed' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'request.unsupported_media_type',
    message: 'The request body must be application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'request.invalid', message: 'The Content-Length header does not match the body' },
}

function validationIssues(error: FastifyError): ValidationIssue[] {
  if (!hasZodFastifySchemaValidationErrors(error)) return []
  const context = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'request')
  return error.validation.map((issue) => ({
    path: [context, ...issue.instancePath.split('/').filter((part) => part !== '')].join('.'),
    // zod's messages name expectations ("expected string"), never the received value.
    message: issue.message ?? 'is not valid',
  }))
}

function toVaultError(error: FastifyError): VaultError {
  if (error instanceof VaultError) return error
  if (error.validation !== undefined) {
    return new VaultError('request.invalid', 'The request is not valid', { issues: validationIssues(error) })
  }
  // JSON.parse's message quotes the input, which may hold a token: never use it.
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return new VaultError('request.invalid_json', 'The request body is not valid JSON')
  }
  const known = error.code === undefined ? undefined : fastifyErrors[error.code]
  if (known !== undefined) return new VaultError(known.code, known.message)
  if (error.statusCode === 404) return new VaultError('route.not_found', 'No such route')
  return new VaultError('internal', 'Internal error')
}

export function sendError(reply: FastifyReply, request: FastifyRequest, error: VaultError): FastifyReply {
  request.errorCode = error.code
  const body: ErrorResponse = { code: error.code, message: error.message, request_id: request.id }
  if (error.issues !== undefined) body.issues = error.issues
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds))
  if (error.wwwAuthenticate !== undefined) reply.header('www-authenticate', error.wwwAuthenticate)
  // 5xx messages are generic on the wire; the specific code stays (it is not secret).
  if (error.statusCode >= 500 && error.code === 'internal') body.message = 'Internal error'
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send(body)
}

export function installErrorHandling(app: FastifyInstance): void {
  app.decorateRequest('errorCode', null)
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const vaultError = toVaultError(error)
    if (vaultError.statusCode >= 500) {
      // The cause is logged by type and code only: driver messages can carry row values.
      request.log.error({ code: vaultError.code, cause: describeCause(error) }, 'request failed')
    } else {
      request.log.info({ code: vaultError.code }, 'request refused')
    }
    return sendError(reply, request, vaultError)
  })
  app.setNotFoundHandler((request, reply) => sendError(reply, request, new VaultError('route.not_found', 'No such route')))
}

function describeCause(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error }
  const { code, routine } = error as { code?: unknown; routine?: unknown }
  return {
    type: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof routine === 'string' ? { routine } : {}),
    stack: error.stack?.split('\n').slice(1, 6).join('\n'),
  }
}
