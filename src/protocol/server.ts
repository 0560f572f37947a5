import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify'
import { isFuxiError, messageOf } from '../errors.ts'
import type { Logger } from '../log.ts'
import { type Metrics, NO_METRICS } from '../metrics/metrics.ts'
import { newRequestId, withRequestId } from '../request-id.ts'
import { PLUGIN_CONTENT_TYPE } from './messages.ts'
import { endpoints, type Routes } from './routes.ts'

/** The server's type, for the composition root (only this file imports Fastify). */
export type { FastifyInstance }

/** Large enough for any real request (Create with options is < 1 KiB). */
export const BODY_LIMIT = 64 * 1024

/** Server timeouts: dockerd's longest wait is 120 s (Create, Mount). */
export const TIMEOUTS_MS: {
  readonly connection: number
  readonly request: number
  readonly headers: number
  readonly keepAlive: number
} = {
  /** A socket with no traffic at all is closed. */
  connection: 150_000,
  /** A request must be received and answered within this. */
  request: 140_000,
  /** The whole request head must arrive within this. */
  headers: 10_000,
  keepAlive: 65_000,
} as const

/**
 * The Docker-facing HTTP server. The only place where errors become `{"Err": ...}`:
 * fuxi's own errors → HTTP 200 (dockerd then shows the plain message); malformed requests and
 * unknown endpoints → 4xx with an Err; anything unexpected → 500 "internal error: ...".
 * Each request gets its own request id (`req-<uuid>`, request-id.ts): on every log line and
 * OpenStack call it causes. Each answer is counted in `metrics` by endpoint and outcome.
 */
export function createServer(
  routes: Routes,
  log: Logger,
  timeouts: typeof TIMEOUTS_MS = TIMEOUTS_MS,
  metrics: Pick<Metrics, 'pluginRequest'> = NO_METRICS,
): FastifyInstance {
  // Requests answered with an Err (whatever the status), for the outcome label.
  const refused = new WeakSet<FastifyRequest>()
  const app = Fastify({
    logger: false,
    genReqId: () => newRequestId(),
    requestIdHeader: false,
    bodyLimit: BODY_LIMIT,
    forceCloseConnections: 'idle',
    // A peer that sends headers slowly, never finishes a request, or idles on a connection is cut
    // off; the longest call (Create, 110 s of work) still fits.
    connectionTimeout: timeouts.connection,
    requestTimeout: timeouts.request,
    keepAliveTimeout: timeouts.keepAlive,
    http: {
      headersTimeout: timeouts.headers,
      connectionsCheckingInterval: Math.min(1_000, timeouts.headers),
    },
    // Broken HTTP (never from dockerd) still gets the plugin's answer shape: {"Err": ...}.
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) {
        socket.destroy()
        return
      }
      const code = (err as { code?: string }).code
      const status =
        code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
      const body = JSON.stringify({ Err: `malformed HTTP request (${code ?? err.message})` })
      socket.end(
        `HTTP/1.1 ${status} Bad Request\r\nContent-Type: ${PLUGIN_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
    },
  })

  // dockerd sends JSON bodies with no Content-Type (Fastify would answer 415) and Activate with
  // an empty body: accept any type, parse as JSON, empty → {}.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim()
    if (!text) return done(null, {})
    try {
      done(null, JSON.parse(text))
    } catch (e) {
      const err = new Error(`malformed JSON body: ${messageOf(e)}`) as FastifyError
      err.statusCode = 400
      done(err, undefined)
    }
  })

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('content-type', PLUGIN_CONTENT_TYPE)
    return payload
  })

  app.addHook('onResponse', async (req, reply) => {
    const outcome = refused.has(req) || reply.statusCode !== 200 ? 'err' : 'ok'
    metrics.pluginRequest(endpointOf(req), outcome, reply.elapsedTime / 1000)
  })

  app.setErrorHandler((err: FastifyError, req, reply) => {
    refused.add(req)
    // Outside the handler's request-id scope: name the request id here.
    const about = { reqId: req.id, endpoint: endpointOf(req), volume: volumeOf(req.body) }
    if (isFuxiError(err) && err.code !== 'INTERNAL') {
      log.info({ ...about, code: err.code, reason: err.message }, 'request refused')
      return reply.code(200).send({ Err: err.message })
    }
    const status =
      err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status === 500) log.error({ ...about, err, path: req.url }, 'internal error')
    else log.warn({ ...about, path: req.url, status, err: err.message }, 'bad request')
    const message =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? `request body too large (limit ${BODY_LIMIT} bytes)`
        : status === 500
          ? `internal error: ${err.message}`
          : err.message
    return reply.code(status).send({ Err: message })
  })

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ Err: `unknown endpoint ${req.method} ${req.url}` })
  })

  for (const [path, endpoint] of endpoints(routes))
    app.post(path, (req) => withRequestId(req.id, () => endpoint(req.body)))
  return app
}

/** The endpoint label: the route's path (`VolumeDriver.Mount`), `unknown` for any other path. */
function endpointOf(req: FastifyRequest): string {
  return req.routeOptions.url?.replace(/^\//, '') ?? 'unknown'
}

/** The volume a request names, for a log line (a refused name may be anything: cut short). */
function volumeOf(body: unknown): string | undefined {
  const name = body && typeof body === 'object' ? (body as { Name?: unknown }).Name : undefined
  return typeof name === 'string' ? name.slice(0, 200) : undefined
}
