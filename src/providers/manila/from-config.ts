import { join } from 'node:path'
import type { FuxiConfig } from '../../config/schema.ts'
import { sessionFromConfig } from '../../openstack/connect.ts'
import { ManilaClient } from '../../openstack/manila.ts'
import type { VolumeProvider } from '../../volumes/provider.ts'
import type { ProviderDeps } from '../provider-deps.ts'
import { createManilaProvider } from './manila-provider.ts'
import { shareMounter } from './share-mounts.ts'

/** The Manila provider as fuxi.conf describes it ([DEFAULT], [manila], [keystone]). */
export function manilaProviderFromConfig(
  config: FuxiConfig,
  { exec, host, hostId, log, metrics }: ProviderDeps,
): VolumeProvider {
  const m = config.manila
  return createManilaProvider(
    {
      volumeFrom: config.DEFAULT.volume_from,
      defaults: {
        size: config.DEFAULT.default_volume_size,
        shareProto: m.share_proto,
        shareType: m.share_type,
        shareNetwork: m.share_network,
        availabilityZone: m.availability_zone,
      },
      me: hostId,
      accessTo: m.access_to || config.DEFAULT.my_ip,
      cephxId: m.cephx_id,
      exportCidr: m.export_cidr,
      keepAccess: m.keep_access,
      removeShared: m.remove_shared,
    },
    {
      api: new ManilaClient(sessionFromConfig(config, 'manila', log, metrics)),
      host,
      mounter: shareMounter(exec, {
        nfsOptions: m.nfs_mount_options,
        cephfsOptions: m.cephfs_mount_options,
        cephfsClient: m.cephfs_client,
        secretsDir: join(config.DEFAULT.state_dir, 'manila'),
      }),
      log,
    },
  )
}
