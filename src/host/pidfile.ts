import { readFileSync } from 'node:fs'
import { readFile, unlink } from 'node:fs/promises'
import { VolumeStateError } from '../errors.ts'
import { writeFileAtomic } from './files.ts'

/**
 * One daemon per state directory: `<state_dir>/fuxi.pid`. A pid file whose process is gone (a
 * crash, kill -9) is taken over; a live one is refused. The check and the write happen under
 * `exclusive` (a file lock), so two daemons starting at once cannot both take it.
 */
export async function acquirePidFile(
  path: string,
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<() => Promise<void>> {
  await exclusive(async () => {
    const old = await readFile(path, 'utf8').catch(() => '')
    const pid = Number.parseInt(old, 10)
    if (pid > 0 && pid !== process.pid && isAlive(pid) && isFuxi(pid))
      throw new VolumeStateError(
        `another fuxi daemon (pid ${pid}) uses this state directory (${path}); stop it first`,
      )
    await writeFileAtomic(path, `${process.pid}\n`, 0o644)
  })
  return async () => {
    const now = await readFile(path, 'utf8').catch(() => '')
    if (Number.parseInt(now, 10) === process.pid) await unlink(path).catch(() => undefined)
  }
}

/** A pid from a stale file may belong to an unrelated process by now. */
function isFuxi(pid: number): boolean {
  try {
    return /fuxi/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))
  } catch {
    return true // cannot tell: be safe and refuse
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
