import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { type ErrorCode, type ValidationIssue, VaultError } from '../errors.ts'
import { PROBLEM_CONTENT_TYPE, problemDetails } from './error-response.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The error code this request ended with, for the audit trail and metrics; null on success. */
    errorCode: string | null
  }
}

/** Headers every answer carries, whoever sends it: the router, a hook, the HTTP server's own refusals. */
export const SECURITY_HEADERS = {
  // Answers may carry tokens or secret metadata: no cache anywhere may keep them (RFC 6749 §5.1).
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
} as const

/** Fastify's own request errors, by their code, mapped to ours. Their messages are not passed on. */
const fastifyErrors: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'request.invalid_json', message: 'The request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'request.invalid_json', message: 'The request body is empty but declared as JSON' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'request.body_too_large', message: 'The request body is larger than allowed' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'request.unsupported_media_type', message: 'The request body must be application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'request.invalid', message: 'The Content-Length header does not match the body' },
  FST_ERR_BAD_URL: { code: 'request.invalid', message: 'The URL is not valid' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'request.uri_too_long', message: 'A path segment is longer than any valid id' },
}

/** The HTTP server's own refusals (before there is a request), by Node's error code. */
const clientErrors: Record<string, { code: ErrorCode; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'request.timeout', message: 'The request did not arrive within the time allowed' },
  HPE_HEADER_OVERFLOW: { code: 'request.headers_too_large', message: 'The request headers are too large' },
}

/**
 * What went wrong where, never with the caller's values: zod names an unknown key in its message, and a
 * misplaced token is exactly such a key, so unknown keys are reported by where they are, not by name.
 */
function validationIssues(error: FastifyError): ValidationIssue[] {
  if (!hasZodFastifySchemaValidationErrors(error)) return []
  const context = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'request')
  return error.validation.map((issue) => {
    const path = [context, ...issue.instancePath.split('/').filter((part) => part !== '')].join('.')
    if (issue.keyword === 'unrecognized_keys') return { path, message: 'has a field this route does not take' }
    // zod's other messages name expectations ("expected string", a pattern), never the received value.
    return { path, message: issue.message ?? 'is not valid' }
  })
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

function sendError(reply: FastifyReply, request: FastifyRequest, error: VaultError): FastifyReply {
  request.errorCode = error.code
  const body = problemDetails(error, request.id)
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds))
  if (error.wwwAuthenticate !== undefined) reply.header('www-authenticate', error.wwwAuthenticate)
  // 5xx messages are generic on the wire; the specific code stays (it is not secret).
  if (error.statusCode >= 500 && error.code === 'internal') body.detail = 'Internal error'
  return reply.code(error.statusCode).headers(SECURITY_HEADERS).type(PROBLEM_CONTENT_TYPE).send(body)
}

/**
 * Fastify calls this for URLs its router cannot take (a malformed URL, a path segment over maxParamLength),
 * before any hook: without it those answers echo the whole URL in a body of Fastify's own.
 */
export function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id)
  void sendError(reply, request, toVaultError(error))
}

/**
 * The HTTP server's refusals of what is not a request yet — headers too large, a request that did not arrive
 * in time, bytes that are not HTTP — answered with the vault's error body on the raw socket, then closed.
 */
export function clientErrorHandler(onError: (code: ErrorCode) => void) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy()
      return
    }
    const { code, message } = clientErrors[error.code ?? ''] ?? {
      code: 'request.malformed' as const,
      message: 'The request is not valid HTTP',
    }
    onError(code)
    const status = new VaultError(code, message).statusCode
    const requestId = randomUUID()
    const body = JSON.stringify(problemDetails({ code, message, statusCode: status }, requestId))
    const headers = {
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': requestId,
      ...SECURITY_HEADERS,
      connection: 'close',
    }
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')}\r\n${body}`,
    )
  }
}

/** A route's path as a pattern that matches concrete URLs (`:param` is one segment). */
function pathPattern(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${escaped}/?$`)
}

export function installErrorHandling(app: FastifyInstance): void {
  app.decorateRequest('errorCode', null)
  // Every route's methods by its path, so that a known path with another method is 405, not 404.
  const routes: Array<{ pattern: RegExp; methods: Set<string> }> = []
  app.addHook('onRoute', (route) => {
    const pattern = pathPattern(route.url)
    const methods = [route.method].flat()
    const known = routes.find((entry) => entry.pattern.source === pattern.source)
    if (known === undefined) routes.push({ pattern, methods: new Set(methods) })
    else for (const method of methods) known.methods.add(method)
  })
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
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!
    const allowed = routes.filter((entry) => entry.pattern.test(path)).flatMap((entry) => [...entry.methods])
    if (allowed.length === 0) return sendError(reply, request, new VaultError('route.not_found', 'No such route'))
    reply.header('allow', [...new Set(allowed)].sort().join(', '))
    return sendError(
      reply,
      request,
      new VaultError('request.method_not_allowed', 'This route does not take this method; Allow lists the ones it takes'),
    )
  })
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
