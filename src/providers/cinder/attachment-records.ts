import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { removeIfExists, writeFileAtomic } from '../../host/files.ts'
import type { ConnectionInfo } from '../../openstack/cinder.ts'
import { validateVolumeName } from '../../volumes/names.ts'
import type { Mode } from './attach-state.ts'

/** This host's attachment of one volume, as fuxi made it (Cinder hides hosts from non-admins). */
export interface AttachmentRecord {
  readonly volumeId: string
  readonly attachmentId: string
  readonly connectionInfo: ConnectionInfo
  /** False from the attachment's creation until Cinder has completed it. */
  readonly completed: boolean
  /** How this host uses it (records from before modes: read-write). */
  readonly mode?: Mode
}

/** One small JSON file per attached volume under `<state_dir>/cinder`: written atomically. */
export function attachmentRecords(dir: string) {
  const file = (name: string) => join(dir, `${validateVolumeName(name)}.json`)
  return {
    async read(name: string): Promise<AttachmentRecord | undefined> {
      try {
        return JSON.parse(await readFile(file(name), 'utf8')) as AttachmentRecord
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw e
      }
    },
    async write(name: string, r: AttachmentRecord): Promise<void> {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      await writeFileAtomic(file(name), `${JSON.stringify(r)}\n`)
    },
    drop: (name: string) => removeIfExists(file(name)),
    /** Names with a record: the volumes this host has attached (one directory read). */
    async names(): Promise<Set<string>> {
      const files = await readdir(dir).catch(() => [] as string[])
      return new Set(files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)))
    },
  }
}
