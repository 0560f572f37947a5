import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { VolumeStateError } from '../errors.ts'
import { removeIfExists, writeFileAtomic } from '../host/files.ts'
import type { Logger } from '../log.ts'
import { validateVolumeName } from './names.ts'
import type { VolumeRecord } from './record.ts'

const RECORD_VERSION = 1

/** One small JSON file per volume under `<state_dir>/volumes/`, written atomically. */
export interface Journal {
  readAll(): Promise<VolumeRecord[]>
  write(record: VolumeRecord): Promise<void>
  remove(name: string): Promise<void>
}

export function createJournal(dir: string, log: Logger): Journal {
  const file = (name: string) => join(dir, `${validateVolumeName(name)}.json`)
  return {
    async readAll() {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const names = (await readdir(dir)).filter((f) => f.endsWith('.json'))
      const read = await Promise.all(
        names.map(async (f) => {
          try {
            const parsed = JSON.parse(await readFile(join(dir, f), 'utf8')) as {
              v?: number
              record?: VolumeRecord
            }
            if (parsed.v !== RECORD_VERSION || !parsed.record?.name)
              throw new VolumeStateError(`unsupported record version ${parsed.v}`)
            return parsed.record
          } catch (err) {
            // Keep the file for the operator; never guess at a volume's state.
            log.error(
              { err, file: join(dir, f) },
              'unreadable journal record skipped; inspect or remove it',
            )
            return undefined
          }
        }),
      )
      const records = read.filter((r): r is VolumeRecord => r !== undefined)
      return records
    },
    async write(record) {
      await writeFileAtomic(
        file(record.name),
        `${JSON.stringify({ v: RECORD_VERSION, record }, null, 1)}\n`,
      )
    },
    async remove(name) {
      await removeIfExists(file(name))
    },
  }
}
