import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { TestContext } from 'node:test'
import { createLogger, type Logger } from '../../src/log.ts'

/**
 * A temp directory removed after the test. `before` runs first (stop daemons, unmount): removing
 * a tree with a live mount inside would delete the volume's files and then fail with EBUSY.
 */
export async function tmpDir(
  t: TestContext,
  prefix = 'fuxi-test-',
  before?: () => Promise<void> | void,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(async () => {
    try {
      await before?.()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
  return dir
}

/** A logger whose JSON lines are kept for assertions. */
export function memoryLogger(level = 'debug'): {
  log: Logger
  lines: () => Record<string, unknown>[]
} {
  const chunks: string[] = []
  const sink = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk))
      cb()
    },
  })
  const log = createLogger({ level }, sink)
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  }
}
