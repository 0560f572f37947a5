import { InvalidRequestError } from '../../errors.ts'
import {
  invalidOption,
  parseChoice,
  parseMountFlags,
  parseSize,
  rejectUnknownOptions,
  UUID,
} from '../option-checks.ts'

/** The share protocols fuxi mounts. */
export const SHARE_PROTOCOLS = ['NFS', 'CEPHFS'] as const
export type ShareProto = (typeof SHARE_PROTOCOLS)[number]

export interface ManilaOptionDefaults {
  readonly size: number
  readonly shareProto: string
  readonly shareType: string
  readonly shareNetwork: string
  readonly availabilityZone: string
}

export const MANILA_OPTIONS = [
  'share_proto',
  'size',
  'share_type',
  'share_network',
  'availability_zone',
  'snapshot_id',
  'description',
  'volume_id',
  'suid',
  'dev',
  'volume_provider',
] as const

const MAX_SIZE_GIB = 65536

/**
 * `-o` options of a Manila share, checked and with defaults from [DEFAULT]/[manila]. The result
 * holds only set values, as strings (Docker's Opts shape).
 */
export function parseManilaOptions(
  opts: Readonly<Record<string, string>>,
  d: ManilaOptionDefaults,
): Record<string, string> {
  rejectUnknownOptions(opts, MANILA_OPTIONS, 'manila')
  const out: Record<string, string> = {}
  out.share_proto = parseChoice(
    'share_proto',
    opts.share_proto?.trim().toUpperCase(),
    d.shareProto,
    SHARE_PROTOCOLS,
  )
  out.size = parseSize(opts.size, d.size, MAX_SIZE_GIB)
  for (const [key, fallback] of [
    ['share_type', d.shareType],
    ['share_network', d.shareNetwork],
    ['availability_zone', d.availabilityZone],
  ] as const) {
    const v = opts[key]?.trim() ?? fallback
    if (v && !/^[\w.:@ -]{1,255}$/.test(v))
      throw invalidOption(
        key,
        opts[key],
        'use the name or id of an existing one (letters, digits, _ . : @ - and spaces)',
      )
    if (v) out[key] = v
  }
  for (const key of ['snapshot_id', 'volume_id'] as const) {
    const v = opts[key]?.trim()
    if (v === undefined) continue
    if (!UUID.test(v)) throw invalidOption(key, opts[key], 'use the id (a UUID) of an existing one')
    out[key] = v
  }
  if (out.snapshot_id && out.volume_id)
    throw new InvalidRequestError(
      'options snapshot_id and volume_id exclude each other: a share is either made from a snapshot or adopted',
      'INVALID_OPTION',
    )
  if (opts.description !== undefined) {
    if (opts.description.length > 255)
      throw invalidOption(
        'description',
        `${opts.description.slice(0, 20)}…`,
        'use at most 255 characters',
      )
    out.description = opts.description
  }
  Object.assign(out, parseMountFlags(opts))
  return out
}
