import { VolumeStateError } from '../errors.ts'
import type { Exec } from '../host/exec.ts'
import type { Host } from '../host/host.ts'
import type { Logger } from '../log.ts'
import type { ConnectionInfo } from '../openstack/cinder.ts'
import { connectionData, type VolumeConnector, waitForDevice } from './connector.ts'

interface Image {
  /** pool/image */
  name: string
  user?: string
  monitors: string[]
}

function imageOf(info: ConnectionInfo): Image {
  const d = connectionData(info)
  const name = typeof d.name === 'string' ? d.name : ''
  if (!name.includes('/'))
    throw new VolumeStateError(
      `Cinder's RBD connection info has no pool/image name (got ${JSON.stringify(d.name)})`,
    )
  const hosts = Array.isArray(d.hosts) ? (d.hosts as string[]) : []
  const ports = Array.isArray(d.ports) ? (d.ports as string[]) : []
  return {
    name,
    user:
      typeof d.auth_username === 'string' && d.auth_enabled !== false ? d.auth_username : undefined,
    monitors: hosts.map((h, i) => `${h}:${ports[i] ?? '6789'}`),
  }
}

/** `rbd`: map the image with the kernel RBD client (reusing a mapping), unmap on disconnect. */
export function rbdConnector(
  exec: Exec,
  host: Host,
  o: { delays?: readonly number[] } = {},
): VolumeConnector {
  const mapped = async (name: string): Promise<string | undefined> => {
    const r = await exec.run('rbd', ['showmapped', '--format', 'json'])
    const rows = JSON.parse(r.stdout || '[]') as { pool: string; name: string; device: string }[]
    return rows.find((m) => `${m.pool}/${m.name}` === name)?.device
  }
  return {
    type: 'rbd',
    async connect(info, log: Logger) {
      const img = imageOf(info)
      let device = await mapped(img.name)
      if (!device) {
        const args = ['map', img.name]
        if (img.user) args.push('--id', img.user)
        if (img.monitors.length) args.push('--mon_host', img.monitors.join(','))
        device = (await exec.run('rbd', args)).stdout.trim()
      }
      if (!device.startsWith('/dev/'))
        throw new VolumeStateError(`rbd map printed no device for ${img.name}`)
      const dev = device
      await waitForDevice(() => host.isBlockDevice(dev), `RBD device ${dev}`, o.delays)
      log.info({ image: img.name, device }, 'RBD image mapped')
      return device
    },
    async disconnect(info, log: Logger) {
      const img = imageOf(info)
      const device = await mapped(img.name)
      if (!device) return
      await exec.run('rbd', ['unmap', device])
      log.info({ image: img.name, device }, 'RBD image unmapped')
    },
  }
}
