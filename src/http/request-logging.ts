import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's own x-request-id, when well-formed: recorded beside the vault's request id, never instead. */
    callerRequestId: string | null
  }
}

/** What a caller's request id may look like: enough for any tracing scheme, nothing to inject into a log. */
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * A URL as logged: the path, and the names of the query parameters without their values. A bearer token in
 * the query (`?access_token=…`) or any other value a caller put there never reaches a log line.
 */
function loggedUrl(url: string): string {
  const at = url.indexOf('?')
  if (at === -1) return url
  const names = url
    .slice(at + 1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) =>
      pair
        .split('=')[0]!
        .slice(0, 64)
        .replace(/[^A-Za-z0-9_.-]/g, '_'),
    )
  return `${url.slice(0, at)}?${names.map((name) => `${name}=…`).join('&')}`
}

/**
 * One log line per request, written by the vault rather than by Fastify (whose line carries the whole URL):
 * method, route, the URL without query values, status, time, and both request ids.
 */
export function installRequestLogging(app: FastifyInstance): void {
  app.decorateRequest('callerRequestId', null)
  app.addHook('onRequest', async (request) => {
    const incoming = request.headers['x-request-id']
    request.callerRequestId = typeof incoming === 'string' && CALLER_REQUEST_ID.test(incoming) ? incoming : null
  })
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        req: { method: request.method, url: loggedUrl(request.url), route: request.routeOptions.url ?? null, remoteAddress: request.ip },
        res: { statusCode: reply.statusCode },
        responseTime: reply.elapsedTime,
        ...(request.callerRequestId === null ? {} : { callerRequestId: request.callerRequestId }),
      },
      'request completed',
    )
  })
}
