import type { ManilaClient } from '../../openstack/manila.ts'
import type { AccessApi } from './access-rules.ts'
import type { ManilaOptionDefaults } from './options.ts'

/** The Manila calls the provider makes (its access rules' among them): the real client, or a fake. */
export type ManilaApi = Pick<
  ManilaClient,
  | 'createShare'
  | 'getShare'
  | 'listShares'
  | 'deleteShare'
  | 'waitForShare'
  | 'exportLocations'
  | 'metadata'
> &
  AccessApi

export interface ManilaProviderOptions {
  readonly volumeFrom: string
  readonly defaults: ManilaOptionDefaults
  /** This host in access-rule metadata. */
  readonly me: string
  /** NFS: the `ip` rule's access_to (this host's address or network). */
  readonly accessTo: string
  /** CephFS: the cephx client id. */
  readonly cephxId: string
  /** Only export locations inside this CIDR are mounted (empty: any). */
  readonly exportCidr: string
  /** Keep this host's rule after the last Unmount. */
  readonly keepAccess: boolean
  /** Remove a share even while other hosts hold access rules to it. */
  readonly removeShared: boolean
}
