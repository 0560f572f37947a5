import { ensureDataDir } from '../host/files.ts'
import type { Logger } from '../log.ts'
import { dataPath, layoutOf } from './layout.ts'

/**
 * After a mount: the folder Docker gets (layout.ts), made with its owner and mode the first time
 * (right after the first format, or when someone removed it), used as it is afterwards.
 */
export async function dataFolder(
  mountpoint: string,
  options: Readonly<Record<string, string>>,
  log: Logger,
): Promise<string> {
  const path = dataPath(mountpoint, options)
  if (path === mountpoint) return path
  const layout = layoutOf(options)
  if ((await ensureDataDir(path, layout)) === 'made')
    log.info(
      { path, uid: layout.uid, gid: layout.gid, mode: layout.mode?.toString(8) },
      'made the folder handed to Docker',
    )
  return path
}
