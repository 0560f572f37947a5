import { InvalidRequestError } from '../errors.ts'

/** An OpenStack resource id. */
export const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i

/** A value as an Err quotes it: at most 80 characters of it. */
const quote = (value: string | undefined) =>
  value !== undefined && value.length > 80
    ? `${JSON.stringify(value.slice(0, 80))}… (${value.length} characters)`
    : JSON.stringify(value)

export const invalidOption = (key: string, value: string | undefined, fix: string) =>
  new InvalidRequestError(
    `invalid value for option "${key}": ${quote(value)}; ${fix}`,
    'INVALID_OPTION',
  )

/** Throws, naming the valid options, when `opts` has a key outside `valid`. */
export function rejectUnknownOptions(
  opts: Readonly<Record<string, string>>,
  valid: readonly string[],
  provider: string,
): void {
  const unknown = Object.keys(opts).filter((k) => !valid.includes(k))
  if (unknown.length)
    throw new InvalidRequestError(
      `unknown option${unknown.length > 1 ? 's' : ''} ${unknown
        .slice(0, 5)
        .map((u) => quote(u))
        .join(
          ', ',
        )}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''} for provider ${provider}; valid options: ${valid.join(', ')}`,
      'INVALID_OPTION',
    )
}

/** `-o size`: a whole number of GiB from 1 to `max` (the default when not given). */
export function parseSize(value: string | undefined, fallback: number, max: number): string {
  const size = value?.trim() ?? String(fallback)
  if (!/^\d+$/.test(size) || Number(size) < 1 || Number(size) > max)
    throw invalidOption(
      'size',
      value,
      `use a whole number of GiB from 1 to ${max} (e.g. -o size=10)`,
    )
  return String(Number(size))
}

/** `-o fstype`: one of `allowed` (the default when not given). */
export function parseChoice(
  key: string,
  value: string | undefined,
  fallback: string,
  allowed: readonly string[],
): string {
  const v = value?.trim() ?? fallback
  if (!allowed.includes(v)) throw invalidOption(key, value, `use one of: ${allowed.join(', ')}`)
  return v
}

/**
 * `-o suid=true`, `-o dev=true`: let the volume's filesystem honour setuid bits and device files
 * (mounted nosuid,nodev otherwise). Only set flags are returned.
 */
export function parseMountFlags(opts: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of ['suid', 'dev'] as const) {
    const v = opts[key]?.trim()
    if (v === undefined || v === 'false') continue
    if (v !== 'true')
      throw invalidOption(
        key,
        opts[key],
        `use true (mount without no${key}) or false (the default: no${key})`,
      )
    out[key] = v
  }
  return out
}
