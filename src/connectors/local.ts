import { basename } from 'node:path'
import { VolumeStateError } from '../errors.ts'
import type { Host } from '../host/host.ts'
import { connectionData, type VolumeConnector, waitForDevice } from './connector.ts'

/**
 * `local`: the backend already put the device on this host (`device_path`); nothing to undo.
 * Cinder's word alone is not enough to format a device: the path (or, for a loop device, its
 * backing file) must name the volume, as the LVM driver's /dev/<vg>/volume-<id> and loop-backed
 * test back ends do. Enabled by [cinder] local_connection only.
 */
export function localConnector(host: Host, delays?: readonly number[]): VolumeConnector {
  return {
    type: 'local',
    async connect(info, _log, volumeId) {
      const device = connectionData(info).device_path
      if (typeof device !== 'string' || !device.startsWith('/dev/'))
        throw new VolumeStateError(
          `Cinder's local connection info has no device_path (got ${JSON.stringify(device)})`,
        )
      await waitForDevice(() => host.isBlockDevice(device), `block device ${device}`, delays)
      const real = await host.resolveDevice(device)
      const backing = /^loop\d+$/.test(basename(real)) ? await host.loopBackingFile(real) : ''
      if (![device, real, backing].some((p) => p.includes(volumeId)))
        throw new VolumeStateError(
          `Cinder's local connection info for volume ${volumeId} gives ${device}, which does not name that volume (nor does its backing file${backing ? ` ${backing}` : ''}); fuxi neither formats nor mounts it`,
        )
      return device
    },
    async disconnect() {},
  }
}
