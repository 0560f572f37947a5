import type { CinderProviderOptions } from '../../src/providers/cinder/cinder-provider.ts'

/** [cinder] defaults as a fresh fuxi.conf gives them. */
export const CINDER_DEFAULTS = {
  size: 1,
  fstype: 'ext4',
  volumeType: '',
  availabilityZone: '',
  multiattach: false,
} as const

/** Provider options for a test host `hostId` keeping its attachment records in `stateDir`. */
export function cinderOptions(
  hostId: string,
  stateDir: string,
  more: Partial<CinderProviderOptions> = {},
): CinderProviderOptions {
  return {
    volumeFrom: 'fuxi',
    allTenants: false,
    defaults: CINDER_DEFAULTS,
    connector: { host: hostId, ip: '127.0.0.1', multipath: false },
    stateDir,
    ...more,
  }
}
