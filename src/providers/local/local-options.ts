import { FSTYPES } from '../../config/schema.ts'
import { LAYOUT_OPTIONS, parseLayoutOptions } from '../../volumes/layout.ts'
import { parseChoice, parseMountFlags, parseSize, rejectUnknownOptions } from '../option-checks.ts'

export interface LocalOptionDefaults {
  readonly size: number
  readonly maxSize: number
  readonly fstype: string
}

export const LOCAL_OPTIONS = [
  'size',
  'fstype',
  'suid',
  'dev',
  ...LAYOUT_OPTIONS,
  'volume_provider',
] as const

/** `-o` options of a local volume: size in GiB (whole number), fstype ext4|xfs, suid, dev, layout. */
export function parseLocalOptions(
  opts: Readonly<Record<string, string>>,
  d: LocalOptionDefaults,
): Record<string, string> {
  rejectUnknownOptions(opts, LOCAL_OPTIONS, 'local')
  return {
    size: parseSize(opts.size, d.size, d.maxSize),
    fstype: parseChoice('fstype', opts.fstype, d.fstype, FSTYPES),
    ...parseMountFlags(opts),
    ...parseLayoutOptions(opts),
  }
}
