import { context, isSpanContextValid, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import type { FastifyInstance } from 'fastify'
import { SERVICE_VERSION } from '../version.ts'

/**
 * OpenTelemetry traces: off unless the standard variables turn them on (OTEL_TRACES_EXPORTER=otlp, or an
 * OTLP endpoint; OTEL_SDK_DISABLED=true wins), exported over OTLP/HTTP as the exporter reads OTEL_EXPORTER_OTLP_*.
 *
 * Spans are the vault's own, at its boundaries: each HTTP request (continuing the caller's `traceparent`),
 * each database statement, each key-provider call, each call to an OAuth provider. Their attributes are
 * chosen here, never copied from requests: a route template, a status, an error code, an operation, a
 * host — never a URL with ids, a statement's values, a header or a body, so no secret can reach a span.
 * While tracing is off every span is the API's no-op.
 */
const tracer = () => trace.getTracer('secret-vault', SERVICE_VERSION)

/** Whether startTracing registered a provider: the request and statement hooks are installed only then, so that tracing off costs nothing on the hot paths. */
let started = false
export const tracingStarted = () => started

export interface Tracing {
  shutdown(): Promise<void>
}

export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return false
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase()
  if (exporter !== undefined && exporter !== '') return exporter.split(',').includes('otlp')
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
}

/** Registers the global tracer provider, context manager and W3C propagator; `exporter` replaces OTLP (tests). */
export function startTracing(
  env: NodeJS.ProcessEnv,
  options: { processor?: SpanProcessor; exporter?: SpanExporter } = {},
): Tracing | undefined {
  if (options.processor === undefined && options.exporter === undefined && !tracingEnabled(env)) return undefined
  const processor = options.processor ?? new BatchSpanProcessor({ exporter: options.exporter ?? new OTLPTraceExporter() })
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'secret-vault', 'service.version': SERVICE_VERSION }),
    spanProcessors: [processor],
  })
  const contextManager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(contextManager)
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)
  started = true
  return {
    async shutdown() {
      started = false
      await provider.shutdown()
      trace.disable()
      propagation.disable()
      context.disable()
    },
  }
}

/** The active span's ids, for log lines (pino's mixin); nothing when tracing is off. */
export function traceIds(): { trace_id?: string; span_id?: string } {
  // An ended span still names the request's trace: the completion line is written after it ends.
  const ids = trace.getActiveSpan()?.spanContext()
  if (ids === undefined || !isSpanContextValid(ids)) return {}
  return { trace_id: ids.traceId, span_id: ids.spanId }
}

/** Runs `work` in a CLIENT or INTERNAL span; an error marks it (by code, never by message) and is rethrown. */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  work: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.CLIENT,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span)
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR })
      span.setAttribute('error.type', errorType(error))
      throw error
    } finally {
      span.end()
    }
  })
}

const errorType = (error: unknown) =>
  (error as { code?: unknown }).code !== undefined ? String((error as { code: unknown }).code) : ((error as Error)?.name ?? 'Error')

/** A span for something that already happened (a database statement, timed by kysely's log hook). */
export function recordFinishedSpan(name: string, attributes: Record<string, string | number>, durationMs: number, error?: unknown): void {
  const end = Date.now()
  const span = tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes, startTime: end - durationMs })
  if (error !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR })
    span.setAttribute('error.type', errorType(error))
  }
  span.end(end)
}

/** The first keyword and the first name a statement touches: `SELECT vault_read_token_sets`, `UPDATE token_sets`. */
export function statementSummary(sql: string): { operation: string; summary: string } {
  const operation = (/^\s*(\w+)/.exec(sql)?.[1] ?? 'QUERY').toUpperCase()
  const target = /\b(?:from|into|update)\s+"?([a-z_][a-z0-9_]*)/i.exec(sql)?.[1]
  return { operation, summary: target === undefined ? operation : `${operation} ${target}` }
}

/**
 * A SERVER span per request, continuing the caller's trace; the rest of the request runs in its context
 * (the hook's `done` is called inside it), so database, key-provider and provider spans are its children
 * and log lines carry its ids.
 */
export function traceRequests(app: FastifyInstance): void {
  if (!started) return
  const spans = new WeakMap<object, Span>()
  app.addHook('onRequest', (request, _reply, done) => {
    const parent = propagation.extract(context.active(), request.headers)
    const route = request.routeOptions.url ?? 'unmatched'
    const span = tracer().startSpan(
      `${request.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route } },
      parent,
    )
    spans.set(request, span)
    context.with(trace.setSpan(parent, span), done)
  })
  app.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request)
    if (span !== undefined) {
      span.setAttribute('http.response.status_code', reply.statusCode)
      const code = (request as { errorCode?: string | null }).errorCode
      if (code) span.setAttribute('error.type', code)
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      span.end()
    }
    done()
  })
}
