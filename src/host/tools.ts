import { access, constants, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** Where a command is found: PATH, then the sbin folders root's PATH has (fuxi runs as root). */
export async function findTool(
  name: string,
  path = process.env.PATH ?? '',
): Promise<string | undefined> {
  const dirs = [...path.split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin']
  for (const dir of dirs) {
    const file = join(dir, name)
    if (
      await access(file, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return file
  }
  return undefined
}

/** A file's permission bits and kind, or undefined when it does not exist. */
export async function fileMode(
  file: string,
): Promise<{ mode: number; socket: boolean; uid: number } | undefined> {
  const st = await stat(file).catch(() => undefined)
  return st && { mode: st.mode & 0o777, socket: st.isSocket(), uid: st.uid }
}

/** Whether the kernel can mount `fstype` now (built in or loaded: /proc/filesystems). */
export async function kernelHasFilesystem(
  fstype: string,
  read: (f: string) => Promise<string>,
): Promise<boolean> {
  const text = await read('/proc/filesystems').catch(() => '')
  return text.split('\n').some((l) => l.trim().split(/\s+/).pop() === fstype)
}
