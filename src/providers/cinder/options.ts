import { FSTYPES } from '../../config/schema.ts'
import { InvalidRequestError } from '../../errors.ts'

export interface CinderOptionDefaults {
  readonly size: number
  readonly fstype: string
  readonly volumeType: string
  readonly availabilityZone: string
  readonly multiattach: boolean
}

export const CINDER_OPTIONS = [
  'size',
  'fstype',
  'volume_type',
  'availability_zone',
  'multiattach',
  'snapshot_id',
  'source_volid',
  'backup_id',
  'description',
  'volume_id',
  'volume_provider',
] as const

const MAX_SIZE_GIB = 16384
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i

const invalid = (key: string, value: string | undefined, fix: string) =>
  new InvalidRequestError(
    `invalid value for option "${key}": ${JSON.stringify(value)}; ${fix}`,
    'INVALID_OPTION',
  )

/**
 * `-o` options of a Cinder volume, checked and with defaults from [DEFAULT]/[cinder]. The result
 * holds only set values, as strings (Docker's Opts shape).
 */
export function parseCinderOptions(
  opts: Readonly<Record<string, string>>,
  d: CinderOptionDefaults,
): Record<string, string> {
  const unknown = Object.keys(opts).filter(
    (k) => !(CINDER_OPTIONS as readonly string[]).includes(k),
  )
  if (unknown.length)
    throw new InvalidRequestError(
      `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} for provider cinder; valid options: ${CINDER_OPTIONS.join(', ')}`,
      'INVALID_OPTION',
    )
  const out: Record<string, string> = {}
  const size = opts.size?.trim() ?? String(d.size)
  if (!/^\d+$/.test(size) || Number(size) < 1 || Number(size) > MAX_SIZE_GIB)
    throw invalid(
      'size',
      opts.size,
      `use a whole number of GiB from 1 to ${MAX_SIZE_GIB} (e.g. -o size=10)`,
    )
  out.size = String(Number(size))
  const fstype = opts.fstype?.trim() ?? d.fstype
  if (!(FSTYPES as readonly string[]).includes(fstype))
    throw invalid('fstype', opts.fstype, `use one of: ${FSTYPES.join(', ')}`)
  out.fstype = fstype
  const multiattach = opts.multiattach?.trim() ?? String(d.multiattach)
  if (multiattach !== 'true' && multiattach !== 'false')
    throw invalid('multiattach', opts.multiattach, 'use true or false')
  out.multiattach = multiattach
  for (const [key, fallback] of [
    ['volume_type', d.volumeType],
    ['availability_zone', d.availabilityZone],
  ] as const) {
    const v = opts[key]?.trim() ?? fallback
    if (v && !/^[\w.:@ -]{1,255}$/.test(v))
      throw invalid(
        key,
        opts[key],
        'use the name of an existing one (letters, digits, _ . : @ - and spaces)',
      )
    if (v) out[key] = v
  }
  for (const key of ['snapshot_id', 'source_volid', 'backup_id', 'volume_id'] as const) {
    const v = opts[key]?.trim()
    if (v === undefined) continue
    if (!UUID.test(v)) throw invalid(key, opts[key], 'use the id (a UUID) of an existing one')
    out[key] = v
  }
  const sources = (['snapshot_id', 'source_volid', 'backup_id', 'volume_id'] as const).filter(
    (k) => out[k],
  )
  if (sources.length > 1)
    throw new InvalidRequestError(
      `options ${sources.join(' and ')} exclude each other: a volume is made from one source`,
      'INVALID_OPTION',
    )
  if (opts.description !== undefined) {
    if (opts.description.length > 255)
      throw invalid(
        'description',
        `${opts.description.slice(0, 20)}…`,
        'use at most 255 characters',
      )
    out.description = opts.description
  }
  return out
}
