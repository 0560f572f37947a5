import { InvalidRequestError } from '../errors.ts'

/** Docker VolumeDriver protocol, as dockerd 20.10 speaks it (see shared/reference). */
export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json'

/** The request body must be a JSON object (dockerd always sends one; `{}` for an empty body). */
export function asObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new InvalidRequestError('request body must be a JSON object')
  return body as Record<string, unknown>
}

/** Create's `Opts`: null/absent without `-o`, else an object of strings. */
export function parseOpts(opts: unknown): Record<string, string> {
  if (opts === null || opts === undefined) return {}
  if (typeof opts !== 'object' || Array.isArray(opts))
    throw new InvalidRequestError('"Opts" must be an object of strings')
  // No prototype: a key such as "__proto__" is an option like any other (and refused as one).
  const out: Record<string, string> = Object.create(null)
  for (const [k, v] of Object.entries(opts)) {
    if (typeof v !== 'string')
      throw new InvalidRequestError(`option "${k}" must be a string`, 'INVALID_OPTION')
    out[k] = v
  }
  return out
}
