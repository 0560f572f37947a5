import { join } from 'node:path'
import { InvalidRequestError } from '../errors.ts'

/** Short enough for Cinder/Manila names (255) and local paths, long enough for real names. */
export const MAX_NAME_LENGTH = 128
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

/**
 * The only gate between a Docker volume name and a path on this host. dockerd does not validate
 * plugin volume names, so `../x`, `a/b`, `$(cmd)` and 300-character names arrive verbatim.
 */
export function validateVolumeName(name: unknown): string {
  if (typeof name !== 'string' || name === '')
    throw new InvalidRequestError('volume name is missing', 'INVALID_NAME')
  if (name.length > MAX_NAME_LENGTH)
    throw new InvalidRequestError(
      `volume name is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}`,
      'INVALID_NAME',
    )
  if (!NAME_RE.test(name) || name.includes('..'))
    throw new InvalidRequestError(
      `invalid volume name ${JSON.stringify(name)}: use letters, digits, "_", "." and "-", starting with a letter or digit, without ".."`,
      'INVALID_NAME',
    )
  return name
}

/** `<volumeDir>/<provider>/<name>`, for a name that passed {@link validateVolumeName}. */
export function mountpointFor(volumeDir: string, provider: string, name: string): string {
  return join(volumeDir, provider, validateVolumeName(name))
}

/** Whether a name (e.g. a cloud resource's) may be a Docker volume name: no error thrown. */
export function isVolumeName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= MAX_NAME_LENGTH &&
    NAME_RE.test(name) &&
    !name.includes('..')
  )
}
