import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FuxiConfig } from '../../config/schema.ts'
import { hostConnector } from '../../connectors/connector.ts'
import { iscsiConnector } from '../../connectors/iscsi.ts'
import { localConnector } from '../../connectors/local.ts'
import { rbdConnector } from '../../connectors/rbd.ts'
import type { Exec } from '../../host/exec.ts'
import type { Host } from '../../host/host.ts'
import type { Logger } from '../../log.ts'
import { CinderClient } from '../../openstack/cinder.ts'
import { sessionFromConfig } from '../../openstack/connect.ts'
import type { VolumeProvider } from '../../volumes/provider.ts'
import { createCinderProvider } from './cinder-provider.ts'

/** This host's iSCSI initiator name, when open-iscsi is installed. */
function iscsiInitiator(): string | undefined {
  try {
    return /^InitiatorName=(.+)$/m.exec(readFileSync('/etc/iscsi/initiatorname.iscsi', 'utf8'))?.[1]
  } catch {
    return undefined
  }
}

/** The Cinder provider as fuxi.conf describes it ([DEFAULT], [cinder], [keystone]). */
export function cinderProviderFromConfig(
  config: FuxiConfig,
  exec: Exec,
  host: Host,
  log: Logger,
): VolumeProvider {
  const c = config.cinder
  return createCinderProvider(
    {
      volumeFrom: config.DEFAULT.volume_from,
      allTenants: c.all_tenants,
      defaults: {
        size: config.DEFAULT.default_volume_size,
        fstype: c.fstype,
        volumeType: c.volume_type,
        availabilityZone: c.availability_zone,
        multiattach: c.multiattach,
      },
      connector: hostConnector(config.DEFAULT.my_ip, iscsiInitiator()),
      stateDir: join(config.DEFAULT.state_dir, 'cinder'),
      takeover: c.takeover === 'force' ? 'force' : 'never',
    },
    {
      api: new CinderClient(sessionFromConfig(config, 'cinder', log)),
      host,
      connectors: [localConnector(host), iscsiConnector(exec, host), rbdConnector(exec, host)],
      log,
    },
  )
}
