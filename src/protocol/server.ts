import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import { isFuxiError, messageOf } from '../errors.ts'
import type { Logger } from '../log.ts'
import { PLUGIN_CONTENT_TYPE } from './messages.ts'
import { type Routes, registerRoutes } from './routes.ts'

/** Large enough for any real request (Create with options is < 1 KiB). */
export const BODY_LIMIT = 64 * 1024

/**
 * The Docker-facing HTTP server. The only place where errors become `{"Err": ...}`:
 * fuxi's own errors → HTTP 200 (dockerd then shows the plain message); malformed requests and
 * unknown endpoints → 4xx with an Err; anything unexpected → 500 "internal error: ...".
 */
export function createServer(routes: Routes, log: Logger): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, forceCloseConnections: 'idle' })

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

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isFuxiError(err)) {
      log.debug({ path: req.url, code: err.code, err: err.message }, 'request refused')
      return reply.code(200).send({ Err: err.message })
    }
    const status =
      err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status === 500) log.error({ err, path: req.url }, 'internal error')
    else log.warn({ path: req.url, status, err: err.message }, 'bad request')
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

  registerRoutes(app, routes)
  return app
}
