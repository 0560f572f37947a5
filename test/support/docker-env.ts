import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { Daemon } from './daemon.ts'
import { Dockerd } from './dockerd.ts'
import { cleanupUnder, leaksUnder } from './host-cleanup.ts'

export const DOCKER_SKIP =
  process.getuid?.() !== 0
    ? 'docker tier needs root'
    : process.env.FUXI_SKIP_DOCKER === '1'
      ? 'FUXI_SKIP_DOCKER=1 was set'
      : false

/** A private dockerd plus a fuxi daemon registered under a unique plugin name. */
export interface DockerEnv {
  dockerd: Dockerd
  fuxi: Daemon
  /** The `-d` value. */
  driver: string
  dir: string
  leaks(): { mounts: string[]; loops: string[] }
  close(): Promise<void>
}

export async function startDockerEnv(): Promise<DockerEnv> {
  await mkdir('/var/lib/fuxi-test', { recursive: true })
  const dir = await mkdtemp('/var/lib/fuxi-test/fuxi-')
  const driver = `fxt${randomBytes(3).toString('hex')}`
  const dockerd = await Dockerd.start()
  const fuxi = await Daemon.create(dir, {
    socket: `/run/docker/plugins/${driver}.sock`,
    extra: `docker_socket = ${dockerd.socket}\n`,
  })
  await fuxi.start()
  await dockerd.ensureImage()
  return {
    dockerd,
    fuxi,
    driver,
    dir,
    leaks: () => leaksUnder(dir),
    async close() {
      await dockerd.stop()
      await fuxi.stop()
      cleanupUnder(dir)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Registers before/after hooks for a suite; the returned getter gives the running env. */
export function useDockerEnv(
  before: (fn: () => Promise<void>) => void,
  after: (fn: () => Promise<void>) => void,
): () => DockerEnv {
  let env: DockerEnv | undefined
  before(async () => {
    env = await startDockerEnv()
  })
  after(async () => {
    await env?.close()
  })
  return () => {
    if (!env) throw new Error('docker env not started')
    return env
  }
}
