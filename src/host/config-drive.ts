import { mkdtemp, readFile, rmdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { VolumeStateError } from '../errors.ts'
import type { Exec } from './exec.ts'
import type { Host } from './host.ts'

/** Nova labels an instance's config drive (iso9660 or vfat) like this. */
export const CONFIG_DRIVE_LABEL = 'config-2'
const META_DATA = 'openstack/latest/meta_data.json'

/**
 * This instance's `uuid` from its config drive, or undefined when it has none. A drive already
 * mounted (e.g. by cloud-init) is read where it is; otherwise it is mounted read-only in a temp
 * directory under `tmpRoot` for the read, and unmounted again.
 */
export async function configDriveInstanceId(
  exec: Exec,
  host: Pick<Host, 'mounts' | 'unmount'>,
  tmpRoot: string,
): Promise<string | undefined> {
  // -c /dev/null: scan the devices, not blkid's cache; exit 2: no such label. A device just
  // detached can still answer for a moment: only one with a size counts.
  const found = await exec.run(
    'blkid',
    ['-c', '/dev/null', '-t', `LABEL=${CONFIG_DRIVE_LABEL}`, '-o', 'device'],
    { okExitCodes: [2] },
  )
  let device: string | undefined
  for (const d of found.stdout.split('\n').filter(Boolean)) {
    const size = await readFile(`/sys/class/block/${basename(d)}/size`, 'utf8').catch(() => '0')
    if (Number(size) > 0) {
      device = d
      break
    }
  }
  if (!device) return undefined
  const uuidIn = async (dir: string) => {
    const md = JSON.parse(await readFile(join(dir, META_DATA), 'utf8')) as { uuid?: unknown }
    if (typeof md.uuid !== 'string' || !md.uuid)
      throw new VolumeStateError(`${device}: ${META_DATA} has no uuid`)
    return md.uuid
  }
  const mounted = (await host.mounts()).find((m) => m.source === device)
  if (mounted) return uuidIn(mounted.mountPoint)
  const dir = await mkdtemp(join(tmpRoot, 'config-drive-'))
  try {
    await exec.run('mount', ['-o', 'ro', device, dir])
    try {
      return await uuidIn(dir)
    } finally {
      await host.unmount(dir)
    }
  } finally {
    await rmdir(dir)
  }
}
