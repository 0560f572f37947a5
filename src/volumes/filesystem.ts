import { VolumeStateError } from '../errors.ts'
import { makePrivateDir, removeDirIfExists } from '../host/files.ts'
import type { Host } from '../host/host.ts'
import type { Logger } from '../log.ts'
import { dataDirSpec } from './layout.ts'
import type { OpContext } from './provider.ts'

/**
 * Format only a device fuxi never formatted and on which blkid finds no signature — or one fuxi
 * itself was formatting when it died. Never because a mount failed. Returns the filesystem to
 * mount; the caller records that the volume is now formatted.
 */
export async function ensureFilesystem(
  host: Host,
  o: {
    name: string
    device: string
    /** The filesystem to make on a blank device. */
    fstype: string
    /** The caller knows the device is blank (e.g. a never-written sparse file): skip blkid. */
    knownBlank?: boolean
    /** The volume's options: its layout's folder is made by mkfs (layout.ts). */
    options?: Readonly<Record<string, string>>
  },
  ctx: OpContext,
): Promise<string> {
  const found = o.knownBlank ? 'none' : await host.probeFilesystem(o.device)
  const resumingFormat = ctx.interruptedAt === 'formatting'
  if (found === 'none' || resumingFormat) {
    await ctx.step('formatting')
    ctx.log.info({ device: o.device, fstype: o.fstype, resumingFormat }, 'formatting new volume')
    await host.makeFilesystem(o.device, o.fstype, {
      force: found !== 'none',
      label: o.name.slice(0, 12),
      dataDir: dataDirSpec(o.options ?? {}),
    })
    return o.fstype
  }
  if (found === 'unknown')
    throw new VolumeStateError(
      `volume "${o.name}" has data fuxi does not recognise (a signature without a filesystem type); not formatting or mounting it`,
    )
  ctx.log.warn(
    { device: o.device, found },
    'existing filesystem found on a volume fuxi never formatted; using it as is',
  )
  return found
}

/** Removes an (unmounted) mountpoint directory; a leftover is logged, never fatal. */
export async function removeMountpoint(mountpoint: string, log: Logger): Promise<void> {
  await removeDirIfExists(mountpoint).catch((err: unknown) =>
    log.warn({ err, mountpoint }, 'mountpoint directory not removed'),
  )
}

/**
 * Where a volume keeps the mount flags it opted back into (`-o suid=true`, `-o dev=true`): the
 * Cinder or Manila metadata key, or the local image's metadata field.
 */
export const MOUNT_FLAGS_KEY = 'fuxi_mount_flags'

/** The mount flags create options opt back into (`-o suid=true` → "suid"), as MOUNT_FLAGS_KEY keeps them. */
export const mountFlagsOf = (options: Readonly<Record<string, string>>): string =>
  ['suid', 'dev'].filter((f) => options[f] === 'true').join(',')

/** A volume's opted-out flags as Docker options (`{ suid: 'true' }`), from MOUNT_FLAGS_KEY's value. */
export const mountFlagOptions = (flags = ''): Record<string, string> =>
  Object.fromEntries(
    flags
      .split(',')
      .filter(Boolean)
      .map((f) => [f, 'true']),
  )

/**
 * The mount options of a volume: nosuid and nodev unless it opted out (`flags` lists `suid`,
 * `dev`), its own allowed options, and read-only without touching the journal when `mode` is ro (ext4 noload, xfs
 * norecovery: a read-only mount must not replay a log another host is writing).
 */
export function mountOptions(
  fstype: string,
  mode: 'rw' | 'ro',
  flags = '',
  /** The volume's own options (`-o mount_options`, checked: mount-options.ts). */
  extra: readonly string[] = [],
): string[] {
  const allowed = flags.split(',')
  const out = [
    ...(allowed.includes('suid') ? [] : ['nosuid']),
    ...(allowed.includes('dev') ? [] : ['nodev']),
  ]
  if (mode === 'ro') out.push('ro', fstype === 'xfs' ? 'norecovery' : 'noload')
  return [...out, ...extra]
}

/** Mounts `device` at `mountpoint` unless it is already mounted there; refuses another source. */
export async function mountOnce(
  host: Host,
  device: string,
  mountpoint: string,
  fstype: string,
  ctx: OpContext,
  o: { options?: readonly string[] } = {},
): Promise<void> {
  await ctx.step('mounting')
  const current = await host.mountAt(mountpoint)
  if (current && current.source !== device)
    throw new VolumeStateError(
      `${mountpoint} already has ${current.source} mounted; unmount it and retry`,
    )
  if (!current) {
    // Only root reaches volume data through the data root; containers get it by bind mount.
    await makePrivateDir(mountpoint) // and its missing parents, each 0700
    await host.mount(device, mountpoint, fstype, o.options ?? mountOptions(fstype, 'rw'))
  }
}
