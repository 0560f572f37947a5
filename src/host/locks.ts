import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import lockfile from 'proper-lockfile'
import { InternalError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { isPlainFileName } from './files.ts'

/** Serializes work per key: in-process queue first, then a file lock for other processes. */
export interface Locks {
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>
  /** Remove lock files left by a previous daemon (call only while holding the daemon lock). */
  clearStale(): Promise<number>
}

/** How long a file lock may go unrefreshed before another process may take it. */
const STALE_MS = 10_000
const RETRY = { retries: 40, minTimeout: 50, maxTimeout: 500, factor: 1.5 } as const

export function createLocks(dir: string, log: Logger): Locks {
  const tails = new Map<string, Promise<unknown>>()
  const fileLock = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    // Keys become file names: plain names only (no "/", no "..").
    if (!isPlainFileName(key))
      throw new InternalError(`refusing a lock named ${JSON.stringify(key)}`)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const release = await lockfile.lock(join(dir, key), {
      realpath: false,
      stale: STALE_MS,
      retries: RETRY,
      onCompromised: (err) => log.error({ err, lock: key }, 'volume lock compromised; continuing'),
    })
    try {
      return await fn()
    } finally {
      await release().catch((err: unknown) =>
        log.warn({ err, lock: key }, 'releasing volume lock failed'),
      )
    }
  }
  return {
    withLock(key, fn) {
      const prev = tails.get(key) ?? Promise.resolve()
      const run = prev.then(
        () => fileLock(key, fn),
        () => fileLock(key, fn),
      )
      const tail = run.catch(() => undefined)
      tails.set(key, tail)
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key)
      })
      return run
    },
    async clearStale() {
      const entries = await readdir(dir).catch(() => [] as string[])
      const stale = entries.filter((e) => e.endsWith('.lock'))
      await Promise.all(stale.map((e) => rm(join(dir, e), { recursive: true, force: true })))
      return stale.length
    },
  }
}
