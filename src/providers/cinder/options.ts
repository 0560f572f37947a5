import { FSTYPES } from '../../config/schema.ts'
import { InvalidRequestError } from '../../errors.ts'
import { parseLayoutOptions } from '../../volumes/layout.ts'
import { BLOCK_MOUNT_OPTIONS, parseMountOptionList } from '../../volumes/mount-options.ts'
import {
  invalidOption as invalid,
  parseChoice,
  parseMountFlags,
  parseSize,
  rejectUnknownOptions,
  UUID,
} from '../option-checks.ts'

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
  'access',
  ...BLOCK_MOUNT_OPTIONS,
  'volume_provider',
] as const

/** Options that make a volume from existing data: its layout is the root unless -o subdir says. */
const SOURCES = ['snapshot_id', 'source_volid', 'backup_id', 'volume_id'] as const

/** `-o access`: who may mount a multiattach volume while one host writes it. */
export const ACCESS_MODES = ['single-writer', 'readonly-many'] as const

const MAX_SIZE_GIB = 16384

/**
 * `-o` options of a Cinder volume, checked and with defaults from [DEFAULT]/[cinder]. The result
 * holds only set values, as strings (Docker's Opts shape).
 */
export function parseCinderOptions(
  opts: Readonly<Record<string, string>>,
  d: CinderOptionDefaults,
): Record<string, string> {
  rejectUnknownOptions(opts, CINDER_OPTIONS, 'cinder')
  const out: Record<string, string> = {}
  out.size = parseSize(opts.size, d.size, MAX_SIZE_GIB)
  out.fstype = parseChoice('fstype', opts.fstype, d.fstype, FSTYPES)
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
  const access = parseChoice('access', opts.access, 'single-writer', ACCESS_MODES)
  if (access === 'readonly-many') {
    if (multiattach !== 'true')
      throw invalid(
        'access',
        opts.access,
        'readonly-many lets other hosts read a volume one host writes, so it needs -o multiattach=true',
      )
    out.access = access
  }
  Object.assign(out, parseMountFlags(opts))
  if (opts.mount_options) {
    const list = parseMountOptionList(opts.mount_options, out.fstype)
    if (list) out.mount_options = list
  }
  // A copy of existing data keeps its files where they are: the root, unless -o subdir names
  // the folder (e.g. subdir=data for a copy of a volume made with the default).
  const copy = SOURCES.some((k) => opts[k] !== undefined) && opts.subdir === undefined
  Object.assign(out, parseLayoutOptions(copy ? { ...opts, subdir: '' } : opts))
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
