import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { parseMountInfo } from '../../src/host/mountinfo.ts'

/**
 * Loop devices and mounts are global: after a host test, unmount everything under `dir` and detach
 * every loop device whose backing file is under it, and say what was left (a leak is a failure).
 */
export function leaksUnder(dir: string): { mounts: string[]; loops: string[] } {
  const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((m) => m.mountPoint)
    .filter((p) => p.startsWith(`${dir}/`))
  const loops: string[] = []
  for (const n of readdirSync('/sys/block').filter((x) => x.startsWith('loop'))) {
    let backing = ''
    try {
      backing = readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8').trim()
    } catch {
      continue
    }
    if (backing.startsWith(`${dir}/`)) loops.push(`/dev/${n}`)
  }
  return { mounts, loops }
}

export function cleanupUnder(dir: string): { mounts: string[]; loops: string[] } {
  const found = leaksUnder(dir)
  for (const m of [...found.mounts].reverse()) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' })
    } catch {
      // gone with a mount above it (umount -l takes the ones below along)
    }
  }
  for (const l of found.loops) {
    try {
      execFileSync('losetup', ['-d', l])
    } catch {
      // already gone
    }
  }
  return found
}

/** Loop devices whose backing file names one of these Cinder volume ids (the dev cloud's driver). */
export function loopsOf(ids: readonly string[]): string[] {
  const out: string[] = []
  for (const n of readdirSync('/sys/block').filter((x) => x.startsWith('loop'))) {
    try {
      const backing = readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8')
      if (ids.some((id) => backing.includes(id))) out.push(`/dev/${n}`)
    } catch {
      // not attached
    }
  }
  return out
}
