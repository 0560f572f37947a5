import { join } from 'node:path'
import type { FuxiConfig } from '../../config/schema.ts'
import { hostConnectorProperties } from '../../connectors/connector.ts'
import { iscsiConnector } from '../../connectors/iscsi.ts'
import { localConnector } from '../../connectors/local.ts'
import { rbdConnector } from '../../connectors/rbd.ts'
import { configDriveInstanceId } from '../../host/config-drive.ts'
import { diskIdEntries, diskOfIdEntry, iscsiInitiatorName } from '../../host/storage-ids.ts'
import { CinderClient } from '../../openstack/cinder.ts'
import { sessionFromConfig } from '../../openstack/connect.ts'
import { instanceId } from '../../openstack/instance-id.ts'
import { NovaClient } from '../../openstack/nova.ts'
import { createTransport } from '../../openstack/transport.ts'
import type { VolumeProvider } from '../../volumes/provider.ts'
import type { ProviderDeps } from '../provider-deps.ts'
import { createCinderProvider } from './cinder-provider.ts'
import { deviceBySerial, novaAttachments } from './nova-attachments.ts'

/** The Cinder provider as fuxi.conf describes it ([DEFAULT], [cinder], [keystone]). */
export async function cinderProviderFromConfig(
  config: FuxiConfig,
  { exec, host, hostId, log, metrics }: ProviderDeps,
): Promise<VolumeProvider> {
  const c = config.cinder
  // volume_connector = openstack: attach through Nova, as this instance (found at start).
  const viaNova =
    c.volume_connector === 'openstack'
      ? {
          nova: new NovaClient(sessionFromConfig(config, 'nova', log, metrics)),
          server: await instanceId({
            configured: c.instance_id,
            configDrive: () => configDriveInstanceId(exec, host, config.DEFAULT.state_dir),
            transport: createTransport({ timeoutMs: 5000, log, metrics }),
            log,
          }),
        }
      : undefined
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
      connector: hostConnectorProperties(hostId, config.DEFAULT.my_ip, iscsiInitiatorName()),
      stateDir: join(config.DEFAULT.state_dir, 'cinder'),
      takeover: c.takeover,
      takeoverAfterMs: c.takeover_after * 1000,
      identity: viaNova?.server,
    },
    {
      api: new CinderClient(sessionFromConfig(config, 'cinder', log, metrics)),
      host,
      connectors: [
        ...(c.local_connection ? [localConnector(host)] : []),
        iscsiConnector(exec, host),
        rbdConnector(exec, host),
      ],
      log,
      flow:
        viaNova &&
        ((d) =>
          novaAttachments({
            ...d,
            nova: viaNova.nova,
            deviceFor: (id) => deviceBySerial(diskIdEntries, diskOfIdEntry, id),
          })),
    },
  )
}
