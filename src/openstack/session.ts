import { OpenStackHttpError } from '../errors.ts'
import type { Logger } from '../log.ts'
import {
  type AuthOptions,
  authRequestBody,
  findEndpoint,
  parseTokenResponse,
  type Token,
} from './keystone.ts'
import type { HttpRequest, HttpResponse, HttpTransport } from './transport.ts'

/** Renew this long before Keystone's expires_at (or at half-life for short-lived tokens). */
export const TOKEN_RENEW_MARGIN_MS = 5 * 60_000

export interface SessionOptions {
  /** Section name for logs and messages (cinder, manila, nova). */
  section: string
  /** Where the credentials come from, for messages; default `[section]`. */
  where?: string
  auth: AuthOptions
  region: string
  interface: string
  endpointOverride?: string
  transport: HttpTransport
  log: Logger
  now?: () => number
}

/** Service request: path relative to the service endpoint, or an absolute URL. */
export interface ServiceRequest extends Omit<HttpRequest, 'url' | 'service'> {
  path: string
}

/**
 * A Keystone v3 session: one token, cached until shortly before it expires, shared by all callers
 * (a single refresh when several need it at once), renewed once on a 401; endpoints from the
 * token's catalog by (service type, region, interface) unless overridden.
 */
export class Session {
  readonly #o: SessionOptions
  #token: (Token & { obtainedAt: number }) | undefined
  #pending: Promise<Token> | undefined
  /** Keystone calls made, for tests and the benchmark. */
  authCount = 0

  constructor(o: SessionOptions) {
    authRequestBody(o.auth, o.section, o.where) // fail at start on incomplete auth options
    this.#o = o
  }

  async token(): Promise<Token> {
    const now = (this.#o.now ?? Date.now)()
    const t = this.#token
    if (t && now < t.expiresAt - Math.min(TOKEN_RENEW_MARGIN_MS, (t.expiresAt - t.obtainedAt) / 2))
      return t
    return this.#authenticate()
  }

  /** Forget the token (after a 401) and get a new one; concurrent callers share one request. */
  #authenticate(): Promise<Token> {
    this.#pending ??= (async () => {
      try {
        const url = `${this.#o.auth.auth_url.replace(/\/+$/, '')}/auth/tokens`
        this.authCount++
        const res = await this.#o.transport.request({
          service: 'keystone',
          method: 'POST',
          url,
          json: authRequestBody(this.#o.auth, this.#o.section, this.#o.where),
        })
        const token = {
          ...parseTokenResponse(res.headers, res.json, { url, requestId: res.requestId }),
          obtainedAt: (this.#o.now ?? Date.now)(),
        }
        this.#token = token
        this.#o.log.info(
          { section: this.#o.section, expiresAt: new Date(token.expiresAt).toISOString() },
          'keystone token issued',
        )
        return token
      } catch (e) {
        if (e instanceof OpenStackHttpError && e.status === 401)
          throw new OpenStackHttpError(
            {
              service: 'keystone',
              method: 'POST',
              url: this.#o.auth.auth_url,
              status: 401,
              requestId: e.requestId,
              detail: `authentication refused: check ${this.#o.where ?? `[${this.#o.section}]`} username/user_id, password, user and project domains, and project`,
            },
            e,
          )
        throw e
      } finally {
        this.#pending = undefined
      }
    })()
    return this.#pending
  }

  async endpoint(serviceType: string): Promise<string> {
    if (this.#o.endpointOverride) return this.#o.endpointOverride.replace(/\/+$/, '')
    const token = await this.token()
    const found = findEndpoint(token.catalog, serviceType, this.#o.region, this.#o.interface)
    if ('error' in found)
      throw new OpenStackHttpError({
        service: serviceType,
        method: 'GET',
        url: '(service catalog)',
        detail: `[${this.#o.section}] ${found.error}`,
      })
    return found.url
  }

  /** A call with the session's token; a 401 renews the token once and retries. */
  async request(serviceType: string, req: ServiceRequest): Promise<HttpResponse> {
    const base = /^https?:\/\//.test(req.path) ? '' : await this.endpoint(serviceType)
    const url = base ? `${base}${req.path.startsWith('/') ? '' : '/'}${req.path}` : req.path
    const send = async (token: Token) =>
      this.#o.transport.request({
        ...req,
        service: serviceType,
        url,
        headers: { ...req.headers, 'X-Auth-Token': token.value },
      })
    const first = await this.token()
    try {
      return await send(first)
    } catch (e) {
      if (!(e instanceof OpenStackHttpError) || e.status !== 401) throw e
      if (this.#token === first) this.#token = undefined
      this.#o.log.info(
        { section: this.#o.section, service: serviceType },
        'token refused (401): renewing once',
      )
      return send(await this.token())
    }
  }
}
