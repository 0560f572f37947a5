import { readFile } from 'node:fs/promises'
import { storedHostId } from '../host/host-id.ts'
import { fileMode, findTool, kernelHasFilesystem } from '../host/tools.ts'
import { createLogger } from '../log.ts'
import type { DoctorDeps } from './checks.ts'

/** The doctor's view of this host, its daemon, Docker and the clouds. */
export function hostDoctorDeps(): DoctorDeps {
  return {
    findTool: (name) => findTool(name),
    fileMode,
    kernelHasFilesystem: (fs) => kernelHasFilesystem(fs, (f) => readFile(f, 'utf8')),
    loopControl: async () => (await fileMode('/dev/loop-control')) !== undefined,
    readHostId: storedHostId,
    async activate(socket) {
      const { callPlugin } = await import('../protocol/client.ts')
      const r = await callPlugin(socket, 'Plugin.Activate').catch(() => undefined)
      return Array.isArray(r?.Implements) && r.Implements.includes('VolumeDriver')
    },
    async dockerPing(socket) {
      const { unixRequest } = await import('../protocol/client.ts')
      const r = await unixRequest(socket, { method: 'GET', path: '/_ping', timeoutMs: 3000 }).catch(
        () => undefined,
      )
      return r?.status === 200
    },
    async cloud(config, section) {
      const [{ sessionFromConfig }, { formatMicroversion }] = await Promise.all([
        import('../openstack/connect.ts'),
        import('../openstack/microversion.ts'),
      ])
      const log = createLogger({ level: 'silent' })
      const session = sessionFromConfig(config, section, log)
      const client =
        section === 'cinder'
          ? new (await import('../openstack/cinder.ts')).CinderClient(session)
          : section === 'manila'
            ? new (await import('../openstack/manila.ts')).ManilaClient(session)
            : new (await import('../openstack/nova.ts')).NovaClient(session)
      const v = await client.api.version()
      return `${client.api.spec.label} ${v ? formatMicroversion(v) : '(no microversions)'}`
    },
  }
}
