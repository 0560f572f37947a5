import { mkdir, rmdir } from 'node:fs/promises'
import { VolumeStateError } from '../errors.ts'
import type { Host } from '../host/host.ts'
import type { Logger } from '../log.ts'
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
  await rmdir(mountpoint).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') log.warn({ err: e, mountpoint }, 'mountpoint directory not removed')
  })
}

/** Mounts `device` at `mountpoint` unless it is already mounted there; refuses another source. */
export async function mountOnce(
  host: Host,
  device: string,
  mountpoint: string,
  fstype: string,
  ctx: OpContext,
): Promise<void> {
  await ctx.step('mounting')
  const current = await host.mountAt(mountpoint)
  if (current && current.source !== device)
    throw new VolumeStateError(
      `${mountpoint} already has ${current.source} mounted; unmount it and retry`,
    )
  if (!current) {
    await mkdir(mountpoint, { recursive: true, mode: 0o755 })
    await host.mount(device, mountpoint, fstype)
  }
}
