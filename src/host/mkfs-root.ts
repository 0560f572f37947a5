import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A folder a new filesystem is born with (the one a volume hands to Docker). */
export interface DataDirSpec {
  readonly name: string
  readonly uid: number
  readonly gid: number
  readonly mode: number
}

/**
 * Runs `fn` with the mkfs arguments that make `dir` part of the new filesystem, so it exists from
 * the format on (a host that mounts the volume read-only right after finds it too): ext4 copies
 * it from a staging folder (`-d`), xfs reads a prototype file (`-p`).
 */
export async function withRootContents(
  fsType: string,
  dir: DataDirSpec | undefined,
  fn: (args: string[]) => Promise<void>,
): Promise<void> {
  if (!dir) return fn([])
  const staging = await mkdtemp(join(tmpdir(), 'fuxi-mkfs-'))
  try {
    if (fsType === 'xfs') {
      const proto = join(staging, 'proto')
      const mode = dir.mode.toString(8).padStart(3, '0')
      // boot image line, block/inode counts (ignored), root, one directory, end of each level.
      await writeFile(
        proto,
        `fuxi\n0 0\nd--755 0 0\n${dir.name} d--${mode} ${dir.uid} ${dir.gid}\n$\n$\n`,
      )
      return await fn(['-p', proto])
    }
    const root = join(staging, 'root')
    await mkdir(join(root, dir.name), { recursive: true })
    await chmod(root, 0o755)
    await chown(join(root, dir.name), dir.uid, dir.gid)
    await chmod(join(root, dir.name), dir.mode)
    return await fn(['-d', root])
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}
