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
    async dockerVolumeDrivers(socket, driver) {
      const { unixRequest } = await import('../protocol/client.ts')
      const get = (path: string) =>
        unixRequest(socket, { method: 'GET', path, timeoutMs: 10_000 }).catch(() => undefined)
      // Asking for the driver's volumes makes dockerd look for it (a plugin socket is found on
      // first use, and only then listed in /info). Read-only: the plugin answers a List.
      const filter = encodeURIComponent(JSON.stringify({ driver: [driver] }))
      if ((await get(`/volumes?filters=${filter}`))?.status !== 200) return undefined
      const info = await get('/info')
      if (info?.status !== 200) return undefined
      const volume = (JSON.parse(info.text) as { Plugins?: { Volume?: unknown } }).Plugins?.Volume
      return Array.isArray(volume) ? volume.map(String) : []
    },
    kernelModule: async (name) => (await fileMode(`/sys/module/${name}`)) !== undefined,
    async keystoneClockSkewMs(config, section) {
      const { sessionFromConfig } = await import('../openstack/connect.ts')
      const session = sessionFromConfig(config, section, createLogger({ level: 'silent' }))
      const t0 = Date.now()
      const { issuedAt } = await session.token()
      // issued_at is Keystone's clock while it answered: compare with the middle of the exchange.
      return issuedAt === undefined ? undefined : issuedAt - (t0 + Date.now()) / 2
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
