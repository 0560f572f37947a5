import { chmod, lstat, mkdir, unlink } from 'node:fs/promises'
import { connect } from 'node:net'
import { dirname } from 'node:path'
import { VolumeStateError } from '../errors.ts'

/**
 * Makes `path` ready to listen on: the directory exists (0700, as dockerd's own), a stale socket
 * left by a dead daemon is removed, but a live one (another fuxi) or a non-socket file is refused.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const st = await lstat(path).catch(() => undefined)
  if (!st) return
  if (!st.isSocket()) throw new VolumeStateError(`${path} exists and is not a socket; move it away`)
  if (await isListening(path))
    throw new VolumeStateError(
      `another process is already serving ${path}; stop it first (is fuxi already running?)`,
    )
  await unlink(path)
}

/** Root only: anyone who can reach the socket can delete volumes. */
export async function restrictSocket(path: string): Promise<void> {
  await chmod(path, 0o600)
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path)
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}
