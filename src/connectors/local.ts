import { VolumeStateError } from '../errors.ts'
import type { Host } from '../host/host.ts'
import { connectionData, type VolumeConnector, waitForDevice } from './connector.ts'

/** `local`: the backend already put the device on this host (`device_path`); nothing to undo. */
export function localConnector(host: Host, delays?: readonly number[]): VolumeConnector {
  return {
    type: 'local',
    async connect(info) {
      const device = connectionData(info).device_path
      if (typeof device !== 'string' || !device.startsWith('/dev/'))
        throw new VolumeStateError(
          `Cinder's local connection info has no device_path (got ${JSON.stringify(device)})`,
        )
      await waitForDevice(() => host.isBlockDevice(device), `block device ${device}`, delays)
      return device
    },
    async disconnect() {},
  }
}
