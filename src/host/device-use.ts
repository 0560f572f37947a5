import { constants } from 'node:fs'
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import type { MountEntry } from './mountinfo.ts'

/** Linux's encoding of a device number (glibc's gnu_dev_major/minor). */
export function majorMinor(rdev: number): string {
  const major = Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn)
  const minor = Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn)
  return `${major}:${minor}`
}

/**
 * Why a block device must not be formatted or mounted, or undefined when it is free: mounted
 * (here, by device number), swap, holding partitions, held by LVM/md/dm, or claimed by the kernel
 * in a way this mount namespace does not show (an exclusive open fails with EBUSY: mounted in
 * another namespace).
 */
export async function deviceInUse(
  device: string,
  o: { mounts: () => Promise<MountEntry[]>; sysRoot?: string; procRoot?: string },
): Promise<string | undefined> {
  const sys = o.sysRoot ?? '/sys'
  const proc = o.procRoot ?? '/proc'
  const real = await realpath(device).catch(() => device)
  const st = await stat(real).catch(() => undefined)
  if (!st?.isBlockDevice()) return `${device} is not a block device`
  const dev = majorMinor(st.rdev)
  const name = basename(real)
  const block = `${sys}/class/block/${name}`
  const holders = await readdir(`${block}/holders`).catch(() => [] as string[])
  if (holders.length)
    return `${real} is held by ${holders.map((h) => `/dev/${h}`).join(', ')} (LVM, md or dm)`
  const entries = await readdir(block).catch(() => [] as string[])
  const partitions: string[] = []
  for (const e of entries.filter((x) => x.startsWith(name) && x !== name))
    if (await stat(`${block}/${e}/partition`).catch(() => undefined)) partitions.push(`/dev/${e}`)
  if (partitions.length) return `${real} holds partitions (${partitions.join(', ')})`
  const swaps = await readFile(`${proc}/swaps`, 'utf8').catch(() => '')
  for (const line of swaps.split('\n').slice(1)) {
    const file = line.split(/\s+/)[0]
    if (file && (file === real || (await realpath(file).catch(() => file)) === real))
      return `${real} is in use as swap`
  }
  const mounted = (await o.mounts()).filter((m) => m.dev === dev)
  if (mounted.length) return `${real} is mounted at ${mounted.map((m) => m.mountPoint).join(', ')}`
  try {
    const fh = await open(real, constants.O_RDONLY | constants.O_EXCL)
    await fh.close()
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EBUSY')
      return `${real} is in use (mounted in another mount namespace, or claimed by the kernel)`
  }
  return undefined
}
