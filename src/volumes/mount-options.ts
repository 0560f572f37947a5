import { VolumeStateError } from '../errors.ts'
import { invalidOption } from '../providers/option-checks.ts'
import { LAYOUT_OPTIONS } from './layout.ts'

/**
 * `-o mount_options=noatime,discard`: per-volume mount options of a block volume (local, Cinder),
 * from an allow-list. Left out on purpose: what weakens safety or fuxi's own choices (rw/ro,
 * suid/dev/exec, nobarrier, data=writeback, errors=continue, norecovery/noload, remount, bind).
 * Kept with the volume (Cinder metadata, local metadata) so every host mounts it alike.
 */
export const MOUNT_OPTIONS_KEY = 'fuxi_mount_options'

/** The create options every block volume (local, Cinder) takes for how it is mounted and shown. */
export const BLOCK_MOUNT_OPTIONS = ['suid', 'dev', 'mount_options', ...LAYOUT_OPTIONS] as const

type Rule = RegExp | true

const ANY: Record<string, Rule> = {
  noatime: true,
  nodiratime: true,
  relatime: true,
  strictatime: true,
  lazytime: true,
  discard: true,
  noexec: true,
  sync: true,
  dirsync: true,
}

const BY_FSTYPE: Record<string, Record<string, Rule>> = {
  ext4: {
    commit: /^([1-9]|[1-9]\d|[12]\d\d|300)$/,
    data: /^(ordered|journal)$/,
    journal_checksum: true,
    nodelalloc: true,
    stripe: /^[1-9]\d{0,6}$/,
  },
  xfs: {
    inode64: true,
    largeio: true,
    filestreams: true,
    wsync: true,
    allocsize: /^[1-9]\d{0,6}[kmg]$/,
    logbufs: /^[2-8]$/,
    logbsize: /^(16|32|64|128|256)k$/,
  },
}

/** The options `fstype` accepts, as the refusal lists them (`commit=N`…). */
function allowedFor(fstype: string): string[] {
  const rules = { ...ANY, ...BY_FSTYPE[fstype] }
  return Object.entries(rules).map(([k, r]) => (r === true ? k : `${k}=…`))
}

/** Validates `-o mount_options` for a volume of `fstype`; the normalized list, comma-separated. */
export function parseMountOptionList(value: string, fstype: string): string {
  const rules = { ...ANY, ...BY_FSTYPE[fstype] }
  const out: string[] = []
  for (const item of value.split(',').map((s) => s.trim())) {
    if (!item) continue
    const eq = item.indexOf('=')
    const key = eq < 0 ? item : item.slice(0, eq)
    const rule = Object.hasOwn(rules, key) ? rules[key] : undefined
    const ok =
      rule === true ? eq < 0 : rule !== undefined && eq > 0 && rule.test(item.slice(eq + 1))
    if (!ok)
      throw invalidOption(
        'mount_options',
        value,
        `"${item}" is not allowed on ${fstype}; allowed: ${allowedFor(fstype).join(', ')}`,
      )
    if (!out.includes(item)) out.push(item)
  }
  return out.join(',')
}

/**
 * A volume's kept mount options as a list ('' or undefined: none), checked again: metadata can be
 * edited by anyone with access to the volume, and a mount must not take what Create refuses.
 */
export function keptMountOptions(kept: string | undefined, fstype: string): string[] {
  if (!kept) return []
  try {
    return parseMountOptionList(kept, fstype).split(',').filter(Boolean)
  } catch (e) {
    throw new VolumeStateError(
      `the volume's ${MOUNT_OPTIONS_KEY} metadata holds options fuxi does not mount with (${(e as Error).message}); correct or delete that metadata key`,
    )
  }
}
