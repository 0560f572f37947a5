import { open } from 'node:fs/promises'
import { InvalidRequestError } from '../../errors.ts'
import type { Host } from '../../host/host.ts'
import type { Logger } from '../../log.ts'
import type { LocalMeta } from './local-meta.ts'

const GIB = 1024 ** 3

/**
 * Grows a local volume to `size` GiB: the image file, then every loop device on it (losetup -c),
 * then the filesystem when it is mounted here (resize2fs, xfs_growfs: online); a filesystem not
 * mounted now is grown at its next mount (`growPending`). Never shrinks.
 */
export async function resizeLocal(
  d: {
    host: Host
    image: string
    maxSize: number
    writeMeta(meta: LocalMeta): Promise<void>
  },
  o: { name: string; meta: LocalMeta; size: number; mountpoint: string | undefined; log: Logger },
): Promise<LocalMeta> {
  const current = Number(o.meta.size)
  if (o.size < current)
    throw new InvalidRequestError(
      `volume "${o.name}" is ${current} GiB: fuxi grows volumes and never shrinks them (a smaller filesystem would cut off data); give a size of at least ${current}`,
      'INVALID_OPTION',
    )
  if (o.size > d.maxSize)
    throw new InvalidRequestError(
      `${o.size} GiB is over [local] max_volume_size (${d.maxSize}); raise it in fuxi.conf to grow further`,
      'INVALID_OPTION',
    )
  let meta = o.meta
  if (o.size > current) {
    const fh = await open(d.image, 'r+')
    try {
      await fh.truncate(o.size * GIB)
      await fh.sync()
    } finally {
      await fh.close()
    }
    meta = { ...meta, size: String(o.size), ...(meta.formatted ? { growPending: true } : {}) }
    await d.writeMeta(meta)
    o.log.info({ from: current, to: o.size }, 'image grown')
  }
  for (const device of await d.host.loopDevicesFor(d.image))
    await d.host.refreshLoopCapacity(device)
  if (!o.mountpoint || !meta.growPending) return meta
  // Online growth can be refused (resize2fs needs CAP_SYS_RESOURCE): the volume has grown, and
  // its filesystem grows at the next mount instead.
  return growMounted(d, meta, o.mountpoint, o.log).catch((err: unknown) => {
    o.log.warn({ err }, 'filesystem not grown while mounted: it grows at the next mount')
    return meta
  })
}

/**
 * Grows the filesystem to its device, and clears `growPending`: on `device` before it is mounted
 * (ext4, offline), or at `mountpoint` once it is (xfs, or a resize of a mounted volume).
 */
export async function growMounted(
  d: { host: Host; writeMeta(meta: LocalMeta): Promise<void> },
  meta: LocalMeta,
  mountpoint: string | { device: string },
  log: Logger,
): Promise<LocalMeta> {
  const mounted =
    typeof mountpoint === 'string' ? (await d.host.mountAt(mountpoint))?.source : mountpoint.device
  if (!mounted) return meta
  await d.host.growFilesystem(
    mounted,
    typeof mountpoint === 'string' ? mountpoint : undefined,
    meta.fstype,
  )
  const { growPending: _, ...grown } = meta
  await d.writeMeta(grown)
  log.info({ device: mounted, fstype: meta.fstype, size: meta.size }, 'filesystem grown')
  return grown
}
