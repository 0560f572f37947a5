import { readFileSync } from 'node:fs'
import { Agent as HttpAgent } from 'node:http'
import { Agent } from 'node:https'
import axios, { type AxiosInstance } from 'axios'
import { capToDeadline, deadlineNote, remainingMs } from '../deadline.ts'
import { OpenStackHttpError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { currentRequestId, newRequestId } from '../request-id.ts'
import { operationOf } from './operation.ts'

export interface HttpRequest {
  /** For messages and logs: keystone, volumev3, sharev2, compute. */
  service: string
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  url: string
  headers?: Record<string, string>
  json?: unknown
  /** Status codes that are answers, not errors (e.g. 300 from a version document, 404 on a probe). */
  okStatuses?: readonly number[]
}

export interface HttpResponse {
  status: number
  headers: Readonly<Record<string, string>>
  json: unknown
  requestId: string
}

/** The slice of HTTP the OpenStack clients need. */
export interface HttpTransport {
  request(req: HttpRequest): Promise<HttpResponse>
}

export interface TlsOptions {
  cafile?: string
  certfile?: string
  keyfile?: string
  /** Skip certificate verification. Off unless configured. */
  insecure?: boolean
}

export interface TransportOptions {
  timeoutMs: number
  tls?: TlsOptions
  log: Logger
  sleep?: (ms: number) => Promise<void>
  /** Where each call's service, operation, status and time are counted. */
  metrics?: Pick<Metrics, 'openstackCall'>
}

/** The largest answer fuxi reads from an OpenStack API (a detail list of 1000 volumes is ~2 MiB). */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024

/** Idempotent GETs are retried on 5xx and connection resets with this backoff; nothing else is. */
export const GET_RETRY_DELAYS_MS = [200, 600, 1500] as const
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
])

/**
 * axios with keep-alive, a per-request timeout, typed errors, and on every call the global request
 * id of the operation it serves (request-id.ts; a call outside any operation gets one of its own).
 */
export function createTransport(opts: TransportOptions): HttpTransport {
  const tls = opts.tls ?? {}
  const client: AxiosInstance = axios.create({
    timeout: opts.timeoutMs,
    validateStatus: () => true,
    maxRedirects: 0,
    // A peer that answers without end is refused, never buffered until the heap runs out.
    maxContentLength: MAX_RESPONSE_BYTES,
    maxBodyLength: MAX_RESPONSE_BYTES,
    httpAgent: new HttpAgent({ keepAlive: true }),
    httpsAgent: new Agent({
      keepAlive: true,
      rejectUnauthorized: !tls.insecure,
      ca: tls.cafile ? readFileSync(tls.cafile) : undefined,
      cert: tls.certfile ? readFileSync(tls.certfile) : undefined,
      key: tls.keyfile ? readFileSync(tls.keyfile) : undefined,
    }),
    transitional: { clarifyTimeoutError: true },
  })
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))

  const once = async (req: HttpRequest, requestId: string): Promise<HttpResponse> => {
    const t0 = performance.now()
    // The request's own timeout, or less when the plugin call it serves must answer sooner.
    const timeoutMs = Math.ceil(capToDeadline(opts.timeoutMs))
    const counted = (status: string) =>
      opts.metrics?.openstackCall({
        service: req.service,
        operation: operationOf(req.method, req.url),
        status,
        seconds: (performance.now() - t0) / 1000,
      })
    try {
      if (timeoutMs <= 0)
        throw Object.assign(new Error('operation budget spent'), { code: 'ETIMEDOUT' })
      const res = await client.request({
        timeout: timeoutMs,
        method: req.method,
        url: req.url,
        data: req.json === undefined ? undefined : JSON.stringify(req.json),
        headers: {
          Accept: 'application/json',
          ...(req.json === undefined ? {} : { 'Content-Type': 'application/json' }),
          // The caller's (global) request id: services log it next to their own.
          'X-OpenStack-Request-ID': requestId,
          ...req.headers,
        },
        responseType: 'text',
        transformResponse: (x: unknown) => x,
      })
      counted(String(res.status))
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(res.headers))
        if (typeof v === 'string') headers[k.toLowerCase()] = v
      const serverId =
        headers['x-openstack-request-id'] ?? headers['x-compute-request-id'] ?? requestId
      const text = typeof res.data === 'string' ? res.data : ''
      let json: unknown = null
      if (text) {
        try {
          json = JSON.parse(text)
        } catch {
          json = null
        }
      }
      opts.log.debug(
        {
          service: req.service,
          method: req.method,
          url: req.url,
          status: res.status,
          requestId: serverId,
          ms: Math.round(performance.now() - t0),
        },
        'openstack call',
      )
      const ok = (res.status >= 200 && res.status < 300) || req.okStatuses?.includes(res.status)
      if (!ok)
        throw new OpenStackHttpError({
          service: req.service,
          method: req.method,
          url: req.url,
          status: res.status,
          requestId: serverId,
          ...errorBody(json, text),
        })
      return { status: res.status, headers, json, requestId: serverId }
    } catch (e) {
      if (e instanceof OpenStackHttpError) throw e
      counted('error')
      const code = (e as { code?: string }).code
      throw new OpenStackHttpError(
        {
          service: req.service,
          method: req.method,
          url: req.url,
          requestId,
          detail: transportDetail(code, e, timeoutMs, timeoutMs < opts.timeoutMs),
        },
        e,
      )
    }
  }

  return {
    async request(req) {
      const requestId = currentRequestId() ?? newRequestId()
      for (let attempt = 0; ; attempt++) {
        try {
          return await once(req, requestId)
        } catch (e) {
          const delay = GET_RETRY_DELAYS_MS[attempt]
          if (
            req.method !== 'GET' ||
            delay === undefined ||
            !retryable(e) ||
            delay >= remainingMs()
          )
            throw e
          opts.log.warn(
            { service: req.service, url: req.url, err: (e as Error).message, retryInMs: delay },
            'retrying GET',
          )
          await sleep(delay)
        }
      }
    },
  }
}

function retryable(e: unknown): boolean {
  if (!(e instanceof OpenStackHttpError)) return false
  if (e.status !== undefined) return e.status >= 500
  return RETRYABLE_CODES.has((e.cause as { code?: string } | undefined)?.code ?? '')
}

/** OpenStack error bodies: {"itemNotFound": {"code", "message"}}, {"error": {"message"}}, ... */
export function errorBody(json: unknown, text: string): { kind?: string; detail: string } {
  if (json && typeof json === 'object') {
    for (const [kind, v] of Object.entries(json as Record<string, unknown>)) {
      if (v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string')
        return { kind, detail: (v as { message: string }).message }
    }
  }
  return { detail: text.trim().slice(0, 300) || 'no error message in the response' }
}

function transportDetail(
  code: string | undefined,
  e: unknown,
  timeoutMs: number,
  /** The timeout was cut short by the plugin call's budget. */
  capped: boolean,
): string {
  if (/maxContentLength size of/.test((e as Error).message))
    return `the answer exceeded ${MAX_RESPONSE_BYTES} bytes and was refused (a misbehaving endpoint or proxy?)`
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused: is the endpoint URL right and the service up?'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name does not resolve: check the URL in the config or the service catalog'
    case 'ETIMEDOUT':
    case 'ECONNABORTED': {
      const spent = capped ? deadlineNote() : undefined
      return spent ? `no answer in time: ${spent}` : `no answer within ${timeoutMs} ms`
    }
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `TLS certificate not trusted (${code}): set cafile to the CA bundle that signed it`
    default:
      return `${code ? `${code}: ` : ''}${(e as Error).message}`
  }
}
