import { FSTYPES } from '../../config/schema.ts'
import { InvalidRequestError } from '../../errors.ts'

export interface LocalOptionDefaults {
  readonly size: number
  readonly maxSize: number
  readonly fstype: string
}

export const LOCAL_OPTIONS = ['size', 'fstype', 'volume_provider'] as const

/** `-o` options of a local volume: size in GiB (whole number), fstype ext4|xfs. */
export function parseLocalOptions(
  opts: Readonly<Record<string, string>>,
  d: LocalOptionDefaults,
): Record<string, string> {
  const unknown = Object.keys(opts).filter((k) => !(LOCAL_OPTIONS as readonly string[]).includes(k))
  if (unknown.length)
    throw new InvalidRequestError(
      `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} for provider local; valid options: ${LOCAL_OPTIONS.join(', ')}`,
      'INVALID_OPTION',
    )
  const size = opts.size?.trim() ?? String(d.size)
  if (!/^\d+$/.test(size) || Number(size) < 1 || Number(size) > d.maxSize)
    throw new InvalidRequestError(
      `invalid value for option "size": ${JSON.stringify(opts.size)}; use a whole number of GiB from 1 to ${d.maxSize} (e.g. -o size=10)`,
      'INVALID_OPTION',
    )
  const fstype = opts.fstype?.trim() ?? d.fstype
  if (!(FSTYPES as readonly string[]).includes(fstype))
    throw new InvalidRequestError(
      `invalid value for option "fstype": ${JSON.stringify(opts.fstype)}; use one of: ${FSTYPES.join(', ')}`,
      'INVALID_OPTION',
    )
  return { size: String(Number(size)), fstype }
}
