import { randomBytes } from 'node:crypto'
import { chmod, chown, lstat, mkdir, open, rename, rmdir, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { VolumeStateError } from '../errors.ts'

/**
 * Writes `data` so that readers see either the old or the new file, never a mix, even after a
 * crash: temp file in the same directory, fsync, rename, fsync of the directory.
 */
export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const fh = await open(tmp, 'wx', mode)
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
  } catch (e) {
    // a failed write (a full disk) or rename leaves no temp file behind
    await unlink(tmp).catch(() => undefined)
    throw diskError(e, dirname(path))
  }
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/** Errors of a full or read-only disk, said as what to fix; others as they are. */
function diskError(e: unknown, dir: string): unknown {
  const code = (e as NodeJS.ErrnoException).code
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new VolumeStateError(
      `no space left on the device of ${dir} (fuxi's state directory): free some space there and retry`,
      { cause: e },
    )
  if (code === 'EROFS')
    return new VolumeStateError(
      `${dir} is on a read-only filesystem: fuxi's state directory must be writable`,
      { cause: e },
    )
  return e
}

/** unlink that treats "already gone" as done. */
export async function removeIfExists(path: string): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e
  })
}

/** Makes a directory and its missing parents, root only (0700); an existing one is kept as is. */
export async function makePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 })
}

/** rmdir that treats "already gone" as done (a directory that is not empty still fails). */
export async function removeDirIfExists(path: string): Promise<void> {
  await rmdir(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e
  })
}

/** A name that is a file in its directory and nothing more: no "/", no "..", no leading dot. */
export function isPlainFileName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(name) && !name.includes('..')
}

/**
 * The folder a volume hands to Docker inside its mounted filesystem: made (with `uid`, `gid`,
 * `mode`) when missing, used as it is when a directory, refused when anything else is there: a
 * symlink in a filesystem containers write could point Docker's bind at any host path.
 */
export async function ensureDataDir(
  path: string,
  o: { uid?: number | undefined; gid?: number | undefined; mode?: number | undefined },
): Promise<'made' | 'found'> {
  const st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined
    throw e
  })
  if (st?.isDirectory()) return 'found'
  if (st)
    throw new VolumeStateError(
      `${path} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; fuxi hands Docker only a real folder there: move it away inside the volume (or create the volume with -o subdir=)`,
    )
  await mkdir(path, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EROFS') throw e
    throw new VolumeStateError(
      `${path} is missing and the volume is mounted read-only on this host, so fuxi cannot make it: mount the volume where it is written first (or create volumes that are only read with -o subdir=)`,
    )
  })
  if (o.uid !== undefined || o.gid !== undefined) await chown(path, o.uid ?? 0, o.gid ?? 0)
  // mkdir's mode passes through the umask; chmod sets it as asked.
  await chmod(path, o.mode ?? 0o755)
  return 'made'
}
