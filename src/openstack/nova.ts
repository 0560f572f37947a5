import { ServiceApi } from './service-api.ts'
import type { Session } from './session.ts'

/** Nova (compute v2.1): server volume attachments, for the Nova connector (fuxi inside an instance). */
const NOVA_TARGET_VERSION = '2.89'

export interface ServerVolumeAttachment {
  volumeId: string
  serverId: string
  /** The device Nova asked for; the guest may name it differently (find it by serial). */
  device?: string | null
  /** The volume id again (the attach answer keeps it at 2.89). */
  id?: string
  /** 2.89+, in show and list (not in the attach answer): the Cinder attachment. */
  attachment_id?: string
  tag?: string | null
}

export class NovaClient {
  readonly api: ServiceApi

  constructor(session: Session) {
    this.api = new ServiceApi(session, {
      type: 'compute',
      label: 'Nova',
      major: 2,
      target: NOVA_TARGET_VERSION,
      versionHeaders: (v) => ({
        'OpenStack-API-Version': `compute ${v}`,
        'X-OpenStack-Nova-API-Version': v,
      }),
    })
  }

  /** Asks Nova to attach a volume to a server; the attach finishes asynchronously (volume `in-use`). */
  async attachVolume(serverId: string, volumeId: string): Promise<ServerVolumeAttachment> {
    const res = await this.api.call({
      method: 'POST',
      path: `/servers/${enc(serverId)}/os-volume_attachments`,
      json: { volumeAttachment: { volumeId } },
    })
    return (res.json as { volumeAttachment: ServerVolumeAttachment }).volumeAttachment
  }

  /** Asks Nova to detach; `false` when the volume was not attached to that server. */
  async detachVolume(serverId: string, volumeId: string): Promise<boolean> {
    const res = await this.api.call({
      method: 'DELETE',
      path: `/servers/${enc(serverId)}/os-volume_attachments/${enc(volumeId)}`,
      okStatuses: [404],
    })
    return res.status !== 404
  }

  /** One volume's attachment to a server (with its Cinder attachment id); undefined if none. */
  async getVolumeAttachment(
    serverId: string,
    volumeId: string,
  ): Promise<ServerVolumeAttachment | undefined> {
    const res = await this.api.call({
      method: 'GET',
      path: `/servers/${enc(serverId)}/os-volume_attachments/${enc(volumeId)}`,
      okStatuses: [404],
    })
    if (res.status === 404) return undefined
    return (res.json as { volumeAttachment: ServerVolumeAttachment }).volumeAttachment
  }
}

const enc = encodeURIComponent
