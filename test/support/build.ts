import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { type AppOverrides, createApp } from '../../src/app.ts'
import { parseConfig } from '../../src/config/load.ts'
import type { DockerEngine } from '../../src/docker/engine.ts'
import type { Host } from '../../src/host/host.ts'
import { FakeHost } from '../fakes/fake-host.ts'
import { memoryLogger, tmpDir } from './tmp.ts'

/** The whole app in-process over a temp state dir; fake host unless a real one is passed. */
export async function buildApp(
  t: TestContext,
  opts: {
    host?: Host
    docker?: DockerEngine
    extraConfig?: string
    dir?: string
    providers?: AppOverrides['providers']
  } = {},
) {
  const dir = opts.dir ?? (await tmpDir(t))
  const host = opts.host ?? new FakeHost()
  const config = parseConfig(
    `[DEFAULT]\nstate_dir = ${join(dir, 'state')}\nvolume_dir = ${join(dir, 'data')}\nsocket_path = ${join(dir, 'fuxi.sock')}\n${opts.extraConfig ?? ''}`,
    'test.conf',
  )
  const { log, lines } = memoryLogger()
  const docker: DockerEngine = opts.docker ?? { volumesInUse: async () => undefined }
  const app = await createApp(config, log, { host, docker, providers: opts.providers })
  t.after(() => app.close())
  return { app, host, dir, config, lines }
}
