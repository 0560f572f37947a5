import { FSTYPES } from '../../config/schema.ts'
import { parseLayoutOptions } from '../../volumes/layout.ts'
import { BLOCK_MOUNT_OPTIONS, parseMountOptionList } from '../../volumes/mount-options.ts'
import { parseChoice, parseMountFlags, parseSize, rejectUnknownOptions } from '../option-checks.ts'

export interface LocalOptionDefaults {
  readonly size: number
  readonly maxSize: number
  readonly fstype: string
}

export const LOCAL_OPTIONS = ['size', 'fstype', ...BLOCK_MOUNT_OPTIONS, 'volume_provider'] as const

/** `-o` options of a local volume: size in GiB (whole number), fstype ext4|xfs, suid, dev, mount_options, layout. */
export function parseLocalOptions(
  opts: Readonly<Record<string, string>>,
  d: LocalOptionDefaults,
): Record<string, string> {
  rejectUnknownOptions(opts, LOCAL_OPTIONS, 'local')
  const fstype = parseChoice('fstype', opts.fstype, d.fstype, FSTYPES)
  const mountOpts = opts.mount_options && parseMountOptionList(opts.mount_options, fstype)
  return {
    size: parseSize(opts.size, d.size, d.maxSize),
    fstype,
    ...parseMountFlags(opts),
    ...(mountOpts ? { mount_options: mountOpts } : {}),
    ...parseLayoutOptions(opts),
  }
}
