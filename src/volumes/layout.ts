import { join } from 'node:path'
import type { DataDirSpec } from '../host/mkfs-root.ts'
import { invalidOption } from '../providers/option-checks.ts'

/**
 * The folder a block volume (local, Cinder) hands to Docker: by default `data/` inside the
 * filesystem, not its root, whose `lost+found` makes initdb and other "empty directory" checks
 * refuse it. `-o subdir=` (empty) hands the root, as volumes made before did; `uid`, `gid` and
 * `mode` are given to that folder when fuxi makes it (after the first format), never again.
 */
export const LAYOUT_OPTIONS = ['subdir', 'uid', 'gid', 'mode'] as const
export const DEFAULT_SUBDIR = 'data'
/** Where a volume keeps its layout: Cinder metadata key, local image metadata field. */
export const LAYOUT_KEY = 'fuxi_layout'

export interface Layout {
  /** '' for the filesystem's root. */
  readonly subdir: string
  readonly uid?: number
  readonly gid?: number
  readonly mode?: number
}

const MAX_ID = 4294967294

/** Validates the layout create options; a new volume gets `subdir=data` unless it says otherwise. */
export function parseLayoutOptions(opts: Readonly<Record<string, string>>): Record<string, string> {
  const subdir = opts.subdir?.trim() ?? DEFAULT_SUBDIR
  if (subdir !== '' && (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(subdir) || subdir.includes('..')))
    throw invalidOption(
      'subdir',
      opts.subdir,
      'use a folder name (letters, digits, . _ -, up to 64 characters, no slash), or -o subdir= for the filesystem root',
    )
  const out: Record<string, string> = { subdir }
  for (const key of ['uid', 'gid'] as const) {
    const v = opts[key]?.trim()
    if (v === undefined) continue
    if (!/^\d{1,10}$/.test(v) || Number(v) > MAX_ID)
      throw invalidOption(
        key,
        opts[key],
        `use a numeric ${key} from 0 to ${MAX_ID} (e.g. -o ${key}=999)`,
      )
    out[key] = String(Number(v))
  }
  const mode = opts.mode?.trim()
  if (mode !== undefined) {
    if (!/^0?[0-7]{3}$/.test(mode))
      throw invalidOption(
        'mode',
        opts.mode,
        'use three octal digits, e.g. -o mode=0700 or -o mode=755',
      )
    out.mode = mode.padStart(4, '0')
  }
  if (subdir === '' && Object.keys(out).length > 1)
    throw invalidOption(
      'subdir',
      opts.subdir,
      'uid, gid and mode apply to the data folder fuxi makes: give a subdir, or leave them out',
    )
  return out
}

/** The layout a volume's options describe; no `subdir` option (volumes made before): the root. */
export function layoutOf(options: Readonly<Record<string, string>>): Layout {
  const num = (v: string | undefined, base = 10) =>
    v === undefined ? undefined : parseInt(v, base)
  const uid = num(options.uid)
  const gid = num(options.gid)
  const mode = num(options.mode, 8)
  return {
    subdir: options.subdir ?? '',
    ...(uid === undefined ? {} : { uid }),
    ...(gid === undefined ? {} : { gid }),
    ...(mode === undefined ? {} : { mode }),
  }
}

/** The folder mkfs makes for this layout (none for the root). */
export function dataDirSpec(options: Readonly<Record<string, string>>): DataDirSpec | undefined {
  const l = layoutOf(options)
  return l.subdir
    ? { name: l.subdir, uid: l.uid ?? 0, gid: l.gid ?? 0, mode: l.mode ?? 0o755 }
    : undefined
}

/** The path Docker gets for a volume mounted at `mountpoint`. */
export const dataPath = (mountpoint: string, options: Readonly<Record<string, string>>): string => {
  const { subdir } = layoutOf(options)
  return subdir ? join(mountpoint, subdir) : mountpoint
}

/** The layout options as LAYOUT_KEY keeps them: `subdir=data,uid=999,mode=0700`; '' when none. */
export const encodeLayout = (options: Readonly<Record<string, string>>): string =>
  LAYOUT_OPTIONS.filter((k) => options[k] !== undefined)
    .map((k) => `${k}=${options[k]}`)
    .join(',')

/** LAYOUT_KEY's value as create options; undefined or unreadable (made before): none. */
export function layoutOptions(encoded: string | undefined): Record<string, string> {
  if (!encoded) return {}
  const out: Record<string, string> = {}
  for (const part of encoded.split(',')) {
    const eq = part.indexOf('=')
    const key = part.slice(0, eq)
    if (eq > 0 && (LAYOUT_OPTIONS as readonly string[]).includes(key)) out[key] = part.slice(eq + 1)
  }
  try {
    return parseLayoutOptions(out)
  } catch {
    // Edited by hand into something invalid: hand the root, as for a volume made before.
    return {}
  }
}
