import { InternalError, OpenStackVersionError } from '../errors.ts'
import {
  compareMicroversions,
  formatMicroversion,
  type Microversion,
  parseMicroversion,
  rangeFromVersionDocument,
  versionRoot,
} from './microversion.ts'
import type { Session } from './session.ts'
import type { HttpResponse } from './transport.ts'

/** One OpenStack service as fuxi speaks it. */
export interface ServiceSpec {
  /** Catalog service type: volumev3, sharev2, compute. */
  type: string
  /** For messages: Cinder, Manila, Nova. */
  label: string
  /** The API major version fuxi speaks (Cinder 3, Manila 2, Nova 2). */
  major: number
  /** The newest microversion fuxi is written against: it asks for min(this, the server's newest). */
  target: string
  /** Headers carrying a microversion. */
  versionHeaders(v: string): Record<string, string>
}

export interface ApiCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** Relative to the service endpoint. */
  path: string
  query?: Record<string, string | number | boolean | undefined>
  json?: unknown
  okStatuses?: readonly number[]
  /** The oldest microversion the call needs, and what for (said when the cloud is older). */
  needs?: { version: string; what: string; hint?: string }
}

/**
 * A service endpoint with its microversion negotiated once, from the version document at the
 * endpoint's root, before the first call.
 */
export class ServiceApi {
  readonly spec: ServiceSpec
  readonly #session: Session
  #version: Promise<Microversion | null> | undefined

  constructor(session: Session, spec: ServiceSpec) {
    this.#session = session
    this.spec = spec
  }

  /** The microversion in use; `null` when the service has none (everything is its base version). */
  version(): Promise<Microversion | null> {
    this.#version ??= this.#negotiate().catch((e) => {
      this.#version = undefined // a failed negotiation is tried again by the next call
      throw e
    })
    return this.#version
  }

  async supports(version: string): Promise<boolean> {
    const have = await this.version()
    const want = parseMicroversion(version)
    if (!want) throw new InternalError(`bad microversion "${version}"`)
    return have !== null && compareMicroversions(have, want) >= 0
  }

  async call(c: ApiCall): Promise<HttpResponse> {
    const version = await this.version()
    if (c.needs && !(await this.supports(c.needs.version))) {
      const have = version
        ? `microversions up to ${formatMicroversion(version)}`
        : 'no microversions'
      throw new OpenStackVersionError(
        `${this.spec.label} is too old for ${c.needs.what}: it needs microversion ${c.needs.version} or later and this cloud offers ${have}${c.needs.hint ? `; ${c.needs.hint}` : ''}`,
      )
    }
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(c.query ?? {})) if (v !== undefined) qs.set(k, String(v))
    const query = qs.size ? `?${qs}` : ''
    return this.#session.request(this.spec.type, {
      method: c.method,
      path: `${c.path}${query}`,
      json: c.json,
      okStatuses: c.okStatuses,
      headers: version ? this.spec.versionHeaders(formatMicroversion(version)) : {},
    })
  }

  async #negotiate(): Promise<Microversion | null> {
    const { label, major, type } = this.spec
    const endpoint = await this.#session.endpoint(type)
    const where = versionRoot(endpoint)
    if (!where)
      throw new OpenStackVersionError(
        `${label} endpoint ${endpoint} has no API version in its path; point endpoint_override (or the catalog's "${type}" entry) at the v${major} URL`,
      )
    if (where.major !== major)
      throw new OpenStackVersionError(
        `${label} endpoint ${endpoint} is API v${where.major}; fuxi needs v${major}: use the catalog's "${type}" service or set endpoint_override to the v${major} URL`,
      )
    const res = await this.#session.request(type, {
      method: 'GET',
      path: where.root,
      okStatuses: [300],
    })
    const range = rangeFromVersionDocument(res.json, major)
    if (range === undefined)
      throw new OpenStackVersionError(
        `${label} at ${where.root} does not list API v${major} in its version document`,
      )
    if (range === null) return null
    const target = parseMicroversion(this.spec.target) as Microversion
    if (compareMicroversions(range.min, target) > 0)
      throw new OpenStackVersionError(
        `${label} at ${where.root} accepts microversions ${formatMicroversion(range.min)}–${formatMicroversion(range.max)}, all newer than the ${this.spec.target} fuxi speaks; this fuxi is too old for this cloud`,
      )
    return compareMicroversions(range.max, target) < 0 ? range.max : target
  }
}

/** Metadata of one kind of resource (volume, share). */
export interface MetadataApi {
  set(id: string, md: Record<string, string>): Promise<Record<string, string>>
  deleteKey(id: string, key: string): Promise<void>
}

/** The metadata sub-resource Cinder volumes and Manila shares have alike: `<collection>/<id>/metadata`. */
export class ResourceMetadata implements MetadataApi {
  readonly #api: ServiceApi
  readonly #collection: string

  constructor(api: ServiceApi, collection: '/volumes' | '/shares') {
    this.#api = api
    this.#collection = collection
  }

  /** Adds or changes these keys; the others stay. Returns the whole metadata. */
  async set(id: string, md: Record<string, string>): Promise<Record<string, string>> {
    const res = await this.#api.call({
      method: 'POST',
      path: `${this.#collection}/${encodeURIComponent(id)}/metadata`,
      json: { metadata: md },
    })
    return (res.json as { metadata: Record<string, string> }).metadata
  }

  /** Removes one key; a missing key is not an error. */
  async deleteKey(id: string, key: string): Promise<void> {
    await this.#api.call({
      method: 'DELETE',
      path: `${this.#collection}/${encodeURIComponent(id)}/metadata/${encodeURIComponent(key)}`,
      okStatuses: [404],
    })
  }
}
