import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { Daemon } from './daemon.ts'
import { Dockerd, type DockerResult, TEST_IMAGE } from './dockerd.ts'
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
  /** `docker volume create -d <driver> [-o k=v ...] name`. */
  createVolume(name: string, ...opts: string[]): Promise<string>
  /** Names of this driver's volumes, sorted. */
  listVolumes(): Promise<string[]>
  /** `docker run --rm` of the test image with `volume` at /data. */
  runOnce(volume: string, ...cmd: string[]): Promise<DockerResult>
  /** `docker run -d` of the test image with `volume` at /data; returns the container id. */
  runDetached(volume: string, ...cmd: string[]): Promise<string>
  close(): Promise<void>
}

/**
 * `extra`: fuxi.conf lines after the [DEFAULT] keys the env sets (more keys, then sections);
 * `env`: the fuxi daemon's extra environment (e.g. PATH with test stand-ins first).
 */
export async function startDockerEnv(
  opts: { extra?: string; env?: Record<string, string> } = {},
): Promise<DockerEnv> {
  await mkdir('/var/lib/fuxi-test', { recursive: true })
  const dir = await mkdtemp('/var/lib/fuxi-test/fuxi-')
  const driver = `fxt${randomBytes(3).toString('hex')}`
  const dockerd = await Dockerd.start()
  const fuxi = await Daemon.create(dir, {
    socket: `/run/docker/plugins/${driver}.sock`,
    extra: `docker_socket = ${dockerd.socket}\n${opts.extra ?? ''}`,
  })
  fuxi.env = opts.env ?? {}
  await fuxi.start()
  await dockerd.ensureImage()
  return {
    dockerd,
    fuxi,
    driver,
    dir,
    leaks: () => leaksUnder(dir),
    createVolume: (name, ...opts) =>
      dockerd.ok(['volume', 'create', '-d', driver, ...opts.flatMap((o) => ['-o', o]), name]),
    listVolumes: async () =>
      (await dockerd.ok(['volume', 'ls', '--filter', `driver=${driver}`, '--format', '{{.Name}}']))
        .split('\n')
        .filter(Boolean)
        .sort(),
    runOnce: (volume, ...cmd) =>
      dockerd.docker([
        'run',
        '--rm',
        '--network',
        'none',
        '-v',
        `${volume}:/data`,
        TEST_IMAGE,
        ...cmd,
      ]),
    runDetached: (volume, ...cmd) =>
      dockerd.ok(['run', '-d', '--network', 'none', '-v', `${volume}:/data`, TEST_IMAGE, ...cmd]),
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
  opts: { extra?: () => string; env?: Record<string, string> } = {},
): () => DockerEnv {
  let env: DockerEnv | undefined
  before(async () => {
    env = await startDockerEnv({ extra: opts.extra?.(), env: opts.env })
  })
  after(async () => {
    await env?.close()
  })
  return () => {
    if (!env) throw new Error('docker env not started')
    return env
  }
}
